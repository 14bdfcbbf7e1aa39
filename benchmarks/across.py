"""What streams and cancels across processes cost (issue 26), in one run, on PostgreSQL.

    .venv/bin/python benchmarks/across.py [--runs 300] [--deltas 2000] [--cancels 20]

Two run engines (``LeasedEngine``), each over a store of its own on one database, stand
for two server processes (in one Python process here: they share its core, so the
figures are an upper bound on what two processes pay). The database is the tests' own
throwaway PostgreSQL (``tests/server/postgres.py``), started for the run and removed.

1. Runs moving on timers, each answered by a one-line text: ``--runs`` runs started at
   once, time until all completed, on the server's engine (which keeps what each run
   says, in memory, for a stream elsewhere that may ask) and on the same engine without
   it, in alternating rounds; the ratio of the medians (nobody asks: nothing is
   written).
2. A stream of ``--deltas`` text deltas: the run streamed in the process moving it, and
   the same run moved by one process and relayed by the other; from the call that
   streams it to its last event; the ratio of the medians.
3. A cancel sent to one process while the other streams a turn: from the cancel's call
   to the turn's end in the other process, ``--cancels`` times; median and worst.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistants_async.server._leases import LeasedEngine
from assistants_async.server._postgres import PostgresStore
from assistants_async.server._responders import (
    Part,
    Reply,
    RunContext,
    Streamed,
    Text,
    TextDelta,
)
from assistants_async.server._store import JSON, RunRecord
from assistants_async.testing import SequentialIds
from tests.server.postgres import Cluster

T = "key:bench"
ASSISTANT: JSON = {
    "id": "asst_1",
    "object": "assistant",
    "created_at": 0,
    "name": None,
    "description": None,
    "model": "gpt-4o",
    "instructions": "Be brief.",
    "tools": [],
    "metadata": {},
    "temperature": 1.0,
    "top_p": 1.0,
    "response_format": "auto",
}


class Answers:
    """Text for the timed runs, many deltas for the streams, a wait for the cancels."""

    def __init__(self, deltas: int) -> None:
        self.deltas = deltas
        self.mode = "text"
        self.started = asyncio.Event()
        self.stopped = asyncio.Event()

    async def __call__(self, context: RunContext) -> Reply | Streamed:
        if self.mode == "text":
            return Text("Done, as asked.")
        return self._parts()

    async def _parts(self) -> AsyncIterator[Part]:
        if self.mode == "stream":
            for n in range(self.deltas):
                yield TextDelta(f"w{n} ")
            return
        yield TextDelta("Thinking")
        try:
            self.started.set()
            await asyncio.Event().wait()
        finally:
            self.stopped.set()


class Untold(LeasedEngine):
    """The server's engine with what timer runs say left untold: the cost's baseline."""

    async def _tick_told(self, tenant: str, run: RunRecord) -> None:
        await self._tick(tenant, run)


async def new_run(engine: LeasedEngine) -> RunRecord:
    thread_id = engine.ids("thread")
    obj = {"id": thread_id, "object": "thread", "created_at": 0, "metadata": {}}
    message = engine.message(thread_id, {"role": "user", "content": "Hi"})
    await engine.store.add_thread(T, obj, [message])
    return await engine.new_run(T, thread_id, ASSISTANT, {})


async def until_rested(engine: LeasedEngine) -> None:
    while engine._claims or engine._timers:
        await asyncio.gather(*engine._claims, *(task for _, task in engine._timers.values()))


async def timed_runs(engine: LeasedEngine, count: int) -> float:
    runs = await asyncio.gather(*(new_run(engine) for _ in range(count)))
    started = time.perf_counter()
    for run in runs:
        engine.start_timer(T, run)
    await until_rested(engine)
    return time.perf_counter() - started


class Timed:
    """When the last event was heard."""

    def __init__(self) -> None:
        self.last = 0.0

    async def __call__(self, name: str, data: JSON) -> None:
        self.last = time.perf_counter()


async def measure(args: argparse.Namespace, url: str) -> dict[str, Any]:
    stores = [PostgresStore(url, pool_size=10) for _ in range(3)]
    for store in stores:
        await store.open()
    try:
        ids = SequentialIds()
        answers = Answers(args.deltas)
        options: dict[str, Any] = {"lease": 30, "ids": ids, "responder": answers}
        options["clock"] = lambda: int(time.time())
        options["timer_interval"] = 0.001
        a = LeasedEngine(stores[0], owner="proc-a", **options)
        b = LeasedEngine(stores[1], owner="proc-b", **options)
        untold = Untold(stores[2], owner="proc-c", **options)
        figures: dict[str, Any] = {}

        told_times: list[float] = []
        untold_times: list[float] = []
        for n in range(args.rounds):
            for engine, times in [(a, told_times), (untold, untold_times)][:: 1 if n % 2 else -1]:
                times.append(await timed_runs(engine, args.runs))
        figures["runs_told_s"] = statistics.median(told_times)
        figures["runs_untold_s"] = statistics.median(untold_times)
        figures["runs_ratio"] = figures["runs_untold_s"] / figures["runs_told_s"]

        keeping = asyncio.ensure_future(a.keep())  # a hears watches and cancels
        await a.listening.wait()
        answers.mode = "stream"
        local: list[float] = []
        relayed: list[float] = []
        for _ in range(args.rounds):
            run = await new_run(a)
            heard = Timed()
            started = time.perf_counter()
            await a.settle(T, run, heard)
            local.append(heard.last - started)
            run = await new_run(a)
            assert await a.claim(run)
            heard = Timed()
            started = time.perf_counter()
            relaying = asyncio.ensure_future(b.settle(T, run, heard))
            a.start_timer(T, run)
            await relaying
            relayed.append(heard.last - started)
        figures["stream_local_s"] = statistics.median(local)
        figures["stream_relayed_s"] = statistics.median(relayed)
        figures["stream_ratio"] = figures["stream_local_s"] / figures["stream_relayed_s"]

        answers.mode = "wait"
        delays: list[float] = []
        for _ in range(args.cancels):
            answers.started.clear()
            answers.stopped.clear()
            run = await new_run(a)
            a.start_timer(T, run)
            await answers.started.wait()
            sent = time.perf_counter()
            await b.cancel(T, await b.store.run(T, run.thread_id, run.id))
            await answers.stopped.wait()
            delays.append(time.perf_counter() - sent)
            await until_rested(a)
        keeping.cancel()
        await asyncio.gather(keeping, return_exceptions=True)
        figures["cancel_median_ms"] = statistics.median(delays) * 1000
        figures["cancel_worst_ms"] = max(delays) * 1000
        return figures
    finally:
        for store in stores:
            await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=300, help="runs started at once (300)")
    parser.add_argument("--deltas", type=int, default=2000, help="deltas a stream (2000)")
    parser.add_argument("--cancels", type=int, default=20, help="cancels timed (20)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of 1 and 2 (3)")
    args = parser.parse_args()
    cluster = Cluster()
    cluster.start()
    try:
        name = cluster.create_database()
        figures = asyncio.run(measure(args, cluster.url(name)))
    finally:
        cluster.stop()
    print(
        f"{args.runs} timer runs: {figures['runs_told_s']:.2f} s with their events kept,"
        f" {figures['runs_untold_s']:.2f} s without: ratio {figures['runs_ratio']:.2f}"
    )
    print(
        f"a stream of {args.deltas} deltas: {figures['stream_local_s'] * 1000:.0f} ms where"
        f" it moves, {figures['stream_relayed_s'] * 1000:.0f} ms relayed:"
        f" ratio {figures['stream_ratio']:.2f}"
    )
    print(
        f"a cancel across processes: {figures['cancel_median_ms']:.1f} ms median,"
        f" {figures['cancel_worst_ms']:.1f} ms worst of {args.cancels}"
    )


if __name__ == "__main__":
    main()
