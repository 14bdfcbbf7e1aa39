"""The Chat Completions relay's performance targets (issue 25), in one run, on loopback.

    .venv/bin/python benchmarks/chat.py                       # full size (about a minute)
    .venv/bin/python benchmarks/chat.py --streams 5 --tokens 200 --paced-tokens 10 \\
        --tool-runs 5 --json /tmp/chat.json                  # small, as the test runs it

Three processes: an upstream Chat Completions server (``--serve-upstream``, in this
file: canned chunks, each stamped with ``time.time_ns()`` as it is written), the server
as a user starts it (``python -m assistants_async.server --model-base-url ...`` on a
SQLite file in a temp dir), and this client. The OS places them: on a shared machine a
server pinned to one core (``--pin``; the upstream and the client on the other) waits
for that core behind everyone else's work there (p50 of 80 ms against 14 unpinned at a
load of 8 on 2 cores).

1. Latency: each content chunk's text is its send time; the client's
   ``thread.message.delta`` carrying it is stamped on arrival. p50 with one stream
   (``--paced-tokens`` chunks, ``--pace-ms`` apart) and with ``--streams`` at once; the
   same chunks read straight from the upstream are printed beside (the client's and the
   network's own share). Targets: under 2 ms and under 10 ms.
2. Relay rate: unpaced answers of ``--tokens`` chunks, with one stream and with
   ``--streams`` at once, the deltas a second our client reads through the server against
   what it reads straight from the upstream (open_stream, SSE, each chunk's JSON), in
   alternating rounds. Target: at least 0.8. Beside it, in the same rounds, the same
   straight read through a relay that only copies bytes (``--serve-byte-relay``: no
   HTTP, no JSON, no store): what any relay process can reach on this machine, since a
   relay is one more process on the same cores. And the relayed answers read with
   ``text_deltas()`` (each delta's text, no event objects: as the straight read takes
   each chunk's text), also beside.
3. Tool-calling runs: ``--tool-runs`` runs one after another, then as many at once, each
   streamed: two tool calls whose arguments come in pieces, outputs submitted, then a
   streamed answer. Every run must complete with every argument and every token; the
   server's CPU (``/proc``) per relayed token at once / one at a time, within 20 %.

The upstream learns what to send from the request's ``model``: ``bench-N-P`` streams N
chunks P microseconds apart. Linux only (CPU from /proc, stamps across processes).
"""

from __future__ import annotations

import argparse
import asyncio
import codecs
import contextlib
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from fake import Child

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
KEY = "sk-bench-chat-0123456789"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": name,
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
    for name in ("weather", "time")
]
# The arguments of the two calls, streamed a few characters a chunk.
ARGUMENTS = ['{"city": "Paris", "unit": "celsius"}', '{"city": "Tokyo", "zone": "local"}']
PIECE = 4


# --- the upstream ---------------------------------------------------------------------

_HEAD = b'data: {"id":"chatcmpl-b","object":"chat.completion.chunk","created":1,"model":"m",'


def _chunk(delta: bytes, finish: bytes = b"null") -> bytes:
    return (
        _HEAD
        + b'"choices":[{"index":0,"delta":'
        + delta
        + b',"logprobs":null,"finish_reason":'
        + finish
        + b"}]}\n\n"
    )


_ROLE = _chunk(b'{"role":"assistant","content":""}')
_TEXT = _chunk(b'{"content":"%d "}')
_USAGE = (
    _HEAD
    + b'"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":%d,"total_tokens":%d}}\n\n'
)


def _call_chunks() -> list[bytes]:
    """Two tool calls, interleaved: each one's head, then its arguments in pieces."""
    out = []
    pieces = [[a[i : i + PIECE] for i in range(0, len(a), PIECE)] for a in ARGUMENTS]
    for index, name in enumerate(("weather", "time")):
        head = {"index": index, "id": f"call_{index}", "type": "function"}
        head["function"] = {"name": name, "arguments": ""}
        out.append(_chunk(json.dumps({"tool_calls": [head]}).encode()))
    for step in range(max(map(len, pieces))):
        for index, parts in enumerate(pieces):
            if step < len(parts):
                call = {"index": index, "function": {"arguments": parts[step]}}
                out.append(_chunk(json.dumps({"tool_calls": [call]}).encode()))
    return out


