"""One conformance suite for every ``Store``: the memory, SQLite and PostgreSQL stores
are held to the same behaviour, call by call. SQLite's own promises (durability, indexes,
migrations) are tested in test_sqlite.py."""

from __future__ import annotations

import asyncio
import functools
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, Literal

import pytest

from assistants_async.server._memory import MemoryStore
from assistants_async.server._postgres import PostgresStore
from assistants_async.server._sqlite import SQLiteStore
from assistants_async.server._store import (
    JSON,
    ActiveRunExists,
    Claim,
    Conflict,
    NotFound,
    Page,
    PageQuery,
    Reply,
    RunRecord,
    Store,
    UnknownCursor,
)

A = "key:alice"
B = "key:bob"
T0 = 1_700_000_000


def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """The store ``request.param`` names: memory, sqlite or postgres (a new database)."""
    if request.param == "memory":
        return MemoryStore()
    if request.param == "sqlite":
        return SQLiteStore(tmp_path / "store.sqlite3")
    return PostgresStore(request.getfixturevalue("postgres_url"))


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    made = make_store(request, tmp_path)
    await made.open()
    try:
        yield made
    finally:
        await made.close()


def assistant(n: int, created_at: int = T0) -> JSON:
    return {
        "id": f"asst_{n:04d}",
        "object": "assistant",
        "created_at": created_at,
        "name": f"Assistant {n}",
        "model": "gpt-4o",
        "tools": [],
        "metadata": {},
    }


def thread(n: int, created_at: int = T0) -> JSON:
    return {"id": f"thread_{n:04d}", "object": "thread", "created_at": created_at, "metadata": {}}


def message(
    thread_id: str, n: int, created_at: int = T0, run_id: str | None = None, text: str = "Hi"
) -> JSON:
    return {
        "id": f"msg_{thread_id[-4:]}_{n:04d}",
        "object": "thread.message",
        "created_at": created_at,
        "thread_id": thread_id,
        "role": "assistant" if run_id else "user",
        "content": [{"type": "text", "text": {"value": text, "annotations": []}}],
        "run_id": run_id,
        "metadata": {},
    }


def run(thread_id: str, n: int, status: str = "queued", created_at: int = T0) -> RunRecord:
    obj = {
        "id": f"run_{thread_id[-4:]}_{n:04d}",
        "object": "thread.run",
        "created_at": created_at,
        "thread_id": thread_id,
        "assistant_id": "asst_0001",
        "status": status,
    }
    return RunRecord(obj, {"open_calls": {}, "outputs": []})


def step(thread_id: str, run_id: str, n: int, created_at: int = T0) -> JSON:
    return {
        "id": f"step_{run_id[-9:]}_{n:04d}",
        "object": "thread.run.step",
        "created_at": created_at,
        "thread_id": thread_id,
        "run_id": run_id,
        "status": "completed",
        "type": "message_creation",
    }


async def everything(page: Callable[[PageQuery], Awaitable[Page]]) -> list[str]:
    """Every id of a list, oldest first, read through its pages."""
    return [item["id"] for item in (await page(PageQuery(limit=100, order="asc"))).items]


async def not_found(kind: str, call: Awaitable[Any]) -> None:
    with pytest.raises(NotFound) as caught:
        await call
    assert caught.value.kind == kind


def test_every_store_satisfies_the_protocol(tmp_path: Path) -> None:
    # mypy checks these assignments against Store, method by method.
    stores: list[Store] = [
        MemoryStore(),
        SQLiteStore(tmp_path / "x.sqlite3"),
        PostgresStore("postgresql://127.0.0.1/x"),
    ]
    assert len(stores) == 3


# --- assistants -----------------------------------------------------------------------


async def test_assistant_add_get_put_delete(store: Store) -> None:
    await store.add_assistant(A, assistant(1))
    assert await store.assistant(A, "asst_0001") == assistant(1)
    changed = assistant(1) | {"name": "Renamed", "metadata": {"k": "v"}}
    await store.put_assistant(A, changed)
    assert await store.assistant(A, "asst_0001") == changed
    await store.delete_assistant(A, "asst_0001")
    await not_found("assistant", store.assistant(A, "asst_0001"))
    await not_found("assistant", store.delete_assistant(A, "asst_0001"))
    await not_found("assistant", store.put_assistant(A, changed))
    assert (await store.assistants(A, PageQuery())).items == []


async def test_assistants_list_newest_first_by_default(store: Store) -> None:
    for n in range(1, 6):
        await store.add_assistant(A, assistant(n, T0 + n))
    page = await store.assistants(A, PageQuery(limit=3))
    assert [a["id"] for a in page.items] == ["asst_0005", "asst_0004", "asst_0003"]
    assert page.has_more
    page = await store.assistants(A, PageQuery(limit=3, after="asst_0003"))
    assert [a["id"] for a in page.items] == ["asst_0002", "asst_0001"]
    assert not page.has_more


