"""``Store`` on SQLite, through aiosqlite: the server's durable state in one file.

Why aiosqlite: it is the stdlib ``sqlite3`` driver made async (each connection on a
thread of its own), so the SQL below is exactly what SQLite runs, with no second driver
and no ORM. SQLAlchemy's async core would bring a large dependency for a handful of
hand-written queries, and hide the things this module exists to control: one writer,
``BEGIN IMMEDIATE``, keyset seeks on the lists' indexes, constraints that raise. The
writer is the stdlib driver on a thread of ours (``_writer.py`` says why).

The layout: every object is a row (its JSON in a TEXT column, plus the columns its
indexes and constraints need); see ``migrations/0001_initial.sql``. Nothing is cached
and nothing is read at ``open()`` beyond the schema version: the database may be larger
than memory.

Connections: one writer (``_writer.Writer``: its own thread, committing the
single-statement writes that wait together in one transaction) and a small pool of
read-only aiosqlite readers (in WAL mode a reader sees the last commit and never waits
for the writer). Each connection runs its calls in order on its thread, so tasks send
their statements at once and they run back to back: waiting for one statement's answer
before sending the next made every statement wait for a turn of the event loop (see
benchmarks/README.md). A connection holds one transaction at a time, so a task's
transaction takes ``_lock``, and no statement is sent while one holds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from functools import cache
from typing import Any, Literal, TypeAlias

import aiosqlite
import attrs

from ._codec import load, run_row
from ._codec import text as _text
from ._migrations import Migration, SchemaTooNew, check_numbering
from ._migrations import load as load_migrations
from ._store import (
    JSON,
    ActiveRunExists,
    Claim,
    Conflict,
    NotFound,
    Page,
    PageQuery,
    Reply,
    RunRecord,
    UnknownCursor,
)
from ._writer import Writer

__all__ = ["Migration", "SQLiteStore", "SchemaTooNew", "StoreInUse", "migrate", "migrations"]

# Exactly as the partial indexes of 0001_initial.sql write it: SQLite uses a partial
# index only for a query whose WHERE repeats the index's own term.
# (test_sqlite.py holds both to ACTIVE.)
_ACTIVE_SQL = "status IN ('queued', 'in_progress', 'requires_action', 'cancelling')"
_ACTIVE_RUN = f"SELECT id FROM runs WHERE thread_id = ? AND {_ACTIVE_SQL}"


# --- migrations -----------------------------------------------------------------------


@cache
def migrations() -> tuple[Migration, ...]:
    """The package's SQLite migrations (``migrations/NNNN_name.sql``), in order."""
    return load_migrations("migrations")


# The readers' connections, and the writer.
Connection: TypeAlias = "aiosqlite.Connection | Writer"


async def migrate(db: Connection, steps: Sequence[Migration]) -> int:
    """Bring the database up to the last of ``steps``, each applied in a transaction of
    its own (a failed step leaves the version before it); returns the version."""
    check_numbering(steps)
    version = await _user_version(db)
    if version > len(steps):
        raise SchemaTooNew(
            f"the database is at schema version {version}; this release knows {len(steps)}"
        )
    for step in steps[version:]:
        await db.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have applied it while this one waited for the lock.
            if await _user_version(db) < step.version:
                for statement in step.statements():
                    await db.execute(statement)
                await db.execute(f"PRAGMA user_version = {step.version:d}")
            await db.execute("COMMIT")
        except BaseException:
            await _rollback(db)
            raise
    return await _user_version(db)


async def _user_version(db: Connection) -> int:
    rows = list(await db.execute_fetchall("PRAGMA user_version"))
    return int(rows[0][0])


async def _rollback(db: Connection) -> None:
    # An I/O error may have ended the transaction already.
    with contextlib.suppress(sqlite3.OperationalError):
        await db.execute("ROLLBACK")


# --- paging ---------------------------------------------------------------------------

