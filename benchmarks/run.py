"""Benchmarks: assistants-async against bare aiohttp and the official openai SDK, on its
default transport (httpx) and on its aiohttp transport (the fairest peer).

    make bench        (or: .venv/bin/python benchmarks/run.py [--rounds 5] [--quick])

Everything is measured in one run on this machine, the server in a separate process on
127.0.0.1 answering from canned bytes, pinned to its own core where there are two. Each
figure is the median of ``--rounds`` rounds, the contenders interleaved within a round
and their order rotated from round to round; targets are judged on ratios, since the
machine is shared and noisy. Before each measurement the garbage of the one before is
collected, so that no contender pays for another's collections; each still pays for its
own, full ones included. Requests are swept over concurrency 1, 16, 256 and 1,024; lists
walk 10,000 and 100,000 items; streams carry 1,000, 5,000 and 50,000 deltas (the
largest, and the 100,000-item walk, for our client and bare aiohttp only: the SDK would
take minutes). Prints a table and writes benchmarks/results.json.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

HERE = Path(__file__).resolve().parent
KEY = "sk-bench"
WAIT = 120.0  # seconds, each limit of every contender
HEADERS = {"Authorization": f"Bearer {KEY}", "OpenAI-Beta": "assistants=v2"}

warnings.filterwarnings("ignore", category=DeprecationWarning)


# --- measuring -------------------------------------------------------------------------------


async def timed(n: int, concurrency: int, call: Callable[[], Awaitable[Any]]) -> dict[str, float]:
    """Client CPU per request (µs) and requests/s for ``n`` calls at ``concurrency``."""
    per_worker = n // concurrency

    async def worker() -> None:
        for _ in range(per_worker):
            await call()

    # Warm up at this concurrency: the pool's connections open, lazy imports load and the
    # decoders are generated before anything is timed.
    await asyncio.gather(*(call() for _ in range(concurrency)))
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    done = per_worker * concurrency
    return {"cpu_us": cpu / done * 1e6, "per_s": done / wall}


def timed_sync(n: int, call: Callable[[], Any]) -> dict[str, float]:
    call()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(n):
        call()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"cpu_us": cpu / n * 1e6, "per_s": n / wall}


async def timed_items(walk: Callable[[], Awaitable[int]]) -> dict[str, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    count = await walk()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"items": count, "per_s": count / wall, "cpu_us": cpu / max(count, 1) * 1e6}


# --- the contenders --------------------------------------------------------------------------


class Contenders:
    def __init__(self, base: str) -> None:
        from openai import AsyncOpenAI, DefaultAioHttpClient, OpenAI

        from assistants_async import AsyncClient, Timeout
        from assistants_async.sync import Client

        self.base = base
        # The same limits for all, and connecting not cut at the usual 5 s: at 1,024
        # connections on a loaded machine, the accept queue is what a run measures.
        ours: Any = {"timeout": Timeout(connect=WAIT, total=WAIT, read=WAIT), "max_retries": 0}
        sdk: Any = {"timeout": WAIT, "max_retries": 0}
        self.ours = AsyncClient(api_key=KEY, base_url=base, **ours)
        big = base.replace("/v1", "/big/v1")  # the 100,000-item listing
        self.ours_big = AsyncClient(api_key=KEY, base_url=big, **ours)
        self.sdk = AsyncOpenAI(api_key=KEY, base_url=base, **sdk)
        self.sdk_aio = AsyncOpenAI(
            api_key=KEY, base_url=base, http_client=DefaultAioHttpClient(), **sdk
        )
        self.ours_sync = Client(api_key=KEY, base_url=base, **ours)
        self.sdk_sync = OpenAI(api_key=KEY, base_url=base, **sdk)
        self.bare = aiohttp.ClientSession(headers=HEADERS)

    async def close(self) -> None:
        await self.ours.close()
        await self.ours_big.close()
        await self.sdk.close()
        await self.sdk_aio.close()
        await self.bare.close()
        await asyncio.to_thread(self.ours_sync.close)
        self.sdk_sync.close()

    # retrieve
    async def ours_retrieve(self) -> Any:
        return await self.ours.assistants.retrieve("asst_000001")

    async def sdk_retrieve(self) -> Any:
        return await self.sdk.beta.assistants.retrieve("asst_000001")

    async def sdk_aio_retrieve(self) -> Any:
        return await self.sdk_aio.beta.assistants.retrieve("asst_000001")

    async def bare_retrieve(self) -> Any:
        async with self.bare.get(f"{self.base}/assistants/asst_000001") as resp:
            return json.loads(await resp.read())

    # create
    async def ours_create(self) -> Any:
        return await self.ours.messages.create("thread_1", role="user", content="How does AI work?")

    async def sdk_create(self) -> Any:
        return await self.sdk.beta.threads.messages.create(
            "thread_1", role="user", content="How does AI work?"
        )

    async def sdk_aio_create(self) -> Any:
        return await self.sdk_aio.beta.threads.messages.create(
            "thread_1", role="user", content="How does AI work?"
        )

    async def bare_create(self) -> Any:
        body = json.dumps({"role": "user", "content": "How does AI work?"})
        async with self.bare.post(
            f"{self.base}/threads/thread_1/messages",
            data=body,
            headers={"Content-Type": "application/json"},
        ) as resp:
            return json.loads(await resp.read())

    # list (``big``: the 100,000-item listing)
    async def ours_list(self, big: bool = False) -> int:
        client = self.ours_big if big else self.ours
        return sum([1 async for _ in client.assistants.list(limit=100, order="asc")])

    async def sdk_list(self, big: bool = False) -> int:
        return sum([1 async for _ in self.sdk.beta.assistants.list(limit=100, order="asc")])

    async def sdk_aio_list(self, big: bool = False) -> int:
        walk = self.sdk_aio.beta.assistants.list(limit=100, order="asc")
        return sum([1 async for _ in walk])

    async def bare_list(self, big: bool = False) -> int:
        base = self.base.replace("/v1", "/big/v1") if big else self.base
        count, after = 0, None
        while True:
            params = {"limit": "100", "order": "asc", **({"after": after} if after else {})}
            async with self.bare.get(f"{base}/assistants", params=params) as resp:
                page = json.loads(await resp.read())
            count += len(page["data"])
            if not page["has_more"]:
                return count
            after = page["last_id"]

    # stream (``deltas`` message deltas, plus six other events)
    async def ours_stream(self, deltas: int) -> int:
        count = 0
        stream = self.ours.runs.stream(
            "thread_1", assistant_id="asst_000001", extra_query={"deltas": str(deltas)}
        )
        async with stream:
            async for _ in stream:
                count += 1
        return count

    async def _sdk_stream(self, client: Any, deltas: int) -> int:
        count = 0
        async with client.beta.threads.runs.stream(
            thread_id="thread_1", assistant_id="asst_000001", extra_query={"deltas": deltas}
        ) as stream:
            async for _ in stream:
                count += 1
        return count

    async def sdk_stream(self, deltas: int) -> int:
        return await self._sdk_stream(self.sdk, deltas)

    async def sdk_aio_stream(self, deltas: int) -> int:
        return await self._sdk_stream(self.sdk_aio, deltas)

    async def bare_stream(self, deltas: int) -> int:
        count = 0
        async with self.bare.post(
            f"{self.base}/threads/thread_1/runs",
            params={"deltas": str(deltas)},
            json={"assistant_id": "a", "stream": True},
        ) as resp:
            async for line in resp.content:
                if line.startswith(b"data: "):
                    if not line.startswith(b"data: [DONE]"):
                        json.loads(line[6:])
                    count += 1  # every event, "done" included, as the clients count them
        return count


# --- the metrics ---------------------------------------------------------------------------------

NAMES = ("ours", "bare", "sdk", "sdk_aio")
LEVELS = (1, 16, 256, 1024)
STREAMS = (1_000, 5_000, 50_000)


def requests_at(concurrency: int, quick: bool) -> int:
    """Enough requests that each worker makes several (connection set-up is not timed)."""
    if quick:
        return max(60, 2 * concurrency)
    return max(600, 3 * concurrency)


def rotated(names: tuple[str, ...], turn: int) -> tuple[str, ...]:
    """``names`` starting at the ``turn``-th: who goes first changes from round to round."""
    k = turn % len(names)
    return names[k:] + names[:k]


async def measure(
    names: tuple[str, ...], turn: int, run: Callable[[str], Awaitable[dict[str, float]]]
) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    for name in rotated(names, turn):
        gc.collect()  # the garbage of the one before is not this one's to collect
        results[name] = await run(name)
    return {name: results[name] for name in names}


async def one_round(
    c: Contenders, quick: bool, turn: int = 0
) -> dict[str, dict[str, dict[str, float]]]:
    results: dict[str, dict[str, dict[str, float]]] = {}
    for op in ("retrieve", "create"):
        for level in LEVELS:
            n = requests_at(level, quick)
            results[f"{op}_c{level}"] = await measure(
                NAMES,
                turn,
                lambda name, op=op, level=level, n=n: timed(n, level, getattr(c, f"{name}_{op}")),
            )
    results["list_10k"] = await measure(
        NAMES, turn, lambda name: timed_items(getattr(c, f"{name}_list"))
    )
    results["list_100k"] = await measure(
        ("ours", "bare"), turn, lambda name: timed_items(lambda: getattr(c, f"{name}_list")(True))
    )
    for label, deltas in zip(("stream_1k", "stream_5k", "stream_50k"), STREAMS, strict=True):
        names = NAMES if deltas < 50_000 else ("ours", "bare")
        if quick and deltas == 50_000:
            deltas = 20_000  # the same shape, sooner
        results[label] = await measure(
            names,
            turn,
            lambda name, d=deltas: timed_items(lambda: getattr(c, f"{name}_stream")(d)),
        )
    n_sync = 300 if quick else 1000
    sync_calls = {
        "ours": lambda: c.ours_sync.assistants.retrieve("asst_000001"),
        "sdk": lambda: c.sdk_sync.beta.assistants.retrieve("asst_000001"),
    }
    results["sync"] = await measure(
        ("ours", "sdk"),
        turn,
        lambda name: asyncio.to_thread(timed_sync, n_sync, sync_calls[name]),
    )
    return results


def median_rounds(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for metric in rounds[0]:
        merged[metric] = {}
        for name in rounds[0][metric]:
            merged[metric][name] = {
                field: statistics.median(r[metric][name][field] for r in rounds)
                for field in rounds[0][metric][name]
            }
    return merged


MEMORY_SCRIPT = """
import asyncio, resource, sys
from assistants_async import AsyncClient
async def main():
    async with AsyncClient(api_key="sk-bench", base_url=sys.argv[1], max_retries=0) as c:
        await c.assistants.list(limit=100)  # warm up: session, decoders
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        count = 0
        async for _ in c.assistants.list(limit=100, order="asc"):
            count += 1
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(count, (after - before) / 1024)
asyncio.run(main())
"""


def memory_growth(base: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, base.replace("/v1", "/big/v1")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return {"items": float(out[0]), "peak_rss_growth_mb": float(out[1])}


def import_times(repeats: int = 9) -> dict[str, float]:
    # As a user has it: bytecode cached for our package as for its dependencies (an
    # environment with PYTHONDONTWRITEBYTECODE would recompile the editable package on
    # every import while the dependencies load from .pyc).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    package = Path(__file__).resolve().parents[1] / "assistants_async"
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True, env=env)

    def best(code: str) -> float:
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, env=env)
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    bare = best("pass")
    deps = best("import aiohttp, attrs, cattrs, anyio") - bare
    ours = best("import assistants_async") - bare
    return {"deps_ms": deps * 1000, "ours_ms": ours * 1000, "ratio": ours / deps}


# --- reporting ------------------------------------------------------------------------------------


def _ratio(r: dict[str, Any], metric: str, a: str, b: str, field: str) -> float:
    value: float = r[metric][a][field] / r[metric][b][field]
    return value


def targets(r: dict[str, Any]) -> list[tuple[str, float, str, bool]]:
    rows: list[tuple[str, float, str, bool]] = []

    def add(name: str, value: float, goal: str) -> None:
        sign, bound = goal.split()
        met = value <= float(bound) if sign == "<=" else value >= float(bound)
        rows.append((name, value, goal, met))

    for op in ("retrieve", "create"):
        for level in LEVELS:
            metric = f"{op}_c{level}"
            add(
                f"{metric}: CPU/request vs bare aiohttp",
                _ratio(r, metric, "ours", "bare", "cpu_us"),
                "<= 1.2",
            )
        add(
            f"{op}_c16: CPU/request vs openai SDK on aiohttp",
            _ratio(r, f"{op}_c16", "ours", "sdk_aio", "cpu_us"),
            "<= 0.2",
        )
    add(
        "stream_5k: events/s vs bare aiohttp",
        _ratio(r, "stream_5k", "ours", "bare", "per_s"),
        ">= 0.8",
    )
    add(
        "stream: CPU/event, largest vs 1k deltas",
        _ratio_cross(r, "stream_50k", "stream_1k"),
        "<= 1.1",
    )
    add("stream_5k: events/s vs openai SDK", _ratio(r, "stream_5k", "ours", "sdk", "per_s"), ">= 3")
    add(
        "list_10k: items/s vs bare aiohttp",
        _ratio(r, "list_10k", "ours", "bare", "per_s"),
        ">= 0.5",
    )
    add(
        "list_100k: items/s vs bare aiohttp",
        _ratio(r, "list_100k", "ours", "bare", "per_s"),
        ">= 0.5",
    )
    add("list_10k: items/s vs openai SDK", _ratio(r, "list_10k", "ours", "sdk", "per_s"), ">= 5")
    add("sync: requests/s vs openai SDK sync", _ratio(r, "sync", "ours", "sdk", "per_s"), ">= 3")
    add(
        "memory: peak RSS growth walking 100,000 items (MB)",
        r["memory"]["peak_rss_growth_mb"],
        "<= 20",
    )
    add("import: vs aiohttp+attrs+cattrs+anyio", r["import"]["ratio"], "<= 1.3")
    return rows


def _ratio_cross(r: dict[str, Any], large: str, small: str) -> float:
    value: float = r[large]["ours"]["cpu_us"] / r[small]["ours"]["cpu_us"]
    return value


METRICS = (
    *(f"{op}_c{level}" for op in ("retrieve", "create") for level in LEVELS),
    "list_10k",
    "list_100k",
    "stream_1k",
    "stream_5k",
    "stream_50k",
    "sync",
)


def report(r: dict[str, Any]) -> str:
    lines = [f"{'metric':<16}{'contender':<9}{'CPU µs/item':>13}{'per s':>12}"]
    for metric in METRICS:
        for name, m in r[metric].items():
            lines.append(f"{metric:<16}{name:<9}{m['cpu_us']:>13.1f}{m['per_s']:>12.0f}")
    lines.append(
        f"memory: {r['memory']['peak_rss_growth_mb']:.1f} MB peak RSS growth over "
        f"{r['memory']['items']:.0f} items"
    )
    lines.append(
        f"import: ours {r['import']['ours_ms']:.0f} ms, deps {r['import']['deps_ms']:.0f} ms"
    )
    lines.append("")
    lines.append(f"{'target':<58}{'ratio':>8}  {'over rounds':<14}{'goal':<7}result")
    for row in r["targets"]:
        lo, hi = row["range"]
        lines.append(
            f"{row['target']:<58}{row['ratio']:>8.2f}  {f'{lo:.2f} to {hi:.2f}':<14}"
            f"{row['goal']:<7}{'met' if row['met'] else 'MISSED'}"
        )
    return "\n".join(lines)


def _pin(server_pid: int) -> bool:
    """The server on one core, the client on another, where the machine allows: the
    client's CPU time then holds no server work, and the two never preempt each other."""
    if not hasattr(os, "sched_setaffinity"):
        return False
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return False
    os.sched_setaffinity(server_pid, {cores[-1]})
    os.sched_setaffinity(0, {cores[0]})
    return True


