"""Compatible servers as they are: a tolerant client works with what they send and says
where it departs from the spec; a strict client refuses it, naming the field."""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from assistants_async import (
    APIConnectionError,
    AsyncClient,
    Deviation,
    ResponseValidationError,
    SpecDeviationWarning,
)
from assistants_async.models import (
    AssistantDeleted,
    Message,
    MessageDeleted,
    Page,
    Run,
    RunStep,
    Thread,
    ThreadDeleted,
)
from assistants_async.sync import Client

from . import threaded
from .deviant import (
    ASST_ID,
    CALL_ID,
    MSG_ID,
    NOW,
    RUN_ID,
    STEP_ID,
    THREAD_ID,
    DeviantServer,
    no_deviation_warnings,
)

A, T, M, R, S = ASST_ID, THREAD_ID, MSG_ID, RUN_ID, STEP_ID
OUTPUTS = [{"tool_call_id": CALL_ID, "output": "sunny"}]

# Each operation that returns an object: how to call it (the same on both clients), the
# field a strict client names, and a check of what a tolerant one decoded.
Call = Callable[[Any], Any]
OPERATIONS: dict[str, tuple[Call, str | None, Callable[[Any], bool]]] = {
    "createAssistant": (
        lambda c: c.assistants.create(model="gpt-4o"),
        "tools",
        lambda a: a.tools == [] and a.created_at == int(NOW) and a.response_format == "auto",
    ),
    "getAssistant": (lambda c: c.assistants.retrieve(A), "tools", lambda a: a.tools == []),
    "modifyAssistant": (
        lambda c: c.assistants.update(A, name="x"),
        "tools",
        lambda a: a.model_extra["updated_at"] == NOW and a.model_extra["file_ids"] == [],
    ),
    "deleteAssistant": (
        lambda c: c.assistants.delete(A),
        None,
        lambda d: isinstance(d, AssistantDeleted) and d.deleted,
    ),
    "createThread": (
        lambda c: c.threads.create(),
        "metadata",
        lambda t: (
            isinstance(t, Thread) and t.metadata is None and t.model_extra == {"metadata_": {}}
        ),
    ),
    "getThread": (lambda c: c.threads.retrieve(T), "metadata", lambda t: t.id == T),
    "modifyThread": (lambda c: c.threads.update(T, metadata={"k": "v"}), "metadata", bool),
    "deleteThread": (lambda c: c.threads.delete(T), None, lambda d: isinstance(d, ThreadDeleted)),
    "createThreadAndRun": (
        lambda c: c.threads.create_and_run(assistant_id=A),
        "parallel_tool_calls",
        lambda r: r.parallel_tool_calls is None and r.status == "requires_action",
    ),
    "createMessage": (
        lambda c: c.messages.create(T, role="user", content="Hi"),
        "status",
        lambda m: isinstance(m, Message) and m.status is None and m.completed_at is None,
    ),
    "getMessage": (lambda c: c.messages.retrieve(T, M), "status", lambda m: m.id == M),
    "modifyMessage": (lambda c: c.messages.update(T, M, metadata={}), "status", bool),
    "deleteMessage": (
        lambda c: c.messages.delete(T, M),
        None,
        lambda d: isinstance(d, MessageDeleted),
    ),
    "createRun": (
        lambda c: c.runs.create(T, assistant_id=A),
        "parallel_tool_calls",
        lambda r: isinstance(r, Run) and r.expires_at == int(NOW) + 600,
    ),
    "getRun": (lambda c: c.runs.retrieve(T, R), "parallel_tool_calls", bool),
    "modifyRun": (lambda c: c.runs.update(T, R, metadata={}), "parallel_tool_calls", bool),
    "cancelRun": (lambda c: c.runs.cancel(T, R), "parallel_tool_calls", bool),
    "submitToolOuputsToRun": (
        lambda c: c.runs.submit_tool_outputs(T, R, tool_outputs=OUTPUTS),
        "required_action.submit_tool_outputs",
        lambda r: r.required_action is None and r.status == "queued",
    ),
    "getRunStep": (
        lambda c: c.steps.retrieve(T, R, S),
        "expired_at",
        lambda s: isinstance(s, RunStep) and s.usage is None and s.expired_at is None,
    ),
    # The run helpers read runs as the client does.
    "poll (getRun)": (
        lambda c: c.runs.poll(T, R),
        "parallel_tool_calls",
        lambda r: r.status == "requires_action",
    ),
    "create_and_poll (createRun)": (
        lambda c: c.runs.create_and_poll(T, assistant_id=A),
        "parallel_tool_calls",
        lambda r: r.id == R,
    ),
    "listAssistants": (lambda c: c.assistants.list(), "data[0].tools", bool),
    "listMessages": (lambda c: c.messages.list(T), "data[0].status", bool),
    "listRuns": (lambda c: c.runs.list(T), "data[0].parallel_tool_calls", bool),
    "listRunSteps": (lambda c: c.steps.list(T, R), "data[0].expired_at", bool),
}


