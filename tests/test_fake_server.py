"""The fake server's rules, each with the exact status and error fields, on each store
(``any_store``)."""

from __future__ import annotations

import asyncio
import re
import string
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from multidict import CIMultiDict

from assistants_async import (
    APITimeoutError,
    AsyncClient,
    BadRequestError,
    NotFoundError,
    RateLimitError,
)
from assistants_async._validators import Invalid
from assistants_async.server import MemoryStore, Store
from assistants_async.server import _ids as ids_module
from assistants_async.testing import (
    FakeAssistantsServer,
    FakeClock,
    SequentialIds,
    Text,
    ToolCall,
    call_tools_then_answer,
    random_ids,
    scripted,
)

AUTH = {"Authorization": "Bearer sk-fake"}


@pytest.fixture
async def server(any_store: Store) -> AsyncIterator[FakeAssistantsServer[Store]]:
    async with FakeAssistantsServer(
        ids=SequentialIds(), clock=FakeClock(), store=any_store
    ) as fake:
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers={"OpenAI-Beta": "assistants=v2"}) as session:
        yield session


async def call(
    http: aiohttp.ClientSession,
    server: FakeAssistantsServer[Store],
    method: str,
    path: str,
    *,
    json: Any = None,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any], CIMultiDict[str]]:
    async with http.request(
        method,
        f"{server.url}{path}",
        json=json,
        data=data,
        headers=AUTH if headers is None else headers,
    ) as resp:
        return resp.status, await resp.json(), CIMultiDict(resp.headers)


def error(body: dict[str, Any]) -> tuple[str, str | None, str | None]:
    err = body["error"]
    assert set(err) == {"message", "type", "param", "code"}
    return err["type"], err["param"], err["code"]


async def make_thread(
    http: aiohttp.ClientSession, server: FakeAssistantsServer[Store]
) -> tuple[str, str]:
    _, asst, _ = await call(http, server, "POST", "/assistants", json={"model": "gpt-4o"})
    _, thread, _ = await call(http, server, "POST", "/threads", json={})
    return asst["id"], thread["id"]


# --- errors: 404, 400, 401 ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/assistants/asst_nope", "No assistant found with id 'asst_nope'."),
        ("/threads/thread_nope", "No thread found with id 'thread_nope'."),
        ("/threads/thread_nope/messages", "No thread found with id 'thread_nope'."),
        ("/threads/thread_nope/runs/run_1", "No thread found with id 'thread_nope'."),
    ],
)
async def test_unknown_ids_are_404(
    http: aiohttp.ClientSession, server: FakeAssistantsServer[Store], path: str, message: str
) -> None:
    status, body, headers = await call(http, server, "GET", path)
    assert status == 404
    assert body["error"]["message"] == message
    assert error(body) == ("invalid_request_error", None, None)
    assert headers["x-request-id"].startswith("req_")


async def test_unknown_nested_ids_are_404(
    http: aiohttp.ClientSession, server: FakeAssistantsServer[Store]
) -> None:
    _, thread_id = await make_thread(http, server)
    for path, what in [
        (f"/threads/{thread_id}/messages/msg_x", "message"),
        (f"/threads/{thread_id}/runs/run_x", "run"),
        (f"/threads/{thread_id}/runs/run_x/steps", "run"),
    ]:
        status, body, _ = await call(http, server, "GET", path)
        assert status == 404
        assert body["error"]["message"].startswith(f"No {what} found with id")


async def test_an_unknown_body_field_is_400(
    http: aiohttp.ClientSession, server: FakeAssistantsServer[Store]
) -> None:
    status, body, _ = await call(
        http, server, "POST", "/assistants", json={"model": "gpt-4o", "colour": "red"}
    )
    assert status == 400
    assert error(body) == ("invalid_request_error", "colour", "unknown_parameter")
    assert body["error"]["message"] == "Unknown parameter: 'colour'."


