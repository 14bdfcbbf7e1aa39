"""The run engine without HTTP: the statuses a run goes through and the events it says,
driven directly over a store (in memory, SQLite and PostgreSQL: the engine uses nothing
else)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Literal

import attrs
import pytest

from assistants_async._schema import Invalid
from assistants_async.server._engine import RunEngine
from assistants_async.server._responders import Part, TextDelta, ToolCallDelta, Usage
from assistants_async.server._store import (
    JSON,
    ActiveRunExists,
    PageQuery,
    RunRecord,
    Store,
)
from assistants_async.testing import (
    CallTools,
    Fail,
    FakeClock,
    Incomplete,
    Reply,
    RunContext,
    SequentialIds,
    Text,
    ToolCall,
    scripted,
)

from ..payloads import ASSISTANT as PAYLOAD
from .test_store import make_store

T = "key:engine"

ASSISTANT: dict[str, Any] = {
    **PAYLOAD,
    "id": "asst_1",
    "instructions": "Be brief.",
    "tools": [],
    "temperature": 1.0,
    "top_p": 1.0,
    "response_format": "auto",
}


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    made = make_store(request, tmp_path)
    await made.open()
    try:
        yield made
    finally:
        await made.close()


@pytest.fixture
def engine(store: Store) -> Any:
    ids = SequentialIds()  # one for the store's every engine: ids are unique in it

    def make(*replies: Reply, **kwargs: Any) -> RunEngine:
        kwargs.setdefault("responder", scripted(list(replies)))
        kwargs.setdefault("clock", FakeClock())
        return RunEngine(store, ids=ids, **kwargs)

    return make


async def thread_with(engine: RunEngine, text: str) -> str:
    thread_id = engine.ids("thread")
    obj = {"id": thread_id, "object": "thread", "created_at": engine.clock(), "metadata": {}}
    message = engine.message(thread_id, {"role": "user", "content": text})
    await engine.store.add_thread(T, obj, [message])
    return thread_id


async def messages(engine: RunEngine, thread_id: str) -> list[JSON]:
    return (await engine.store.messages(T, thread_id, PageQuery(order="asc"))).items


async def steps(engine: RunEngine, run: RunRecord) -> list[JSON]:
    return (await engine.store.steps(T, run.thread_id, run.id, PageQuery(order="asc"))).items


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    async def __call__(self, name: str, data: Any) -> None:
        self.events.append((name, json.loads(json.dumps(data))))  # as sent at that moment

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.events]


async def settle(engine: RunEngine, thread_id: str) -> tuple[RunRecord, Recorder]:
    run = await engine.new_run(T, thread_id, ASSISTANT, {})
    heard = Recorder()
    run = await engine.settle(T, run, heard)
    return run, heard


async def test_a_text_turn_completes_with_a_message_and_a_step(engine: Any) -> None:
    runs = engine(Text("Hello there"))
    thread = await thread_with(runs, "Hi")
    run, heard = await settle(runs, thread)
    assert heard.names == [
        "thread.run.in_progress",
        "thread.run.step.created",
        "thread.run.step.in_progress",
        "thread.message.created",
        "thread.message.in_progress",
        "thread.message.delta",
        "thread.message.delta",
        "thread.message.completed",
        "thread.run.step.completed",
        "thread.run.completed",
    ]
    pieces = [
        d["delta"]["content"][0]["text"]["value"] for n, d in heard.events if n.endswith("delta")
    ]
    assert "".join(pieces) == "Hello there"
    assert run.obj["status"] == "completed"
    assert run.obj["usage"]["completion_tokens"] == 2
    answer = (await messages(runs, thread))[-1]
    assert (answer["role"], answer["run_id"]) == ("assistant", run.obj["id"])


async def test_a_tool_turn_streams_the_arguments_in_pieces_then_waits(engine: Any) -> None:
    runs = engine(CallTools([ToolCall("get_weather", {"city": "Paris"})]), Text("21C"))
    thread = await thread_with(runs, "Weather?")
    run, heard = await settle(runs, thread)
    assert heard.names[:3] == [
        "thread.run.in_progress",
        "thread.run.step.created",
        "thread.run.step.in_progress",
    ]
    assert heard.names[-1] == "thread.run.requires_action"
    deltas = [
        d["delta"]["step_details"]["tool_calls"][0]
        for n, d in heard.events
        if n == "thread.run.step.delta"
    ]
    assert deltas[0]["function"] == {"name": "get_weather", "arguments": "", "output": None}
    pieces = [d["function"]["arguments"] for d in deltas[1:]]
    assert len(pieces) > 1
    assert json.loads("".join(pieces)) == {"city": "Paris"}
    assert run.obj["status"] == "requires_action"
    (call_id,) = run.state["open_calls"]
    # The outputs queue the run; its next turn answers.
    run, said = await runs.submit_outputs(T, run, [{"tool_call_id": call_id, "output": "21C"}])
    assert [name for name, _ in said] == ["thread.run.step.completed", "thread.run.queued"]
    heard = Recorder()
    run = await runs.settle(T, run, heard)
    assert heard.names[-1] == "thread.run.completed"
    assert run.state["outputs"][0]["output"] == "21C"


async def test_failed_incomplete_cancelled_and_expired_runs(engine: Any) -> None:
    runs = engine(Fail("rate_limit_exceeded", "slow down"), Incomplete("max_prompt_tokens", "Par"))
    thread = await thread_with(runs, "Hi")
    failed, heard = await settle(runs, thread)
    assert heard.names[-1] == "thread.run.failed"
    assert failed.obj["last_error"] == {"code": "rate_limit_exceeded", "message": "slow down"}
    partial, heard = await settle(runs, thread)
    assert heard.names[-1] == "thread.run.incomplete"
    assert "thread.message.incomplete" in heard.names
    assert partial.obj["incomplete_details"] == {"reason": "max_prompt_tokens"}

    cancelled = await runs.new_run(T, thread, ASSISTANT, {})
    cancelled = await runs.cancel(T, cancelled)
    heard = Recorder()
    cancelled = await runs.settle(T, cancelled, heard)
    assert heard.names == ["thread.run.cancelled"]
    with pytest.raises(Invalid, match="Cannot cancel"):
        await runs.cancel(T, cancelled)

    clock = FakeClock()
    late = engine(clock=clock, run_ttl=600)
    stale = await late.new_run(T, await thread_with(late, "Hi"), ASSISTANT, {})
    clock.advance(601)
    stale = await late.expire(T, stale)
    assert stale.obj["status"] == "expired"


async def test_one_active_run_per_thread_and_exact_tool_outputs(engine: Any) -> None:
    runs = engine(CallTools([ToolCall("f", {})]))
    thread = await thread_with(runs, "Hi")
    run, _ = await settle(runs, thread)
    with pytest.raises(Invalid, match="already has an active run"):
        await runs.new_run(T, thread, ASSISTANT, {})
    with pytest.raises(Invalid, match="Expected tool outputs"):
        await runs.submit_outputs(T, run, [{"tool_call_id": "call_other", "output": "x"}])
    assert run.obj["status"] == "requires_action"


async def test_a_responder_that_raises_fails_the_run_and_the_script_comes_first(
    engine: Any,
) -> None:
    async def broken(_: Any) -> Any:
        raise RuntimeError("oops")

    script: list[Reply] = []

    async def broken_unless_scripted(ctx: RunContext) -> Reply:
        return script.pop() if script else await broken(ctx)

    runs = engine(responder=broken_unless_scripted)
    thread = await thread_with(runs, "Hi")
    run, _ = await settle(runs, thread)
    assert run.obj["status"] == "failed"
    assert "RuntimeError: oops" in run.obj["last_error"]["message"]
    script.append(Text("scripted"))
    run, _ = await settle(runs, thread)
    assert run.obj["status"] == "completed"


# --- what a mutation sample showed untested -------------------------------------------


async def test_a_runs_own_instructions_and_temperature_override_the_assistants(engine: Any) -> None:
    runs = engine()
    thread = await thread_with(runs, "Hi")
    run = await runs.new_run(
        T, thread, ASSISTANT, {"instructions": "Be long.", "temperature": 0.2, "top_p": 0.5}
    )
    assert run.obj["instructions"] == "Be long."
    assert (run.obj["temperature"], run.obj["top_p"]) == (0.2, 0.5)
    plain = await runs.new_run(T, await thread_with(runs, "Hi"), ASSISTANT, {})
    assert plain.obj["instructions"] == "Be brief."
    assert (plain.obj["temperature"], plain.obj["top_p"]) == (1.0, 1.0)
    # A temperature of 0 is given, not absent.
    cold = await runs.new_run(T, await thread_with(runs, "Hi"), ASSISTANT, {"temperature": 0})
    assert cold.obj["temperature"] == 0


async def test_parallel_tool_calls_is_on_unless_the_run_says_otherwise(engine: Any) -> None:
    runs = engine()
    on = await runs.new_run(T, await thread_with(runs, "a"), ASSISTANT, {})
    assert on.obj["parallel_tool_calls"] is True
    off = await runs.new_run(
        T, await thread_with(runs, "b"), ASSISTANT, {"parallel_tool_calls": False}
    )
    assert off.obj["parallel_tool_calls"] is False


async def test_a_tool_output_given_twice_is_refused(engine: Any) -> None:
    runs = engine(CallTools([ToolCall("f", {}), ToolCall("g", {})]))
    thread = await thread_with(runs, "Hi")
    run, _ = await settle(runs, thread)
    first, second = run.state["open_calls"]
    with pytest.raises(Invalid, match="Expected tool outputs"):
        await runs.submit_outputs(
            T,
            run,
            [
                {"tool_call_id": first, "output": "1"},
                {"tool_call_id": first, "output": "1"},
                {"tool_call_id": second, "output": "2"},
            ],
        )
    assert run.obj["status"] == "requires_action"


async def test_a_run_expires_at_its_expiry_second_not_before(engine: Any) -> None:
    clock = FakeClock()
    runs = engine(clock=clock, run_ttl=600)
    run = await runs.new_run(T, await thread_with(runs, "Hi"), ASSISTANT, {})
    clock.advance(599)
    run = await runs.expire(T, run)
    assert run.obj["status"] == "queued"
    clock.advance(1)
    run = await runs.expire(T, run)
    assert run.obj["status"] == "expired"


async def test_a_run_that_expires_while_streamed_says_so_in_the_stream(engine: Any) -> None:
    clock = FakeClock()
    runs = engine(CallTools([ToolCall("f")]), clock=clock, run_ttl=600)
    run = await runs.new_run(T, await thread_with(runs, "Hi"), ASSISTANT, {})
    heard = Recorder()
    run = await runs.advance(T, run, heard)  # in_progress
    clock.advance(600)
    run = await runs.settle(T, run, heard)
    assert run.obj["status"] == "expired"
    assert heard.names[-1] == "thread.run.expired"
    assert heard.events[-1][1]["status"] == "expired"


async def test_a_cancel_during_a_turn_ends_the_run_cancelled(engine: Any) -> None:
    runs = engine(CallTools([ToolCall("f", {})]))
    thread = await thread_with(runs, "Hi")
    run, _ = await settle(runs, thread)
    (call_id,) = run.state["open_calls"]
    run = await runs.cancel(T, run)  # while it waits on the caller
    heard = Recorder()
    run = await runs.settle(T, run, heard)
    assert heard.names[-1] == "thread.run.cancelled"
    assert run.obj["status"] == "cancelled"
    (step,) = await steps(runs, run)
    assert step["status"] == "cancelled"
    assert step["cancelled_at"] is not None
    with pytest.raises(Invalid):
        await runs.submit_outputs(T, run, [{"tool_call_id": call_id, "output": "x"}])


async def test_usage_adds_up_over_a_runs_turns(engine: Any) -> None:
    runs = engine(CallTools([ToolCall("f", {"a": "one two"})]), Text("three words here"))
    thread = await thread_with(runs, "Hi")
    run, _ = await settle(runs, thread)
    first = dict(run.obj["usage"])
    (call_id,) = run.state["open_calls"]
    run, _ = await runs.submit_outputs(T, run, [{"tool_call_id": call_id, "output": "x"}])
    run = await runs.settle(T, run, Recorder())
    total = run.obj["usage"]
    assert total["completion_tokens"] > first["completion_tokens"]
    assert total["prompt_tokens"] > first["prompt_tokens"]
    assert total["total_tokens"] == total["prompt_tokens"] + total["completion_tokens"]
    used = [s["usage"] for s in await steps(runs, run)]
    for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
        assert total[key] == sum(u[key] for u in used)


@pytest.mark.parametrize("reason", ["max_completion_tokens", "max_prompt_tokens"])
async def test_an_incomplete_run_says_why(
    reason: Literal["max_completion_tokens", "max_prompt_tokens"],
    engine: Any,
) -> None:
    runs = engine(Incomplete(reason, "Par"))
    run, heard = await settle(runs, await thread_with(runs, "Hi"))
    assert run.obj["status"] == "incomplete"
    assert run.obj["incomplete_details"] == {"reason": reason}
    assert heard.names[-1] == "thread.run.incomplete"


WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {}}}


@pytest.mark.parametrize(
    "choice",
    [{"type": "function", "function": {"name": "get_weather"}}, "required"],
)
async def test_a_forced_tool_choice_is_obeyed_where_the_responder_would_answer(
    choice: Any,
    engine: Any,
) -> None:
    from assistants_async.testing import echo

    runs = engine(responder=echo())
    thread = await thread_with(runs, "Weather in Paris?")
    run = await runs.new_run(T, thread, {**ASSISTANT, "tools": [WEATHER]}, {"tool_choice": choice})
    run = await runs.settle(T, run, Recorder())
    assert run.obj["status"] == "requires_action"
    (call,) = run.obj["required_action"]["submit_tool_outputs"]["tool_calls"]
    assert call["function"]["name"] == "get_weather"
    # Once the outputs are in, the model answers as it likes.
    run, _ = await runs.submit_outputs(T, run, [{"tool_call_id": call["id"], "output": "21C"}])
    run = await runs.settle(T, run, Recorder())
    assert run.obj["status"] == "completed"


async def test_without_a_forced_choice_the_echo_answers_in_text(engine: Any) -> None:
    from assistants_async.testing import echo

    runs = engine(responder=echo())
    thread = await thread_with(runs, "Hi")
    for choice in ("auto", "none"):
        run = await runs.new_run(
            T, thread, {**ASSISTANT, "tools": [WEATHER]}, {"tool_choice": choice}
        )
        run = await runs.settle(T, run, Recorder())
        assert run.obj["status"] == "completed"


# --- explicit writes: who wins when two write ------------------------------------------


async def test_tool_outputs_are_taken_at_most_once(engine: Any) -> None:
    runs = engine(CallTools([ToolCall("f", {})]), Text("done"))
    run, _ = await settle(runs, await thread_with(runs, "Hi"))
    (call_id,) = run.state["open_calls"]
    outputs = [{"tool_call_id": call_id, "output": "x"}]
    # Both submits read the run as it waits; the second write finds it changed.
    answers = await asyncio.gather(
        runs.submit_outputs(T, run, outputs),
        runs.submit_outputs(T, run, outputs),
        return_exceptions=True,
    )
    refused = [a for a in answers if isinstance(a, Invalid)]
    assert len(refused) == 1, answers
    assert "do not accept tool outputs" in refused[0].message
    run = await runs.store.run(T, run.thread_id, run.id)
    assert run.obj["status"] == "queued"
    assert [o["output"] for o in run.state["outputs"]] == ["x"]


def _tagged(run: RunRecord) -> RunRecord:
    return RunRecord({**run.obj, "metadata": {"tag": "kept"}}, run.state, run.version)


async def test_a_write_during_a_turn_is_kept_and_the_turn_too(engine: Any) -> None:
    runs = engine(Text("Hello there"))
    thread = await thread_with(runs, "Hi")
    run = await runs.new_run(T, thread, ASSISTANT, {})

    async def meddle(name: str, data: JSON) -> None:
        if name == "thread.message.delta" and data["delta"]["content"][0]["text"]["value"]:
            current = await runs.store.run(T, thread, run.id)
            if not current.obj["metadata"]:
                await runs.update(T, current, _tagged)

    run = await runs.settle(T, run, meddle)
    assert run.obj["status"] == "completed"
    assert run.obj["metadata"] == {"tag": "kept"}


async def test_a_cancel_during_a_turn_wins_over_its_end(engine: Any) -> None:
    runs = engine(CallTools([ToolCall("f", {"a": 1})]))
    thread = await thread_with(runs, "Hi")
    run = await runs.new_run(T, thread, ASSISTANT, {})
    heard = Recorder()

    async def cancel_once(name: str, data: JSON) -> None:
        await heard(name, data)
        if name == "thread.run.step.delta" and len(heard.names) == 4:
            await runs.cancel(T, await runs.store.run(T, thread, run.id))

    run = await runs.settle(T, run, cancel_once)
    assert run.obj["status"] == "cancelled"
    assert "thread.run.requires_action" not in heard.names
    (step,) = await steps(runs, run)
    assert step["status"] == "cancelled"


async def test_the_store_holds_one_active_run_per_thread_when_the_check_is_raced(
    engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = engine()
    thread = await thread_with(runs, "Hi")
    await runs.new_run(T, thread, ASSISTANT, {})

    async def nothing_active(tenant: str, thread_id: str) -> None:
        return None  # as if the other run began after this check

    monkeypatch.setattr(runs, "active_run", nothing_active)
    with pytest.raises(ActiveRunExists):
        await runs.new_run(T, thread, ASSISTANT, {})


# --- taking runs up again after a restart ---------------------------------------------


def restarted(engine: Any, *replies: Reply, **kwargs: Any) -> RunEngine:
    """A second engine over the same store: what a restarted server makes."""
    return engine(*replies, timer_interval=0.001, **kwargs)  # type: ignore[no-any-return]


async def test_recover_resumes_queued_and_cancelling_runs(engine: Any) -> None:
    before = engine()
    queued = await before.new_run(T, await thread_with(before, "Hi"), ASSISTANT, {})
    asking = await before.new_run(T, await thread_with(before, "Hi"), ASSISTANT, {})
    asking = await before.cancel(T, asking)
    after = restarted(engine, Text("Back"))
    assert await after.recover(T, queued) == "resumed"
    assert await after.recover(T, asking) == "resumed"
    await after.drain(10)
    done = await after.store.run(T, queued.thread_id, queued.id)
    assert done.obj["status"] == "completed"
    assert [m["role"] for m in await messages(after, queued.thread_id)] == ["user", "assistant"]
    cancelled = await after.store.run(T, asking.thread_id, asking.id)
    assert cancelled.obj["status"] == "cancelled"


async def test_recover_retakes_a_turn_that_wrote_nothing(engine: Any) -> None:
    before = engine()
    thread = await thread_with(before, "Hi")
    run = await before.advance(T, await before.new_run(T, thread, ASSISTANT, {}))
    assert run.obj["status"] == "in_progress"
    after = restarted(engine, Text("Again"))
    assert await after.recover(T, run) == "resumed"
    await after.drain(10)
    assert (await after.store.run(T, thread, run.id)).obj["status"] == "completed"
    said = [m for m in await messages(after, thread) if m["role"] == "assistant"]
    assert len(said) == 1
    assert said[0]["content"][0]["text"]["value"] == "Again"


async def test_recover_retakes_a_turn_cut_halfway_as_if_it_had_not_begun(engine: Any) -> None:
    before = engine()
    thread = await thread_with(before, "Hi")
    run = await before.advance(T, await before.new_run(T, thread, ASSISTANT, {}))
    # What say() writes first, then the crash.
    half = before.message(
        thread, {"role": "assistant", "content": []}, run=run.obj, status="in_progress"
    )
    await before.store.add_message(T, half)
    details = {"type": "message_creation", "message_creation": {"message_id": half["id"]}}
    step = before._new_step(run.obj, "message_creation", details)
    await before.store.put_step(T, step)
    asked = Streaming([TextDelta("Again"), Usage(7, 1)])
    after = restarted(engine, responder=asked)
    assert await after.recover(T, run) == "retaken"
    await after.drain(10)
    done = await retaken(after, thread, run.id)
    (answer,) = await answers(after, thread)
    assert answer["content"][0]["text"]["value"] == "Again"
    assert half["id"] != answer["id"]
    (made,) = await steps(after, done)
    assert made["step_details"]["message_creation"]["message_id"] == answer["id"]
    assert done.obj["usage"] == {"prompt_tokens": 7, "completion_tokens": 1, "total_tokens": 8}
    # The responder was asked as if the turn had not begun: no partial answer shown.
    (ctx,) = asked.seen
    assert [m.role for m in ctx.messages] == ["user"]


async def test_recover_retakes_a_turn_whose_answer_was_written_but_not_the_run(
    engine: Any,
) -> None:
    before = engine(Text("First try"))
    thread = await thread_with(before, "Hi")
    run = await before.new_run(T, thread, ASSISTANT, {})
    real = before.store.put_run

    async def crash(tenant: str, record: RunRecord) -> RunRecord:
        if record.obj["status"] == "completed":
            raise KeyboardInterrupt  # the message and its step are written, the run not
        written: RunRecord = await real(tenant, record)
        return written

    before.store.put_run = crash
    try:
        with pytest.raises(KeyboardInterrupt):
            await before.settle(T, run)
    finally:
        before.store.put_run = real
    run = await before.store.run(T, thread, run.id)
    assert run.obj["status"] == "in_progress"
    assert [s["status"] for s in await steps(before, run)] == ["completed"]

    after = restarted(engine, Text("Second try"))
    assert await after.recover(T, run) == "retaken"
    await after.drain(10)
    done = await retaken(after, thread, run.id)
    (answer,) = await answers(after, thread)
    assert answer["content"][0]["text"]["value"] == "Second try"
    (made,) = await steps(after, done)
    assert made["usage"] == done.obj["usage"]  # the first try's usage is not counted


async def test_recover_keeps_a_run_waiting_on_outputs_and_it_completes(engine: Any) -> None:
    before = engine(CallTools([ToolCall("f", {"a": 1})]))
    thread = await thread_with(before, "Hi")
    run = await before.settle(T, await before.new_run(T, thread, ASSISTANT, {}))
    assert run.obj["status"] == "requires_action"
    after = restarted(engine, Text("done"))
    assert await after.recover(T, run) == "waiting"
    (call_id,) = run.state["open_calls"]
    run, _ = await after.submit_outputs(T, run, [{"tool_call_id": call_id, "output": "1"}])
    run = await after.settle(T, run)
    assert run.obj["status"] == "completed"


async def test_recover_completes_the_tool_step_a_crash_left_after_the_outputs_were_taken(
    engine: Any,
) -> None:
    before = engine(CallTools([ToolCall("f", {"a": 1})]))
    thread = await thread_with(before, "Hi")
    run = await before.settle(T, await before.new_run(T, thread, ASSISTANT, {}))
    (call_id,) = run.state["open_calls"]

    async def crash(tenant: str, step: JSON) -> None:
        raise KeyboardInterrupt  # the process dies between the run's write and the step's

    real = before.store.put_step
    before.store.put_step = crash
    try:
        with pytest.raises(KeyboardInterrupt):
            await before.submit_outputs(T, run, [{"tool_call_id": call_id, "output": "42"}])
    finally:
        before.store.put_step = real
    queued = await before.store.run(T, thread, run.id)
    assert queued.obj["status"] == "queued"
    (open_step,) = await steps(before, queued)
    assert open_step["status"] == "in_progress"

    after = restarted(engine, Text("done"))
    assert await after.recover(T, queued) == "resumed"
    await after.drain(10)
    done = await after.store.run(T, thread, run.id)
    assert done.obj["status"] == "completed"
    tool_step, answer_step = await steps(after, done)
    assert tool_step["status"] == "completed"
    assert tool_step["completed_at"] is not None
    assert tool_step["usage"] is not None
    (call,) = tool_step["step_details"]["tool_calls"]
    assert call["function"]["output"] == "42"
    assert answer_step["status"] == "completed"


async def test_recover_expires_a_run_whose_time_is_up(engine: Any) -> None:
    clock = FakeClock()
    before = engine(CallTools([ToolCall("f")]), clock=clock, run_ttl=600)
    thread = await thread_with(before, "Hi")
    run = await before.settle(T, await before.new_run(T, thread, ASSISTANT, {}))
    clock.advance(600)
    after = restarted(engine, clock=clock)
    assert await after.recover(T, run) == "expired"
    expired = await after.store.run(T, thread, run.id)
    assert expired.obj["status"] == "expired"
    assert [s["status"] for s in await steps(after, expired)] == ["expired"]


async def test_drain_stops_what_does_not_come_to_rest_in_time(engine: Any) -> None:
    gate = asyncio.Event()

    async def stuck(ctx: RunContext) -> Reply:
        await gate.wait()
        return Text("late")

    runs = engine(responder=stuck, timer_interval=0.001)
    thread = await thread_with(runs, "Hi")
    run = await runs.new_run(T, thread, ASSISTANT, {})
    runs.start_timer(T, run)
    await runs.drain(0.05)
    assert not runs._timers
    assert (await runs.store.run(T, thread, run.id)).obj["status"] == "in_progress"


async def test_a_cancel_while_the_responder_thinks_drops_its_reply(engine: Any) -> None:
    # The engine holds the run through the turn: the write made meanwhile must be seen.
    holder: list[RunEngine] = []

    async def cancelling(ctx: RunContext) -> Reply:
        (runs,) = holder
        await runs.cancel(T, await runs.store.run(T, ctx.run.thread_id, ctx.run.id))
        return Text("too late")

    runs = engine(responder=cancelling)
    holder.append(runs)
    thread = await thread_with(runs, "Hi")
    run, heard = await settle(runs, thread)
    assert run.obj["status"] == "cancelled"
    assert "thread.message.created" not in heard.names
    assert [m["role"] for m in await messages(runs, thread)] == ["user"]
    assert (await runs.store.run(T, thread, run.id)).obj["status"] == "cancelled"


async def test_a_write_while_the_responder_thinks_is_kept_and_its_reply_used(
    engine: Any,
) -> None:
    holder: list[RunEngine] = []

    async def tagging(ctx: RunContext) -> Reply:
        (runs,) = holder
        await runs.update(T, await runs.store.run(T, ctx.run.thread_id, ctx.run.id), _tagged)
        return Text("answered")

    runs = engine(responder=tagging)
    holder.append(runs)
    thread = await thread_with(runs, "Hi")
    run, _ = await settle(runs, thread)
    assert run.obj["status"] == "completed"
    assert run.obj["metadata"] == {"tag": "kept"}
    stored = await runs.store.run(T, thread, run.id)
    assert (stored.obj, stored.version) == (run.obj, run.version)


async def test_no_lock_outlives_the_steps_that_held_it(engine: Any) -> None:
    thinking, go = asyncio.Event(), asyncio.Event()

    async def slow(ctx: RunContext) -> Reply:
        thinking.set()
        await go.wait()
        return Text("done")

    runs = engine(responder=slow)
    thread = await thread_with(runs, "Hi")
    run = await runs.new_run(T, thread, ASSISTANT, {})
    run = await runs.advance(T, run)  # in_progress
    first = asyncio.create_task(runs.advance(T, run))  # the turn, holding the lock
    await thinking.wait()
    waiting = asyncio.create_task(runs.advance(T, run))
    given_up = asyncio.create_task(runs.advance(T, run))
    await asyncio.sleep(0)
    given_up.cancel()  # a waiter cancelled before it got the lock
    await asyncio.sleep(0)
    go.set()
    assert (await first).obj["status"] == "completed"
    assert (await waiting).obj["status"] == "completed"  # it saw the run as it stood
    with pytest.raises(asyncio.CancelledError):
        await given_up
    assert len(runs._locks) == 0


# --- answers in parts (a responder that streams) --------------------------------------


class Streaming:
    """A responder answering each turn with the next list of parts, as an async
    iterator; a part that is an exception is raised there. It keeps what it was shown."""

    def __init__(self, *turns: list[Any]) -> None:
        self.turns = list(turns)
        self.seen: list[RunContext] = []

    async def __call__(self, ctx: RunContext) -> AsyncIterator[Part]:
        self.seen.append(ctx)
        return self._parts(self.turns.pop(0))

    async def _parts(self, parts: list[Any]) -> AsyncIterator[Part]:
        for part in parts:
            if isinstance(part, Exception):
                raise part
            yield part


async def test_parts_become_events_as_they_come_and_outputs_remember_their_turn(
    engine: Any,
) -> None:
    responder = Streaming(
        [
            TextDelta("Let me "),
            TextDelta("look."),
            ToolCallDelta(0, "get_weather", '{"ci'),
            ToolCallDelta(1, "get_time", ""),
            ToolCallDelta(0, arguments='ty": "Oslo"}'),
            ToolCallDelta(1, arguments="{}"),
            Usage(10, 4),
        ],
        [TextDelta("Cold."), Usage(20, 1)],
    )
    runs = engine(responder=responder)
    thread = await thread_with(runs, "Weather?")
    run, heard = await settle(runs, thread)
    assert heard.names == [
        "thread.run.in_progress",
        "thread.run.step.created",
        "thread.run.step.in_progress",
        "thread.message.created",
        "thread.message.in_progress",
        "thread.message.delta",
        "thread.message.delta",
        "thread.message.completed",
        "thread.run.step.completed",
        "thread.run.step.created",
        "thread.run.step.in_progress",
        *["thread.run.step.delta"] * 4,
        "thread.run.requires_action",
    ]
    calls = run.obj["required_action"]["submit_tool_outputs"]["tool_calls"]
    assert [(c["function"]["name"], c["function"]["arguments"]) for c in calls] == [
        ("get_weather", '{"city": "Oslo"}'),
        ("get_time", "{}"),
    ]
    said = (await messages(runs, thread))[-1]
    assert said["content"][0]["text"]["value"] == "Let me look."
    outputs = [{"tool_call_id": c["id"], "output": "x"} for c in calls]
    run, _ = await runs.submit_outputs(T, run, outputs)
    run = await runs.settle(T, run, Recorder())
    assert run.obj["status"] == "completed"
    assert run.obj["usage"] == {"prompt_tokens": 30, "completion_tokens": 5, "total_tokens": 35}
    second = responder.seen[1].tool_outputs
    assert [(o.turn, o.message_id) for o in second] == [(1, said["id"]), (1, said["id"])]
    made = await steps(runs, run)
    assert [(s["type"], s["usage"]["total_tokens"]) for s in made] == [
        ("message_creation", 0),
        ("tool_calls", 14),
        ("message_creation", 21),
    ]


@pytest.mark.parametrize(
    ("end", "code", "message"),
    [
        (Fail("rate_limit_exceeded", "slow down"), "rate_limit_exceeded", "slow down"),
        (RuntimeError("socket gone"), "server_error", "RuntimeError: socket gone"),
    ],
)
async def test_a_stream_that_fails_midway_fails_the_run_and_ends_what_it_began(
    engine: Any, end: Any, code: str, message: str
) -> None:
    runs = engine(responder=Streaming([TextDelta("Half an ans"), end]))
    thread = await thread_with(runs, "Hi")
    run, heard = await settle(runs, thread)
    assert heard.names[-1] == "thread.run.failed"
    assert run.obj["status"] == "failed"
    assert run.obj["last_error"]["code"] == code
    assert message in run.obj["last_error"]["message"]
    assert [m["status"] for m in await messages(runs, thread)] == ["completed", "incomplete"]
    assert [s["status"] for s in await steps(runs, run)] == ["failed"]


async def test_a_stream_without_usage_gets_an_estimate(engine: Any) -> None:
    runs = engine(responder=Streaming([TextDelta("three small words")]))
    thread = await thread_with(runs, "Hi")
    run, _ = await settle(runs, thread)
    assert run.obj["status"] == "completed"
    assert run.obj["usage"]["completion_tokens"] == 3
    (step,) = await steps(runs, run)
    assert step["usage"] == run.obj["usage"]


async def test_parts_in_lists_as_str_and_as_subclasses_are_told_as_parts(engine: Any) -> None:
    """A list of parts is told as its parts one by one; a ``str`` is a text piece, and a
    responder's own subclass of a part is that part."""

    @attrs.frozen
    class Piece(TextDelta):
        pass

    @attrs.frozen
    class Counted(Usage):
        pass

    answer = [[Piece("Hello "), "big "], Piece("world"), [Counted(5, 3)]]
    runs = engine(responder=Streaming(answer))
    thread = await thread_with(runs, "Hi")
    run, heard = await settle(runs, thread)
    assert run.obj["status"] == "completed"
    told = [
        d["delta"]["content"][0]["text"]["value"] for n, d in heard.events if n.endswith("delta")
    ]
    assert told == ["Hello ", "big ", "world"]
    assert (await messages(runs, thread))[-1]["content"][0]["text"]["value"] == "Hello big world"
    assert run.obj["usage"] == {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}


