"""``python -m assistants_async demo``: the whole Assistants flow, offline by default;
``python -m assistants_async check``: how compatible a server is (see ``_check``).

It starts the bundled fake server on a free loopback port and walks through an assistant
with a function tool, a thread with a question, a run that calls the tool, the tool's
output submitted, the answer, the run steps and the messages, offline whatever the
environment says. ``--base-url`` (the one way) runs the same flow against a real
compatible server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

from . import AsyncClient
from .models import (
    FunctionDefinition,
    FunctionTool,
    Run,
    TextContentBlock,
    ToolOutput,
)

__all__ = ["main"]

T = TypeVar("T")

QUESTION = "What is the weather in Paris right now?"
WEATHER_TOOL = FunctionTool(
    function=FunctionDefinition(
        name="get_weather",
        description="Current weather for a city",
        parameters={
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    )
)


def get_weather(city: str) -> dict[str, Any]:
    """The demo's tool: a canned forecast."""
    return {"city": city, "temperature_c": 21, "conditions": "sunny"}


def _fake_server() -> Any:
    from .testing import FakeAssistantsServer, RunContext, ToolCall, call_tools_then_answer

    def answer(ctx: RunContext) -> str:
        weather = json.loads(ctx.tool_outputs[0].output)
        return (
            f"It is {weather['temperature_c']} degrees C and {weather['conditions']} "
            f"in {weather['city']}."
        )

    return FakeAssistantsServer(
        responder=call_tools_then_answer([ToolCall("get_weather", {"city": "Paris"})], answer),
        progress="timer",
        timer_interval=0.05,
    )


async def _wait(client: AsyncClient, run: Run) -> Run:
    """Poll until the run rests, printing each status it passes through."""
    seen = run.status
    while not run.is_resting:
        await asyncio.sleep(0.05)
        run = await client.runs.retrieve(run.thread_id, run.id)
        if run.status != seen:
            print(f"   run status: {seen} -> {run.status}")
            seen = run.status
    return run


async def _flow(client: AsyncClient) -> None:
    print("1. Create an assistant with a function tool")
    asst = await client.assistants.create(
        model="gpt-4o",
        name="Weather bot",
        instructions="Answer weather questions with the get_weather tool.",
        tools=[WEATHER_TOOL],
    )
    print(f"   {asst.id}: {asst.name!r} on {asst.model}")

    print("2. Create a thread with a question")
    thread = await client.threads.create(messages=[{"role": "user", "content": QUESTION}])
    print(f"   {thread.id}: {QUESTION!r}")

    print("3. Start a run")
    run = await client.runs.create(thread.id, assistant_id=asst.id)
    print(f"   {run.id}: {run.status}")
    run = await _wait(client, run)
    if run.status != "requires_action":
        # Said, not skipped in silence: a server whose runs answer without the tool (an
        # echoing test server, a model that ignores tools) gives no call to make.
        print(f"4. The run called no tool: it went {run.status} without asking for one")
        print("5. No tool output to submit")

    while run.status == "requires_action" and run.required_action is not None:
        calls = run.required_action.submit_tool_outputs.tool_calls
        outputs = []
        for call in calls:
            arguments = json.loads(call.function.arguments)
            result = get_weather(**arguments)
            print(f"4. The run calls {call.function.name}({arguments}) -> {result}")
            outputs.append(ToolOutput(tool_call_id=call.id, output=json.dumps(result)))
        print("5. Submit the tool output; the answer streams in:")
        async with client.runs.submit_tool_outputs_stream(
            thread.id, run.id, tool_outputs=outputs
        ) as stream:
            print("   ", end="", flush=True)
            async for piece in stream.text_deltas():
                print(piece, end="", flush=True)
            print()
            run = await stream.final_run()

    if run.status != "completed":
        raise SystemExit(f"the run ended {run.status}: {run.last_error}")
    usage = run.usage
    tokens = f" ({usage.total_tokens} tokens)" if usage else ""
    print(f"6. The run completed{tokens}")

    print("7. Run steps")
    async for step in client.steps.list(thread.id, run.id, order="asc"):
        print(f"   {step.id}: {step.type}, {step.status}")

    print("8. Messages")
    async for message in client.messages.list(thread.id, order="asc"):
        text = " ".join(p.text.value for p in message.content if isinstance(p, TextContentBlock))
        print(f"   {message.role}: {text}")

    await client.threads.delete(thread.id)
    await client.assistants.delete(asst.id)


async def _demo(base_url: str | None, api_key: str | None) -> None:
    if base_url is not None:
        print(f"Running against {base_url}")
        async with AsyncClient(base_url=base_url, api_key=api_key) as client:
            await _flow(client)
        print("Done.")
        return
    server = _fake_server()
    async with server:
        print(f"Fake Assistants server on {server.url} (offline)")
        # On loopback, whatever proxy the environment names.
        async with AsyncClient(
            base_url=server.url, api_key=api_key or "sk-demo", trust_env=False
        ) as client:
            await _flow(client)
    print("Done.")


