"""Polling, the tool-call loop and streaming, end to end against the fake server."""

from __future__ import annotations

import asyncio
import inspect
import json
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from assistants_async import (
    APIConnectionError,
    APITimeoutError,
    AsyncClient,
    PollTimeoutError,
    StreamError,
    ToolCallError,
    ToolLoopLimitError,
)
from assistants_async._accumulate import accumulate_delta, plain
from assistants_async.models import (
    DoneEvent,
    TextDeltaBlock,
    ThreadCreated,
    ThreadMessageDelta,
    ThreadRunStepDelta,
    ToolCallsStepDetails,
    UnknownEvent,
)
from assistants_async.resources.runs import AsyncRuns, RunCreateParams
from assistants_async.resources.threads import AsyncThreads, ThreadCreateAndRunParams
from assistants_async.sync import Client
from assistants_async.testing import (
    FakeAssistantsServer,
    RunContext,
    Text,
    ToolCall,
    call_tools_then_answer,
    scripted,
)

ANSWER = "It is 21 degrees and sunny in Paris, with a light breeze."


def two_tools(ctx: RunContext) -> list[ToolCall]:
    return [ToolCall("get_weather", {"city": "Paris"}), ToolCall("get_time", {"tz": "CET"})]


def weather_answer(ctx: RunContext) -> str:
    return ANSWER if ctx.tool_outputs else "?"


@pytest.fixture
async def server() -> AsyncIterator[FakeAssistantsServer]:
    async with FakeAssistantsServer(
        responder=call_tools_then_answer(two_tools, weather_answer)
    ) as fake:
        yield fake


@pytest.fixture
async def client(server: FakeAssistantsServer) -> AsyncIterator[AsyncClient]:
    async with server.client() as c:
        yield c


async def setup(client: AsyncClient) -> tuple[str, str]:
    asst = await client.assistants.create(model="gpt-4o")
    thread = await client.threads.create(messages=[{"role": "user", "content": "Paris?"}])
    return asst.id, thread.id


# --- the tool-call loop ------------------------------------------------------------------------


async def test_the_tool_loop_runs_a_turns_calls_concurrently(client: AsyncClient) -> None:
    asst, thread = await setup(client)
    started: list[str] = []
    both_started = asyncio.Event()

    async def get_weather(city: str) -> dict[str, Any]:
        started.append("weather")
        if len(started) == 2:
            both_started.set()
        # Sequential calls would wait here forever: the other call never starts.
        await asyncio.wait_for(both_started.wait(), timeout=5)
        return {"city": city, "c": 21}

    def get_time(tz: str) -> str:  # a plain function: run in a worker thread
        started.append("time")
        if len(started) == 2:
            both_started.set()
        return f"10:00 {tz} in {threading.current_thread().name}"

    run = await client.runs.create_and_run_tools(
        thread, assistant_id=asst, functions={"get_weather": get_weather, "get_time": get_time}
    )
    assert run.status == "completed"
    assert sorted(started) == ["time", "weather"]
    steps = [s async for s in client.steps.list(thread, run.id, order="asc")]
    outputs = [c["function"]["output"] for c in steps[0].to_dict()["step_details"]["tool_calls"]]
    assert json.loads(outputs[0]) == {"city": "Paris", "c": 21}
    assert outputs[1].startswith("10:00 CET in ")
    assert "MainThread" not in outputs[1]
    messages = await client.messages.list(thread, limit=1)
    assert messages.data[0].to_dict()["content"][0]["text"]["value"] == ANSWER


async def test_a_failing_tool_is_reported_to_the_model_by_default(client: AsyncClient) -> None:
    asst, thread = await setup(client)

    def get_weather(city: str) -> str:
        raise ConnectionError("weather service down")

    run = await client.runs.create_and_run_tools(
        thread, assistant_id=asst, functions={"get_weather": get_weather}
    )
    assert run.status == "completed"
    steps = [s async for s in client.steps.list(thread, run.id, order="asc")]
    outputs = [
        json.loads(c["function"]["output"])
        for c in steps[0].to_dict()["step_details"]["tool_calls"]
    ]
    assert outputs[0] == {"error": "ConnectionError: weather service down"}
    assert outputs[1]["error"].startswith("LookupError: no function named 'get_time'")