async def test_a_responder_may_refuse_a_run_as_it_is_created(engine: Any) -> None:
    class Picky(Streaming):
        def check_run(self, run: JSON, messages: list[JSON]) -> None:
            if any(t["type"] == "file_search" for t in run["tools"]):
                raise Invalid("no file_search here", param="tools[0]")

    runs = engine(responder=Picky())
    thread = await thread_with(runs, "Hi")
    with pytest.raises(Invalid, match="file_search"):
        await runs.new_run(T, thread, ASSISTANT, {"tools": [{"type": "file_search"}]})
    assert await runs.active_run(T, thread) is None


async def test_text_after_a_tool_call_is_a_message_of_its_own(engine: Any) -> None:
    responder = Streaming(
        [TextDelta("Checking."), ToolCallDelta(0, "f", "{}"), TextDelta("One moment.")]
    )
    runs = engine(responder=responder)
    thread = await thread_with(runs, "Hi")
    run, heard = await settle(runs, thread)
    assert run.obj["status"] == "requires_action"
    said = [m for m in await messages(runs, thread) if m["role"] == "assistant"]
    assert [(m["status"], m["content"][0]["text"]["value"]) for m in said] == [
        ("completed", "Checking."),
        ("completed", "One moment."),
    ]
    assert heard.names.count("thread.message.completed") == 2
    assert [s["type"] for s in await steps(runs, run)] == [
        "message_creation",
        "tool_calls",
        "message_creation",
    ]


