"""Several server processes on one PostgreSQL, started as a user starts them: a stream
answered by one process while another moves its run, a cancel sent to one stopping a
turn in another, and ``kill -9`` of a process amid its streams and runs.

Every wait is for an event (a line printed, a response, a request the model double
received or saw dropped); the bounds asserted are the issue's own."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from assistants_async import APIConnectionError, AsyncClient
from assistants_async.models import Run
from tests.chat_double import ChatDouble, Say

from .test_serve import TOOLS, lease_owners, one_owner, resting, served, until, waiting_run

MOVING = ("queued", "in_progress", "cancelling")
AT_REST = ("requires_action", "completed", "failed", "cancelled", "expired", "incomplete")


@pytest.fixture
async def double() -> AsyncIterator[ChatDouble]:
    made = ChatDouble()
    asked: set[str] = set()

    # A question with "slow" in it is answered a few words, then nothing until dropped;
    # asked again (a turn taken up after its process died), it is answered.
    def answer(body: Any) -> Say:
        question = str(body["messages"][-1]["content"])
        if "slow" in question and question not in asked:
            asked.add(question)
            return Say("Thinking very slowly", stall_after=3)
        return Say("Done.")

    made.default = answer
    await made.start()
    try:
        yield made
    finally:
        await made.stop()


async def events_of(stream: Any) -> list[tuple[str, Any]]:
    async with stream as events:
        return [(event.event, event.data) async for event in events]


async def submit_streamed(client: AsyncClient, run: Run) -> list[tuple[str, Any]]:
    (call,) = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
    return await events_of(
        client.runs.submit_tool_outputs_stream(
            run.thread_id, run.id, tool_outputs=[{"tool_call_id": call.id, "output": "9"}]
        )
    )


async def test_a_stream_on_one_process_relays_a_run_another_moves(postgres_url: str) -> None:
    # The second process renews and takes over only every 20 s: the first one takes
    # up the run below, whose lease is held by a process that does not exist.
    async with (
        served(postgres_url, "--lease", "1") as one,
        served(postgres_url, "--lease", "60") as two,
        one.client() as a,
        two.client() as b,
    ):
        asst = await a.assistants.create(model="gpt-4o", tools=TOOLS)
        # Streamed where it moves: what the stream says.
        alone = await submit_streamed(b, await waiting_run(b, asst.id))
        # Held, once its tool outputs are taken, by a process that hung for 2 s.
        waiting = await waiting_run(a, asst.id)
        db = await asyncpg.connect(postgres_url)
        try:
            await db.execute(
                "UPDATE runs SET lease_owner = 'hung', lease_until = now() + interval '2 s'"
                " WHERE id = $1",
                waiting.id,
            )
        finally:
            await db.close()
        relayed = await submit_streamed(b, waiting)
        await two.line(rf"run {waiting.id} moves in another process")
        await one.line(r"runs taken over from stopped processes: 1 resumed")
        assert [name for name, _ in relayed] == [name for name, _ in alone]
        assert relayed[-1][0] == "done"
        assert relayed[-2][0] == "thread.run.completed"
        # Each event as the first process said it: its message, under its id.
        (message,) = [m async for m in b.messages.list(waiting.thread_id, run_id=waiting.id)]
        said = {data.id for name, data in relayed if name.startswith("thread.message.")}
        assert said == {message.id}
        deltas = [data for name, data in relayed if name == "thread.message.delta"]
        text = "".join(d.delta.content[0].text.value for d in deltas)
        assert text == message.content[0].text.value  # type: ignore[union-attr]


async def test_a_cancel_sent_to_one_process_stops_a_turn_in_another_within_a_second(
    postgres_url: str, double: ChatDouble
) -> None:
    model = ("--model-base-url", double.url)
    async with (
        served(postgres_url, *model) as one,
        served(postgres_url, *model) as two,
        one.client() as a,
        two.client() as b,
    ):
        asst = await a.assistants.create(model="gpt-4o")
        thread = await a.threads.create(messages=[{"role": "user", "content": "slow, please"}])
        run = await a.runs.create(thread.id, assistant_id=asst.id)

        async def saying() -> bool:  # its turn has begun: the first words are written
            said = [m async for m in b.messages.list(thread.id, run_id=run.id)]
            return bool(said)

        await until(saying)
        assert await lease_owners(postgres_url, [run.id]) != {None}
        sent = time.monotonic()
        await b.runs.cancel(thread.id, run.id)
        await asyncio.wait_for(double.left.wait(), 30)  # the first process dropped it
        assert time.monotonic() - sent < 1.0
        ended = await resting(b, thread.id, run.id)
        assert ended.status == "cancelled"
        (message,) = [m async for m in b.messages.list(thread.id, run_id=run.id)]
        assert message.status == "incomplete"


async def test_kill_9_amid_streams_and_runs_the_others_finish_them(
    postgres_url: str, double: ChatDouble
) -> None:
    lease = 2.0
    model = ("--model-base-url", double.url, "--lease", str(lease))
    # Three model calls at most: the runs started after the streams wait queued.
    async with (
        served(postgres_url, *model, "--model-max-concurrent", "3") as victim,
        served(postgres_url, *model) as other,
        victim.client() as v,
        other.client() as o,
    ):
        asst = await v.assistants.create(model="gpt-4o")
        threads = [
            await v.threads.create(messages=[{"role": "user", "content": text}])
            for text in ("slow 1", "slow 2", "slow 3", "quick 1", "quick 2", "quick 3")
        ]
        streams = [v.runs.stream(t.id, assistant_id=asst.id) for t in threads[:3]]
        heard: list[list[str]] = [[], [], []]
        runs: dict[int, Run] = {}
        cut: list[BaseException] = []

        async def read(n: int) -> None:
            try:
                async with streams[n] as events:
                    async for event in events:
                        heard[n].append(event.event)
                        if event.event == "thread.run.created":
                            runs[n] = event.data  # type: ignore[assignment]
            except APIConnectionError as exc:
                cut.append(exc)

        readers = [asyncio.ensure_future(read(n)) for n in range(3)]
        # Each stream is mid-turn: its answer's first words came, then silence.
        await until(lambda: all(names.count("thread.message.delta") for names in heard))
        queued = [await v.runs.create(t.id, assistant_id=asst.id) for t in threads[3:]]
        ids = [runs[n].id for n in range(3)] + [r.id for r in queued]
        (holder,) = await until(lambda: one_owner(postgres_url, ids))
        assert {(await o.runs.retrieve(r.thread_id, r.id)).status for r in queued} == {"queued"}

        victim.proc.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        assert await victim.proc.wait() < 0
        await asyncio.wait_for(asyncio.gather(*readers), 30)
        # Every stream's client saw its connection go, mid-turn.
        assert len(cut) == 3
        assert all(names[-1] == "thread.message.delta" for names in heard)
        for n in range(3):  # and finds the run in a legal state, through the other
            seen = await o.runs.retrieve(threads[n].id, runs[n].id)
            assert seen.status in MOVING + AT_REST
        # The others take every run up once its lease lapses, and bring it to its end.
        ended = [await resting(o, t.id, run_id) for t, run_id in zip(threads, ids, strict=True)]
        assert time.monotonic() - killed < lease + 5
        assert holder not in await lease_owners(postgres_url, ids)
        for run in ended[3:]:  # queued at the kill: answered once, by the other process
            assert run.status == "completed"
            said = [m async for m in o.messages.list(run.thread_id, run_id=run.id)]
            assert [m.content[0].text.value for m in said] == ["Done."]  # type: ignore[union-attr]
        for run in ended[:3]:  # cut halfway through a turn: the turn taken again, once
            assert run.status == "completed"
            said = [m async for m in o.messages.list(run.thread_id, run_id=run.id)]
            assert [m.content[0].text.value for m in said] == ["Done."]  # type: ignore[union-attr]
