"""Faults over real loopback sockets: the right error, the client still usable, nothing leaked."""

from __future__ import annotations

import asyncio
import email.utils
import json
import socket
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from assistants_async import (
    APIConnectionError,
    APITimeoutError,
    AsyncClient,
    InternalServerError,
    RateLimitError,
    Timeout,
)
from assistants_async.models import Assistant

from ..payloads import ASSISTANT

BODY = json.dumps(ASSISTANT).encode()


class Faulty:
    """A loopback server whose next answers are chosen by the test."""

    def __init__(self) -> None:
        self.plan: list[str] = []
        self.hits = 0
        self.retry_after: dict[str, str] = {}

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.hits += 1
        mode = self.plan.pop(0) if self.plan else "ok"
        if mode == "ok":
            return web.Response(body=BODY, content_type="application/json")
        if mode == "reset":
            assert request.transport is not None
            request.transport.close()
            raise asyncio.CancelledError
        if mode == "cut":  # promise 2x the bytes, send half, hang up
            response = web.StreamResponse(
                headers={"Content-Length": str(len(BODY) * 2), "Content-Type": "application/json"}
            )
            await response.prepare(request)
            await response.write(BODY[: len(BODY) // 2])
            assert request.transport is not None
            request.transport.close()
            return response
        if mode == "silent":
            await asyncio.sleep(30)
        if mode == "drip":  # one byte every 50 ms
            response = web.StreamResponse(headers={"Content-Type": "application/json"})
            await response.prepare(request)
            for i in range(len(BODY)):
                await response.write(BODY[i : i + 1])
                await asyncio.sleep(0.05)
            await response.write_eof()
            return response
        if mode == "429":
            if self.retry_after.get("retry-after") == "DATE+1":
                when = email.utils.formatdate(time.time() + 1.5, usegmt=True)
                self.retry_after = {"retry-after": when}
            return web.json_response(
                {"error": {"message": "slow down", "type": "rate_limit_error"}},
                status=429,
                headers=self.retry_after,
            )
        if mode == "503":
            return web.json_response(
                {"error": {"message": "busy", "type": "server_error"}},
                status=503,
                headers={"retry-after-ms": "1"},
            )
        if mode == "html502":
            return web.Response(
                status=502,
                content_type="text/html",
                text="<html><title>502 Bad Gateway</title></html>",
            )
        raise AssertionError(mode)


@pytest.fixture
async def faulty() -> AsyncIterator[tuple[Faulty, str]]:
    state = Faulty()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", state.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield state, str(server.make_url("/v1"))
    finally:
        await server.close()


async def still_usable(client: AsyncClient, state: Faulty) -> None:
    state.plan.clear()
    assert (await client.assistants.retrieve("asst_1", timeout=5)).id == "asst_1"


def closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port


async def test_connection_refused() -> None:
    async with AsyncClient(
        api_key="sk", base_url=f"http://127.0.0.1:{closed_port()}/v1", max_retries=1
    ) as client:
        client._transport.rand = lambda: 1.0
        for _ in range(2):  # and again: the client is not broken by it
            with pytest.raises(APIConnectionError) as info:
                await client.assistants.retrieve("asst_1")
            assert not isinstance(info.value, APITimeoutError)


@pytest.mark.parametrize("mode", ["reset", "cut"])
async def test_reset_or_cut_body_is_retried_then_recovers(
    faulty: tuple[Faulty, str], mode: str
) -> None:
    state, url = faulty
    state.plan = [mode]
    async with AsyncClient(api_key="sk", base_url=url) as client:
        client._transport.rand = lambda: 1.0
        assert (await client.assistants.retrieve("asst_1")).id == "asst_1"
        assert state.hits == 2
        # aiohttp itself retries an idempotent request once on a dead keep-alive
        # connection, so an attempt may cost the server two hits: plan for plenty.
        state.plan = [mode] * 10
        hits = state.hits
        with pytest.raises(APIConnectionError):
            await client.assistants.retrieve("asst_1")
        assert 3 <= state.hits - hits <= 6
        await still_usable(client, state)


async def test_an_html_502_page(faulty: tuple[Faulty, str]) -> None:
    state, url = faulty
    state.plan = ["html502"]
    async with AsyncClient(api_key="sk", base_url=url, max_retries=0) as client:
        with pytest.raises(InternalServerError, match=r"^502: 502 Bad Gateway$"):
            await client.assistants.retrieve("asst_1")
        await still_usable(client, state)


async def test_a_server_that_never_answers_times_out_in_bounded_time(
    faulty: tuple[Faulty, str],
) -> None:
    state, url = faulty
    state.plan = ["silent", "silent"]
    async with AsyncClient(
        api_key="sk", base_url=url, max_retries=1, timeout=Timeout(total=0.3)
    ) as client:
        client._transport.rand = lambda: 1.0
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            await client.assistants.retrieve("asst_1")
        # two attempts of 0.3 s and one 0.375 s backoff, with room for a slow machine
        assert time.monotonic() - started < 5
        await still_usable(client, state)


@pytest.mark.parametrize(
    "header",
    [
        {"retry-after-ms": "120"},
        {"retry-after": "1"},
        {"retry-after": "DATE+1"},  # made when answering, so it is still in the future
    ],
    ids=["retry-after-ms", "retry-after-seconds", "retry-after-date"],
)
async def test_429_with_each_retry_after_form_recovers(
    faulty: tuple[Faulty, str], header: dict[str, str]
) -> None:
    state, url = faulty
    state.plan = ["429"]
    state.retry_after = header
    slept: list[float] = []

    async def record(seconds: float) -> None:
        slept.append(seconds)

    async with AsyncClient(api_key="sk", base_url=url) as client:
        client._transport.sleep = record
        assert isinstance(await client.assistants.retrieve("asst_1"), Assistant)
    assert len(slept) == 1
    assert 0 < slept[0] <= 2.0


async def test_a_5xx_burst_outlasting_max_retries(faulty: tuple[Faulty, str]) -> None:
    state, url = faulty
    state.plan = ["503"] * 4
    async with AsyncClient(api_key="sk", base_url=url, max_retries=2) as client:
        with pytest.raises(InternalServerError, match="busy"):
            await client.assistants.retrieve("asst_1")
        assert state.hits == 3
        # the burst ends: the next call gets through on its retries
        state.plan = ["503"]
        assert (await client.assistants.retrieve("asst_1")).id == "asst_1"


async def test_a_429_beyond_the_cap_is_raised_at_once(faulty: tuple[Faulty, str]) -> None:
    state, url = faulty
    state.plan = ["429"]
    state.retry_after = {"retry-after": "86400"}
    async with AsyncClient(api_key="sk", base_url=url) as client:
        with pytest.raises(RateLimitError) as info:
            await client.assistants.retrieve("asst_1")
        assert info.value.retry_after == 86400
        assert state.hits == 1


async def test_a_slow_drip_body(faulty: tuple[Faulty, str]) -> None:
    state, url = faulty
    state.plan = ["drip"]
    async with AsyncClient(
        api_key="sk", base_url=url, max_retries=0, timeout=Timeout(total=60, read=0.02)
    ) as client:
        with pytest.raises(APITimeoutError):
            await client.assistants.retrieve("asst_1")
        await still_usable(client, state)


async def test_a_stream_cut_mid_event() -> None:
    from assistants_async.testing import FakeAssistantsServer, Text, scripted

    server = FakeAssistantsServer(responder=scripted([Text("a b c d e f g h")] * 2))
    async with server, server.client(max_connections=1) as client:
        asst = await client.assistants.create(model="gpt-4o")
        thread = await client.threads.create()
        server.faults.cut_stream("createRun", after_events=8)
        seen = []

        async def read() -> None:
            async with client.runs.stream(thread.id, assistant_id=asst.id) as stream:
                async for event in stream:
                    seen.append(event.event)

        with pytest.raises(APIConnectionError):
            await read()
        assert len(seen) == 8
        # usable, and its one connection was given back
        assert (await client.threads.retrieve(thread.id, timeout=5)).id == thread.id