async def test_on_error_raise_stops_the_loop(client: AsyncClient) -> None:
    asst, thread = await setup(client)

    def get_weather(city: str) -> str:
        raise ValueError("no such city")

    with pytest.raises(ToolCallError) as info:
        await client.runs.create_and_run_tools(
            thread,
            assistant_id=asst,
            functions={"get_weather": get_weather, "get_time": str},
            on_error="raise",
        )
    assert info.value.name == "get_weather"
    assert info.value.run.status == "requires_action"
    assert isinstance(info.value.__cause__, ValueError)


async def test_max_turns_bounds_the_loop(server: FakeAssistantsServer, client: AsyncClient) -> None:
    server.responder = call_tools_then_answer([ToolCall("again")], "never")

    async def always_again(ctx: RunContext) -> Any:
        return await call_tools_then_answer([ToolCall("again")])(
            RunContext(ctx.assistant, ctx.run, ctx.messages, [])
        )

    server.responder = always_again
    asst, thread = await setup(client)
    with pytest.raises(ToolLoopLimitError) as info:
        await client.runs.create_and_run_tools(
            thread, assistant_id=asst, functions={"again": lambda: "once more"}, max_turns=3
        )
    assert info.value.run.status == "requires_action"
    submitted = [r for r in server.requests if r.operation == "submitToolOuputsToRun"]
    assert len(submitted) == 3


# --- polling --------------------------------------------------------------------------------


async def test_polling_honours_openai_poll_after_ms() -> None:
    slept: list[float] = []

    async def record(seconds: float) -> None:
        slept.append(seconds)

    server = FakeAssistantsServer(progress="per_retrieve", poll_after_ms=250)
    async with server, server.client() as client:
        client._transport.sleep = record
        asst = await client.assistants.create(model="gpt-4o")
        run = await client.threads.create_and_run_poll(assistant_id=asst.id)
    assert run.status == "completed"
    # each retrieve moves the run one step: in_progress (wait what the server asked), completed
    assert slept == [0.25]
    gets = [r for r in server.requests if r.operation == "getRun"]
    assert len(gets) == 2


async def test_an_explicit_interval_wins(server: FakeAssistantsServer) -> None:
    server.progress = "per_retrieve"
    server.responder = scripted([Text("ok")])
    async with server.client() as client:
        slept: list[float] = []

        async def record(seconds: float) -> None:
            slept.append(seconds)

        client._transport.sleep = record
        asst, thread = await setup(client)
        run = await client.runs.create_and_poll(thread, assistant_id=asst, poll_interval=0.01)
    assert run.status == "completed"
    assert slept == [0.01]


async def test_polling_times_out_with_the_last_run() -> None:
    server = FakeAssistantsServer(progress="timer", timer_interval=60)
    async with server, server.client() as client:
        asst = await client.assistants.create(model="gpt-4o")
        run = await client.threads.create_and_run(assistant_id=asst.id)
        with pytest.raises(PollTimeoutError) as info:
            await client.runs.poll(run.thread_id, run.id, timeout=0.3)
    assert info.value.run.id == run.id
    assert info.value.run.status == "queued"
    assert "still queued after polling for 0.3 s" in str(info.value)


async def test_a_look_cut_short_by_the_deadline_ends_in_poll_timeout() -> None:
    server = FakeAssistantsServer(progress="timer", timer_interval=60, poll_after_ms=None)
    async with server, server.client(max_retries=0) as client:
        asst = await client.assistants.create(model="gpt-4o")
        run = await client.threads.create_and_run(assistant_id=asst.id)
        real_sleep = client._transport.sleep

        async def sleep_then_slow_server(seconds: float) -> None:
            # The second look will outlast the poll's deadline.
            server.faults.delay("getRun", seconds=1)
            await real_sleep(seconds)

        client._transport.sleep = sleep_then_slow_server
        with pytest.raises(PollTimeoutError) as info:
            await client.runs.poll(run.thread_id, run.id, interval=0.1, timeout=0.25)
    assert info.value.run.id == run.id
    assert info.value.run.status == "queued"
    looks = [r for r in server.requests if r.operation == "getRun"]
    assert len(looks) == 2


