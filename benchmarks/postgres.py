"""The server on PostgreSQL (issue 26), in one run, on served processes.

    .venv/bin/python benchmarks/postgres.py                   # full size
    .venv/bin/python benchmarks/postgres.py --requests 60 --rounds 1 --json /tmp/pg.json

PostgreSQL is started as the tests start it (``tests/server/postgres.py``'s ``Cluster``:
a throwaway cluster on a free port of 127.0.0.1, as its own user, ``fsync=off``). The
servers are ``python -m assistants_async.server`` processes, started as a user starts
them and driven with this client over loopback (the client in this process).

1. One process on PostgreSQL against one on SQLite: requests/s at ``--concurrency``
   (create a message, retrieve a run, list 100 messages), in alternating rounds (the
   order swapped from round to round); the ratio is the median of the rounds' ratios.
2. One, two and four processes on one PostgreSQL database: the same three operations,
   the calls spread over the processes round robin, ``--concurrency`` per process; the
   requests/s for each count, with the CPU seconds a request cost in the servers,
   in PostgreSQL's own processes and in the client, and how busy the machine's cores
   were. The figures are stated, not judged: on a 2-core machine every process, the
   database and the client share two cores, so the curve shows where the CPU goes, not
   how the server would scale on more cores.

Linux only (CPU from /proc). Nothing is pinned: PostgreSQL's processes run where the
kernel puts them, next to the servers and the client.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from durable import KEY, OPERATIONS, SCRIPT, Fixture, Server, prepare, rate, sqlite_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.server.postgres import Cluster  # noqa: E402  (the tests' own PostgreSQL)

TICK = os.sysconf("SC_CLK_TCK")


def postgres_server(name: str, url: str, script: Path, log: Path) -> Server:
    args = ["-m", "assistants_async.server", "--port", "0", "--db", url]
    return Server(name, [*args, "--script", str(script), "--no-access-log"], log)


def cluster_cpu(cluster: Cluster) -> float:
    """CPU seconds of every process of the cluster (the postmaster and its children)."""
    head = int((cluster.data / "postmaster.pid").read_text().split()[0])
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:  # gone meanwhile
            continue
        pid, parent = int(entry.name), int(fields[1])
        if pid == head or parent == head:
            total += (int(fields[11]) + int(fields[12])) / TICK
    return total


def machine_busy() -> tuple[float, float]:
    """(busy, all) CPU seconds of the whole machine so far (/proc/stat)."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / TICK, sum(values) / TICK


# --- 1. one process: PostgreSQL against SQLite ------------------------------------------