async def test_a_nested_unknown_field_names_its_path(
    http: aiohttp.ClientSession, server: FakeAssistantsServer[Store]
) -> None:
    status, body, _ = await call(
        http,
        server,
        "POST",
        "/assistants",
        json={"model": "m", "tools": [{"type": "function", "function": {"name": "f", "x": 1}}]},
    )
    assert status == 400
    assert error(body) == ("invalid_request_error", "tools[0].function.x", "unknown_parameter")


@pytest.mark.parametrize(
    ("payload", "param", "code"),
    [
        ({"model": 42}, "model", "invalid_type"),
        ({"model": "m", "temperature": "hot"}, "temperature", "invalid_type"),
        ({"model": "m", "temperature": 3}, "temperature", "decimal_above_max_value"),
        ({"model": "m", "tools": {}}, "tools", "invalid_type"),
        ({"model": "m", "tools": [{"type": "browser"}]}, "tools[0].type", "invalid_value"),
        ({"model": "m", "metadata": {"k": 1}}, "metadata.k", "invalid_type"),
        (
            {"model": "m", "metadata": {f"k{i}": "v" for i in range(17)}},
            "metadata",
            "object_above_max_properties",
        ),
        ({"name": "no model"}, "model", "missing_required_parameter"),
    ],
)
async def test_wrong_types_and_missing_fields_are_400(
    http: aiohttp.ClientSession,
    server: FakeAssistantsServer[Store],
    payload: dict[str, Any],
    param: str,
    code: str,
) -> None:
    status, body, _ = await call(http, server, "POST", "/assistants", json=payload)
    assert status == 400
    assert error(body) == ("invalid_request_error", param, code)


async def test_a_body_that_is_not_json_is_400(
    http: aiohttp.ClientSession, server: FakeAssistantsServer[Store]
) -> None:
    status, body, _ = await call(
        http,
        server,
        "POST",
        "/assistants",
        data=b"{not json",
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert status == 400
    assert "could not parse the JSON body" in body["error"]["message"]


@pytest.mark.parametrize(
    ("query", "param", "code"),
    [
        ("limit=0", "limit", "integer_below_min_value"),
        ("limit=101", "limit", "integer_above_max_value"),
        ("limit=ten", "limit", "invalid_type"),
        ("order=newest", "order", "invalid_value"),
        ("after=asst_unknown", "after", "invalid_value"),
        ("before=asst_unknown", "before", "invalid_value"),
    ],
)
async def test_bad_query_values_are_400(
    http: aiohttp.ClientSession,
    server: FakeAssistantsServer[Store],
    query: str,
    param: str,
    code: str,
) -> None:
    status, body, _ = await call(http, server, "GET", f"/assistants?{query}")
    assert status == 400
    assert error(body) == ("invalid_request_error", param, code)


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer "}, {"Authorization": "Basic abc"}]
)
async def test_no_bearer_token_is_401(
    http: aiohttp.ClientSession, server: FakeAssistantsServer[Store], headers: dict[str, str]
) -> None:
    status, body, _ = await call(http, server, "GET", "/assistants", headers=headers)
    assert status == 401
    assert error(body) == ("invalid_request_error", None, None)
    assert "didn't provide an API key" in body["error"]["message"]


async def test_a_wrong_key_is_401_when_the_server_has_one(
    http: aiohttp.ClientSession, any_store: Store
) -> None:
    async with FakeAssistantsServer(api_key="sk-right", store=any_store) as server:
        status, body, _ = await call(
            http, server, "GET", "/assistants", headers={"Authorization": "Bearer sk-wrong"}
        )
        assert status == 401
        assert error(body) == ("invalid_request_error", None, "invalid_api_key")
        assert "sk-wrong" not in str(body)
        ok, _, _ = await call(
            http, server, "GET", "/assistants", headers={"Authorization": "Bearer sk-right"}
        )
        assert ok == 200