async def test_an_empty_streamed_answer_is_an_empty_message(engine: Any) -> None:
    runs = engine(responder=Streaming([Usage(3, 0)]))
    thread = await thread_with(runs, "Hi")
    run, heard = await settle(runs, thread)
    assert run.obj["status"] == "completed"
    assert "thread.message.delta" not in heard.names
    said = (await messages(runs, thread))[-1]
    assert (said["role"], said["content"][0]["text"]["value"]) == ("assistant", "")


async def test_a_stream_cut_short_in_a_tool_call_ends_incomplete(engine: Any) -> None:
    parts = [ToolCallDelta(0, "f", '{"a": '), Usage(5, 2), Incomplete("max_completion_tokens")]
    runs = engine(responder=Streaming(parts))
    thread = await thread_with(runs, "Hi")
    run, heard = await settle(runs, thread)
    assert heard.names[-1] == "thread.run.incomplete"
    assert run.obj["incomplete_details"] == {"reason": "max_completion_tokens"}
    assert run.obj["required_action"] is None
    (step,) = await steps(runs, run)
    assert step["status"] == "completed"
    assert step["usage"]["total_tokens"] == 7
    assert step["step_details"]["tool_calls"][0]["function"]["arguments"] == '{"a": '


class _Watched(asyncio.Semaphore):
    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.waiting = asyncio.Event()

    async def acquire(self) -> Literal[True]:
        if self.locked():
            self.waiting.set()
        return await super().acquire()


