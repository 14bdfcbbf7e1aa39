"""Cancelling a call anywhere releases its connection: the next call works (pool of one)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
import pytest

from assistants_async import AsyncClient
from assistants_async.testing import FakeAssistantsServer, Text, scripted


@pytest.fixture
async def setup() -> AsyncIterator[tuple[FakeAssistantsServer, AsyncClient, str, str]]:
    server = FakeAssistantsServer(responder=scripted([Text("word " * 200)] * 5))
    # One connection: a call that leaked its connection would block the next one.
    async with server, server.client(max_connections=1) as client:
        asst = await client.assistants.create(model="gpt-4o")
        thread = await client.threads.create()
        for i in range(30):
            await client.messages.create(thread.id, role="user", content=f"m{i}")
        yield server, client, asst.id, thread.id


async def next_call_works(client: AsyncClient, thread: str) -> None:
    assert (await client.threads.retrieve(thread, timeout=5)).id == thread
    session = client._transport._session
    assert session is not None
    assert len(session.connector._acquired) == 0  # type: ignore[union-attr]


async def cancel_when(started: asyncio.Event, work: Callable[[], Awaitable[Any]]) -> None:
    task = asyncio.ensure_future(work())
    await asyncio.wait_for(started.wait(), timeout=5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_cancel_mid_request(setup: Any) -> None:
    server, client, _, thread = setup
    server.faults.delay("getThread", seconds=1, times=1)
    started = asyncio.Event()

    async def work() -> None:
        started.set()
        await client.threads.retrieve(thread)

    await cancel_when(started, work)
    await next_call_works(client, thread)


async def test_cancel_mid_retry_sleep(setup: Any) -> None:
    server, client, _, thread = setup
    server.faults.fail_next("getThread", status=503, retry_after=30)
    started = asyncio.Event()
    real_sleep = client._transport.sleep

    async def sleep(seconds: float) -> None:
        started.set()
        await real_sleep(seconds)

    client._transport.sleep = sleep
    await cancel_when(started, lambda: client.threads.retrieve(thread))
    client._transport.sleep = real_sleep
    await next_call_works(client, thread)


async def test_cancel_mid_pagination(setup: Any) -> None:
    _, client, _, thread = setup
    started = asyncio.Event()

    async def work() -> None:
        async for _ in client.messages.list(thread, limit=2):
            started.set()
            await asyncio.sleep(10)

    await cancel_when(started, work)
    await next_call_works(client, thread)


async def test_cancel_mid_stream(setup: Any) -> None:
    _, client, asst, thread = setup
    started = asyncio.Event()

    async def work() -> None:
        async with client.runs.stream(thread, assistant_id=asst) as stream:
            async for event in stream:
                if event.event == "thread.message.delta":
                    started.set()
                    await asyncio.sleep(10)

    await cancel_when(started, work)
    await next_call_works(client, thread)


async def test_wait_for_around_a_call(setup: Any) -> None:
    server, client, _, thread = setup
    server.faults.delay("getThread", seconds=1, times=1)
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(client.threads.retrieve(thread), timeout=0.2)
    await next_call_works(client, thread)


async def test_asyncio_timeout_around_a_stream(setup: Any) -> None:
    _, client, asst, thread = setup

    async def slow_reader() -> None:
        async with client.runs.stream(thread, assistant_id=asst) as stream:
            async for _ in stream:
                await asyncio.sleep(0.05)

    async def bounded() -> None:
        if sys.version_info >= (3, 11):
            async with asyncio.timeout(0.3):  # type: ignore[attr-defined,unused-ignore]
                await slow_reader()
        else:  # asyncio.timeout() is new in 3.11; anyio's fail_after cancels alike
            with anyio.fail_after(0.3):
                await slow_reader()

    with pytest.raises(TimeoutError):
        await bounded()
    await next_call_works(client, thread)
