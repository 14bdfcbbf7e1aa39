"""The fake server's speed: whole flows through this client against FakeAssistantsServer.

    .venv/bin/python benchmarks/fake.py [--flows 600] [--rounds 5]
    .venv/bin/python benchmarks/fake.py --compare /tmp/base [--pairs 8]
    .venv/bin/python benchmarks/fake.py --served [--compare /tmp/base]
    .venv/bin/python benchmarks/fake.py --instructions --flows 30 --warmup 10 [--compare PATH]
    .venv/bin/python benchmarks/fake.py --profile /tmp/fake.prof    (cProfile, in process)

A flow is six requests: create a thread with a user message; create a run (an assistant
with a function tool, ``tool_choice="required"``, so that the default echo responder calls
the tool first); retrieve it (requires_action); submit the tool's output (the run then
completes); list the thread's messages; list its runs. Runs are settled before each
answer (``progress="immediate"``), so each flow takes the engine through two turns.

In process (the default), client and server share one process and one event loop, as in
a test suite: the figure is their CPU per flow (and requests/s). ``--served`` starts the
fake's command (``python -m assistants_async.testing``) in its own process and reports
that process's CPU per flow (read from /proc: Linux only) besides the client's.

``--compare PATH`` runs the same flows against the checkout at PATH (``PYTHONPATH=PATH``)
in alternating rounds, the order swapped from pair to pair, and prints each pair's ratio
(this checkout / PATH) and their median. In process, each round is a fresh subprocess
whose client and server both come from its checkout (so the ratio includes any change of
the client); served, one client (this checkout's) drives the two servers in turn, and the
ratio is the servers' CPU alone. Between measurements the garbage of the one before is
collected; each still pays for its own collections.

On a shared machine CPU times wander by 10 % from round to round. ``--instructions``
counts instead (valgrind's callgrind, in process, the garbage collector off): the same
checkout counts the same to about 0.1 %, so a few per cent show in one run of two
minutes. It misses what the kernel does and what memory stalls cost, so the CPU ratios
remain the judge; the count says where they wander.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REQUESTS_PER_FLOW = 6
TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


# --- one flow --------------------------------------------------------------------------------


async def flow(client: Any, assistant_id: str) -> None:
    thread = await client.threads.create(
        messages=[{"role": "user", "content": "What is the weather in Paris?"}]
    )
    run = await client.runs.create(thread.id, assistant_id=assistant_id, tool_choice="required")
    run = await client.runs.retrieve(thread.id, run.id)
    calls = run.required_action.submit_tool_outputs.tool_calls
    await client.runs.submit_tool_outputs(
        thread.id, run.id, tool_outputs=[{"tool_call_id": c.id, "output": "22C"} for c in calls]
    )
    messages = await client.messages.list(thread.id)
    runs = await client.runs.list(thread.id)
    if len(messages.data) != 2 or runs.data[0].status != "completed":
        raise AssertionError(f"unexpected flow: {len(messages.data)} messages, {runs.data}")


async def flows(client: Any, assistant_id: str, n: int) -> dict[str, float]:
    """CPU of this process and wall time per flow, and requests/s, for ``n`` flows."""
    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(n):
        await flow(client, assistant_id)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    n = max(n, 1)  # none: --instructions counts what comes before the flows
    return {
        "cpu_us": cpu / n * 1e6,
        "wall_us": wall / n * 1e6,
        "per_s": n * REQUESTS_PER_FLOW / max(wall, 1e-9),
    }


async def new_assistant(client: Any) -> str:
    assistant = await client.assistants.create(model="gpt-4o", tools=[TOOL])
    return str(assistant.id)


# --- in process ------------------------------------------------------------------------------


async def in_process(
    n: int, rounds: int, warmup: int, profile: str | None = None
) -> list[dict[str, float]]:
    import assistants_async
    from assistants_async.testing import FakeAssistantsServer

    server = FakeAssistantsServer(progress="immediate")
    results = []
    async with server, server.client() as client:
        assistant_id = await new_assistant(client)
        await flows(client, assistant_id, warmup)
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
            await flows(client, assistant_id, n)
            profiler.disable()
            profiler.dump_stats(profile)
            return []
        for _ in range(rounds):
            results.append(await flows(client, assistant_id, n))
    results[0]["module"] = assistants_async.__file__  # type: ignore[assignment]
    return results


def run_worker(path: Path, n: int, warmup: int) -> dict[str, float]:
    """One round in a fresh process, client and server from the checkout at ``path``."""
    env = {**os.environ, "PYTHONPATH": str(path)}
    args = [sys.executable, __file__, "--worker", "--flows", str(n), "--warmup", str(warmup)]
    out = subprocess.run(args, env=env, cwd=path, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(out.stdout.splitlines()[-1])
    expected = str(path.resolve() / "assistants_async" / "__init__.py")
    if result["module"] != expected:
        raise RuntimeError(f"imported {result['module']}, not {expected}")
    return result


def instructions(path: Path, n: int, warmup: int) -> float:
    """Instructions per flow in process (client and server from ``path``), counted by
    valgrind's callgrind: the difference between a run of ``n`` flows and one of none,
    over ``n``. The garbage collector is off in both, so that the count repeats to about
    0.1 %; the kernel's work (the sockets) is not counted."""

    def count(flows: int) -> int:
        env = {**os.environ, "PYTHONPATH": str(path), "PYTHONHASHSEED": "0"}
        args = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
        args += [sys.executable, __file__, "--worker", "--no-gc"]
        args += ["--flows", str(flows), "--warmup", str(warmup)]
        out = subprocess.run(args, env=env, cwd=path, check=True, capture_output=True, text=True)
        (line,) = [x for x in out.stderr.splitlines() if "Collected :" in x]
        return int(line.split()[-1])

    return (count(n) - count(0)) / n


