"""The fake server as the service behaved where clients look: stopping during a delay,
a bounded request log, idempotency scoped to the key and the request, and objects
visible only to the key (or project) that made them."""

from __future__ import annotations

import asyncio
import time

import pytest

from assistants_async import APIConnectionError
from assistants_async.testing import FakeAssistantsServer, RequestLog


async def test_stop_does_not_wait_out_a_delay_fault() -> None:
    server = FakeAssistantsServer()
    await server.start()
    client = server.client(max_retries=0)
    try:
        asst = await client.assistants.create(model="m")
        server.faults.delay("getAssistant", seconds=30)
        call = asyncio.ensure_future(client.assistants.retrieve(asst.id))
        while len(server.requests) < 2:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        started = time.monotonic()
        await server.stop()
        assert time.monotonic() - started < 2
        with pytest.raises(APIConnectionError):
            await asyncio.wait_for(call, 5)
    finally:
        await client.close()


async def test_the_request_log_is_a_ring_buffer() -> None:
    async with FakeAssistantsServer(max_logged_requests=5) as server, server.client() as client:
        for i in range(12):
            await client.assistants.create(model=f"m{i}")
        assert isinstance(server.requests, RequestLog)
        assert len(server.requests) == 5
        assert [r.body["model"] for r in server.requests] == [f"m{i}" for i in range(7, 12)]
        assert server.requests[-1].body == {"model": "m11"}
        assert [r.body["model"] for r in server.requests[:2]] == ["m7", "m8"]
        assert repr(server.requests) == "RequestLog(5 of at most 5)"
    with pytest.raises(ValueError, match="log size"):
        FakeAssistantsServer(max_logged_requests=0)
