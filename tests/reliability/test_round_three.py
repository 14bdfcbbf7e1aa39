"""Hardening, round three: each case is a reproduction that failed before its fix."""

from __future__ import annotations

import asyncio
import copy
import gzip
import io
import json
import sys
from collections.abc import AsyncIterator
from types import FrameType
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from assistants_async import AsyncClient, ResponseValidationError, _accumulate
from assistants_async.models import RunStep
from assistants_async.testing import FakeAssistantsServer

from ..payloads import ASSISTANT


@pytest.fixture
async def fake() -> AsyncIterator[FakeAssistantsServer]:
    async with FakeAssistantsServer() as server:
        yield server


# --- 1. client.request() stays under the base URL -------------------------------------


@pytest.fixture
async def elsewhere() -> AsyncIterator[tuple[str, list[str]]]:
    """Another server on loopback, recording what reaches it."""
    seen: list[str] = []

    async def record(request: web.Request) -> web.Response:
        seen.append(f"{request.method} {request.path} {request.headers.get('api-key')}")
        return web.json_response({})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield f"127.0.0.1:{server.port}", seen
    await server.close()


@pytest.mark.parametrize(
    "path",
    [
        "@{elsewhere}/x",
        "x",
        "/../x",
        "/../__fake__/reset",
        "/%2e%2e/__fake__/reset",
        "/%2E%2e/__fake__/reset",
        "/.%2e/__fake__/reset",
        "/assistants/../../__fake__/reset",
        "/assistants/%2e%2e/%2E%2E/__fake__/reset",
        "/assistants/..\\..\\__fake__\\reset",
        "/assistants\r\nX-Injected: 1",
        "/assistants/ x",
    ],
)
async def test_a_request_path_must_stay_under_the_base_url(
    fake: FakeAssistantsServer, elsewhere: tuple[str, list[str]], path: str
) -> None:
    where, seen = elsewhere
    path = path.format(elsewhere=where)
    root = str(fake.url).removesuffix("/v1")
    async with fake.client() as made:
        await made.assistants.create(model="m")  # something a reset would forget
    for base in (fake.url, root):
        async with AsyncClient(api_key="sk-secret", base_url=base, auth="api-key") as client:
            for call in (client.request, client.request_raw):
                with pytest.raises(ValueError, match="path"):
                    await call("GET", path)
            with pytest.raises(ValueError, match="path"):
                await client.open_stream("POST", path)
    assert seen == []
    assert not any("__fake__" in r.path for r in fake.requests)
    assert [r.path for r in fake.requests] == ["/v1/assistants"]


async def test_a_plain_path_with_dots_inside_a_segment_is_sent(fake: FakeAssistantsServer) -> None:
    async with fake.client() as client:
        asst = await client.assistants.create(model="m")
        got = await client.request("GET", f"/assistants/{asst.id}", cast_to=None)
        assert got["id"] == asst.id
        missing = await client.request_raw("GET", "/assistants?limit=1")
        assert missing.status_code == 200
    assert fake.requests[-1].path == "/v1/assistants"


# --- 2. a cursor cycle ends the walk with an error naming the cursor -------------------


