"""What the SQLite store promises beyond the conformance suite (test_store.py): its
data outlives the process (a close, a ``kill -9``), its lists run on indexes, opening it
reads nothing but the schema version, and its schema moves by migrations."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path
from typing import Any

import aiosqlite
import attrs
import pytest

from assistants_async.server._sqlite import (
    _ACTIVE_SQL,
    Migration,
    SchemaTooNew,
    SQLiteStore,
    StoreInUse,
    list_sql,
    migrations,
)
from assistants_async.server._store import ACTIVE, PageQuery, Reply, RunRecord

from . import make_fixture
from .test_store import ORDERS, T0, A, assistant, message, run, step, thread

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    made = SQLiteStore(tmp_path / "store.sqlite3")
    await made.open()
    try:
        yield made
    finally:
        await made.close()


def pragma(path: Path, name: str) -> Any:
    with closing(sqlite3.connect(path)) as db, db:
        return db.execute(f"PRAGMA {name}").fetchone()[0]


async def writer_pragma(store: SQLiteStore, name: str) -> Any:
    assert store._writer is not None
    return next(iter(await store._writer.execute_fetchall(f"PRAGMA {name}")))[0]


# --- lifecycle ------------------------------------------------------------------------


async def test_data_survives_close_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    first = SQLiteStore(path)
    await first.open()
    t = "thread_0001"
    await first.add_assistant(A, assistant(1))
    await first.add_thread(A, thread(1), [message(t, 1)])
    added = await first.add_run(A, run(t, 1))
    moved = await first.put_run(A, RunRecord(added.obj, {"k": [1, 2]}, added.version))
    await first.put_step(A, step(t, added.id, 1))
    kept = Reply(201, b"\x00body", "application/json", "POST /x", 1e12)
    await first.keep_reply(A, "key", kept)
    await first.close()

    again = SQLiteStore(path)
    await again.open()
    try:
        assert await again.assistant(A, "asst_0001") == assistant(1)
        assert await again.thread(A, t) == thread(1)
        assert await again.message(A, t, "msg_0001_0001") == message(t, 1)
        assert await again.run(A, t, added.id) == moved
        assert [r for _, r in await again.active_runs()] == [moved]
        assert await again.step(A, t, added.id, step(t, added.id, 1)["id"]) == step(t, added.id, 1)
        assert await again.reply(A, "key", 0.0) == kept
    finally:
        await again.close()


async def test_wal_synchronous_and_foreign_keys(store: SQLiteStore, tmp_path: Path) -> None:
    assert pragma(Path(store.path), "journal_mode") == "wal"  # kept in the file
    assert await writer_pragma(store, "synchronous") == 1  # NORMAL
    assert await writer_pragma(store, "foreign_keys") == 1
    assert await writer_pragma(store, "busy_timeout") == 5000
    full = SQLiteStore(tmp_path / "full.sqlite3", synchronous="FULL", busy_timeout=0.25)
    await full.open()
    try:
        assert await writer_pragma(full, "synchronous") == 2
        assert await writer_pragma(full, "busy_timeout") == 250
    finally:
        await full.close()


async def test_open_and_close_are_checked(tmp_path: Path) -> None:
    made = SQLiteStore(tmp_path / "store.sqlite3")
    with pytest.raises(RuntimeError, match="not open"):
        await made.thread(A, "thread_0001")
    with pytest.raises(RuntimeError, match="not open"):
        await made.add_assistant(A, assistant(1))
    await made.open()
    with pytest.raises(RuntimeError, match="already open"):
        await made.open()
    await made.close()
    await made.close()  # a second close does nothing
    with pytest.raises(ValueError, match="readers"):
        SQLiteStore(tmp_path / "x", readers=0)
    with pytest.raises(ValueError, match="synchronous"):
        SQLiteStore(tmp_path / "x", synchronous="OFF")  # type: ignore[arg-type]


async def test_a_database_without_wal_is_refused() -> None:
    memory = SQLiteStore(":memory:")
    with pytest.raises(RuntimeError, match="WAL"):
        await memory.open()
    # Nothing was left open (a leaked connection would warn, and warnings are errors).
    await memory.close()


async def test_readers_do_not_wait_for_a_writer(tmp_path: Path) -> None:
    made = SQLiteStore(tmp_path / "store.sqlite3", busy_timeout=0.2)
    await made.open()
    try:
        await made.add_thread(A, thread(1))
        # Another process holds SQLite's write lock, in the middle of a change.
        other = sqlite3.connect(made.path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("UPDATE threads SET obj = '{}'")
            # Reads go on, and see the last commit.
            assert await made.thread(A, "thread_0001") == thread(1)
            # A write waits busy_timeout for the lock, then fails.
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                await made.put_thread(A, thread(1))
            other.execute("ROLLBACK")
        finally:
            other.close()
        # The failed write left the writer usable.
        await made.put_thread(A, thread(1) | {"metadata": {"a": "1"}})
        # This store's own writer busy (its lock held, as by a long transaction): reads
        # do not queue behind it.
        async with made._lock:
            got = await asyncio.wait_for(made.thread(A, "thread_0001"), 5)
            assert got["metadata"] == {"a": "1"}
            write = asyncio.ensure_future(made.put_thread(A, thread(1)))
            await asyncio.sleep(0.05)
            assert not write.done()
        await write
    finally:
        await made.close()


def test_the_active_statuses_are_written_once_in_sql() -> None:
    # The partial indexes and the queries must say the same list, and it must be ACTIVE.
    assert set(re.findall(r"'(\w+)'", _ACTIVE_SQL)) == ACTIVE
    schema = migrations()[0].sql
    assert schema.count(f"WHERE {_ACTIVE_SQL};") == 2


# --- query plans ----------------------------------------------------------------------

LIST_INDEXES = {
    "assistants": "assistants_list",
    "messages": "messages_list",
    "run_messages": "messages_run_list",
    "runs": "runs_list",
    "steps": "steps_list",
}


def plan(db: sqlite3.Connection, sql: str) -> str:
    rows = db.execute(f"EXPLAIN QUERY PLAN {sql}", ("x",) * sql.count("?")).fetchall()
    return "\n".join(row[-1] for row in rows)


async def test_every_list_query_walks_its_index(store: SQLiteStore) -> None:
    # A few rows, so that the planner sees real tables.
    t = "thread_0001"
    await store.add_thread(A, thread(1), [message(t, n) for n in range(5)])
    await store.add_run(A, run(t, 1))
    with closing(sqlite3.connect(store.path)) as db, db:
        for name, index in LIST_INDEXES.items():
            for lower in (False, True):
                for upper in (False, True):
                    for descending in (False, True):
                        sql = list_sql(name, lower=lower, upper=upper, descending=descending)
                        found = plan(db, sql)
                        # SEARCH on the list's index, in its order: no scan, no sort.
                        assert found.startswith("SEARCH"), (sql, found)
                        assert f"USING INDEX {index} (" in found, (sql, found)
                        assert "TEMP B-TREE" not in found, (sql, found)
                        # A seek on the whole key, not on created_at alone.
                        if lower:
                            assert "(created_at,seq)>(?,?)" in found, (sql, found)
                        if upper:
                            assert "(created_at,seq)<(?,?)" in found, (sql, found)
        active = plan(
            db,
            "SELECT tenant, obj, state, version FROM runs WHERE status IN"
            " ('queued', 'in_progress', 'requires_action', 'cancelling')"
            " ORDER BY created_at, seq",
        )
        # The partial index holds the active runs alone, already in order.
        assert active == "SCAN runs USING INDEX runs_active", active


# --- opening a large database ---------------------------------------------------------


class Counting(SQLiteStore):
    """Counts the SQLite VM's work (one tick per 100 instructions) and the statements,
    on every connection the store opens."""

    ticks = 0
    statements: list[str]

    async def _connect(self) -> aiosqlite.Connection:
        db = await super()._connect()

        def tick() -> int:
            self.ticks += 1
            return 0

        self.statements = getattr(self, "statements", [])
        await db.set_progress_handler(tick, 100)
        await db.set_trace_callback(self.statements.append)
        return db


async def test_open_reads_nothing_of_a_large_database(tmp_path: Path) -> None:
    small, large = tmp_path / "small.sqlite3", tmp_path / "large.sqlite3"
    for path in (small, large):
        made = SQLiteStore(path)
        await made.open()
        await made.add_thread(A, thread(1))
        await made.close()
    with closing(sqlite3.connect(large)) as db, db:
        db.executemany(
            "INSERT INTO messages (seq, id, tenant, thread_id, created_at, obj)"
            " VALUES ((SELECT n + 1 FROM sequence), ?, ?, ?, ?, ?)",
            (
                (f"msg_{n}", A, "thread_0001", T0, '{"pad": "' + "x" * 200 + '"}')
                for n in range(20_000)
            ),
        )
    assert pragma(large, "page_count") > 20 * pragma(small, "page_count")

    ticks = {}
    for path in (small, large):
        counting = Counting(path)
        await counting.open()
        try:
            ticks[path] = counting.ticks
            assert not any("messages" in s for s in counting.statements), counting.statements
            if path == large:
                # The count is sensitive: one pass over the messages is many ticks.
                before = counting.ticks
                await counting._rows("SELECT sum(length(obj)) FROM messages", ())
                assert counting.ticks - before > 200
        finally:
            await counting.close()
    assert ticks[large] <= ticks[small] + 2, ticks


async def test_a_page_deep_in_one_second_costs_what_the_first_does(tmp_path: Path) -> None:
    # 20,000 messages made in the same second: a page far into them is found by a seek
    # on (created_at, seq), not by walking the ties before it.
    path = tmp_path / "ties.sqlite3"
    made = SQLiteStore(path)
    await made.open()
    await made.add_thread(A, thread(1))
    await made.close()
    with closing(sqlite3.connect(path)) as db, db:
        db.executemany(
            "INSERT INTO messages (seq, id, tenant, thread_id, created_at, obj)"
            " VALUES ((SELECT n + 1 FROM sequence), ?, ?, ?, ?, '{}')",
            ((f"msg_{n:05d}", A, "thread_0001", T0) for n in range(20_000)),
        )
    counting = Counting(path)
    await counting.open()
    try:
        for order in ORDERS:
            for name in ("after", "before"):
                cost = {}
                for cursor in ("msg_00100", "msg_10000", "msg_19900"):
                    before = counting.ticks
                    query = (
                        PageQuery(limit=20, order=order, after=cursor)
                        if name == "after"
                        else PageQuery(limit=20, order=order, before=cursor)
                    )
                    page = await counting.messages(A, "thread_0001", query)
                    assert len(page.items) == 20
                    cost[cursor] = counting.ticks - before
                # Walking the ties before the cursor would be hundreds of ticks (test above).
                assert max(cost.values()) < 20, (order, name, cost)
    finally:
        await counting.close()


# --- migrations -----------------------------------------------------------------------


def test_the_package_migrations_are_numbered_from_one() -> None:
    found = migrations()
    assert [m.version for m in found] == list(range(1, len(found) + 1))
    assert found[0].name == "0001_initial.sql"
    assert all(m.statements() for m in found)


async def test_migrations_must_be_numbered_from_one_without_a_gap(tmp_path: Path) -> None:
    gap = SQLiteStore(
        tmp_path / "gap.sqlite3", schema=(*migrations()[:1], attrs.evolve(EXTRA, version=3))
    )
    with pytest.raises(ValueError, match="numbered"):
        await gap.open()


def test_a_migration_splits_into_statements() -> None:
    step = Migration(
        9,
        "0009_x.sql",
        "-- a comment; with a semicolon\nCREATE TABLE a (x TEXT DEFAULT 'a;b');\n"
        "CREATE INDEX a_x\n  ON a (x);\n-- trailing comment\n",
    )
    assert step.statements() == [
        "-- a comment; with a semicolon\nCREATE TABLE a (x TEXT DEFAULT 'a;b');",
        "CREATE INDEX a_x\n  ON a (x);",
    ]
    with pytest.raises(ValueError, match="unterminated"):
        Migration(9, "0009_x.sql", "CREATE TABLE a (x)").statements()


async def test_the_schema_0001_fixture_opens_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    shutil.copy(make_fixture.FIXTURE, path)
    assert pragma(path, "user_version") == 1
    made = SQLiteStore(path)
    await made.open()
    try:
        assert pragma(path, "user_version") == len(migrations())
        with closing(sqlite3.connect(path)) as db:
            indexes = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        assert "replies_expiry" in indexes  # 0002, over a file 0001 made
        for tenant, obj in make_fixture.ASSISTANTS:
            assert await made.assistant(tenant, obj["id"]) == obj
            assert (await made.assistants(tenant, PageQuery())).items == [obj]
        for tenant, obj in make_fixture.THREADS:
            assert await made.thread(tenant, obj["id"]) == obj
        for tenant, obj in make_fixture.MESSAGES:
            assert await made.message(tenant, obj["thread_id"], obj["id"]) == obj
        listed = await made.messages(make_fixture.TENANT, "thread_fixture1", PageQuery(order="asc"))
        assert listed.items == [obj for _, obj in make_fixture.MESSAGES[:3]]
        by_run = await made.messages(
            make_fixture.TENANT, "thread_fixture1", PageQuery(), run_id="run_fixture1"
        )
        assert [m["id"] for m in by_run.items] == ["msg_fixture2"]
        for tenant, obj, state, version in make_fixture.RUNS:
            assert await made.run(tenant, obj["thread_id"], obj["id"]) == RunRecord(
                obj, state, version
            )
        active = await made.active_runs()
        assert [(t, r.id) for t, r in active] == [(make_fixture.TENANT, "run_fixture2")]
        for tenant, obj in make_fixture.STEPS:
            assert await made.step(tenant, obj["thread_id"], obj["run_id"], obj["id"]) == obj
        steps = await made.steps(
            make_fixture.TENANT, "thread_fixture1", "run_fixture1", PageQuery(order="asc")
        )
        assert steps.items == [obj for _, obj in make_fixture.STEPS]
        for tenant, key, *rest in make_fixture.REPLIES:
            assert await made.reply(tenant, key, 0.0) == Reply(*rest)  # type: ignore[arg-type]
        # The database's invariants hold for old rows too.
        with pytest.raises(Exception, match="active run run_fixture2"):
            await made.add_run(make_fixture.TENANT, run("thread_fixture1", 5))
        await made.delete_thread(make_fixture.TENANT, "thread_fixture1")
        assert await made.active_runs() == []
    finally:
        await made.close()


EXTRA = Migration(
    2,
    "0002_test_only.sql",
    "ALTER TABLE threads ADD COLUMN note TEXT;\nCREATE INDEX threads_note ON threads (note);\n",
)
BROKEN = Migration(2, "0002_broken.sql", "CREATE TABLE half (x);\nTHIS IS NOT SQL;\n")


async def test_migrations_apply_in_order_each_in_a_transaction(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    shutil.copy(make_fixture.FIXTURE, path)
    first = (*migrations()[:1],)

    # A step that fails leaves the version before it, and nothing of itself.
    broken = SQLiteStore(path, schema=(*first, BROKEN))
    with pytest.raises(sqlite3.OperationalError, match="syntax error"):
        await broken.open()
    assert pragma(path, "user_version") == 1
    with closing(sqlite3.connect(path)) as db, db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert "half" not in tables

    # A second migration applies on top of the first, and the data reads back.
    newer = SQLiteStore(path, schema=(*first, EXTRA))
    await newer.open()
    try:
        assert pragma(path, "user_version") == 2
        obj = make_fixture.THREADS[0][1]
        assert await newer.thread(make_fixture.TENANT, obj["id"]) == obj
    finally:
        await newer.close()
    with closing(sqlite3.connect(path)) as db, db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(threads)")]
    assert "note" in columns

    # Opened again: nothing left to apply.
    again = SQLiteStore(path, schema=(*first, EXTRA))
    await again.open()
    await again.close()
    assert pragma(path, "user_version") == 2

    # A release that knows fewer migrations than the database has refuses it.
    older = SQLiteStore(path, schema=first)
    with pytest.raises(SchemaTooNew, match="version 2"):
        await older.open()


# --- durability -----------------------------------------------------------------------

WRITER = """
import asyncio, sys
from assistants_async.server._sqlite import SQLiteStore

