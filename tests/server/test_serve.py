"""``python -m assistants_async.server``, started as a user starts it (a subprocess on a
free port of 127.0.0.1) and driven with our client: what it keeps across restarts and
``kill -9``, whose objects each key sees, its limits, its logs and its shutdown.

Every wait is for an event (a line printed, a response, an exit); none is a fixed sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from assistants_async import (
    APIConnectionError,
    APIStatusError,
    AsyncClient,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
)
from assistants_async.models import (
    FunctionToolCall,
    Run,
    TextContentBlock,
    ToolCallsStepDetails,
)
from assistants_async.server.__main__ import build_parser
from assistants_async.server._keys import tenant_of_key
from assistants_async.server._postgres import PostgresStore
from assistants_async.server._store import Claim

from ..chat_double import ChatDouble, Say

KEY = "sk-serve-alpha-0123456789"
OTHER = "sk-serve-beta-9876543210"
FORCED = {"type": "function", "function": {"name": "get_weather"}}
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
MOVING = ("queued", "in_progress", "cancelling")


class Served:
    """A running server: its URL, its process, and what it has said on standard error."""

    def __init__(self, proc: asyncio.subprocess.Process, url: str, banner: str) -> None:
        self.proc = proc
        self.url = url
        self.banner = banner
        self.lines: list[str] = []
        self._heard = asyncio.Condition()
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        async for raw in self.proc.stderr:
            async with self._heard:
                self.lines.append(raw.decode().rstrip("\n"))
                self._heard.notify_all()

    async def line(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        """The first line of standard error that ``pattern`` is found in, once said."""

        def found() -> re.Match[str] | None:
            return next((m for line in self.lines if (m := re.search(pattern, line))), None)

        async with self._heard:
            await asyncio.wait_for(self._heard.wait_for(lambda: found() is not None), timeout)
        match = found()
        assert match is not None
        return match

    def access(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines if line.startswith("{")]

    def client(self, key: str = KEY, **kwargs: Any) -> AsyncClient:
        kwargs.setdefault("max_retries", 0)
        return AsyncClient(api_key=key, base_url=self.url, trust_env=False, strict=True, **kwargs)

    async def stop(self, signum: int = signal.SIGTERM) -> int:
        """Send ``signum`` and wait for the exit; the exit status."""
        self.proc.send_signal(signum)
        code = await asyncio.wait_for(self.proc.wait(), 60)
        await self._reader
        return code


@contextlib.asynccontextmanager
async def served(
    db: Path | str, *options: str, keys: str = f"{KEY},{OTHER}"
) -> AsyncIterator[Served]:
    """``python -m assistants_async.server --port 0 --db DB [options]`` (DB a file or a
    postgresql:// URL), with the keys in
    the environment; stopped (SIGTERM) at the end unless the test stopped it."""
    env = {**os.environ, "ASSISTANTS_SERVER_KEYS": keys}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "assistants_async.server",
        "--port",
        "0",
        "--db",
        str(db),
        *options,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        banner = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        found = re.search(r"(http://127\.0\.0\.1:\d+/v1)", banner)
        if found is None:
            rest = await proc.stderr.read() if proc.stderr else b""
            raise AssertionError(f"no URL in {banner!r}; stderr: {rest.decode()}")
        server = Served(proc, found.group(1), banner)
        yield server
    finally:
        if proc.returncode is None:
            proc.terminate()
            await proc.wait()


async def until(check: Callable[[], Any], timeout: float = 30) -> Any:
    """``check()`` (awaited if it gives an awaitable) once it gives something true: a
    poll for an event the server does not announce."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still {value!r} after {timeout} s")
        await asyncio.sleep(0.02)


async def resting(client: AsyncClient, thread_id: str, run_id: str) -> Run:
    async def check() -> Run | None:
        run = await client.runs.retrieve(thread_id, run_id)
        return None if run.status in MOVING else run

    result: Run = await until(check)
    return result


async def waiting_run(client: AsyncClient, assistant_id: str) -> Run:
    """A run in requires_action (tool_choice forces the call; the stream settles it)."""
    thread = await client.threads.create(messages=[{"role": "user", "content": "Weather?"}])
    async with client.runs.stream(
        thread.id, assistant_id=assistant_id, tools=TOOLS, tool_choice=FORCED
    ) as stream:
        run = await stream.final_run()
    assert run.status == "requires_action"
    return run


# --- the command line -----------------------------------------------------------------


def test_help_documents_every_option() -> None:
    parser = build_parser()
    script = Path(sys.executable).parent / "assistants-server"  # the console script
    done = subprocess.run([script, "--help"], capture_output=True, text=True, check=True)
    shown = done.stdout
    for action in parser._actions:
        for option in action.option_strings:
            assert option in shown, option
        if action.help and action.dest != "help":
            assert action.help.split()[0] in shown, action.dest
    for needle in ("ASSISTANTS_SERVER_KEYS", "/v1", ".backup", "kill -9", "SIGTERM", "echo"):
        assert needle in shown, needle


