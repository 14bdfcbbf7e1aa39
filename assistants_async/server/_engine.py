"""The run engine: a run's life as a state machine, and what it says as it goes.

It moves a run through queued, in_progress, requires_action, completed, failed,
incomplete, cancelled or expired; adds the assistant's messages and the run's steps; and
tells each stream event to an ``emit`` callback. No HTTP here: the handlers turn the
events into server-sent events, and tests drive the engine directly.

Everything it knows of a run is in the ``Store``: the run as the API shows it, and in
``RunRecord.state`` the engine's own (the assistant as the run began, open tool calls,
submitted outputs, the tool step and its usage). Every change is read, made on a copy
and written back with the version it read; a ``Conflict`` means another writer (a
cancel, a submit, a metadata update) won, and the change is made again on what it
wrote, or given up if it no longer applies. Only what is not data stays here: a lock per
moving run (one step at a time) and the timer tasks of ``progress="timer"``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias

from .._schema import Invalid
from ..models import Assistant, AssistantToolChoice, FunctionTool, Message, Run
from ._events import _given, _pieces, _silent, _text_part, _tool_call_deltas, _usage, _words
from ._http import TextDeltaEvent, text_delta_head
from ._locks import KeyedLocks
from ._responders import (
    CallTools,
    Fail,
    Incomplete,
    Part,
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
)
from ._store import ACTIVE, JSON, Conflict, NotFound, PageQuery, RunRecord, Store

__all__ = ["EXPIRING", "MOVING", "SERVER_ERROR", "Emit", "RunEngine"]

# Where a step that ended records when.
_ENDED_AT = {"completed": "completed_at", "cancelled": "cancelled_at", "expired": "expired_at"}

# The statuses in which a run moves on its own (the others wait, or are over).
MOVING = frozenset({"queued", "in_progress", "cancelling"})
EXPIRING = frozenset({"queued", "in_progress", "requires_action"})
# What a run that failed for the server's own fault says (the fault is logged, not told).
SERVER_ERROR = "The server had an error while processing your request."

log = logging.getLogger("assistants_async.server")

# Hears each stream event of a run's life: (event name, data).
Emit: TypeAlias = Callable[[str, JSON], Awaitable[None]]


# The end of a streamed answer, and its abort (the run was cancelled meanwhile).
class _Marker:
    """How an answer's reading ended, put after its last part."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


_END = _Marker("end")
_ABORTED = _Marker("aborted")
# What the turn takes from its reader: parts, a piece of text, how the reading ended.
_Told: TypeAlias = Part | str | _Marker
_EXACT = frozenset({str, TextDelta, ToolCallDelta, Usage})
_NO_USAGE: JSON = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}

# A change to a run, made on the record as last read: a new record, or None when the
# change no longer applies (it may raise ``Invalid`` to refuse it).
Change: TypeAlias = Callable[[RunRecord], "RunRecord | None"]


def _changed(run: RunRecord, state: JSON | None = None, **fields: object) -> RunRecord:
    """A copy of ``run`` with these fields of its object (and this state): never in place."""
    return RunRecord({**run.obj, **fields}, run.state if state is None else state, run.version)


