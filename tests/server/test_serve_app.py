"""The server's parts in this process (``test_serve.py`` runs the command itself): its
keys, what comes in front of the handlers, its sweeps and the command's refusals."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from assistants_async import AsyncClient, StreamError
from assistants_async._check import run_checks
from assistants_async.server import __main__ as command
from assistants_async.server._cli import load_script
from assistants_async.server._keys import ENV_VAR, Keys, load_keys, tenant_of_key
from assistants_async.server._memory import MemoryStore
from assistants_async.server._postgres import PostgresStore
from assistants_async.server._responders import TextDelta, echo
from assistants_async.server._script import Script
from assistants_async.server._serve import ACCESS_LOG, AssistantsServer
from assistants_async.server._sqlite import SQLiteStore
from assistants_async.server._store import Store
from assistants_async.testing import FakeClock

from .postgres import Cluster

KEY = "sk-app-alpha"
OTHER = "sk-app-beta"
TOOLS = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
FORCED = {"type": "function", "function": {"name": "f"}}


# --- keys -----------------------------------------------------------------------------


def test_a_tenant_is_a_stable_digest_of_its_key() -> None:
    # The database holds these: a change here would orphan every tenant's data.
    assert tenant_of_key("sk-test") == "key:f94953f5240fb542a070bcb4011599ee"
    assert tenant_of_key("sk-test") != tenant_of_key("sk-tesT")
    keys = Keys(["sk-test", "sk-other"])
    assert keys.tenant("sk-test") == tenant_of_key("sk-test")
    assert keys.tenant("sk-tes") is None
    assert keys.tenant("") is None
    assert len(keys) == 2


def test_keys_come_from_a_file_and_the_environment(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys"
    keys_file.write_text("# ops\nsk-one\n\n  sk-two  \n", encoding="utf-8")
    keys = load_keys(keys_file, {ENV_VAR: "sk-three, sk-four sk-five"})
    assert len(keys) == 5
    for key in ("sk-one", "sk-two", "sk-three", "sk-four", "sk-five"):
        assert keys.tenant(key) == tenant_of_key(key)
    assert len(load_keys(None, {ENV_VAR: "sk-only"})) == 1
    with pytest.raises(ValueError, match="no API keys"):
        load_keys(None, {})
    with pytest.raises(ValueError, match="printable ASCII"):
        load_keys(None, {ENV_VAR: "sk-caf\u00e9"})
    with pytest.raises(ValueError, match="no API keys"):
        Keys([])


# --- the app, served here -------------------------------------------------------------


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[AssistantsServer]:
    async with serving(SQLiteStore(tmp_path / "app.sqlite3")) as made:
        yield made


@pytest.fixture
async def postgres_server(postgres_url: str) -> AsyncIterator[AssistantsServer]:
    async with serving(PostgresStore(postgres_url)) as made:
        yield made


@contextlib.asynccontextmanager
async def serving(store: Store, responder: Any = None) -> AsyncIterator[AssistantsServer]:
    await store.open()
    made = AssistantsServer(
        store,
        Keys([KEY, OTHER]),
        responder=responder or echo(),
        max_body=4000,
        clock=FakeClock(),
    )
    await made.start()
    try:
        yield made
    finally:
        await made.stop()
        await store.close()


def client(server: AssistantsServer, key: str = KEY) -> AsyncClient:
    assert server.url is not None
    return AsyncClient(api_key=key, base_url=server.url, trust_env=False, max_retries=0)


@pytest.fixture
def access_lines() -> Iterator[list[dict[str, Any]]]:
    lines: list[dict[str, Any]] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(record.getMessage()))

    handler = Keep()
    level = ACCESS_LOG.level
    ACCESS_LOG.addHandler(handler)
    ACCESS_LOG.setLevel(logging.INFO)
    try:
        yield lines
    finally:
        ACCESS_LOG.removeHandler(handler)
        ACCESS_LOG.setLevel(level)


async def raw(
    server: AssistantsServer, method: str, path: str, **kwargs: Any
) -> tuple[int, Any, Any]:
    headers = {
        "Authorization": f"Bearer {KEY}",
        "OpenAI-Beta": "assistants=v2",
        **kwargs.pop("headers", {}),
    }
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, f"{server.url}{path}", headers=headers, **kwargs) as response,
    ):
        body = await response.read()
        try:
            parsed: Any = json.loads(body)
        except ValueError:
            parsed = body
        return response.status, response.headers, parsed


async def test_the_api_key_header_of_gateways_is_read_too(server: AssistantsServer) -> None:
    status, _, _ = await raw(server, "GET", "/assistants", headers={"api-key": KEY})
    # The bearer header wins when both are there; alone, api-key is read.
    assert status == 200
    async with aiohttp.ClientSession(headers={"OpenAI-Beta": "assistants=v2"}) as http:
        async with http.get(f"{server.url}/assistants", headers={"api-key": OTHER}) as r:
            assert r.status == 200
        async with http.get(f"{server.url}/assistants", headers={"api-key": "no"}) as r:
            assert r.status == 401


async def test_unknown_paths_and_methods_get_the_error_envelope(
    server: AssistantsServer, access_lines: list[dict[str, Any]]
) -> None:
    status, headers, body = await raw(server, "GET", "/nowhere")
    assert status == 404
    assert body["error"]["message"] == "Invalid URL (GET /v1/nowhere)"
    assert headers["x-request-id"].startswith("req_")
    status, _, body = await raw(server, "PUT", "/assistants")
    assert status == 405
    assert "not allowed" in body["error"]["message"]
    assert [(line["path"], line["status"]) for line in access_lines] == [
        ("/v1/nowhere", 404),
        ("/v1/assistants", 405),
    ]
    assert access_lines[0]["request_id"] == headers["x-request-id"]


async def test_an_unexpected_error_is_a_500_envelope_and_logged(
    server: AssistantsServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(server.store, "assistants", broken)
    with caplog.at_level(logging.ERROR, logger="assistants_async.server"):
        status, headers, body = await raw(server, "GET", "/assistants")
    assert status == 500
    assert body["error"]["type"] == "server_error"
    assert "disk on fire" not in json.dumps(body)
    assert any(headers["x-request-id"] in r.getMessage() for r in caplog.records)


async def test_a_streamed_answer_is_replayed_for_its_idempotency_key(
    server: AssistantsServer,
) -> None:
    async with client(server) as api:
        asst = await api.assistants.create(model="gpt-4o")
    body = {
        "assistant_id": asst.id,
        "stream": True,
        "thread": {"messages": [{"role": "user", "content": "once"}]},
    }
    key = {"Idempotency-Key": "stream-once"}
    status, _, first = await raw(server, "POST", "/threads/runs", json=body, headers=key)
    assert status == 200
    assert b"event: thread.run.completed" in first
    status, headers, again = await raw(server, "POST", "/threads/runs", json=body, headers=key)
    assert status == 200
    assert headers["idempotent-replayed"] == "true"
    assert again == first
    # A refused request is not kept: the key still works for what was asked first.
    status, _, _ = await raw(
        server, "POST", "/assistants", json={"model": 1}, headers={"Idempotency-Key": "k2"}
    )
    assert status == 400
    status, _, _ = await raw(
        server, "POST", "/assistants", json={"model": "m"}, headers={"Idempotency-Key": "k2"}
    )
    assert status == 200


async def test_runs_nobody_reads_expire_by_the_sweep(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "sweep.sqlite3")
    await store.open()
    clock = FakeClock()
    server = AssistantsServer(
        store, Keys([KEY]), responder=echo(), clock=clock, run_ttl=60, sweep_interval=0.01
    )
    await server.start()
    try:
        async with client(server) as api:
            asst = await api.assistants.create(model="gpt-4o", tools=TOOLS)
            thread = await api.threads.create(messages=[{"role": "user", "content": "x"}])
            run = await api.runs.create_and_poll(
                thread.id, assistant_id=asst.id, tool_choice=FORCED
            )
            assert run.status == "requires_action"
        assert await server.expire_due() == 0
        clock.advance(60)

        deadline = asyncio.get_running_loop().time() + 30
        while await store.active_runs():  # the sweep runs every 0.01 s
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.01)
        assert await server.expire_due() == 0
    finally:
        await server.stop()
        await store.close()


async def test_the_sweep_forgets_idempotency_keys_past_their_day(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.sqlite3")
    await store.open()
    clock = FakeClock()
    server = AssistantsServer(store, Keys([KEY]), responder=echo(), clock=clock)
    server.idempotency.clock = clock
    await server.start()
    try:
        async with client(server) as api:
            await api.assistants.create(model="m", extra_headers={"Idempotency-Key": "one"})
        tenant = Keys([KEY]).tenant(KEY)
        assert tenant is not None
        assert await store.reply(tenant, "one", clock()) is not None
        assert await server.sweep() == {"expired_runs": 0, "forgotten_replies": 0}
        clock.advance(24 * 3600)
        assert await server.sweep() == {"expired_runs": 0, "forgotten_replies": 1}
        assert await store.reply(tenant, "one", 0) is None
    finally:
        await server.stop()
        await store.close()


async def test_a_sweep_that_fails_is_logged_and_the_next_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = SQLiteStore(tmp_path / "s.sqlite3")
    await store.open()
    server = AssistantsServer(store, Keys([KEY]), responder=echo(), sweep_interval=0.001)
    calls = 0
    seen = asyncio.Event()

    async def flaky() -> dict[str, int]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("locked")
        seen.set()
        return {}

    server.sweep = flaky  # type: ignore[method-assign]
    await server.start()
    try:
        with caplog.at_level(logging.ERROR, logger="assistants_async.server"):
            await asyncio.wait_for(seen.wait(), 30)
        assert "the sweep failed" in caplog.text
    finally:
        await server.stop()
        await store.close()


def test_a_body_limit_below_one_byte_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_body"):
        AssistantsServer(SQLiteStore(tmp_path / "x"), Keys([KEY]), responder=echo(), max_body=0)


# --- the command's refusals -----------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--max-body", "0"], "--max-body"),
        (["--grace", "-1"], "--grace"),
        (["--keys-file", "/nonexistent/keys"], "No such file"),
        (["--script", "SCRIPT"], "a script is a JSON object"),
        (["--pool-size", "0"], "--pool-size"),
        (["--lease", "0"], "--lease"),
        (["--lease", "nan"], "--lease"),
    ],
)
def test_the_command_refuses_bad_options(
    argv: list[str],
    says: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    script = tmp_path / "script.json"
    script.write_text("[]", encoding="utf-8")
    monkeypatch.setenv(ENV_VAR, KEY)
    with pytest.raises(SystemExit) as exited:
        command.main([str(script) if a == "SCRIPT" else a for a in argv])
    assert exited.value.code == 2
    assert says in capsys.readouterr().err


@pytest.fixture
def quiet_logs() -> Iterator[None]:
    """The command adds its log handlers: take them off again."""
    loggers = [logging.getLogger("assistants_async.server"), ACCESS_LOG]
    before = [(lg.handlers[:], lg.level, lg.propagate) for lg in loggers]
    try:
        yield
    finally:
        for lg, (handlers, level, propagate) in zip(loggers, before, strict=True):
            lg.handlers[:] = handlers
            lg.setLevel(level)
            lg.propagate = propagate


@pytest.mark.usefixtures("quiet_logs")
def test_the_command_says_why_it_cannot_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(ENV_VAR, KEY)
    # A database made by a newer release.
    newer = tmp_path / "newer.sqlite3"
    with closing(sqlite3.connect(newer)) as db:
        db.execute("PRAGMA user_version = 999")
    assert command.main(["--db", str(newer), "--port", "0"]) == 1
    assert f"cannot open {newer}: the database is at schema version 999" in (
        capsys.readouterr().err
    )
    # A port already taken.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        fresh = tmp_path / "fresh.sqlite3"
        assert command.main(["--db", str(fresh), "--port", str(port)]) == 1
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


async def test_a_script_file_answers_runs_before_the_echo(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    rules = {"rules": [{"match": "weather", "reply": {"type": "text", "text": "Sunny"}}]}
    script.write_text(json.dumps(rules), encoding="utf-8")
    store = SQLiteStore(tmp_path / "s.sqlite3")
    await store.open()
    loaded = Script()
    load_script(script, loaded)
    server = AssistantsServer(store, Keys([KEY]), responder=echo(), script=loaded)
    await server.start()
    try:
        async with client(server) as api:
            asst = await api.assistants.create(model="gpt-4o")
            answers = []
            for question in ("weather?", "hello"):
                thread = await api.threads.create(messages=[{"role": "user", "content": question}])
                run = await api.runs.create_and_poll(thread.id, assistant_id=asst.id)
                assert run.status == "completed"
                (said, _) = (await api.messages.list(thread.id)).data
                answers.append(said.content[0].text.value)  # type: ignore[union-attr]
        assert answers == ["Sunny", "hello"]
    finally:
        await server.stop()
        await store.close()


async def test_the_beta_header_is_required_as_the_service_required_it(
    server: AssistantsServer,
) -> None:
    for sent, said in ((None, "must provide the 'OpenAI-Beta' header"), ("assistants=v1", "v1")):
        headers = {"OpenAI-Beta": sent} if sent else {"OpenAI-Beta": ""}
        status, _, body = await raw(server, "GET", "/assistants", headers=headers)
        assert status == 400
        assert body["error"]["code"] == "invalid_beta"
        assert said in body["error"]["message"]


async def test_every_compatibility_check_passes_against_the_sqlite_server(
    server: AssistantsServer,
) -> None:
    """The check command, run against this server on SQLite: nothing deviates."""
    assert server.url is not None
    report = await run_checks(server.url, KEY)
    assert {r.id: r.verdict for r in report.results if r.verdict != "pass"} == {}
    assert report.cleanup["left"] == []


async def test_every_compatibility_check_passes_against_the_postgres_server(
    postgres_server: AssistantsServer,
) -> None:
    """The same check, against the server on PostgreSQL: nothing deviates there either."""
    assert postgres_server.url is not None
    report = await run_checks(postgres_server.url, KEY)
    assert {r.id: r.verdict for r in report.results if r.verdict != "pass"} == {}
    assert report.cleanup["left"] == []


@pytest.mark.usefixtures("quiet_logs")
def test_the_command_says_why_it_cannot_open_a_postgres_database(
    postgres_cluster: Cluster,
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(ENV_VAR, KEY)
    # No such database (the password in the URL is never shown).
    missing = postgres_cluster.url("nowhere").replace("postgres@", "postgres:s3cret@")
    assert command.main(["--db", missing, "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert "cannot open postgresql://postgres:***@127.0.0.1" in err
    assert '"nowhere" does not exist' in err
    assert "s3cret" not in err
    # A database made by a newer release.
    name = postgres_url.rpartition("/")[2]
    postgres_cluster.psql(
        "CREATE TABLE schema_version (version INTEGER); INSERT INTO schema_version VALUES (999)",
        database=name,
    )
    assert command.main(["--db", postgres_url, "--port", "0"]) == 1
    assert "the database is at schema version 999" in capsys.readouterr().err


async def test_a_nul_in_an_id_is_not_found_on_either_store(
    server: AssistantsServer, postgres_server: AssistantsServer
) -> None:
    # PostgreSQL cannot hold a NUL: an id with one names nothing there either (no 500).
    for served in (server, postgres_server):
        for path, status in (
            ("/threads/abc%00def", 404),
            ("/assistants/a%00b", 404),
            ("/threads/t%00/runs/r", 404),
            ("/assistants?after=a%00", 400),
        ):
            got, _, body = await raw(served, "GET", path)
            assert (got, body["error"]["type"]) == (status, "invalid_request_error"), path
        got, _, _ = await raw(
            served, "POST", "/assistants", json={"model": "m"}, headers={"Idempotency-Key": "k"}
        )
        assert got == 200


class _FailsToEndMessages(MemoryStore):
    """A store whose disk fills just as a run's message would end, until told not to."""

    failing = True

    async def put_message(self, tenant: str, message: dict[str, Any]) -> None:
        if self.failing and message.get("status") == "completed":
            raise OSError("No space left on device")
        await super().put_message(tenant, message)