async def test_without_keys_it_refuses_to_start(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ASSISTANTS_SERVER_KEYS"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "assistants_async.server",
        "--db",
        str(tmp_path / "db"),
        env=env,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert b"no API keys" in err
    assert not (tmp_path / "db").exists()


# --- durable state --------------------------------------------------------------------


async def test_objects_survive_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "data.sqlite3"
    async with served(db) as server:
        assert str(db) in server.banner
        async with server.client() as client:
            asst = await client.assistants.create(model="gpt-4o", name="Keeper")
            thread = await client.threads.create(
                messages=[{"role": "user", "content": "Remember me"}], metadata={"k": "v"}
            )
            run = await client.runs.create_and_poll(thread.id, assistant_id=asst.id)
            assert run.status == "completed"
        assert await server.stop() == 0
    async with served(db) as server, server.client() as client:
        assert (await client.assistants.retrieve(asst.id)).name == "Keeper"
        assert (await client.threads.retrieve(thread.id)).metadata == {"k": "v"}
        texts = [
            m.content[0].text.value  # type: ignore[union-attr]
            async for m in client.messages.list(thread.id, order="asc")
        ]
        assert texts == ["Remember me", "Remember me"]  # the question, the echo
        assert (await client.runs.retrieve(thread.id, run.id)).status == "completed"


async def test_an_idempotency_key_replays_across_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "data.sqlite3"
    headers = {"Idempotency-Key": "make-it-once"}
    async with served(db) as server, server.client() as client:
        first = await client.assistants.create(model="gpt-4o", extra_headers=headers)
    async with served(db) as server, server.client() as client:
        again = await client.with_raw_response(
            client.assistants.create, model="gpt-4o", extra_headers=headers
        )
        assert again.headers["idempotent-replayed"] == "true"
        assert again.parsed.id == first.id
        with pytest.raises(BadRequestError) as refused:
            await client.assistants.create(model="gpt-4o-mini", extra_headers=headers)
        assert refused.value.code == "idempotency_key_reused"
        # Another key's tenant has its own keys.
        async with server.client(OTHER) as other:
            theirs = await other.assistants.create(model="gpt-4o", extra_headers=headers)
        assert theirs.id != first.id


# --- keys and tenants -----------------------------------------------------------------


def on_disk(folder: Path) -> bytes:
    """Every byte of the database files (the file, its WAL, its shared memory)."""
    return b"".join(p.read_bytes() for p in sorted(folder.glob("data.sqlite3*")))


async def test_each_key_is_a_tenant_and_no_key_is_kept_or_logged(tmp_path: Path) -> None:
    db = tmp_path / "data.sqlite3"
    keys_file = tmp_path / "keys"
    keys_file.write_text(f"# the team's key\n{KEY}\n\n", encoding="utf-8")
    async with served(db, "--keys-file", str(keys_file), keys=OTHER) as server:
        async with server.client() as mine, server.client(OTHER) as theirs:
            asst = await mine.assistants.create(model="gpt-4o")
            thread = await mine.threads.create()
            with pytest.raises(NotFoundError):
                await theirs.assistants.retrieve(asst.id)
            with pytest.raises(NotFoundError):
                await theirs.threads.retrieve(thread.id)
            assert (await theirs.assistants.list()).data == []
            assert [a.id for a in (await mine.assistants.list()).data] == [asst.id]
        async with server.client("sk-wrong") as wrong:
            with pytest.raises(AuthenticationError) as refused:
                await wrong.assistants.list()
            assert refused.value.code == "invalid_api_key"
        async with aiohttp.ClientSession() as http, http.get(f"{server.url}/assistants") as r:
            assert r.status == 401
            assert "API key" in (await r.json())["error"]["message"]
        assert await server.stop() == 0
    logged = "\n".join(server.lines)
    stored = on_disk(tmp_path)
    for key in (KEY, OTHER, "sk-wrong"):
        assert key not in logged
        assert key.encode() not in stored
    lines = server.access()
    assert {(line["method"], line["path"], line["status"]) for line in lines} >= {
        ("POST", "/v1/assistants", 200),
        ("GET", f"/v1/assistants/{asst.id}", 404),
        ("GET", "/v1/assistants", 401),
    }
    for line in lines:
        assert set(line) == {"request_id", "method", "path", "status", "ms", "tenant", "remote"}
        assert line["request_id"].startswith("req_")
    tenants = {line["tenant"] for line in lines if line["status"] != 401}
    assert len(tenants) == 2
    assert all(re.fullmatch(r"key:[0-9a-f]{32}", t) for t in tenants)


# --- limits ---------------------------------------------------------------------------


async def test_an_oversized_body_is_a_413_with_the_error_envelope(tmp_path: Path) -> None:
    async with served(tmp_path / "db", "--max-body", "4000") as server:
        async with server.client() as client:
            thread = await client.threads.create()
            await client.messages.create(thread.id, role="user", content="x" * 3000)
            with pytest.raises(APIStatusError) as refused:
                await client.messages.create(thread.id, role="user", content="x" * 5000)
            assert refused.value.status_code == 413
            assert refused.value.code == "body_too_large"
            assert refused.value.request_id

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as read
            yield b'{"role": "user", "content": "'
            for _ in range(10):
                yield b"y" * 1000
            yield b'"}'

        headers = {
            "Authorization": f"Bearer {KEY}",
            "OpenAI-Beta": "assistants=v2",
            "Content-Type": "application/json",
        }
        async with (
            aiohttp.ClientSession(headers=headers) as http,
            http.post(f"{server.url}/threads/{thread.id}/messages", data=chunks()) as r,
        ):
            assert r.status == 413
            assert (await r.json())["error"]["code"] == "body_too_large"
        async with server.client() as client:
            assert len((await client.messages.list(thread.id)).data) == 1


# --- shutdown -------------------------------------------------------------------------


async def held_request(url: str, path: str, body: bytes) -> tuple[Any, Any]:
    """A POST whose headers are in and whose handler is running (the server has said
    ``100 Continue``), its body not yet sent: a request in flight, for as long as the
    test likes."""
    found = re.match(r"http://([\d.]+):(\d+)(/v1)", url)
    assert found is not None
    reader, writer = await asyncio.open_connection(found[1], int(found[2]))
    writer.write(
        f"POST {found[3]}{path} HTTP/1.1\r\nHost: {found[1]}\r\n"
        f"Authorization: Bearer {KEY}\r\nOpenAI-Beta: assistants=v2\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n".encode()
    )
    await writer.drain()
    assert (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)).startswith(b"HTTP/1.1 100")
    return reader, writer


