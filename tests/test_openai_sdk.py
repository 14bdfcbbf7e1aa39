"""The official openai SDK, pointed at the fake server and at the real server on
SQLite, runs the whole Assistants flow.

This proves both stores (``[memory]``: the fake; ``[sqlite]``: ``AssistantsServer``)
against a client we did not write.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import openai
import pytest

from assistants_async.testing import ToolCall, call_tools_then_answer

from .stores import STORES, Served, serve

# The SDK marks its Assistants surface deprecated; that, and only that, is expected here.
pytestmark = [
    pytest.mark.filterwarnings(
        "ignore:The Assistants API is deprecated in favor of the Responses API:DeprecationWarning"
    ),
    pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning"),
]


def weather_reply(ctx: object) -> list[ToolCall]:
    return [ToolCall("get_weather", {"city": "Paris"})]


@pytest.fixture(params=STORES)
async def sdk(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> AsyncIterator[tuple[openai.AsyncOpenAI, Served]]:
    responder = call_tools_then_answer(weather_reply, "In Paris it is {outputs}.")
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    async with serve(request.param, tmp_path, responder, sqlite_template, url) as served:
        client = openai.AsyncOpenAI(api_key=served.key, base_url=served.url, max_retries=0)
        try:
            yield client, served
        finally:
            await client.close()


async def test_the_sdk_completes_the_whole_flow(
    sdk: tuple[openai.AsyncOpenAI, Served],
) -> None:
    client, server = sdk
    asst = await client.beta.assistants.create(
        model="gpt-4o",
        name="Weather",
        tools=[
            {
                "type": "function",
                "function": {"name": "get_weather", "parameters": {"type": "object"}},
            }
        ],
    )
    thread = await client.beta.threads.create(
        messages=[{"role": "user", "content": "What is the weather in Paris?"}]
    )
    run = await client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=asst.id, poll_interval_ms=10
    )
    assert run.status == "requires_action"
    assert run.required_action is not None
    (call,) = run.required_action.submit_tool_outputs.tool_calls
    assert (call.function.name, json.loads(call.function.arguments)) == (
        "get_weather",
        {"city": "Paris"},
    )
    run = await client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id,
        thread_id=thread.id,
        tool_outputs=[{"tool_call_id": call.id, "output": "21C and sunny"}],
        poll_interval_ms=10,
    )
    assert run.status == "completed"
    assert run.usage is not None
    steps = [
        s
        async for s in client.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc")
    ]
    assert [s.type for s in steps] == ["tool_calls", "message_creation"]
    messages = [m async for m in client.beta.threads.messages.list(thread.id, order="asc")]
    assert [m.role for m in messages] == ["user", "assistant"]
    answer = messages[-1].content[0]
    assert answer.type == "text"
    assert answer.text.value == "In Paris it is 21C and sunny."
    deleted = await client.beta.assistants.delete(asst.id)
    assert deleted.deleted
    # The SDK sent what the API expects: both servers refuse (400) a request without
    # OpenAI-Beta: assistants=v2.
    assert {status for _, _, status in server.log()} == {200}


async def test_the_sdk_pages_through_150_messages_both_ways(
    sdk: tuple[openai.AsyncOpenAI, Served],
) -> None:
    client, server = sdk
    thread = await client.beta.threads.create()
    created = []
    for i in range(150):
        message = await client.beta.threads.messages.create(
            thread.id, role="user", content=f"message {i}"
        )
        created.append(message.id)
    # Forward, the SDK following after=<last id> by itself.
    before = len(server.log())
    forward = [
        m.id async for m in client.beta.threads.messages.list(thread.id, order="asc", limit=20)
    ]
    assert forward == created
    assert len(server.log()) - before == 8
    newest_first = [m.id async for m in client.beta.threads.messages.list(thread.id, limit=100)]
    assert newest_first == created[::-1]
    # Backward from the newest, page by page with before=<first id of the previous page>
    # (the SDK's own iterator does not walk backward).
    backward: list[str] = []
    cursor = created[-1]
    while True:
        page = await client.beta.threads.messages.list(
            thread.id, order="asc", limit=20, before=cursor
        )
        backward = [m.id for m in page.data] + backward
        if not page.has_more:
            break
        cursor = page.data[0].id
    assert backward == created[:-1]


async def test_the_sdks_tool_call_delta_handlers_see_arguments_in_pieces(
    sdk: tuple[openai.AsyncOpenAI, Served],
) -> None:
    """Used as the SDK's docs show: an event handler with on_tool_call_delta."""
    from openai import AsyncAssistantEventHandler

    client, _ = sdk
    pieces: list[str] = []
    snapshots: list[str] = []

    class Handler(AsyncAssistantEventHandler):
        async def on_tool_call_delta(self, delta: Any, snapshot: Any) -> None:
            if delta.type == "function" and delta.function and delta.function.arguments:
                pieces.append(delta.function.arguments)
                snapshots.append(snapshot.function.arguments)

    asst = await client.beta.assistants.create(
        model="gpt-4o",
        tools=[{"type": "function", "function": {"name": "get_weather", "parameters": {}}}],
    )
    thread = await client.beta.threads.create(messages=[{"role": "user", "content": "Paris?"}])
    async with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=asst.id, event_handler=Handler()
    ) as stream:
        await stream.until_done()
    assert len(pieces) > 1  # the arguments came in several deltas
    assert json.loads("".join(pieces)) == {"city": "Paris"}
    assert snapshots[-1] == "".join(pieces)  # the SDK assembled them