def same_field(path: str, found: list[Deviation]) -> bool:
    return path in {d.path for d in found}


@pytest.fixture
async def deviant() -> AsyncIterator[DeviantServer]:
    server = DeviantServer()
    await server.start()
    yield server
    await server.close()


async def call_async(client: AsyncClient, operation: str) -> Any:
    """An operation on the async client; a list is walked item by item (its deviations
    then come from the item decoder) and its first page also awaited."""
    result = OPERATIONS[operation][0](client)
    if operation.startswith("list"):
        items = [item async for item in result]
        page = await OPERATIONS[operation][0](client)
        assert isinstance(page, Page)
        assert [i.id for i in page.data] == [i.id for i in items]
        return items[0]
    return await result


def call_sync(client: Client, operation: str) -> Any:
    result = OPERATIONS[operation][0](client)
    return next(iter(result)) if operation.startswith("list") else result


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
async def test_a_tolerant_client_decodes_what_a_deviant_server_sends(
    deviant: DeviantServer, operation: str, caplog: pytest.LogCaptureFixture
) -> None:
    _, path, check = OPERATIONS[operation]
    async with AsyncClient(api_key="k", base_url=deviant.url) as client:
        assert client.strict is False
        if path is None:  # nothing deviates: nothing is said
            result = await call_async(client, operation)
            assert client.deviations == []
        else:
            with (
                pytest.warns(SpecDeviationWarning) as warned,
                caplog.at_level(logging.WARNING, "assistants_async"),
            ):
                result = await call_async(client, operation)
            assert same_field(path, client.deviations)
            first = warned[0].message
            assert isinstance(first, SpecDeviationWarning)
            assert first.deviation == client.deviations[0]
            assert any("spec deviation" in r.getMessage() for r in caplog.records)
        assert check(result)


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
async def test_a_strict_client_refuses_each_deviation_naming_its_path(
    deviant: DeviantServer, operation: str
) -> None:
    _, path, _ = OPERATIONS[operation]
    async with AsyncClient(api_key="k", base_url=deviant.url, strict=True) as client:
        if path is None:
            await call_async(client, operation)
            return
        with pytest.raises(ResponseValidationError) as caught:
            await call_async(client, operation)
    assert caught.value.path == path
    assert caught.value.body is not None
    assert caught.value.status_code == 200 or operation.startswith("list")


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
async def test_the_blocking_client_reads_the_same_way(
    deviant: DeviantServer, operation: str
) -> None:
    _, path, check = OPERATIONS[operation]

    def both() -> tuple[Any, list[Deviation], BaseException | None]:
        with Client(api_key="k", base_url=deviant.url) as tolerant:
            with no_deviation_warnings():
                result = call_sync(tolerant, operation)
            found = tolerant.deviations
        with Client(api_key="k", base_url=deviant.url, strict=True) as strict:
            try:
                call_sync(strict, operation)
            except ResponseValidationError as exc:
                return result, found, exc
        return result, found, None

    import asyncio

    result, found, error = await asyncio.to_thread(both)
    assert check(result)
    if path is None:
        assert found == []
        assert error is None
    else:
        assert isinstance(error, ResponseValidationError)
        assert error.path == path
        assert same_field(path, found)


async def test_each_kind_of_deviation_is_reported_once_per_client(deviant: DeviantServer) -> None:
    async with AsyncClient(api_key="k", base_url=deviant.url) as client:
        with warnings.catch_warnings(record=True) as warned:
            warnings.simplefilter("always")
            for _ in range(3):
                await client.assistants.retrieve(A)
        assert [type(w.message) for w in warned] == [SpecDeviationWarning]
        (deviation,) = client.deviations
        assert deviation == Deviation(
            operation="GET /assistants/{assistant_id}",
            model="Assistant",
            path="tools",
            expected="an array",
            got="null",
        )
        # A copy shares the record, and may be strict on its own.
        strict = client.with_options(strict=True)
        assert strict.strict
        assert not client.strict
        with pytest.raises(ResponseValidationError):
            await strict.assistants.retrieve(A)
        assert strict.deviations == client.deviations


