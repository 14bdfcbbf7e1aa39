"""One client, a thousand concurrent runs, a pool of fifty: nothing lost or duplicated."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web

from assistants_async.testing import FakeAssistantsServer, Text, scripted

RUNS = 1_000
POOL = 50


@pytest.mark.slow
async def test_a_thousand_concurrent_create_and_poll_runs() -> None:
    server = FakeAssistantsServer(responder=scripted([Text("done")] * RUNS), poll_after_ms=10)
    in_flight = peak = 0

    @web.middleware
    async def count(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            return await handler(request)
        finally:
            in_flight -= 1

    server.app.middlewares.insert(0, count)
    async with server, server.client(max_connections=POOL) as client:
        asst = await client.assistants.create(model="gpt-4o")
        runs = await asyncio.gather(
            *(
                client.threads.create_and_run_poll(
                    assistant_id=asst.id,
                    thread={"messages": [{"role": "user", "content": f"run {i}"}]},
                )
                for i in range(RUNS)
            )
        )
    assert [r.status for r in runs] == ["completed"] * RUNS
    assert len({r.id for r in runs}) == RUNS
    creates = [r for r in server.requests if r.operation == "createThreadAndRun"]
    assert len(creates) == RUNS  # none lost, none sent twice
    keys = Counter(r.headers["Idempotency-Key"] for r in creates)
    assert max(keys.values()) == 1
    assert all(r.status == 200 for r in server.requests)
    assert peak <= POOL
