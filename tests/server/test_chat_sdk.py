"""The official SDK's Assistants helpers, unchanged, through the server and a model (the
Chat Completions double): a tool-calling conversation end to end."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest

from assistants_async.server._chat import ChatResponder, ChatSettings
from assistants_async.server._keys import Keys
from assistants_async.server._memory import MemoryStore
from assistants_async.server._serve import AssistantsServer
from tests.chat_double import ChatDouble, Say

# The SDK marks its Assistants surface deprecated; that, and only that, is expected here.
pytestmark = [
    pytest.mark.filterwarnings(
        "ignore:The Assistants API is deprecated in favor of the Responses API:DeprecationWarning"
    ),
    pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning"),
]

KEY = "sk-sdk-tenant"
WEATHER = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object"}},
}


@pytest.fixture
async def sdk() -> AsyncIterator[tuple[openai.AsyncOpenAI, ChatDouble]]:
    double = ChatDouble()
    await double.start()
    responder = ChatResponder(ChatSettings(double.url, timeout=30.0))
    server = AssistantsServer(MemoryStore(), Keys([KEY]), responder=responder)
    url = await server.start()
    client = openai.AsyncOpenAI(api_key=KEY, base_url=url, max_retries=0)
    try:
        yield client, double
    finally:
        await client.close()
        await server.stop()
        await responder.aclose()
        await double.stop()


async def test_the_sdks_helpers_hold_a_tool_calling_conversation(
    sdk: tuple[openai.AsyncOpenAI, ChatDouble],
) -> None:
    from openai import AsyncAssistantEventHandler

    client, double = sdk
    double.answer(
        Say("Let me check.", calls=[("get_weather", '{"city": "Paris"}')]),
        Say("It is sunny in Paris."),
        Say("You are welcome."),
    )

    class Handler(AsyncAssistantEventHandler):
        def __init__(self) -> None:
            super().__init__()
            self.text: list[str] = []
            self.arguments: list[str] = []

        async def on_text_delta(self, delta: Any, snapshot: Any) -> None:
            self.text.append(delta.value)

        async def on_tool_call_delta(self, delta: Any, snapshot: Any) -> None:
            if delta.type == "function" and delta.function and delta.function.arguments:
                self.arguments.append(delta.function.arguments)

    asst = await client.beta.assistants.create(model="gpt-4o", tools=[WEATHER])  # type: ignore[list-item]
    thread = await client.beta.threads.create(messages=[{"role": "user", "content": "Paris?"}])

    first = Handler()
    async with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=asst.id, event_handler=first
    ) as stream:
        await stream.until_done()
    run = first.current_run
    assert run is not None
    assert run.status == "requires_action"
    assert "".join(first.text) == "Let me check."  # said before the call, and kept
    assert len(first.arguments) > 1
    assert json.loads("".join(first.arguments)) == {"city": "Paris"}

    assert run.required_action is not None
    (call,) = run.required_action.submit_tool_outputs.tool_calls
    second = Handler()
    async with client.beta.threads.runs.submit_tool_outputs_stream(
        thread_id=thread.id,
        run_id=run.id,
        tool_outputs=[{"tool_call_id": call.id, "output": "sunny"}],
        event_handler=second,
    ) as stream:
        await stream.until_done()
    assert "".join(second.text) == "It is sunny in Paris."
    assert second.current_run is not None
    assert second.current_run.status == "completed"

    await client.beta.threads.messages.create(thread.id, role="user", content="Thanks!")
    polled = await client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=asst.id
    )
    assert polled.status == "completed"
    assert polled.usage is not None
    messages = await client.beta.threads.messages.list(thread.id, order="asc")
    said = [(m.role, m.content[0].text.value) for m in messages.data]  # type: ignore[union-attr]
    assert said == [
        ("user", "Paris?"),
        ("assistant", "Let me check."),
        ("assistant", "It is sunny in Paris."),
        ("user", "Thanks!"),
        ("assistant", "You are welcome."),
    ]
    # The model saw the whole conversation, the call and its output included.
    roles = [m["role"] for m in double.received[2]["messages"]]
    assert roles == ["user", "assistant", "assistant", "user"]
    assert [m["role"] for m in double.received[1]["messages"]] == ["user", "assistant", "tool"]