async def test_a_duplicate_id_is_refused(store: Store) -> None:
    await store.add_assistant(A, assistant(1))
    with pytest.raises(ValueError, match="already"):
        await store.add_assistant(B, assistant(1))
    await store.add_thread(A, thread(1), [message("thread_0001", 1)])
    with pytest.raises(ValueError, match="already"):
        await store.add_thread(A, thread(1))
    with pytest.raises(ValueError, match="already"):
        await store.add_message(A, message("thread_0001", 1))
    with pytest.raises(ValueError, match="already"):
        await store.add_thread(A, thread(2), [message("thread_0002", 5)] * 2)
    await not_found("thread", store.thread(A, "thread_0002"))
    await store.add_run(A, run("thread_0001", 1, "completed"))
    with pytest.raises(ValueError, match="already"):
        await store.add_run(A, run("thread_0001", 1, "completed"))


async def test_messages_of_another_thread_are_refused(store: Store) -> None:
    await store.add_thread(A, thread(1))
    with pytest.raises(ValueError, match="not in thread"):
        await store.add_thread(A, thread(2), [message("thread_0001", 1)])
    with pytest.raises(ValueError, match="not in thread"):
        await store.add_run(A, run("thread_0001", 1), [message("thread_0002", 1)])
    await not_found("thread", store.thread(A, "thread_0002"))
    await not_found("run", store.run(A, "thread_0001", "run_0001_0001"))


# --- threads and messages -------------------------------------------------------------


async def test_thread_with_its_first_messages(store: Store) -> None:
    t = "thread_0001"
    await store.add_thread(A, thread(1), [message(t, 1), message(t, 2)])
    assert await store.thread(A, t) == thread(1)
    assert await everything(lambda q: store.messages(A, t, q)) == ["msg_0001_0001", "msg_0001_0002"]
    await store.put_thread(A, thread(1) | {"metadata": {"a": "b"}})
    assert (await store.thread(A, t))["metadata"] == {"a": "b"}
    await not_found("thread", store.put_thread(A, thread(9)))
    await not_found("thread", store.delete_thread(A, "thread_0009"))


async def test_message_add_get_put_delete(store: Store) -> None:
    t = "thread_0001"
    await store.add_thread(A, thread(1))
    await store.add_thread(A, thread(2))
    await store.add_message(A, message(t, 1))
    assert await store.message(A, t, "msg_0001_0001") == message(t, 1)
    await store.put_message(A, message(t, 1, text="Changed"))
    assert await store.message(A, t, "msg_0001_0001") == message(t, 1, text="Changed")
    # Found only in its own thread.
    await not_found("message", store.message(A, "thread_0002", "msg_0001_0001"))
    await not_found("thread", store.message(A, "thread_0009", "msg_0001_0001"))
    await store.delete_message(A, t, "msg_0001_0001")
    await not_found("message", store.message(A, t, "msg_0001_0001"))
    await not_found("message", store.delete_message(A, t, "msg_0001_0001"))
    await not_found("thread", store.delete_message(A, "thread_0009", "msg_0001_0001"))
    await not_found("message", store.put_message(A, message(t, 1)))
    await not_found("thread", store.put_message(A, message("thread_0009", 1)))
    await not_found("thread", store.add_message(A, message("thread_0009", 1)))
    await not_found("thread", store.messages(A, "thread_0009", PageQuery()))
    assert (await store.messages(A, t, PageQuery())).items == []


async def test_messages_by_run(store: Store) -> None:
    t = "thread_0001"
    await store.add_thread(A, thread(1), [message(t, 1)])
    r1 = (await store.add_run(A, run(t, 1, "completed"))).id
    r2 = (await store.add_run(A, run(t, 2, "completed"))).id
    await store.add_message(A, message(t, 2, run_id=r1))
    await store.add_message(A, message(t, 3, run_id=r2))
    await store.add_message(A, message(t, 4, run_id=r1))
    by_run = await everything(lambda q: store.messages(A, t, q, run_id=r1))
    assert by_run == ["msg_0001_0002", "msg_0001_0004"]
    assert await everything(lambda q: store.messages(A, t, q, run_id="run_none")) == []
    # A cursor outside the run's messages is not in that list.
    with pytest.raises(UnknownCursor):
        await store.messages(A, t, PageQuery(after="msg_0001_0003"), run_id=r1)
    page = await store.messages(A, t, PageQuery(limit=1, order="asc"), run_id=r1)
    assert ([m["id"] for m in page.items], page.has_more) == (["msg_0001_0002"], True)
    # A put that moves a message to another run moves it between the lists.
    await store.put_message(A, message(t, 4, run_id=r2))
    assert await everything(lambda q: store.messages(A, t, q, run_id=r1)) == ["msg_0001_0002"]
    by_run2 = await everything(lambda q: store.messages(A, t, q, run_id=r2))
    assert by_run2 == ["msg_0001_0003", "msg_0001_0004"]
    await store.put_message(A, message(t, 3))
    assert await everything(lambda q: store.messages(A, t, q, run_id=r2)) == ["msg_0001_0004"]
    await store.delete_message(A, t, "msg_0001_0004")
    assert await everything(lambda q: store.messages(A, t, q, run_id=r2)) == []
    assert len(await everything(lambda q: store.messages(A, t, q))) == 3


