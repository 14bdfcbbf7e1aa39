"""What a responder is: it decides what the assistant does on each turn of a run.

A responder is an async callable ``responder(ctx: RunContext) -> Reply``. It sees the
assistant, the thread's messages and the tool outputs submitted so far in this run, and
returns one of:

* ``Text("...")``: the run completes with an assistant message;
* ``CallTools([ToolCall("get_weather", {"city": "Paris"})])``: the run goes to
  ``requires_action`` until the outputs are submitted, then the responder runs again;
* ``Fail(code, message)``: the run fails with ``last_error``;
* ``Incomplete(reason)``: the run ends ``incomplete`` with a partial message.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal, TypeAlias

import attrs

from ..models import Assistant, Message, Run, TextContentBlock

__all__ = [
    "CallTools",
    "Fail",
    "Incomplete",
    "Reply",
    "Responder",
    "RunContext",
    "SubmittedOutput",
    "Text",
    "ToolCall",
    "echo",
]


@attrs.frozen
class Text:
    text: str


@attrs.frozen
class ToolCall:
    name: str
    arguments: str | dict[str, Any] = attrs.field(factory=dict)

    @property
    def arguments_json(self) -> str:
        return self.arguments if isinstance(self.arguments, str) else json.dumps(self.arguments)


@attrs.frozen
class CallTools:
    calls: Sequence[ToolCall]


@attrs.frozen
class Fail:
    code: Literal["server_error", "rate_limit_exceeded", "invalid_prompt"] = "server_error"
    message: str = "The fake server was told to fail this run."


@attrs.frozen
class Incomplete:
    reason: Literal["max_completion_tokens", "max_prompt_tokens"] = "max_completion_tokens"
    partial_text: str = ""


Reply: TypeAlias = Text | CallTools | Fail | Incomplete


@attrs.frozen
class SubmittedOutput:
    """One tool call of this run and the output the client sent for it."""

    call_id: str
    name: str
    arguments: str
    output: str


@attrs.frozen
class RunContext:
    assistant: Assistant
    run: Run
    messages: Sequence[Message]
    tool_outputs: Sequence[SubmittedOutput]

    @property
    def last_user_text(self) -> str:
        """The text of the newest user message ('' if none)."""
        for message in reversed(self.messages):
            if message.role == "user":
                return "".join(
                    part.text.value
                    for part in message.content
                    if isinstance(part, TextContentBlock)
                )
        return ""


Responder: TypeAlias = Callable[[RunContext], Awaitable[Reply]]


def echo(prefix: str = "") -> Responder:
    """Answer with the newest user message's text, after ``prefix``."""

    async def respond(ctx: RunContext) -> Reply:
        return Text(prefix + ctx.last_user_text)

    return respond