# --- served in its own process ---------------------------------------------------------------


def _end_with_parent() -> None:
    """In the child: SIGTERM when this benchmark ends, even killed (Linux's prctl), so that
    no server outlives it."""
    import ctypes
    import signal

    prctl = getattr(ctypes.CDLL(None), "prctl", None)
    if prctl is not None:
        prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Child:
    """A child Python (``args`` after the interpreter) whose first line of output names
    its URL (the first word that is one, ending in /v1): its start-up time, CPU and RSS.
    It ends with this benchmark, even a killed one. Standard error goes to ``log``."""

    def __init__(
        self, args: list[str], *, env: dict[str, str], cwd: Path, log: Path | None = None
    ) -> None:
        started = time.perf_counter()
        with log.open("a") if log is not None else contextlib.nullcontext() as err:
            self.process = subprocess.Popen(
                [sys.executable, *args],
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                preexec_fn=_end_with_parent,
            )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        self.startup = time.perf_counter() - started
        urls = [word for word in line.split() if word.startswith("http")]
        if not urls or not urls[0].endswith("/v1"):
            self.close()
            seen = f"; see {log}:\n{log.read_text()[-2000:]}" if log is not None else ""
            raise RuntimeError(f"no URL in {line!r} from {args}{seen}")
        self.url = urls[0]

    def cpu(self) -> float:
        """CPU seconds the process has used so far."""
        with open(f"/proc/{self.process.pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS in /proc")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


class Served(Child):
    """The fake's command from the checkout at ``path``, on a free loopback port."""

    def __init__(self, path: Path) -> None:
        self.path = path
        args = ["-m", "assistants_async.testing", "--port", "0", "--progress", "immediate"]
        super().__init__(args, env={**os.environ, "PYTHONPATH": str(path)}, cwd=path)


def pin(server_pids: list[int]) -> bool:
    """The servers on one core, the client on another, where the machine allows (as in
    run.py): they never preempt each other, and only one server works at a time."""
    if not hasattr(os, "sched_setaffinity"):
        return False
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return False
    for pid in server_pids:
        os.sched_setaffinity(pid, {cores[-1]})
    os.sched_setaffinity(0, {cores[0]})
    return True


async def measure_served(
    server: Served, client: Any, assistant_id: str, n: int
) -> dict[str, float]:
    before = server.cpu()
    result = await flows(client, assistant_id, n)
    result["server_cpu_us"] = (server.cpu() - before) / n * 1e6
    return result


async def served(
    paths: list[Path], n: int, rounds: int, warmup: int
) -> list[list[dict[str, float]]]:
    """``rounds`` rounds against each checkout's server, alternating (the order swapped
    each round); returns the results by checkout."""
    from assistants_async import AsyncClient

    servers = [Served(path) for path in paths]
    pinned = pin([s.process.pid for s in servers])
    print(f"servers pinned to one core, the client to another: {pinned}")
    results: list[list[dict[str, float]]] = [[] for _ in paths]
    try:
        clients = [
            AsyncClient(api_key="sk-bench", base_url=s.url, trust_env=False, strict=True)
            for s in servers
        ]
        assistants = [await new_assistant(c) for c in clients]
        for client, assistant_id in zip(clients, assistants, strict=True):
            await flows(client, assistant_id, warmup)
        for i in range(rounds):
            order = list(range(len(paths)))
            if i % 2:
                order.reverse()
            for k in order:
                results[k].append(await measure_served(servers[k], clients[k], assistants[k], n))
        for client in clients:
            await client.close()
    finally:
        for server in servers:
            server.close()
    return results