async def cycling(cursors: list[str]) -> AsyncIterator[AsyncClient]:
    """A list whose pages' last ids follow ``cursors``, has_more always true."""
    calls = 0

    async def handle(request: web.Request) -> web.Response:
        nonlocal calls
        cursor = cursors[calls % len(cursors)]
        calls += 1
        item = {**ASSISTANT, "id": cursor}
        return web.json_response(
            {
                "object": "list",
                "data": [item],
                "first_id": cursor,
                "last_id": cursor,
                "has_more": True,
            }
        )

    app = web.Application()
    app.router.add_get("/v1/assistants", handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with AsyncClient(api_key="k", base_url=str(server.make_url("/v1"))) as client:
            yield client
    finally:
        await server.close()


async def walk(client: AsyncClient, seen: list[str]) -> None:
    async for item in client.assistants.list():
        seen.append(item.id)
        assert len(seen) < 50, "the walk did not stop"


@pytest.mark.parametrize("cursors", [["a", "b"], ["a", "b", "c"], ["a"]])
async def test_a_cursor_that_comes_back_ends_the_walk_with_an_error(cursors: list[str]) -> None:
    async for client in cycling(cursors):
        seen: list[str] = []
        with pytest.raises(ResponseValidationError, match=f"'{cursors[0]}'") as caught:
            await walk(client, seen)
        assert seen == cursors
        assert "cursor" in str(caught.value)
        with pytest.raises(ResponseValidationError):
            async for _ in client.assistants.list(before="z"):
                pass


# --- 3. deltas that open items at new indexes cost the same each ------------------------


def lines_run(make_delta: Any, deltas: int, snapshot: dict[str, Any]) -> int:
    """Lines of the stream module run to merge ``deltas`` deltas: a count, not a time,
    so the same on any machine. Constant work per delta makes it linear in ``deltas``."""
    count = 0

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal count
        if frame.f_code.co_filename != _accumulate.__file__:
            return None
        if event == "line":
            count += 1
        return tracer

    previous = sys.gettrace()  # coverage's, when the suite runs under it
    sys.settrace(tracer)
    try:
        for i in range(deltas):
            delta = make_delta(i)
            if not _accumulate.append_text(snapshot, delta):
                _accumulate.accumulate_delta(snapshot, delta)
    finally:
        sys.settrace(previous)
    return count


def tool_call(i: int) -> dict[str, Any]:
    call = {"index": i, "id": f"call_{i}", "type": "function", "function": {"name": "f"}}
    return {"step_details": {"type": "tool_calls", "tool_calls": [call]}}


def content_part(i: int) -> dict[str, Any]:
    return {"content": [{"index": i, "type": "text", "text": {"value": f"part {i}"}}]}


@pytest.mark.parametrize(
    ("make_delta", "start"),
    [
        (tool_call, {"step_details": {"type": "tool_calls", "tool_calls": []}}),
        (content_part, {"content": []}),
    ],
)
def test_each_delta_opening_a_new_index_costs_the_same(
    make_delta: Any, start: dict[str, Any]
) -> None:
    small = lines_run(make_delta, 500, copy.deepcopy(start))
    large = lines_run(make_delta, 2_000, copy.deepcopy(start))
    # Four times the deltas: four times the lines when each costs the same (a scan per
    # delta made it sixteen).
    assert large / small < 4.5, (small, large)


def test_items_opened_by_deltas_merge_by_index_whatever_their_order() -> None:
    snapshot: dict[str, Any] = {"step_details": {"type": "tool_calls", "tool_calls": []}}
    for i in (2, 0, 1):
        _accumulate.accumulate_delta(snapshot, tool_call(i))
    for i in (0, 1, 2):
        arguments = {"index": i, "function": {"arguments": f'{{"n": {i}}}'}}
        _accumulate.accumulate_delta(
            snapshot, {"step_details": {"type": "tool_calls", "tool_calls": [arguments]}}
        )
    calls = _accumulate.plain(snapshot)["step_details"]["tool_calls"]
    assert [(c["id"], c["function"]["arguments"]) for c in calls] == [
        ("call_2", '{"n": 2}'),
        ("call_0", '{"n": 0}'),
        ("call_1", '{"n": 1}'),
    ]


# --- 4. a caller's session with its own raise_for_status or auto_decompress ------------


@pytest.fixture
async def strict_server() -> AsyncIterator[tuple[str, list[str]]]:
    """POST /v1/assistants: 400 with the API's message; GET: a gzip-encoded 200."""
    posts: list[str] = []

    async def create(request: web.Request) -> web.Response:
        posts.append(await request.text())
        return web.json_response(
            {
                "error": {
                    "message": "model is required",
                    "type": "invalid_request_error",
                    "param": "model",
                    "code": None,
                }
            },
            status=400,
        )

    async def retrieve(request: web.Request) -> web.Response:
        body = gzip.compress(json.dumps(ASSISTANT).encode())
        return web.Response(
            body=body, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}
        )

    app = web.Application()
    app.router.add_post("/v1/assistants", create)
    app.router.add_get("/v1/assistants/asst_1", retrieve)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("/v1")), posts
    await server.close()


