"""The timeout model of the README's table, over loopback: read gaps, live streams, the
call deadline and the poll deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from assistants_async import (
    APITimeoutError,
    AsyncClient,
    InternalServerError,
    PollTimeoutError,
    Timeout,
)
from assistants_async.testing import FakeAssistantsServer

from .servers import serve, stalled_body, ticking_stream

ATTEMPTS = web.AppKey("attempts", list[str])


async def always_busy(request: web.Request) -> web.Response:
    request.app[ATTEMPTS].append(request.path)
    return web.json_response(
        {"error": {"message": "busy", "type": "server_error"}},
        status=503,
        headers={"retry-after": "1"},
    )


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, web.Application]]:
    app = web.Application()
    app[ATTEMPTS] = []
    app.router.add_get("/v1/assistants/stalled", stalled_body)
    app.router.add_get("/v1/assistants/busy", always_busy)
    app.router.add_post("/v1/threads/thread_1/runs", ticking_stream)
    async with serve(app) as url:
        yield url, app


async def timed(awaitable: object) -> tuple[float, BaseException | None]:
    started = time.monotonic()
    try:
        await asyncio.wait_for(awaitable, 20)  # type: ignore[arg-type]
    except Exception as exc:
        return time.monotonic() - started, exc
    return time.monotonic() - started, None


async def test_a_stalled_body_is_noticed_within_the_read_timeout(
    server: tuple[str, web.Application],
) -> None:
    url, _ = server
    async with AsyncClient(
        api_key="sk-1", base_url=url, max_retries=0, timeout=Timeout(total=None, read=0.5)
    ) as client:
        elapsed, error = await timed(client.assistants.retrieve("stalled"))
    assert isinstance(error, APITimeoutError)
    assert 0.4 < elapsed < 5


async def test_a_plain_number_bounds_the_gaps_of_a_stream(
    server: tuple[str, web.Application],
) -> None:
    url, _ = server
    async with AsyncClient(api_key="sk-1", base_url=url, max_retries=0, timeout=1.0) as client:

        async def read() -> None:
            async with client.runs.stream(
                "thread_1", assistant_id="asst_1", extra_query={"stall": "1"}
            ) as stream:
                await stream.until_done()

        elapsed, error = await timed(read())
    assert isinstance(error, APITimeoutError)
    assert 0.9 < elapsed < 5


async def test_a_live_stream_outlives_the_total_timeout(
    server: tuple[str, web.Application],
) -> None:
    url, _ = server
    # Events every 0.2 s for 2 s: a total of 1 s per attempt must not cut it.
    async with (
        AsyncClient(
            api_key="sk-1", base_url=url, max_retries=0, timeout=Timeout(total=1.0, read=1.0)
        ) as client,
        client.runs.stream("thread_1", assistant_id="asst_1") as stream,
    ):
        events = [event async for event in stream]
    assert len(events) == 11
    assert stream.done


async def test_the_deadline_bounds_a_call_and_its_retries(
    server: tuple[str, web.Application],
) -> None:
    url, app = server
    async with AsyncClient(api_key="sk-1", base_url=url, max_retries=10) as client:
        elapsed, error = await timed(
            client.assistants.retrieve("busy", timeout=Timeout(deadline=1.5))
        )
    assert isinstance(error, APITimeoutError)
    assert "deadline of 1.5 s" in str(error)
    assert isinstance(error.__cause__, InternalServerError)  # what the last attempt got
    assert elapsed < 8  # ten retries a second apart, without the deadline
    assert len(app[ATTEMPTS]) == 2  # retry-after 1 s: a third try would pass the deadline


def test_a_number_sets_total_read_and_at_most_five_seconds_to_connect() -> None:
    client = AsyncClient(api_key="sk-1", timeout=1.0)
    assert client.timeout == Timeout(total=1.0, read=1.0, connect=1.0)
    assert AsyncClient(api_key="sk-1", timeout=60).timeout == Timeout(
        total=60.0, read=60.0, connect=5.0
    )
    with pytest.raises(ValueError, match=r"timeout\.deadline"):
        Timeout(deadline=-1)


async def test_poll_raises_poll_timeout_by_its_deadline_when_no_look_succeeds() -> None:
    async with FakeAssistantsServer(progress="per_retrieve") as fake, fake.client() as client:
        asst = await client.assistants.create(model="m")
        run = await client.threads.create_and_run(assistant_id=asst.id)
        fake.faults.delay("getRun", seconds=30)
        elapsed, error = await timed(client.runs.poll(run.thread_id, run.id, timeout=1.0))
    assert isinstance(error, PollTimeoutError), repr(error)
    assert error.run is None
    assert "no look at run" in str(error)
    assert 0.9 < elapsed < 10  # the look would have taken 30 s


async def test_poll_keeps_the_last_run_when_a_late_look_is_cut_short() -> None:
    async with FakeAssistantsServer(progress="per_retrieve") as fake, fake.client() as client:
        asst = await client.assistants.create(model="m")
        run = await client.threads.create_and_run(assistant_id=asst.id)
        poll = asyncio.ensure_future(
            client.runs.poll(run.thread_id, run.id, interval=0.2, timeout=1.0)
        )
        while not any(r.operation == "getRun" for r in fake.requests):  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        fake.faults.delay("getRun", seconds=30)  # every look after the first hangs
        elapsed, error = await timed(poll)
    assert isinstance(error, PollTimeoutError), repr(error)
    assert error.run is not None
    assert error.run.id == run.id
    assert elapsed < 10  # a look would have taken 30 s
