"""Across processes on PostgreSQL: a stream answered by the process that received it
while another moves the run (its events relayed through the database), and a cancel
heard at once by the process moving the run. Two ``LeasedEngine`` on two stores over
one database stand for two processes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from assistants_async.server._leases import LeasedEngine, events_channel
from assistants_async.server._postgres import PostgresStore
from assistants_async.server._responders import Part, RunContext, Streamed, TextDelta
from assistants_async.testing import FakeClock, SequentialIds, Text, scripted

from .test_engine import ASSISTANT, Recorder, T, messages, thread_with
from .test_leases import engine

# A run's object larger than one NOTIFY payload (8000 bytes) may carry.
LONG = "Be brief. " * 1000


def without_ids(heard: Recorder) -> list[tuple[str, Any]]:
    """The events with what differs from run to run (ids, times) left out."""

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: plain(v)
                for k, v in value.items()
                if not (k == "id" or k.endswith(("_id", "_at")))
            }
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    return [(name, plain(data)) for name, data in heard.events]


async def test_a_stream_relays_every_event_of_a_run_another_process_moves(
    shared: tuple[PostgresStore, PostgresStore],
) -> None:
    ids = SequentialIds()
    reply = scripted([Text("One two three four")] * 2)
    a = engine(shared[0], "proc-a", ids, responder=reply, timer_interval=0.001)
    b = engine(shared[1], "proc-b", ids, responder=reply)
    body = {"instructions": LONG}
    # The run streamed in the process that moves it: what a stream says.
    thread = await thread_with(a, "Hi")
    alone = Recorder()
    run = await a.new_run(T, thread, ASSISTANT, body)
    assert (await a.settle(T, run, alone)).obj["status"] == "completed"
    # The same run moved by proc-a on its timer, streamed by proc-b.
    await a.listen()
    thread = await thread_with(a, "Hi")
    run = await a.new_run(T, thread, ASSISTANT, body)
    assert await a.claim(run)
    relayed = Recorder()
    streaming = asyncio.ensure_future(b.settle(T, run, relayed))
    a.start_timer(T, run)
    done = await asyncio.wait_for(streaming, 30)
    assert done.obj["status"] == "completed"
    assert relayed.names == alone.names
    assert without_ids(relayed) == without_ids(alone)
    assert relayed.events[-1][1]["instructions"] == LONG
    # Each as proc-a said it: its one message, under its own id.
    said = {e[1]["id"] for e in relayed.events if e[0].startswith("thread.message")}
    assert said == {(await messages(a, thread))[-1]["id"]}


async def test_a_stream_catches_up_on_events_said_before_it_began(
    shared: tuple[PostgresStore, PostgresStore],
) -> None:
    ids = SequentialIds()
    reply = scripted([Text("Already said")])
    a = engine(shared[0], "proc-a", ids, responder=reply, timer_interval=0.001)
    b = engine(shared[1], "proc-b", ids, responder=reply)
    await a.listen()
    thread = await thread_with(a, "Hi")
    run = await a.new_run(T, thread, ASSISTANT, {})
    a.start_timer(T, run)
    await asyncio.gather(*a._claims)
    while a._timers:  # proc-a finished the run before proc-b's stream began
        await asyncio.gather(*(task for _, task in a._timers.values()))
    assert await b.relaying.run_events(run.id, 0, 0) == []  # nobody asked: none written
    relayed = Recorder()  # proc-b has the run as it stood when its stream began: queued
    done = await asyncio.wait_for(b.relay(T, run, relayed), 30)
    assert done.obj["status"] == "completed"
    assert relayed.names[0] == "thread.run.in_progress"
    assert relayed.names[-1] == "thread.run.completed"
    assert len(relayed.names) == len(set(map(str, relayed.events)))


class Slow:
    """A streamed answer that says a word, then waits until the turn is stopped."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.stopped = asyncio.Event()

    async def __call__(self, context: RunContext) -> Streamed:
        return self._parts()

    async def _parts(self) -> AsyncIterator[Part]:
        yield TextDelta("Thinking")
        try:
            self.started.set()
            await asyncio.Event().wait()
            yield TextDelta("never")  # pragma: no cover - it waits until stopped
        finally:
            self.stopped.set()


async def test_a_cancel_sent_to_one_process_stops_the_turn_in_another_within_a_second(
    shared: tuple[PostgresStore, PostgresStore],
) -> None:
    ids = SequentialIds()
    slow = Slow()
    a = LeasedEngine(
        shared[0],
        owner="proc-a",
        lease=30,
        ids=ids,
        clock=FakeClock(),
        responder=slow,
        timer_interval=0.001,
    )
    b = engine(shared[1], "proc-b", ids)
    keeping = asyncio.ensure_future(a.keep())
    try:
        await a.listening.wait()
        thread = await thread_with(a, "Hi")
        run = await a.new_run(T, thread, ASSISTANT, {})
        a.start_timer(T, run)
        await asyncio.wait_for(slow.started.wait(), 30)
        sent = time.monotonic()
        await b.cancel(T, await b.store.run(T, thread, run.id))
        await asyncio.wait_for(slow.stopped.wait(), 30)
        # The bound, measured from the cancel's request to the turn's end.
        assert time.monotonic() - sent < 1.0
        while a._timers:
            await asyncio.gather(*(task for _, task in a._timers.values()))
        ended = await b.store.run(T, thread, run.id)
        assert ended.obj["status"] == "cancelled"
    finally:
        keeping.cancel()
        with pytest.raises(asyncio.CancelledError):
            await keeping


def test_each_run_has_a_channel_postgres_can_name() -> None:
    assert events_channel("run_abc") == "assistants_events_run_abc"
    long_ids = ["run_" + "x" * 100, "run_" + "x" * 99 + "y"]
    channels = [events_channel(run_id) for run_id in long_ids]
    assert all(len(c.encode()) <= 63 for c in channels)
    assert channels[0] != channels[1]


async def test_events_are_forgotten_once_older_than_asked(
    shared: tuple[PostgresStore, PostgresStore], postgres_url: str
) -> None:
    store = shared[0]
    await store.publish_events("run_old", 1, [("thread.run.queued", b"{}")])
    await store.publish_events("run_new", 1, [("thread.run.queued", b"{}")])
    db = await asyncpg.connect(postgres_url)
    try:
        await db.execute(
            "UPDATE run_events SET at = now() - interval '1 hour' WHERE run_id = 'run_old'"
        )
    finally:
        await db.close()
    assert await store.forget_events(600) == 1
    assert await store.run_events("run_old", 1, 0) == []
    assert [name for _, name, _ in await store.run_events("run_new", 1, 0)] == ["thread.run.queued"]
    # A phase before the one asked for is not read.
    assert await store.run_events("run_new", 2, 0) == []