async def test_a_store_failure_mid_stream_fails_the_run_and_ends_the_stream_with_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The stream's headers are sent: a 500 can no longer be. The run fails (as soon as
    the store takes the write), the client hears ``thread.run.failed`` then an ``error``
    event (a StreamError, as the service's stream said it), not bytes that break the
    HTTP framing, and nothing internal is shown."""
    store = _FailsToEndMessages()
    async with serving(store) as server, client(server) as api:
        asst = await api.assistants.create(model="gpt-4o")
        thread = await api.threads.create(messages=[{"role": "user", "content": "hi"}])
        heard: list[str] = []

        async def read() -> None:
            async with api.runs.stream(thread.id, assistant_id=asst.id) as stream:
                async for event in stream:
                    heard.append(event.event)

        with pytest.raises(StreamError) as raised:
            await read()
        runs = [run async for run in api.runs.list(thread.id)]
    assert heard[-1] == "thread.run.failed"
    assert raised.value.type == "server_error"
    assert "No space" not in str(raised.value)
    assert runs[0].status == "failed"
    assert runs[0].last_error is not None
    assert runs[0].last_error.code == "server_error"
    assert "No space" not in runs[0].last_error.message
    assert any("No space left on device" in r.getMessage() or r.exc_info for r in caplog.records)


async def test_a_store_failure_fails_a_run_moving_on_its_timer_without_telling_why() -> None:
    store = _FailsToEndMessages()
    async with serving(store) as server, client(server) as api:
        asst = await api.assistants.create(model="gpt-4o")
        thread = await api.threads.create(messages=[{"role": "user", "content": "hi"}])
        run = await api.runs.create_and_poll(thread.id, assistant_id=asst.id, poll_interval=0.01)
    assert run.status == "failed"
    assert run.last_error is not None
    assert run.last_error.code == "server_error"
    assert run.last_error.message == "The server had an error while processing your request."


async def test_a_thread_deleted_while_its_run_streams_ends_the_stream_with_not_found() -> None:
    """Nothing is left to move: the stream ends with an ``error`` event saying so (a
    StreamError), not a server error, and the server stays up."""
    begun, deleted = asyncio.Event(), asyncio.Event()

    async def slow(ctx: Any) -> Any:
        async def parts() -> AsyncIterator[Any]:
            yield TextDelta("Half ")
            begun.set()
            await deleted.wait()
            yield TextDelta("an answer")

        return parts()

    async with serving(MemoryStore(), slow) as server, client(server) as api:
        asst = await api.assistants.create(model="gpt-4o")
        thread = await api.threads.create(messages=[{"role": "user", "content": "hi"}])

        async def read() -> None:
            async with api.runs.stream(thread.id, assistant_id=asst.id) as stream:
                await stream.until_done()

        reading = asyncio.create_task(read())
        await begun.wait()
        await api.threads.delete(thread.id)
        deleted.set()
        with pytest.raises(StreamError) as raised:
            await reading
        assert (await api.assistants.retrieve(asst.id)).id == asst.id  # still serving
    assert raised.value.type == "invalid_request_error"
    assert thread.id in str(raised.value)
