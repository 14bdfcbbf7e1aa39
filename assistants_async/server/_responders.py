"""What a responder is: it decides what the assistant does on each turn of a run.

A responder is an async callable ``responder(ctx: RunContext) -> Reply``. It sees the
assistant, the thread's messages and the tool outputs submitted so far in this run, and
returns one of:

* ``Text("...")``: the run completes with an assistant message;
* ``CallTools([ToolCall("get_weather", {"city": "Paris"})])``: the run goes to
  ``requires_action`` until the outputs are submitted, then the responder runs again;
* ``Fail(code, message)``: the run fails with ``last_error``;
* ``Incomplete(reason)``: the run ends ``incomplete`` with a partial message.

Or it returns the answer as it is made: an async iterator of parts (``Streamed``), which
the engine turns into the events as they come. ``TextDelta`` pieces make a message
(created at the first); ``ToolCallDelta`` pieces make a ``tool_calls`` step (a call's
first piece carries its name, later ones its arguments), and the run then waits on the
outputs; ``Usage`` is the turn's; a ``Fail`` or ``Incomplete`` ends the turn so. A
list of parts (those one read of a model's answer gave, say) is told as they would be
one by one, in one write to a streaming client; in one, a ``str`` is the text of a
``TextDelta`` (an object less a piece, for long answers).

Two optional attributes tell the engine more: ``slots``, an ``asyncio.Semaphore``
bounding the turns in flight (a run waits ``queued`` for one), and
``check_run(run, messages)``, called as a run is created, which may raise ``Invalid`` to
refuse what the responder cannot serve.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal, TypeAlias

import attrs

from ..models import Assistant, Message, Run, TextContentBlock

__all__ = [
    "CallTools",
    "Fail",
    "Incomplete",
    "Part",
    "Reply",
    "Responder",
    "RunContext",
    "Streamed",
    "SubmittedOutput",
    "Text",
    "TextDelta",
    "ToolCall",
    "ToolCallDelta",
    "Usage",
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
class TextDelta:
    """A piece of the assistant's message, as the model made it."""

    text: str


@attrs.frozen
class ToolCallDelta:
    """A piece of the ``index``-th tool call: its first piece names the function."""

    index: int
    name: str = ""
    arguments: str = ""


@attrs.frozen
class Usage:
    """The tokens of the turn, as the model counted them."""

    prompt_tokens: int
    completion_tokens: int


Part: TypeAlias = TextDelta | ToolCallDelta | Usage | Fail | Incomplete
Streamed: TypeAlias = AsyncIterator[Part | list[Part | str]]


@attrs.frozen
class SubmittedOutput:
    """One tool call of this run and the output the client sent for it."""

    call_id: str
    name: str
    arguments: str
    output: str
    # Which turn of the run made the call (its outputs came in together), the first
    # message the assistant said in that turn, if any, and all it said in that turn (in
    # order: before the calls and, rarely, after them).
    turn: int = 0
    message_id: str | None = None
    message_ids: tuple[str, ...] = attrs.field(default=(), converter=tuple)


@attrs.frozen
class RunContext:
    assistant: Assistant
    run: Run
    messages: Sequence[Message]
    tool_outputs: Sequence[SubmittedOutput]
    # What the run was created with that its object does not show (reasoning_effort).
    options: Mapping[str, Any] = attrs.field(factory=dict)

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


Responder: TypeAlias = Callable[[RunContext], Awaitable[Reply | Streamed]]


def echo(prefix: str = "") -> Responder:
    """Answer with the newest user message's text, after ``prefix``."""

    async def respond(ctx: RunContext) -> Reply:
        return Text(prefix + ctx.last_user_text)

    return respond