async def test_sigterm_lets_requests_in_flight_finish_then_exits_0(tmp_path: Path) -> None:
    db = tmp_path / "db"
    async with served(db) as server:
        async with server.client() as client:
            asst = await client.assistants.create(model="gpt-4o")
        plain = json.dumps({"model": "gpt-4o", "name": "in flight"}).encode()
        reader, writer = await held_request(server.url, "/assistants", plain)
        streamed = json.dumps(
            {
                "assistant_id": asst.id,
                "stream": True,
                "thread": {"messages": [{"role": "user", "content": "Still there?"}]},
            }
        ).encode()
        s_reader, s_writer = await held_request(server.url, "/threads/runs", streamed)
        try:
            server.proc.send_signal(signal.SIGTERM)
            await server.line("stopped listening")
            port = int(server.url.rsplit(":", 1)[1].split("/")[0])
            with pytest.raises(ConnectionRefusedError):  # no new connection is taken
                await asyncio.open_connection("127.0.0.1", port)
            writer.write(plain)
            s_writer.write(streamed)
            answer = await asyncio.wait_for(reader.read(), 30)
            stream = await asyncio.wait_for(s_reader.read(), 30)
        finally:
            for w in (writer, s_writer):
                w.close()
                with contextlib.suppress(OSError):
                    await w.wait_closed()
        assert answer.startswith(b"HTTP/1.1 200"), answer
        made = json.loads(answer.split(b"\r\n\r\n", 1)[1])
        assert made["name"] == "in flight"
        assert stream.startswith(b"HTTP/1.1 200"), stream
        assert b"event: thread.run.completed" in stream
        assert b"event: done\ndata: [DONE]" in stream
        assert await asyncio.wait_for(server.proc.wait(), 30) == 0
        await server.line("stopped")
    async with served(db) as server, server.client() as client:
        assert (await client.assistants.retrieve(made["id"])).name == "in flight"


async def test_sigint_stops_it_too(tmp_path: Path) -> None:
    async with served(tmp_path / "db") as server:
        assert await server.stop(signal.SIGINT) == 0


async def test_a_second_server_on_the_same_file_is_refused_until_the_first_is_gone(
    tmp_path: Path,
) -> None:
    # Two processes on one file would both take up its runs: each run moved twice.
    db = tmp_path / "one.sqlite3"
    async with served(db) as first:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "assistants_async.server",
            "--port",
            "0",
            "--db",
            str(db),
            env={**os.environ, "ASSISTANTS_SERVER_KEYS": KEY},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), 30)
        finally:
            if proc.returncode is None:  # it started after all: the test fails, no leak
                proc.kill()
                await proc.wait()
        assert proc.returncode == 1
        assert out == b""
        assert f"{db} is served by another process" in err.decode()
        async with first.client() as client:
            await client.assistants.create(model="still served")
        first.proc.send_signal(signal.SIGKILL)  # its lock goes with it
        await first.proc.wait()
    async with served(db) as second, second.client() as client:
        assert [a.model for a in (await client.assistants.list()).data] == ["still served"]


# --- kill -9 --------------------------------------------------------------------------


