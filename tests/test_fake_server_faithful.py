"""The fake server as the service behaved where clients look: stopping during a delay,
a bounded request log, idempotency scoped to the key and the request, and objects
visible only to the key (or project) that made them; on each store (``any_store``)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from assistants_async import APIConnectionError, AsyncClient, NotFoundError
from assistants_async.server import MemoryStore, SQLiteStore, Store
from assistants_async.server._keys import tenant_of_key
from assistants_async.testing import FakeAssistantsServer, FakeClock, RequestLog

from .stores import count_threads


async def test_stop_does_not_wait_out_a_delay_fault(any_store: Store) -> None:
    server = FakeAssistantsServer(store=any_store)
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
        assert time.monotonic() - started < 10  # the delay was 30 s
        with pytest.raises(APIConnectionError):
            await asyncio.wait_for(call, 5)
    finally:
        await client.close()


async def test_the_request_log_is_a_ring_buffer(any_store: Store) -> None:
    async with (
        FakeAssistantsServer(max_logged_requests=5, store=any_store) as server,
        server.client() as client,
    ):
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


async def post(
    http: aiohttp.ClientSession, url: str, path: str, body: dict[str, Any], key: str, **headers: str
) -> tuple[int, Any, str]:
    async with http.post(
        f"{url}{path}",
        json=body,
        headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "same", **headers},
    ) as response:
        text = await response.text()
        kind = response.headers.get("Content-Type", "")
        return response.status, json.loads(text) if "json" in kind else text, kind


async def test_an_idempotency_key_belongs_to_one_request_of_one_key_holder(
    any_store: Store,
) -> None:
    async with (
        FakeAssistantsServer(store=any_store) as server,
        aiohttp.ClientSession(headers={"OpenAI-Beta": "assistants=v2"}) as http,
    ):
        url = server.url or ""
        assert server.url is not None
        x = (await post(http, url, "/threads", {}, "sk-a", **{"Idempotency-Key": "t1"}))[1]["id"]
        y_status, y, _ = await post(http, url, "/threads", {}, "sk-a", **{"Idempotency-Key": "t2"})
        y_id = y["id"]
        hi = {"role": "user", "content": "hi"}
        first = await post(http, url, f"/threads/{x}/messages", hi, "sk-a")
        assert first[0] == 200
        # The same key on another thread's messages: another request, refused.
        status, error, _ = await post(
            http, url, f"/threads/{y_id}/messages", {"role": "user", "content": "hi"}, "sk-a"
        )
        assert status == 400
        assert error["error"]["code"] == "idempotency_key_reused"
        assert "same parameters" in error["error"]["message"]
        # The same key with another body: refused too.
        status, _, _ = await post(
            http, url, f"/threads/{x}/messages", {"role": "user", "content": "other"}, "sk-a"
        )
        assert status == 400
        # The same request, the same key: replayed.
        again = await post(
            http, url, f"/threads/{x}/messages", {"role": "user", "content": "hi"}, "sk-a"
        )
        assert again[1]["id"] == first[1]["id"]
        # Another key holder's "same" key is its own.
        theirs = await post(
            http, url, f"/threads/{x}/messages", hi, "sk-b", **{"Idempotency-Key": "t1"}
        )
        assert theirs[0] == 404  # sk-b cannot see sk-a's thread: not a replay of t1
        mine = await post(http, url, "/threads", {}, "sk-b", **{"Idempotency-Key": "t1"})
        assert mine[1]["id"] not in (x, y_id)
        assert server.idempotency.held_locks == 0  # no lock outlives its requests
        assert y_status == 200


async def test_keys_expire_on_the_servers_clock(any_store: Store) -> None:
    clock = FakeClock()
    async with (
        FakeAssistantsServer(clock=clock, store=any_store) as server,
        aiohttp.ClientSession(headers={"OpenAI-Beta": "assistants=v2"}) as http,
    ):
        url = server.url or ""
        first = (await post(http, url, "/assistants", {"model": "m"}, "sk-a"))[1]["id"]
        assert (await post(http, url, "/assistants", {"model": "m"}, "sk-a"))[1]["id"] == first
        clock.advance(24 * 3600)
        assert (await post(http, url, "/assistants", {"model": "m"}, "sk-a"))[1]["id"] != first


async def test_a_streamed_run_is_replayed_to_the_retry_of_a_timed_out_call(
    any_store: Store,
) -> None:
    async with (
        FakeAssistantsServer(store=any_store) as server,
        aiohttp.ClientSession(headers={"OpenAI-Beta": "assistants=v2"}) as http,
    ):
        url = server.url or ""
        asst = (
            await post(
                http, url, "/assistants", {"model": "m"}, "sk-a", **{"Idempotency-Key": "a1"}
            )
        )[1]
        body = {
            "assistant_id": asst["id"],
            "stream": True,
            "thread": {"messages": [{"role": "user", "content": "hello there"}]},
        }
        headers = {"Authorization": "Bearer sk-a", "Idempotency-Key": "run-1"}
        # The first try: the client reads a little, then gives up (a timeout).
        async with http.post(f"{url}/threads/runs", json=body, headers=headers) as response:
            await response.content.readany()
            response.close()
        # The retry, with the same key: the whole stream, and nothing made twice.
        status, replay, kind = await post(http, url, "/threads/runs", body, "sk-a", **headers)
    assert status == 200
    assert kind.startswith("text/event-stream")
    assert replay.startswith("event: thread.created")
    assert replay.rstrip().endswith("data: [DONE]")
    creates = [r for r in server.requests if r.operation == "createThreadAndRun"]
    assert len(creates) == 2
    assert await count_threads(any_store) == 1


async def test_objects_are_visible_only_to_their_key_or_project(any_store: Store) -> None:
    async with FakeAssistantsServer(store=any_store) as server:
        assert server.url is not None
        a = AsyncClient(api_key="sk-a", base_url=server.url)
        b = AsyncClient(api_key="sk-b", base_url=server.url)
        a_proj2 = AsyncClient(api_key="sk-a", base_url=server.url, project="proj_2")
        async with a, b, a_proj2:
            asst = await a.assistants.create(model="m")
            thread = await a.threads.create()
            for other in (b, a_proj2):
                with pytest.raises(NotFoundError):
                    await other.assistants.retrieve(asst.id)
                with pytest.raises(NotFoundError):
                    await other.threads.retrieve(thread.id)
                with pytest.raises(NotFoundError):
                    await other.runs.create(thread.id, assistant_id=asst.id)
                assert [x async for x in other.assistants.list()] == []
            assert (await a.assistants.retrieve(asst.id)).id == asst.id
    async with FakeAssistantsServer(isolate_tenants=False, store=any_store) as shared:
        assert shared.url is not None
        async with (
            AsyncClient(api_key="sk-a", base_url=shared.url) as a,
            AsyncClient(api_key="sk-b", base_url=shared.url) as b,
        ):
            asst = await a.assistants.create(model="m")
            assert (await b.assistants.retrieve(asst.id)).id == asst.id


async def test_the_fake_keeps_its_objects_in_the_store_it_is_given(any_store: Store) -> None:
    async with FakeAssistantsServer(store=any_store) as server, server.client() as client:
        assert server.store is any_store
        asst = await client.assistants.create(model="m", name="kept")
        thread = await client.threads.create(messages=[{"role": "user", "content": "hi"}])
        server.faults.fail_next("getThread", status=503, retry_after_ms=1)
        assert await client.threads.retrieve(thread.id) == thread  # the fault, retried
    # Stopped, the fake leaves the store open: its caller closes it.
    assert (await any_store.assistant(tenant_of_key("sk-fake"), asst.id))["name"] == "kept"
    async with FakeAssistantsServer(store=any_store) as again, again.client() as client:
        assert (await client.assistants.retrieve(asst.id)).name == "kept"
        if not isinstance(any_store, MemoryStore):
            with pytest.raises(TypeError, match=r"await server\.areset\(\)"):
                again.reset()
        await again.areset()
        assert [a async for a in client.assistants.list()] == []
        with pytest.raises(NotFoundError):
            await client.threads.retrieve(thread.id)


def test_a_store_that_is_not_a_store_is_refused() -> None:
    with pytest.raises(TypeError, match="store must be a Store"):
        FakeAssistantsServer(store="memory")  # type: ignore[arg-type]


async def test_a_store_given_unopened_is_refused_at_start(tmp_path: Path) -> None:
    """Not a 500 on every request: start() says what is missing, and serves nothing."""
    store = SQLiteStore(tmp_path / "never-opened.sqlite3")
    server = FakeAssistantsServer(store=store)
    with pytest.raises(RuntimeError, match=r"not open: await store\.open\(\)"):
        await server.start()
    assert server.url is None
    await server.stop()
