"""The run engine: a run's life as a state machine, and what it says as it goes.

It moves a run through queued, in_progress, requires_action, completed, failed,
incomplete, cancelled or expired; adds the assistant's messages and the run's steps; and
tells each stream event to an ``emit`` callback. No HTTP here: the server turns the
events into server-sent events, and tests drive the engine directly.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeAlias

from .._schema import Invalid
from ..models import Assistant, AssistantToolChoice, FunctionTool, Message, Run
from ._events import _given, _pieces, _silent, _text_part, _tool_call_deltas, _usage, _words
from ._responders import (
    CallTools,
    Fail,
    Incomplete,
    Reply,
    Responder,
    RunContext,
    SubmittedOutput,
    Text,
    ToolCall,
)
from ._script import Script
from ._store import JSON, StoredRun, StoredThread

__all__ = ["Emit", "RunEngine"]

# Where a step that ended records when.
_ENDED_AT = {"completed": "completed_at", "cancelled": "cancelled_at", "expired": "expired_at"}

log = logging.getLogger("assistants_async.testing")

# Hears each stream event of a run's life: (event name, data).
Emit: TypeAlias = Callable[[str, JSON], Awaitable[None]]


class RunEngine:
    """Runs' lives. ``responder`` (after the ``script``) decides each turn; ``clock`` and
    ``ids`` make times and ids; ``run_ttl`` is when an unfinished run expires."""

    def __init__(
        self,
        *,
        responder: Responder,
        clock: Callable[[], int],
        ids: Callable[[str], str],
        script: Script | None = None,
        run_ttl: int = 600,
        timer_interval: float = 0.05,
    ) -> None:
        self.responder = responder
        self.clock = clock
        self.ids = ids
        self.script = script if script is not None else Script()
        self.run_ttl = run_ttl
        self.timer_interval = timer_interval

    def new_run(self, thread: StoredThread, assistant: JSON, body: JSON) -> StoredRun:
        """A queued run of ``assistant`` on ``thread``, from a createRun body."""
        active = thread.active_run()
        if active is not None:
            raise Invalid(
                f"Thread {thread.obj['id']} already has an active run {active.obj['id']}."
            )
        now = self.clock()
        instructions = body.get("instructions") or assistant["instructions"]
        if body.get("additional_instructions"):
            instructions = "\n".join(filter(None, [instructions, body["additional_instructions"]]))
        obj: JSON = {
            "id": self.ids("run"),
            "object": "thread.run",
            "created_at": now,
            "thread_id": thread.obj["id"],
            "assistant_id": assistant["id"],
            "status": "queued",
            "required_action": None,
            "last_error": None,
            "expires_at": now + self.run_ttl,
            "started_at": None,
            "cancelled_at": None,
            "failed_at": None,
            "completed_at": None,
            "incomplete_details": None,
            "model": body.get("model") or assistant["model"],
            "instructions": instructions or "",
            "tools": body["tools"] if body.get("tools") is not None else assistant["tools"],
            "metadata": body.get("metadata") or {},
            "usage": None,
            "temperature": _given(body, "temperature", assistant["temperature"]),
            "top_p": _given(body, "top_p", assistant["top_p"]),
            "max_prompt_tokens": body.get("max_prompt_tokens"),
            "max_completion_tokens": body.get("max_completion_tokens"),
            "truncation_strategy": body.get("truncation_strategy")
            or {"type": "auto", "last_messages": None},
            "tool_choice": _given(body, "tool_choice", "auto"),
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "response_format": _given(body, "response_format", assistant["response_format"]),
        }
        run = StoredRun(obj=obj, assistant=dict(assistant))
        for message in body.get("additional_messages") or []:
            self.new_message(thread, message)
        thread.runs[obj["id"]] = run
        return run

    def submit_outputs(self, run: StoredRun, tool_outputs: list[JSON]) -> list[tuple[str, JSON]]:
        """Take the outputs of the run's open calls; the run is queued for its next turn.
        Returns the events this says (the tool step completed, the run queued)."""
        status = run.obj["status"]
        if status != "requires_action":
            raise Invalid(f'Runs in status "{status}" do not accept tool outputs.')
        given = [o["tool_call_id"] for o in tool_outputs if "tool_call_id" in o]
        if len(given) != len(tool_outputs):
            raise Invalid("Each tool output needs a tool_call_id.", param="tool_outputs")
        expected = set(run.open_calls)
        if len(set(given)) != len(given) or set(given) != expected:
            raise Invalid(
                f"Expected tool outputs for call_ids {sorted(expected)}, got {given}.",
                param="tool_outputs",
            )
        outputs = {o["tool_call_id"]: o.get("output", "") for o in tool_outputs}
        step = run.steps[run.tool_step] if run.tool_step else None
        for call_id, (name, arguments) in run.open_calls.items():
            run.outputs.append(SubmittedOutput(call_id, name, arguments, outputs[call_id]))
            if step is not None:
                for call in step["step_details"]["tool_calls"]:
                    if call["id"] == call_id:
                        call["function"]["output"] = outputs[call_id]
        prelude: list[tuple[str, JSON]] = []
        if step is not None:
            self.end_step(run, step, "completed")
            prelude.append(("thread.run.step.completed", step))
        run.open_calls.clear()
        run.tool_step = None
        run.obj.update(status="queued", required_action=None)
        prelude.append(("thread.run.queued", run.obj))
        return prelude

    def cancel(self, run: StoredRun) -> None:
        status = run.obj["status"]
        if status not in ("queued", "in_progress", "requires_action"):
            raise Invalid(f"Cannot cancel run with status '{status}'.")
        run.obj["status"] = "cancelling"

    def new_message(
        self,
        thread: StoredThread,
        body: JSON,
        *,
        run: StoredRun | None = None,
        status: str = "completed",
    ) -> JSON:
        content = body["content"]
        parts: list[JSON]
        if isinstance(content, str):
            parts = [_text_part(content)]
        else:
            parts = [_text_part(p["text"]) if p["type"] == "text" else dict(p) for p in content]
        now = self.clock()
        message: JSON = {
            "id": self.ids("msg"),
            "object": "thread.message",
            "created_at": now,
            "thread_id": thread.obj["id"],
            "status": status,
            "incomplete_details": None,
            "completed_at": now if status == "completed" else None,
            "incomplete_at": now if status == "incomplete" else None,
            "role": body["role"],
            "content": parts,
            "assistant_id": run.obj["assistant_id"] if run else None,
            "run_id": run.obj["id"] if run else None,
            "attachments": body.get("attachments") or [],
            "metadata": body.get("metadata") or {},
        }
        thread.messages[message["id"]] = message
        return message

    def expire(self, run: StoredRun) -> None:
        obj = run.obj
        if obj["status"] in ("queued", "in_progress", "requires_action") and (
            obj["expires_at"] is not None and self.clock() >= obj["expires_at"]
        ):
            obj.update(status="expired", required_action=None)
            for step in run.steps.values():
                if step["status"] == "in_progress":
                    self.end_step(run, step, "expired")
            run.open_calls.clear()

    async def tick(self, thread: StoredThread, run: StoredRun) -> None:
        try:
            while run.obj["status"] in ("queued", "in_progress", "cancelling"):
                await asyncio.sleep(self.timer_interval)
                await self.advance(thread, run)
        except Exception as exc:
            # Nobody awaits this task: fail the run visibly rather than leave it moving.
            log.exception("the fake server's run %s stopped", run.obj["id"])
            run.obj.update(
                status="failed",
                failed_at=self.clock(),
                expires_at=None,
                last_error={"code": "server_error", "message": f"{type(exc).__name__}: {exc}"},
            )
        finally:
            run.timer = None

    async def settle(self, thread: StoredThread, run: StoredRun, emit: Emit | None = None) -> None:
        while run.obj["status"] in ("queued", "in_progress", "cancelling"):
            await self.advance(thread, run, emit)

    async def advance(self, thread: StoredThread, run: StoredRun, emit: Emit | None = None) -> None:
        """One step of the run's life; ``emit`` hears each event of it (when streaming)."""
        emit = emit or _silent
        async with run.lock:
            self.expire(run)
            obj = run.obj
            status = obj["status"]
            now = self.clock()
            if status == "queued":
                obj.update(status="in_progress", started_at=obj["started_at"] or now)
                await emit("thread.run.in_progress", obj)
            elif status == "in_progress":
                await self.turn(thread, run, emit)
            elif status == "cancelling":
                obj.update(
                    status="cancelled", cancelled_at=now, expires_at=None, required_action=None
                )
                for step in run.steps.values():
                    if step["status"] == "in_progress":
                        self.end_step(run, step, "cancelled")
                run.open_calls.clear()
                await emit("thread.run.cancelled", obj)

    async def turn(self, thread: StoredThread, run: StoredRun, emit: Emit) -> None:
        context = RunContext(
            assistant=Assistant.from_dict(run.assistant),
            run=Run.from_dict(run.obj),
            messages=[Message.from_dict(m) for m in thread.messages.values()],
            tool_outputs=list(run.outputs),
        )
        try:
            scripted = self.script.next_reply(context)
            reply: Reply = scripted if scripted is not None else await self.responder(context)
        except Exception as exc:  # the responder is user code: report it on the run
            reply = Fail("server_error", f"The responder raised {type(exc).__name__}: {exc}")
        reply = _as_tool_choice_binds(reply, context)
        if run.obj["status"] != "in_progress":
            return  # cancelled (or expired) while the responder thought
        prompt = sum(_words(part) for m in thread.messages.values() for part in m["content"])
        now = self.clock()
        obj = run.obj
        if isinstance(reply, Text):
            usage = _usage(prompt, len(reply.text.split()))
            await self.say(thread, run, reply.text, emit, usage=usage)
            obj.update(status="completed", completed_at=now, expires_at=None)
            self.add_usage(run, usage)
            await emit("thread.run.completed", obj)
        elif isinstance(reply, CallTools):
            calls: list[JSON] = []
            for call in reply.calls:
                call_id = self.ids("call")
                run.open_calls[call_id] = (call.name, call.arguments_json)
                function = {"name": call.name, "arguments": call.arguments_json}
                calls.append({"id": call_id, "type": "function", "function": function})
            usage = _usage(prompt, sum(len(c["function"]["arguments"].split()) for c in calls))
            step_calls: list[JSON] = [
                {**c, "function": {**c["function"], "output": None}} for c in calls
            ]
            details = {"type": "tool_calls", "tool_calls": step_calls}
            step = self.add_step(run, "tool_calls", "in_progress", details, usage)
            # As the service did: the step starts empty and the deltas bring the calls.
            empty = {**step, "step_details": {"type": "tool_calls", "tool_calls": []}}
            await emit("thread.run.step.created", empty)
            await emit("thread.run.step.in_progress", empty)
            for delta in _tool_call_deltas(step_calls):
                await emit(
                    "thread.run.step.delta",
                    {
                        "id": step["id"],
                        "object": "thread.run.step.delta",
                        "delta": {"step_details": {"type": "tool_calls", "tool_calls": [delta]}},
                    },
                )
            run.tool_step = step["id"]
            submit = {"tool_calls": calls}
            obj.update(
                status="requires_action",
                required_action={"type": "submit_tool_outputs", "submit_tool_outputs": submit},
            )
            self.add_usage(run, usage)
            await emit("thread.run.requires_action", obj)
        elif isinstance(reply, Fail):
            obj.update(
                status="failed",
                failed_at=now,
                expires_at=None,
                last_error={"code": reply.code, "message": reply.message},
            )
            await emit("thread.run.failed", obj)
        elif isinstance(reply, Incomplete):
            if reply.partial_text:
                await self.say(thread, run, reply.partial_text, emit, incomplete=True)
            obj.update(
                status="incomplete", expires_at=None, incomplete_details={"reason": reply.reason}
            )
            await emit("thread.run.incomplete", obj)

    async def say(
        self,
        thread: StoredThread,
        run: StoredRun,
        text: str,
        emit: Emit,
        *,
        usage: JSON | None = None,
        incomplete: bool = False,
    ) -> None:
        """The assistant's message, created empty and filled by deltas as it was streamed."""
        message = self.new_message(
            thread, {"role": "assistant", "content": []}, run=run, status="in_progress"
        )
        step = None
        if not incomplete:
            details = {
                "type": "message_creation",
                "message_creation": {"message_id": message["id"]},
            }
            step = self.add_step(run, "message_creation", "in_progress", details, usage)
            await emit("thread.run.step.created", step)
            await emit("thread.run.step.in_progress", step)
        await emit("thread.message.created", message)
        await emit("thread.message.in_progress", message)
        for piece in _pieces(text):
            await emit(
                "thread.message.delta",
                {
                    "id": message["id"],
                    "object": "thread.message.delta",
                    "delta": {
                        "content": [
                            {
                                "index": 0,
                                "type": "text",
                                "text": {"value": piece, "annotations": []},
                            }
                        ]
                    },
                },
            )
        now = self.clock()
        message["content"] = [_text_part(text)]
        if incomplete:
            message.update(
                status="incomplete", incomplete_at=now, incomplete_details={"reason": "max_tokens"}
            )
            await emit("thread.message.incomplete", message)
            return
        message.update(status="completed", completed_at=now)
        await emit("thread.message.completed", message)
        if step is not None:
            self.end_step(run, step, "completed")
            await emit("thread.run.step.completed", step)

    def add_step(
        self, run: StoredRun, kind: str, status: str, details: JSON, usage: JSON | None
    ) -> JSON:
        """A new step; its ``usage`` shows once it ends (the spec: null while in progress)."""
        now = self.clock()
        step: JSON = {
            "id": self.ids("step"),
            "object": "thread.run.step",
            "created_at": now,
            "assistant_id": run.obj["assistant_id"],
            "thread_id": run.obj["thread_id"],
            "run_id": run.obj["id"],
            "type": kind,
            "status": status,
            "step_details": details,
            "last_error": None,
            "expired_at": None,
            "cancelled_at": None,
            "failed_at": None,
            "completed_at": now if status == "completed" else None,
            "metadata": {},
            "usage": usage if status != "in_progress" else None,
        }
        run.steps[step["id"]] = step
        if status == "in_progress" and usage is not None:
            run.step_usage[step["id"]] = usage
        return step

    def end_step(self, run: StoredRun, step: JSON, status: str) -> None:
        """``step`` ended with ``status``: its time and, now, its usage."""
        now = self.clock()
        usage = run.step_usage.pop(step["id"], None)
        step.update(status=status, usage=usage)
        step[_ENDED_AT[status]] = now

    @staticmethod
    def add_usage(run: StoredRun, usage: JSON) -> None:
        total = run.obj["usage"] or {"completion_tokens": 0, "prompt_tokens": 0, "total_tokens": 0}
        run.obj["usage"] = {k: total[k] + usage[k] for k in total}


def _as_tool_choice_binds(reply: Reply, ctx: RunContext) -> Reply:
    """``tool_choice`` binds the model, as the service held it to: on a run's first turn a
    forced function (or, with ``"required"``, the first function tool) is called, where a
    responder that knows nothing of tools (the echo) would have answered in text."""
    if not isinstance(reply, Text) or ctx.tool_outputs:
        return reply
    choice = ctx.run.tool_choice
    if isinstance(choice, AssistantToolChoice) and choice.type == "function" and choice.function:
        return CallTools([ToolCall(choice.function.name)])
    if choice == "required":
        for tool in ctx.run.tools:
            if isinstance(tool, FunctionTool):
                return CallTools([ToolCall(tool.function.name)])
    return reply