async def test_deleting_a_thread_deletes_its_messages_runs_and_steps(store: Store) -> None:
    t = "thread_0001"
    await store.add_thread(A, thread(1), [message(t, 1)])
    await store.add_thread(A, thread(2), [message("thread_0002", 1)])
    r = await store.add_run(A, run(t, 1), [message(t, 2)])
    await store.put_step(A, step(t, r.id, 1))
    await store.delete_thread(A, t)
    await not_found("thread", store.thread(A, t))
    await not_found("thread", store.run(A, t, r.id))
    assert await store.active_runs() == []
    # Gone, not hidden: the same ids can be used again.
    await store.add_thread(A, thread(1), [message(t, 1), message(t, 2)])
    await store.add_run(A, run(t, 1))
    await store.put_step(A, step(t, r.id, 1))
    assert len((await store.steps(A, t, r.id, PageQuery())).items) == 1
    # The other thread is untouched.
    assert await everything(lambda q: store.messages(A, "thread_0002", q)) == ["msg_0002_0001"]


# --- tenants --------------------------------------------------------------------------


async def test_a_tenant_sees_nothing_of_another(store: Store) -> None:
    t = "thread_0001"
    await store.add_assistant(A, assistant(1))
    await store.add_thread(A, thread(1), [message(t, 1)])
    r = await store.add_run(A, run(t, 1))
    await store.put_step(A, step(t, r.id, 1))
    step_id = step(t, r.id, 1)["id"]

    await not_found("assistant", store.assistant(B, "asst_0001"))
    await not_found("assistant", store.put_assistant(B, assistant(1)))
    await not_found("assistant", store.delete_assistant(B, "asst_0001"))
    assert (await store.assistants(B, PageQuery())).items == []
    await not_found("thread", store.thread(B, t))
    await not_found("thread", store.put_thread(B, thread(1)))
    await not_found("thread", store.delete_thread(B, t))
    await not_found("thread", store.add_message(B, message(t, 2)))
    await not_found("thread", store.message(B, t, "msg_0001_0001"))
    await not_found("thread", store.put_message(B, message(t, 1)))
    await not_found("thread", store.delete_message(B, t, "msg_0001_0001"))
    await not_found("thread", store.messages(B, t, PageQuery()))
    # With a cursor of A's, the thread is what B is told is missing, not the cursor.
    await not_found("thread", store.messages(B, t, PageQuery(after="msg_0001_0001")))
    await not_found("thread", store.messages(B, t, PageQuery(before="nothing"), run_id=r.id))
    await not_found("thread", store.runs(B, t, PageQuery(before=r.id)))
    await not_found("thread", store.messages(A, "thread_none", PageQuery(after="nothing")))
    await not_found("thread", store.add_run(B, run(t, 2)))
    await not_found("thread", store.run(B, t, r.id))
    await not_found("thread", store.put_run(B, r))
    await not_found("thread", store.runs(B, t, PageQuery()))
    await not_found("thread", store.put_step(B, step(t, r.id, 2)))
    await not_found("thread", store.step(B, t, r.id, step_id))
    await not_found("thread", store.steps(B, t, r.id, PageQuery()))
    # Nothing of A's changed.
    assert await store.assistant(A, "asst_0001") == assistant(1)
    assert await store.message(A, t, "msg_0001_0001") == message(t, 1)
    assert (await store.run(A, t, r.id)).version == 1
    assert await everything(lambda q: store.steps(A, t, r.id, q)) == [step_id]


async def test_ids_with_a_nul_are_not_found(store: Store) -> None:
    # Any id a request names reaches the store (a path's %00 included): one no record
    # can have is "not found", never an error of the database's (PostgreSQL's TEXT
    # cannot hold a NUL).
    t, bad = "thread_0001", "x\x00y"
    await store.add_assistant(A, assistant(1))
    await store.add_thread(A, thread(1), [message(t, 1)])
    r = await store.add_run(A, run(t, 1))
    await store.put_step(A, step(t, r.id, 1))
    await not_found("assistant", store.assistant(A, bad))
    await not_found("assistant", store.put_assistant(A, assistant(1) | {"id": bad}))
    await not_found("assistant", store.delete_assistant(A, bad))
    await not_found("thread", store.thread(A, bad))
    await not_found("thread", store.put_thread(A, thread(1) | {"id": bad}))
    await not_found("thread", store.delete_thread(A, bad))
    await not_found("thread", store.add_message(A, message(bad, 2)))
    await not_found("thread", store.message(A, bad, "msg_0001_0001"))
    await not_found("message", store.message(A, t, bad))
    await not_found("message", store.put_message(A, message(t, 1) | {"id": bad}))
    await not_found("message", store.delete_message(A, t, bad))
    await not_found("thread", store.delete_message(A, bad, bad))
    await not_found("thread", store.messages(A, bad, PageQuery()))
    assert (await store.messages(A, t, PageQuery(), run_id=bad)).items == []
    await not_found("thread", store.add_run(A, run(bad, 2)))
    await not_found("thread", store.run(A, bad, r.id))
    await not_found("run", store.run(A, t, bad))
    await not_found("run", store.run_if_changed(A, t, bad, 1))
    await not_found("run", store.put_run(A, RunRecord(r.obj | {"id": bad}, version=1)))
    await not_found("thread", store.runs(A, bad, PageQuery()))
    await not_found("run", store.put_step(A, step(t, bad, 2)))
    await not_found("thread", store.step(A, bad, r.id, "s"))
    await not_found("run", store.step(A, t, bad, "s"))
    await not_found("step", store.step(A, t, r.id, bad))
    await not_found("run", store.steps(A, t, bad, PageQuery()))
    for query in (PageQuery(after=bad), PageQuery(before=bad)):
        for call in (
            store.assistants(A, query),
            store.messages(A, t, query),
            store.messages(A, t, query, run_id=bad),
            store.runs(A, t, query),
            store.steps(A, t, r.id, query),
        ):
            with pytest.raises(UnknownCursor) as caught:
                await call
            assert caught.value.name == ("after" if query.after else "before")
    # An idempotency key is the caller's text: kept and found as given.
    kept = Reply(200, b"{}", "application/json", "r", 100.0)
    await store.keep_reply(A, bad, kept)
    await store.keep_reply(A, "x\\0y", Reply(201, b"", "text/plain", "r", 100.0))
    assert await store.reply(A, bad, 50.0) == kept
    assert await store.reply(A, "x", 50.0) is None


