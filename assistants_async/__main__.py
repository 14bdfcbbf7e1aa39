"""``python -m assistants_async demo``: the whole Assistants flow, offline by default.

It starts the bundled fake server on a free loopback port and walks through an assistant
with a function tool, a thread with a question, a run that calls the tool, the tool's
output submitted, the answer, the run steps and the messages, offline whatever the
environment says. ``--base-url`` (the one way) runs the same flow against a real
compatible server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Sequence
from typing import Any

from . import AsyncClient
from .models import (
    FunctionDefinition,
    FunctionTool,
    Run,
    TextContentBlock,
    ToolOutput,
)

__all__ = ["main"]

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
    args = parser.parse_args(argv)
    if args.command == "demo":
        asyncio.run(_demo(args.base_url, args.api_key))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