# Each list: its table, and the condition that makes it (parameters in this order).
_LISTS = {
    "assistants": ("assistants", "tenant = ?"),
    "messages": ("messages", "thread_id = ? AND tenant = ?"),
    "run_messages": ("messages", "thread_id = ? AND run_id = ? AND tenant = ?"),
    "runs": ("runs", "thread_id = ? AND tenant = ?"),
    "steps": ("steps", "run_id = ? AND tenant = ?"),
}


@cache
def _cursor_sql(name: str) -> str:
    table, where = _LISTS[name]
    return f"SELECT created_at, seq FROM {table} WHERE id = ? AND {where}"


@cache
def list_sql(name: str, *, lower: bool, upper: bool, descending: bool) -> str:
    """One page of list ``name``: rows after a lower and/or before an upper (created_at,
    seq) key, in that key's order or the reverse. Parameters: the list's own, then the
    lower key's two, the upper key's two, and the row limit."""
    table, where = _LISTS[name]
    if lower:
        where += " AND (created_at, seq) > (?, ?)"
    if upper:
        where += " AND (created_at, seq) < (?, ?)"
    way = "DESC" if descending else "ASC"
    return f"SELECT obj FROM {table} WHERE {where} ORDER BY created_at {way}, seq {way} LIMIT ?"


async def _nothing() -> None:
    return None


async def _page(
    db: Connection,
    name: str,
    scope: tuple[str, ...],
    query: PageQuery,
    parent: Callable[[], Awaitable[None]] = _nothing,
) -> Page:
    """One page; ``parent()`` raises NotFound if the list's owner (a thread) is missing.
    It is asked only when nothing was found: a row of the list proves its owner, and
    the common page costs one statement, not two."""
    if query.limit < 1:
        raise ValueError(f"limit must be at least 1, not {query.limit}")
    try:
        after = await _cursor(db, name, scope, "after", query.after)
        before = await _cursor(db, name, scope, "before", query.before)
    except UnknownCursor:
        await parent()  # a missing thread is reported before a cursor
        raise
    # ``before`` alone walks backward: fetch toward the older end, then turn the page.
    backward = before is not None and after is None
    lower, upper = (after, before) if query.order == "asc" else (before, after)
    sql = list_sql(
        name,
        lower=lower is not None,
        upper=upper is not None,
        descending=(query.order == "desc") != backward,
    )
    params = (*scope, *(lower or ()), *(upper or ()), query.limit + 1)
    rows = list(await db.execute_fetchall(sql, params))
    if not rows:
        await parent()
    has_more = len(rows) > query.limit
    items = [load(row[0]) for row in rows[: query.limit]]
    if backward:
        items.reverse()
    return Page(items, has_more)


async def _cursor(
    db: Connection, name: str, scope: tuple[str, ...], param: str, cursor: str | None
) -> tuple[Any, int] | None:
    if cursor is None:
        return None
    rows = list(await db.execute_fetchall(_cursor_sql(name), (cursor, *scope)))
    if not rows:
        raise UnknownCursor(param, cursor)
    return rows[0][0], rows[0][1]


# --- the store ------------------------------------------------------------------------

_THREAD_EXISTS = "EXISTS (SELECT 1 FROM threads WHERE id = ? AND tenant = ?)"
_RUN_EXISTS = "EXISTS (SELECT 1 FROM runs WHERE id = ? AND thread_id = ? AND tenant = ?)"

# The next number of the one sequence (a trigger bumps it after every insert).
_NEXT = "(SELECT n + 1 FROM sequence)"

_INSERT_MESSAGE = (
    "INSERT INTO messages (seq, id, tenant, thread_id, run_id, created_at, obj)"
    f" VALUES ({_NEXT}, ?, ?, ?, ?, ?, ?)"
)


def _message_row(tenant: str, obj: JSON) -> tuple[Any, ...]:
    return (obj["id"], tenant, obj["thread_id"], obj.get("run_id"), obj["created_at"], _text(obj))


class StoreInUse(RuntimeError):
    """The file is held by another process's exclusive store."""


try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory lock, one server by care

    def _lock_exclusively(fd: int) -> None:
        pass

