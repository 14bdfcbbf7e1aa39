"""Benchmarks: assistants-async against bare aiohttp and the official openai SDK.

    make bench        (or: .venv/bin/python benchmarks/run.py [--rounds 5] [--quick])

Everything is measured in one run on this machine, the server in a separate process on
127.0.0.1 answering from canned bytes. Each figure is the median of ``--rounds`` rounds,
the contenders interleaved within a round; targets are judged on ratios, since the
machine is shared and noisy. Prints a table and writes benchmarks/results.json.
"""

from __future__ import annotations

import argparse
import asyncio
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
HEADERS = {"Authorization": f"Bearer {KEY}", "OpenAI-Beta": "assistants=v2"}

warnings.filterwarnings("ignore", category=DeprecationWarning)


# --- measuring -------------------------------------------------------------------------------


async def timed(n: int, concurrency: int, call: Callable[[], Awaitable[Any]]) -> dict[str, float]:
    """Client CPU per request (µs) and requests/s for ``n`` calls at ``concurrency``."""
    per_worker = n // concurrency

    async def worker() -> None:
        for _ in range(per_worker):
            await call()

    await call()  # warm up: connection, lazy imports, generated decoders
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
        from openai import AsyncOpenAI, OpenAI

        from assistants_async import AsyncClient
        from assistants_async.sync import Client

        self.base = base
        self.ours = AsyncClient(api_key=KEY, base_url=base, max_retries=0)
        self.sdk = AsyncOpenAI(api_key=KEY, base_url=base, max_retries=0)
        self.ours_sync = Client(api_key=KEY, base_url=base, max_retries=0)
        self.sdk_sync = OpenAI(api_key=KEY, base_url=base, max_retries=0)
        self.bare = aiohttp.ClientSession(headers=HEADERS)

    async def close(self) -> None:
        await self.ours.close()
        await self.sdk.close()
        await self.bare.close()
        await asyncio.to_thread(self.ours_sync.close)
        self.sdk_sync.close()

    # retrieve
    async def ours_retrieve(self) -> Any:
        return await self.ours.assistants.retrieve("asst_000001")

    async def sdk_retrieve(self) -> Any:
        return await self.sdk.beta.assistants.retrieve("asst_000001")

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

    async def bare_create(self) -> Any:
        body = json.dumps({"role": "user", "content": "How does AI work?"})
        async with self.bare.post(
            f"{self.base}/threads/thread_1/messages",
            data=body,
            headers={"Content-Type": "application/json"},
        ) as resp:
            return json.loads(await resp.read())

    # list
    async def ours_list(self) -> int:
        return sum([1 async for _ in self.ours.assistants.list(limit=100, order="asc")])

    async def sdk_list(self) -> int:
        return sum([1 async for _ in self.sdk.beta.assistants.list(limit=100, order="asc")])

    async def bare_list(self) -> int:
        count, after = 0, None
        while True:
            params = {"limit": "100", "order": "asc", **({"after": after} if after else {})}
            async with self.bare.get(f"{self.base}/assistants", params=params) as resp:
                page = json.loads(await resp.read())
            count += len(page["data"])
            if not page["has_more"]:
                return count
            after = page["last_id"]

    # stream
    async def ours_stream(self) -> int:
        count = 0
        async with self.ours.runs.stream("thread_1", assistant_id="asst_000001") as stream:
            async for _ in stream:
                count += 1
        return count

    async def sdk_stream(self) -> int:
        count = 0
        async with self.sdk.beta.threads.runs.stream(
            thread_id="thread_1", assistant_id="asst_000001"
        ) as stream:
            async for _ in stream:
                count += 1
        return count

    async def bare_stream(self) -> int:
        count = 0
        async with self.bare.post(
            f"{self.base}/threads/thread_1/runs", json={"assistant_id": "a", "stream": True}
        ) as resp:
            async for line in resp.content:
                if line.startswith(b"data: "):
                    if not line.startswith(b"data: [DONE]"):
                        json.loads(line[6:])
                    count += 1  # every event, "done" included, as the clients count them
        return count


# --- the metrics ---------------------------------------------------------------------------------

NAMES = ("ours", "bare", "sdk")