async def test_a_run_stopped_while_it_waits_for_a_slot_leaves_the_slot_free(engine: Any) -> None:
    responder = Streaming([TextDelta("never asked")])
    responder.slots = slots = _Watched(1)  # type: ignore[attr-defined]
    runs = engine(responder=responder)
    thread = await thread_with(runs, "Hi")
    run = await runs.new_run(T, thread, ASSISTANT, {})
    await slots.acquire()  # another turn holds the only slot
    moving = asyncio.get_running_loop().create_task(runs.settle(T, run, Recorder()))
    await slots.waiting.wait()
    moving.cancel()  # as a server stopping does
    with pytest.raises(asyncio.CancelledError):
        await moving
    slots.release()
    await slots.acquire()  # free again: the cancelled wait took nothing
    assert runs._waiting == {}
    assert responder.seen == []
    assert (await runs.store.run(T, thread, run.id)).obj["status"] == "queued"


# --- a turn cut halfway by a restart, taken again --------------------------------------

HANG = object()  # in a Streaming turn: the answer stops coming, as from a killed process


class Hanging(Streaming):
    async def _parts(self, parts: list[Any]) -> AsyncIterator[Part]:
        for part in parts:
            if part is HANG:
                await asyncio.Event().wait()
            elif isinstance(part, Exception):
                raise part
            else:
                yield part