async def test_a_test_suite_can_make_deviations_errors(deviant: DeviantServer) -> None:
    async with AsyncClient(api_key="k", base_url=deviant.url) as client:
        with warnings.catch_warnings():
            warnings.simplefilter("error", SpecDeviationWarning)
            with pytest.raises(SpecDeviationWarning, match=r"Assistant\.tools: expected an array"):
                await client.assistants.retrieve(A)


# --- streams ------------------------------------------------------------------------


@pytest.fixture
async def valid_streams() -> AsyncIterator[DeviantServer]:
    server = DeviantServer(valid=True)
    await server.start()
    yield server
    await server.close()


@pytest.fixture(params=["deviant", "valid"])
async def stream_server(request: pytest.FixtureRequest) -> AsyncIterator[DeviantServer]:
    server = DeviantServer(valid=request.param == "valid")
    await server.start()
    yield server
    await server.close()


async def test_stream_helpers_work_on_a_stream_without_done(stream_server: DeviantServer) -> None:
    async with AsyncClient(api_key="k", base_url=stream_server.url) as client:
        with no_deviation_warnings():
            async with client.runs.stream(T, assistant_id=A) as stream:
                text = [piece async for piece in stream.text_deltas()]
            async with client.runs.stream(T, assistant_id=A) as stream:
                run = await stream.final_run()
                messages = await stream.final_messages()
            async with client.threads.create_and_run_stream(assistant_id=A) as stream:
                resting = await stream.final_run()
            async with client.runs.submit_tool_outputs_stream(T, R, tool_outputs=OUTPUTS) as stream:
                submitted = await stream.final_run()
        assert text == ["Sunny"]
        assert run.id == stream_server.run["id"]
        assert submitted.id == stream_server.run["id"]
        assert [m.content[0].text.value for m in messages] == ["Sunny"]  # type: ignore[union-attr]
        assert resting.status == "requires_action"
        said = {(d.model, d.path, d.got) for d in client.deviations}
        assert ("stream", "", "the end of the stream") in said
        assert ("ThreadRunCompleted", "data.status", "'requires_action'") in said
        assert ("ThreadMessageCompleted", "data.status", "'in_progress'") in said


@pytest.mark.parametrize(
    "open_stream",
    [
        lambda c: c.runs.stream(T, assistant_id=A),
        lambda c: c.threads.create_and_run_stream(assistant_id=A),
        lambda c: c.runs.submit_tool_outputs_stream(T, R, tool_outputs=OUTPUTS),
    ],
)
async def test_a_strict_client_refuses_a_deviant_stream(
    valid_streams: DeviantServer, open_stream: Callable[[AsyncClient], Any]
) -> None:
    async with (
        AsyncClient(api_key="k", base_url=valid_streams.url, strict=True) as client,
        open_stream(client) as stream,
    ):
        with pytest.raises((ResponseValidationError, APIConnectionError)) as caught:
            await stream.until_done()
    if isinstance(caught.value, ResponseValidationError):
        assert caught.value.path == "data.status"
    else:  # the one deviation of the createThreadAndRun stream: no "done"
        assert "before its 'done' event" in str(caught.value)


async def test_a_stream_cut_before_the_run_rests_is_still_an_error(
    valid_streams: DeviantServer,
) -> None:
    events = valid_streams._events
    valid_streams._events = lambda path: events(path)[:-1]  # type: ignore[method-assign]
    async with AsyncClient(api_key="k", base_url=valid_streams.url) as client:
        with no_deviation_warnings():
            async with client.runs.stream(T, assistant_id=A) as stream:
                with pytest.raises(APIConnectionError, match="before its 'done' event"):
                    await stream.final_run()


@pytest.mark.parametrize("valid", [False, True])
def test_the_blocking_stream_helpers_work_on_a_stream_without_done(valid: bool) -> None:
    with (
        serving(DeviantServer(valid=valid)) as server,
        Client(api_key="k", base_url=server.url) as client,
    ):
        with no_deviation_warnings(), client.runs.stream(T, assistant_id=A) as stream:
            run = stream.final_run()
        assert run.id == server.run["id"]
        assert any(d.model == "stream" for d in client.deviations)


# --- the raw response, and errors that carry what came --------------------------------