async def one_round(c: Contenders, quick: bool) -> dict[str, dict[str, dict[str, float]]]:
    n1, n64 = (300, 1280) if quick else (1000, 3840)
    results: dict[str, dict[str, dict[str, float]]] = {}
    for label, conc, n in (("retrieve_c1", 1, n1), ("retrieve_c64", 64, n64)):
        results[label] = {
            name: await timed(n, conc, getattr(c, f"{name}_retrieve")) for name in NAMES
        }
    for label, conc, n in (("create_c1", 1, n1), ("create_c64", 64, n64)):
        results[label] = {
            name: await timed(n, conc, getattr(c, f"{name}_create")) for name in NAMES
        }
    results["list"] = {name: await timed_items(getattr(c, f"{name}_list")) for name in NAMES}
    results["stream"] = {name: await timed_items(getattr(c, f"{name}_stream")) for name in NAMES}
    n_sync = 300 if quick else 1000
    results["sync"] = {
        "ours": await asyncio.to_thread(
            timed_sync, n_sync, lambda: c.ours_sync.assistants.retrieve("asst_000001")
        ),
        "sdk": await asyncio.to_thread(
            timed_sync, n_sync, lambda: c.sdk_sync.beta.assistants.retrieve("asst_000001")
        ),
    }
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
    def best(code: str) -> float:
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    bare = best("pass")
    deps = best("import aiohttp, attrs, cattrs, anyio") - bare
    ours = best("import assistants_async") - bare
    return {"deps_ms": deps * 1000, "ours_ms": ours * 1000, "ratio": ours / deps}


# --- reporting ------------------------------------------------------------------------------------


def targets(r: dict[str, Any]) -> list[tuple[str, float, str, bool]]:
    rows = []
    for metric in ("retrieve_c1", "retrieve_c64", "create_c1", "create_c64"):
        m = r[metric]
        vs_bare = m["ours"]["cpu_us"] / m["bare"]["cpu_us"]
        vs_sdk = m["ours"]["cpu_us"] / m["sdk"]["cpu_us"]
        rows.append((f"{metric}: CPU/request vs bare aiohttp", vs_bare, "<= 1.3", vs_bare <= 1.3))
        rows.append((f"{metric}: CPU/request vs openai SDK", vs_sdk, "<= 0.2", vs_sdk <= 0.2))
    lst = r["list"]
    rows.append(
        (
            "list: items/s vs openai SDK",
            lst["ours"]["per_s"] / lst["sdk"]["per_s"],
            ">= 5",
            lst["ours"]["per_s"] / lst["sdk"]["per_s"] >= 5,
        )
    )
    rows.append(
        (
            "list: items/s vs bare aiohttp",
            lst["ours"]["per_s"] / lst["bare"]["per_s"],
            ">= 0.6",
            lst["ours"]["per_s"] / lst["bare"]["per_s"] >= 0.6,
        )
    )
    sync = r["sync"]["ours"]["per_s"] / r["sync"]["sdk"]["per_s"]
    rows.append(("sync: requests/s vs openai SDK sync", sync, ">= 2", sync >= 2))
    stream = r["stream"]["ours"]["per_s"] / r["stream"]["sdk"]["per_s"]
    rows.append(("stream: events/s vs openai SDK", stream, ">= 3", stream >= 3))
    mem = r["memory"]["peak_rss_growth_mb"]
    rows.append(("memory: peak RSS growth walking 100,000 items (MB)", mem, "< 20", mem < 20))
    imp = r["import"]["ratio"]
    rows.append(("import: vs aiohttp+attrs+cattrs+anyio", imp, "<= 1.3", imp <= 1.3))
    return rows


def report(r: dict[str, Any]) -> str:
    lines = [f"{'metric':<16}{'contender':<8}{'CPU µs/item':>13}{'per s':>12}"]
    for metric in (
        "retrieve_c1",
        "retrieve_c64",
        "create_c1",
        "create_c64",
        "list",
        "stream",
        "sync",
    ):
        for name, m in r[metric].items():
            lines.append(f"{metric:<16}{name:<8}{m['cpu_us']:>13.1f}{m['per_s']:>12.0f}")
    lines.append(
        f"memory: {r['memory']['peak_rss_growth_mb']:.1f} MB peak RSS growth over "
        f"{r['memory']['items']:.0f} items"
    )
    lines.append(
        f"import: ours {r['import']['ours_ms']:.0f} ms, deps {r['import']['deps_ms']:.0f} ms"
    )
    lines.append("")
    lines.append(f"{'target':<58}{'ratio':>8}  {'goal':<7}result")
    for name, value, goal, ok in targets(r):
        lines.append(f"{name:<58}{value:>8.2f}  {goal:<7}{'met' if ok else 'MISSED'}")
    return "\n".join(lines)


async def main(rounds: int, quick: bool) -> dict[str, Any]:
    server = subprocess.Popen(
        [sys.executable, str(HERE / "server.py"), "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline().split()[1])
        base = f"http://127.0.0.1:{port}/v1"
        contenders = Contenders(base)
        try:
            results = median_rounds([await one_round(contenders, quick) for _ in range(rounds)])
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
    }
    results["targets"] = [
        {"target": t, "ratio": round(v, 3), "goal": g, "met": ok}
        for t, v, g, ok in targets(results)
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
