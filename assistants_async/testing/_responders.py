"""Responders for tests: the echo, a list of replies, tools then an answer.

The types a responder deals in (``RunContext``, ``Text``, ``CallTools``...) are the run
engine's, in ``assistants_async.server._responders``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from ..server._responders import (
    CallTools,
    Fail,
    Incomplete,
    Reply,
    Responder,
    RunContext,
    Streamed,
    SubmittedOutput,
    Text,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    echo,
)

__all__ = [
    "CallTools",
    "Fail",
    "Incomplete",
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
    "call_tools_then_answer",
    "echo",
    "scripted",
]


def scripted(replies: Iterable[Reply]) -> Responder:
    """Give these replies in order, one per turn across all runs; then fail clearly."""
    queue = list(replies)

    async def respond(ctx: RunContext) -> Reply:
        if not queue:
            return Fail("server_error", "The scripted responder has no replies left.")
        return queue.pop(0)

    return respond


def call_tools_then_answer(
    calls: Sequence[ToolCall] | Callable[[RunContext], Sequence[ToolCall]],
    answer: str | Callable[[RunContext], str] = "{outputs}",
) -> Responder:
    """First turn: call the tools. Once outputs are in: answer.

    ``answer`` is a callable, or a template where ``{outputs}`` stands for the outputs
    joined by spaces and ``{question}`` for the newest user text.
    """

    async def respond(ctx: RunContext) -> Reply:
        if not ctx.tool_outputs:
            return CallTools(list(calls(ctx) if callable(calls) else calls))
        if callable(answer):
            return Text(answer(ctx))
        outputs = " ".join(o.output for o in ctx.tool_outputs)
        return Text(answer.format(outputs=outputs, question=ctx.last_user_text))

    return respond
