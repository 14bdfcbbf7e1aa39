"""The server's control plane (``--control``), driven over HTTP as a suite in another
language drives it: off unless asked for, the fake's protocol when on, and a reset that
deletes the rows of the database while the server goes on serving.

Every wait is for an event (a line printed, a response, an exit); none is a fixed sleep.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import re
import shlex
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from assistants_async import AsyncClient, NotFoundError
from assistants_async.models import Run
from assistants_async.server import __main__ as server_command
from assistants_async.server._cli import is_loopback
from assistants_async.server._control import CONTROL_PREFIX, PROTOCOL
from assistants_async.server._keys import Keys
from assistants_async.server._responders import Reply, RunContext, Streamed, echo
from assistants_async.server._serve import AssistantsServer
from assistants_async.server._sqlite import SQLiteStore
from assistants_async.testing import FakeAssistantsServer
from assistants_async.testing import __main__ as fake_command

from ..cli import cli_server
from ..test_readme import CURL
from .test_serve import (
    KEY,
    OTHER,
    TOOLS,
    readme_section,
    resting,
    served,
    until,
    waiting_run,
)

BETA = {"OpenAI-Beta": "assistants=v2"}
TABLES = ("assistants", "threads", "messages", "runs", "steps", "replies")


async def call(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    body: Any = None,
    key: str | None = None,
) -> tuple[int, Any]:
    headers = {**BETA, **({"Authorization": f"Bearer {key}"} if key else {})}
    async with http.request(method, url, json=body, headers=headers) as response:
        return response.status, await response.json()


def rows(db: Path) -> dict[str, int]:
    """How many rows each table of the server's file holds (read beside the server)."""
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def open_call(run: Run) -> str:
    assert run.required_action is not None
    return run.required_action.submit_tool_outputs.tool_calls[0].id


# --- off unless asked for -------------------------------------------------------------


async def test_without_control_the_prefix_is_an_unknown_path(tmp_path: Path) -> None:
    async with served(tmp_path / "db") as server, aiohttp.ClientSession() as http:
        root = server.url.removesuffix("/v1")
        assert "control plane" not in server.banner
        for key in (KEY, None):
            _, unknown = await call(http, "POST", f"{root}/nothing/reset", {}, key)
            for method, path in [("GET", "/"), *PROTOCOL]:
                status, answer = await call(http, method, root + CONTROL_PREFIX + path, {}, key)
                assert status == (404 if key else 401), (method, path, answer)
                assert set(answer) == {"error"}
                assert answer["error"]["type"] == unknown["error"]["type"]
        async with server.client() as client:
            asst = await client.assistants.create(model="m")
            await call(http, "POST", f"{root}{CONTROL_PREFIX}/reset", {}, KEY)
            assert (await client.assistants.retrieve(asst.id)).id == asst.id
    assert not any("control plane" in line for line in server.lines)


# --- what the command refuses ---------------------------------------------------------