@pytest.mark.parametrize("options", [{"raise_for_status": True}, {"auto_decompress": False}, {}])
async def test_a_callers_session_settings_do_not_change_what_the_client_does(
    strict_server: tuple[str, list[str]], options: dict[str, Any]
) -> None:
    import aiohttp

    from assistants_async import BadRequestError, NotFoundError

    url, posts = strict_server
    async with (
        aiohttp.ClientSession(**options) as session,
        AsyncClient(api_key="k", base_url=url, session=session) as client,
    ):
        with pytest.raises(BadRequestError) as caught:
            await client.assistants.create(model="m")
        assert caught.value.message == "model is required"
        assert caught.value.param == "model"
        assert len(posts) == 1  # a 400 is not retried
        asst = await client.assistants.retrieve("asst_1")
        assert asst.id == ASSISTANT["id"]
        with pytest.raises(NotFoundError):  # a stream's error status, as the API's error
            async with client.runs.stream("thread_1", assistant_id="a") as stream:
                await stream.until_done()


# --- 5. a stream read once holds about one event, whatever its length -----------------


@pytest.fixture
async def long_stream() -> AsyncIterator[str]:
    """A run streaming 10,000 deltas of 1 KB into one message (10 MB in all)."""
    from ..payloads import MESSAGE, RUN

    piece = "x" * 1024

    def event(name: str, data: Any) -> bytes:
        return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()

    async def handle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        message = {**MESSAGE, "role": "assistant", "status": "in_progress", "content": []}
        await response.write(event("thread.run.created", RUN))
        await response.write(event("thread.message.created", message))
        delta = event(
            "thread.message.delta",
            {
                "id": MESSAGE["id"],
                "object": "thread.message.delta",
                "delta": {"content": [{"index": 0, "type": "text", "text": {"value": piece}}]},
            },
        )
        for _ in range(100):
            await response.write(delta * 100)
        await response.write(event("thread.run.completed", {**RUN, "status": "completed"}))
        await response.write(b"event: done\ndata: [DONE]\n\n")
        return response

    app = web.Application()
    app.router.add_post("/v1/threads/thread_1/runs", handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("/v1"))
    await server.close()


async def peak_while_reading(url: str, *, snapshots: bool) -> int:
    import tracemalloc

    async with AsyncClient(api_key="k", base_url=url, max_response_size=1024 * 1024) as client:
        stream = client.runs.stream("thread_1", assistant_id="a")
        if not snapshots:
            stream = stream.without_snapshots()
        tracemalloc.start()
        try:
            async with stream:
                pieces = 0
                async for _ in stream.text_deltas():
                    pieces += 1
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert pieces == 10_000
    return peak


async def test_a_stream_without_snapshots_holds_about_one_event(long_stream: str) -> None:
    without = await peak_while_reading(long_stream, snapshots=False)
    kept = await peak_while_reading(long_stream, snapshots=True)
    assert kept > 10_000 * 1024  # the snapshot holds the whole text
    # The client's own machinery and read buffers, not the 10 MB that went through.
    assert without < 4 * 1024 * 1024


async def test_snapshots_refused_when_off_and_the_choice_made_before_reading(
    long_stream: str,
) -> None:
    async with AsyncClient(api_key="k", base_url=long_stream) as client:
        async with client.runs.stream("thread_1", assistant_id="a").without_snapshots() as s:
            run = await s.final_run()
            assert run.status == "completed"
            with pytest.raises(RuntimeError, match="no snapshots"):
                s.message_snapshot("msg_1")
        async with client.runs.stream("thread_1", assistant_id="a") as s:
            async for _ in s:
                break
            with pytest.raises(RuntimeError, match="before reading"):
                s.without_snapshots()


# --- 6. raw errors and wrong messages ------------------------------------------------


@pytest.mark.parametrize("retry", ["²", "9" * 5000, "١٢"])
def test_a_retry_field_that_is_no_ascii_number_is_ignored(retry: str) -> None:
    from assistants_async._sse import parse_sse

    (event,) = parse_sse(f"retry: {retry}\nevent: ping\ndata: x\n\n")
    assert event.retry is None
    assert event.data == "x"


def deeply_nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"x": value}
    return value