async def cut(runs: RunEngine, run: RunRecord, when: str, count: int = 1) -> None:
    """Move ``run`` until it has said ``count`` ``when`` events, then stop the engine
    there as a kill -9 would: what it wrote stays, and nothing more is written."""
    heard = Recorder()
    reached = asyncio.Event()

    async def listen(name: str, data: JSON) -> None:
        await heard(name, data)
        if heard.names.count(when) >= count:
            reached.set()

    moving = asyncio.get_running_loop().create_task(runs.settle(T, run, listen))
    waiting = asyncio.get_running_loop().create_task(reached.wait())
    await asyncio.wait({moving, waiting}, return_when=asyncio.FIRST_COMPLETED)
    assert reached.is_set(), heard.names
    moving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await moving


async def answers(runs: RunEngine, thread_id: str) -> list[JSON]:
    return [m for m in await messages(runs, thread_id) if m["role"] == "assistant"]


async def retaken(runs: RunEngine, thread_id: str, run_id: str) -> RunRecord:
    """The run after its retaken turn: completed, nothing left in progress, and its usage
    the sum of its steps' (the cut turn's counted nowhere)."""
    done = await runs.store.run(T, thread_id, run_id)
    assert done.obj["status"] == "completed", done.obj
    made = await steps(runs, done)
    assert all(s["status"] == "completed" for s in made), made
    assert all(m["status"] == "completed" for m in await messages(runs, thread_id))
    total = {k: sum(s["usage"][k] for s in made) for k in done.obj["usage"]}
    assert done.obj["usage"] == total
    return done