def statuses(db: Path) -> dict[str, str]:
    with closing(sqlite3.connect(db)) as conn, conn:
        return dict(conn.execute("SELECT id, status FROM runs").fetchall())


async def test_kill_9_loses_nothing_acknowledged_and_leaves_no_run_moving(
    tmp_path: Path,
) -> None:
    db = tmp_path / "db"
    acked: list[tuple[str, str]] = []  # (thread id, message id), each once answered
    started: list[tuple[str, str]] = []  # (thread id, run id)
    # Runs step once a minute here: each run started below is still queued at the kill.
    async with served(db, "--timer-interval", "60") as server, server.client() as client:
        asst = await client.assistants.create(model="gpt-4o", tools=TOOLS)
        waiting = await waiting_run(client, asst.id)
        threads = [(await client.threads.create()).id for _ in range(4)]

        async def write(thread_id: str) -> None:
            with contextlib.suppress(APIConnectionError, APIStatusError):
                while True:
                    made = await client.messages.create(thread_id, role="user", content="w")
                    acked.append((thread_id, made.id))

        async def start_runs() -> None:
            with contextlib.suppress(APIConnectionError, APIStatusError):
                while True:
                    run = await client.threads.create_and_run(
                        assistant_id=asst.id,
                        thread={"messages": [{"role": "user", "content": "go"}]},
                    )
                    started.append((run.thread_id, run.id))

        tasks = [asyncio.ensure_future(write(t)) for t in threads]
        tasks.append(asyncio.ensure_future(start_runs()))
        await until(lambda: len(acked) >= 200 and len(started) >= 5)
        server.proc.send_signal(signal.SIGKILL)
        assert await server.proc.wait() == -signal.SIGKILL
        await asyncio.wait_for(asyncio.gather(*tasks), 30)
    left = statuses(db)
    assert left[waiting.id] == "requires_action"
    assert all(left[run_id] == "queued" for _, run_id in started)

    async with served(db) as server, server.client() as client:
        recovered = await server.line(r"runs taken up: (\d+) resumed, (\d+) retaken")
        assert int(recovered[1]) >= len(started)
        for thread_id in threads:
            ids = [m.id async for m in client.messages.list(thread_id, order="asc")]
            mine = [m for t, m in acked if t == thread_id]
            # Every acknowledged write, in order; at most the one in flight beside them.
            assert [m for m in ids if m in mine] == mine
            assert len(ids) - len(mine) <= 1
        # The run that waited on tool outputs takes them and completes.
        (call,) = waiting.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
        run = await client.runs.submit_tool_outputs_and_poll(
            waiting.thread_id, waiting.id, tool_outputs=[{"tool_call_id": call.id, "output": "9"}]
        )
        assert run.status == "completed"
        # Every run left queued moves on to its end.
        for thread_id, run_id in started:
            assert (await resting(client, thread_id, run_id)).status == "completed"
    assert not [s for s in statuses(db).values() if s in MOVING]


async def answer(client: AsyncClient, run: Run) -> tuple[str, str]:
    """Submit the output of the run's one open call (a text naming the run); the call's
    id and the output, once the server took them."""
    assert run.required_action is not None
    (open_call,) = run.required_action.submit_tool_outputs.tool_calls
    output = f"cold in {run.id}"
    await client.runs.submit_tool_outputs(
        run.thread_id, run.id, tool_outputs=[{"tool_call_id": open_call.id, "output": output}]
    )
    return open_call.id, output