async def main(rounds: int, quick: bool) -> dict[str, Any]:
    server = subprocess.Popen(
        [sys.executable, str(HERE / "server.py"), "--port", "0"],
        stdin=subprocess.PIPE,  # its lifeline: closed when this process ends, however
        stdout=subprocess.PIPE,
        text=True,
    )
    pinned = _pin(server.pid)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline().split()[1])
        base = f"http://127.0.0.1:{port}/v1"
        contenders = Contenders(base)
        try:
            per_round = [await one_round(contenders, quick, turn) for turn in range(rounds)]
            results = median_rounds(per_round)
        finally:
            await contenders.close()
        results["memory"] = memory_growth(base)
    finally:
        server.terminate()
        server.wait()
    results["import"] = import_times()
    results["machine"] = {
        "date": time.strftime("%Y-%m-%d"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "rounds": rounds,
        "pinned": pinned,
    }
    # Each ratio's range over the rounds (memory and import are measured once).
    once = {"memory": results["memory"], "import": results["import"]}
    by_round = [targets({**r, **once}) for r in per_round]
    results["targets"] = [
        {
            "target": t,
            "ratio": round(v, 3),
            "range": [
                round(min(row[i][1] for row in by_round), 3),
                round(max(row[i][1] for row in by_round), 3),
            ],
            "goal": g,
            "met": ok,
        }
        for i, (t, v, g, ok) in enumerate(targets(results))
    ]
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="fewer requests, for a smoke test")
    parser.add_argument("--out", default=str(HERE / "results.json"))
    args = parser.parse_args()
    started = time.perf_counter()
    results = asyncio.run(main(args.rounds, args.quick))
    print(report(results))
    print(f"\n({time.perf_counter() - started:.0f} s; JSON in {args.out})")
    Path(args.out).write_text(json.dumps(results, indent=2))