async def test_run_add_get_put_versions(store: Store) -> None:
    t = "thread_0001"
    await store.add_thread(A, thread(1))
    added = await store.add_run(A, run(t, 1), [message(t, 1, text="extra")])
    assert added.version == 1
    assert added.obj == run(t, 1).obj
    got = await store.run(A, t, added.id)
    assert got == added
    assert got.state == {"open_calls": {}, "outputs": []}
    # The additional messages were written with the run.
    assert await everything(lambda q: store.messages(A, t, q)) == ["msg_0001_0001"]
    moved = RunRecord(got.obj | {"status": "in_progress"}, {"open_calls": {"c": 1}}, got.version)
    put = await store.put_run(A, moved)
    assert put.version == 2
    again = await store.run(A, t, added.id)
    assert (again.obj["status"], again.state, again.version) == (
        "in_progress",
        {"open_calls": {"c": 1}},
        2,
    )
    await not_found("run", store.run(A, t, "run_missing"))
    await not_found("run", store.put_run(A, RunRecord(run(t, 9).obj, version=1)))
    await not_found("thread", store.add_run(A, run("thread_0009", 1)))
    await not_found("thread", store.runs(A, "thread_0009", PageQuery()))


async def test_run_if_changed(store: Store) -> None:
    t = "thread_0001"
    await store.add_thread(A, thread(1))
    added = await store.add_run(A, run(t, 1))
    assert await store.run_if_changed(A, t, added.id, added.version) is None
    moved = await store.put_run(A, RunRecord(added.obj | {"status": "in_progress"}, {"s": 1}, 1))
    # Held at an older version (or any other): the run as it stands.
    assert await store.run_if_changed(A, t, added.id, added.version) == moved
    assert await store.run_if_changed(A, t, added.id, 7) == moved
    assert await store.run_if_changed(A, t, added.id, moved.version) is None
    await not_found("run", store.run_if_changed(A, t, "run_missing", 1))
    await not_found("thread", store.run_if_changed(A, "thread_0009", added.id, 1))
    await not_found("thread", store.run_if_changed(B, t, added.id, 1))


async def test_one_active_run_per_thread_on_add(store: Store) -> None:
    t = "thread_0001"
    await store.add_thread(A, thread(1))
    await store.add_thread(A, thread(2))
    first = await store.add_run(A, run(t, 1, "requires_action"))
    with pytest.raises(ActiveRunExists) as caught:
        await store.add_run(A, run(t, 2, "queued"), [message(t, 1)])
    assert (caught.value.thread_id, caught.value.run_id) == (t, first.id)
    # Refused as a whole: neither the run nor its messages were written.
    await not_found("run", store.run(A, t, run(t, 2).id))
    assert (await store.messages(A, t, PageQuery())).items == []
    # Finished runs, and another thread's run, do not count.
    await store.add_run(A, run(t, 3, "completed"))
    await store.add_run(A, run("thread_0002", 1, "queued"))
    await store.put_run(A, RunRecord(first.obj | {"status": "cancelled"}, version=1))
    await store.add_run(A, run(t, 4, "queued"))


async def test_one_active_run_per_thread_on_put(store: Store) -> None:
    t = "thread_0001"
    await store.add_thread(A, thread(1))
    done = await store.add_run(A, run(t, 1, "completed"))
    active = await store.add_run(A, run(t, 2, "in_progress"))
    with pytest.raises(ActiveRunExists) as caught:
        await store.put_run(A, RunRecord(done.obj | {"status": "queued"}, version=1))
    assert caught.value.run_id == active.id
    assert (await store.run(A, t, done.id)).version == 1  # unchanged
    # A finished run may still be written (its version moves), holding nothing.
    assert (await store.put_run(A, RunRecord(done.obj, {"late": 1}, 1))).version == 2
    # The active run itself may move between active statuses.
    active = await store.put_run(A, RunRecord(active.obj | {"status": "cancelling"}, version=1))
    assert active.version == 2


