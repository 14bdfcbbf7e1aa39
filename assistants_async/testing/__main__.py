"""``python -m assistants_async.testing``: serve the fake Assistants API on loopback."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Sequence

from ._responders import echo
from ._server import FakeAssistantsServer


async def _serve(host: str, port: int, progress: str) -> None:
    server = FakeAssistantsServer(responder=echo(), progress=progress)  # type: ignore[arg-type]
    url = await server.start(host, port)
    print(f"Fake Assistants API on {url} (any bearer token; Ctrl-C to stop)", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assistants_async.testing")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any)")
    parser.add_argument(
        "--progress",
        choices=["immediate", "per_retrieve", "timer"],
        default="timer",
        help="how runs move through their statuses (default: timer)",
    )
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.host, args.port, args.progress))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