async def main(path):
    store = SQLiteStore(path)
    await store.open()
    thread = {"id": "thread_kill", "object": "thread", "created_at": 1, "metadata": {}}
    await store.add_thread("t", thread)
    n = 0
    while True:
        n += 1
        obj = {"id": f"msg_{n:07d}", "object": "thread.message", "created_at": 1,
               "thread_id": "thread_kill", "role": "user", "content": [], "metadata": {}}
        await store.add_message("t", obj)
        # Printed only once the awaited write has returned: acknowledged.
        sys.stdout.write(obj["id"] + "\\n")
        sys.stdout.flush()

asyncio.run(main(sys.argv[1]))
"""


def test_every_acknowledged_write_survives_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "killed.sqlite3"
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert child.stdout is not None
    acknowledged: list[str] = []
    try:
        while len(acknowledged) < 300:
            line = child.stdout.readline()
            assert line, "the writer ended early"
            acknowledged.append(line.strip())
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    # Lines it printed before it died were acknowledged too; a cut line was not.
    rest = child.stdout.read()
    child.stdout.close()
    acknowledged += [line for line in rest.split("\n")[:-1] if line]
    assert child.returncode == -signal.SIGKILL

    async def stored() -> list[str]:
        made = SQLiteStore(path)
        await made.open()
        try:
            ids: list[str] = []
            query = PageQuery(limit=100, order="asc")
            while True:
                page = await made.messages("t", "thread_kill", query)
                ids += [m["id"] for m in page.items]
                if not page.has_more:
                    return ids
                query = PageQuery(limit=100, order="asc", after=ids[-1])
        finally:
            await made.close()

    found = asyncio.run(stored())
    assert found[: len(acknowledged)] == acknowledged
    # At most the one write in flight when the kill came is there unacknowledged.
    assert len(found) - len(acknowledged) <= 1


async def test_an_exclusive_store_keeps_the_file_to_itself_until_closed(tmp_path: Path) -> None:
    path = tmp_path / "one.sqlite3"
    first = SQLiteStore(path, exclusive=True)
    await first.open()
    second = SQLiteStore(path, exclusive=True)
    try:
        with pytest.raises(StoreInUse, match="served by another process"):
            await second.open()
        reader = SQLiteStore(path)  # not exclusive: a tool reading the file is let in
        await reader.open()
        await reader.close()
    finally:
        await first.close()
    await second.open()
    await second.close()


async def test_the_fake_over_sqlite_writes_no_api_key_into_the_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The fake named each tenant by its raw key: on SQLite, every row (and aiosqlite's
    DEBUG line for each statement) carried the key in clear."""
    from assistants_async.testing import FakeAssistantsServer

    caplog.set_level(logging.DEBUG)
    key = "sk-proj-NeverWrittenDown0123456789"
    store = SQLiteStore(tmp_path / "fake.sqlite3")
    await store.open()
    try:
        async with (
            FakeAssistantsServer(api_key=key, store=store) as server,
            server.client() as client,
        ):
            asst = await client.assistants.create(model="m")
            thread = await client.threads.create(messages=[{"role": "user", "content": "hi"}])
            await client.runs.create_and_poll(thread.id, assistant_id=asst.id)
    finally:
        await store.close()
    assert b"NeverWrittenDown" not in _every_byte_in(tmp_path)
    assert not [r for r in caplog.records if "NeverWrittenDown" in r.getMessage()]
    with closing(sqlite3.connect(tmp_path / "fake.sqlite3")) as db:
        (tenant,) = {row[0] for row in db.execute("SELECT tenant FROM assistants")}
    assert re.fullmatch(r"key:[0-9a-f]{32}", tenant)


def _every_byte_in(folder: Path) -> bytes:
    """The files of ``folder`` (the database, its WAL and shared memory), end to end."""
    return b"".join(path.read_bytes() for path in folder.iterdir())