async def test_submit_tool_outputs_and_poll(client: AsyncClient) -> None:
    asst, thread = await setup(client)
    run = await client.runs.create_and_poll(thread, assistant_id=asst)
    assert run.status == "requires_action"
    assert run.required_action is not None
    outputs = [
        {"tool_call_id": c.id, "output": "x"}
        for c in run.required_action.submit_tool_outputs.tool_calls
    ]
    run = await client.runs.submit_tool_outputs_and_poll(thread, run.id, tool_outputs=outputs)
    assert run.status == "completed"


@pytest.mark.parametrize("bad", [0, -1, float("inf")])
async def test_bad_poll_settings_are_refused(client: AsyncClient, bad: float) -> None:
    with pytest.raises(ValueError, match="timeout"):
        await client.runs.poll("thread_1", "run_1", timeout=bad)


# --- streaming -----------------------------------------------------------------------------


async def test_a_stream_yields_the_events_in_order(
    server: FakeAssistantsServer, client: AsyncClient
) -> None:
    server.responder = scripted([Text(ANSWER)])
    asst, thread = await setup(client)
    async with client.runs.stream(thread, assistant_id=asst) as stream:
        names = [event.event async for event in stream]
        assert stream.done
    pieces = ANSWER.split(" ")
    assert names == [
        "thread.run.created",
        "thread.run.queued",
        "thread.run.in_progress",
        "thread.run.step.created",
        "thread.run.step.in_progress",
        "thread.message.created",
        "thread.message.in_progress",
        *["thread.message.delta"] * len(pieces),
        "thread.message.completed",
        "thread.run.step.completed",
        "thread.run.completed",
        "done",
    ]


async def test_text_deltas_reassemble_the_exact_answer(
    server: FakeAssistantsServer, client: AsyncClient
) -> None:
    server.responder = scripted([Text(ANSWER)])
    asst, thread = await setup(client)
    async with client.runs.stream(thread, assistant_id=asst) as stream:
        text = "".join([piece async for piece in stream.text_deltas()])
        run = await stream.final_run()
        (message,) = await stream.final_messages()
        snapshot = stream.message_snapshot(message.id)
    assert text == ANSWER
    assert run.status == "completed"
    assert message.to_dict()["content"][0]["text"]["value"] == ANSWER
    assert snapshot == message


async def test_a_loop_that_leaves_text_deltas_early_then_reads_events_gets_events(
    server: FakeAssistantsServer, client: AsyncClient
) -> None:
    """text_deltas() reads a plain delta for its text alone; a loop over the stream
    after it (its generator not yet closed) gets typed events, the rest of the text in
    them, and the snapshot holds every piece."""
    server.responder = scripted([Text(ANSWER)])
    asst, thread = await setup(client)
    async with client.runs.stream(thread, assistant_id=asst) as stream:
        pieces = stream.text_deltas()
        first = [await pieces.__anext__(), await pieces.__anext__()]
        events = [event async for event in stream]  # ``pieces`` still open
        (message,) = await stream.final_messages()
        snapshot = stream.message_snapshot(message.id)
        await pieces.aclose()
    assert all(isinstance(e.event, str) for e in events)  # no marker among them
    rest = [
        part.text.value
        for e in events
        if isinstance(e, ThreadMessageDelta)
        for part in e.data.delta.content or ()
        if isinstance(part, TextDeltaBlock) and part.text and part.text.value
    ]
    assert "".join(first + rest) == ANSWER
    assert len(rest) > 1
    assert snapshot == message


async def test_a_reply_with_a_lone_surrogate_completes_with_u_fffd_in_its_place(
    server: FakeAssistantsServer, client: AsyncClient
) -> None:
    """A responder's text that no store can keep as it is (a lone surrogate) is kept
    and told with U+FFFD in its place; a pair is its character."""
    server.responder = scripted([Text("a\ud83d\ude00 b\ud83d")])
    asst, thread = await setup(client)
    run = await client.runs.create_and_poll(thread, assistant_id=asst)
    messages = [m async for m in client.messages.list(thread, order="asc")]
    assert run.status == "completed"
    assert messages[-1].to_dict()["content"][0]["text"]["value"] == "a\U0001f600 b\ufffd"


