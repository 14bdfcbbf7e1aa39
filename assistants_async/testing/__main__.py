"""``python -m assistants_async.testing``: serve the fake Assistants API on loopback.

For test suites in any language: the API under ``/v1``, and its control plane under
``/__fake__/`` (script replies, inject faults, read the request log, reset, move the
clock). ``--help`` lists every option.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._ids import SequentialIds
from ._responders import echo
from ._server import FakeAssistantsServer

EPILOG = """\
the control plane (JSON, no key needed), under http://HOST:PORT/__fake__/:
  POST   /__fake__/script     {"replies": [...], "rules": [...]}  (the --script format)
  DELETE /__fake__/script
  POST   /__fake__/faults     {"operation": "createRun", "kind": "fail", "status": 429,
                               "retry_after_ms": 100, "times": 1}
                              kinds: fail, drop, delay, stream_error, stream_cut
  DELETE /__fake__/faults
  GET    /__fake__/requests   the request log (keys masked); DELETE clears it
  POST   /__fake__/reset      forget every object, request, fault and script
  POST   /__fake__/clock      {"advance": 601}   (runs expire after --run-ttl seconds)
  PUT    /__fake__/progress   {"progress": "immediate" | "per_retrieve" | "timer"}

a reply: {"type": "text", "text": "..."}
         {"type": "tool_calls", "calls": [{"name": "get_weather", "arguments": {...}}]}
         {"type": "fail", "code": "server_error", "message": "..."}
         {"type": "incomplete", "reason": "max_completion_tokens", "partial_text": "..."}
queued replies may name "assistant_id" or "thread_id"; a rule is
{"match": "regex on the newest user text", "reply": {...}}. Runs with nothing
scripted echo the newest user message.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m assistants_async.testing",
        description="Serve the in-memory fake Assistants API (base URL: http://HOST:PORT/v1).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8000, help="port (default 8000; 0: any free port)"
    )
    parser.add_argument(
        "--progress",
        choices=["immediate", "per_retrieve", "timer"],
        default="timer",
        help="how runs move: settled before the answer, one step per retrieve, or on a "
        "timer (default: timer)",
    )
    parser.add_argument(
        "--script",
        type=Path,
        metavar="FILE",
        help='a JSON file of scripted replies and rules: {"replies": [...], "rules": [...]}',
    )
    parser.add_argument("--api-key", help="the only key accepted (default: any key is accepted)")
    parser.add_argument(
        "--auth",
        choices=["bearer", "api-key", "none"],
        default="bearer",
        help="where the key is expected: Authorization: Bearer, an api-key header, or "
        "nowhere (default: bearer)",
    )
    parser.add_argument(
        "--no-beta-header",
        action="store_true",
        help="accept requests without 'OpenAI-Beta: assistants=v2' (by default a 400, as "
        "the service answered)",
    )
    parser.add_argument(
        "--shared-world",
        action="store_true",
        help="every key sees every object (default: an object is visible only to the key "
        "or OpenAI-Project that made it, as the service scoped them)",
    )
    parser.add_argument(
        "--log-size",
        type=int,
        default=10_000,
        help="how many requests the log keeps, newest first out (default 10000)",
    )
    parser.add_argument(
        "--poll-after-ms",
        type=int,
        default=100,
        help="the openai-poll-after-ms header on runs still moving (default 100)",
    )
    parser.add_argument(
        "--run-ttl", type=int, default=600, help="seconds before a run expires (default 600)"
    )
    parser.add_argument(
        "--timer-interval",
        type=float,
        default=0.05,
        help="seconds between run steps with --progress timer (default 0.05)",
    )
    parser.add_argument(
        "--sequential-ids",
        action="store_true",
        help="ids like asst_000001 instead of random ones",
    )
    return parser


def make_server(args: argparse.Namespace) -> FakeAssistantsServer:
    server = FakeAssistantsServer(
        responder=echo(),
        progress=args.progress,
        timer_interval=args.timer_interval,
        api_key=args.api_key,
        auth=args.auth,
        run_ttl=args.run_ttl,
        poll_after_ms=args.poll_after_ms,
        max_logged_requests=args.log_size,
        isolate_tenants=not args.shared_world,
        require_beta_header=not args.no_beta_header,
        ids=SequentialIds() if args.sequential_ids else None,
    )
    if args.script is not None:
        data: Any = json.loads(args.script.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError(f"{args.script}: a script is a JSON object")
        server.script.load(data)
    return server


async def _serve(server: FakeAssistantsServer, host: str, port: int) -> None:
    url = await server.start(host, port)
    control = url.removesuffix("/v1") + "/__fake__/"
    print(f"Fake Assistants API on {url} (control plane: {control}; Ctrl-C to stop)", flush=True)
    # Ctrl-C and SIGTERM end the wait in order, whatever the loop is doing at that moment
    # (a KeyboardInterrupt raised inside one of aiohttp's callbacks could hang the exit).
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stopping.set)
    try:
        await stopping.wait()
    finally:
        await server.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        server = make_server(args)
    except (OSError, ValueError, TypeError) as exc:
        parser.error(str(exc))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(server, args.host, args.port))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