async def test_kill_9_amid_moving_runs_and_tool_output_submits_leaves_every_run_legal(
    tmp_path: Path,
) -> None:
    db, script = tmp_path / "db", tmp_path / "script.json"
    call = {"name": "get_weather", "arguments": {"city": "Oslo"}}
    rule = {"type": "tool_calls", "calls": [call], "then": "Done: {outputs}"}
    script.write_text(json.dumps({"rules": [{"match": "weather", "reply": rule}]}))
    started: list[Run] = []
    submitted: dict[str, tuple[str, str]] = {}  # run id -> (call id, output), acknowledged
    acked: list[tuple[str, str]] = []
    options = ("--script", str(script), "--timer-interval", "0.005")
    async with served(db, *options) as server, server.client() as client:
        asst = await client.assistants.create(model="gpt-4o", tools=TOOLS)
        thread = await client.threads.create()

        async def write() -> None:
            with contextlib.suppress(APIConnectionError, APIStatusError):
                while True:
                    made = await client.messages.create(thread.id, role="user", content="w")
                    acked.append((thread.id, made.id))

        async def start_runs() -> None:
            with contextlib.suppress(APIConnectionError, APIStatusError):
                while True:
                    started.append(
                        await client.threads.create_and_run(
                            assistant_id=asst.id,
                            thread={"messages": [{"role": "user", "content": "weather?"}]},
                        )
                    )

        async def submit() -> None:
            with contextlib.suppress(APIConnectionError, APIStatusError):
                while True:
                    for run in [r for r in started if r.id not in submitted]:
                        run = await client.runs.retrieve(run.thread_id, run.id)
                        if run.status != "requires_action":
                            continue
                        submitted[run.id] = await answer(client, run)
                    await asyncio.sleep(0)

        tasks = [asyncio.ensure_future(f()) for f in (write, start_runs, submit, submit)]
        await until(lambda: len(acked) >= 50 and len(submitted) >= 10 and len(started) >= 20)
        server.proc.send_signal(signal.SIGKILL)
        assert await server.proc.wait() == -signal.SIGKILL
        await asyncio.wait_for(asyncio.gather(*tasks), 30)

    async with served(db, *options) as server, server.client() as client:
        ids = [m.id async for m in client.messages.list(thread.id, order="asc")]
        assert [m for m in ids if m in {m for _, m in acked}] == [m for _, m in acked]
        for run in started:
            run = await resting(client, run.thread_id, run.id)
            if run.id in submitted:
                # An acknowledged submit held: the run went on from it.
                assert run.status == "completed", run.status
            if run.status == "requires_action":  # never answered: it still takes outputs
                submitted[run.id] = await answer(client, run)
                run = await resting(client, run.thread_id, run.id)
            # A turn the kill cut halfway was taken again: none failed, the answer once.
            assert run.status == "completed", (run.status, run.last_error)
            steps = [s async for s in client.steps.list(run.thread_id, run.id, order="asc")]
            assert [s.status for s in steps] == ["completed", "completed"]
            # Its outputs: acknowledged, or sent as the server died (the same text).
            output = f"cold in {run.id}"
            details = steps[0].step_details
            assert isinstance(details, ToolCallsStepDetails)
            (done_call,) = details.tool_calls
            assert isinstance(done_call, FunctionToolCall)
            assert done_call.function.output == output
            if run.id in submitted:
                assert submitted[run.id] == (done_call.id, output)
            said = [m async for m in client.messages.list(run.thread_id) if m.role == "assistant"]
            assert len(said) == 1  # the answer, once
            assert isinstance(said[0].content[0], TextContentBlock)
            assert said[0].content[0].text.value == f"Done: {output}"
    # A step still in progress is the open tool step of a run waiting on outputs (one
    # started by a request the kill cut short, so never seen by the test), none other.
    waiting = {k for k, v in statuses(db).items() if v == "requires_action"}
    with closing(sqlite3.connect(db)) as conn, conn:
        left = [json.loads(obj) for (obj,) in conn.execute("SELECT obj FROM steps")]
    open_steps = [s for s in left if s["status"] == "in_progress"]
    assert all(s["run_id"] in waiting and s["type"] == "tool_calls" for s in open_steps)
    assert len(open_steps) == len(waiting)
    assert not [s for s in statuses(db).values() if s in MOVING]


async def test_kill_9_mid_answer_from_a_model_takes_the_turn_again(tmp_path: Path) -> None:
    db = tmp_path / "db"
    double = ChatDouble()
    await double.start()
    try:
        # The first answer stops coming after a few chunks: the kill lands mid-answer.
        double.answer(Say("Half an answer that never ends", stall_after=4))
        options = ("--model-base-url", double.url, "--timer-interval", "0.005")
        async with served(db, *options) as server, server.client() as client:
            asst = await client.assistants.create(model="gpt-4o")
            thread = await client.threads.create(messages=[{"role": "user", "content": "Hi"}])
            run = await client.runs.create(thread.id, assistant_id=asst.id)

            async def begun() -> bool:
                said = [m async for m in client.messages.list(thread.id) if m.role == "assistant"]
                return bool(said)

            await until(begun)  # the message is made at the first token
            server.proc.send_signal(signal.SIGKILL)
            assert await server.proc.wait() == -signal.SIGKILL
        assert statuses(db)[run.id] == "in_progress"

        double.answer(Say("The whole answer."))
        async with served(db, *options) as server, server.client() as client:
            await server.line(r"runs taken up: 0 resumed, 1 retaken, 0 expired, 0 waiting")
            done = await resting(client, thread.id, run.id)
            assert done.status == "completed", (done.status, done.last_error)
            said = [m async for m in client.messages.list(thread.id) if m.role == "assistant"]
            assert len(said) == 1  # the cut answer is gone, the new one is there once
            assert isinstance(said[0].content[0], TextContentBlock)
            assert said[0].content[0].text.value == "The whole answer."
            steps = [s async for s in client.steps.list(thread.id, run.id)]
            assert [s.status for s in steps] == ["completed"]
            assert done.usage is not None
            assert steps[0].usage is not None
            assert done.usage.total_tokens == steps[0].usage.total_tokens  # counted once
        # Asked again just as it was asked the first time.
        first, second = double.received
        assert second["messages"] == first["messages"]
    finally:
        await double.stop()


