"""Streams: the events of ``createRun``, ``createThreadAndRun`` and a streamed
``submit_tool_outputs`` (on a run made without streaming), their order, and the closing
``done``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .._errors import APIConnectionError, APIStatusError, ResponseValidationError, StreamError
from .._streaming import AsyncAssistantStream
from ..models.events import UnknownEvent
from ._core import RESTING, Context, check, trimmed
from ._operations import FORCED
from ._runs import new_thread, outputs_for, resting_run

# Where a run may go from each status, as the spec's run lifecycle draws it.
NEXT: dict[str, frozenset[str]] = {
    "queued": frozenset({"queued", "in_progress", "cancelling", "cancelled", "failed", "expired"}),
    "in_progress": frozenset(
        {
            "in_progress",
            "requires_action",
            "completed",
            "failed",
            "incomplete",
            "cancelling",
            "expired",
        }
    ),
    "requires_action": frozenset({"queued", "in_progress", "cancelling", "expired", "failed"}),
    "cancelling": frozenset(
        {"cancelling", "cancelled", "completed", "failed", "incomplete", "expired"}
    ),
}
_STEP = "thread.run.step."
_MESSAGE = "thread.message."


async def read(ctx: Context, opener: Callable[[], AsyncAssistantStream]) -> list[Any]:
    """Every event of one stream; its deviations become findings, and a stream that
    cannot be read (refused, cut, an ``error`` event) means the operation fails. A
    thread or run the stream makes is kept for the clean-up as soon as it is shown."""
    seen = len(ctx.client.deviations)
    events: list[Any] = []
    try:
        async with opener() as stream:
            async for event in stream:
                events.append(event)
                if event.event == "thread.created":
                    ctx.adopt(event.data)
    except APIStatusError as exc:
        exchange = ctx._answered(exc.status_code, exc.body)
        why = f"{ctx.operation(exchange)}: {exc.status_code} {exc.message}"
        raise ctx.failed(why, exchange) from None
    except (APIConnectionError, StreamError, ResponseValidationError) as exc:
        exchange = ctx._answered(200, _events_text(events))
        got = ", ".join(e.event for e in events[-3:]) or "no event"
        why = f"{ctx.operation(exchange)} (streamed): after {len(events)} events ({got}): {exc}"
        raise ctx.failed(why, exchange) from None
    exchange = ctx._answered(200, _events_text(events))
    ctx._deviations_since(seen, exchange)
    return events


def _events_text(events: Iterable[Any]) -> str:
    return trimmed("\n".join(f"event: {e.event}" for e in events))


def check_order(
    ctx: Context,
    events: list[Any],
    *,
    first: str | None,
    status: str | None,
    known_steps: Iterable[str] = (),
) -> Any:
    """The rules every stream follows; returns the last run the stream showed."""
    names = [e.event for e in events]
    if first is not None:
        ctx.expect_equal("events[0]", first, names[0] if names else "no event")
    steps: set[str] = set(known_steps)
    messages: set[str] = set()
    run = None
    for i, event in enumerate(events):
        name = event.event
        if name in ("done", "thread.created"):
            continue
        if isinstance(event, UnknownEvent):
            ctx.expect(False, f"events[{i}]", "an event the spec defines", name)
            continue
        if name.startswith(_STEP):
            pool = steps
        elif name.startswith(_MESSAGE):
            pool = messages
        else:
            pool = None
        if pool is not None:
            object_id = event.data.id
            if name.endswith(".created"):
                pool.add(object_id)
            else:
                ctx.expect(
                    object_id in pool,
                    f"events[{i}] {name}",
                    "an object created earlier in the stream",
                    object_id,
                )
            continue
        if not name.startswith("thread.run."):
            continue
        run = event.data
        if status is not None:
            allowed = NEXT.get(status, frozenset())
            ctx.expect(
                run.status in allowed,
                f"events[{i}] {name}",
                f"a status that may follow {status!r}",
                run.status,
            )
        status = run.status
    shown = names[:-1] if names[-1:] == ["done"] else names
    before_done = shown[-1] if shown else ""
    ctx.expect(
        run is not None
        and run.status in RESTING
        and before_done.startswith("thread.run.")
        and not before_done.startswith(_STEP),
        "the last event",
        "the run resting (requires_action or a final status)",
        before_done or "no event",
    )
    return run


async def ended(ctx: Context, run: Any, status: str) -> None:
    """The stream's last run has ``status``, and the server then says the same."""
    if run is None:
        return
    ctx.expect_equal("status (the last run event)", status, run.status)
    again = await ctx.call(ctx.client.runs.retrieve, run.thread_id, run.id)
    ctx.expect_equal("status (retrieved after the stream)", run.status, again.status)


@check(
    "stream.create_run",
    "createRun streamed: event order, requires_action, done",
    runs=True,
    needs=("assistants.create",),
)
async def stream_create_run(ctx: Context) -> None:
    assistant = ctx.need("assistant", "assistants.create")
    thread = await new_thread(ctx)
    events = await read(
        ctx,
        lambda: ctx.client.runs.stream(thread.id, assistant_id=assistant.id, tool_choice=FORCED),
    )
    await ended(
        ctx, check_order(ctx, events, first="thread.run.created", status=None), "requires_action"
    )


@check(
    "stream.create_thread_and_run",
    "createThreadAndRun streamed: thread.created first, message events, completed, done",
    runs=True,
    needs=("assistants.create",),
)
async def stream_create_thread_and_run(ctx: Context) -> None:
    assistant = ctx.need("assistant", "assistants.create")
    events = await read(
        ctx,
        lambda: ctx.client.threads.create_and_run_stream(
            assistant_id=assistant.id,
            thread={"messages": [{"role": "user", "content": "Say hello."}]},
            tool_choice="none",
        ),
    )
    run = check_order(ctx, events, first="thread.created", status=None)
    names = [e.event for e in events]
    ctx.expect("thread.message.completed" in names, "events", "thread.message.completed", "none")
    if run is not None:
        ctx.keep("thread", run.thread_id)
    await ended(ctx, run, "completed")


@check(
    "stream.submit_tool_outputs",
    "submitToolOuputsToRun streamed on a run made without streaming: events, completed, done",
    runs=True,
    needs=("assistants.create",),
)
async def stream_submit_tool_outputs(ctx: Context) -> None:
    thread, run, calls = await resting_run(ctx)
    if not calls:
        return
    steps = await ctx.call(ctx.client.steps.list, thread.id, run.id)
    events = await read(
        ctx,
        lambda: ctx.client.runs.submit_tool_outputs_stream(
            thread.id, run.id, tool_outputs=outputs_for(calls)
        ),
    )
    final = check_order(
        ctx, events, first=None, status="requires_action", known_steps=[s.id for s in steps.data]
    )
    await ended(ctx, final, "completed")