class RunEngine:
    """Runs' lives, over ``store``. ``responder`` decides each turn; ``clock`` and ``ids``
    make times and ids; ``run_ttl`` is when an unfinished run expires."""

    def __init__(
        self,
        store: Store,
        *,
        responder: Responder,
        clock: Callable[[], int],
        ids: Callable[[str], str],
        run_ttl: int = 600,
        timer_interval: float = 0.05,
    ) -> None:
        self.store = store
        self.responder = responder
        self.clock = clock
        self.ids = ids
        self.run_ttl = run_ttl
        self.timer_interval = timer_interval
        self._locks = KeyedLocks()  # by run id
        # run id -> (its thread id, the task moving it with progress="timer").
        self._timers: dict[str, tuple[str, asyncio.Task[None]]] = {}
        # run id -> the task reading its streamed answer: a cancel ends it at once.
        self._readers: dict[str, asyncio.Task[None]] = {}
        # run id -> its wait for one of the responder's slots: a cancel ends it too.
        self._waiting: dict[str, asyncio.Task[bool]] = {}

    # --- records ----------------------------------------------------------------------

    def message(
        self,
        thread_id: str,
        body: JSON,
        *,
        run: JSON | None = None,
        status: str = "completed",
    ) -> JSON:
        """A new message of ``thread_id`` from a createMessage body (not yet stored)."""
        content = body["content"]
        parts: list[JSON]
        if isinstance(content, str):
            parts = [_text_part(content)]
        else:
            parts = [_text_part(p["text"]) if p["type"] == "text" else dict(p) for p in content]
        now = self.clock()
        return {
            "id": self.ids("msg"),
            "object": "thread.message",
            "created_at": now,
            "thread_id": thread_id,
            "status": status,
            "incomplete_details": None,
            "completed_at": now if status == "completed" else None,
            "incomplete_at": now if status == "incomplete" else None,
            "role": body["role"],
            "content": parts,
            "assistant_id": run["assistant_id"] if run else None,
            "run_id": run["id"] if run else None,
            "attachments": body.get("attachments") or [],
            "metadata": body.get("metadata") or {},
        }

    async def active_run(self, tenant: str, thread_id: str) -> str | None:
        """The id of the thread's active run, if it has one.

        A thread gets a run only while it has no active one, and no run becomes active
        again, so an active run is the thread's newest."""
        newest = await self.store.runs(tenant, thread_id, PageQuery(limit=1, order="desc"))
        if newest.items and newest.items[0]["status"] in ACTIVE:
            return str(newest.items[0]["id"])
        return None

    async def new_run(self, tenant: str, thread_id: str, assistant: JSON, body: JSON) -> RunRecord:
        """A queued run of ``assistant`` on ``thread_id``, from a createRun body; its
        ``additional_messages`` are added with it."""
        # Checked first so that a refused run takes no id; the store holds the rule.
        active = await self.active_run(tenant, thread_id)
        if active is not None:
            raise Invalid(f"Thread {thread_id} already has an active run {active}.")
        run, messages = self._made_run(thread_id, assistant, body)
        self._check_run(run, [*await self._messages(tenant, thread_id), *messages])
        return await self.store.add_run(tenant, run, messages)

    async def new_thread_and_run(
        self, tenant: str, thread: JSON, thread_messages: list[JSON], assistant: JSON, body: JSON
    ) -> RunRecord:
        """``thread`` (not yet stored) with its messages, and a queued run of
        ``assistant`` on it, from a createThreadAndRun body. The thread is written only
        once the run is accepted: a refused request leaves nothing behind."""
        run, messages = self._made_run(thread["id"], assistant, body)
        self._check_run(run, [*thread_messages, *messages])
        await self.store.add_thread(tenant, thread, thread_messages)
        return await self.store.add_run(tenant, run, messages)

    def _check_run(self, run: RunRecord, messages: list[JSON]) -> None:
        check = getattr(self.responder, "check_run", None)
        if check is not None:  # what the responder cannot serve is refused now, not later
            check(run.obj, messages)

    def _made_run(
        self, thread_id: str, assistant: JSON, body: JSON
    ) -> tuple[RunRecord, list[JSON]]:
        """The run a create body describes, and the messages it adds (nothing stored)."""
        now = self.clock()
        # The run's own, else the assistant's (which the run object has no field for).
        effort = body.get("reasoning_effort")
        if effort is None:
            effort = assistant.get("reasoning_effort")
        instructions = body.get("instructions") or assistant["instructions"]
        if body.get("additional_instructions"):
            instructions = "\n".join(filter(None, [instructions, body["additional_instructions"]]))
        obj: JSON = {
            "id": self.ids("run"),
            "object": "thread.run",
            "created_at": now,
            "thread_id": thread_id,
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
        state: JSON = {
            "assistant": assistant,
            "open_calls": {},  # call id -> [name, arguments]
            "outputs": [],  # SubmittedOutput fields, in order
            "tool_step": None,
            "answered_step": None,  # {id, usage} of the tool step the last submit answered
            # A step's usage while it is in progress (the spec: null until it ends).
            "step_usage": {},
            # Given at creation, not shown on the run: the model's call takes it.
            "options": {"reasoning_effort": effort} if effort is not None else {},
        }
        messages = [self.message(thread_id, m) for m in body.get("additional_messages") or []]
        return RunRecord(obj, state), messages

    async def _update(self, tenant: str, run: RunRecord, change: Change) -> RunRecord:
        """``change`` written, made again on the newer run whenever another writer won;
        ``run`` as it stands when the change no longer applies."""
        while True:
            changed = change(run)
            if changed is None:
                return run
            try:
                return await self.store.put_run(tenant, changed)
            except Conflict:
                run = await self.store.run(tenant, run.thread_id, run.id)

    async def update(self, tenant: str, run: RunRecord, change: Change) -> RunRecord:
        """Write ``change`` to ``run`` (a metadata update, say), whoever writes meanwhile."""
        return await self._update(tenant, run, change)

    async def load(self, tenant: str, thread_id: str, run_id: str) -> RunRecord:
        """The run as it stands, expired first if its time is up."""
        return await self.expire(tenant, await self.store.run(tenant, thread_id, run_id))

    async def _fresh(self, tenant: str, run: RunRecord) -> RunRecord:
        """``run`` as it stands: the one in hand unless another writer moved its version."""
        newer = await self.store.run_if_changed(tenant, run.thread_id, run.id, run.version)
        return run if newer is None else newer

    # --- what the caller does ---------------------------------------------------------

    async def submit_outputs(
        self, tenant: str, run: RunRecord, tool_outputs: list[JSON]
    ) -> tuple[RunRecord, list[tuple[str, JSON]]]:
        """Take the outputs of the run's open calls; the run is queued for its next turn.
        Returns the run and the events this says (the tool step completed, the run
        queued). The write is conditional: of two submits, one wins, the other is told
        the run no longer awaits outputs."""

        def take(current: RunRecord) -> RunRecord:
            status = current.obj["status"]
            if status != "requires_action":
                raise Invalid(f'Runs in status "{status}" do not accept tool outputs.')
            given = [o["tool_call_id"] for o in tool_outputs if "tool_call_id" in o]
            if len(given) != len(tool_outputs):
                raise Invalid("Each tool output needs a tool_call_id.", param="tool_outputs")
            open_calls = current.state["open_calls"]
            expected = set(open_calls)
            if len(set(given)) != len(given) or set(given) != expected:
                raise Invalid(
                    f"Expected tool outputs for call_ids {sorted(expected)}, got {given}.",
                    param="tool_outputs",
                )
            outputs = {o["tool_call_id"]: o.get("output", "") for o in tool_outputs}
            earlier = current.state["outputs"]
            turn = 1 + max((o.get("turn", 0) for o in earlier), default=0)
            said = current.state.get("said")
            # A list of the turn's messages; a run that waited since before: the first.
            said_ids = [said] if isinstance(said, str) else list(said or [])
            submitted = [
                {
                    "call_id": call_id,
                    "name": name,
                    "arguments": arguments,
                    "output": outputs[call_id],
                    "turn": turn,
                    "message_id": said_ids[0] if said_ids else None,
                    "message_ids": said_ids,
                }
                for call_id, (name, arguments) in open_calls.items()
            ]
            step_usage = dict(current.state["step_usage"])
            step_id = current.state["tool_step"]
            # Written with the run, so that a crash before the step's own write leaves
            # recover() what it needs to complete the step.
            answered = {"id": step_id, "usage": step_usage.pop(step_id, None)}
            state = {
                **current.state,
                "outputs": [*earlier, *submitted],
                "open_calls": {},
                "tool_step": None,
                "answered_step": answered if step_id else None,
                "said": None,
                "step_usage": step_usage,
                "earlier": written,
            }
            return _changed(current, state, status="queued", required_action=None)

        # What the run's turns wrote so far: a turn cut halfway later undoes all but these.
        written = {
            "steps": [s["id"] for s in await self._steps(tenant, run)],
            "messages": [m["id"] for m in await self._messages(tenant, run.thread_id, run.id)],
        }

        run = await self._update(tenant, run, take)
        prelude: list[tuple[str, JSON]] = []
        step = await self._complete_answered_step(tenant, run)
        if step is not None:
            prelude.append(("thread.run.step.completed", step))
        prelude.append(("thread.run.queued", run.obj))
        return run, prelude

    async def _complete_answered_step(self, tenant: str, run: RunRecord) -> JSON | None:
        """Complete the tool step whose calls the last submit answered, unless done."""
        answered = run.state.get("answered_step")
        if not answered:
            return None
        step = await self.store.step(tenant, run.thread_id, run.id, answered["id"])
        if step["status"] != "in_progress":
            return None
        outputs = {o["call_id"]: o["output"] for o in run.state["outputs"]}
        for call in step["step_details"]["tool_calls"]:
            if call["id"] in outputs:
                call["function"]["output"] = outputs[call["id"]]
        step = self._end_step(step, "completed", answered["usage"])
        await self.store.put_step(tenant, step)
        return step

    async def cancel(self, tenant: str, run: RunRecord) -> RunRecord:
        """Ask the run to stop: it is ``cancelling`` until its next step ends it."""

        def ask(current: RunRecord) -> RunRecord:
            status = current.obj["status"]
            if status not in ("queued", "in_progress", "requires_action"):
                raise Invalid(f"Cannot cancel run with status '{status}'.")
            return _changed(current, status="cancelling")

        run = await self._update(tenant, run, ask)
        self.abort(run.id)
        return run

    def abort(self, run_id: str) -> None:
        """Stop the turn of a cancelled run moving here: its upstream request ends now,
        not at its next chunk, and it waits for a slot no longer."""
        reader = self._readers.get(run_id)
        if reader is not None:
            reader.cancel()
        waiting = self._waiting.get(run_id)
        if waiting is not None:
            waiting.cancel()

    def _due(self, run: RunRecord) -> bool:
        obj = run.obj
        return (
            obj["status"] in EXPIRING
            and obj["expires_at"] is not None
            and self.clock() >= obj["expires_at"]
        )

    async def expire(self, tenant: str, run: RunRecord) -> RunRecord:
        """The run, expired (and its open step with it) if its time is up."""
        if not self._due(run):
            return run
        return await self._stop(tenant, run, "expired", self._due)

    async def _stop(
        self, tenant: str, run: RunRecord, status: str, applies: Callable[[RunRecord], bool]
    ) -> RunRecord:
        """End the run ``status`` (expired or cancelled), and its open tool step."""
        before: list[RunRecord] = []

        def end(current: RunRecord) -> RunRecord | None:
            if not applies(current):
                return None
            before[:] = [current]
            state = {**current.state, "open_calls": {}, "step_usage": {}}
            if status == "expired":
                return _changed(current, state, status="expired", required_action=None)
            return _changed(
                current,
                state,
                status="cancelled",
                cancelled_at=self.clock(),
                expires_at=None,
                required_action=None,
            )

        run = await self._update(tenant, run, end)
        if before:
            await self._end_open_step(tenant, before[0], status)
        return run

    async def _end_open_step(self, tenant: str, run: RunRecord, status: str) -> None:
        step_id = run.state["tool_step"]
        if not step_id:
            return
        step = await self.store.step(tenant, run.thread_id, run.id, step_id)
        if step["status"] == "in_progress":
            usage = run.state["step_usage"].get(step_id)
            await self.store.put_step(tenant, self._end_step(step, status, usage))

    async def fail(self, tenant: str, run: RunRecord, code: str, message: str) -> RunRecord:
        """Fail the run (if it still moves) with ``last_error``: its steps in progress fail
        with it, and its unfinished messages end incomplete."""
        now = self.clock()
        error = {"code": code, "message": message}

        def stop(current: RunRecord) -> RunRecord | None:
            if current.obj["status"] not in MOVING:
                return None
            state = {**current.state, "open_calls": {}, "step_usage": {}}
            return _changed(
                current,
                state,
                status="failed",
                failed_at=now,
                expires_at=None,
                required_action=None,
                last_error=error,
            )

        run = await self._update(tenant, run, stop)
        if run.obj["status"] != "failed" or run.obj["last_error"] != error:
            return run
        for step in await self._steps(tenant, run):
            if step["status"] == "in_progress":
                ended = {**step, "status": "failed", "failed_at": now, "last_error": error}
                await self.store.put_step(tenant, ended)
        for said in await self._messages(tenant, run.thread_id, run.id):
            if said["status"] == "in_progress":
                await self.store.put_message(
                    tenant,
                    {
                        **said,
                        "status": "incomplete",
                        "incomplete_at": now,
                        "incomplete_details": {"reason": "run_failed"},
                    },
                )
        return run

    async def recover(self, tenant: str, run: RunRecord) -> str:
        """Take up a run that was active when the server stopped; says what became of it:
        ``"expired"`` (its time was up), ``"waiting"`` (it waits on the caller, as
        before), ``"resumed"`` (moving again on a timer) or ``"retaken"`` (its turn was
        cut halfway: undone, and moving again to take it anew).

        A queued run resumes: nothing of its next step was written. An in_progress
        run's turn is taken again as if it had not begun: what it wrote is deleted first
        (``_undo_turn``), so the responder is asked what it was asked. A turn cut in a
        run that is cancelling, or whose time is up, ends as a cancel or an expiry ends
        one in a live server (``_close_turn``: its message incomplete, its steps ended)."""
        await self._complete_answered_step(tenant, run)  # its outputs were taken
        run = await self.expire(tenant, run)
        status = run.obj["status"]
        if status in ("expired", "cancelling"):
            await self._close_turn(tenant, run, "expired" if status == "expired" else "cancelled")
        if status == "expired":
            return "expired"
        if status not in MOVING:
            return "waiting"
        undone = status == "in_progress" and await self._undo_turn(tenant, run)
        if run.obj["status"] in MOVING:
            self.start_timer(tenant, run)
            return "retaken" if undone else "resumed"
        return "waiting"  # pragma: no cover - changed by another writer meanwhile

    async def _undo_turn(self, tenant: str, run: RunRecord) -> bool:
        """Delete what the run's current turn wrote (its messages and steps, ended or
        not): everything of the run but what its earlier turns wrote, as the last submit
        recorded it. True if there was anything.

        The run's usage needs no undoing: a turn adds its usage in the write that ends
        it. Each delete stands alone and what is gone is done, so an undo cut by a crash
        is finished by the next recover."""
        messages = await self._messages(tenant, run.thread_id, run.id)
        steps = await self._steps(tenant, run)
        kept = _of_earlier_turns(run.state, messages, steps)
        cut_messages = [m["id"] for m in messages if m["id"] not in kept]
        cut_steps = [s["id"] for s in steps if s["id"] not in kept]
        for message_id in cut_messages:  # what the thread shows first
            with contextlib.suppress(NotFound):
                await self.store.delete_message(tenant, run.thread_id, message_id)
        for step_id in cut_steps:
            with contextlib.suppress(NotFound):
                await self.store.delete_step(tenant, run.thread_id, run.id, step_id)
        if cut_messages or cut_steps:
            log.info(
                "run %s: its turn cut halfway is taken again (%d messages, %d steps undone)",
                run.id,
                len(cut_messages),
                len(cut_steps),
            )
        return bool(cut_messages or cut_steps)

    async def _steps(self, tenant: str, run: RunRecord) -> list[JSON]:
        """Every step of the run, oldest first."""
        found: list[JSON] = []
        after = None
        while True:
            page = await self.store.steps(
                tenant, run.thread_id, run.id, PageQuery(limit=100, order="asc", after=after)
            )
            found += page.items
            if not page.has_more or not page.items:
                return found
            after = page.items[-1]["id"]

    # --- moving runs ------------------------------------------------------------------

    def start_timer(self, tenant: str, run: RunRecord) -> None:
        """Move the run one step every ``timer_interval`` seconds (unless already)."""
        if run.id not in self._timers:
            task = asyncio.get_running_loop().create_task(self._tick(tenant, run))
            self._timers[run.id] = (run.thread_id, task)

    async def drain(self, timeout: float) -> None:
        """Let the runs moving on timers come to rest, for at most ``timeout`` seconds;
        then stop the timers left (at a restart, ``recover`` takes those runs up)."""
        tasks = [task for _, task in self._timers.values()]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
        self.stop_timers()

    def stop_timers(self, thread_id: str | None = None) -> None:
        """Stop the timers of every run (or of one thread's runs)."""
        for run_id, (of_thread, task) in list(self._timers.items()):
            if thread_id is None or of_thread == thread_id:
                task.cancel()
                del self._timers[run_id]

    async def _tick(self, tenant: str, run: RunRecord, emit: Emit | None = None) -> None:
        task = asyncio.current_task()
        try:
            while run.obj["status"] in MOVING:
                await asyncio.sleep(self.timer_interval)
                run = await self.advance(tenant, run, emit)
        except NotFound:
            pass  # its thread was deleted: nothing left to move
        except Exception:
            # Nobody awaits this task: fail the run visibly rather than leave it moving
            # (what failed is logged: it is the server's, not the run's).
            log.exception("the server's run %s stopped", run.id)
            with contextlib.suppress(Exception):
                await self.fail(tenant, run, "server_error", SERVER_ERROR)
        finally:
            found = self._timers.get(run.id)
            if found is not None and found[1] is task:
                del self._timers[run.id]

    def moves_here(self, run_id: str) -> bool:
        """Whether this process moves the run (one process moves them all)."""
        return True

    async def settle(
        self, tenant: str, run: RunRecord, emit: Emit | None = None, *, written: bool = False
    ) -> RunRecord:
        """Move the run until it rests (waits on the caller, or is over). ``written``:
        the caller has just written ``run`` (created it, say)."""
        while run.obj["status"] in MOVING:
            run = await self._advance(tenant, run, emit, written)
            written = False
        return run

    async def advance(self, tenant: str, run: RunRecord, emit: Emit | None = None) -> RunRecord:
        """One step of the run's life; ``emit`` hears each event of it (when streaming)."""
        return await self._advance(tenant, run, emit, False)

    async def _advance(
        self, tenant: str, run: RunRecord, emit: Emit | None, written: bool
    ) -> RunRecord:
        # One step of a run at a time.
        lock = self._locks.enter(run.id)
        try:
            async with lock:
                return await self._step(tenant, run, emit or _silent, written)
        finally:
            self._locks.leave(run.id)

    async def _step(
        self, tenant: str, run: RunRecord, emit: Emit, written: bool = False
    ) -> RunRecord:
        # As it stands now: another step or request may have moved it meanwhile. A
        # queued run its caller has just written is not read again: its start is a
        # write on that version, which a change meanwhile makes fail (and read it).
        if written and run.obj["status"] == "queued":
            fresh = run
        else:
            fresh = await self._fresh(tenant, run)
        run = await self.expire(tenant, fresh)
        status = run.obj["status"]
        if status == "expired" and fresh.obj["status"] != "expired":
            await emit("thread.run.expired", run.obj)  # a stream hears it end, as it did
            return run
        slots: asyncio.Semaphore | None = getattr(self.responder, "slots", None)
        if slots is not None and status in ("queued", "in_progress"):
            # A run waits queued for a slot, then starts and takes its turn in it.
            if not await self._slot(run.id, slots):
                return await self._fresh(tenant, run)  # cancelled while it waited
            try:
                run = await self._start(run, tenant, emit) if status == "queued" else run
                if run.obj["status"] == "in_progress":
                    run = await self.turn(tenant, run, emit)
            finally:
                slots.release()
            return run
        if status == "queued":
            run = await self._start(run, tenant, emit)
        elif status == "in_progress":
            run = await self.turn(tenant, run, emit)
        elif status == "cancelling":
            run = await self._stop(
                tenant, run, "cancelled", lambda current: current.obj["status"] == "cancelling"
            )
            if run.obj["status"] == "cancelled":
                await emit("thread.run.cancelled", run.obj)
        return run

    async def _slot(self, run_id: str, slots: asyncio.Semaphore) -> bool:
        """Wait for one of ``slots``: True once taken, False if a cancel ended the wait."""
        if not slots.locked():
            return await slots.acquire()  # free: taken at once, nothing to wait on
        taking = asyncio.get_running_loop().create_task(slots.acquire())
        self._waiting[run_id] = taking
        try:
            await asyncio.wait({taking})
        except asyncio.CancelledError:  # this task was: the slot, if taken, goes back
            taking.cancel()
            taking.add_done_callback(lambda done: _release_if_taken(done, slots))
            raise
        finally:
            self._waiting.pop(run_id, None)
        return not taking.cancelled()

    async def _start(self, run: RunRecord, tenant: str, emit: Emit) -> RunRecord:
        """A queued run in progress (if it still is queued)."""
        if run.obj["status"] == "queued":
            now = self.clock()
            before = run.version

            def start(current: RunRecord) -> RunRecord | None:
                if current.obj["status"] != "queued":
                    return None
                return _changed(
                    current,
                    status="in_progress",
                    started_at=current.obj["started_at"] or now,
                )

            run = await self._update(tenant, run, start)
            if run.version != before and run.obj["status"] == "in_progress":
                await emit("thread.run.in_progress", run.obj)
        return run

    async def _messages(
        self, tenant: str, thread_id: str, run_id: str | None = None, limit: int | None = None
    ) -> list[JSON]:
        """Every message of the thread (or those the run wrote), oldest first; at most
        ``limit`` of them."""
        found: list[JSON] = []
        after = None
        while True:
            query = PageQuery(limit=min(limit or 100, 100), order="asc", after=after)
            page = await self.store.messages(tenant, thread_id, query, run_id=run_id)
            found += page.items
            if not page.has_more or not page.items or (limit and len(found) >= limit):
                return found[:limit]
            after = page.items[-1]["id"]

    async def turn(self, tenant: str, run: RunRecord, emit: Emit) -> RunRecord:
        messages = await self._messages(tenant, run.thread_id)
        context = RunContext(
            assistant=Assistant.from_dict(run.state["assistant"]),
            run=Run.from_dict(run.obj),
            messages=[Message.from_dict(m) for m in messages],
            tool_outputs=[SubmittedOutput(**o) for o in run.state["outputs"]],
            options=run.state.get("options") or {},
        )
        prompt = sum(_words(part) for m in messages for part in m["content"])
        try:
            answer: Reply | Streamed = await self.responder(context)
        except Exception as exc:  # the responder is user code: report it on the run
            answer = Fail("server_error", f"The responder raised {type(exc).__name__}: {exc}")
        if not isinstance(answer, Text | CallTools | Fail | Incomplete):
            return await self._streamed(tenant, run, answer, prompt, emit)
        reply = _as_tool_choice_binds(answer, context)
        run = await self._fresh(tenant, run)
        if run.obj["status"] != "in_progress":
            return run  # cancelled (or expired) while the responder thought
        now = self.clock()
        if isinstance(reply, Text):
            usage = _usage(prompt, len(reply.text.split()))
            await self.say(tenant, run, reply.text, emit, usage=usage)
            run = await self._end_turn(tenant, run, "completed", emit, usage, completed_at=now)
        elif isinstance(reply, CallTools):
            run = await self._call_tools(tenant, run, reply, prompt, emit)
        elif isinstance(reply, Fail):
            error = {"code": reply.code, "message": reply.message}
            run = await self._end_turn(tenant, run, "failed", emit, failed_at=now, last_error=error)
        elif isinstance(reply, Incomplete):
            if reply.partial_text:
                await self.say(tenant, run, reply.partial_text, emit, incomplete=True)
            details = {"reason": reply.reason}
            run = await self._end_turn(tenant, run, "incomplete", emit, incomplete_details=details)
        return run

    async def _end_turn(
        self,
        tenant: str,
        run: RunRecord,
        status: str,
        emit: Emit,
        usage: JSON | None = None,
        **fields: object,
    ) -> RunRecord:
        """End the run ``status`` with ``fields`` (and ``usage`` added to its total),
        unless it stopped being in progress meanwhile; tell it if it ended so."""

        def end(current: RunRecord) -> RunRecord | None:
            if current.obj["status"] != "in_progress":
                return None
            changes: dict[str, Any] = {**fields, "status": status, "expires_at": None}
            if usage is not None:
                changes["usage"] = _added(current.obj["usage"], usage)
            return _changed(current, **changes)

        run = await self._update(tenant, run, end)
        if run.obj["status"] == status:
            await emit(f"thread.run.{status}", run.obj)
        return run

    async def _call_tools(
        self, tenant: str, run: RunRecord, reply: CallTools, prompt: int, emit: Emit
    ) -> RunRecord:
        calls: list[JSON] = []
        for call in reply.calls:
            call_id = self.ids("call")
            function = {"name": _mended(call.name), "arguments": _mended(call.arguments_json)}
            calls.append({"id": call_id, "type": "function", "function": function})
        usage = _usage(prompt, sum(len(c["function"]["arguments"].split()) for c in calls))
        step_calls: list[JSON] = [
            {**c, "function": {**c["function"], "output": None}} for c in calls
        ]
        details = {"type": "tool_calls", "tool_calls": step_calls}
        step = self._new_step(run.obj, "tool_calls", details)
        await self.store.put_step(tenant, step)
        # As the service did: the step starts empty and the deltas bring the calls.
        empty = {**step, "step_details": {"type": "tool_calls", "tool_calls": []}}
        await emit("thread.run.step.created", empty)
        await emit("thread.run.step.in_progress", empty)
        for delta in _tool_call_deltas(step_calls):
            await emit("thread.run.step.delta", _step_delta(step["id"], delta))
        return await self._await_outputs(tenant, run, step, calls, usage, emit, None)

    async def _await_outputs(
        self,
        tenant: str,
        run: RunRecord,
        step: JSON,
        calls: list[JSON],
        usage: JSON,
        emit: Emit,
        said: list[str] | None,
    ) -> RunRecord:
        """The run waits on the outputs of ``calls`` (in ``step``, already stored)."""
        open_calls = {c["id"]: [c["function"]["name"], c["function"]["arguments"]] for c in calls}
        submit = {"tool_calls": calls}

        def wait(current: RunRecord) -> RunRecord | None:
            if current.obj["status"] != "in_progress":
                return None
            state = {
                **current.state,
                "open_calls": open_calls,
                "tool_step": step["id"],
                "step_usage": {**current.state["step_usage"], step["id"]: usage},
                "said": said,
            }
            return _changed(
                current,
                state,
                status="requires_action",
                required_action={"type": "submit_tool_outputs", "submit_tool_outputs": submit},
                usage=_added(current.obj["usage"], usage),
            )

        run = await self._update(tenant, run, wait)
        if run.obj["status"] == "requires_action" and run.state["tool_step"] == step["id"]:
            await emit("thread.run.requires_action", run.obj)
        else:  # cancelled or expired while the calls were said: so is their step
            ended = "expired" if run.obj["status"] == "expired" else "cancelled"
            await self.store.put_step(tenant, self._end_step(step, ended, None))
        return run

    async def _streamed(
        self, tenant: str, run: RunRecord, parts: Streamed, prompt: int, emit: Emit
    ) -> RunRecord:
        """A turn whose answer comes in parts: each told as it comes, the message and
        steps written when they begin and when they end (the deltas are not stored)."""
        inbox = _Inbox()
        reader = asyncio.get_running_loop().create_task(_read(parts, inbox))
        self._readers[run.id] = reader
        turn = _Turn()
        # The parts already come when the turn wakes (one read of the answer, or what came
        # while it wrote) are told together: their events go out in one write.
        batch: Callable[[], contextlib.AbstractAsyncContextManager[None]] | None = getattr(
            emit, "batch", None
        )
        part: _Told | None = None
        try:
            while part is None:
                taken = await inbox.take()
                if batch is None or len(taken) == 1:
                    part = await self._relay_all(tenant, run, turn, taken, emit)
                else:
                    async with batch():
                        part = await self._relay_all(tenant, run, turn, taken, emit)
        finally:
            del self._readers[run.id]
            if not reader.done():
                reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        run = await self._fresh(tenant, run)
        stopped = run.obj["status"] != "in_progress" or part == _ABORTED
        await self._unheld(tenant, run, turn, emit, told=not stopped)
        message = turn.message
        if (
            (stopped or isinstance(part, Fail))
            and message is not None
            and message["status"] == "in_progress"
            and turn.pieces
        ):
            # What was said is kept, whatever ends the turn (the deltas were not stored);
            # the other ends write it as they end the message, in their first write.
            await self.store.put_message(tenant, {**message, "content": [_text_part(turn.text)]})
        if stopped:
            ended = "expired" if run.obj["status"] == "expired" else "cancelled"
            await self._close_turn(tenant, run, ended)
            return run  # cancelled (or expired) while the answer came
        usage = turn.usage or _usage(prompt, len(turn.text.split()) + turn.argument_words)
        if isinstance(part, Fail):
            run = await self.fail(tenant, run, part.code, part.message)
            if run.obj["status"] == "failed":
                await emit("thread.run.failed", run.obj)
            return run
        if isinstance(part, Incomplete):
            # The turn's usage goes on its last step.
            last = None if turn.step is not None else usage
            await self._end_message(tenant, run, turn, emit, "incomplete", last)
            if turn.step is not None:
                step = {
                    **turn.step,
                    "step_details": {
                        "type": "tool_calls",
                        "tool_calls": [
                            {**c, "function": {**c["function"], "output": None}} for c in turn.calls
                        ],
                    },
                }
                await self.store.put_step(tenant, self._end_step(step, "completed", usage))
            details = {"reason": part.reason}
            return await self._end_turn(
                tenant, run, "incomplete", emit, usage, incomplete_details=details
            )
        # The events of the turn's end go out in one write, once all of it is written.
        async with _together(emit):
            if turn.calls:
                said = turn.message_ids
                await self._end_message(tenant, run, turn, emit, "completed", None)
                assert turn.step is not None
                calls = [
                    {"id": c["id"], "type": "function", "function": dict(c["function"])}
                    for c in turn.calls
                ]
                step_calls = [{**c, "function": {**c["function"], "output": None}} for c in calls]
                made = {"type": "tool_calls", "tool_calls": step_calls}
                step = {**turn.step, "step_details": made}
                await self.store.put_step(tenant, step)
                return await self._await_outputs(tenant, run, step, calls, usage, emit, said)
            if turn.message is None:  # nothing said at all: an empty message, as the service
                await self._said(tenant, run, turn, "", emit)
            await self._end_message(tenant, run, turn, emit, "completed", usage)
            return await self._end_turn(
                tenant, run, "completed", emit, usage, completed_at=self.clock()
            )

    async def _relay_all(
        self, tenant: str, run: RunRecord, turn: _Turn, parts: list[_Told], emit: Emit
    ) -> _Told | None:
        """Tell the parts of a streamed answer, in order; the one that ends it (as it
        came, or a Fail, an Incomplete, an abort), if any. (A ``str`` is a TextDelta's
        text: what the chat responder gives, saving an object a piece.)"""
        # Most parts are text for the open message: told here, without a call a piece,
        # and to a streaming client as bytes from a template, without an object.
        hold: Callable[[bytes, str], bool] | None = getattr(emit, "hold", None)
        head = b""
        for part in parts:
            kind = type(part)
            if kind not in _EXACT:  # a user's subclass of a part is that part
                kind = next(
                    (k for k in (TextDelta, ToolCallDelta, Usage) if isinstance(part, k)), kind
                )
            if kind is str or kind is TextDelta:
                text: str = part if kind is str else part.text  # type: ignore[assignment,union-attr]
                if turn.held or not text.isascii():
                    was, text = text, turn.mend(text)
                    if was and not text:
                        continue  # a surrogate held for the next piece
                message = turn.message
                if not text or message is None or message["status"] != "in_progress":
                    await self._said(tenant, run, turn, text, emit)
                    head = b""
                    continue
                if hold is not None:
                    head = head or text_delta_head(message["id"])
                    if hold(head, text):
                        turn.pieces.append(text)
                        continue
                await self._delta(turn, text, emit)
            elif kind is ToolCallDelta:
                await self._called(tenant, run, turn, part, emit)  # type: ignore[arg-type]
            elif kind is Usage:
                usage: Usage = part  # type: ignore[assignment]
                turn.usage = {
                    "prompt_tokens": usage.prompt_tokens,
                    "completion_tokens": usage.completion_tokens,
                    "total_tokens": usage.prompt_tokens + usage.completion_tokens,
                }
            else:
                return part
        return None

    async def _unheld(
        self, tenant: str, run: RunRecord, turn: _Turn, emit: Emit, *, told: bool
    ) -> None:
        """Each high surrogate held whose partner never came (the turn's text, or a
        call's arguments): U+FFFD in its place, ``told`` as a delta or only kept."""
        for key in list(turn.held):
            del turn.held[key]
            if key is None:
                if told:
                    await self._said(tenant, run, turn, "\ufffd", emit)
                elif turn.message is not None and turn.message["status"] == "in_progress":
                    turn.pieces.append("\ufffd")
            elif told:
                await self._called(tenant, run, turn, ToolCallDelta(key, "", "\ufffd"), emit)
            else:
                turn.by_index[key]["function"]["arguments"] += "\ufffd"

    async def _said(self, tenant: str, run: RunRecord, turn: _Turn, text: str, emit: Emit) -> None:
        """A piece of the message: the message (and its step) made at the first. (Text
        after a tool call, rare, makes a message of its own: the first one has ended.)"""
        if turn.message is None or turn.message["status"] != "in_progress":
            message = self.message(
                run.thread_id,
                {"role": "assistant", "content": []},
                run=run.obj,
                status="in_progress",
            )
            await self.store.add_message(tenant, message)
            details = {
                "type": "message_creation",
                "message_creation": {"message_id": message["id"]},
            }
            step = self._new_step(run.obj, "message_creation", details)
            await self.store.put_step(tenant, step)
            turn.message, turn.message_step, turn.pieces = message, step, []
            turn.message_ids.append(message["id"])
            async with _together(emit):  # with the first piece, in one write
                await emit("thread.run.step.created", step)
                await emit("thread.run.step.in_progress", step)
                await emit("thread.message.created", message)
                await emit("thread.message.in_progress", message)
                if text:
                    await self._delta(turn, text, emit)
            return
        if text:
            await self._delta(turn, text, emit)

    async def _delta(self, turn: _Turn, text: str, emit: Emit) -> None:
        assert turn.message is not None
        turn.pieces.append(text)
        await emit("thread.message.delta", TextDeltaEvent(turn.message["id"], text))

    async def _end_message(
        self,
        tenant: str,
        run: RunRecord,
        turn: _Turn,
        emit: Emit,
        status: str,
        usage: JSON | None,
    ) -> None:
        """The turn's message ends ``status`` (completed or incomplete), and its step with
        ``usage`` (none given: the turn's usage goes on a later step)."""
        message, step = turn.message, turn.message_step
        if message is None or message["status"] != "in_progress" or step is None:
            return
        now = self.clock()
        message = {**message, "content": [_text_part(turn.text)], "status": status}
        if status == "incomplete":
            message.update(incomplete_at=now, incomplete_details={"reason": "max_tokens"})
        else:
            message.update(completed_at=now)
        turn.message = message
        await self.store.put_message(tenant, message)
        await emit(f"thread.message.{status}", message)
        ended = self._end_step(step, "completed", usage or _NO_USAGE)
        turn.message_step = ended
        await self.store.put_step(tenant, ended)
        await emit("thread.run.step.completed", ended)

    async def _called(
        self, tenant: str, run: RunRecord, turn: _Turn, part: ToolCallDelta, emit: Emit
    ) -> None:
        """A piece of a tool call: the message said so far ends, the step begins."""
        name, arguments = part.name, part.arguments
        if turn.held or not (name.isascii() and arguments.isascii()):
            if None in turn.held and turn.step is None:  # the message's last character
                text = turn.held.pop(None)
                await self._said(tenant, run, turn, _mended(text), emit)
            name, arguments = _mended(name), turn.mend(arguments, part.index)
        if turn.step is None:
            await self._end_message(tenant, run, turn, emit, "completed", None)
            details = {"type": "tool_calls", "tool_calls": []}
            turn.step = step = self._new_step(run.obj, "tool_calls", details)
            await self.store.put_step(tenant, step)
            await emit("thread.run.step.created", step)
            await emit("thread.run.step.in_progress", step)
        step_id = turn.step["id"]
        call = turn.by_index.get(part.index)
        if call is None:  # our own id: the upstream's may be missing, or repeat
            call = {
                "id": self.ids("call"),
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            }
            turn.by_index[part.index] = call
            turn.calls.append(call)
            delta = {
                "index": len(turn.calls) - 1,
                "id": call["id"],
                "type": "function",
                "function": {"name": name, "arguments": arguments, "output": None},
            }
            await emit("thread.run.step.delta", _step_delta(step_id, delta))
            return
        function = call["function"]
        function["name"] += name
        function["arguments"] += arguments
        if arguments:
            delta = {
                "index": turn.calls.index(call),
                "type": "function",
                "function": {"arguments": arguments},
            }
            await emit("thread.run.step.delta", _step_delta(step_id, delta))

    async def _close_turn(self, tenant: str, run: RunRecord, status: str) -> None:
        """What a stopped turn left open: its message incomplete, its steps ``status``."""
        now = self.clock()
        for step in await self._steps(tenant, run):
            if step["status"] == "in_progress" and step["id"] != run.state.get("tool_step"):
                await self.store.put_step(tenant, self._end_step(step, status, None))
        for said in await self._messages(tenant, run.thread_id, run.id):
            if said["status"] == "in_progress":
                await self.store.put_message(
                    tenant,
                    {
                        **said,
                        "status": "incomplete",
                        "incomplete_at": now,
                        "incomplete_details": {"reason": f"run_{status}"},
                    },
                )

    async def say(
        self,
        tenant: str,
        run: RunRecord,
        text: str,
        emit: Emit,
        *,
        usage: JSON | None = None,
        incomplete: bool = False,
    ) -> None:
        """The assistant's message, created empty and filled by deltas as it was streamed."""
        text = _mended(text)
        message = self.message(
            run.thread_id, {"role": "assistant", "content": []}, run=run.obj, status="in_progress"
        )
        await self.store.add_message(tenant, message)
        step = None
        if not incomplete:
            details = {
                "type": "message_creation",
                "message_creation": {"message_id": message["id"]},
            }
            step = self._new_step(run.obj, "message_creation", details)
            await self.store.put_step(tenant, step)
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
        message = {**message, "content": [_text_part(text)]}
        if incomplete:
            message.update(
                status="incomplete", incomplete_at=now, incomplete_details={"reason": "max_tokens"}
            )
            await self.store.put_message(tenant, message)
            await emit("thread.message.incomplete", message)
            return
        message.update(status="completed", completed_at=now)
        await self.store.put_message(tenant, message)
        await emit("thread.message.completed", message)
        if step is not None:
            step = self._end_step(step, "completed", usage)
            await self.store.put_step(tenant, step)
            await emit("thread.run.step.completed", step)

    def _new_step(self, run: JSON, kind: str, details: JSON) -> JSON:
        """A new step, in progress; its usage shows once it ends (the spec: null till then)."""
        now = self.clock()
        return {
            "id": self.ids("step"),
            "object": "thread.run.step",
            "created_at": now,
            "assistant_id": run["assistant_id"],
            "thread_id": run["thread_id"],
            "run_id": run["id"],
            "type": kind,
            "status": "in_progress",
            "step_details": details,
            "last_error": None,
            "expired_at": None,
            "cancelled_at": None,
            "failed_at": None,
            "completed_at": None,
            "metadata": {},
            "usage": None,
        }

    def _end_step(self, step: JSON, status: str, usage: JSON | None) -> JSON:
        """``step`` ended with ``status``: its time and, now, its usage."""
        return {**step, "status": status, "usage": usage, _ENDED_AT[status]: self.clock()}


class _Turn:
    """What a streamed turn has said so far."""

    def __init__(self) -> None:
        self.message: JSON | None = None
        self.message_ids: list[str] = []  # every message it made, in order
        self.message_step: JSON | None = None
        self.pieces: list[str] = []
        self.step: JSON | None = None
        self.calls: list[JSON] = []
        self.by_index: dict[int, JSON] = {}
        self.usage: JSON | None = None
        # A high surrogate that ended the last piece, for the next: of the text (None),
        # or of a call's arguments (its index).
        self.held: dict[int | None, str] = {}

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    def mend(self, text: str, key: int | None = None) -> str:
        """``text`` (of the text, or of call ``key``'s arguments), after what the piece
        before held, as text that can be stored: a surrogate pair split across pieces
        joined, a lone surrogate U+FFFD (see _mended); a high surrogate that ends it
        held, its partner may come next."""
        held = self.held.pop(key, "")
        if held:
            text = held + text
        if text and "\ud800" <= text[-1] <= "\udbff":
            text, self.held[key] = text[:-1], text[-1]
        return _mended(text)

    @property
    def argument_words(self) -> int:
        return sum(len(c["function"]["arguments"].split()) for c in self.calls)


class _Inbox:
    """The parts of an answer as its reader puts them, taken by the turn all at once."""

    __slots__ = ("_parts", "_waiter")

    def __init__(self) -> None:
        self._parts: list[_Told] = []
        self._waiter: asyncio.Future[None] | None = None

    def put(self, parts: list[_Told]) -> None:
        self._parts += parts
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def take(self) -> list[_Told]:
        while not self._parts:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        taken, self._parts = self._parts, []
        return taken


async def _read(parts: Streamed, inbox: _Inbox) -> None:
    """Put each part of the answer in ``inbox``, then how it ended: an ``Incomplete``
    or ``Fail`` part, ``_END``, or ``_ABORTED`` when cancelled (the run was)."""
    try:
        async for said in parts:
            # (The turn ends at a Fail or Incomplete, wherever it is in a list.)
            told: list[_Told] = list(said) if isinstance(said, list) else [said]
            inbox.put(told)
            if told and isinstance(told[-1], Fail | Incomplete):
                return
        inbox.put([_END])
    except asyncio.CancelledError:
        inbox.put([_ABORTED])
    except Exception as exc:  # the responder is user code: report it on the run
        inbox.put([Fail("server_error", f"The responder raised {type(exc).__name__}: {exc}")])
    finally:
        closing = getattr(parts, "aclose", None)
        if closing is not None:
            with contextlib.suppress(Exception):
                await closing()


def _together(emit: Emit) -> contextlib.AbstractAsyncContextManager[None]:
    """The events told within go out in one write, where ``emit`` can (see _streamed)."""
    batch: Callable[[], contextlib.AbstractAsyncContextManager[None]] | None = getattr(
        emit, "batch", None
    )
    return contextlib.nullcontext() if batch is None else batch()


def _release_if_taken(taking: asyncio.Task[bool], slots: asyncio.Semaphore) -> None:
    if not taking.cancelled() and taking.exception() is None:
        slots.release()


def _step_delta(step_id: str, delta: JSON) -> JSON:
    return {
        "id": step_id,
        "object": "thread.run.step.delta",
        "delta": {"step_details": {"type": "tool_calls", "tool_calls": [delta]}},
    }


def _of_earlier_turns(state: JSON, messages: list[JSON], steps: list[JSON]) -> set[str]:
    """The ids of what the run's earlier turns wrote: as its last submit recorded them,
    and, for a run whose submit did not (made before it did), as its outputs show them:
    the messages said before the calls, the tool steps of answered calls and the steps
    of those messages. (A rare message said after a call is known only by the record.)"""
    recorded = state.get("earlier") or {}
    kept = {*recorded.get("messages", ()), *recorded.get("steps", ())}
    answered = {o["call_id"] for o in state["outputs"]}
    said = {o["message_id"] for o in state["outputs"] if o.get("message_id")}
    kept |= {m["id"] for m in messages if m["id"] in said}
    for step in steps:
        details = step["step_details"]
        if details["type"] == "tool_calls":
            calls = {c["id"] for c in details["tool_calls"]}
            if calls and calls <= answered:
                kept.add(step["id"])
        elif details["message_creation"]["message_id"] in said:
            kept.add(step["id"])
    return kept


def _mended(text: str) -> str:
    """``text`` with each surrogate pair as its character and each lone surrogate as
    U+FFFD: what a model server may send (a JSON ``\\ud83d`` apart from its partner), and
    what no store can keep as text (UTF-8 has no surrogates)."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def _added(total: JSON | None, usage: JSON) -> JSON:
    total = total or {"completion_tokens": 0, "prompt_tokens": 0, "total_tokens": 0}
    return {k: total[k] + usage[k] for k in total}


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
