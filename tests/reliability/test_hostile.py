"""Hostile input, from the outside: clear errors, the server stays up and consistent."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from assistants_async import AsyncClient, ResponseValidationError
from assistants_async.models import Assistant
from assistants_async.testing import FakeAssistantsServer

from ..payloads import ASSISTANT, MESSAGE

AUTH = {"Authorization": "Bearer sk", "OpenAI-Beta": "assistants=v2"}


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeAssistantsServer, aiohttp.ClientSession, str]]:
    server = FakeAssistantsServer()
    async with server, aiohttp.ClientSession(headers=AUTH) as http:
        async with http.post(f"{server.url}/assistants", json={"model": "gpt-4o"}) as resp:
            asst_id = (await resp.json())["id"]
        yield server, http, asst_id


async def answer(http: aiohttp.ClientSession, method: str, url: str, **kw: Any) -> tuple[int, Any]:
    async with http.request(method, url, **kw) as resp:
        assert resp.content_type == "application/json", await resp.text()
        return resp.status, await resp.json()


DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/assistants/..%2F..%2Fetc%2Fpasswd", {}, 404),
        ("GET", "/assistants/%00", {}, 404),
        ("GET", "/threads/thread_1%2Fruns", {}, 404),
        ("POST", "/assistants", {"data": io.BytesIO(b"x" * (10 * 1024 * 1024))}, 413),
        ("POST", "/assistants", {"data": DEEP}, 400),
        ("POST", "/assistants", {"data": b'{"model": "\xff\xfe"}'}, 400),
        (
            "POST",
            "/assistants",
            {
                "data": b"model=gpt-4o",
                "headers": {"Content-Type": "application/x-www-form-urlencoded"},
            },
            400,
        ),
        ("POST", "/assistants", {"json": ["a list"]}, 400),
        ("POST", "/assistants", {"json": {"model": "m", "metadata": {"k": "v" * 10_000}}}, 400),
        ("GET", "/assistants?limit=1000000000000000000000", {}, 400),
        ("GET", "/assistants?limit=-5", {}, 400),
        ("GET", "/assistants?order=%00", {}, 400),
    ],
)
async def test_the_fake_server_refuses_clearly_and_stays_consistent(
    fake: tuple[FakeAssistantsServer, aiohttp.ClientSession, str],
    method: str,
    path: str,
    kwargs: dict[str, Any],
    status: int,
) -> None:
    server, http, asst_id = fake
    got, body = await answer(http, method, f"{server.url}{path}", **kwargs)
    assert got == status
    assert set(body["error"]) == {"message", "type", "param", "code"}
    # still up, and still holding exactly what it held
    got, listing = await answer(http, "GET", f"{server.url}/assistants")
    assert got == 200
    assert [a["id"] for a in listing["data"]] == [asst_id]


async def serve_body(body: bytes, content_type: str = "application/json") -> TestServer:
    app = web.Application()

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type=content_type)

    app.router.add_route("*", "/{tail:.*}", handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (DEEP, "application/json"),
        (b'{"id": "\xff"}', "application/json"),
        (b"<html>surprise</html>", "text/html"),
        (b'{"id": 1, "object": "assistant"}', "text/plain"),
        (b"null", "application/json"),
        (
            b'{"id": "a", "created_at": 1, "model": "m", "tools": ['
            + b"{" * 5000
            + b"}" * 5000
            + b"]}",
            "application/json",
        ),
    ],
    ids=["deep", "bad-utf8", "html", "wrong-shape", "null", "deep-tool"],
)
async def test_the_client_turns_hostile_responses_into_validation_errors(
    body: bytes, content_type: str
) -> None:
    server = await serve_body(body, content_type)
    try:
        async with AsyncClient(api_key="sk", base_url=str(server.make_url("/v1"))) as client:
            with pytest.raises(ResponseValidationError):
                await client.assistants.retrieve("asst_1")
    finally:
        await server.close()


async def test_hostile_ids_never_reach_the_wire() -> None:
    async with AsyncClient(api_key="sk", base_url="http://127.0.0.1:9/v1") as client:
        for bad in ("../admin", "a/b", "..", "id?x=1", "id#frag", "a%2Fb", "a\r\nX: y", "a\\b"):
            with pytest.raises(ValueError, match="assistant_id"):
                await client.assistants.retrieve(bad)
        for timeout in (-1, 0, float("nan")):
            with pytest.raises(ValueError, match="timeout"):
                await client.assistants.retrieve("asst_1", timeout=timeout)
        assert client._transport._session is None  # nothing was ever sent


async def test_a_decoded_model_is_untouched_by_hostile_extras() -> None:
    data = {
        **ASSISTANT,
        "__class__": "x",
        "_extra": "y",
        "_absent": ["id"],
        "to_dict": 1,
    }
    asst = Assistant.from_dict(data)
    assert asst.to_dict() == data
    assert dict(asst.model_extra) == {
        "__class__": "x",
        "_extra": "y",
        "_absent": ["id"],
        "to_dict": 1,
    }


async def test_a_large_request_body_is_sent_whole_on_every_attempt() -> None:
    received: list[int] = []
    app = web.Application(client_max_size=8 * 1024 * 1024)

    async def handler(request: web.Request) -> web.Response:
        received.append(len(await request.read()))
        if len(received) == 1:
            return web.json_response(
                {"error": {"message": "busy"}}, status=503, headers={"retry-after-ms": "1"}
            )
        return web.json_response({**MESSAGE, "thread_id": "t"})

    app.router.add_post("/v1/threads/t/messages", handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with AsyncClient(api_key="sk", base_url=str(server.make_url("/v1"))) as client:
            await client.messages.create("t", role="user", content="x" * (3 * 1024 * 1024))
    finally:
        await server.close()
    assert len(received) == 2
    assert received[0] == received[1] > 3 * 1024 * 1024
