"""What a mutation sample showed untested on the client: each case kills a mutant that
survived the suite (a line changed, and nothing failed)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from assistants_async import AsyncClient, BadRequestError, ClientClosedError, InternalServerError
from assistants_async._errors import error_from_response
from assistants_async._retry import parse_retry_after, retry_decision
from assistants_async.sync import Client
from assistants_async.testing import FakeAssistantsServer

from ..payloads import ASSISTANT, RUN
from ..threaded import serving


def test_a_retry_after_ms_of_zero_is_a_wait_of_zero() -> None:
    assert parse_retry_after({"retry-after-ms": "0", "retry-after": "30"}, now=0.0) == 0.0
    decision = retry_decision(
        status=429, headers={"retry-after-ms": "0"}, retries_done=0, max_retries=2, now=0.0
    )
    assert (decision.retry, decision.delay) == (True, 0.0)


@pytest.mark.parametrize(("wait", "retried"), [("60", True), ("60.5", False), ("59", True)])
def test_a_wait_of_sixty_seconds_is_honoured_and_no_more(wait: str, retried: bool) -> None:
    decision = retry_decision(
        status=503, headers={"retry-after": wait}, retries_done=0, max_retries=2, now=0.0
    )
    assert decision.retry is retried
    if retried:
        assert decision.delay == float(wait)
    else:
        assert decision.retry_after == float(wait)


def test_an_error_body_that_is_a_json_array_is_json() -> None:
    error = error_from_response(500, {}, b'[{"message": "a"}, 2]')
    assert error.body == [{"message": "a"}, 2]
    assert isinstance(error, InternalServerError)


@pytest.fixture
async def recorder() -> AsyncIterator[tuple[str, list[web.Request], dict[str, Any]]]:
    """A server that records each request and answers what ``reply`` holds."""
    seen: list[web.Request] = []
    reply: dict[str, Any] = {"status": 200, "body": b"{}"}

    async def handle(request: web.Request) -> web.StreamResponse:
        seen.append(request)
        await request.read()
        return web.Response(
            status=reply["status"], body=reply["body"], content_type="application/json"
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("/v1")), seen, reply
    await server.close()


async def test_an_error_body_is_read_to_one_mebibyte_and_no_further(
    recorder: tuple[str, list[web.Request], dict[str, Any]],
) -> None:
    url, _, reply = recorder
    reply.update(status=400, body=b'"' + b"x" * (3 * 1024 * 1024) + b'"')
    async with AsyncClient(api_key="k", base_url=url) as client:
        with pytest.raises(BadRequestError) as caught:
            await client.assistants.retrieve("a")
    body = caught.value.body
    assert isinstance(body, str)
    assert 0 < len(body) <= 1024 * 1024


@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_each_call_that_changes_state_carries_its_own_idempotency_key(
    recorder: tuple[str, list[web.Request], dict[str, Any]], method: str
) -> None:
    url, seen, _ = recorder
    async with AsyncClient(api_key="k", base_url=url) as client:
        await client.request(method, "/things", body={"a": 1})
        await client.request(method, "/things", body={"a": 1})
        await client.request("GET", "/things")
    first, second, read = (r.headers.get("Idempotency-Key") for r in seen)
    assert first
    assert second
    assert first != second
    assert read is None


async def test_max_items_zero_walks_nothing_and_asks_nothing(
    recorder: tuple[str, list[web.Request], dict[str, Any]],
) -> None:
    url, seen, _ = recorder
    async with AsyncClient(api_key="k", base_url=url) as client:
        assert [a async for a in client.assistants.list(max_items=0)] == []
        assert [p async for p in client.assistants.list(max_items=0).pages()] == []
        with pytest.raises(ValueError, match="max_items"):
            client.assistants.list(max_items=-1)
    assert seen == []


async def test_sixteen_metadata_pairs_are_the_most_a_request_may_carry() -> None:
    async with FakeAssistantsServer() as fake, fake.client() as client:
        sixteen = {f"k{i}": "v" for i in range(16)}
        asst = await client.assistants.create(model="m", metadata=sixteen)
        assert asst.metadata == sixteen
        with pytest.raises((ValueError, BadRequestError), match="16"):
            await client.assistants.create(model="m", metadata={**sixteen, "k16": "v"})


async def test_closing_the_client_while_a_stream_is_read_says_so() -> None:
    import asyncio

    release = asyncio.Event()

    async def slow_stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(f"event: thread.run.created\ndata: {json.dumps(RUN)}\n\n".encode())
        await release.wait()
        return response

    app = web.Application()
    app.router.add_post("/v1/threads/{t}/runs", slow_stream)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        client = AsyncClient(api_key="k", base_url=str(server.make_url("/v1")))
        async with client.runs.stream("thread_1", assistant_id="a") as stream:
            events = stream.__aiter__()
            await events.__anext__()  # the run is created; the next event never comes
            reading = asyncio.ensure_future(events.__anext__())
            await asyncio.sleep(0)
            await client.close()
            with pytest.raises(ClientClosedError):
                await asyncio.wait_for(reading, 10)
    finally:
        release.set()
        await server.close()


async def _stop(server: FakeAssistantsServer) -> None:
    await server.stop()


def test_leaving_a_blocking_walk_early_closes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from assistants_async import AsyncPaginator

    closed: list[bool] = []
    batches = AsyncPaginator.batches

    async def watched(self: AsyncPaginator[Any]) -> Any:
        try:
            async for batch in batches(self):
                yield batch
        finally:
            closed.append(True)

    monkeypatch.setattr(AsyncPaginator, "batches", watched)
    with (
        serving(
            FakeAssistantsServer(), FakeAssistantsServer.start, FakeAssistantsServer.stop
        ) as fake,
        Client(api_key="k", base_url=str(fake.url), trust_env=False) as client,
    ):
        for _ in range(5):
            client.assistants.create(model="m")
        for _ in client.assistants.list(limit=2):
            break
        assert closed == [True]  # at once, not when the client closes
        asked = len(fake.requests)
        client.close()
        assert len(fake.requests) == asked  # nothing more was fetched


async def test_max_items_one_walks_one_item(
    recorder: tuple[str, list[web.Request], dict[str, Any]],
) -> None:
    url, seen, reply = recorder
    page = {"object": "list", "data": [ASSISTANT, {**ASSISTANT, "id": "asst_2"}]}
    reply["body"] = (
        __import__("json")
        .dumps({**page, "first_id": "asst_1", "last_id": "asst_2", "has_more": True})
        .encode()
    )
    async with AsyncClient(api_key="k", base_url=url) as client:
        assert [a.id async for a in client.assistants.list(max_items=1)] == [ASSISTANT["id"]]
    assert len(seen) == 1


def test_an_event_of_many_data_lines_is_bounded_as_a_whole() -> None:
    from assistants_async import ResponseTooLargeError
    from assistants_async._sse import SSEDecoder

    decoder = SSEDecoder(max_size=1000)
    lines = "".join("data: " + "x" * 90 + "\n" for _ in range(20))  # each small, 1.8 kB in all
    with pytest.raises(ResponseTooLargeError, match="an event of the stream"):
        list(decoder.feed(lines))


def test_an_event_exactly_at_the_limit_is_read() -> None:
    from assistants_async import ResponseTooLargeError
    from assistants_async._sse import SSEDecoder

    # Counted as the data plus its line end: 99 characters make 100.
    (event,) = SSEDecoder(max_size=100).feed("data: " + "x" * 99 + "\n\n")
    assert len(event.data) == 99
    with pytest.raises(ResponseTooLargeError):
        list(SSEDecoder(max_size=100).feed("data: " + "x" * 100 + "\n\n"))


async def test_a_redirects_large_body_is_read_as_an_errors_is(
    recorder: tuple[str, list[web.Request], dict[str, Any]],
) -> None:
    from assistants_async import APIStatusError

    url, seen, reply = recorder
    reply.update(status=300, body=b'"' + b"x" * (3 * 1024 * 1024) + b'"')
    async with AsyncClient(api_key="k", base_url=url) as client:
        with pytest.raises(APIStatusError) as caught:  # not followed, not too large: an error
            await client.assistants.retrieve("a")
    assert caught.value.status_code == 300
    body = caught.value.body
    assert isinstance(body, str)
    assert len(body) <= 1024 * 1024
    assert len(seen) == 1


async def test_the_fake_server_holds_metadata_keys_and_tools_to_the_specs_limits() -> None:
    import aiohttp

    headers = {"Authorization": "Bearer sk", "OpenAI-Beta": "assistants=v2"}
    tool = {"type": "function", "function": {"name": "f"}}
    cases: list[tuple[dict[str, Any], int]] = [
        ({"metadata": {"k" * 64: "v"}}, 200),
        ({"metadata": {"k" * 65: "v"}}, 400),
        ({"tools": [tool] * 128}, 200),
        ({"tools": [tool] * 129}, 400),
    ]
    async with FakeAssistantsServer() as fake, aiohttp.ClientSession(headers=headers) as http:
        for extra, status in cases:
            async with http.post(f"{fake.url}/assistants", json={"model": "m", **extra}) as resp:
                assert resp.status == status, extra
                if status == 400:
                    assert (await resp.json())["error"]["code"] in (
                        "string_above_max_length",
                        "array_above_max_length",
                    )


async def test_the_client_refuses_a_129th_tool_before_sending() -> None:
    async with FakeAssistantsServer() as fake, fake.client() as client:
        tool = {"type": "function", "function": {"name": "f"}}
        asst = await client.assistants.create(model="m", tools=[tool] * 128)
        assert len(asst.tools) == 128
        sent = len(fake.requests)
        with pytest.raises(ValueError, match="128"):
            await client.assistants.create(model="m", tools=[tool] * 129)
        assert len(fake.requests) == sent


def test_only_the_first_64_kib_of_an_error_page_are_scanned() -> None:
    padding = "<p>" + "x" * (64 * 1024) + "</p>"
    late = error_from_response(502, {}, f"<html>{padding}<title>Late title</title></html>")
    assert "Late title" not in late.message
    early = error_from_response(502, {}, "<html><title>Early title</title>" + padding)
    assert "Early title" in early.message


async def test_the_clients_timeout_applies_on_a_callers_session() -> None:
    import asyncio

    import aiohttp

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(1.0)
        return web.json_response(ASSISTANT)

    app = web.Application()
    app.router.add_get("/v1/assistants/{id}", slow)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        # The session's own default (0.2 s) would time the call out; the client's 30 s rules.
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.2)) as session,
            AsyncClient(
                api_key="k", base_url=str(server.make_url("/v1")), session=session, timeout=30
            ) as client,
        ):
            assert (await client.assistants.retrieve("a")).id == ASSISTANT["id"]
    finally:
        await server.close()