def _check_command(args: argparse.Namespace) -> int:
    import os

    from ._check import CHECKS, run_checks, selected
    from ._check import _progress_printer as progress_printer

    if args.list:
        for check in CHECKS:
            print(f"{check.id:<32} {check.title}{'  [runs]' if check.runs else ''}")
        return 0
    if args.base_url is None:
        raise SystemExit("check: --base-url is required (the server to check)")
    where = urlsplit(args.base_url)
    if where.scheme not in ("http", "https") or not where.hostname:
        raise SystemExit(f"check: --base-url must be an http(s) URL, not {args.base_url!r}")
    try:
        selected(args.only)
    except ValueError as exc:
        raise SystemExit(f"check: {exc}") from None
    with contextlib.ExitStack() as files:
        # Opened now: a report that cannot be written is said before the run, not after.
        out = None
        if args.json not in (None, "-"):
            try:
                out = files.enter_context(open(args.json, "w", encoding="utf-8"))
            except OSError as exc:
                raise SystemExit(f"check: --json {args.json}: {exc.strerror}") from None
        report = asyncio.run(
            _interruptible(
                run_checks(
                    args.base_url,
                    args.api_key or os.environ.get("OPENAI_API_KEY") or "unused",
                    model=args.model,
                    runs=not args.no_runs,
                    keep=args.keep,
                    only=args.only,
                    check_timeout=args.check_timeout,
                    request_timeout=args.timeout,
                    progress=None if args.quiet else progress_printer(),
                )
            )
        )
        if report is None:
            print("check: interrupted", file=sys.stderr)
            return 130
        # With the JSON on standard output, the table goes to standard error.
        print(report.table(), file=sys.stderr if args.json == "-" else sys.stdout)
        text = json.dumps(report.to_json(), indent=2, ensure_ascii=False)
        if args.json == "-":
            print(text)
        elif out is not None:
            out.write(text + "\n")
            print(f"report: {args.json}")
    left = report.cleanup.get("left")
    if left:
        print(f"left behind (could not delete): {', '.join(map(str, left))}")
    return report.exit_status


async def _interruptible(work: Coroutine[Any, Any, T]) -> T | None:
    """``work``, which Ctrl-C cancels (None then) so that its clean-up runs: on every
    supported Python, not only where ``asyncio.run`` cancels on SIGINT (3.11+)."""
    task = asyncio.ensure_future(work)
    loop = asyncio.get_running_loop()
    interrupted = False

    def interrupt() -> None:
        nonlocal interrupted
        interrupted = True
        task.cancel()

    try:
        loop.add_signal_handler(signal.SIGINT, interrupt)
    except (NotImplementedError, RuntimeError):  # pragma: no cover - no signals here
        return await task
    try:
        return await task
    except asyncio.CancelledError:
        if not interrupted:
            raise
        return None
    finally:
        loop.remove_signal_handler(signal.SIGINT)


def _seconds(text: str) -> float:
    """A time limit: a positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, not {text}")
    return value


def _check_parser(commands: Any) -> None:
    check = commands.add_parser(
        "check",
        help="how compatible a server is: every operation, paging, errors, runs, streams",
        description="Exercise an Assistants server through this client and report, check "
        "by check, what conforms to the spec and what does not (pass, deviates, fails, "
        "skipped). Exit status 0 when nothing deviates or fails. It deletes what it made "
        "unless --keep, and touches nothing else.",
    )
    check.add_argument("--base-url", help="the server, with its /v1 (required)")
    check.add_argument(
        "--api-key", help="API key (default: OPENAI_API_KEY; a placeholder when unset)"
    )
    check.add_argument(
        "--model", default="gpt-4o", help="model of the assistants made (default gpt-4o)"
    )
    check.add_argument(
        "--no-runs",
        action="store_true",
        help="skip every check that starts a run (a server with no model behind it)",
    )
    check.add_argument("--keep", action="store_true", help="keep the assistants and threads made")
    check.add_argument(
        "--json", metavar="FILE", help="write the report as JSON to FILE ('-': standard output)"
    )
    check.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="ID",
        help="run only this check, or a group (paging, runs, ...); repeatable",
    )
    check.add_argument("--list", action="store_true", help="list the checks and exit")
    check.add_argument(
        "--check-timeout",
        type=_seconds,
        default=60.0,
        metavar="SECONDS",
        help="time allowed to each check (default 60)",
    )
    check.add_argument(
        "--timeout",
        type=_seconds,
        default=30.0,
        metavar="SECONDS",
        help="time allowed to each request (default 30)",
    )
    check.add_argument("--quiet", action="store_true", help="no progress on standard error")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assistants_async")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run the whole flow (offline by default)")
    demo.add_argument(
        "--base-url",
        help="a compatible server to use instead of the bundled fake (the one way to aim "
        "the demo elsewhere: OPENAI_BASE_URL is not read, so the demo stays offline)",
    )
    demo.add_argument(
        "--api-key", help="API key for --base-url (default: OPENAI_API_KEY; any for the fake)"
    )
    _check_parser(commands)
    args = parser.parse_args(argv)
    if args.command == "check":
        return _check_command(args)
    asyncio.run(_demo(args.base_url, args.api_key))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
