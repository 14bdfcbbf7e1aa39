"""``LeasedEngine``: runs claimed before they move, renewed while they do, handed over
when their process stops or loses them, on PostgreSQL (several engines on one database
stand for several processes)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from assistants_async.server._leases import LeasedEngine, Leasing, process_name
from assistants_async.server._memory import MemoryStore
from assistants_async.server._postgres import PostgresStore
from assistants_async.server._responders import TextDelta, Usage
from assistants_async.server._sqlite import SQLiteStore
from assistants_async.server._store import RunRecord
from assistants_async.testing import FakeClock, SequentialIds, Text, scripted

from .test_engine import (
    ASSISTANT,
    HANG,
    Hanging,
    Recorder,
    Streaming,
    T,
    answers,
    cut,
    retaken,
    steps,
    thread_with,
)


def engine(store: PostgresStore, owner: str, ids: SequentialIds, **kwargs: Any) -> LeasedEngine:
    kwargs.setdefault("responder", scripted([Text("One")] * 10))
    return LeasedEngine(store, owner=owner, lease=30, ids=ids, clock=FakeClock(), **kwargs)


async def lapse(url: str) -> None:
    db = await asyncpg.connect(url)
    try:
        await db.execute("UPDATE runs SET lease_until = now() - interval '1 second'")
    finally:
        await db.close()


def test_only_a_store_with_leases_takes_a_leased_engine(tmp_path: Path) -> None:
    assert not isinstance(MemoryStore(), Leasing)
    assert not isinstance(SQLiteStore(tmp_path / "x"), Leasing)
    assert isinstance(PostgresStore("postgresql://127.0.0.1/x"), Leasing)
    options: dict[str, Any] = {"responder": scripted([]), "clock": FakeClock()}
    options["ids"] = SequentialIds()
    with pytest.raises(TypeError, match="MemoryStore keeps no leases"):
        LeasedEngine(MemoryStore(), owner="p", lease=1, **options)
    with pytest.raises(ValueError, match="lease"):
        LeasedEngine(PostgresStore("postgresql://127.0.0.1/x"), owner="p", lease=0, **options)
    assert process_name() != process_name()  # the same pid, another start


async def test_a_run_moves_in_the_process_that_claimed_it(
    shared: tuple[PostgresStore, PostgresStore], postgres_url: str
) -> None:
    ids = SequentialIds()
    a, b = engine(shared[0], "proc-a", ids), engine(shared[1], "proc-b", ids)
    thread = await thread_with(a, "Hi")
    run = await a.new_run(T, thread, ASSISTANT, {})
    assert await a.claim(run)
    # Another process asked to move it (a stream, say) leaves it to its holder, and
    # tells how it ended.
    heard = Recorder()
    waiting = asyncio.ensure_future(b.settle(T, run, heard))
    assert not await b.claim(run)
    done = await a.settle(T, run)
    assert done.obj["status"] == "completed"
    assert (await waiting).obj["status"] == "completed"
    assert heard.names == ["thread.run.completed"]
    # At rest: held by nobody, dropped from the holder's leases at its next renewal.
    await a.renew()
    assert a.held == {}


async def test_a_run_taken_over_stops_moving_where_it_was(
    shared: tuple[PostgresStore, PostgresStore], postgres_url: str
) -> None:
    ids = SequentialIds()
    # Its holder steps once a minute: it is still queued when it is taken over.
    a = engine(shared[0], "proc-a", ids, timer_interval=60)
    b = engine(shared[1], "proc-b", ids, timer_interval=0.001)
    thread = await thread_with(a, "Hi")
    run = await a.new_run(T, thread, ASSISTANT, {})
    a.start_timer(T, run)
    await asyncio.gather(*a._claims)
    assert a.held == {run.id: thread}
    assert run.id in a._timers
    await lapse(postgres_url)  # proc-a hung past its lease
    assert await b.take_over() == {"resumed": 1, "retaken": 0, "expired": 0, "waiting": 0}
    await a.renew()  # proc-a wakes: the run is not its own any more
    assert a.held == {}
    assert run.id not in a._timers
    await asyncio.gather(*b._claims)
    while b._timers:  # b moves it to its end
        await asyncio.gather(*(task for _, task in b._timers.values()))
    assert (await b.store.run(T, thread, run.id)).obj["status"] == "completed"
    b.stop_timers()


async def test_a_turn_cut_halfway_by_a_dead_process_is_taken_again_by_another(
    shared: tuple[PostgresStore, PostgresStore], postgres_url: str
) -> None:
    ids = SequentialIds()
    a = engine(shared[0], "proc-a", ids, responder=Hanging([TextDelta("Half an an"), HANG]))
    asked = Streaming([TextDelta("A whole answer."), Usage(5, 3)])
    b = engine(shared[1], "proc-b", ids, responder=asked, timer_interval=0.001)
    thread = await thread_with(a, "Hi")
    run = await a.new_run(T, thread, ASSISTANT, {})
    assert await a.claim(run)
    await cut(a, run, "thread.message.delta")  # proc-a dies mid-answer
    await lapse(postgres_url)
    assert await b.take_over() == {"resumed": 0, "retaken": 1, "expired": 0, "waiting": 0}
    await asyncio.gather(*b._claims)
    while b._timers:
        await asyncio.gather(*(task for _, task in b._timers.values()))
    done = await retaken(b, thread, run.id)
    (answer,) = await answers(b, thread)
    assert answer["content"][0]["text"]["value"] == "A whole answer."
    assert len(await steps(b, done)) == 1
    b.stop_timers()


async def test_a_stopping_process_hands_its_runs_over(
    shared: tuple[PostgresStore, PostgresStore],
) -> None:
    ids = SequentialIds()
    a = engine(shared[0], "proc-a", ids, timer_interval=60)
    b = engine(shared[1], "proc-b", ids, timer_interval=60)
    thread = await thread_with(a, "Hi")
    run = await a.new_run(T, thread, ASSISTANT, {})
    a.start_timer(T, run)
    await asyncio.gather(*a._claims)
    assert await b.take_over() == {"resumed": 0, "retaken": 0, "expired": 0, "waiting": 0}
    await a.drain(0)
    await a.release()
    assert await b.take_over() == {"resumed": 1, "retaken": 0, "expired": 0, "waiting": 0}
    assert b.held == {run.id: thread}
    await asyncio.gather(*b._claims)
    assert run.id in b._timers
    b.stop_timers()
    assert isinstance(await b.store.run(T, thread, run.id), RunRecord)