async def test_expiry_is_enforced_at_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "db"
    async with served(db, "--run-ttl", "3") as server:  # room for a loaded machine
        async with server.client() as client:
            asst = await client.assistants.create(model="gpt-4o", tools=TOOLS)
            waiting = await waiting_run(client, asst.id)
        server.proc.send_signal(signal.SIGKILL)
        await server.proc.wait()
    assert waiting.expires_at is not None
    # The clock, not a guess: wait until the run's time is up.
    await until(lambda: time.time() >= waiting.expires_at + 1)  # type: ignore[operator]
    async with served(db) as server:
        await server.line(r"runs taken up: 0 resumed, 0 retaken, 1 expired, 0 waiting")
        # Expired by the start itself, before anyone read it.
        assert statuses(db)[waiting.id] == "expired"
        async with server.client() as client:
            run = await client.runs.retrieve(waiting.thread_id, waiting.id)
            assert run.status == "expired"


async def test_past_the_grace_period_what_is_left_is_stopped(tmp_path: Path) -> None:
    async with served(tmp_path / "db", "--grace", "0.2") as server:
        body = json.dumps({"model": "gpt-4o"}).encode()
        reader, writer = await held_request(server.url, "/assistants", body)
        try:
            server.proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(server.proc.wait(), 30) == 0
            assert await asyncio.wait_for(reader.read(), 30) == b""  # closed, unanswered
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        await server.line(r'"path":"/v1/assistants","status":499')
        await server.line("stopped$")


# --- what the README says -------------------------------------------------------------

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_section() -> str:
    text = README.read_text(encoding="utf-8")
    return text.split("## Running the server\n", 1)[1].split("\n## ", 1)[0]


def test_the_readme_names_only_options_the_command_has() -> None:
    section = readme_section()
    known = {o for action in build_parser()._actions for o in action.option_strings}
    named = set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", section))
    assert named, "the section names the options it describes"
    assert named <= known, named - known
    assert "python -m assistants_async.server" in section
    assert "ASSISTANTS_SERVER_KEYS" in section


async def test_the_readme_commands_start_a_server_that_keeps_tenants_apart(
    tmp_path: Path,
) -> None:
    # The section's first block: starting on SQLite (the others: the control plane, in
    # test_control.py; PostgreSQL; a model).
    block = re.findall(r"```sh\n(.*?)```", readme_section(), re.S)[0]
    lines = [line for line in block.splitlines() if line and not line.startswith("#")]
    install, *commands = lines
    assert install == "pip install 'assistants-async[server]'"  # the extra pyproject has
    said = re.search(r"^# (.*)$", block, re.M)
    assert said is not None
    # What it prints, as the README shows it: the address and the file in the cwd.
    shown = re.escape(said.group(1)).replace("8080", r"(\d+)")
    shown = shown.replace(re.escape("/srv/app"), re.escape(str(tmp_path)))
    shown = shown.replace(re.escape("; ...)"), ";.*\\)")
    script = "\n".join(commands)
    assert "--port 8080" in script
    script = script.replace("--port 8080", "--port 0").replace(
        "python -m", f"exec {sys.executable} -m"
    )
    env = {k: v for k, v in os.environ.items() if k != "ASSISTANTS_SERVER_KEYS"}
    proc = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        script,
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None
        banner = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode().strip()
        found = re.fullmatch(shown, banner)
        assert found is not None, (shown, banner)
        url = f"http://127.0.0.1:{found.group(1)}/v1"
        keys = re.search(r'ASSISTANTS_SERVER_KEYS="([^"]+)"', script)
        assert keys is not None
        team_a, team_b = keys.group(1).split(",")
        async with (
            AsyncClient(api_key=team_a, base_url=url, trust_env=False) as a,
            AsyncClient(api_key=team_b, base_url=url, trust_env=False) as b,
        ):
            made = await a.assistants.create(model="gpt-4o")
            assert [x.id for x in (await a.assistants.list()).data] == [made.id]
            assert (await b.assistants.list()).data == []
        assert (tmp_path / "assistants.sqlite3").exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 60) == 0


def backup(source: Path, target: Path) -> None:
    with (
        closing(sqlite3.connect(source)) as live,
        closing(sqlite3.connect(target)) as copy,
    ):
        live.backup(copy)


async def test_a_backup_taken_while_serving_serves_on_its_own(tmp_path: Path) -> None:
    db, copy = tmp_path / "live.sqlite3", tmp_path / "copy.sqlite3"
    async with served(db) as server, server.client() as client:
        asst = await client.assistants.create(model="gpt-4o", name="Backed up")
        await asyncio.to_thread(backup, db, copy)
        await client.assistants.create(model="gpt-4o", name="After the backup")
    async with served(copy) as server, server.client() as client:
        assert [a.name for a in (await client.assistants.list()).data] == ["Backed up"]
        assert (await client.assistants.retrieve(asst.id)).name == "Backed up"


# --- on PostgreSQL --------------------------------------------------------------------


