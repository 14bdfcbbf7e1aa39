"""The session layer over real loopback sockets: headers, retries, errors, timeouts."""

from __future__ import annotations

import asyncio
import logging
import socket
import time

import attrs
import pytest
from aiohttp import web

from assistants_async import (
    APIConnectionError,
    APITimeoutError,
    AsyncClient,
    BadRequestError,
    InternalServerError,
    NotFoundError,
    RateLimitError,
    RawResponse,
    ResponseValidationError,
    Timeout,
    __version__,
)
from assistants_async.models import Assistant

from .conftest import ScriptedServer, json_reply
from .payloads import ASSISTANT

KEY = "sk-test-secret-key-0123456789"


def recording(client: AsyncClient, slept: list[float]) -> AsyncClient:
    """Make the client's retry loop record its delays in ``slept`` instead of sleeping."""

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    client._transport.sleep = fake_sleep
    return client


def client_for(server: ScriptedServer, **kwargs: object) -> AsyncClient:
    return AsyncClient(api_key=KEY, base_url=server.url, **kwargs)  # type: ignore[arg-type]


async def test_every_request_carries_the_standard_headers(server: ScriptedServer) -> None:
    server.reply(json_reply(body=ASSISTANT))
    async with client_for(
        server,
        organization="org_1",
        project="proj_1",
        default_headers={"X-Team": "search"},
    ) as client:
        for method in ("GET", "POST", "DELETE"):
            await client.request(
                method, "/assistants/asst_1", cast_to=Assistant, extra_headers={"X-Call": method}
            )
    assert [s.method for s in server.seen] == ["GET", "POST", "DELETE"]
    for seen in server.seen:
        h = seen.headers
        assert h["Authorization"] == f"Bearer {KEY}"
        assert h["OpenAI-Beta"] == "assistants=v2"
        assert h["OpenAI-Organization"] == "org_1"
        assert h["OpenAI-Project"] == "proj_1"
        assert h["User-Agent"].startswith(f"assistants-async/{__version__} ")
        assert h["X-Team"] == "search"
        assert h["X-Call"] == seen.method
        assert seen.path == "/v1/assistants/asst_1"


