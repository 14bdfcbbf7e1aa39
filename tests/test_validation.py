"""Bad input fails before anything is sent, with an error naming the parameter."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import attrs
import pytest

from assistants_async import AsyncClient

from .conftest import ScriptedServer, json_reply
from .payloads import ASSISTANT


@attrs.frozen
class Bad:
    name: str
    # Typed loosely on purpose: mypy rejects these calls statically; this table
    # checks that they also fail at run time, for callers without a type checker.
    call: Callable[[Any], Any]
    error: type[Exception]
    mentions: str


OK = {"role": "user", "content": "hi"}
LONG_META = {f"k{i}": "v" for i in range(17)}

BAD = [
    # ids
    Bad("empty id", lambda c: c.assistants.retrieve(""), ValueError, "assistant_id"),
    Bad("non-string id", lambda c: c.threads.retrieve(42), TypeError, "thread_id"),
    Bad("None id", lambda c: c.threads.delete(None), TypeError, "thread_id"),
    Bad(
        "slash in id",
        lambda c: c.assistants.retrieve("asst_1/../../admin"),
        ValueError,
        "assistant_id",
    ),
    Bad("query in id", lambda c: c.threads.retrieve("thread_1?x=1"), ValueError, "thread_id"),
    Bad(
        "fragment in id",
        lambda c: c.messages.retrieve("thread_1", "msg#1"),
        ValueError,
        "message_id",
    ),
    Bad("space in id", lambda c: c.runs.retrieve("thread_1", "run 1"), ValueError, "run_id"),
    Bad("newline in id", lambda c: c.runs.cancel("thread_1\n", "run_1"), ValueError, "thread_id"),
    Bad("tab in id", lambda c: c.steps.retrieve("t", "r", "step\t1"), ValueError, "step_id"),
    Bad("dot-dot id", lambda c: c.assistants.delete(".."), ValueError, "assistant_id"),
    Bad("percent in id", lambda c: c.assistants.retrieve("a%2F"), ValueError, "assistant_id"),
    Bad(
        "bad assistant_id in body",
        lambda c: c.runs.create("t", assistant_id="a/b"),
        ValueError,
        "assistant_id",
    ),
    Bad("bad id in a list call", lambda c: c.messages.list("t/x"), ValueError, "thread_id"),
    # limit and order
    Bad("limit 0", lambda c: c.assistants.list(limit=0), ValueError, "limit"),
    Bad("limit 101", lambda c: c.messages.list("t", limit=101), ValueError, "limit"),
    Bad("limit -5", lambda c: c.runs.list("t", limit=-5), ValueError, "limit"),
    Bad("limit str", lambda c: c.steps.list("t", "r", limit="10"), TypeError, "limit"),
    Bad("limit bool", lambda c: c.assistants.list(limit=True), TypeError, "limit"),
    Bad("order", lambda c: c.assistants.list(order="newest"), ValueError, "order"),
    Bad("order case", lambda c: c.runs.list("t", order="ASC"), ValueError, "order"),
    Bad("max_items", lambda c: c.assistants.list(max_items=-1), ValueError, "max_items"),
    Bad("empty cursor", lambda c: c.assistants.list(after=""), ValueError, "after"),
    # role
    Bad("role", lambda c: c.messages.create("t", role="system", content="x"), ValueError, "role"),
    Bad(
        "role in thread messages",
        lambda c: c.threads.create(messages=[OK, {"role": "tool", "content": "x"}]),
        ValueError,
        "messages[1].role",
    ),
    Bad(
        "role missing",
        lambda c: c.threads.create(messages=[{"content": "x"}]),
        ValueError,
        "messages[0]",
    ),
    Bad(
        "role in additional_messages",
        lambda c: c.runs.create(
            "t", assistant_id="a", additional_messages=[{"role": "bot", "content": "x"}]
        ),
        ValueError,
        "additional_messages[0].role",
    ),
    Bad(
        "empty content",
        lambda c: c.messages.create("t", role="user", content=[]),
        ValueError,
        "content",
    ),
    # metadata
    Bad(
        "17 metadata keys",
        lambda c: c.assistants.create(model="m", metadata=LONG_META),
        ValueError,
        "16",
    ),
    Bad(
        "long metadata key",
        lambda c: c.threads.update("t", metadata={"k" * 65: "v"}),
        ValueError,
        "64",
    ),
    Bad(
        "long metadata value",
        lambda c: c.messages.update("t", "m", metadata={"k": "v" * 513}),
        ValueError,
        "512",
    ),
    Bad(
        "non-string metadata",
        lambda c: c.runs.update("t", "r", metadata={"k": 1}),
        TypeError,
        "metadata",
    ),
    Bad(
        "metadata in a thread message",
        lambda c: c.threads.create(messages=[{**OK, "metadata": LONG_META}]),
        ValueError,
        "messages[0].metadata",
    ),
    Bad(
        "thread metadata in create_and_run",
        lambda c: c.threads.create_and_run(assistant_id="a", thread={"metadata": {"k": "v" * 600}}),
        ValueError,
        "thread.metadata",
    ),
    # tool outputs
    Bad(
        "tool output without id",
        lambda c: c.runs.submit_tool_outputs("t", "r", tool_outputs=[{"output": "x"}]),
        ValueError,
        "tool_outputs[0]",
    ),
    Bad(
        "tool output with empty id",
        lambda c: c.runs.submit_tool_outputs(
            "t",
            "r",
            tool_outputs=[
                {"tool_call_id": "c", "output": "x"},
                {"tool_call_id": "", "output": "y"},
            ],
        ),
        ValueError,
        "tool_outputs[1]",
    ),
    Bad(
        "tool output not a string",
        lambda c: c.runs.submit_tool_outputs(
            "t", "r", tool_outputs=[{"tool_call_id": "c", "output": {"t": 1}}]
        ),
        TypeError,
        "tool_outputs[0].output",
    ),
    Bad(
        "streamed tool output not a string",
        lambda c: c.runs.submit_tool_outputs_stream(
            "t", "r", tool_outputs=[{"tool_call_id": "c", "output": {"t": 1}}]
        ),
        TypeError,
        "tool_outputs[0].output",
    ),
    Bad(
        "non-string metadata key",
        lambda c: c.threads.update("t", metadata={1: "v"}),
        TypeError,
        "metadata",
    ),
    Bad(
        "tool_outputs not a list",
        lambda c: c.runs.submit_tool_outputs("t", "r", tool_outputs="x"),
        TypeError,
        "tool_outputs",
    ),
    # include
    Bad(
        "include value",
        lambda c: c.steps.list("t", "r", include=["everything"]),
        ValueError,
        "include",
    ),
    Bad(
        "include as a string",
        lambda c: c.runs.create("t", assistant_id="a", include="x"),
        TypeError,
        "include",
    ),
    # options
    Bad(
        "negative timeout", lambda c: c.assistants.retrieve("a", timeout=-1), ValueError, "timeout"
    ),
    Bad("model", lambda c: c.assistants.create(model=""), ValueError, "model"),
    # a wrong keyword is Python's own TypeError
    Bad(
        "unknown keyword",
        lambda c: c.assistants.create(model="m", colour="red"),
        TypeError,
        "colour",
    ),
    Bad(
        "unknown keyword in a list call",
        lambda c: c.messages.list("t", colour="red"),
        TypeError,
        "colour",
    ),
    Bad(
        "extra_body in a list call",
        lambda c: c.assistants.list(extra_body={"a": 1}),
        TypeError,
        "extra_body",
    ),
    Bad(
        "unknown keyword in a call without a body",
        lambda c: c.runs.retrieve("t", "r", colour="red"),
        TypeError,
        "colour",
    ),
    Bad(
        "stream is not a parameter here",
        lambda c: c.runs.create("t", assistant_id="a", stream=True),
        TypeError,
        "stream",
    ),
]


@pytest.mark.parametrize("bad", BAD, ids=lambda b: b.name)
async def test_bad_input_fails_before_sending(server: ScriptedServer, bad: Bad) -> None:
    server.reply(json_reply(body=ASSISTANT))
    async with AsyncClient(api_key="sk-test", base_url=server.url, max_retries=0) as client:

        async def attempt() -> None:
            result = bad.call(client)
            if inspect.isawaitable(result):
                await result

        with pytest.raises(bad.error) as info:
            await attempt()
    assert bad.mentions in str(info.value)
    assert server.seen == []
