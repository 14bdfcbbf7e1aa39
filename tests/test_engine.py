"""The run engine without HTTP: the statuses a run goes through and the events it says,
driven directly from the records it works on."""

from __future__ import annotations

import json
from typing import Any, Literal

import pytest

from assistants_async._schema import Invalid
from assistants_async.testing import (
    CallTools,
    Fail,
    FakeClock,
    Incomplete,
    SequentialIds,
    Text,
    ToolCall,
    scripted,
)
from assistants_async.testing._engine import RunEngine
from assistants_async.testing._store import StoredRun, StoredThread

from .payloads import ASSISTANT as PAYLOAD

ASSISTANT: dict[str, Any] = {
    **PAYLOAD,
    "id": "asst_1",
    "instructions": "Be brief.",
    "tools": [],
    "temperature": 1.0,
    "top_p": 1.0,
    "response_format": "auto",
}


def engine(*replies: Any) -> RunEngine:
    return RunEngine(responder=scripted(list(replies)), clock=FakeClock(), ids=SequentialIds())


def thread_with(engine: RunEngine, text: str) -> StoredThread:
    thread = StoredThread(obj={"id": "thread_1", "object": "thread"})
    engine.new_message(thread, {"role": "user", "content": text})
    return thread


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    async def __call__(self, name: str, data: Any) -> None:
        self.events.append((name, json.loads(json.dumps(data))))  # as sent at that moment

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.events]


async def settle(engine: RunEngine, thread: StoredThread) -> tuple[StoredRun, Recorder]:
    run = engine.new_run(thread, ASSISTANT, {})
    heard = Recorder()
    await engine.settle(thread, run, heard)
    return run, heard


async def test_a_text_turn_completes_with_a_message_and_a_step() -> None:
    runs = engine(Text("Hello there"))
    thread = thread_with(runs, "Hi")
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
    answer = list(thread.messages.values())[-1]
    assert (answer["role"], answer["run_id"]) == ("assistant", run.obj["id"])


async def test_a_tool_turn_streams_the_arguments_in_pieces_then_waits() -> None:
    runs = engine(CallTools([ToolCall("get_weather", {"city": "Paris"})]), Text("21C"))
    thread = thread_with(runs, "Weather?")
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
    (call_id,) = run.open_calls
    # The outputs queue the run; its next turn answers.
    said = runs.submit_outputs(run, [{"tool_call_id": call_id, "output": "21C"}])
    assert [name for name, _ in said] == ["thread.run.step.completed", "thread.run.queued"]
    heard = Recorder()
    await runs.settle(thread, run, heard)
    assert heard.names[-1] == "thread.run.completed"
    assert run.outputs[0].output == "21C"


async def test_failed_incomplete_cancelled_and_expired_runs() -> None:
    runs = engine(Fail("rate_limit_exceeded", "slow down"), Incomplete("max_prompt_tokens", "Par"))
    thread = thread_with(runs, "Hi")
    failed, heard = await settle(runs, thread)
    assert heard.names[-1] == "thread.run.failed"
    assert failed.obj["last_error"] == {"code": "rate_limit_exceeded", "message": "slow down"}
    partial, heard = await settle(runs, thread)
    assert heard.names[-1] == "thread.run.incomplete"
    assert "thread.message.incomplete" in heard.names
    assert partial.obj["incomplete_details"] == {"reason": "max_prompt_tokens"}

    cancelled = runs.new_run(thread, ASSISTANT, {})
    runs.cancel(cancelled)
    heard = Recorder()
    await runs.settle(thread, cancelled, heard)
    assert heard.names == ["thread.run.cancelled"]
    with pytest.raises(Invalid, match="Cannot cancel"):
        runs.cancel(cancelled)

    clock = FakeClock()
    late = RunEngine(responder=scripted([]), clock=clock, ids=SequentialIds(), run_ttl=600)
    stale = late.new_run(thread_with(late, "Hi"), ASSISTANT, {})
    clock.advance(601)
    late.expire(stale)
    assert stale.obj["status"] == "expired"


async def test_one_active_run_per_thread_and_exact_tool_outputs() -> None:
    runs = engine(CallTools([ToolCall("f", {})]))
    thread = thread_with(runs, "Hi")
    run, _ = await settle(runs, thread)
    with pytest.raises(Invalid, match="already has an active run"):
        runs.new_run(thread, ASSISTANT, {})
    with pytest.raises(Invalid, match="Expected tool outputs"):
        runs.submit_outputs(run, [{"tool_call_id": "call_other", "output": "x"}])
    assert run.obj["status"] == "requires_action"


async def test_a_responder_that_raises_fails_the_run_and_the_script_comes_first() -> None:
    async def broken(_: Any) -> Any:
        raise RuntimeError("oops")

    runs = RunEngine(responder=broken, clock=FakeClock(), ids=SequentialIds())
    thread = thread_with(runs, "Hi")
    run, _ = await settle(runs, thread)
    assert run.obj["status"] == "failed"
    assert "RuntimeError: oops" in run.obj["last_error"]["message"]
    runs.script.queue(Text("scripted"))
    run, _ = await settle(runs, thread)
    assert run.obj["status"] == "completed"


# --- what a mutation sample showed untested -------------------------------------------