async def test_a_stream_through_a_tool_call_continues_with_submit_tool_outputs_stream(
    client: AsyncClient,
) -> None:
    asst, thread = await setup(client)
    async with client.runs.stream(thread, assistant_id=asst) as stream:
        events = [event async for event in stream]
        run = await stream.final_run()
        step_deltas = [e for e in events if isinstance(e, ThreadRunStepDelta)]
        # As the service did: each call's arguments arrive in several pieces.
        assert len(step_deltas) > len(["get_weather", "get_time"]) * 2
        assert len({e.data.id for e in step_deltas}) == 1
        step = stream.step_snapshot(step_deltas[0].data.id)
    assert run.status == "requires_action"
    assert run.required_action is not None
    calls = run.required_action.submit_tool_outputs.tool_calls
    assert [c.function.name for c in calls] == ["get_weather", "get_time"]
    # the streamed step deltas add up to the calls the run asks for
    assert isinstance(step.step_details, ToolCallsStepDetails)
    streamed = step.step_details.tool_calls
    assert [(c.id, c.function.name, c.function.arguments) for c in streamed] == [  # type: ignore[union-attr]
        (c.id, c.function.name, c.function.arguments) for c in calls
    ]
    outputs = [{"tool_call_id": c.id, "output": "ok"} for c in calls]
    async with client.runs.submit_tool_outputs_stream(thread, run.id, tool_outputs=outputs) as s:
        text = "".join([piece async for piece in s.text_deltas()])
        final = await s.final_run()
    assert text == ANSWER
    assert final.status == "completed"


async def test_create_and_run_stream_starts_with_the_thread(
    server: FakeAssistantsServer, client: AsyncClient
) -> None:
    server.responder = scripted([Text("hello")])
    asst = await client.assistants.create(model="gpt-4o")
    async with client.threads.create_and_run_stream(
        assistant_id=asst.id, thread={"messages": [{"role": "user", "content": "hi"}]}
    ) as stream:
        events = [e async for e in stream]
    assert isinstance(events[0], ThreadCreated)
    assert isinstance(events[-1], DoneEvent)


async def test_an_error_event_raises(server: FakeAssistantsServer, client: AsyncClient) -> None:
    server.responder = scripted([Text(ANSWER)])
    asst, thread = await setup(client)
    server.faults.error_in_stream("createRun", after_events=4, message="model overloaded")
    seen = []

    async def consume() -> None:
        async with client.runs.stream(thread, assistant_id=asst) as stream:
            async for event in stream:
                seen.append(event.event)

    with pytest.raises(StreamError, match="model overloaded") as info:
        await consume()
    assert len(seen) == 4
    assert info.value.type == "server_error"


async def test_a_stream_cut_mid_event_is_a_connection_error(
    server: FakeAssistantsServer, client: AsyncClient
) -> None:
    server.responder = scripted([Text(ANSWER)])
    asst, thread = await setup(client)
    server.faults.cut_stream("createRun", after_events=6)
    with pytest.raises(APIConnectionError):
        async with client.runs.stream(thread, assistant_id=asst) as stream:
            await stream.until_done()
    # the client is still usable
    assert (await client.threads.retrieve(thread)).id == thread


async def test_leaving_a_stream_early_leaves_no_open_connection(
    server: FakeAssistantsServer,
) -> None:
    server.responder = scripted([Text(ANSWER)] * 3)
    # One connection in the pool: a leaked one would make the next call wait, then time out.
    async with server.client(max_connections=1, max_retries=0) as client:
        asst, thread = await setup(client)
        async with client.runs.stream(thread, assistant_id=asst) as stream:
            async for event in stream:
                if isinstance(event, ThreadMessageDelta):
                    break
        try:
            retrieved = await client.threads.retrieve(thread, timeout=5)
        except APITimeoutError:  # pragma: no cover - the failure this test exists for
            pytest.fail("the stream's connection was not released")
        assert retrieved.id == thread
        session = client._transport._session
        assert session is not None
        assert len(session.connector._acquired) == 0  # type: ignore[union-attr]