async def test_with_raw_response_gives_the_response_even_when_it_does_not_decode(
    deviant: DeviantServer,
) -> None:
    async with AsyncClient(api_key="k", base_url=deviant.url, strict=True) as client:
        response = await client.with_raw_response(client.assistants.retrieve, A)
        assert response.status_code == 200
        assert response.raw.json()["tools"] is None
        with pytest.raises(ResponseValidationError) as caught:
            _ = response.parsed
        assert caught.value.path == "tools"
        with pytest.raises(ResponseValidationError):
            response.parse()
    async with AsyncClient(api_key="k", base_url=deviant.url) as client:
        with no_deviation_warnings():
            response = await client.with_raw_response(client.assistants.retrieve, A)
        assert response.parsed.tools == []


def test_the_blocking_with_raw_response_too() -> None:
    with (
        serving(DeviantServer()) as server,
        Client(api_key="k", base_url=server.url, strict=True) as client,
    ):
        response = client.with_raw_response(client.threads.retrieve, T)
        assert response.raw.json()["metadata_"] == {}
        with pytest.raises(ResponseValidationError, match="metadata"):
            response.parse()


def serving(server: DeviantServer) -> Any:
    return threaded.serving(server, DeviantServer.start, DeviantServer.close)


async def test_an_undecodable_body_error_carries_the_body_and_request_id() -> None:
    from aiohttp import web
    from aiohttp.test_utils import TestServer

    async def html(request: web.Request) -> web.Response:
        return web.Response(
            text="<html>Welcome</html>", content_type="text/html", headers={"x-request-id": "req_9"}
        )

    async def other(request: web.Request) -> web.Response:
        return web.json_response(
            {"id": "t", "object": "thread", "created_at": 1}, headers={"x-request-id": "req_8"}
        )

    app = web.Application()
    app.router.add_get("/v1/assistants/a", html)
    app.router.add_get("/v1/assistants/b", other)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with AsyncClient(api_key="k", base_url=str(server.make_url("/v1"))) as client:
            with pytest.raises(ResponseValidationError) as caught:
                await client.assistants.retrieve("a")
            assert caught.value.body == "<html>Welcome</html>"
            assert caught.value.request_id == "req_9"
            assert "req_9" in str(caught.value)
            # Another object's ``object``: no meaning to give it, tolerant or not.
            with pytest.raises(ResponseValidationError) as caught:
                await client.assistants.retrieve("b")
            assert caught.value.path == "object"
            assert caught.value.request_id == "req_8"
            assert client.deviations == []
    finally:
        await server.close()


# --- what the user most likely got wrong -----------------------------------------------


async def test_a_404_from_a_base_url_without_a_version_path_says_to_check_for_v1(
    deviant: DeviantServer,
) -> None:
    from assistants_async import NotFoundError

    root = deviant.url.removesuffix("/v1")
    async with AsyncClient(api_key="k", base_url=root) as client:
        with pytest.raises(NotFoundError, match="missing '/v1'"):
            await client.assistants.retrieve(A)
    async with AsyncClient(api_key="k", base_url=root + "/v2") as client:
        with pytest.raises(NotFoundError) as caught:
            await client.assistants.retrieve(A)
        assert "/v1" not in str(caught.value)


async def test_a_connection_failure_to_the_retired_api_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import aiohttp
    from aiohttp.abc import AbstractResolver, ResolveResult

    class Loopback(AbstractResolver):
        """api.openai.com resolved to a closed loopback port: no network is used."""

        async def resolve(self, host: str, port: int = 0, family: int = 0) -> list[ResolveResult]:
            return [
                {
                    "hostname": host,
                    "host": "127.0.0.1",
                    "port": closed_port,
                    "family": 2,
                    "proto": 0,
                    "flags": 0,
                }
            ]

        async def close(self) -> None:
            pass

    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    async with (
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(resolver=Loopback())) as s,
        AsyncClient(api_key="k", session=s, max_retries=0) as client,
    ):
        assert client.base_url == "https://api.openai.com/v1"
        with pytest.raises(APIConnectionError) as caught:
            await client.assistants.retrieve(A)
    text = str(caught.value)
    assert "retired on 2026-08-26" in text
    assert "OPENAI_BASE_URL" in text


# --- what a hostile server cannot do to the record ---------------------------------------