async def test_a_deep_value_received_is_refused_clearly_when_sent_back(
    fake: FakeAssistantsServer,
) -> None:
    from assistants_async.models import FunctionTool

    parameters = deeply_nested(900)
    tool = FunctionTool.from_dict(
        {"type": "function", "function": {"name": "f", "parameters": parameters}}
    )
    with pytest.raises(ValueError, match="nested too deeply"):
        tool.to_dict()
    async with fake.client() as client:
        with pytest.raises(ValueError, match="nested too deeply"):
            await client.assistants.create(model="m", tools=[tool])
    assert len(fake.requests) == 0  # refused before anything was sent


@pytest.mark.parametrize(
    ("value", "said"),
    [
        (float("nan"), "nan (JSON has no such number)"),
        (float("inf"), "inf (JSON has no such number)"),
        ({1, 2}, "a set (JSON has none: use a list)"),
        (object(), "a object (not a JSON value)"),
    ],
)
async def test_a_value_that_is_not_json_is_named_for_what_it_is(
    fake: FakeAssistantsServer, value: Any, said: str
) -> None:
    async with fake.client() as client:
        with pytest.raises((ValueError, TypeError)) as caught:
            await client.assistants.create(model="m", temperature=value)
    assert said in str(caught.value)
    assert "but got a decimal" not in str(caught.value)


async def test_not_given_inside_a_value_says_what_it_is_for(fake: FakeAssistantsServer) -> None:
    from assistants_async import NOT_GIVEN

    async with fake.client() as client:
        with pytest.raises((ValueError, TypeError)) as caught:
            await client.assistants.create(
                model="m",
                tools=[{"type": "function", "function": {"name": "f", "description": NOT_GIVEN}}],
            )
    assert "NOT_GIVEN (it leaves out a whole argument" in str(caught.value)


# --- 7. vector stores are made only where the spec lets them be -------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda c, a, t: c.assistants.update(a, tool_resources=NEW_STORE),
        lambda c, a, t: c.threads.update(t, tool_resources=NEW_STORE),
        lambda c, a, t: c.threads.create_and_run(assistant_id=a, tool_resources=NEW_STORE),
    ],
)
async def test_vector_stores_cannot_be_made_where_the_spec_has_only_ids(
    fake: FakeAssistantsServer, call: Any
) -> None:
    from assistants_async import BadRequestError

    async with fake.client() as client:
        asst = await client.assistants.create(model="m", tool_resources=NEW_STORE)
        thread = await client.threads.create(tool_resources=NEW_STORE)
        sent = len(fake.requests)
        with pytest.raises((ValueError, BadRequestError), match="vector_stores"):
            await call(client, asst.id, thread.id)
    assert len(fake.requests) == sent  # the client refused it first


NEW_STORE: Any = {"file_search": {"vector_stores": [{"file_ids": ["file_1"]}]}}


# --- 8. a secret in the base URL's query stays hidden ---------------------------------


def test_a_key_in_the_base_urls_query_is_masked() -> None:
    client = AsyncClient(api_key="k", base_url="https://gw.example/v1?api-version=1&code=s3cret")
    assert "s3cret" not in repr(client)
    assert "code=***" in repr(client)
    with pytest.raises(ValueError, match="base_url") as caught:
        AsyncClient(api_key="k", base_url="gw.example/v1?code=s3cret")
    assert "s3cret" not in str(caught.value)


# --- 9. the fake server's memory under a flood ----------------------------------------


async def test_a_flood_of_large_refused_requests_keeps_the_log_within_its_bytes() -> None:
    import aiohttp

    async with (
        FakeAssistantsServer(api_key="sk-right") as server,
        aiohttp.ClientSession() as http,
    ):
        body = json.dumps({"model": "m", "pad": "x" * (900 * 1024)}).encode()
        for _ in range(60):  # 53 MiB refused: a wrong key
            async with http.post(
                f"{server.url}/assistants",
                data=io.BytesIO(body),
                headers={"Authorization": "Bearer sk-wrong", "Content-Type": "application/json"},
            ) as resp:
                assert resp.status == 401
        assert server.requests.bytes <= server.requests.max_bytes
        assert 0 < len(server.requests) < 60
        assert server.requests[-1].status == 401  # the newest is kept