async def test_org_and_project_headers_are_absent_unless_set(
    server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_ORG_ID", raising=False)
    monkeypatch.delenv("OPENAI_PROJECT_ID", raising=False)
    server.reply(json_reply(body=ASSISTANT))
    async with client_for(server) as client:
        await client.request("GET", "/assistants/asst_1")
    assert "OpenAI-Organization" not in server.seen[0].headers
    assert "OpenAI-Project" not in server.seen[0].headers


async def test_extra_headers_override_and_none_removes(server: ScriptedServer) -> None:
    server.reply(json_reply(body=ASSISTANT))
    async with client_for(server) as client:
        await client.request(
            "GET",
            "/assistants/asst_1",
            extra_headers={"openai-beta": "assistants=v3", "User-Agent": None},
        )
    h = server.seen[0].headers
    assert h["OpenAI-Beta"] == "assistants=v3"
    # aiohttp fills in its own agent when ours is removed
    assert not h.get("User-Agent", "").startswith("assistants-async")


async def test_each_call_sends_the_defaults_once_with_its_own_headers(
    server: ScriptedServer,
) -> None:
    for _ in range(4):
        server.reply(json_reply(body=ASSISTANT))
    async with client_for(server, default_headers={"X-Team": "blue"}) as client:
        await client.request("GET", "/assistants/asst_1")
        await client.request("POST", "/assistants", body={"model": "m"})
        await client.request(
            "POST",
            "/assistants",
            body={"model": "m"},
            extra_headers={"idempotency-key": "mine", "x-team": "red", "X-Other": "1"},
        )
        # Removing a default goes through a session without defaults, on the same pool.
        await client.request("GET", "/assistants/asst_1", extra_headers={"X-Team": None})
        connector = client._transport.session().connector
        assert connector is not None
        assert sum(len(c) for c in connector._conns.values()) == 1  # one pooled connection
    get, post, custom, removed = (r.headers for r in server.seen)
    for h in (get, post, custom):
        assert h.getall("Authorization") == [f"Bearer {KEY}"]
        assert h.getall("OpenAI-Beta") == ["assistants=v2"]
    assert get.getall("X-Team") == ["blue"]
    assert "Idempotency-Key" not in get
    assert "Content-Type" not in get
    assert len(post.getall("Idempotency-Key")[0]) == 32
    assert post.getall("Content-Type") == ["application/json"]
    assert custom.getall("Idempotency-Key") == ["mine"]
    assert custom.getall("X-Team") == ["red"]
    assert custom.getall("X-Other") == ["1"]
    assert "X-Team" not in removed
    assert removed.getall("Authorization") == [f"Bearer {KEY}"]


async def test_a_429_with_retry_after_ms_then_200_succeeds_after_the_delay(
    server: ScriptedServer,
) -> None:
    server.reply(
        json_reply(
            429,
            {"error": {"message": "slow down", "type": "rate_limit"}},
            headers={"retry-after-ms": "300"},
        ),
        json_reply(body=ASSISTANT),
    )
    async with client_for(server) as client:
        started = time.monotonic()
        raw = await client.request_raw("GET", "/assistants/asst_1")
        waited = time.monotonic() - started
    assert raw.status_code == 200
    assert raw.retries == 1
    assert len(server.seen) == 2
    # A lower bound only: sleeping less than asked would be the bug.
    assert waited >= 0.3


async def test_a_raw_response_holds_every_field_as_its_constructor_would(
    server: ScriptedServer,
) -> None:
    # The transport builds it slot by slot, for speed: a field added to the class and
    # not set there would fail here, not in a user's code.
    server.reply(json_reply(body=ASSISTANT, headers={"x-request-id": "req_1"}))
    async with client_for(server) as client:
        raw = await client.request_raw("GET", "/assistants/asst_1")
    fields = {f.name: getattr(raw, f.name) for f in attrs.fields(RawResponse)}
    assert raw == RawResponse(**fields)
    assert (raw.status_code, raw.method, raw.retries, raw.request_id) == (200, "GET", 0, "req_1")
    assert raw.url.endswith("/v1/assistants/asst_1")
    assert raw.elapsed > 0
    assert raw.json() == ASSISTANT


async def test_the_retry_loop_sleeps_what_the_policy_says(server: ScriptedServer) -> None:
    server.reply(
        json_reply(503, {}, headers={"retry-after": "2"}),
        json_reply(500, {}),
        json_reply(body=ASSISTANT),
    )
    slept: list[float] = []
    async with recording(client_for(server), slept) as client:
        client._transport.rand = lambda: 0.0
        result = await client.request("GET", "/assistants/asst_1", cast_to=Assistant)
    assert result.id == "asst_1"
    # retry-after from the 503, then the backoff's second step (1 s) after the 500
    assert slept == [2.0, 1.0]


async def test_x_should_retry_false_stops_a_retry(server: ScriptedServer) -> None:
    server.reply(
        json_reply(503, {}, headers={"x-should-retry": "false"}), json_reply(body=ASSISTANT)
    )
    async with client_for(server) as client:
        with pytest.raises(InternalServerError):
            await client.request("GET", "/assistants/asst_1")
    assert len(server.seen) == 1


async def test_x_should_retry_true_retries_a_400(server: ScriptedServer) -> None:
    server.reply(
        json_reply(400, {}, headers={"x-should-retry": "true", "retry-after-ms": "1"}),
        json_reply(body=ASSISTANT),
    )
    async with client_for(server) as client:
        await client.request("GET", "/assistants/asst_1")
    assert len(server.seen) == 2


async def test_a_400_is_not_retried(server: ScriptedServer) -> None:
    server.reply(
        json_reply(
            400,
            {
                "error": {
                    "message": "Unknown parameter: 'colour'.",
                    "type": "invalid_request_error",
                    "param": "colour",
                    "code": "unknown_parameter",
                }
            },
            headers={"x-request-id": "req_abc"},
        )
    )
    async with client_for(server) as client:
        with pytest.raises(BadRequestError) as info:
            await client.request("POST", "/assistants", body={"colour": "red"})
    assert len(server.seen) == 1
    err = info.value
    assert (err.status_code, err.request_id, err.param, err.code) == (
        400,
        "req_abc",
        "colour",
        "unknown_parameter",
    )


async def test_retries_give_up_after_max_retries_with_the_last_error(
    server: ScriptedServer,
) -> None:
    server.reply(
        json_reply(
            500,
            {"error": {"message": "boom", "type": "server_error"}},
            headers={"retry-after-ms": "1"},
        )
    )
    async with client_for(server, max_retries=3) as client:
        with pytest.raises(InternalServerError, match="boom"):
            await client.request("GET", "/assistants/asst_1")
    assert len(server.seen) == 4


async def test_max_retries_zero_sends_once(server: ScriptedServer) -> None:
    server.reply(json_reply(503, {}))
    async with client_for(server, max_retries=0) as client:
        with pytest.raises(InternalServerError):
            await client.request("GET", "/assistants/asst_1")
    assert len(server.seen) == 1


async def test_a_retry_after_beyond_the_cap_raises_at_once_with_the_delay(
    server: ScriptedServer,
) -> None:
    server.reply(
        json_reply(
            429,
            {"error": {"message": "quota", "type": "rate_limit"}},
            headers={"retry-after": "3600"},
        )
    )
    async with client_for(server) as client:
        with pytest.raises(RateLimitError) as info:
            await client.request("GET", "/assistants/asst_1")
    assert len(server.seen) == 1
    assert info.value.retry_after == 3600.0


async def test_a_post_retried_twice_carries_one_idempotency_key(server: ScriptedServer) -> None:
    fail = json_reply(500, {}, headers={"retry-after-ms": "1"})
    server.reply(fail, fail, json_reply(body=ASSISTANT), json_reply(body=ASSISTANT))
    async with client_for(server) as client:
        await client.request("POST", "/assistants", body={"model": "gpt-4o"})
        await client.request("POST", "/assistants", body={"model": "gpt-4o"})
    keys = [s.headers.get("Idempotency-Key") for s in server.seen]
    assert len(keys) == 4
    assert all(keys)
    assert keys[0] == keys[1] == keys[2]
    assert keys[3] != keys[0]


async def test_gets_carry_no_idempotency_key(server: ScriptedServer) -> None:
    server.reply(json_reply(body=ASSISTANT))
    async with client_for(server) as client:
        await client.request("GET", "/assistants/asst_1")
    assert "Idempotency-Key" not in server.seen[0].headers


async def test_a_caller_supplied_idempotency_key_is_kept(server: ScriptedServer) -> None:
    server.reply(json_reply(body=ASSISTANT))
    async with client_for(server) as client:
        await client.request(
            "POST", "/assistants", body={}, extra_headers={"idempotency-key": "mine"}
        )
    assert server.seen[0].headers["Idempotency-Key"] == "mine"


async def test_json_body_extra_body_and_extra_query(server: ScriptedServer) -> None:
    server.reply(json_reply(body=ASSISTANT))
    async with client_for(server) as client:
        await client.request(
            "POST",
            "/assistants",
            body={"model": "gpt-4o", "name": "Wéather"},
            query={"a": "1"},
            extra_body={"x_vendor": True},
            extra_query={"b": "2"},
        )
    seen = server.seen[0]
    assert seen.json() == {"model": "gpt-4o", "name": "Wéather", "x_vendor": True}
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.query == [("a", "1"), ("b", "2")]


async def test_an_html_502_from_a_proxy_gives_a_clean_error(server: ScriptedServer) -> None:
    page = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    server.reply(web.Response(status=502, body=page, content_type="text/html"))
    async with client_for(server, max_retries=0) as client:
        with pytest.raises(InternalServerError) as info:
            await client.request("GET", "/assistants/asst_1")
    assert str(info.value) == "502: 502 Bad Gateway"


async def test_a_404_is_typed(server: ScriptedServer) -> None:
    server.reply(
        json_reply(
            404,
            {
                "error": {
                    "message": "No assistant found with id 'asst_x'.",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": None,
                }
            },
        )
    )
    async with client_for(server) as client:
        with pytest.raises(NotFoundError, match="No assistant found"):
            await client.request("GET", "/assistants/asst_x")


async def test_a_200_that_is_not_json_is_a_validation_error(server: ScriptedServer) -> None:
    server.reply(web.Response(status=200, text="<html>hello</html>", content_type="text/html"))
    async with client_for(server) as client:
        with pytest.raises(ResponseValidationError, match="not valid JSON"):
            await client.request("GET", "/assistants/asst_1", cast_to=Assistant)


async def test_a_200_of_the_wrong_shape_names_the_field(server: ScriptedServer) -> None:
    server.reply(json_reply(body={**ASSISTANT, "created_at": "yesterday"}))
    async with client_for(server) as client:
        with pytest.raises(ResponseValidationError) as info:
            await client.request("GET", "/assistants/asst_1", cast_to=Assistant)
    assert info.value.path == "created_at"


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port


async def test_connection_refused_is_retried_then_raised() -> None:
    slept: list[float] = []
    client = AsyncClient(api_key=KEY, base_url=f"http://127.0.0.1:{_closed_port()}/v1")
    async with recording(client, slept):
        with pytest.raises(APIConnectionError) as info:
            await client.request("GET", "/assistants")
    assert not isinstance(info.value, APITimeoutError)
    assert len(slept) == 2
    assert KEY not in str(info.value)
    assert KEY not in repr(info.value)


async def test_a_connection_dropped_mid_request_is_retried(server: ScriptedServer) -> None:
    async def drop(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.close()
        raise asyncio.CancelledError

    server.reply(drop, json_reply(body=ASSISTANT))
    async with client_for(server) as client:
        client._transport.rand = lambda: 1.0  # shortest backoff: 0.375 s
        result = await client.request("GET", "/assistants/asst_1", cast_to=Assistant)
    assert result.id == "asst_1"
    assert len(server.seen) == 2


async def test_a_timeout_is_retried_then_raised_as_api_timeout_error(
    server: ScriptedServer,
) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return json_reply(body=ASSISTANT)

    server.reply(slow)
    slept: list[float] = []
    async with recording(client_for(server, max_retries=1), slept) as client:
        with pytest.raises(APITimeoutError):
            await client.request("GET", "/assistants/asst_1", timeout=0.2)
    assert len(server.seen) == 2
    assert len(slept) == 1


async def test_the_client_timeout_applies_when_no_call_timeout_is_given(
    server: ScriptedServer,
) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return json_reply(body=ASSISTANT)

    server.reply(slow)
    async with client_for(server, timeout=Timeout(total=0.2), max_retries=0) as client:
        with pytest.raises(APITimeoutError):
            await client.request("GET", "/assistants/asst_1")


async def test_retries_are_logged_without_the_key(
    server: ScriptedServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.reply(json_reply(503, {}, headers={"retry-after-ms": "1"}), json_reply(body=ASSISTANT))
    with caplog.at_level(logging.DEBUG, logger="assistants_async"):
        async with client_for(server) as client:
            await client.request("GET", "/assistants/asst_1")
    retry_lines = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert retry_lines == [
        "retrying GET /assistants/asst_1 in 0.00 s (retry 1 of 2) after status 503"
    ]
    assert all(KEY not in r.getMessage() for r in caplog.records)


async def test_many_concurrent_calls_share_one_session(server: ScriptedServer) -> None:
    server.reply(json_reply(body=ASSISTANT))
    async with client_for(server, max_connections=4) as client:
        results = await asyncio.gather(
            *(client.request("GET", "/assistants/asst_1", cast_to=Assistant) for _ in range(40))
        )
        session = client._transport._session
    assert len(results) == 40
    assert session is not None
    assert session.closed
