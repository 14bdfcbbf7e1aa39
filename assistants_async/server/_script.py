"""Scripted replies: what runs do, queued or matched by rule, for Python and HTTP alike.

Before the server's responder is asked, a run takes the next queued reply for its
thread, else for its assistant, else the next global one, else the reply of the first
rule whose pattern is found in the newest user text. Queued replies are used once, by
whichever run comes first (scope them by thread or assistant when tests run side by
side); rules stay until cleared.

A rule answers a run's first turn only: after tool outputs the newest user text is
the same, and a rule that called tools again would loop forever. ``then`` gives the
answer once the outputs are in (``{outputs}`` and ``{question}`` filled in), as
``call_tools_then_answer`` does; ``every_turn=True`` makes a rule answer every turn.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from ._responders import (
    CallTools,
    Fail,
    Incomplete,
    Reply,
    Responder,
    RunContext,
    Streamed,
    Text,
    ToolCall,
)

__all__ = ["Script", "ScriptFirst", "reply_from_json", "reply_to_json"]


class Script:
    def __init__(self) -> None:
        self._global: deque[Reply] = deque()
        self._by_assistant: dict[str, deque[Reply]] = {}
        self._by_thread: dict[str, deque[Reply]] = {}
        self._rules: list[_Rule] = []

    def queue(
        self, *replies: Reply, assistant_id: str | None = None, thread_id: str | None = None
    ) -> None:
        """Replies for the next runs: of one thread, one assistant, or any run."""
        if assistant_id is not None and thread_id is not None:
            raise ValueError("queue replies for an assistant or a thread, not both")
        for reply in replies:
            _check_reply(reply)
        if thread_id is not None:
            self._by_thread.setdefault(thread_id, deque()).extend(replies)
        elif assistant_id is not None:
            self._by_assistant.setdefault(assistant_id, deque()).extend(replies)
        else:
            self._global.extend(replies)

    def rule(
        self, pattern: str, reply: Reply, *, then: str | None = None, every_turn: bool = False
    ) -> None:
        """Answer the first turn of every run whose newest user text matches ``pattern``
        (a regex) with ``reply``; once tool outputs are in, answer ``then`` (a template:
        ``{outputs}``, ``{question}``), or leave the turn to the rest of the script and the
        responder. ``every_turn=True``: answer every turn with ``reply``."""
        _check_reply(reply)
        if then is not None and not isinstance(then, str):
            raise TypeError(f"then is the answer's text (a template), not {then!r}")
        if then is not None and every_turn:
            raise ValueError("a rule that answers every turn has no 'then'")
        if then is not None and not isinstance(reply, CallTools):
            raise ValueError("'then' follows tool calls: the reply must be a tool_calls one")
        if not isinstance(every_turn, bool):
            raise TypeError(f"every_turn must be True or False, not {every_turn!r}")
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise ValueError(
                f"rule pattern {pattern!r} is not a regular expression: {exc}"
            ) from None
        self._rules.append(_Rule(compiled, reply, then, every_turn))

    def clear(self) -> None:
        self._global.clear()
        self._by_assistant.clear()
        self._by_thread.clear()
        self._rules.clear()

    def __len__(self) -> int:
        queued = sum(len(q) for q in (*self._by_thread.values(), *self._by_assistant.values()))
        return len(self._global) + queued + len(self._rules)

    def next_reply(self, ctx: RunContext) -> Reply | None:
        for queue in (
            self._by_thread.get(ctx.run.thread_id),
            self._by_assistant.get(ctx.assistant.id),
            self._global,
        ):
            if queue:
                return queue.popleft()
        text = ctx.last_user_text
        later = bool(ctx.tool_outputs)  # not the run's first turn
        for rule in self._rules:
            if not rule.pattern.search(text):
                continue
            if not later or rule.every_turn:
                return rule.reply
            if rule.then is not None:
                outputs = " ".join(o.output for o in ctx.tool_outputs)
                return Text(rule.then.format(outputs=outputs, question=text))
        return None

    async def answer(self, ctx: RunContext, otherwise: Responder) -> Reply | Streamed:
        """The script's reply to ``ctx``, else ``otherwise``'s: what a server's runs take."""
        scripted = self.next_reply(ctx)
        return scripted if scripted is not None else await otherwise(ctx)

    def load(self, data: Mapping[str, Any]) -> None:
        """Add what a JSON script holds: ``{"replies": [...], "rules": [...]}``, where a
        reply may carry ``assistant_id`` or ``thread_id`` and a rule is
        ``{"match": "regex", "reply": {...}}``."""
        unknown = set(data) - {"replies", "rules"}
        if unknown:
            raise ValueError(f"unknown script keys: {', '.join(sorted(unknown))}")
        for item in _list(data.get("replies", []), "replies"):
            if not isinstance(item, Mapping):
                raise ValueError('a reply is an object with a "type"')
            scope = {k: item[k] for k in ("assistant_id", "thread_id") if k in item}
            reply = reply_from_json({k: v for k, v in item.items() if k not in scope})
            self.queue(reply, **scope)
        for item in _list(data.get("rules", []), "rules"):
            if not isinstance(item, Mapping) or not {"match", "reply"} <= set(item) <= {
                "match",
                "reply",
                "every_turn",
            }:
                raise ValueError(
                    'a rule is {"match": "regex", "reply": {...}} (and "every_turn": true '
                    "to answer every turn of a run)"
                )
            given: Any = item["reply"]
            shape = dict(given) if isinstance(given, Mapping) else given
            then = shape.pop("then", None) if isinstance(shape, dict) else None
            self.rule(
                str(item["match"]),
                reply_from_json(shape),
                then=then,
                every_turn=item.get("every_turn", False),
            )