def test_remembered_answers_are_bounded_by_bytes_too() -> None:
    from assistants_async.testing._idempotency import IdempotencyStore, Remembered

    store = IdempotencyStore(lambda: 0.0, max_bytes=10 * 1024)
    for i in range(50):
        store.put(("t", f"k{i}"), Remembered("f", 200, b"x" * 1024, "application/json", 0.0))
    assert store.bytes <= 10 * 1024
    assert len(store) == 10
    assert store.get(("t", "k49")) is not None
    assert store.get(("t", "k0")) is None


# --- 10. bad input to the fake server is a 400, never a 500 ---------------------------


async def test_deep_json_with_an_idempotency_key_is_a_400(fake: FakeAssistantsServer) -> None:
    import aiohttp

    body = '{"model": "m", "metadata": ' + "[" * 5000 + "]" * 5000 + "}"
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{fake.url}/assistants",
            data=body,
            headers={
                "Authorization": "Bearer sk",
                "OpenAI-Beta": "assistants=v2",
                "Content-Type": "application/json",
                "Idempotency-Key": "deep",
            },
        ) as resp,
    ):
        assert resp.status == 400
        assert "error" in await resp.json()


def _not_json(name: str) -> Any:
    raise AssertionError(f"{name} in the answer")


@pytest.mark.parametrize(
    ("path", "method", "body"),
    [
        ("/faults", "POST", '{"kind": "fail", "times": "x"}'),
        ("/faults", "POST", '{"kind": "fail", "status": 99}'),
        ("/faults", "POST", '{"kind": "fail", "status": true}'),
        ("/faults", "POST", '{"kind": "delay", "seconds": 1e999}'),
        ("/faults", "POST", '{"kind": "delay", "seconds": -1}'),
        ("/faults", "POST", '{"kind": "fail", "retry_after": Infinity}'),
        ("/faults", "POST", '{"kind": "stream_cut", "after_events": -2}'),
        ("/faults", "POST", '{"kind": "fail", "headers": {"x": "a\\r\\nb: c"}}'),
        ("/clock", "POST", '{"advance": NaN}'),
        ("/script", "POST", '{"replies": ' + "[" * 5000 + "]" * 5000 + "}"),
    ],
)
async def test_control_plane_input_is_checked_when_it_arrives(
    fake: FakeAssistantsServer, path: str, method: str, body: str
) -> None:
    import aiohttp

    root = str(fake.url).removesuffix("/v1")
    async with aiohttp.ClientSession() as http:
        async with http.request(method, f"{root}/__fake__{path}", data=body) as resp:
            assert resp.status == 400
            answer = await resp.text()
        json.loads(answer, parse_constant=_not_json)  # JSON, always: no bare Infinity
    # Nothing was taken in: every call still works.
    async with fake.client() as client:
        await client.assistants.create(model="m")


# --- 11. a rule that calls tools answers a run's first turn ---------------------------


async def test_a_tool_calling_rule_lets_the_tool_loop_finish(fake: FakeAssistantsServer) -> None:
    from assistants_async.testing import CallTools, ToolCall

    fake.script.rule("weather", CallTools([ToolCall("get_weather", {"city": "Oslo"})]))
    async with fake.client() as client:
        asst = await client.assistants.create(model="m")
        thread = await client.threads.create(messages=[{"role": "user", "content": "weather?"}])
        run = await client.runs.create_and_run_tools(
            thread.id, assistant_id=asst.id, functions={"get_weather": lambda city: "sunny"}
        )
    assert run.status == "completed"


async def test_a_json_rule_says_what_to_answer_once_the_outputs_are_in(
    fake: FakeAssistantsServer,
) -> None:
    fake.script.load(
        {
            "rules": [
                {
                    "match": "weather",
                    "reply": {
                        "type": "tool_calls",
                        "calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}],
                        "then": "In Oslo: {outputs}",
                    },
                },
                {"match": "again", "every_turn": True, "reply": {"type": "text", "text": "hi"}},
            ]
        }
    )
    async with fake.client() as client:
        asst = await client.assistants.create(model="m")
        thread = await client.threads.create(messages=[{"role": "user", "content": "weather?"}])
        run = await client.runs.create_and_run_tools(
            thread.id, assistant_id=asst.id, functions={"get_weather": lambda city: "sunny"}
        )
        messages = [m async for m in client.messages.list(thread.id, order="asc")]
    assert run.status == "completed"
    assert messages[-1].content[0].text.value == "In Oslo: sunny"  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="then"):
        fake.script.load(
            {"rules": [{"match": "x", "reply": {"type": "text", "text": "a", "then": "b"}}]}
        )


