"""``python -m assistants_async.testing``: serve the fake Assistants API on loopback.

For test suites in any language: the API under ``/v1``, and its control plane under
``/__fake__/`` (script replies, inject faults, read the request log, reset, move the
clock). ``--help`` lists every option.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Sequence

from ..server._cli import (
    add_listen_options,
    add_run_options,
    at_least,
    load_script,
    until_stopped,
)
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
  GET    /__fake__/health     {"status": "ok"} once the store answers

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
    add_listen_options(parser)
    add_run_options(parser, timer_interval=0.05)
    parser.add_argument(
        "--progress",
        choices=["immediate", "per_retrieve", "timer"],
        default="timer",
        help="how runs move: settled before the answer, one step per retrieve, or on a "
        "timer (default: timer)",
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
        "--shared-world",
        action="store_true",
        help="every key sees every object (default: an object is visible only to the key "
        "or OpenAI-Project that made it, as the service scoped them)",
    )
    parser.add_argument(
        "--log-size",
        type=at_least(1),
        default=10_000,
        help="how many requests the log keeps, newest first out (default 10000)",
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
    load_script(args.script, server.script)
    return server


async def _serve(server: FakeAssistantsServer, host: str, port: int) -> None:
    url = await server.start(host, port)
    control = url.removesuffix("/v1") + "/__fake__/"
    print(f"Fake Assistants API on {url} (control plane: {control}; Ctrl-C to stop)", flush=True)
    try:
        await until_stopped()
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