@attrs.frozen
class _Rule:
    pattern: re.Pattern[str]
    reply: Reply
    then: str | None
    every_turn: bool


def _list(value: Any, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"{name} must be a list")
    return value


def _check_reply(reply: object) -> None:
    if not isinstance(reply, Text | CallTools | Fail | Incomplete):
        raise TypeError(f"a reply is Text, CallTools, Fail or Incomplete, not {reply!r}")


class ScriptFirst:
    """The responder a server's engine is given: ``script``'s reply, else the reply of
    ``responder()`` (called each time: the fake's tests swap it). What that responder
    carries for the engine, ``slots`` and ``check_run``, shows through."""

    def __init__(self, script: Script, responder: Callable[[], Responder]) -> None:
        self.script = script
        self.responder = responder

    async def __call__(self, ctx: RunContext) -> Reply | Streamed:
        return await self.script.answer(ctx, self.responder())

    @property
    def slots(self) -> asyncio.Semaphore | None:
        slots: asyncio.Semaphore | None = getattr(self.responder(), "slots", None)
        return slots

    def check_run(self, run: Mapping[str, Any], messages: Sequence[Mapping[str, Any]]) -> None:
        check = getattr(self.responder(), "check_run", None)
        if check is not None:
            check(run, messages)


def reply_from_json(data: Any) -> Reply:
    """A reply from its JSON form (see the README's "Testing code in any language")."""
    if not isinstance(data, Mapping) or not isinstance(data.get("type"), str):
        raise ValueError('a reply is an object with a "type": text, tool_calls, fail or incomplete')
    kind = data["type"]
    fields = {k: v for k, v in data.items() if k != "type"}
    allowed = {
        "text": {"text"},
        "tool_calls": {"calls"},
        "fail": {"code", "message"},
        "incomplete": {"reason", "partial_text"},
    }
    if kind not in allowed:
        raise ValueError(f"unknown reply type {kind!r}: use {', '.join(allowed)}")
    if set(fields) - allowed[kind]:
        extra = ", ".join(sorted(set(fields) - allowed[kind]))
        raise ValueError(f"a {kind} reply takes {', '.join(sorted(allowed[kind]))}, not {extra}")
    if kind == "text":
        if not isinstance(fields.get("text"), str):
            raise ValueError('a text reply needs "text": a string')
        return Text(fields["text"])
    if kind == "tool_calls":
        calls = fields.get("calls")
        if not isinstance(calls, list) or not calls:
            raise ValueError('a tool_calls reply needs "calls": [{"name": ..., "arguments": ...}]')
        parsed = []
        for call in calls:
            if not isinstance(call, Mapping) or not isinstance(call.get("name"), str):
                raise ValueError('each call is {"name": "...", "arguments": {...} or "..."}')
            arguments = call.get("arguments", {})
            if not isinstance(arguments, str | dict):
                raise ValueError("a call's arguments are an object or a JSON string")
            parsed.append(ToolCall(call["name"], arguments))
        return CallTools(parsed)
    if kind == "fail":
        return Fail(**fields)
    return Incomplete(**fields)


def reply_to_json(reply: Reply) -> dict[str, Any]:
    if isinstance(reply, Text):
        return {"type": "text", "text": reply.text}
    if isinstance(reply, CallTools):
        calls = [{"name": c.name, "arguments": c.arguments} for c in reply.calls]
        return {"type": "tool_calls", "calls": calls}
    if isinstance(reply, Fail):
        return {"type": "fail", "code": reply.code, "message": reply.message}
    return {"type": "incomplete", "reason": reply.reason, "partial_text": reply.partial_text}