async def one_against_sqlite(
    pg: Server, lite: Server, requests: int, rounds: int, concurrency: int
) -> dict[str, Any]:
    fixtures = {s.name: await prepare(s) for s in (pg, lite)}
    for fixture in fixtures.values():  # warm-up: connections, caches, first paths
        for operation in OPERATIONS:
            await rate(fixture, operation, max(requests // 10, concurrency), concurrency)
    got: dict[str, dict[str, list[float]]] = {
        op: {"postgres": [], "sqlite": []} for op in OPERATIONS
    }
    for i in range(rounds):
        order = ["postgres", "sqlite"] if i % 2 == 0 else ["sqlite", "postgres"]
        for operation in OPERATIONS:
            for name in order:
                got[operation][name].append(
                    await rate(fixtures[name], operation, requests, concurrency)
                )
        print(
            f"  round {i + 1}: "
            + "; ".join(
                f"{op} {got[op]['postgres'][-1]:.0f} / {got[op]['sqlite'][-1]:.0f}"
                for op in OPERATIONS
            ),
            flush=True,
        )
    for fixture in fixtures.values():
        await fixture.client.close()
    result: dict[str, Any] = {}
    for operation, by in got.items():
        ratios = [p / s for p, s in zip(by["postgres"], by["sqlite"], strict=True)]
        result[operation] = {
            "postgres_rps": statistics.median(by["postgres"]),
            "sqlite_rps": statistics.median(by["sqlite"]),
            "ratio": statistics.median(ratios),
            "ratio_range": [min(ratios), max(ratios)],
        }
    return result


# --- 2. one, two, four processes on one database -----------------------------------------


class Spread:
    """``Fixture``-like: the operations' calls spread over several processes' clients,
    round robin, on one thread and one run (made through the first)."""

    def __init__(self, fixtures: list[Fixture]) -> None:
        self.fixtures = fixtures
        self.turn = 0

    @property
    def next(self) -> Fixture:
        self.turn = (self.turn + 1) % len(self.fixtures)
        return self.fixtures[self.turn]


async def spread_fixture(servers: list[Server]) -> Spread:
    from assistants_async import AsyncClient

    first = await prepare(servers[0])
    fixtures = [first]
    for server in servers[1:]:
        client = AsyncClient(api_key=KEY, base_url=server.url, trust_env=False, strict=True)
        fixtures.append(Fixture(client, first.thread_id, first.run_id))
    return Spread(fixtures)


async def spread_rate(spread: Spread, operation: str, requests: int, concurrency: int) -> float:
    call = OPERATIONS[operation]
    left = requests

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await call(spread.next)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return requests / (time.perf_counter() - started)


async def scaling(
    cluster: Cluster,
    counts: list[int],
    script: Path,
    log: Path,
    requests: int,
    rounds: int,
    concurrency: int,
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for count in counts:
        database = cluster.create_database()
        url = cluster.url(database)
        servers = [postgres_server(f"pg{n}", url, script, log) for n in range(count)]
        try:
            spread = await spread_fixture(servers)
            at_once = concurrency * count
            for operation in OPERATIONS:  # warm-up
                await spread_rate(spread, operation, max(requests // 10, at_once), at_once)
            figures: dict[str, Any] = {}
            for operation in OPERATIONS:
                rps: list[float] = []
                cpu = {"servers": 0.0, "postgres": 0.0, "client": 0.0}
                busy = 0.0
                for _ in range(rounds):
                    servers_before = sum(s.cpu() for s in servers)
                    pg_before = cluster_cpu(cluster)
                    client_before = time.process_time()
                    busy_before, all_before = machine_busy()
                    rps.append(await spread_rate(spread, operation, requests, at_once))
                    busy_after, all_after = machine_busy()
                    cpu["servers"] += sum(s.cpu() for s in servers) - servers_before
                    cpu["postgres"] += cluster_cpu(cluster) - pg_before
                    cpu["client"] += time.process_time() - client_before
                    busy += (busy_after - busy_before) / max(all_after - all_before, 1e-9)
                done = requests * rounds
                figures[operation] = {
                    "rps": statistics.median(rps),
                    "cpu_us_per_request": {k: v / done * 1e6 for k, v in cpu.items()},
                    "cores_busy": busy / rounds * (os.cpu_count() or 1),
                }
            for fixture in spread.fixtures:
                await fixture.client.close()
            result[str(count)] = figures
            print(
                f"  {count} process(es): "
                + "; ".join(
                    f"{op} {f['rps']:.0f}/s"
                    f" (CPU µs/request: servers {f['cpu_us_per_request']['servers']:.0f},"
                    f" postgres {f['cpu_us_per_request']['postgres']:.0f},"
                    f" client {f['cpu_us_per_request']['client']:.0f};"
                    f" cores busy {f['cores_busy']:.2f})"
                    for op, f in figures.items()
                ),
                flush=True,
            )
        finally:
            for server in servers:
                server.close()
            cluster.drop_database(database)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="a round's calls of each op")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (3)")
    parser.add_argument("--concurrency", type=int, default=16, help="calls at once (16)")
    parser.add_argument(
        "--processes", default="1,2,4", help="process counts on one database (1,2,4)"
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="write every figure here")
    args = parser.parse_args()
    for name in ("requests", "rounds", "concurrency"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    try:
        counts = [int(n) for n in args.processes.split(",")]
    except ValueError:
        parser.error(f"--processes must be numbers separated by commas, not {args.processes!r}")
    if not counts or min(counts) < 1:
        parser.error("--processes must name counts of at least 1")
    report = asyncio.run(measure(args, counts))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


async def measure(args: argparse.Namespace, counts: list[int]) -> dict[str, Any]:
    cluster = Cluster()
    cluster.start()
    try:
        with tempfile.TemporaryDirectory(prefix="postgres-bench-") as folder:
            work = Path(folder)
            script = work / "script.json"
            script.write_text(json.dumps(SCRIPT))
            log = work / "servers.log"
            python = sys.version.split()[0]
            print(
                f"Python {python}; {os.cpu_count()} cores; load {os.getloadavg()[0]:.2f};"
                f" PostgreSQL from {cluster.bin}",
                flush=True,
            )
            report: dict[str, Any] = {
                "machine": {"python": python, "cores": os.cpu_count(), "load": os.getloadavg()[0]}
            }
            print(
                f"1. one process, PostgreSQL / SQLite, requests/s at concurrency"
                f" {args.concurrency}:",
                flush=True,
            )
            database = cluster.create_database()
            pg = postgres_server("postgres", cluster.url(database), script, log)
            lite = sqlite_server("sqlite", work / "one.sqlite3", script, log)
            try:
                one = await one_against_sqlite(
                    pg, lite, args.requests, args.rounds, args.concurrency
                )
            finally:
                pg.close()
                lite.close()
                cluster.drop_database(database)
            for operation, f in one.items():
                print(
                    f"  {operation:18} postgres {f['postgres_rps']:7.0f}/s  sqlite"
                    f" {f['sqlite_rps']:7.0f}/s  ratio {f['ratio']:.2f}"
                    f" ({f['ratio_range'][0]:.2f} to {f['ratio_range'][1]:.2f})",
                    flush=True,
                )
            report["one_process"] = one
            print(
                f"2. processes on one database ({args.concurrency} calls at once each):",
                flush=True,
            )
            report["processes"] = await scaling(
                cluster, counts, script, log, args.requests, args.rounds, args.concurrency
            )
            return report
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