async def test_recover_retakes_a_streamed_turn_cut_after_some_parts(engine: Any) -> None:
    before = engine(responder=Hanging([TextDelta("The ans"), TextDelta("wer is"), HANG]))
    thread = await thread_with(before, "Hi")
    run = await before.new_run(T, thread, ASSISTANT, {})
    await cut(before, run, "thread.message.delta", 2)
    run = await before.store.run(T, thread, run.id)
    (half,) = await answers(before, thread)
    assert half["status"] == "in_progress"
    assert [s["status"] for s in await steps(before, run)] == ["in_progress"]

    asked = Streaming([TextDelta("The answer "), TextDelta("is 42."), Usage(9, 4)])
    after = restarted(engine, responder=asked)
    assert await after.recover(T, run) == "retaken"
    await after.drain(10)
    done = await retaken(after, thread, run.id)
    (answer,) = await answers(after, thread)
    assert answer["content"][0]["text"]["value"] == "The answer is 42."
    assert [s["type"] for s in await steps(after, done)] == ["message_creation"]
    assert done.obj["usage"] == {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}
    assert [m.role for m in asked.seen[0].messages] == ["user"]


async def test_recover_retakes_a_tool_turn_and_keeps_the_earlier_turns(engine: Any) -> None:
    first = [
        TextDelta("Let me look."),
        ToolCallDelta(0, "get_weather", '{"city": "Oslo"}'),
        TextDelta("One moment."),  # rare, and still a turn's own message
        Usage(10, 4),
    ]
    second = [TextDelta("Now the time."), ToolCallDelta(0, "get_time", '{"tz'), HANG]
    before = engine(responder=Hanging(first, second))
    thread = await thread_with(before, "Weather?")
    run = await before.settle(T, await before.new_run(T, thread, ASSISTANT, {}))
    assert run.obj["status"] == "requires_action"
    (call_id,) = run.state["open_calls"]
    run, _ = await before.submit_outputs(T, run, [{"tool_call_id": call_id, "output": "-3C"}])
    await cut(before, run, "thread.run.step.delta")
    run = await before.store.run(T, thread, run.id)
    assert [s["status"] for s in await steps(before, run)] == [
        *["completed"] * 4,  # the first turn's three, and the cut turn's message
        "in_progress",  # the cut turn's tool step
    ]

    asked = Streaming(
        [TextDelta("Checking the time."), ToolCallDelta(0, "get_time", "{}"), Usage(20, 3)],
        [TextDelta("Cold, at noon."), Usage(30, 4)],
    )
    after = restarted(engine, responder=asked)
    assert await after.recover(T, run) == "retaken"
    await after.drain(10)
    run = await after.store.run(T, thread, run.id)
    assert run.obj["status"] == "requires_action"
    # Asked again with the first turn's call and output, and none of the cut turn.
    (ctx,) = asked.seen
    assert [(o.name, o.output) for o in ctx.tool_outputs] == [("get_weather", "-3C")]
    assert [m.content[0].text.value for m in ctx.messages if m.role == "assistant"] == [  # type: ignore[union-attr]
        "Let me look.",
        "One moment.",
    ]
    (call_id,) = run.state["open_calls"]
    run, _ = await after.submit_outputs(T, run, [{"tool_call_id": call_id, "output": "12:00"}])
    run = await after.settle(T, run)
    done = await retaken(after, thread, run.id)
    assert [m["content"][0]["text"]["value"] for m in await answers(after, thread)] == [
        "Let me look.",
        "One moment.",
        "Checking the time.",
        "Cold, at noon.",
    ]
    made = await steps(after, done)
    assert [s["type"] for s in made] == [
        "message_creation",
        "tool_calls",
        "message_creation",
        "message_creation",
        "tool_calls",
        "message_creation",
    ]
    outputs = [s["step_details"]["tool_calls"][0]["function"]["output"] for s in made[1::3]]
    assert outputs == ["-3C", "12:00"]
    assert done.obj["usage"] == {"prompt_tokens": 60, "completion_tokens": 11, "total_tokens": 71}