else:

    def _lock_exclusively(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _duplicate(exc: sqlite3.IntegrityError) -> ValueError:
    return ValueError(f"an object with that id already exists ({exc})")


class SQLiteStore:
    """``Store`` in a SQLite file (made if missing, migrated at ``open()``).

    ``synchronous``: NORMAL by default. In WAL mode, NORMAL writes each commit to the
    WAL before the call returns, without an fsync: every acknowledged write survives a
    crash or ``kill -9`` of this process (the operating system still holds the write);
    only a power loss or an OS crash can lose the last few commits, never corrupt the
    file. FULL also fsyncs the WAL at every commit, for those who need power-loss
    durability and can pay a disk flush per write.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        readers: int = 2,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
        busy_timeout: float = 5.0,
        schema: Sequence[Migration] | None = None,
        exclusive: bool = False,
    ) -> None:
        if readers < 1:
            raise ValueError("readers must be at least 1")
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous must be NORMAL or FULL, not {synchronous!r}")
        self.path = os.fspath(path)
        self._readers = readers
        self._synchronous = synchronous
        self._busy_ms = int(busy_timeout * 1000)
        # The migrations to apply (tests add their own); the package's by default.
        self._schema = schema
        self._writer: Writer | None = None
        # Held by a transaction on the writer, from its BEGIN to its end.
        self._lock = asyncio.Lock()
        self._pool: list[aiosqlite.Connection] | None = None
        self._turn = 0  # the reader the next read goes to
        # Operations between their first statement and their last answer: close()
        # waits for them.
        self._busy = 0
        self._quiet = asyncio.Event()
        self._quiet.set()
        # exclusive: one process per file, held by a lock the OS drops when it dies.
        self._exclusive = exclusive
        self._held: int | None = None

    async def _connect(self) -> aiosqlite.Connection:
        """A new reader in autocommit mode."""
        return await aiosqlite.connect(self.path, isolation_level=None)

    async def _connect_writer(self) -> Writer:
        """The writer, in autocommit mode (transactions are begun explicitly)."""
        return await Writer.connect(self.path)

    async def open(self) -> None:
        if self._writer is not None:
            raise RuntimeError("the store is already open")
        opened: list[Connection] = []
        if self._exclusive:
            self._hold()
        try:
            writer = await self._connect_writer()
            opened.append(writer)
            (mode,) = next(iter(await writer.execute_fetchall("PRAGMA journal_mode = WAL")))
            if mode != "wal":
                raise RuntimeError(f"{self.path}: WAL mode refused (journal_mode={mode})")
            await writer.execute(f"PRAGMA synchronous = {self._synchronous}")
            await writer.execute(f"PRAGMA busy_timeout = {self._busy_ms:d}")
            await writer.execute("PRAGMA foreign_keys = ON")
            await migrate(writer, migrations() if self._schema is None else self._schema)
            pool = []
            for _ in range(self._readers):
                reader = await self._connect()
                opened.append(reader)
                await reader.execute(f"PRAGMA busy_timeout = {self._busy_ms:d}")
                await reader.execute("PRAGMA query_only = ON")
                pool.append(reader)
        except BaseException:
            for db in opened:
                await db.close()
            self._release()
            raise
        self._writer, self._pool = writer, pool

    def _hold(self) -> None:
        """Lock ``PATH-lock``, or say the file is another process's."""
        fd = os.open(f"{self.path}-lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            _lock_exclusively(fd)
        except BlockingIOError:
            os.close(fd)
            raise StoreInUse(
                f"{self.path} is served by another process; run one server per file"
            ) from None
        self._held = fd

    def _release(self) -> None:
        if self._held is not None:
            os.close(self._held)  # the lock goes with the descriptor
            self._held = None

    async def close(self) -> None:
        writer, pool = self._writer, self._pool
        if writer is None or pool is None:
            return
        self._writer = self._pool = None
        # The operations in flight finish first (a new one finds the store closed).
        await self._quiet.wait()
        for db in pool:
            await db.close()
        await writer.close()
        self._release()

    async def clear(self) -> None:
        async with self._transaction() as db:
            for table in ("steps", "runs", "messages", "threads", "assistants", "replies"):
                await db.execute(f"DELETE FROM {table}")

    # --- connections ------------------------------------------------------------------

    def _need_writer(self) -> Writer:
        if self._writer is None:
            raise RuntimeError("the store is not open")
        return self._writer

    def _begin(self) -> None:
        self._busy += 1
        self._quiet.clear()

    def _end(self) -> None:
        self._busy -= 1
        if not self._busy:
            self._quiet.set()

    def _next_reader(self) -> aiosqlite.Connection:
        pool = self._pool
        if pool is None:
            raise RuntimeError("the store is not open")
        # In turn: a reader is never waited for, its queue takes every statement.
        self._turn = (self._turn + 1) % len(pool)
        return pool[self._turn]

    @contextlib.asynccontextmanager
    async def _reader(self) -> AsyncIterator[aiosqlite.Connection]:
        """A reader for a few statements (each in a read transaction of its own)."""
        db = self._next_reader()
        self._begin()
        try:
            yield db
        finally:
            self._end()

    async def _rows(self, sql: str, params: Iterable[Any]) -> list[Any]:
        db = self._next_reader()
        self._begin()
        try:
            return list(await db.execute_fetchall(sql, params))
        finally:
            self._end()

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Writer]:
        """One write transaction: ``BEGIN IMMEDIATE`` takes SQLite's write lock at once,
        so a transaction never fails halfway for want of it. Statements sent before it
        run before its BEGIN (the connection's queue keeps their order)."""
        db = self._need_writer()
        self._begin()
        try:
            async with self._lock:
                await db.execute("BEGIN IMMEDIATE")
                try:
                    yield db
                    await db.execute("COMMIT")
                except BaseException:
                    await _rollback(db)
                    raise
        finally:
            self._end()

    async def _statement(self, sql: str, params: Iterable[Any]) -> sqlite3.Cursor:
        """One statement on the writer, committed with those sent beside it (never half:
        a statement that fails undoes only itself), sent at once unless a task's
        transaction holds the writer."""
        cursor: sqlite3.Cursor = await self._batched(lambda db: db.batched(sql, params))
        return cursor

    async def _several(self, call: Callable[[sqlite3.Connection], Any]) -> Any:
        """``call``'s statements on the writer as one batched statement (``_statement``):
        all kept or none."""
        return await self._batched(lambda db: db.several(call))

    async def _batched(self, send: Callable[[Writer], asyncio.Future[Any]]) -> Any:
        db = self._need_writer()
        if self._lock.locked():
            async with self._lock:
                pass
        # Queued with no await since the check: it cannot land in another's transaction.
        sent = send(db)
        self._begin()
        try:
            return await sent
        finally:
            self._end()

    async def _write(self, sql: str, params: Iterable[Any]) -> int:
        """One statement on the writer (``_statement``); the rows it changed."""
        return (await self._statement(sql, params)).rowcount

    async def _need_thread(self, db: Connection, tenant: str, thread_id: str) -> None:
        rows = list(await db.execute_fetchall(f"SELECT {_THREAD_EXISTS}", (thread_id, tenant)))
        if not rows[0][0]:
            raise NotFound("thread", thread_id)

    async def _need_run(self, db: Connection, tenant: str, thread_id: str, run_id: str) -> None:
        rows = list(
            await db.execute_fetchall(
                f"SELECT {_THREAD_EXISTS}, {_RUN_EXISTS}",
                (thread_id, tenant, run_id, thread_id, tenant),
            )
        )
        if not rows[0][0]:
            raise NotFound("thread", thread_id)
        if not rows[0][1]:
            raise NotFound("run", run_id)

    async def _missing(self, kind: str, object_id: str, tenant: str, thread_id: str) -> NotFound:
        """Why a write in a thread touched nothing: no thread, or no such record in it."""
        async with self._reader() as db:
            await self._need_thread(db, tenant, thread_id)
        return NotFound(kind, object_id)

    # --- assistants -------------------------------------------------------------------

    async def add_assistant(self, tenant: str, obj: JSON) -> None:
        try:
            await self._write(
                "INSERT INTO assistants (seq, id, tenant, created_at, obj)"
                f" VALUES ({_NEXT}, ?, ?, ?, ?)",
                (obj["id"], tenant, obj["created_at"], _text(obj)),
            )
        except sqlite3.IntegrityError as exc:
            raise _duplicate(exc) from None

    async def assistant(self, tenant: str, assistant_id: str) -> JSON:
        rows = await self._rows(
            "SELECT obj FROM assistants WHERE id = ? AND tenant = ?", (assistant_id, tenant)
        )
        if not rows:
            raise NotFound("assistant", assistant_id)
        return load(rows[0][0])  # type: ignore[no-any-return]

    async def put_assistant(self, tenant: str, obj: JSON) -> None:
        changed = await self._write(
            "UPDATE assistants SET obj = ? WHERE id = ? AND tenant = ?",
            (_text(obj), obj["id"], tenant),
        )
        if not changed:
            raise NotFound("assistant", obj["id"])

    async def delete_assistant(self, tenant: str, assistant_id: str) -> None:
        changed = await self._write(
            "DELETE FROM assistants WHERE id = ? AND tenant = ?", (assistant_id, tenant)
        )
        if not changed:
            raise NotFound("assistant", assistant_id)

    async def assistants(self, tenant: str, query: PageQuery) -> Page:
        async with self._reader() as db:
            return await _page(db, "assistants", (tenant,), query)

    # --- threads ----------------------------------------------------------------------

    async def add_thread(self, tenant: str, obj: JSON, messages: Sequence[JSON] = ()) -> None:
        _check_messages(obj["id"], messages)
        row = (obj["id"], tenant, obj["created_at"], _text(obj))
        rows = [_message_row(tenant, m) for m in messages]

        def insert(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO threads (seq, id, tenant, created_at, obj)"
                f" VALUES ({_NEXT}, ?, ?, ?, ?)",
                row,
            )
            conn.executemany(_INSERT_MESSAGE, rows)

        try:
            await self._several(insert)
        except sqlite3.IntegrityError as exc:
            raise _duplicate(exc) from None

    async def thread(self, tenant: str, thread_id: str) -> JSON:
        rows = await self._rows(
            "SELECT obj FROM threads WHERE id = ? AND tenant = ?", (thread_id, tenant)
        )
        if not rows:
            raise NotFound("thread", thread_id)
        return load(rows[0][0])  # type: ignore[no-any-return]

    async def put_thread(self, tenant: str, obj: JSON) -> None:
        changed = await self._write(
            "UPDATE threads SET obj = ? WHERE id = ? AND tenant = ?",
            (_text(obj), obj["id"], tenant),
        )
        if not changed:
            raise NotFound("thread", obj["id"])

    async def delete_thread(self, tenant: str, thread_id: str) -> None:
        # Its messages and runs, and the runs' steps, go by ON DELETE CASCADE, in the
        # same statement.
        changed = await self._write(
            "DELETE FROM threads WHERE id = ? AND tenant = ?", (thread_id, tenant)
        )
        if not changed:
            raise NotFound("thread", thread_id)

    # --- messages ---------------------------------------------------------------------

    async def add_message(self, tenant: str, obj: JSON) -> None:
        # Inserted only if the thread is this tenant's: one statement, no read first.
        try:
            changed = await self._write(
                "INSERT INTO messages (seq, id, tenant, thread_id, run_id, created_at, obj)"
                f" SELECT {_NEXT}, ?, ?, ?, ?, ?, ? WHERE {_THREAD_EXISTS}",
                (*_message_row(tenant, obj), obj["thread_id"], tenant),
            )
        except sqlite3.IntegrityError as exc:
            raise _duplicate(exc) from None
        if not changed:
            raise NotFound("thread", obj["thread_id"])

    async def message(self, tenant: str, thread_id: str, message_id: str) -> JSON:
        rows = await self._rows(
            f"SELECT {_THREAD_EXISTS}, (SELECT obj FROM messages"
            " WHERE id = ? AND thread_id = ? AND tenant = ?)",
            (thread_id, tenant, message_id, thread_id, tenant),
        )
        if not rows[0][0]:
            raise NotFound("thread", thread_id)
        if rows[0][1] is None:
            raise NotFound("message", message_id)
        return load(rows[0][1])  # type: ignore[no-any-return]

    async def put_message(self, tenant: str, obj: JSON) -> None:
        changed = await self._write(
            "UPDATE messages SET obj = ?, run_id = ? WHERE id = ? AND thread_id = ? AND tenant = ?",
            (_text(obj), obj.get("run_id"), obj["id"], obj["thread_id"], tenant),
        )
        if not changed:
            raise await self._missing("message", obj["id"], tenant, obj["thread_id"])

    async def delete_message(self, tenant: str, thread_id: str, message_id: str) -> None:
        changed = await self._write(
            "DELETE FROM messages WHERE id = ? AND thread_id = ? AND tenant = ?",
            (message_id, thread_id, tenant),
        )
        if not changed:
            raise await self._missing("message", message_id, tenant, thread_id)

    async def messages(
        self, tenant: str, thread_id: str, query: PageQuery, *, run_id: str | None = None
    ) -> Page:
        async with self._reader() as db:
            thread = functools.partial(self._need_thread, db, tenant, thread_id)
            if run_id is None:
                return await _page(db, "messages", (thread_id, tenant), query, thread)
            return await _page(db, "run_messages", (thread_id, run_id, tenant), query, thread)

    # --- runs -------------------------------------------------------------------------

    async def _active_run(self, db: Connection, thread_id: str) -> ActiveRunExists:
        rows = list(await db.execute_fetchall(_ACTIVE_RUN, (thread_id,)))
        return ActiveRunExists(thread_id, rows[0][0])

    async def add_run(
        self, tenant: str, run: RunRecord, messages: Sequence[JSON] = ()
    ) -> RunRecord:
        _check_messages(run.thread_id, messages)
        row = (*run_row(tenant, run), run.thread_id, tenant)
        rows = [_message_row(tenant, m) for m in messages]

        def insert(conn: sqlite3.Connection) -> None:
            try:
                cursor = conn.execute(
                    "INSERT INTO runs (seq, id, tenant, thread_id, created_at, status,"
                    f" version, obj, state) SELECT {_NEXT}, ?, ?, ?, ?, ?, 1, ?, ?"
                    f" WHERE {_THREAD_EXISTS}",
                    row,
                )
                if not cursor.rowcount:
                    raise NotFound("thread", run.thread_id)
                conn.executemany(_INSERT_MESSAGE, rows)
            except sqlite3.IntegrityError as exc:
                # The partial unique index on the thread's active run refused it.
                if "runs.thread_id" in str(exc):
                    (active,) = conn.execute(_ACTIVE_RUN, (run.thread_id,)).fetchone()
                    raise ActiveRunExists(run.thread_id, active) from None
                raise _duplicate(exc) from None

        await self._several(insert)
        return attrs.evolve(run, version=1)

    async def run(self, tenant: str, thread_id: str, run_id: str) -> RunRecord:
        rows = await self._rows(
            f"SELECT {_THREAD_EXISTS}, runs.obj, runs.state, runs.version FROM (SELECT 1)"
            " LEFT JOIN runs ON runs.id = ? AND runs.thread_id = ? AND runs.tenant = ?",
            (thread_id, tenant, run_id, thread_id, tenant),
        )
        exists, obj, state, version = rows[0]
        if not exists:
            raise NotFound("thread", thread_id)
        if obj is None:
            raise NotFound("run", run_id)
        return RunRecord(load(obj), load(state), version)

    async def run_if_changed(
        self, tenant: str, thread_id: str, run_id: str, version: int
    ) -> RunRecord | None:
        rows = await self._rows(
            f"SELECT {_THREAD_EXISTS}, runs.version,"
            " CASE WHEN runs.version = ? THEN NULL ELSE runs.obj END,"
            " CASE WHEN runs.version = ? THEN NULL ELSE runs.state END FROM (SELECT 1)"
            " LEFT JOIN runs ON runs.id = ? AND runs.thread_id = ? AND runs.tenant = ?",
            (thread_id, tenant, version, version, run_id, thread_id, tenant),
        )
        exists, found, obj, state = rows[0]
        if not exists:
            raise NotFound("thread", thread_id)
        if found is None:
            raise NotFound("run", run_id)
        return None if found == version else RunRecord(load(obj), load(state), found)

    async def put_run(self, tenant: str, run: RunRecord) -> RunRecord:
        # A conditional write: it lands only on the version the caller read.
        try:
            cursor = await self._statement(
                "UPDATE runs SET obj = ?, state = ?, status = ?, version = version + 1"
                " WHERE id = ? AND thread_id = ? AND tenant = ? AND version = ?",
                (
                    _text(run.obj),
                    _text(run.state),
                    run.obj["status"],
                    run.id,
                    run.thread_id,
                    tenant,
                    run.version,
                ),
            )
        except sqlite3.IntegrityError as exc:
            if "runs.thread_id" in str(exc):
                # The run that holds the thread is committed: a reader sees it.
                async with self._reader() as reader:
                    raise await self._active_run(reader, run.thread_id) from None
            raise  # pragma: no cover - no other constraint on an update of these
        if not cursor.rowcount:
            async with self._reader() as reader:
                await self._need_run(reader, tenant, run.thread_id, run.id)
            raise Conflict(f"run {run.id} has changed since version {run.version}")
        return attrs.evolve(run, version=run.version + 1)

    async def runs(self, tenant: str, thread_id: str, query: PageQuery) -> Page:
        async with self._reader() as db:
            thread = functools.partial(self._need_thread, db, tenant, thread_id)
            return await _page(db, "runs", (thread_id, tenant), query, thread)

    async def active_runs(self) -> list[tuple[str, RunRecord]]:
        rows = await self._rows(
            "SELECT tenant, obj, state, version FROM runs"
            f" WHERE {_ACTIVE_SQL} ORDER BY created_at, seq",
            (),
        )
        return [
            (tenant, RunRecord(load(obj), load(state), version))
            for tenant, obj, state, version in rows
        ]

    # --- run steps --------------------------------------------------------------------

    async def put_step(self, tenant: str, obj: JSON) -> None:
        # Added or replaced in one statement, only within this tenant's run; a step keeps
        # its place (created_at, seq) when it is replaced.
        changed = await self._write(
            "INSERT INTO steps (seq, id, tenant, thread_id, run_id, created_at, obj)"
            f" SELECT {_NEXT}, ?, ?, ?, ?, ?, ? WHERE {_RUN_EXISTS}"
            " ON CONFLICT (id) DO UPDATE SET obj = excluded.obj"
            " WHERE steps.run_id = excluded.run_id AND steps.tenant = excluded.tenant",
            (
                obj["id"],
                tenant,
                obj["thread_id"],
                obj["run_id"],
                obj["created_at"],
                _text(obj),
                obj["run_id"],
                obj["thread_id"],
                tenant,
            ),
        )
        if not changed:
            async with self._reader() as db:
                await self._need_run(db, tenant, obj["thread_id"], obj["run_id"])
            raise ValueError(f"step id {obj['id']} is already used by another run")

    async def step(self, tenant: str, thread_id: str, run_id: str, step_id: str) -> JSON:
        async with self._reader() as db:
            await self._need_run(db, tenant, thread_id, run_id)
            rows = list(
                await db.execute_fetchall(
                    "SELECT obj FROM steps WHERE id = ? AND run_id = ? AND tenant = ?",
                    (step_id, run_id, tenant),
                )
            )
        if not rows:
            raise NotFound("step", step_id)
        return load(rows[0][0])  # type: ignore[no-any-return]

    async def steps(self, tenant: str, thread_id: str, run_id: str, query: PageQuery) -> Page:
        async with self._reader() as db:
            await self._need_run(db, tenant, thread_id, run_id)
            return await _page(db, "steps", (run_id, tenant), query)

    async def delete_step(self, tenant: str, thread_id: str, run_id: str, step_id: str) -> None:
        changed = await self._write(
            "DELETE FROM steps WHERE id = ? AND run_id = ? AND thread_id = ? AND tenant = ?",
            (step_id, run_id, thread_id, tenant),
        )
        if not changed:
            async with self._reader() as db:
                await self._need_run(db, tenant, thread_id, run_id)
            raise NotFound("step", step_id)

    # --- idempotency keys -------------------------------------------------------------

    async def reply(self, tenant: str, key: str, now: float) -> Reply | None:
        rows = await self._rows(
            "SELECT status, body, content_type, request, expires_at FROM replies"
            " WHERE tenant = ? AND key = ? AND expires_at > ? AND claim IS NULL",
            (tenant, key, now),
        )
        return Reply(*rows[0]) if rows else None

    async def keep_reply(self, tenant: str, key: str, reply: Reply) -> None:
        await self._write(
            "INSERT OR REPLACE INTO replies"
            " (tenant, key, status, body, content_type, request, expires_at, claim)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
            (
                tenant,
                key,
                reply.status,
                reply.body,
                reply.content_type,
                reply.request,
                reply.expires_at,
            ),
        )

    async def forget_replies(self, now: float) -> int:
        return await self._write("DELETE FROM replies WHERE expires_at <= ?", (now,))

    async def claim_reply(
        self, tenant: str, key: str, claim: Claim, *, now: float, lease: float
    ) -> Reply | Claim | None:
        # One process per file: the wall clock is every claimant's.
        for _ in range(10):
            wall = time.time()
            taken = await self._write(
                "INSERT INTO replies (tenant, key, status, body, content_type, request,"
                " expires_at, claim, claimed_until) VALUES (?, ?, 0, x'', '', ?, ?, ?, ?)"
                " ON CONFLICT (tenant, key) DO UPDATE SET status = 0, body = x'',"
                " content_type = '', request = excluded.request,"
                " expires_at = excluded.expires_at, claim = excluded.claim,"
                " claimed_until = excluded.claimed_until"
                " WHERE (replies.claim IS NULL AND replies.expires_at <= ?)"
                " OR (replies.claim IS NOT NULL AND replies.claimed_until < ?)",
                (
                    tenant,
                    key,
                    claim.request,
                    claim.expires_at,
                    claim.owner,
                    wall + lease,
                    now,
                    wall,
                ),
            )
            if taken:
                return None
            rows = await self._rows(
                "SELECT status, body, content_type, request, expires_at, claim FROM replies"
                " WHERE tenant = ? AND key = ?",
                (tenant, key),
            )
            if not rows:  # released meanwhile: try again
                continue
            status, body, content_type, request, expires_at, owner = rows[0]
            if owner is not None:
                return Claim(owner, request, expires_at)
            if expires_at > now:
                return Reply(status, body, content_type, request, expires_at)
        raise Conflict(f"idempotency key {key!r} kept changing hands")

    async def release_claim(self, tenant: str, key: str, owner: str) -> None:
        await self._write(
            "DELETE FROM replies WHERE tenant = ? AND key = ? AND claim = ?", (tenant, key, owner)
        )

    async def renew_claims(self, owners: Sequence[str], *, lease: float) -> set[str]:
        if not owners:
            return set()
        marks = ", ".join("?" * len(owners))
        await self._write(
            f"UPDATE replies SET claimed_until = ? WHERE claim IN ({marks})",
            (time.time() + lease, *owners),
        )
        rows = await self._rows(f"SELECT claim FROM replies WHERE claim IN ({marks})", owners)
        return {row[0] for row in rows}


def _check_messages(thread_id: str, messages: Sequence[JSON]) -> None:
    for message in messages:
        if message["thread_id"] != thread_id:
            raise ValueError(f"message {message['id']} is not in thread {thread_id}")