async def test_an_unknown_route_is_a_404_envelope(
    http: aiohttp.ClientSession, server: FakeAssistantsServer[Store]
) -> None:
    status, body, _ = await call(http, server, "GET", "/files")
    assert status == 404
    assert error(body)[0] == "invalid_request_error"


# --- threads and runs ------------------------------------------------------------------------


async def test_a_thread_has_one_active_run_and_takes_no_messages_meanwhile(
    server: FakeAssistantsServer[Store],
) -> None:
    server.progress = "per_retrieve"
    async with server.client() as client:
        asst = await client.assistants.create(model="gpt-4o")
        thread = await client.threads.create()
        run = await client.runs.create(thread.id, assistant_id=asst.id)
        with pytest.raises(BadRequestError) as info:
            await client.runs.create(thread.id, assistant_id=asst.id)
        assert info.value.message == f"Thread {thread.id} already has an active run {run.id}."
        assert info.value.type == "invalid_request_error"
        with pytest.raises(BadRequestError) as info:
            await client.messages.create(thread.id, role="user", content="more")
        assert (
            info.value.message
            == f"Can't add messages to {thread.id} while a run {run.id} is active."
        )
        await client.runs.cancel(thread.id, run.id)
        await client.runs.retrieve(thread.id, run.id)  # cancelling -> cancelled
        await client.messages.create(thread.id, role="user", content="now it works")
        second = await client.runs.create(thread.id, assistant_id=asst.id)
        assert second.status == "queued"