async def test_a_crash_amid_the_undo_converges_at_the_next_recover(engine: Any) -> None:
    before = engine(responder=Hanging([TextDelta("Half"), ToolCallDelta(0, "f", "{"), HANG]))
    thread = await thread_with(before, "Hi")
    run = await before.new_run(T, thread, ASSISTANT, {})
    await cut(before, run, "thread.run.step.delta")
    run = await before.store.run(T, thread, run.id)
    assert len(await steps(before, run)) == 2
    store = before.store
    deletes = {"delete_message": store.delete_message, "delete_step": store.delete_step}
    done: list[str] = []

    def dying(name: str) -> Any:
        async def delete(*args: Any) -> None:
            if done:
                raise KeyboardInterrupt  # the process dies after the first delete
            await deletes[name](*args)
            done.append(name)

        return delete

    for name in deletes:
        setattr(store, name, dying(name))
    try:
        with pytest.raises(KeyboardInterrupt):
            await restarted(engine, Text("never asked")).recover(T, run)
    finally:
        for name, real in deletes.items():
            setattr(store, name, real)
    assert len(done) == 1
    left = len(await steps(before, run)) + len(await answers(before, thread))
    assert 0 < left < 3  # the undo was cut halfway too

    after = restarted(engine, Text("Whole"))
    assert await after.recover(T, run) == "retaken"
    await after.drain(10)
    done_run = await retaken(after, thread, run.id)
    assert [m["content"][0]["text"]["value"] for m in await answers(after, thread)] == ["Whole"]
    assert len(await steps(after, done_run)) == 1