async def test_a_runs_own_instructions_and_temperature_override_the_assistants() -> None:
    runs = engine()
    thread = thread_with(runs, "Hi")
    run = runs.new_run(
        thread, ASSISTANT, {"instructions": "Be long.", "temperature": 0.2, "top_p": 0.5}
    )
    assert run.obj["instructions"] == "Be long."
    assert (run.obj["temperature"], run.obj["top_p"]) == (0.2, 0.5)
    plain = runs.new_run(thread_with(runs, "Hi"), ASSISTANT, {})
    assert plain.obj["instructions"] == "Be brief."
    assert (plain.obj["temperature"], plain.obj["top_p"]) == (1.0, 1.0)
    # A temperature of 0 is given, not absent.
    cold = runs.new_run(thread_with(runs, "Hi"), ASSISTANT, {"temperature": 0})
    assert cold.obj["temperature"] == 0


async def test_parallel_tool_calls_is_on_unless_the_run_says_otherwise() -> None:
    runs = engine()
    assert runs.new_run(thread_with(runs, "a"), ASSISTANT, {}).obj["parallel_tool_calls"] is True
    off = runs.new_run(thread_with(runs, "b"), ASSISTANT, {"parallel_tool_calls": False})
    assert off.obj["parallel_tool_calls"] is False


async def test_a_tool_output_given_twice_is_refused() -> None:
    runs = engine(CallTools([ToolCall("f", {}), ToolCall("g", {})]))
    thread = thread_with(runs, "Hi")
    run, _ = await settle(runs, thread)
    first, second = run.open_calls
    with pytest.raises(Invalid, match="Expected tool outputs"):
        runs.submit_outputs(
            run,
            [
                {"tool_call_id": first, "output": "1"},
                {"tool_call_id": first, "output": "1"},
                {"tool_call_id": second, "output": "2"},
            ],
        )
    assert run.obj["status"] == "requires_action"


async def test_a_run_expires_at_its_expiry_second_not_before() -> None:
    clock = FakeClock()
    runs = RunEngine(responder=scripted([]), clock=clock, ids=SequentialIds(), run_ttl=600)
    run = runs.new_run(thread_with(runs, "Hi"), ASSISTANT, {})
    clock.advance(599)
    runs.expire(run)
    assert run.obj["status"] == "queued"
    clock.advance(1)
    runs.expire(run)
    assert run.obj["status"] == "expired"


async def test_a_cancel_during_a_turn_ends_the_run_cancelled() -> None:
    runs = engine(CallTools([ToolCall("f", {})]))
    thread = thread_with(runs, "Hi")
    run, _ = await settle(runs, thread)
    (call_id,) = run.open_calls
    runs.cancel(run)  # while it waits on the caller
    heard = Recorder()
    await runs.settle(thread, run, heard)
    assert heard.names[-1] == "thread.run.cancelled"
    assert run.obj["status"] == "cancelled"
    (step,) = run.steps.values()
    assert step["status"] == "cancelled"
    assert step["cancelled_at"] is not None
    with pytest.raises(Invalid):
        runs.submit_outputs(run, [{"tool_call_id": call_id, "output": "x"}])


async def test_usage_adds_up_over_a_runs_turns() -> None:
    runs = engine(CallTools([ToolCall("f", {"a": "one two"})]), Text("three words here"))
    thread = thread_with(runs, "Hi")
    run, _ = await settle(runs, thread)
    first = dict(run.obj["usage"])
    (call_id,) = run.open_calls
    runs.submit_outputs(run, [{"tool_call_id": call_id, "output": "x"}])
    await runs.settle(thread, run, Recorder())
    total = run.obj["usage"]
    assert total["completion_tokens"] > first["completion_tokens"]
    assert total["prompt_tokens"] > first["prompt_tokens"]
    assert total["total_tokens"] == total["prompt_tokens"] + total["completion_tokens"]
    steps = [s["usage"] for s in run.steps.values()]
    for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
        assert total[key] == sum(u[key] for u in steps)


@pytest.mark.parametrize("reason", ["max_completion_tokens", "max_prompt_tokens"])
async def test_an_incomplete_run_says_why(
    reason: Literal["max_completion_tokens", "max_prompt_tokens"],
) -> None:
    runs = engine(Incomplete(reason, "Par"))
    run, heard = await settle(runs, thread_with(runs, "Hi"))
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
) -> None:
    from assistants_async.testing import echo

    runs = RunEngine(responder=echo(), clock=FakeClock(), ids=SequentialIds())
    thread = thread_with(runs, "Weather in Paris?")
    run = runs.new_run(thread, {**ASSISTANT, "tools": [WEATHER]}, {"tool_choice": choice})
    await runs.settle(thread, run, Recorder())
    assert run.obj["status"] == "requires_action"
    (call,) = run.obj["required_action"]["submit_tool_outputs"]["tool_calls"]
    assert call["function"]["name"] == "get_weather"
    # Once the outputs are in, the model answers as it likes.
    runs.submit_outputs(run, [{"tool_call_id": call["id"], "output": "21C"}])
    await runs.settle(thread, run, Recorder())
    assert run.obj["status"] == "completed"


async def test_without_a_forced_choice_the_echo_answers_in_text() -> None:
    from assistants_async.testing import echo

    runs = RunEngine(responder=echo(), clock=FakeClock(), ids=SequentialIds())
    thread = thread_with(runs, "Hi")
    for choice in ("auto", "none"):
        run = runs.new_run(thread, {**ASSISTANT, "tools": [WEATHER]}, {"tool_choice": choice})
        await runs.settle(thread, run, Recorder())
        assert run.obj["status"] == "completed"