async def test_unknown_events_are_delivered() -> None:
    app = web.Application()

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b'event: thread.run.paused\ndata: {"id": "run_1"}\n\n')
        await response.write(b": keep-alive\n\nevent: done\ndata: [DONE]\n\n")
        return response

    app.router.add_post("/v1/threads/thread_1/runs", handler)
    test_server = TestServer(app, host="127.0.0.1")
    await test_server.start_server()
    try:
        url = str(test_server.make_url("/v1"))
        async with (
            AsyncClient(api_key="sk", base_url=url) as c,
            c.runs.stream("thread_1", assistant_id="asst_1") as stream,
        ):
            events = [e async for e in stream]
    finally:
        await test_server.close()
    assert isinstance(events[0], UnknownEvent)
    assert events[0].event == "thread.run.paused"
    assert isinstance(events[1], DoneEvent)


# --- the blocking shim gets them too -------------------------------------------------------------


async def test_the_blocking_client_streams_polls_and_runs_tools(
    server: FakeAssistantsServer,
) -> None:
    assert server.url is not None
    url = server.url

    def blocking() -> tuple[str, str, str]:
        with Client(api_key="sk-fake", base_url=url) as client:
            asst = client.assistants.create(model="gpt-4o")
            thread = client.threads.create(messages=[{"role": "user", "content": "Paris?"}])
            run = client.runs.create_and_run_tools(
                thread.id,
                assistant_id=asst.id,
                functions={"get_weather": lambda city: {"c": 21}, "get_time": lambda tz: "10:00"},
            )
            server.responder = scripted([Text(ANSWER)])
            with client.runs.stream(thread.id, assistant_id=asst.id) as stream:
                text = "".join(stream.text_deltas())
            with client.runs.stream(thread.id, assistant_id=asst.id) as stream:
                first = next(iter(stream))
            polled = client.runs.poll(thread.id, run.id)
            return run.status, text, f"{first.event} {polled.status}"

    status, text, rest = await asyncio.to_thread(blocking)
    assert status == "completed"
    assert text == ANSWER
    assert rest == "thread.run.created completed"


# --- the helpers take exactly the operations' parameters --------------------------------------


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        (AsyncRuns.create, RunCreateParams),
        (AsyncThreads.create_and_run, ThreadCreateAndRunParams),
    ],
)
def test_helper_parameters_match_the_operation(operation: Any, params: type) -> None:
    signature = inspect.signature(operation)
    keywords = {p.name for p in signature.parameters.values() if p.kind is p.KEYWORD_ONLY} - {
        "assistant_id"
    }
    assert set(params.__annotations__) == keywords
    for name in keywords:
        declared = params.__annotations__[name]
        text = getattr(declared, "__forward_arg__", declared)  # a ForwardRef on 3.10-3.13
        # A key left out of the helper's keywords is the operation's NOT_GIVEN.
        assert text == signature.parameters[name].annotation.replace(" | NotGiven", ""), name


async def test_a_wrong_keyword_to_a_helper_is_a_type_error(client: AsyncClient) -> None:
    with pytest.raises(TypeError, match="colour"):
        await client.runs.create_and_poll("thread_1", assistant_id="a", colour="red")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="colour"):
        client.runs.stream("thread_1", assistant_id="a", colour="red")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="colour"):
        client.threads.create_and_run_stream(assistant_id="a", colour="red")  # type: ignore[call-arg]


def test_deltas_merge_by_index_or_by_position() -> None:
    # a snapshot from a created event carries no indexes; deltas do
    snapshot: dict[str, Any] = {
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a"'}}
        ]
    }
    accumulate_delta(
        snapshot,
        {
            "tool_calls": [
                {"index": 0, "function": {"arguments": ": 1}"}},
                {
                    "index": 1,
                    "id": "c2",
                    "type": "function",
                    "function": {"name": "g", "arguments": ""},
                },
            ]
        },
    )
    accumulate_delta(snapshot, {"tool_calls": [{"index": 1, "function": {"arguments": "{}"}}]})
    calls = plain(snapshot)["tool_calls"]
    assert [(c["id"], c["function"]["name"], c["function"]["arguments"]) for c in calls] == [
        ("c1", "f", '{"a": 1}'),
        ("c2", "g", "{}"),
    ]