async def test_on_postgres_what_was_acknowledged_survives_kill_9(postgres_url: str) -> None:
    # A password in the URL (the test server trusts 127.0.0.1) is never shown.
    url = postgres_url.replace("postgres@", "postgres:s3cret@")
    headers = {"Idempotency-Key": "pg-once"}
    async with served(url) as server:
        assert "(data: postgresql://postgres:***@127.0.0.1:" in server.banner
        async with server.client() as client:
            asst = await client.assistants.create(model="gpt-4o", extra_headers=headers)
            thread = await client.threads.create(
                messages=[{"role": "user", "content": "Remember me"}]
            )
            run = await client.runs.create_and_poll(thread.id, assistant_id=asst.id)
            assert run.status == "completed"
            waiting = await waiting_run(client, asst.id)
        server.proc.send_signal(signal.SIGKILL)
        assert await server.proc.wait() == -signal.SIGKILL
        assert not any("s3cret" in line for line in server.lines)
    async with served(url) as server, server.client() as client:
        again = await client.with_raw_response(
            client.assistants.create, model="gpt-4o", extra_headers=headers
        )
        assert (again.headers["idempotent-replayed"], again.parsed.id) == ("true", asst.id)
        texts = [
            m.content[0].text.value  # type: ignore[union-attr]
            async for m in client.messages.list(thread.id, order="asc")
        ]
        assert texts == ["Remember me", "Remember me"]
        assert (await client.runs.retrieve(thread.id, run.id)).status == "completed"
        (call,) = waiting.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
        done = await client.runs.submit_tool_outputs_and_poll(
            waiting.thread_id, waiting.id, tool_outputs=[{"tool_call_id": call.id, "output": "9"}]
        )
        assert done.status == "completed"


async def test_two_processes_on_one_postgres_share_objects_keys_and_the_active_run_rule(
    postgres_url: str,
) -> None:
    headers = {"Idempotency-Key": "made-once"}
    async with (
        served(postgres_url) as one,
        served(postgres_url) as two,
        one.client() as a,
        two.client() as b,
    ):
        asst = await a.assistants.create(model="gpt-4o", tools=TOOLS, extra_headers=headers)
        again = await b.with_raw_response(
            b.assistants.create, model="gpt-4o", tools=TOOLS, extra_headers=headers
        )
        assert (again.headers["idempotent-replayed"], again.parsed.id) == ("true", asst.id)
        waiting = await waiting_run(a, asst.id)
        # The other process sees the run, and the database refuses a second active one.
        assert (await b.runs.retrieve(waiting.thread_id, waiting.id)).status == ("requires_action")
        with pytest.raises(BadRequestError, match="already has an active run"):
            await b.runs.create(waiting.thread_id, assistant_id=asst.id)
        # Its tool outputs, taken by the other process, finish it there.
        (call,) = waiting.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
        done = await b.runs.submit_tool_outputs_and_poll(
            waiting.thread_id, waiting.id, tool_outputs=[{"tool_call_id": call.id, "output": "9"}]
        )
        assert done.status == "completed"
        assert (await a.runs.retrieve(waiting.thread_id, waiting.id)).status == "completed"
        # A list written through both processes reads the same through either.
        for n in range(10):
            await (a if n % 2 else b).messages.create(
                waiting.thread_id, role="user", content=f"{n}"
            )
        listed_a = [m.id async for m in a.messages.list(waiting.thread_id, limit=3)]
        listed_b = [m.id async for m in b.messages.list(waiting.thread_id, limit=4)]
        assert listed_a == listed_b
        assert len(listed_a) == len(set(listed_a)) == 12  # the question, the answer, 10


async def lease_owners(url: str, run_ids: list[str]) -> set[str | None]:
    db = await asyncpg.connect(url)
    try:
        rows = await db.fetch("SELECT lease_owner FROM runs WHERE id = ANY($1)", run_ids)
    finally:
        await db.close()
    return {row[0] for row in rows}


async def test_runs_of_a_killed_process_are_finished_by_another(postgres_url: str) -> None:
    # The first process steps its runs once a minute: they stay queued while it lives.
    async with served(postgres_url, "--timer-interval", "60", "--lease", "2") as one:
        async with one.client() as a:
            asst = await a.assistants.create(model="gpt-4o")
            started = [
                await a.threads.create_and_run(
                    assistant_id=asst.id, thread={"messages": [{"role": "user", "content": "go"}]}
                )
                for _ in range(5)
            ]
        ids = [r.id for r in started]
        # Each claimed by the process that started it, in the database.
        (holder,) = await until(lambda: one_owner(postgres_url, ids))
        # A process started now takes none of them up: their holder is alive.
        async with served(postgres_url, "--lease", "2") as two, two.client() as b:
            taken = await two.line(r"runs taken up: (\d+) resumed")
            assert taken[1] == "0"
            assert {(await b.runs.retrieve(r.thread_id, r.id)).status for r in started} == {
                "queued"
            }
            assert await lease_owners(postgres_url, ids) == {holder}
            one.proc.send_signal(signal.SIGKILL)
            assert await one.proc.wait() == -signal.SIGKILL
            # Once the leases lapse, the other process claims the runs and finishes them,
            # each once: one answer per run.
            for r in started:
                assert (await resting(b, r.thread_id, r.id)).status == "completed"
                roles = [m.role async for m in b.messages.list(r.thread_id)]
                assert roles == ["assistant", "user"]
            await two.line(r"runs taken over from stopped processes: \d+ resumed")
            assert holder not in await lease_owners(postgres_url, ids)