async def test_the_store_keeps_one_active_run_when_the_engines_check_is_raced(
    server: FakeAssistantsServer[Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    server.progress = "per_retrieve"

    async def nothing_active(tenant: str, thread_id: str) -> None:
        return None  # as if the other run began after this check

    async with server.client() as client:
        asst = await client.assistants.create(model="gpt-4o")
        thread = await client.threads.create()
        run = await client.runs.create(thread.id, assistant_id=asst.id)
        monkeypatch.setattr(server.engine, "active_run", nothing_active)
        with pytest.raises(BadRequestError) as info:
            await client.runs.create(thread.id, assistant_id=asst.id)
        assert info.value.message == f"Thread {thread.id} already has an active run {run.id}."


async def test_deleting_a_thread_deletes_its_messages_and_runs(
    server: FakeAssistantsServer[Store],
) -> None:
    async with server.client() as client:
        asst = await client.assistants.create(model="gpt-4o")
        thread = await client.threads.create(messages=[{"role": "user", "content": "hi"}])
        run = await client.runs.create(thread.id, assistant_id=asst.id)
        (message,) = (await client.messages.list(thread.id)).data[-1:]
        deleted = await client.threads.delete(thread.id)
        assert deleted.deleted
        for call_ in (
            client.threads.retrieve(thread.id),
            client.messages.retrieve(thread.id, message.id),
            client.runs.retrieve(thread.id, run.id),
        ):
            with pytest.raises(NotFoundError):
                await call_


async def test_an_idempotency_key_returns_the_first_result(
    http: aiohttp.ClientSession, server: FakeAssistantsServer[Store]
) -> None:
    headers = {**AUTH, "Idempotency-Key": "key-1"}
    first = await call(http, server, "POST", "/assistants", json={"model": "m"}, headers=headers)
    again = await call(http, server, "POST", "/assistants", json={"model": "m"}, headers=headers)
    other = await call(
        http,
        server,
        "POST",
        "/assistants",
        json={"model": "m"},
        headers={**AUTH, "Idempotency-Key": "key-2"},
    )
    assert first[1] == again[1]
    assert other[1]["id"] != first[1]["id"]
    _, listing, _ = await call(http, server, "GET", "/assistants")
    assert len(listing["data"]) == 2


async def test_a_retried_run_create_starts_one_run(server: FakeAssistantsServer[Store]) -> None:
    async with server.client() as client:
        asst = await client.assistants.create(model="gpt-4o")
        thread = await client.threads.create()
        # The first attempt is handled, then its answer is lost; the retry must not start
        # a second run (which would also fail: "already has an active run").
        server.progress = "per_retrieve"
        server.faults.fail_next("createRun", status=500, retry_after_ms=1)
        run = await client.runs.create(thread.id, assistant_id=asst.id)
        runs = [r async for r in client.runs.list(thread.id)]
    assert [r.id for r in runs] == [run.id]


# --- the run's life --------------------------------------------------------------------------


async def test_per_retrieve_moves_one_step_per_retrieve(
    server: FakeAssistantsServer[Store],
) -> None:
    server.progress = "per_retrieve"
    async with server.client() as client:
        asst = await client.assistants.create(model="gpt-4o")
        thread = await client.threads.create(messages=[{"role": "user", "content": "Echo me"}])
        run = await client.runs.create(thread.id, assistant_id=asst.id)
        statuses = [run.status]
        for _ in range(3):
            statuses.append((await client.runs.retrieve(thread.id, run.id)).status)
        messages = [m async for m in client.messages.list(thread.id, order="asc")]
    assert statuses == ["queued", "in_progress", "completed", "completed"]
    assert [m.role for m in messages] == ["user", "assistant"]
    assert messages[1].content[0].to_dict()["text"]["value"] == "Echo me"
    assert messages[1].run_id == run.id


async def test_timer_progress_completes_on_its_own(any_store: Store) -> None:
    server = FakeAssistantsServer(progress="timer", timer_interval=0.01, store=any_store)
    async with server, server.client() as client:
        asst = await client.assistants.create(model="gpt-4o")
        run = await client.threads.create_and_run(
            assistant_id=asst.id, thread={"messages": [{"role": "user", "content": "hi"}]}
        )
        assert run.status == "queued"
        for _ in range(200):
            run = await client.runs.retrieve(run.thread_id, run.id)
            if run.status == "completed":
                break
            await asyncio.sleep(0.01)
    assert run.status == "completed"


async def test_a_tool_turn_then_the_answer(server: FakeAssistantsServer[Store]) -> None:
    server.responder = call_tools_then_answer(
        [ToolCall("get_weather", {"city": "Paris"}), ToolCall("get_time", {"tz": "CET"})],
        "Answer: {outputs}",
    )
    async with server.client() as client:
        asst = await client.assistants.create(model="gpt-4o")
        thread = await client.threads.create(messages=[{"role": "user", "content": "Paris?"}])
        run = await client.runs.create(thread.id, assistant_id=asst.id)
        run = await client.runs.retrieve(thread.id, run.id)
        assert run.status == "requires_action"
        assert run.required_action is not None
        calls = run.required_action.submit_tool_outputs.tool_calls
        assert [(c.function.name, c.function.arguments) for c in calls] == [
            ("get_weather", '{"city": "Paris"}'),
            ("get_time", '{"tz": "CET"}'),
        ]
        assert all(c.id.startswith("call_") for c in calls)
        steps = [s async for s in client.steps.list(thread.id, run.id)]
        assert [(s.type, s.status) for s in steps] == [("tool_calls", "in_progress")]
        # not exactly the open call ids: refused
        with pytest.raises(BadRequestError) as info:
            await client.runs.submit_tool_outputs(
                thread.id, run.id, tool_outputs=[{"tool_call_id": calls[0].id, "output": "x"}]
            )
        assert info.value.param == "tool_outputs"
        await client.runs.submit_tool_outputs(
            thread.id,
            run.id,
            tool_outputs=[
                {"tool_call_id": calls[0].id, "output": "21C"},
                {"tool_call_id": calls[1].id, "output": "10:00"},
            ],
        )
        run = await client.runs.retrieve(thread.id, run.id)
        assert run.status == "completed"
        assert run.usage is not None
        assert run.usage.total_tokens == run.usage.prompt_tokens + run.usage.completion_tokens
        steps = [s async for s in client.steps.list(thread.id, run.id, order="asc")]
        assert [(s.type, s.status) for s in steps] == [
            ("tool_calls", "completed"),
            ("message_creation", "completed"),
        ]
        detail = steps[0].to_dict()["step_details"]["tool_calls"]
        assert [c["function"]["output"] for c in detail] == ["21C", "10:00"]
        last = (await client.messages.list(thread.id, limit=1)).data[0]
        assert last.to_dict()["content"][0]["text"]["value"] == "Answer: 21C 10:00"
        # a completed run takes no more outputs
        with pytest.raises(BadRequestError, match='Runs in status "completed" do not accept'):
            await client.runs.submit_tool_outputs(
                thread.id, run.id, tool_outputs=[{"tool_call_id": calls[0].id, "output": "x"}]
            )


@pytest.mark.parametrize(
    ("reply", "status", "field", "value"),
    [
        (
            __import__("assistants_async.testing", fromlist=["Fail"]).Fail(
                "rate_limit_exceeded", "slow"
            ),
            "failed",
            "last_error",
            {"code": "rate_limit_exceeded", "message": "slow"},
        ),
        (
            __import__("assistants_async.testing", fromlist=["Incomplete"]).Incomplete(
                "max_prompt_tokens"
            ),
            "incomplete",
            "incomplete_details",
            {"reason": "max_prompt_tokens"},
        ),
    ],
)
async def test_failed_and_incomplete_runs(
    server: FakeAssistantsServer[Store], reply: Any, status: str, field: str, value: Any
) -> None:
    server.responder = scripted([reply])
    async with server.client() as client:
        asst = await client.assistants.create(model="gpt-4o")
        run = await client.threads.create_and_run(assistant_id=asst.id)
        run = await client.runs.retrieve(run.thread_id, run.id)
    assert run.status == status
    assert run.to_dict()[field] == value


async def test_a_responder_that_raises_fails_the_run_visibly(
    server: FakeAssistantsServer[Store],
) -> None:
    async def broken(ctx: Any) -> Text:
        raise KeyError("city")

    server.responder = broken
    async with server.client() as client:
        asst = await client.assistants.create(model="gpt-4o")
        run = await client.threads.create_and_run(assistant_id=asst.id)
        run = await client.runs.retrieve(run.thread_id, run.id)
    assert run.status == "failed"
    assert run.last_error is not None
    assert "KeyError" in run.last_error.message


async def test_a_run_expires_on_the_injected_clock(any_store: Store) -> None:
    clock = FakeClock()
    async with (
        FakeAssistantsServer(
            clock=clock, responder=call_tools_then_answer([ToolCall("f")]), store=any_store
        ) as server,
        server.client() as client,
    ):
        asst = await client.assistants.create(model="gpt-4o")
        run = await client.threads.create_and_run(assistant_id=asst.id)
        assert (await client.runs.retrieve(run.thread_id, run.id)).status == "requires_action"
        clock.advance(601)
        run = await client.runs.retrieve(run.thread_id, run.id)
        steps = [s async for s in client.steps.list(run.thread_id, run.id)]
    assert run.status == "expired"
    assert [s.status for s in steps] == ["expired"]


async def test_cancel_goes_through_cancelling(server: FakeAssistantsServer[Store]) -> None:
    server.progress = "per_retrieve"
    async with server.client() as client:
        asst = await client.assistants.create(model="gpt-4o")
        run = await client.threads.create_and_run(assistant_id=asst.id)
        cancelling = await client.runs.cancel(run.thread_id, run.id)
        cancelled = await client.runs.retrieve(run.thread_id, run.id)
        with pytest.raises(BadRequestError, match="Cannot cancel run with status 'cancelled'"):
            await client.runs.cancel(run.thread_id, run.id)
    assert cancelling.status == "cancelling"
    assert cancelled.status == "cancelled"
    assert cancelled.cancelled_at is not None


async def test_injected_clock_and_ids(server: FakeAssistantsServer[Store]) -> None:
    async with server.client() as client:
        first = await client.assistants.create(model="gpt-4o")
        second = await client.assistants.create(model="gpt-4o")
        thread = await client.threads.create(messages=[{"role": "user", "content": "x"}])
    assert (first.id, second.id, thread.id) == ("asst_000001", "asst_000002", "thread_000001")
    assert first.created_at == 1_700_000_000


def test_random_ids_are_24_letters_and_digits_all_used(monkeypatch: pytest.MonkeyPatch) -> None:
    made = [random_ids("msg") for _ in range(2000)]
    assert all(re.fullmatch(r"msg_[A-Za-z0-9]{24}", i) for i in made)
    assert len(set(made)) == len(made)
    assert set("".join(i[4:] for i in made)) == set(string.ascii_letters + string.digits)
    # Bytes from 248 up would favour some characters: dropped, and more read if need be.
    reads = iter([bytes([255] * 9 + [0] * 23), bytes(range(32))])
    monkeypatch.setattr(ids_module, "random_bytes", lambda n: next(reads))
    assert random_ids("x") == "x_" + (string.ascii_letters + string.digits)[:24]


# --- for tests: faults, the request log, reset ------------------------------------------------


async def test_injected_failures_are_retried_by_the_client(
    server: FakeAssistantsServer[Store],
) -> None:
    server.faults.fail_next("createAssistant", times=2, status=503, retry_after_ms=5)
    async with server.client() as client:
        asst = await client.assistants.create(model="gpt-4o")
    statuses = [(r.operation, r.status) for r in server.requests]
    assert statuses == [
        ("createAssistant", 503),
        ("createAssistant", 503),
        ("createAssistant", 200),
    ]
    assert asst.id.startswith("asst_")


async def test_a_failure_with_retry_after_beyond_the_cap_is_raised(
    server: FakeAssistantsServer[Store],
) -> None:
    server.faults.fail_next("getThread", status=429, retry_after=3600)
    async with server.client() as client:
        thread = await client.threads.create()
        with pytest.raises(RateLimitError) as info:
            await client.threads.retrieve(thread.id)
    assert info.value.retry_after == 3600
    assert len(server.requests) == 2


async def test_a_dropped_connection_is_retried(server: FakeAssistantsServer[Store]) -> None:
    server.faults.drop_next("listAssistants")
    async with server.client() as client:
        page = await client.assistants.list()
    assert page.data == []
    assert [r.operation for r in server.requests] == ["listAssistants", "listAssistants"]


async def test_latency_can_be_added(server: FakeAssistantsServer[Store]) -> None:
    server.faults.delay("getAssistant", seconds=5)
    async with server.client(max_retries=0, timeout=0.2) as client:
        asst = await client.assistants.create(model="gpt-4o")
        with pytest.raises(APITimeoutError):
            await client.assistants.retrieve(asst.id)


async def test_the_request_log_redacts_the_key_and_reset_forgets_everything(
    server: FakeAssistantsServer[Store],
) -> None:
    async with server.client(api_key="sk-live-secret") as client:
        asst = await client.assistants.create(model="gpt-4o", name="N")
        logged = server.requests[0]
        assert (logged.method, logged.path, logged.operation) == (
            "POST",
            "/v1/assistants",
            "createAssistant",
        )
        assert logged.body == {"model": "gpt-4o", "name": "N"}
        assert logged.headers["Authorization"] == "Bearer ***"
        assert "sk-live-secret" not in repr(server.requests)
        if isinstance(server.store, MemoryStore):
            server.reset()
        else:  # a store that forgets by I/O
            await server.areset()
        assert len(server.requests) == 0
        with pytest.raises(NotFoundError):
            await client.assistants.retrieve(asst.id)


async def test_the_pytest_plugin_fixtures(
    fake_assistants_server: FakeAssistantsServer[Store], fake_assistants_client: AsyncClient
) -> None:
    asst = await fake_assistants_client.assistants.create(model="gpt-4o")
    assert fake_assistants_server.requests[-1].operation == "createAssistant"
    assert (await fake_assistants_client.assistants.retrieve(asst.id)) == asst


async def test_the_idempotency_cache_is_bounded(
    http: aiohttp.ClientSession,
    server: FakeAssistantsServer[Store],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(server.idempotency, "size", 3)
    for i in range(5):
        headers = {**AUTH, "Idempotency-Key": f"k{i}"}
        await call(http, server, "POST", "/assistants", json={"model": "m"}, headers=headers)
    # the oldest key was forgotten: replaying it creates anew; the newest still replays
    await call(
        http,
        server,
        "POST",
        "/assistants",
        json={"model": "m"},
        headers={**AUTH, "Idempotency-Key": "k0"},
    )
    await call(
        http,
        server,
        "POST",
        "/assistants",
        json={"model": "m"},
        headers={**AUTH, "Idempotency-Key": "k4"},
    )
    _, listing, _ = await call(http, server, "GET", "/assistants?limit=100")
    assert len(listing["data"]) == 6


async def test_a_responder_may_answer_in_parts_as_a_model_streams() -> None:
    from assistants_async.testing import RunContext, TextDelta, ToolCallDelta, Usage

    async def parts(ctx: RunContext) -> AsyncIterator[Any]:
        if not ctx.tool_outputs:
            yield TextDelta("Looking ")
            yield TextDelta("it up.")
            yield ToolCallDelta(0, "lookup", '{"q": ')
            yield ToolCallDelta(0, arguments='"x"}')
        else:
            yield TextDelta(f"Found {ctx.tool_outputs[0].output}.")
        yield Usage(9, 3)

    async def responder(ctx: RunContext) -> AsyncIterator[Any]:
        return parts(ctx)

    async with FakeAssistantsServer(responder=responder) as fake:
        assert fake.url is not None
        async with AsyncClient(api_key="sk-fake", base_url=fake.url, max_retries=0) as client:
            asst = await client.assistants.create(model="gpt-4o")
            thread = await client.threads.create(messages=[{"role": "user", "content": "x?"}])
            async with client.runs.stream(thread.id, assistant_id=asst.id) as stream:
                said = "".join([piece async for piece in stream.text_deltas()])
                run = await stream.final_run()
            assert said == "Looking it up."
            assert run.status == "requires_action"
            assert run.required_action is not None
            (call,) = run.required_action.submit_tool_outputs.tool_calls
            assert (call.function.name, call.function.arguments) == ("lookup", '{"q": "x"}')
            run = await client.runs.submit_tool_outputs_and_poll(
                thread.id, run.id, tool_outputs=[{"tool_call_id": call.id, "output": "it"}]
            )
            assert run.status == "completed"
            assert run.usage is not None
            assert run.usage.total_tokens == 24


async def test_a_responders_run_check_and_slots_show_through_the_script() -> None:
    """A responder that refuses runs as they are created (as the Chat Completions one
    does) refuses them in the fake too, behind the script."""

    class Picky:
        slots = asyncio.Semaphore(1)

        def check_run(self, run: dict[str, Any], messages: list[dict[str, Any]]) -> None:
            if run["tools"]:
                raise Invalid("No tools here.", param="tools[0]", code="unsupported_tool")

        async def __call__(self, ctx: Any) -> Text:
            return Text("fine")

    picky = Picky()
    async with FakeAssistantsServer(responder=picky) as server, server.client() as client:
        asst = await client.assistants.create(model="m")
        thread = await client.threads.create()
        with pytest.raises(BadRequestError) as caught:
            await client.runs.create(
                thread.id, assistant_id=asst.id, tools=[{"type": "code_interpreter"}]
            )
        assert caught.value.param == "tools[0]"
        run = await client.runs.create_and_poll(thread.id, assistant_id=asst.id)
        assert run.status == "completed"
        assert not picky.slots.locked()  # taken for the turn and given back