async def serve_upstream() -> None:
    from aiohttp import web

    calls = _call_chunks()

    async def completions(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        _, count, pace = body["model"].split("-")
        tokens, delay = int(count), int(pace) / 1e6
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(_ROLE)
        if body.get("tools") and body["messages"][-1]["role"] != "tool":
            for chunk in calls:
                await response.write(chunk)
            await response.write(_chunk(b"{}", b'"tool_calls"'))
            tokens = len(calls)
        else:
            for _ in range(tokens):
                if delay:
                    await asyncio.sleep(delay)
                await response.write(_TEXT % (time.time_ns() // 1000))
            await response.write(_chunk(b"{}", b'"stop"'))
        await response.write(_USAGE % (tokens, tokens + 9))
        await response.write(b"data: [DONE]\n\n")
        return response

    app = web.Application()
    app.router.add_post("/v1/chat/completions", completions)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(f"ready http://127.0.0.1:{runner.addresses[0][1]}/v1", flush=True)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    await stopping.wait()
    await runner.cleanup()


# --- a relay that does nothing ------------------------------------------------------


class _Pipe(asyncio.Protocol):
    """One side of a byte relay: what it reads is written to its peer, unread."""

    def __init__(self, peer: _Pipe | None = None) -> None:
        self.peer = peer
        self.transport: asyncio.Transport | None = None
        self.early: list[bytes] = []  # what came before the peer was there

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        peer = self.peer
        if peer is None or peer.transport is None:
            self.early.append(data)
        else:
            peer.transport.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.close()

    # The peer's writes back up: stop reading until they drain.
    def pause_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.resume_reading()


async def serve_byte_relay(upstream: str) -> None:
    """Each connection copied to a connection of its own to ``upstream`` (host:port),
    both ways, byte for byte: the least work a relay between two sockets can do."""
    host, _, port = upstream.rpartition(":")
    loop = asyncio.get_running_loop()
    links: set[asyncio.Task[None]] = set()

    async def link(down: _Pipe) -> None:
        try:
            _, up = await loop.create_connection(lambda: _Pipe(down), host, int(port))
        except OSError:
            if down.transport is not None:
                down.transport.close()
            return
        down.peer = up
        assert up.transport is not None
        for data in down.early:
            up.transport.write(data)
        down.early.clear()

    def accepted() -> _Pipe:
        down = _Pipe()
        task = loop.create_task(link(down))
        links.add(task)
        task.add_done_callback(links.discard)
        return down

    server = await loop.create_server(accepted, "127.0.0.1", 0)
    print(f"ready http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1", flush=True)
    stopping = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    await stopping.wait()
    server.close()


# --- the processes --------------------------------------------------------------------


class Process(Child):
    """A child process of this benchmark: the upstream, or the server (from ``root``)."""

    def __init__(self, args: list[str], log: Path, root: Path = ROOT) -> None:
        env = {**os.environ, "ASSISTANTS_SERVER_KEYS": KEY, "PYTHONPATH": str(root)}
        super().__init__(args, env=env, cwd=root, log=log)


def pin(relays: list[int], others: list[int]) -> bool:
    """The server (and the byte relay) on a core; the upstream and this client on another."""
    if not hasattr(os, "sched_setaffinity"):
        return False
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return False
    for pid in relays:
        os.sched_setaffinity(pid, {cores[-1]})
    for pid in [*others, 0]:
        os.sched_setaffinity(pid, {cores[0]})
    return True


# --- the two ways of reading ----------------------------------------------------------


class Read:
    """What one stream gave: its deltas' latencies (ns) and how many there were."""

    def __init__(self) -> None:
        self.latencies: list[int] = []
        self.sent: list[int] = []  # each delta's send time (ns)
        self.deltas = 0
        self.first = self.last = 0  # arrival of the first and the last delta (ns)


def _stamps(text: str, read: Read, now: int) -> None:
    for word in text.split():
        sent = int(word) * 1000
        read.sent.append(sent)
        read.latencies.append(now - sent)
        read.deltas += 1
    read.first = read.first or now
    read.last = now


async def straight(client: Any, model: str) -> Read:
    """One answer read from the upstream itself: open_stream, SSE, each chunk's JSON."""
    from assistants_async._json import decode_json
    from assistants_async._sse import SSEDecoder

    read = Read()
    body = {"model": model, "messages": [{"role": "user", "content": "bench"}], "stream": True}
    opened = await client.open_stream("POST", "/chat/completions", body=body)
    decoder = SSEDecoder(opened.max_event_size)
    text = codecs.getincrementaldecoder("utf-8")(errors="replace")
    try:
        async for raw in opened.chunks():
            for event in decoder.feed(text.decode(raw)):
                if event.data == "[DONE]":
                    return read
                chunk = decode_json(event.data)
                for choice in chunk["choices"]:
                    content = choice["delta"].get("content")
                    if content:
                        _stamps(content, read, time.time_ns())
    finally:
        opened.close()
    return read


async def relayed(client: Any, assistant_id: str) -> Read:
    """One run streamed through the server: its message deltas, stamped on arrival."""
    read = Read()
    thread = await client.threads.create(messages=[{"role": "user", "content": "bench"}])
    async with client.runs.stream(thread.id, assistant_id=assistant_id) as stream:
        async for event in stream.without_snapshots():
            if event.event == "thread.message.delta":
                _stamps(event.data.delta.content[0].text.value, read, time.time_ns())
            elif event.event in ("thread.run.failed", "thread.run.incomplete"):
                raise RuntimeError(f"a run ended {event.event}: {event.data.last_error}")
    return read


async def relayed_text(client: Any, assistant_id: str) -> Read:
    """``relayed``, read with ``text_deltas()``: each delta's text, as the straight read
    takes each chunk's (no event objects made)."""
    read = Read()
    thread = await client.threads.create(messages=[{"role": "user", "content": "bench"}])
    async with client.runs.stream(thread.id, assistant_id=assistant_id) as stream:
        async for text in stream.without_snapshots().text_deltas():
            _stamps(text, read, time.time_ns())
        run = await stream.final_run()
    if run.status != "completed":
        raise RuntimeError(f"a run ended {run.status}: {run.last_error}")
    return read


async def at_once(count: int, read: Any, *args: Any) -> tuple[list[Read], float]:
    """``count`` reads at once; they and the time from the first delta to the last."""
    reads = await asyncio.gather(*(read(*args) for _ in range(count)))
    first = min(r.first for r in reads)
    return list(reads), (max(r.last for r in reads) - first) / 1e9


def p50_ms(reads: list[Read], steady: bool = True) -> float:
    """The median latency; ``steady``: of the chunks sent once every stream had its first
    delta (before, the server is still creating the other streams' runs)."""
    since = max(r.first for r in reads) if steady else 0
    found = [x for r in reads for t, x in zip(r.sent, r.latencies, strict=True) if t >= since]
    return statistics.median(found) / 1e6


# --- the tool-calling runs ------------------------------------------------------------


async def tool_run(client: Any, assistant_id: str, tokens: int) -> list[str]:
    """One run: two calls streamed, outputs submitted, the answer streamed. What was lost
    or wrong, if anything; the count of relayed deltas goes in the last entry."""
    problems: list[str] = []
    thread = await client.threads.create(messages=[{"role": "user", "content": "weather?"}])
    arguments: dict[str, str] = {}
    deltas = 0
    async with client.runs.stream(thread.id, assistant_id=assistant_id) as stream:
        async for event in stream.without_snapshots():
            if event.event == "thread.run.step.delta":
                for call in event.data.delta.step_details.tool_calls or []:
                    key = str(call.index)
                    arguments[key] = arguments.get(key, "") + (call.function.arguments or "")
                    deltas += 1
        run = await stream.final_run()
    if run.status != "requires_action":
        return [f"{run.id}: {run.status} instead of requires_action"]
    calls = run.required_action.submit_tool_outputs.tool_calls
    got = [c.function.arguments for c in calls]
    if got != ARGUMENTS or list(arguments.values()) != ARGUMENTS:
        problems.append(f"{run.id}: arguments {got} / streamed {arguments}")
    outputs = [{"tool_call_id": c.id, "output": "sunny"} for c in calls]
    text = []
    async with client.runs.submit_tool_outputs_stream(
        thread.id, run.id, tool_outputs=outputs
    ) as stream:
        async for event in stream.without_snapshots():
            if event.event == "thread.message.delta":
                text.append(event.data.delta.content[0].text.value)
                deltas += 1
            elif event.event == "thread.message.completed":
                final = event.data.content[0].text.value
        run = await stream.final_run()
    if run.status != "completed":
        problems.append(f"{run.id}: {run.status} instead of completed")
    elif len(text) != tokens or "".join(text) != final:
        problems.append(f"{run.id}: {len(text)} of {tokens} deltas, or the message differs")
    return [*problems, str(deltas)]


async def tool_runs(
    client: Any, server: Process, assistant_id: str, count: int, tokens: int, concurrent: bool
) -> dict[str, Any]:
    cpu = server.cpu()
    started = time.perf_counter()
    if concurrent:
        results = await asyncio.gather(
            *(tool_run(client, assistant_id, tokens) for _ in range(count))
        )
    else:
        results = [await tool_run(client, assistant_id, tokens) for _ in range(count)]
    wall = time.perf_counter() - started
    used = server.cpu() - cpu
    deltas = sum(int(r[-1]) for r in results)
    problems = [p for r in results for p in r[:-1]]
    return {
        "runs": count,
        "deltas": deltas,
        "problems": problems,
        "wall_s": wall,
        "server_cpu_s": used,
        "cpu_us_per_token": used / deltas * 1e6,
    }


# --- the run --------------------------------------------------------------------------


class Target:
    def __init__(self, name: str, value: float, low: float | None, high: float | None) -> None:
        self.name, self.value, self.low, self.high = name, value, low, high
        self.met = (low is None or value >= low) and (high is None or value <= high)

    def line(self) -> str:
        wanted = f">= {self.low:g}" if self.low is not None else f"< {self.high:g}"
        verdict = "PASS" if self.met else "FAIL"
        return f"  {self.name:52} {self.value:9.3f}   target {wanted:8} {verdict}"

    def json(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "low": self.low, "high": self.high}


async def measure(
    args: argparse.Namespace, upstream: Process, server: Process, relay: Process
) -> dict[str, Any]:
    from assistants_async import AsyncClient

    report: dict[str, Any] = {}
    targets: list[Target] = []
    big = max(args.streams, 1) * 2
    ours = AsyncClient(
        api_key=KEY, base_url=server.url, trust_env=False, strict=True, max_connections=big
    )
    up = AsyncClient(base_url=upstream.url, auth="none", trust_env=False, max_connections=big)
    via = AsyncClient(base_url=relay.url, auth="none", trust_env=False, max_connections=big)
    async with ours, up, via:

        async def assistant(tokens: int, pace_us: int, tools: bool = False) -> str:
            made = await ours.assistants.create(
                model=f"bench-{tokens}-{pace_us}", tools=TOOLS if tools else []
            )
            return str(made.id)

        pace = int(args.pace_ms * 1000)
        paced = await assistant(args.paced_tokens, pace)
        fast = await assistant(args.tokens, 0)
        small = await assistant(args.tokens_each, 0)
        tools = await assistant(args.tool_tokens, 0, tools=True)
        # Warm both paths (connections, decoders) before timing.
        await at_once(args.streams, relayed, ours, small)
        await at_once(args.streams, straight, up, "bench-10-0")
        await at_once(args.streams, straight, via, "bench-10-0")

        # 1. latency
        latency: dict[str, float] = {}
        for streams in (1, args.streams):
            reads, _ = await at_once(streams, relayed, ours, paced)
            latency[f"relayed_{streams}"] = p50_ms(reads)
            latency[f"relayed_{streams}_from_start"] = p50_ms(reads, steady=False)
            model = f"bench-{args.paced_tokens}-{pace}"
            reads, _ = await at_once(streams, straight, up, model)
            latency[f"straight_{streams}"] = p50_ms(reads)
        report["latency_p50_ms"] = latency
        targets.append(Target("latency p50, 1 stream, ms", latency["relayed_1"], None, 2))
        targets.append(
            Target(
                f"latency p50, {args.streams} streams, ms",
                latency[f"relayed_{args.streams}"],
                None,
                10,
            )
        )

        # 2. relay rate, alternating rounds
        rates: dict[str, list[float]] = {}
        cpu: dict[str, list[float]] = {}
        ceiling: dict[str, float] = {}
        text_deltas: dict[str, float] = {}
        # Whose CPU each way spends (the server and the byte relay idle in the others').
        spenders = {
            "relayed": ("server", "upstream", "client"),
            "relayed_text": ("server", "upstream", "client"),
            "straight": ("upstream", "client"),
            "byte_relay": ("relay", "upstream", "client"),
        }
        for streams, assistant_id, tokens in (
            (1, fast, args.tokens),
            (args.streams, small, args.tokens_each),
        ):
            for round_ in range(args.rounds):
                order = ["relayed", "straight", "byte_relay", "relayed_text"]
                if round_ % 2:
                    order.reverse()
                for way in order:
                    before = _cpu(server, upstream, relay)
                    if way.startswith("relayed"):
                        reader = relayed if way == "relayed" else relayed_text
                        reads, wall = await at_once(streams, reader, ours, assistant_id)
                    else:
                        client = up if way == "straight" else via
                        reads, wall = await at_once(streams, straight, client, f"bench-{tokens}-0")
                    count = sum(r.deltas for r in reads)
                    if count != streams * tokens:
                        raise RuntimeError(f"{way}: {count} deltas of {streams * tokens}")
                    rates.setdefault(f"{way}_{streams}", []).append(count / wall)
                    # Where the time goes: each process's CPU per delta.
                    after = _cpu(server, upstream, relay)
                    for who in spenders[way]:
                        spent = (after[who] - before[who]) / count
                        cpu.setdefault(f"{way}_{streams}_{who}", []).append(spent * 1e6)

            def of_straight(way: str, streams: int = streams) -> float:
                return statistics.median(
                    a / b
                    for a, b in zip(
                        rates[f"{way}_{streams}"], rates[f"straight_{streams}"], strict=True
                    )
                )

            ratio = of_straight("relayed")
            targets.append(
                Target(f"relayed / straight deltas/s, {streams} streams", ratio, 0.8, None)
            )
            ceiling[f"{streams}_streams"] = of_straight("byte_relay")
            text_deltas[f"{streams}_streams"] = of_straight("relayed_text")
        report["deltas_per_s"] = {k: statistics.median(v) for k, v in rates.items()}
        report["cpu_us_per_delta"] = {k: statistics.median(v) for k, v in cpu.items()}
        report["byte_relay_over_straight"] = ceiling
        report["relayed_text_over_straight"] = text_deltas

        # 3. tool-calling runs, one at a time then all at once
        one = await tool_runs(ours, server, tools, args.tool_runs, args.tool_tokens, False)
        many = await tool_runs(ours, server, tools, args.tool_runs, args.tool_tokens, True)
        report["tool_runs"] = {"one_at_a_time": one, "at_once": many}
        lost = len(one["problems"]) + len(many["problems"])
        targets.append(Target("tool-calling runs with something lost or wrong", lost, None, 0.5))
        ratio = many["cpu_us_per_token"] / one["cpu_us_per_token"]
        targets.append(
            Target(f"server CPU/token, {args.tool_runs} at once / 1 at a time", ratio, None, 1.2)
        )
    report["targets"] = [t.json() | {"met": t.met} for t in targets]
    print(f"latency p50 (ms), straight from the upstream beside: {_fmt(latency)}")
    print(f"deltas/s (medians): {_fmt(report['deltas_per_s'])}")
    print(f"CPU us per delta (medians): {_fmt(report['cpu_us_per_delta'])}")
    for name, part in report["tool_runs"].items():
        print(
            f"tool runs {name}: {part['runs']} runs, {part['deltas']} deltas, "
            f"{part['cpu_us_per_token']:.1f} server CPU us/token, {part['wall_s']:.2f} s"
        )
        for problem in part["problems"][:5]:
            print(f"    {problem}")
    print(f"relayed, read with text_deltas(), over straight: {_fmt(text_deltas)}")
    print(
        "a relay that only copies bytes, over straight (what any relay process can reach "
        f"on this machine): {_fmt(ceiling)}"
    )
    print("targets:")
    for target in targets:
        print(target.line())
    return report


def _cpu(server: Process, upstream: Process, relay: Process) -> dict[str, float]:
    return {
        "server": server.cpu(),
        "upstream": upstream.cpu(),
        "relay": relay.cpu(),
        "client": time.process_time(),
    }


def _fmt(figures: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:,.2f}" for k, v in figures.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=100, help="streams at once (100)")
    parser.add_argument("--tokens", type=int, default=5000, help="unpaced chunks, 1 stream")
    parser.add_argument(
        "--tokens-each", type=int, default=500, help="unpaced chunks a stream, --streams (500)"
    )
    parser.add_argument("--paced-tokens", type=int, default=40, help="paced chunks (40)")
    parser.add_argument("--pace-ms", type=float, default=50, help="between paced chunks (50)")
    parser.add_argument("--tool-runs", type=int, default=100, help="tool-calling runs (100)")
    parser.add_argument("--tool-tokens", type=int, default=50, help="their answers' chunks")
    parser.add_argument("--rounds", type=int, default=3, help="relay-rate rounds (3)")
    parser.add_argument(
        "--server-from", type=Path, metavar="PATH", help="serve from the checkout at PATH"
    )
    parser.add_argument(
        "--pin", action="store_true", help="the server on a core, the others on another"
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="write every figure here")
    parser.add_argument("--serve-upstream", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-byte-relay", metavar="HOST:PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_upstream:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve_upstream())
        return
    if args.serve_byte_relay:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve_byte_relay(args.serve_byte_relay))
        return
    for name in (
        "streams",
        "tokens",
        "tokens_each",
        "paced_tokens",
        "tool_runs",
        "tool_tokens",
        "rounds",
    ):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    with tempfile.TemporaryDirectory(prefix="chat-bench-") as work:
        log = Path(work) / "processes.log"
        upstream = Process([__file__, "--serve-upstream"], log)
        server = relay = None
        try:
            address = upstream.url.split("//", 1)[1].split("/", 1)[0]
            relay = Process([__file__, "--serve-byte-relay", address], log)
            command = ["-m", "assistants_async.server", "--port", "0", "--no-access-log"]
            command += ["--db", str(Path(work) / "chat.sqlite3"), "--model-base-url", upstream.url]
            command += ["--model-max-concurrent", str(args.streams * 2)]
            server = Process(command, log, args.server_from or ROOT)
            pinned = args.pin and pin(
                [server.process.pid, relay.process.pid], [upstream.process.pid]
            )
            print(
                f"Python {sys.version.split()[0]}; {os.cpu_count()} cores; "
                f"load {os.getloadavg()[0]:.2f}; pinned: {pinned}",
                flush=True,
            )
            report = asyncio.run(measure(args, upstream, server, relay))
            report["machine"] = {
                "python": sys.version.split()[0],
                "cores": os.cpu_count(),
                "load": os.getloadavg()[0],
                "pinned": pinned,
                "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            }
        finally:
            for child in (server, relay):
                if child is not None:
                    child.close()
            upstream.close()
    failed = [t for t in report["targets"] if not t["met"]]
    print(f"{len(report['targets']) - len(failed)} of {len(report['targets'])} targets met")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