async def serve_json(body: Any) -> tuple[TestServer, str]:
    async def handle(request: web.Request) -> web.Response:
        return web.json_response(body, headers={"x-request-id": "req_7"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server, str(server.make_url("/v1"))


async def test_no_response_can_fill_the_record_of_deviations() -> None:
    from .payloads import ASSISTANT

    keys = {f"k]{i}": 1 for i in range(1200)}  # map keys holding the path's own "]"
    server, url = await serve_json({**ASSISTANT, "metadata": keys, "object": "assistant"})
    try:
        async with AsyncClient(api_key="k", base_url=url) as client:
            with no_deviation_warnings():
                for _ in range(3):
                    await client.assistants.retrieve(A)
            assert [d.path for d in client.deviations] == ["metadata['k]0']"]
    finally:
        await server.close()


async def test_a_servers_long_strings_are_cut_in_what_is_kept() -> None:
    from .payloads import THREAD

    server, url = await serve_json({**THREAD, "object": "x" * 100_000})
    try:
        async with AsyncClient(api_key="k", base_url=url) as client:
            with pytest.raises(ResponseValidationError) as caught:
                await client.threads.retrieve(T)
            assert len(str(caught.value)) < 400
            assert caught.value.request_id == "req_7"
    finally:
        await server.close()


async def test_a_warning_made_an_error_still_records_and_logs_every_kind(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from .payloads import ASSISTANT

    server, url = await serve_json(
        {**ASSISTANT, "tools": None, "metadata": {"a": 1}, "temperature": "x"}
    )
    try:
        async with AsyncClient(api_key="k", base_url=url) as client:
            with warnings.catch_warnings(), caplog.at_level(logging.WARNING, "assistants_async"):
                warnings.simplefilter("error", SpecDeviationWarning)
                with pytest.raises(SpecDeviationWarning):
                    await client.assistants.retrieve(A)
            assert {d.path for d in client.deviations} == {"tools", "metadata['a']", "temperature"}
            assert sum("spec deviation" in r.getMessage() for r in caplog.records) == 3
    finally:
        await server.close()


async def test_a_field_the_spec_does_not_have_never_deviates() -> None:
    from .payloads import RUN

    for value in (None, {"code_interpreter": {"file_ids": "x"}}, 7):
        server, url = await serve_json({**RUN, "tool_resources": value})
        try:
            async with AsyncClient(api_key="k", base_url=url, strict=True) as client:
                run = await client.runs.retrieve(T, R)
            assert run.model_extra == {}
            assert client.deviations == []
        finally:
            await server.close()


async def test_an_item_error_in_a_walk_names_its_response() -> None:
    from .payloads import ASSISTANT

    page = {
        "object": "list",
        "data": [ASSISTANT, {**ASSISTANT, "id": 5}],
        "first_id": "a",
        "last_id": "b",
        "has_more": False,
    }
    server, url = await serve_json(page)
    try:
        async with AsyncClient(api_key="k", base_url=url) as client:
            with pytest.raises(ResponseValidationError) as caught:
                async for _ in client.assistants.list():
                    pass
        assert caught.value.path == "data[1].id"
        assert caught.value.request_id == "req_7"
        assert caught.value.status_code == 200
    finally:
        await server.close()


@pytest.mark.parametrize(
    "tail",
    [
        b'event: thread.message.delta\ndata: {"id": "msg_1", "obj',
        b"event: thread.run.st",
        b"event: done\ndata: [DONE]\n",
        b"\xe2\x82",  # half a character
    ],
)
async def test_a_stream_cut_inside_an_event_after_the_run_ends_is_still_an_error(
    tail: bytes,
) -> None:
    from .payloads import RUN

    async def handle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        completed = json.dumps({**RUN, "status": "completed"})
        await response.write(f"event: thread.run.completed\ndata: {completed}\n\n".encode())
        await response.write(tail)
        return response

    app = web.Application()
    app.router.add_post("/v1/threads/{thread_id}/runs", handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with AsyncClient(api_key="k", base_url=str(server.make_url("/v1"))) as client:
            async with client.runs.stream(T, assistant_id=A) as stream:
                with pytest.raises(APIConnectionError, match="before its 'done' event"):
                    await stream.until_done()
            assert client.deviations == []
    finally:
        await server.close()


def test_threads_decoding_a_type_for_the_first_time_all_get_it() -> None:
    import sys
    import threading

    from assistants_async._decoding import converter, fast, reader
    from assistants_async._decoding.converter import structure

    from .payloads import RUN

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for _ in range(5):
            for cache in (reader._READERS, fast._CACHE, converter._READY):
                cache.clear()
            failures: list[BaseException] = []
            start = threading.Barrier(8)

            def decode(start: threading.Barrier, failures: list[BaseException]) -> None:
                start.wait()
                try:
                    assert structure(RUN, Run).id == RUN["id"]
                except BaseException as exc:
                    failures.append(exc)

            threads = [threading.Thread(target=decode, args=(start, failures)) for _ in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert failures == []
    finally:
        sys.setswitchinterval(interval)