def test_loopback_is_an_address_of_this_machine_only() -> None:
    for host in ("127.0.0.1", "127.0.0.9", "::1", "[::1]", "localhost", "LOCALHOST"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "::", "10.1.2.3", "192.168.0.4", "db.internal", ""):
        assert not is_loopback(host), host


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--control", "--host", "0.0.0.0"], "--allow-remote-control"),
        (["--control", "--host", "10.1.2.3"], "delete every tenant's data"),
        (["--allow-remote-control"], "goes with --control"),
    ],
)
def test_control_off_loopback_needs_the_extra_flag(
    argv: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        server_command.main(argv)
    assert exited.value.code == 2
    assert words in capsys.readouterr().err


Parser = Callable[[], argparse.ArgumentParser]
PARSERS = [server_command.build_parser, fake_command.build_parser]
SHARED = ("--host", "--port", "--script", "--run-ttl", "--timer-interval", "--poll-after-ms")


@pytest.mark.parametrize("parser", PARSERS, ids=["server", "fake"])
@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--port", "70000"], "argument --port: a port is 0 to 65535, not 70000"),
        (["--port", "x"], "argument --port: a whole number, not 'x'"),
        (["--run-ttl", "0"], "argument --run-ttl: at least 1, not 0"),
        (["--poll-after-ms", "-1"], "argument --poll-after-ms: at least 0, not -1"),
        (["--timer-interval", "nan"], "argument --timer-interval: a number of seconds above 0"),
        (["--timer-interval", "0"], "argument --timer-interval: a number of seconds above 0"),
    ],
)
def test_both_commands_check_their_shared_options_alike(
    parser: Parser, argv: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        parser().parse_args(argv)
    assert exited.value.code == 2
    assert words in capsys.readouterr().err


def test_both_commands_say_the_same_of_their_shared_options() -> None:
    def helps(parser: argparse.ArgumentParser) -> dict[str, str | None]:
        return {o: a.help for a in parser._actions for o in a.option_strings if o in SHARED}

    server, fake = (helps(make()) for make in PARSERS)
    assert set(server) == set(SHARED)
    # The same words but for the default of --timer-interval.
    assert {k: v for k, v in server.items() if k != "--timer-interval"} == {
        k: v for k, v in fake.items() if k != "--timer-interval"
    }


# --- on: the fake's protocol ----------------------------------------------------------


@contextlib.asynccontextmanager
async def either(kind: str, tmp_path: Path) -> AsyncIterator[str]:
    """The root URL of the server (``--control``) or of the fake, both on loopback."""
    if kind == "server":
        async with served(tmp_path / "db", "--control") as server:
            yield server.url.removesuffix("/v1")
    else:
        async with cli_server() as root:
            yield root


@pytest.mark.parametrize("kind", ["server", "fake"])
async def test_one_suite_drives_either_server(kind: str, tmp_path: Path) -> None:
    """What a suite in another language does, the same calls to both servers."""
    async with either(kind, tmp_path) as root, aiohttp.ClientSession() as http:
        plane, api = root + CONTROL_PREFIX, root + "/v1"
        assert await call(http, "GET", f"{plane}/health") == (200, {"status": "ok"})
        script = {"replies": [{"type": "text", "text": "Scripted."}]}
        assert await call(http, "POST", f"{plane}/script", script) == (200, {"scripted": 1})
        assert await call(http, "DELETE", f"{plane}/requests") == (200, {"cleared": True})

        status, asst = await call(http, "POST", f"{api}/assistants", {"model": "m"}, KEY)
        assert status == 200
        body = {
            "assistant_id": asst["id"],
            "thread": {"messages": [{"role": "user", "content": "Hi"}]},
        }
        status, run = await call(http, "POST", f"{api}/threads/runs", body, KEY)
        assert status == 200
        thread = run["thread_id"]

        async def completed() -> bool:
            _, now = await call(http, "GET", f"{api}/threads/{thread}/runs/{run['id']}", key=KEY)
            return bool(now["status"] == "completed")

        await until(completed)
        _, page = await call(http, "GET", f"{api}/threads/{thread}/messages?order=asc", key=KEY)
        assert [m["content"][0]["text"]["value"] for m in page["data"]] == ["Hi", "Scripted."]

        _, log = await call(http, "GET", f"{plane}/requests")
        operations = [entry["operation"] for entry in log["data"]]
        assert operations[:2] == ["createAssistant", "createThreadAndRun"]
        assert all(e["path"].startswith("/v1/") for e in log["data"])  # not the plane's own
        assert log["data"][0]["body"] == {"model": "m"}
        assert log["data"][0]["headers"]["Authorization"] == "Bearer ***"
        assert KEY not in json.dumps(log)

        status, refused = await call(http, "POST", f"{plane}/script", {"replies": [{"type": "x"}]})
        assert (status, refused["error"]["type"]) == (400, "control_error")
        assert "unknown reply type" in refused["error"]["message"]

        assert await call(http, "POST", f"{plane}/reset") == (200, {"reset": True})
        status, gone = await call(http, "GET", f"{api}/assistants/{asst['id']}", key=KEY)
        assert status == 404
        assert "No assistant found" in gone["error"]["message"]
        status, index = await call(http, "GET", f"{plane}/")
        assert "POST /__fake__/reset" in index["endpoints"]
        assert "GET /__fake__/health" in index["endpoints"]


async def test_the_server_says_what_it_leaves_out_and_warns_at_start(tmp_path: Path) -> None:
    async with (
        served(tmp_path / "db", "--control") as server,
        aiohttp.ClientSession() as http,
    ):
        plane = server.url.removesuffix("/v1") + CONTROL_PREFIX
        assert f"control plane: {plane}/" in server.banner
        await server.line(r"WARNING .*control plane is on at .*delete every tenant's data")
        _, index = await call(http, "GET", f"{plane}/")
        assert set(index["not_offered"]) == {
            f"{CONTROL_PREFIX}/{p}" for p in ("faults", "clock", "progress")
        }
        for method, path, words in [
            ("POST", "faults", "fake server"),
            ("DELETE", "faults", "fake server"),
            ("POST", "clock", "wall-clock"),
            ("PUT", "progress", "timers"),
        ]:
            status, answer = await call(http, method, f"{plane}/{path}", {"advance": 1})
            assert status == 404
            assert answer["error"]["type"] == "control_error"
            assert words in answer["error"]["message"]
        # Requests refused at the key (or the beta header) are not kept: no stranger
        # fills the log.
        await call(http, "GET", f"{server.url}/assistants", key="sk-stranger")
        auth = {"Authorization": f"Bearer {KEY}"}
        async with http.get(f"{server.url}/assistants", headers=auth) as refused:
            assert refused.status == 400
        _, log = await call(http, "GET", f"{plane}/requests")
        assert log["data"] == []
        status, answer = await call(http, "GET", f"{plane}/nothing")
        assert (status, answer["error"]["type"]) == (404, "invalid_request_error")


# --- reset deletes the rows -----------------------------------------------------------


async def test_a_reset_deletes_every_row_and_the_server_serves_on(tmp_path: Path) -> None:
    db = tmp_path / "data.sqlite3"
    async with (
        served(db, "--control") as server,
        aiohttp.ClientSession() as http,
        server.client() as client,
        server.client(OTHER) as other,
    ):
        plane = server.url.removesuffix("/v1") + CONTROL_PREFIX
        made: dict[int, Any] = {}
        for each in (client, other):
            asst = await each.assistants.create(model="m", tools=TOOLS)
            thread = await each.threads.create(messages=[{"role": "user", "content": "Hi"}])
            done = await resting(
                each, thread.id, (await each.runs.create(thread.id, assistant_id=asst.id)).id
            )
            assert done.status == "completed"
            waiting = await waiting_run(each, asst.id)  # an active run, holding its thread
            kept = await each.assistants.create(
                model="m", extra_headers={"Idempotency-Key": "once"}
            )
            made[id(each)] = (asst, thread, done, waiting, kept)
        before = rows(db)
        assert all(before[t] for t in TABLES), before

        assert await call(http, "POST", f"{plane}/reset") == (200, {"reset": True})
        assert rows(db) == dict.fromkeys(TABLES, 0)

        for each in (client, other):
            asst, thread, done, waiting, kept = made[id(each)]
            for lookup in (
                each.assistants.retrieve(asst.id),
                each.threads.retrieve(thread.id),
                each.messages.list(thread.id),
                each.runs.retrieve(thread.id, done.id),
                each.steps.list(thread.id, done.id),
                each.runs.submit_tool_outputs(
                    waiting.thread_id,
                    waiting.id,
                    tool_outputs=[{"tool_call_id": open_call(waiting), "output": "x"}],
                ),
            ):
                with pytest.raises(NotFoundError):
                    await lookup
            assert (await each.assistants.list()).data == []
            # The idempotency key is forgotten: used again, it makes a new assistant.
            again = await each.assistants.create(
                model="m", extra_headers={"Idempotency-Key": "once"}
            )
            assert again.id != kept.id

        # It serves on: a new thread, a run to its end, the request that reset logged nowhere.
        thread = await client.threads.create(messages=[{"role": "user", "content": "After"}])
        asst = await client.assistants.create(model="m")
        run = await resting(
            client, thread.id, (await client.runs.create(thread.id, assistant_id=asst.id)).id
        )
        assert run.status == "completed"
        # The access log keeps the reset (and the warning says what it did).
        await server.line(r'"method":"POST","path":"/__fake__/reset","status":200')
        await server.line("reset: deleting every tenant's data")


async def test_a_reset_in_the_middle_of_a_turn_leaves_nothing_of_that_run(tmp_path: Path) -> None:
    """In process, with a responder that holds the first run in the middle of its turn
    until after the reset: nothing of that run comes back, and runs go on."""
    turn_begun, release = asyncio.Event(), asyncio.Event()

    async def held(ctx: RunContext) -> Reply | Streamed:
        if not release.is_set():
            turn_begun.set()
            await release.wait()  # the reset cancels it first
        return await echo()(ctx)

    db = tmp_path / "held.sqlite3"
    store = SQLiteStore(db)
    await store.open()
    server = AssistantsServer(store, Keys([KEY]), responder=held, control=True)
    url = await server.start()
    try:
        async with (
            AsyncClient(api_key=KEY, base_url=url, trust_env=False, max_retries=0) as client,
            aiohttp.ClientSession() as http,
        ):
            asst = await client.assistants.create(model="m")
            moving = await client.threads.create_and_run(assistant_id=asst.id)
            await asyncio.wait_for(turn_begun.wait(), 30)
            assert (await client.runs.retrieve(moving.thread_id, moving.id)).status == "in_progress"
            plane = url.removesuffix("/v1") + CONTROL_PREFIX
            assert await call(http, "POST", f"{plane}/reset") == (200, {"reset": True})
            release.set()
            assert await store.active_runs() == []
            assert rows(db) == dict.fromkeys(TABLES, 0)
            # A new run goes to its end; the old one is nowhere.
            asst = await client.assistants.create(model="m")
            run = await client.threads.create_and_run_poll(assistant_id=asst.id)
            assert run.status == "completed"
            with pytest.raises(NotFoundError):
                await client.runs.retrieve(moving.thread_id, moving.id)
            assert rows(db)["runs"] == 1
    finally:
        await server.stop()
        await store.close()


async def test_a_body_too_large_for_the_control_plane_is_a_413_in_json() -> None:
    async with FakeAssistantsServer() as fake, aiohttp.ClientSession() as http:
        plane = (fake.url or "").removesuffix("/v1") + CONTROL_PREFIX
        huge = {"replies": [{"type": "text", "text": "x" * 2_000_000}]}
        sent = io.BytesIO(json.dumps(huge).encode())  # raw bytes this large: a warning
        async with http.post(f"{plane}/script", data=sent) as response:
            status, answer = response.status, await response.json()
        assert status == 413
        assert answer["error"]["type"] == "control_error"
        assert len(fake.script) == 0
        assert await call(http, "GET", f"{plane}/health") == (200, {"status": "ok"})


async def test_the_readme_control_plane_commands_work(tmp_path: Path) -> None:
    """The section's sh block: the command's options exist, and each curl line, sent as
    written, gets a 200 from the server started with them."""
    section = readme_section()
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    block = next(b for b in blocks if "$F/reset" in b)
    command, *_ = [line for line in block.splitlines() if "assistants_async.server" in line]
    options = shlex.split(command)[3:]
    assert "--control" in options
    known = {o for a in server_command.build_parser()._actions for o in a.option_strings}
    assert {o for o in options if o.startswith("--")} <= known
    calls = [
        (m["method"] or ("POST" if m["body"] else "GET"), m["path"], m["body"])
        for m in CURL.finditer(block)
    ]
    assert {path for _, path, _ in calls} == {"script", "health", "reset"}
    async with served(tmp_path / "db", "--control") as server, aiohttp.ClientSession() as http:
        for method, path, body in calls:
            url = server.url.removesuffix("/v1") + f"{CONTROL_PREFIX}/{path}"
            status, _ = await call(http, method, url, json.loads(body) if body else None)
            assert status == 200, (method, path)