# --- reporting -------------------------------------------------------------------------------


def summary(results: list[dict[str, float]], key: str) -> str:
    values = [r[key] for r in results]
    return f"{statistics.median(values):8.0f} (range {min(values):.0f}-{max(values):.0f})"


def print_ratios(name: str, ratios: list[float]) -> None:
    shown = " ".join(f"{r:.3f}" for r in ratios)
    print(
        f"{name}: median {statistics.median(ratios):.3f} "
        f"(range {min(ratios):.3f}-{max(ratios):.3f}; pairs: {shown})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flows", type=int, default=600, help="flows a round (default 600)")
    parser.add_argument("--warmup", type=int, default=50, help="flows before any is timed")
    parser.add_argument("--rounds", type=int, default=5, help="rounds without --compare")
    parser.add_argument("--pairs", type=int, default=8, help="pairs of rounds with --compare")
    parser.add_argument("--served", action="store_true", help="the fake in its own process")
    parser.add_argument("--compare", type=Path, metavar="PATH", help="another checkout")
    parser.add_argument("--profile", metavar="FILE", help="cProfile one in-process round")
    parser.add_argument(
        "--instructions", action="store_true", help="count instructions (valgrind) instead"
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-gc", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        if args.no_gc:
            gc.disable()
        (result,) = asyncio.run(in_process(args.flows, 1, args.warmup))
        print(json.dumps(result))
        return
    if args.instructions:
        paths = [ROOT] + ([args.compare.resolve()] if args.compare else [])
        counts = [instructions(path, args.flows, args.warmup) for path in paths]
        for path, per_flow in zip(paths, counts, strict=True):
            print(f"{path}: {per_flow / 1e6:.3f} M instructions per flow (callgrind, no GC)")
        if args.compare:
            print(f"instructions per flow, this / {paths[1]}: {counts[0] / counts[1]:.3f}")
        return
    if args.profile:
        asyncio.run(in_process(args.flows, 1, args.warmup, args.profile))
        print(f"profile of {args.flows} flows in {args.profile}")
        return
    python = sys.version.split()[0]
    print(f"{args.flows} flows a round, {REQUESTS_PER_FLOW} requests a flow, Python {python}")
    if args.served:
        paths = [ROOT] + ([args.compare.resolve()] if args.compare else [])
        rounds = args.pairs if args.compare else args.rounds
        by_path = asyncio.run(served(paths, args.flows, rounds, args.warmup))
        for path, results in zip(paths, by_path, strict=True):
            print(f"{path}:")
            print(f"  server CPU per flow, µs {summary(results, 'server_cpu_us')}")
            print(f"  client CPU per flow, µs {summary(results, 'cpu_us')}")
            print(f"  requests/s              {summary(results, 'per_s')}")
        if args.compare:
            this, other = by_path
            ratios = [
                a["server_cpu_us"] / b["server_cpu_us"] for a, b in zip(this, other, strict=True)
            ]
            print_ratios(f"server CPU per flow, this / {paths[1]}", ratios)
        return
    if not args.compare:
        results = asyncio.run(in_process(args.flows, args.rounds, args.warmup))
        print(f"in process ({results[0]['module']}):")
        print(f"  CPU per flow, µs (client and server) {summary(results, 'cpu_us')}")
        print(f"  requests/s                           {summary(results, 'per_s')}")
        return
    paths = [ROOT, args.compare.resolve()]
    pairs: list[tuple[dict[str, float], dict[str, float]]] = []
    for i in range(args.pairs):
        order = [0, 1] if i % 2 == 0 else [1, 0]
        got: dict[int, dict[str, float]] = {}
        for k in order:
            got[k] = run_worker(paths[k], args.flows, args.warmup)
        pairs.append((got[0], got[1]))
        print(f"  pair {i + 1}: {got[0]['cpu_us']:.0f} / {got[1]['cpu_us']:.0f} µs", flush=True)
    for k, path in enumerate(paths):
        results = [pair[k] for pair in pairs]
        print(f"{path}:")
        print(f"  CPU per flow, µs (client and server) {summary(results, 'cpu_us')}")
        print(f"  requests/s                           {summary(results, 'per_s')}")
    print_ratios(
        f"CPU per flow in process, this / {paths[1]}", [a["cpu_us"] / b["cpu_us"] for a, b in pairs]
    )


if __name__ == "__main__":
    main()