async def one_owner(url: str, run_ids: list[str]) -> tuple[str] | None:
    """The one process holding every run, once they all have the same one."""
    owners = await lease_owners(url, run_ids)
    if len(owners) == 1 and None not in owners:
        return (str(next(iter(owners))),)
    return None


@pytest.mark.slow
async def test_three_processes_run_a_thousand_runs_each_once(postgres_url: str) -> None:
    async with (
        served(postgres_url) as one,
        served(postgres_url) as two,
        served(postgres_url) as three,
        one.client() as a,
        two.client() as b,
        three.client() as c,
    ):
        clients = [a, b, c]
        asst = await a.assistants.create(model="gpt-4o")
        gate = asyncio.Semaphore(60)  # requests in flight at once, spread round robin

        async def start(n: int) -> Run:
            async with gate:
                return await clients[n % 3].threads.create_and_run(
                    assistant_id=asst.id,
                    thread={"messages": [{"role": "user", "content": f"run {n}"}]},
                )

        started = await asyncio.gather(*(start(n) for n in range(1000)))
        ids = [r.id for r in started]
        db = await asyncpg.connect(postgres_url)
        try:

            async def all_at_rest() -> bool:
                moving = await db.fetchval(
                    "SELECT count(*) FROM runs WHERE id = ANY($1)"
                    " AND status IN ('queued', 'in_progress', 'cancelling')",
                    ids,
                )
                return bool(moving == 0)

            await until(all_at_rest, timeout=120)
            statuses = await db.fetch(
                "SELECT status, count(*) FROM runs WHERE id = ANY($1) GROUP BY status", ids
            )
            assert {row[0]: row[1] for row in statuses} == {"completed": 1000}
            # Each turn was asked for once: one answer per run, none twice.
            answers = await db.fetch(
                "SELECT run_id, count(*) FROM messages WHERE run_id = ANY($1) GROUP BY run_id",
                ids,
            )
            assert len(answers) == 1000
            assert {row[1] for row in answers} == {1}
        finally:
            await db.close()


# --- idempotency keys across processes ------------------------------------------------


async def test_one_key_sent_to_two_processes_at_once_runs_once(postgres_url: str) -> None:
    async with (
        served(postgres_url) as one,
        served(postgres_url) as two,
        one.client() as a,
        two.client() as b,
    ):
        thread = await a.threads.create()

        async def twice(n: int) -> list[Any]:
            # The same request, with its key, to both processes at the same moment.
            headers = {"Idempotency-Key": f"once-{n}"}
            return list(
                await asyncio.gather(
                    *(
                        client.with_raw_response(
                            client.messages.create,
                            thread.id,
                            role="user",
                            content=f"message {n}",
                            extra_headers=headers,
                        )
                        for client in (a, b)
                    )
                )
            )

        pairs = await asyncio.gather(*(twice(n) for n in range(40)))
        for first, second in pairs:
            # One ran; the other waited for its answer and gave the same.
            assert first.parsed.id == second.parsed.id
            replayed = [r.headers.get("idempotent-replayed") for r in (first, second)]
            assert replayed.count("true") == 1
        listed = [m.id async for m in a.messages.list(thread.id, limit=100)]
        assert len(listed) == len(set(listed)) == 40


async def test_a_key_claimed_by_a_dead_process_is_taken_once_its_claim_lapses(
    postgres_url: str,
) -> None:
    async with served(postgres_url, "--lease", "1") as one, one.client() as a:
        thread = await a.threads.create()
        # A process claimed the key, then died: nobody renews its claim.
        store = PostgresStore(postgres_url)
        await store.open()
        try:
            dead = Claim("dead-process-1", "its request", time.time() + 3600)
            tenant = tenant_of_key(KEY)
            assert (
                await store.claim_reply(tenant, "orphan", dead, now=time.time(), lease=1.0) is None
            )
        finally:
            await store.close()
        made = await a.with_raw_response(
            a.messages.create,
            thread.id,
            role="user",
            content="after the claim lapsed",
            extra_headers={"Idempotency-Key": "orphan"},
        )
        assert made.headers.get("idempotent-replayed") is None
        again = await a.with_raw_response(
            a.messages.create,
            thread.id,
            role="user",
            content="after the claim lapsed",
            extra_headers={"Idempotency-Key": "orphan"},
        )
        assert (again.headers["idempotent-replayed"], again.parsed.id) == ("true", made.parsed.id)
        assert len([m async for m in a.messages.list(thread.id)]) == 1