async def test_a_stale_version_loses(store: Store) -> None:
    t = "thread_0001"
    await store.add_thread(A, thread(1))
    added = await store.add_run(A, run(t, 1))
    one = await store.run(A, t, added.id)
    two = await store.run(A, t, added.id)
    await store.put_run(A, RunRecord(one.obj | {"status": "in_progress"}, one.state, one.version))
    with pytest.raises(Conflict):
        await store.put_run(
            A, RunRecord(two.obj | {"status": "cancelling"}, two.state, two.version)
        )
    assert (await store.run(A, t, added.id)).obj["status"] == "in_progress"


async def test_concurrent_writers_of_one_version_one_wins(store: Store) -> None:
    t = "thread_0001"
    await store.add_thread(A, thread(1))
    added = await store.add_run(A, run(t, 1))
    read = [await store.run(A, t, added.id) for _ in range(8)]
    results = await asyncio.gather(
        *(
            store.put_run(A, RunRecord(r.obj | {"status": "in_progress"}, {"writer": i}, r.version))
            for i, r in enumerate(read)
        ),
        return_exceptions=True,
    )
    won = [r for r in results if isinstance(r, RunRecord)]
    assert len(won) == 1
    assert all(isinstance(r, Conflict) for r in results if not isinstance(r, RunRecord))
    assert (await store.run(A, t, added.id)).state == won[0].state


async def test_concurrent_add_run_on_one_thread_one_succeeds(store: Store) -> None:
    t = "thread_0001"
    await store.add_thread(A, thread(1))
    results = await asyncio.gather(
        *(store.add_run(A, run(t, n), [message(t, n)]) for n in range(20)),
        return_exceptions=True,
    )
    won = [r for r in results if isinstance(r, RunRecord)]
    assert len(won) == 1
    lost = [r for r in results if not isinstance(r, RunRecord)]
    assert len(lost) == 19
    assert all(isinstance(r, ActiveRunExists) and r.run_id == won[0].id for r in lost)
    assert await everything(lambda q: store.runs(A, t, q)) == [won[0].id]
    assert len(await everything(lambda q: store.messages(A, t, q))) == 1


async def test_active_runs_across_tenants(store: Store) -> None:
    await store.add_thread(A, thread(1))
    await store.add_thread(B, thread(2))
    await store.add_thread(A, thread(3))
    a1 = await store.add_run(A, run("thread_0001", 1, "queued", T0 + 5))
    await store.add_run(A, run("thread_0001", 2, "completed", T0 + 1))
    b1 = await store.add_run(B, run("thread_0002", 1, "requires_action", T0 + 2))
    a3 = await store.add_run(A, run("thread_0003", 1, "cancelling", T0 + 5))
    active = await store.active_runs()
    assert [(tenant, r.id, r.version) for tenant, r in active] == [
        (B, b1.id, 1),
        (A, a1.id, 1),
        (A, a3.id, 1),
    ]
    assert active[0][1].state == {"open_calls": {}, "outputs": []}
    await store.put_run(B, RunRecord(b1.obj | {"status": "failed"}, version=1))
    await store.delete_thread(A, "thread_0003")
    assert [r.id for _, r in await store.active_runs()] == [a1.id]


# --- steps ----------------------------------------------------------------------------


async def test_steps_put_get_list(store: Store) -> None:
    t = "thread_0001"
    await store.add_thread(A, thread(1))
    r = await store.add_run(A, run(t, 1))
    other = await store.add_run(A, run(t, 2, "completed"))
    for n in (1, 2, 3):
        await store.put_step(A, step(t, r.id, n))
    s2 = step(t, r.id, 2)
    assert await store.step(A, t, r.id, s2["id"]) == s2
    # A put replaces the step in place: same position in the list.
    await store.put_step(A, s2 | {"status": "failed", "created_at": T0 + 99})
    assert (await store.step(A, t, r.id, s2["id"]))["status"] == "failed"
    expected = [step(t, r.id, n)["id"] for n in (1, 2, 3)]
    assert await everything(lambda q: store.steps(A, t, r.id, q)) == expected
    await not_found("step", store.step(A, t, other.id, s2["id"]))
    await not_found("step", store.step(A, t, r.id, "step_missing"))
    await not_found("run", store.step(A, t, "run_missing", s2["id"]))
    await not_found("run", store.steps(A, t, "run_missing", PageQuery()))
    await not_found("run", store.put_step(A, step(t, "run_missing", 1)))
    await not_found("thread", store.put_step(A, step("thread_0009", r.id, 1)))
    with pytest.raises(ValueError, match="another run"):
        await store.put_step(A, s2 | {"run_id": other.id})


async def test_step_delete(store: Store) -> None:
    # What recovery undoes of a turn cut halfway: the step goes from the run's list,
    # and a second delete says it is gone (a retried undo treats that as done).
    t = "thread_0001"
    await store.add_thread(A, thread(1))
    r = await store.add_run(A, run(t, 1))
    other = await store.add_run(A, run(t, 2, "completed"))
    for n in (1, 2, 3):
        await store.put_step(A, step(t, r.id, n))
    s2 = step(t, r.id, 2)["id"]
    await not_found("thread", store.delete_step(B, t, r.id, s2))
    await not_found("step", store.delete_step(A, t, other.id, s2))
    await not_found("run", store.delete_step(A, t, "run_missing", s2))
    await not_found("thread", store.delete_step(A, "thread_0009", r.id, s2))
    await store.delete_step(A, t, r.id, s2)
    await not_found("step", store.step(A, t, r.id, s2))
    await not_found("step", store.delete_step(A, t, r.id, s2))
    kept = [step(t, r.id, n)["id"] for n in (1, 3)]
    assert await everything(lambda q: store.steps(A, t, r.id, q)) == kept
    # Its id may be used again (a crash between an undo and a retake never collides).
    await store.put_step(A, step(t, r.id, 2))
    assert await everything(lambda q: store.steps(A, t, r.id, q)) == [*kept, s2]