async def test_recover_keeps_the_earlier_turns_of_a_run_from_before_they_were_recorded(
    engine: Any,
) -> None:
    first = [TextDelta("Let me look."), ToolCallDelta(0, "f", "{}"), Usage(10, 4)]
    before = engine(responder=Hanging(first, [TextDelta("Cut"), HANG]))
    thread = await thread_with(before, "Hi")
    run = await before.settle(T, await before.new_run(T, thread, ASSISTANT, {}))
    (call_id,) = run.state["open_calls"]
    run, _ = await before.submit_outputs(T, run, [{"tool_call_id": call_id, "output": "1"}])
    # A run whose submit was taken by an older server: its state records nothing.
    state = {k: v for k, v in run.state.items() if k != "earlier"}
    run = await before.store.put_run(T, RunRecord(run.obj, state, run.version))
    await cut(before, run, "thread.message.delta")
    run = await before.store.run(T, thread, run.id)

    after = restarted(engine, responder=Streaming([TextDelta("Done."), Usage(20, 1)]))
    assert await after.recover(T, run) == "retaken"
    await after.drain(10)
    done = await retaken(after, thread, run.id)
    said = [m["content"][0]["text"]["value"] for m in await answers(after, thread)]
    assert said == ["Let me look.", "Done."]
    made = await steps(after, done)
    assert [s["type"] for s in made] == ["message_creation", "tool_calls", "message_creation"]
    assert done.obj["usage"]["total_tokens"] == 35


async def test_a_cut_turn_of_a_run_cancelled_meanwhile_ends_as_a_cancel_ends_it(
    engine: Any,
) -> None:
    before = engine(responder=Hanging([TextDelta("Half"), HANG]))
    thread = await thread_with(before, "Hi")
    run = await before.new_run(T, thread, ASSISTANT, {})
    await cut(before, run, "thread.message.delta")
    # The cancel was written; the process died before it ended the turn.
    run = await before.cancel(T, await before.store.run(T, thread, run.id))
    after = restarted(engine, responder=Streaming())
    assert await after.recover(T, run) == "resumed"
    await after.drain(10)
    done = await after.store.run(T, thread, run.id)
    assert done.obj["status"] == "cancelled"
    assert [s["status"] for s in await steps(after, done)] == ["cancelled"]
    (half,) = await answers(after, thread)
    assert (half["status"], half["incomplete_details"]) == (
        "incomplete",
        {"reason": "run_cancelled"},
    )


async def test_a_cut_turn_of_a_run_whose_time_is_up_ends_as_an_expiry_ends_it(
    engine: Any,
) -> None:
    clock = FakeClock()
    before = engine(responder=Hanging([TextDelta("Half"), HANG]), clock=clock, run_ttl=600)
    thread = await thread_with(before, "Hi")
    run = await before.new_run(T, thread, ASSISTANT, {})
    await cut(before, run, "thread.message.delta")
    clock.advance(600)
    after = restarted(engine, responder=Streaming(), clock=clock)
    assert await after.recover(T, await after.store.run(T, thread, run.id)) == "expired"
    done = await after.store.run(T, thread, run.id)
    assert done.obj["status"] == "expired"
    assert [s["status"] for s in await steps(after, done)] == ["expired"]
    (half,) = await answers(after, thread)
    assert (half["status"], half["incomplete_details"]) == (
        "incomplete",
        {"reason": "run_expired"},
    )


async def test_a_surrogate_held_when_a_tool_call_ends_the_text_stays_in_its_message(
    engine: Any,
) -> None:
    """A high surrogate whose partner never came, before a tool call: U+FFFD in the
    message it ended (no message of its own after the call), and a low surrogate after
    the call is one of its own, not half of a character across two messages."""
    parts: list[Part] = [TextDelta("Checking \ud83d"), ToolCallDelta(0, "f", "{}")]
    runs = engine(responder=Streaming([*parts, TextDelta("\ude00 done")]))
    thread = await thread_with(runs, "Hi")
    run, heard = await settle(runs, thread)
    assert run.obj["status"] == "requires_action"
    said = [m["content"][0]["text"]["value"] for m in await answers(runs, thread)]
    assert said == ["Checking \ufffd", "\ufffd done"]
    kinds = [s["type"] for s in await steps(runs, run)]
    assert kinds == ["message_creation", "tool_calls", "message_creation"]
    told = [
        d["delta"]["content"][0]["text"]["value"] for n, d in heard.events if n.endswith("e.delta")
    ]
    assert "".join(told) == "".join(said)


async def test_a_tool_calls_streamed_arguments_add_up_to_its_stored_ones(engine: Any) -> None:
    """Arguments with a surrogate pair split across pieces and a lone one: the deltas
    told carry what is stored and asked for (the character whole, U+FFFD)."""
    parts = [ToolCallDelta(0, "f", '{"a": "\ud83d'), ToolCallDelta(0, arguments='\ude00 \udc00"}')]
    runs = engine(responder=Streaming(parts))
    thread = await thread_with(runs, "Hi")
    run, heard = await settle(runs, thread)
    streamed = "".join(
        d["delta"]["step_details"]["tool_calls"][0]["function"]["arguments"]
        for n, d in heard.events
        if n == "thread.run.step.delta"
    )
    final = run.obj["required_action"]["submit_tool_outputs"]["tool_calls"][0]["function"]
    assert final["arguments"] == '{"a": "\U0001f600 \ufffd"}'
    assert streamed == final["arguments"]
