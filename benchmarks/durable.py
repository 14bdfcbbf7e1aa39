"""The durable server's performance targets (issue 24), in one run, on served processes.

    .venv/bin/python benchmarks/durable.py                    # full size (a 1 GB database)
    .venv/bin/python benchmarks/durable.py --db-mb 16 --messages 2000 --requests 200 \\
        --rounds 1 --runs 50 --json /tmp/durable.json        # small, as the test runs it

Three servers, each in its own process, all started as a user starts them and driven
with this client over loopback: ``python -m assistants_async.server`` on an empty SQLite
file, the same command on a large one (``--db-mb``, 1 GB by default), and the same
``AssistantsServer`` over ``MemoryStore`` (a small launcher in this file, since the
command serves SQLite only). Every figure is printed next to its target, PASS or FAIL:

1. Requests/s at concurrency 16 (create a message, retrieve a run, list 100 messages),
   each SQLite server against the memory one, in alternating rounds (the order swapped
   from round to round); the ratio is the median of the rounds' ratios. Target >= 0.5.
2. Paging: every page of 100 of a thread of ``--messages`` messages (10 share each
   second of ``created_at``, so the tie-breaking sequence is paged too), walked with
   ``after`` from the oldest and with ``before`` from the newest (once, for the cursors),
   then each page fetched ``--walks`` times, every walk in a shuffled order (a busy
   moment of the shared machine then falls on pages all along the thread); a page's cost
   is its fastest fetch. The pages are cut into tenths, each tenth's cost
   the median of its pages: last / first, and the largest tenth / the smallest. Target:
   within 20 % (0.83 to 1.2).
3. Start-up (process start to the URL printed, the fastest of ``--starts``) and RSS
   (``/proc``), the large database against the empty one: at start, and after the same
   requests (the throughput rounds; the large one then also walks the pages). Targets:
   the large one starts in under a second, its RSS within 20 % of the empty one's.
4. ``--runs`` runs (1,000) on as many threads, all started at once (``asyncio.gather``)
   on the large database, answered by a script (``--script``): each run created and
   polled to its end, then every thread's runs and messages listed. Target: every run
   completed, every run id listed once, each thread one run and one assistant message.

The large database is made once with bulk SQL into the store's own schema (its
migrations applied by ``SQLiteStore.open``), not through the API, and kept under
``--cache`` (a temp dir by default); each run works on a copy, so the cache stays as
made. The cached file was written moments or days ago: the operating system may hold it
in memory, so the start-up figure is for a warm cache.

Linux only (RSS and CPU from /proc). Servers are pinned to one core and the client to
another where the machine allows, as in ``fake.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fake import Child, pin

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk-bench-durable-0123456789"
T0 = 1_767_225_600  # 2026-01-01
TEXT = (
    "The quick brown fox jumps over the lazy dog while the assistant keeps the thread. " * 8
).strip()
SCRIPT = {"rules": [{"match": "bench", "reply": {"type": "text", "text": "Scripted answer."}}]}
SCHEMA_MARK = "v1"  # bump when the layout of the made database changes


# --- the large database ----------------------------------------------------------------


def _message(
    tenant: str, msg_id: str, thread_id: str, created_at: int, role: str
) -> tuple[Any, ...]:
    obj = {
        "id": msg_id,
        "object": "thread.message",
        "created_at": created_at,
        "thread_id": thread_id,
        "status": "completed",
        "incomplete_details": None,
        "completed_at": created_at,
        "incomplete_at": None,
        "role": role,
        "content": [{"type": "text", "text": {"value": TEXT, "annotations": []}}],
        "assistant_id": None,
        "run_id": None,
        "attachments": [],
        "metadata": {},
    }
    return (msg_id, tenant, thread_id, None, created_at, json.dumps(obj, separators=(",", ":")))


class Made:
    """What the large database holds that the benchmark needs: the long thread and its
    oldest and newest message ids."""

    def __init__(self, path: Path, thread_id: str, oldest: str, newest: str, count: int) -> None:
        self.path, self.thread_id, self.oldest, self.newest = path, thread_id, oldest, newest
        self.count = count


def make_database(cache: Path, megabytes: int, messages: int) -> Made:
    """The cached database of ``megabytes`` with a thread of ``messages`` messages, made
    if missing: the schema by the store's migrations, the rows by bulk SQL."""
    from assistants_async.server._keys import tenant_of_key
    from assistants_async.server._sqlite import SQLiteStore

    tenant = tenant_of_key(KEY)
    path = cache / f"durable-{SCHEMA_MARK}-{megabytes}mb-{messages}.sqlite3"
    made = Made(
        path, "thread_long", "msg_long" + "0" * 16, f"msg_long{messages - 1:016d}", messages
    )
    if path.exists():
        return made
    cache.mkdir(parents=True, exist_ok=True)
    part = path.with_suffix(".part")
    for leftover in cache.glob(part.name + "*"):
        leftover.unlink()

    async def migrate() -> None:
        store = SQLiteStore(part)
        await store.open()
        await store.close()

    started = time.perf_counter()
    asyncio.run(migrate())
    db = sqlite3.connect(part, isolation_level=None)
    try:
        # No journal while it is made (a failed build is thrown away); WAL again after.
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        (seq,) = db.execute("SELECT n FROM sequence").fetchone()
        insert_message = (
            "INSERT INTO messages (seq, id, tenant, thread_id, run_id, created_at, obj)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)"
        )
        insert_thread = (
            "INSERT INTO threads (seq, id, tenant, created_at, obj) VALUES (?, ?, ?, ?, ?)"
        )

        def thread(thread_id: str, created_at: int) -> None:
            nonlocal seq
            seq += 1
            obj = {
                "id": thread_id,
                "object": "thread",
                "created_at": created_at,
                "tool_resources": {},
                "metadata": {},
            }
            db.execute(insert_thread, (seq, thread_id, tenant, created_at, json.dumps(obj)))

        def rows(thread_id: str, prefix: str, count: int, start: int) -> None:
            nonlocal seq
            batch = []
            for i in range(count):
                seq += 1
                role = "user" if i % 2 == 0 else "assistant"
                row = _message(tenant, f"{prefix}{i:016d}", thread_id, start + i // 10, role)
                batch.append((seq, *row))
            db.executemany(insert_message, batch)

        db.execute("BEGIN")
        thread(made.thread_id, T0)
        rows(made.thread_id, "msg_long", messages, T0)
        db.execute("COMMIT")
        # Other threads of 100 messages each until the file is as large as asked.
        (page_size,) = db.execute("PRAGMA page_size").fetchone()
        filler = 0
        while True:
            (pages,) = db.execute("PRAGMA page_count").fetchone()
            if pages * page_size >= megabytes * 1024 * 1024:
                break
            db.execute("BEGIN")
            for _ in range(100):
                thread_id = f"thread_fill{filler:011d}"
                created = T0 + 100_000 + filler
                thread(thread_id, created)
                rows(thread_id, f"msg_f{filler:011d}_", 100, created)
                filler += 1
            db.execute("COMMIT")
        db.execute("UPDATE sequence SET n = ?", (seq,))
        db.execute("PRAGMA journal_mode = WAL")
    finally:
        db.close()
    part.rename(path)
    size = path.stat().st_size / 2**20
    print(
        f"made {path} ({size:.0f} MB, {filler} threads of 100 messages and one of {messages})"
        f" in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    return made


# --- the servers ----------------------------------------------------------------------


class Server(Child):
    """One server process on a free loopback port: its URL, start-up time, RSS and CPU."""

    def __init__(self, name: str, args: list[str], log: Path) -> None:
        self.name = name
        self.log = log
        env = {**os.environ, "ASSISTANTS_SERVER_KEYS": KEY, "PYTHONPATH": str(ROOT)}
        super().__init__(args, env=env, cwd=ROOT, log=log)


def sqlite_server(name: str, db: Path, script: Path, log: Path) -> Server:
    args = ["-m", "assistants_async.server", "--port", "0", "--db", str(db)]
    return Server(name, [*args, "--script", str(script), "--no-access-log"], log)


def memory_server(script: Path, log: Path) -> Server:
    return Server("memory", [__file__, "--serve-memory", str(script)], log)


async def serve_memory(script: Path) -> None:
    """What the command does, over ``MemoryStore``: the same server, defaults, script."""
    from assistants_async.server.__main__ import _logging
    from assistants_async.server._cli import load_script
    from assistants_async.server._keys import load_keys
    from assistants_async.server._memory import MemoryStore
    from assistants_async.server._responders import echo
    from assistants_async.server._script import Script
    from assistants_async.server._serve import AssistantsServer

    _logging(False)
    store = MemoryStore()
    await store.open()
    scripted = Script()
    load_script(script, scripted)
    server = AssistantsServer(store, load_keys(None), responder=echo(), script=scripted)
    url = await server.start("127.0.0.1", 0)
    print(f"Assistants API on {url} (data: memory)", flush=True)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    try:
        await stopping.wait()
    finally:
        await server.stop()
        await store.close()


# --- 1. requests/s at concurrency 16 ----------------------------------------------------


class Target:
    """A figure, its target, and whether it is met."""

    def __init__(self, name: str, value: float, low: float | None, high: float | None) -> None:
        self.name, self.value, self.low, self.high = name, value, low, high
        self.met = (low is None or value >= low) and (high is None or value <= high)

    def line(self) -> str:
        if self.low is not None and self.high is not None:
            wanted = f"{self.low:.3g} to {self.high:.3g}"
        elif self.low is not None:
            wanted = f">= {self.low:g}"
        else:
            wanted = f"<= {self.high:g}"
        verdict = "PASS" if self.met else "FAIL"
        return f"  {self.name:46} {self.value:9.3f}   target {wanted:16} {verdict}"

    def json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "low": self.low,
            "high": self.high,
            "met": self.met,
        }


def client_for(server: Server) -> Any:
    from assistants_async import AsyncClient

    return AsyncClient(api_key=KEY, base_url=server.url, trust_env=False, strict=True)


class Fixture:
    """What the three operations work on, on one server."""

    def __init__(self, client: Any, thread_id: str, run_id: str) -> None:
        self.client, self.thread_id, self.run_id = client, thread_id, run_id


async def prepare(server: Server) -> Fixture:
    client = client_for(server)
    assistant = await client.assistants.create(model="gpt-4o")
    thread = await client.threads.create()
    for i in range(100):
        await client.messages.create(thread.id, role="user", content=f"bench message {i}")
    run = await client.runs.create_and_poll(thread.id, assistant_id=assistant.id)
    if run.status != "completed":
        raise RuntimeError(f"{server.name}: the fixture's run ended {run.status}")
    return Fixture(client, thread.id, run.id)


OPERATIONS: dict[str, Callable[[Fixture], Awaitable[Any]]] = {
    "create message": lambda f: f.client.messages.create(f.thread_id, role="user", content="hi"),
    "retrieve run": lambda f: f.client.runs.retrieve(f.thread_id, f.run_id),
    "list 100 messages": lambda f: f.client.messages.list(f.thread_id, limit=100),
}


async def rate(fixture: Fixture, operation: str, requests: int, concurrency: int) -> float:
    """Requests/s of ``requests`` calls of ``operation``, ``concurrency`` at a time."""
    call = OPERATIONS[operation]
    left = requests

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            result = await call(fixture)
            if operation == "list 100 messages" and len(result.data) != 100:
                raise RuntimeError(f"a page of {len(result.data)} messages, not 100")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return requests / (time.perf_counter() - started)


async def throughput(
    servers: list[Server], requests: int, rounds: int, concurrency: int
) -> tuple[dict[str, dict[str, list[float]]], dict[str, dict[str, list[float]]]]:
    """Requests/s, and the server's CPU µs a request, by operation and server, one
    figure a round."""
    fixtures = [await prepare(s) for s in servers]
    for fixture in fixtures:  # warm-up: connections, caches, the code's first paths
        for operation in OPERATIONS:
            await rate(fixture, operation, max(requests // 10, concurrency), concurrency)
    got: dict[str, dict[str, list[float]]] = {
        op: {s.name: [] for s in servers} for op in OPERATIONS
    }
    cpu: dict[str, dict[str, list[float]]] = {
        op: {s.name: [] for s in servers} for op in OPERATIONS
    }
    for i in range(rounds):
        order = list(range(len(servers)))
        if i % 2:
            order.reverse()
        for operation in OPERATIONS:
            for k in order:
                before = servers[k].cpu()
                figure = await rate(fixtures[k], operation, requests, concurrency)
                got[operation][servers[k].name].append(figure)
                spent = (servers[k].cpu() - before) / requests * 1e6
                cpu[operation][servers[k].name].append(spent)
        print(
            f"  round {i + 1}: "
            + "; ".join(
                f"{op} " + " / ".join(f"{got[op][s.name][-1]:.0f}" for s in servers)
                for op in OPERATIONS
            ),
            flush=True,
        )
    for fixture in fixtures:
        await fixture.client.close()
    return got, cpu


# --- 2. paging a long thread ------------------------------------------------------------


async def page(client: Any, made: Made, cursor: str | None, backward: bool) -> Any:
    if backward:
        return await client.messages.list(made.thread_id, limit=100, order="asc", before=cursor)
    return await client.messages.list(made.thread_id, limit=100, order="asc", after=cursor)


async def walk(client: Any, made: Made, backward: bool) -> list[str | None]:
    """The cursor of each page of 100 across the thread, oldest first (``after``) or
    newest first (``before``), from one walk that checks every message comes once."""
    cursors: list[str | None] = []
    seen = 1 if backward else 0  # walking back, the newest is the first cursor itself
    cursor: str | None = made.newest if backward else None
    while True:
        cursors.append(cursor)
        got = await page(client, made, cursor, backward)
        seen += len(got.data)
        if not got.has_more:
            break
        cursor = got.first_id if backward else got.last_id
    if seen != made.count:
        raise RuntimeError(f"walked {seen} messages of {made.count}")
    return cursors


async def page_times(
    client: Any, made: Made, cursors: list[str | None], backward: bool, walks: int
) -> list[float]:
    """Each page's time, in walk order: the fastest of ``walks`` visits, each walk in a
    shuffled order, so that a busy moment of the machine falls on pages all along the
    thread, not on one stretch of it."""
    fastest = [float("inf")] * len(cursors)
    shuffled = list(range(len(cursors)))
    for _ in range(walks):
        random.shuffle(shuffled)
        for i in shuffled:
            started = time.perf_counter()
            await page(client, made, cursors[i], backward)
            fastest[i] = min(fastest[i], time.perf_counter() - started)
    return fastest


def tenths(times: list[float]) -> list[float]:
    """The median page time of each tenth of the walk, in walk order."""
    n = len(times)
    parts = [times[n * k // 10 : n * (k + 1) // 10] for k in range(10)]
    return [statistics.median(p) for p in parts if p]


async def paging(server: Server, made: Made, walks: int) -> dict[str, dict[str, Any]]:
    client = client_for(server)
    results: dict[str, dict[str, Any]] = {}
    try:
        for name, backward in (("after", False), ("before", True)):
            cursors = await walk(client, made, backward)  # also reads the pages once
            fastest = await page_times(client, made, cursors, backward, walks)
            parts = tenths(fastest)
            results[name] = {
                "pages": len(fastest),
                "first_ms": fastest[0] * 1e3,
                "last_ms": fastest[-1] * 1e3,
                "tenths_ms": [p * 1e3 for p in parts],
                "last_over_first": parts[-1] / parts[0],
                "max_over_min": max(parts) / min(parts),
            }
    finally:
        await client.close()
    return results


# --- 4. many runs at once ---------------------------------------------------------------


async def many_runs(server: Server, count: int) -> dict[str, Any]:
    client = client_for(server)
    try:
        assistant = await client.assistants.create(model="gpt-4o", name="bench runs")

        async def one(i: int) -> tuple[str, str, str]:
            thread = await client.threads.create(
                messages=[{"role": "user", "content": f"bench question {i}"}]
            )
            run = await client.runs.create_and_poll(
                thread.id, assistant_id=assistant.id, poll_timeout=600
            )
            return thread.id, run.id, run.status

        started = time.perf_counter()
        done = await asyncio.gather(*(one(i) for i in range(count)))
        elapsed = time.perf_counter() - started
        limit = asyncio.Semaphore(16)

        async def check(thread_id: str, run_id: str) -> list[str]:
            """What is wrong with this thread, as its lists show it."""
            async with limit:
                runs = [r async for r in client.runs.list(thread_id)]
                messages = [m async for m in client.messages.list(thread_id)]
            wrong = []
            if [r.id for r in runs] != [run_id]:
                wrong.append(f"{thread_id}: runs {[r.id for r in runs]}, not [{run_id}]")
            answers = [m for m in messages if m.role == "assistant"]
            if len(answers) != 1 or answers[0].run_id != run_id:
                wrong.append(f"{thread_id}: {len(answers)} assistant messages")
            return wrong

        problems = [
            p for ps in await asyncio.gather(*(check(t, r) for t, r, _ in done)) for p in ps
        ]
        run_ids = [r for _, r, _ in done]
        return {
            "runs": count,
            "completed": sum(status == "completed" for _, _, status in done),
            "distinct_run_ids": len(set(run_ids)),
            "distinct_threads": len({t for t, _, _ in done}),
            "problems": problems[:20],
            "problem_count": len(problems),
            "seconds": elapsed,
        }
    finally:
        await client.close()


# --- the whole run ----------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db-mb", type=int, default=1024, help="the large database (1024)")
    parser.add_argument("--messages", type=int, default=100_000, help="the long thread (100000)")
    parser.add_argument("--requests", type=int, default=2000, help="a round's calls of each op")
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds (3)")
    parser.add_argument("--concurrency", type=int, default=16, help="calls at once (16)")
    parser.add_argument("--walks", type=int, default=3, help="timed walks each way (3)")
    parser.add_argument("--starts", type=int, default=3, help="starts of each SQLite server")
    parser.add_argument("--runs", type=int, default=1000, help="runs on as many threads (1000)")
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "assistants-async-bench",
        help="where the large database is kept between runs",
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="write every figure here")
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=["paging", "runs"],
        help="leave out the paging walk, or the many runs (and what follows them)",
    )
    parser.add_argument("--serve-memory", type=Path, metavar="SCRIPT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_memory is not None:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve_memory(args.serve_memory))
        return
    for name in (
        "db_mb",
        "messages",
        "requests",
        "rounds",
        "concurrency",
        "walks",
        "starts",
        "runs",
    ):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    made = make_database(args.cache, args.db_mb, args.messages)
    with tempfile.TemporaryDirectory(prefix="durable-bench-") as work:
        report = asyncio.run(measure(args, made, Path(work)))
    failed = [t for t in report["targets"] if not t["met"]]
    print(f"{len(report['targets']) - len(failed)} of {len(report['targets'])} targets met")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


async def measure(args: argparse.Namespace, made: Made, work: Path) -> dict[str, Any]:
    script = work / "script.json"
    script.write_text(json.dumps(SCRIPT))
    log = work / "servers.log"
    big = work / "large.sqlite3"
    shutil.copyfile(made.path, big)
    python = sys.version.split()[0]
    size_mb = big.stat().st_size / 2**20
    print(
        f"Python {python}; large database {size_mb:.0f} MB (thread of {made.count} messages);"
        f" {os.cpu_count()} cores; load {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    report: dict[str, Any] = {
        "machine": {
            "python": python,
            "cores": os.cpu_count(),
            "load": os.getloadavg()[0],
            "db_mb": size_mb,
        }
    }
    targets: list[Target] = []

    # 3a. start-up: each SQLite server started --starts times, in turn; the last stays up.
    starts: dict[str, list[float]] = {"empty": [], "large": []}
    servers: dict[str, Server] = {}
    for _ in range(args.starts):
        for name, path in (("empty", work / "empty.sqlite3"), ("large", big)):
            if name in servers:
                servers[name].close()
            servers[name] = sqlite_server(name, path, script, log)
            starts[name].append(servers[name].startup)
    servers["memory"] = memory_server(script, log)
    try:
        print(
            f"servers pinned to one core, the client to another: "
            f"{pin([s.process.pid for s in servers.values()])}",
            flush=True,
        )
        rss_start = {name: s.rss_mb() for name, s in servers.items()}

        # 1. requests/s
        print(
            f"requests/s at concurrency {args.concurrency}, {args.requests} calls a round"
            " (memory / empty SQLite / large SQLite):",
            flush=True,
        )
        order = [servers["memory"], servers["empty"], servers["large"]]
        got, cpu = await throughput(order, args.requests, args.rounds, args.concurrency)
        rss_after = {name: s.rss_mb() for name, s in servers.items()}
        report["throughput"] = got
        report["server_cpu_us"] = cpu
        report["cpu_ratio"] = {}
        for operation, by in cpu.items():
            shown = ", ".join(f"{name} {statistics.median(v):.0f}" for name, v in by.items())
            # What the req/s ratio would be were the server's core the only limit.
            ratio = {
                name: statistics.median(m / x for m, x in zip(by["memory"], by[name], strict=True))
                for name in ("empty", "large")
            }
            report["cpu_ratio"][operation] = ratio
            print(
                f"  server CPU a request, µs (median): {operation}: {shown};"
                f" memory's / SQLite's (not a target): empty {ratio['empty']:.2f},"
                f" large {ratio['large']:.2f}"
            )
        for operation, by in got.items():
            for name in ("empty", "large"):
                ratios = [a / b for a, b in zip(by[name], by["memory"], strict=True)]
                targets.append(
                    Target(
                        f"{operation}: {name} SQLite / memory, req/s",
                        statistics.median(ratios),
                        0.5,
                        None,
                    )
                )

        # 2. paging
        if "paging" in args.skip:
            return finish(report, targets, servers)
        print(
            f"paging a thread of {made.count} messages by 100, {args.walks} walks each way",
            flush=True,
        )
        pages = await paging(servers["large"], made, args.walks)
        report["paging"] = pages
        for way, figures in pages.items():
            tenth = " ".join(f"{t:.2f}" for t in figures["tenths_ms"])
            print(
                f"  {way}: {figures['pages']} pages; first {figures['first_ms']:.2f} ms,"
                f" last {figures['last_ms']:.2f} ms; median by tenth, ms: {tenth}"
            )
            targets.append(
                Target(
                    f"paging {way}: last tenth / first tenth",
                    figures["last_over_first"],
                    1 / 1.2,
                    1.2,
                )
            )
            targets.append(
                Target(
                    f"paging {way}: slowest tenth / fastest tenth",
                    figures["max_over_min"],
                    None,
                    1.2,
                )
            )
        rss_paged = servers["large"].rss_mb()

        # 3b. start-up and RSS
        report["startup_s"] = starts
        report["rss_mb"] = {
            "start": rss_start,
            "after_requests": rss_after,
            "large_after_paging": rss_paged,
        }
        print(
            f"start-up, s (fastest of {args.starts}): empty {min(starts['empty']):.3f},"
            f" large {min(starts['large']):.3f}"
        )
        print(
            "RSS, MB: at start "
            + ", ".join(f"{k} {v:.1f}" for k, v in rss_start.items())
            + "; after the requests "
            + ", ".join(f"{k} {v:.1f}" for k, v in rss_after.items())
            + f"; large after paging {rss_paged:.1f}"
        )
        targets.append(Target("start-up of the large database, s", min(starts["large"]), None, 1.0))
        targets.append(
            Target(
                "start-up, large / empty", min(starts["large"]) / min(starts["empty"]), None, 1.2
            )
        )
        targets.append(
            Target(
                "RSS at start, large / empty", rss_start["large"] / rss_start["empty"], None, 1.2
            )
        )
        targets.append(
            Target(
                "RSS after the requests, large / empty",
                rss_after["large"] / rss_after["empty"],
                None,
                1.2,
            )
        )
        targets.append(
            Target("RSS after paging too, large / empty", rss_paged / rss_after["empty"], None, 1.2)
        )

        # 4. many runs at once
        if "runs" in args.skip:
            return finish(report, targets, servers)
        print(
            f"{args.runs} runs on {args.runs} threads, started at once (large SQLite)", flush=True
        )
        runs = await many_runs(servers["large"], args.runs)
        report["runs"] = runs
        print(
            f"  {runs['completed']} completed in {runs['seconds']:.1f} s;"
            f" {runs['distinct_run_ids']} distinct run ids on {runs['distinct_threads']} threads;"
            f" {runs['problem_count']} problems {runs['problems'][:3]}"
        )
        targets.append(Target("runs completed / started", runs["completed"] / args.runs, 1, 1))
        targets.append(
            Target("distinct run ids / runs", runs["distinct_run_ids"] / args.runs, 1, 1)
        )
        targets.append(Target("threads whose lists are wrong", runs["problem_count"], None, 0))
    except BaseException:
        for server in servers.values():
            server.close()
        raise
    return finish(report, targets, servers)


def finish(
    report: dict[str, Any], targets: list[Target], servers: dict[str, Server]
) -> dict[str, Any]:
    for server in servers.values():
        server.close()
    print("targets:")
    for target in targets:
        print(target.line())
    report["targets"] = [t.json() for t in targets]
    return report


if __name__ == "__main__":
    main()