# --- paging ---------------------------------------------------------------------------

# created_at out of insertion order, with ties: the list order is (created_at, insertion).
CREATED = [T0 + 3, T0 + 1, T0 + 3, T0 + 3, T0 + 2, T0 + 1, T0 + 5, T0 + 3]


Lister = Callable[[PageQuery], Awaitable[Page]]
ORDERS: tuple[Literal["asc", "desc"], ...] = ("asc", "desc")


async def fill(store: Store, kind: str, created: list[int]) -> tuple[list[str], Lister]:
    """Add one list's items with these created_at; return their ids in list (asc) order
    and a function that pages that list."""
    t = "thread_0001"
    await store.add_thread(A, thread(1))
    ids: list[tuple[int, int, str]] = []
    page: Lister
    if kind == "assistants":
        for n, at in enumerate(created):
            await store.add_assistant(A, assistant(n, at))
            ids.append((at, n, assistant(n)["id"]))

        def page(q: PageQuery) -> Awaitable[Page]:
            return store.assistants(A, q)
    elif kind in ("messages", "run_messages"):
        r = await store.add_run(A, run(t, 1, "completed"))
        run_id = r.id if kind == "run_messages" else None
        for n, at in enumerate(created):
            await store.add_message(A, message(t, n, at, run_id))
            ids.append((at, n, message(t, n)["id"]))
            if kind == "run_messages":  # another run's messages in between: not in the list
                await store.add_message(A, message(t, 1000 + n, at, "run_other"))

        def page(q: PageQuery) -> Awaitable[Page]:
            return store.messages(A, t, q, run_id=run_id)
    elif kind == "runs":
        for n, at in enumerate(created):
            await store.add_run(A, run(t, n, "completed", at))
            ids.append((at, n, run(t, n).id))

        def page(q: PageQuery) -> Awaitable[Page]:
            return store.runs(A, t, q)
    else:
        r = await store.add_run(A, run(t, 1))
        for n, at in enumerate(created):
            await store.put_step(A, step(t, r.id, n, at))
            ids.append((at, n, step(t, r.id, n)["id"]))

        def page(q: PageQuery) -> Awaitable[Page]:
            return store.steps(A, t, r.id, q)

    return [object_id for _, _, object_id in sorted(ids)], page


@functools.cache
def fake_server(ids: tuple[str, ...], query: PageQuery) -> tuple[list[str], bool]:
    """What the fake server answered for the same list and query before it paged with a
    store: its ``_page`` over a list held oldest first, kept here as the oracle."""
    ordered = list(ids) if query.order == "asc" else list(ids)[::-1]
    index = {object_id: i for i, object_id in enumerate(ordered)}
    start, end = 0, len(ordered)
    if query.after is not None:
        start = index[query.after] + 1
    if query.before is not None:
        end = index[query.before]
    window = ordered[start:end]
    if query.before is not None and query.after is None:
        # Walking backward: the items nearest the cursor, still in list order.
        return window[-query.limit :], len(window) > query.limit
    return window[: query.limit], len(window) > query.limit


KINDS = ["assistants", "messages", "run_messages", "runs", "steps"]


@pytest.mark.parametrize("kind", KINDS)
async def test_paging_matches_the_fake_server_for_every_query(store: Store, kind: str) -> None:
    ids, page = await fill(store, kind, CREATED)
    cursors: list[str | None] = [None, *ids]
    for order, after, before in itertools.product(ORDERS, cursors, cursors):
        for limit in (1, 3, 9):
            query = PageQuery(limit=limit, order=order, after=after, before=before)
            got = await page(query)
            assert ([item["id"] for item in got.items], got.has_more) == fake_server(
                tuple(ids), query
            ), query


@pytest.mark.parametrize("kind", KINDS)
async def test_unknown_cursors(store: Store, kind: str) -> None:
    _, page = await fill(store, kind, [T0, T0])
    await store.add_thread(A, thread(2), [message("thread_0002", 1)])
    for name in ("after", "before"):
        for cursor in ("nothing_like_it", "msg_0002_0001", "msg_0001_1000", "thread_0001"):
            with pytest.raises(UnknownCursor) as caught:
                await page(PageQuery(after=cursor) if name == "after" else PageQuery(before=cursor))
            assert (caught.value.name, caught.value.cursor) == (name, cursor)


async def test_a_cursor_of_another_tenant_is_unknown(store: Store) -> None:
    await store.add_assistant(A, assistant(1))
    await store.add_assistant(B, assistant(2))
    with pytest.raises(UnknownCursor):
        await store.assistants(A, PageQuery(after="asst_0002"))