# --- 12. faithfulness -------------------------------------------------------------------


async def test_a_steps_usage_is_null_while_it_is_in_progress(fake: FakeAssistantsServer) -> None:
    from assistants_async.testing import CallTools, ToolCall

    fake.script.queue(CallTools([ToolCall("f")]))
    async with fake.client() as client:
        asst = await client.assistants.create(model="m")
        thread = await client.threads.create(messages=[{"role": "user", "content": "go"}])
        async with client.runs.stream(thread.id, assistant_id=asst.id) as stream:
            steps = [
                e.data
                async for e in stream
                if isinstance(e.data, RunStep) and e.event.startswith("thread.run.step.")
            ]
        run = await stream.final_run()
        (step,) = [s async for s in client.steps.list(thread.id, run.id)]
        assert step.status == "in_progress"
        assert step.usage is None
        assert step.completed_at is None
        assert all(s.usage is None for s in steps if s.status == "in_progress")
        assert run.required_action is not None
        call = run.required_action.submit_tool_outputs.tool_calls[0]
        await client.runs.submit_tool_outputs(
            thread.id, run.id, tool_outputs=[{"tool_call_id": call.id, "output": "x"}]
        )
        done = await client.steps.retrieve(thread.id, run.id, step.id)
        assert done.status == "completed"
        assert done.usage is not None
        assert done.usage.total_tokens > 0


@pytest.mark.parametrize(("beta", "said"), [(None, "must provide"), ("assistants=v1", "v1")])
async def test_the_assistants_beta_header_is_required_as_the_service_required_it(
    beta: str | None, said: str
) -> None:
    import aiohttp

    headers = {"Authorization": "Bearer sk"}
    if beta is not None:
        headers["OpenAI-Beta"] = beta
    async with (
        FakeAssistantsServer() as strict,
        FakeAssistantsServer(require_beta_header=False) as lenient,
        aiohttp.ClientSession(headers=headers) as http,
    ):
        async with http.post(f"{strict.url}/assistants", json={"model": "m"}) as resp:
            assert resp.status == 400
            error = (await resp.json())["error"]
            assert said in error["message"]
            assert error["code"] == "invalid_beta"
        async with http.post(f"{lenient.url}/assistants", json={"model": "m"}) as resp:
            assert resp.status == 200


async def test_reset_forgets_the_progress_mode_too(fake: FakeAssistantsServer) -> None:
    import aiohttp

    root = str(fake.url).removesuffix("/v1")
    async with aiohttp.ClientSession() as http:
        async with http.put(f"{root}/__fake__/progress", json={"progress": "per_retrieve"}):
            pass
        assert str(fake.progress) == "per_retrieve"
        async with http.post(f"{root}/__fake__/reset"):
            pass
    assert str(fake.progress) == "immediate"


# --- 13. the demo is offline whatever the environment says -----------------------------


async def run_demo(*args: str, env: dict[str, str] | None = None) -> bytes:
    """``python -m assistants_async demo *args``: its output, once it ended well."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-W",
        "error",
        "-m",
        "assistants_async",
        "demo",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()
    return out


async def test_the_demo_stays_offline_with_openai_base_url_set(
    elsewhere: tuple[str, list[str]],
) -> None:
    import os

    where, seen = elsewhere
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")},
        "OPENAI_BASE_URL": f"http://{where}/v1",  # as the README's CLI section exports
    }
    out = await run_demo(env=env)
    assert "Fake Assistants server on http://127.0.0.1" in out.decode()
    assert seen == []


async def test_a_demo_step_that_cannot_run_says_why(fake: FakeAssistantsServer) -> None:
    out = await run_demo("--base-url", str(fake.url), "--api-key", "sk")
    text = out.decode()
    assert "4. The run called no tool" in text  # the fake echoes: no call to make
    assert "5. No tool output to submit" in text
    assert text.rstrip().endswith("Done.")