@pytest.mark.parametrize("kind", ["assistants", "messages", "steps"])
async def test_walks_over_ties_yield_each_item_once(store: Store, kind: str) -> None:
    # 30 items made in the same second, between a few others.
    created = [T0 + 1] * 3 + [T0 + 2] * 30 + [T0 + 3] * 2
    ids, page = await fill(store, kind, created)
    for limit in (1, 7, 30, 100):
        for order in ORDERS:
            expected = ids if order == "asc" else ids[::-1]
            # Forward from the start, following after=last.
            seen: list[str] = []
            after: str | None = None
            while True:
                got = await page(PageQuery(limit=limit, order=order, after=after))
                seen += [item["id"] for item in got.items]
                if not got.has_more:
                    break
                after = got.items[-1]["id"]
            assert seen == expected
            # Backward from the end, following before=first.
            back: list[str] = []
            before = expected[-1]
            back.insert(0, before)
            while True:
                got = await page(PageQuery(limit=limit, order=order, before=before))
                back[:0] = [item["id"] for item in got.items]
                if not got.has_more:
                    break
                before = got.items[0]["id"]
            assert back == expected


async def test_a_limit_below_one_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="limit"):
        await store.assistants(A, PageQuery(limit=0))


# --- idempotency replies --------------------------------------------------------------


async def test_replies_kept_until_they_expire(store: Store) -> None:
    kept = Reply(200, b'{"id": "run_1"}', "application/json", "POST /threads/t/runs abc", 100.0)
    assert await store.reply(A, "k1", now=50.0) is None
    await store.keep_reply(A, "k1", kept)
    assert await store.reply(A, "k1", now=50.0) == kept
    assert await store.reply(A, "k1", now=99.5) == kept
    assert await store.reply(B, "k1", now=50.0) is None
    assert await store.reply(A, "k2", now=50.0) is None
    assert await store.reply(A, "k1", now=100.0) is None  # expired at expires_at
    # Kept again (a new answer for the key): replaced.
    newer = Reply(409, b"{}", "application/json", "POST /threads/t/runs abc", 300.0)
    await store.keep_reply(A, "k1", newer)
    assert await store.reply(A, "k1", now=150.0) == newer
    await store.keep_reply(A, "k1", kept)
    assert await store.reply(A, "k1", now=50.0) == kept


async def test_expired_replies_are_forgotten_for_good(store: Store) -> None:
    old = Reply(200, b"{}", "application/json", "r1", 100.0)
    live = Reply(200, b"{}", "application/json", "r2", 200.0)
    await store.keep_reply(A, "old", old)
    await store.keep_reply(B, "old", old)
    await store.keep_reply(A, "live", live)
    assert await store.forget_replies(now=150.0) == 2
    assert await store.reply(A, "old", now=0.0) is None  # gone, not only hidden
    assert await store.reply(B, "old", now=0.0) is None
    assert await store.reply(A, "live", now=150.0) == live
    assert await store.forget_replies(now=150.0) == 0


# --- idempotency claims ---------------------------------------------------------------

HOUR = 3600.0


async def test_a_claimed_key_is_held_until_its_reply_is_kept(store: Store) -> None:
    first = Claim("p1-1", "req", 1000.0)
    assert await store.claim_reply(A, "k", first, now=50.0, lease=HOUR) is None
    # Held: another request with the key (any process) is shown the claim, not run.
    other = Claim("p2-1", "req", 1000.0)
    assert await store.claim_reply(A, "k", other, now=50.0, lease=HOUR) == first
    assert await store.reply(A, "k", now=50.0) is None  # a claim is no reply
    # Another tenant's key of the same name is its own.
    assert await store.claim_reply(B, "k", other, now=50.0, lease=HOUR) is None
    kept = Reply(201, b'{"id": "x"}', "application/json", "req", 1000.0)
    await store.keep_reply(A, "k", kept)
    assert await store.claim_reply(A, "k", other, now=50.0, lease=HOUR) == kept
    assert await store.reply(A, "k", now=50.0) == kept
    # Its owner's release no longer touches the key: the reply stays.
    await store.release_claim(A, "k", "p1-1")
    assert await store.reply(A, "k", now=50.0) == kept
    # Once the reply expired, the key is taken afresh.
    assert await store.claim_reply(A, "k", other, now=1000.0, lease=HOUR) is None
    assert await store.claim_reply(A, "k", first, now=1000.0, lease=HOUR) == other


async def test_a_released_claim_frees_the_key_and_only_its_owner_releases_it(
    store: Store,
) -> None:
    first = Claim("p1-1", "req", 1000.0)
    assert await store.claim_reply(A, "k", first, now=50.0, lease=HOUR) is None
    await store.release_claim(A, "k", "p2-9")  # not the holder: nothing happens
    second = Claim("p2-1", "req", 1000.0)
    assert await store.claim_reply(A, "k", second, now=50.0, lease=HOUR) == first
    await store.release_claim(A, "k", "p1-1")
    assert await store.claim_reply(A, "k", second, now=50.0, lease=HOUR) is None
    # The key as given, NULs and backslashes included.
    for key in ("x\\0y", "x\x00y"):
        assert await store.claim_reply(A, key, first, now=50.0, lease=HOUR) is None
    assert await store.claim_reply(A, "x\x00y", second, now=50.0, lease=HOUR) == first


async def test_a_lapsed_claim_is_taken_by_the_next_request(store: Store) -> None:
    # Its process died: nobody renews it, and it lapses after its lease.
    dead = Claim("dead-1", "req", 1000.0)
    assert await store.claim_reply(A, "k", dead, now=50.0, lease=0.05) is None
    live = Claim("live-1", "req", 1000.0)

    async def taken() -> bool:
        return await store.claim_reply(A, "k", live, now=50.0, lease=HOUR) is None

    await until_true(taken)
    assert await store.claim_reply(A, "k", dead, now=50.0, lease=HOUR) == live


async def test_renewed_claims_are_those_still_held(store: Store) -> None:
    for n, key in enumerate(("a", "b", "c")):
        claim = Claim(f"p1-{n}", "req", 1000.0)
        assert await store.claim_reply(A, key, claim, now=50.0, lease=HOUR) is None
    await store.keep_reply(A, "b", Reply(200, b"", "text/plain", "req", 1000.0))
    await store.release_claim(A, "c", "p1-2")
    assert await store.renew_claims(["p1-0", "p1-1", "p1-2", "p9-9"], lease=HOUR) == {"p1-0"}
    assert await store.renew_claims([], lease=HOUR) == set()


async def test_claims_are_swept_with_the_replies(store: Store) -> None:
    claim = Claim("p1-1", "req", 100.0)
    assert await store.claim_reply(A, "k", claim, now=50.0, lease=HOUR) is None
    assert await store.forget_replies(now=150.0) == 1
    assert await store.claim_reply(A, "k", Claim("p2-1", "r", 900.0), now=0.0, lease=HOUR) is None


async def test_of_many_claims_at_once_exactly_one_takes_the_key(store: Store) -> None:
    claims = [Claim(f"p{n}-1", "req", 1000.0) for n in range(20)]
    got = await asyncio.gather(
        *(store.claim_reply(A, "k", claim, now=50.0, lease=HOUR) for claim in claims)
    )
    winners = [claim for claim, held in zip(claims, got, strict=True) if held is None]
    assert len(winners) == 1
    assert all(held == winners[0] for held in got if held is not None)


async def until_true(check: Callable[[], Awaitable[bool]], timeout: float = 30.0) -> None:
    """Wait for ``check()`` to hold (an event in the store), polling."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        assert loop.time() < deadline, "never happened"
        await asyncio.sleep(0.01)


# --- copies ---------------------------------------------------------------------------


async def test_records_handed_in_and_out_are_copies(store: Store) -> None:
    t = "thread_0001"
    given = assistant(1)
    await store.add_assistant(A, given)
    given["metadata"]["x"] = "changed after add"
    got = await store.assistant(A, "asst_0001")
    assert got == assistant(1)
    got["metadata"]["x"] = "changed after get"
    listed = (await store.assistants(A, PageQuery())).items[0]
    assert listed == assistant(1)
    listed["name"] = "changed after list"
    assert await store.assistant(A, "asst_0001") == assistant(1)

    first = [message(t, 1)]
    await store.add_thread(A, thread(1), first)
    first[0]["content"][0]["text"]["value"] = "changed"
    (await store.message(A, t, "msg_0001_0001"))["metadata"]["x"] = "y"
    assert await store.message(A, t, "msg_0001_0001") == message(t, 1)

    r = run(t, 1)
    added = await store.add_run(A, r)
    r.obj["status"] = "completed"
    r.state["open_calls"]["x"] = 1
    added.obj["status"] = "failed"
    got_run = await store.run(A, t, r.id)
    assert got_run == RunRecord(run(t, 1).obj, run(t, 1).state, 1)
    got_run.state["outputs"].append("x")
    put = await store.put_run(A, RunRecord(got_run.obj, {"n": 1}, 1))
    put.state["n"] = 2
    (await store.active_runs())[0][1].state["n"] = 3
    assert (await store.run(A, t, r.id)).state == {"n": 1}

    s = step(t, r.id, 1)
    await store.put_step(A, s)
    s["status"] = "changed"
    (await store.step(A, t, r.id, s["id"]))["status"] = "changed"
    assert await store.step(A, t, r.id, s["id"]) == step(t, r.id, 1)


async def test_clear_empties_the_store(store: Store) -> None:
    t = "thread_0001"
    await store.add_assistant(A, assistant(1))
    await store.add_thread(A, thread(1), [message(t, 1)])
    r = await store.add_run(A, run(t, 1))
    await store.put_step(A, step(t, r.id, 1))
    await store.keep_reply(A, "k", Reply(200, b"", "text/plain", "r", 1e12))
    assert await store.claim_reply(A, "c", Claim("p1-1", "r", 1e12), now=0.0, lease=HOUR) is None
    await store.clear()
    assert await store.claim_reply(A, "c", Claim("p2-1", "r", 1e12), now=0.0, lease=HOUR) is None
    await not_found("assistant", store.assistant(A, "asst_0001"))
    await not_found("thread", store.thread(A, t))
    assert await store.active_runs() == []
    assert await store.reply(A, "k", 0.0) is None
    # Every id is free again.
    await store.add_assistant(A, assistant(1))
    await store.add_thread(A, thread(1), [message(t, 1)])
    await store.add_run(A, run(t, 1))
    await store.put_step(A, step(t, r.id, 1))
