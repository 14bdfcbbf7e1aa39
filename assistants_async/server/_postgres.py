"""``Store`` on PostgreSQL, through asyncpg: the server's state shared by any number of
processes, on any number of machines.

Why asyncpg (over psycopg 3): it speaks PostgreSQL's binary protocol from asyncio
itself, with a connection pool, prepared statements cached per connection and
``LISTEN``/``NOTIFY`` built in, and needs no libpq on the machine; it is the fastest of
the Python drivers, and the server's requests are short statements where the driver's
own cost shows. psycopg 3 is fully typed and as correct, but its async pool is a second
package and its speed depends on a compiled extra; asyncpg's types come from
``asyncpg-stubs``.

The schema is SQLite's, row for row (``migrations/postgres/``): every object a row with
its JSON as TEXT, lists ordered by (created_at, seq) from one sequence. The invariants
live in the database, as in SQLite: the partial unique index ``runs_one_active`` (one
active run per thread), a run's write conditional on its version, foreign keys that
take a thread's messages, runs and steps with it. Every statement runs in READ
COMMITTED: a conditional ``UPDATE`` that waited for another writer's row re-reads it
and finds its version moved (``Conflict``), and an insert that waited on the unique
index sees the other run committed (``ActiveRunExists``).

One thing SQLite's single writer gives that this does not: seq is taken when a row is
inserted, not when it commits, so a list read while two transactions add to it may see
the later seq before the earlier one commits. A finished list is always in order; a
walk that races writers may miss an item written meanwhile (as it may under any store,
where created_at comes from each writer's clock).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg
import attrs

from ._codec import load, run_row
from ._codec import text as _text
from ._leases import events_channel
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
from ._urls import is_postgres_url, redacted

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    # A connection of its own (migrations) or one lent by the pool.
    _DB: TypeAlias = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]

__all__ = ["PostgresStore", "migrate", "migrations"]

# Exactly as the partial indexes of 0001_initial.sql write it, so that the planner
# proves a query's WHERE implies the index's own.
_ACTIVE_SQL = "status IN ('queued', 'in_progress', 'requires_action', 'cancelling')"
# The runs that move on their own (the engine's MOVING), as the index runs_leases has it.
_MOVING_SQL = "status IN ('queued', 'in_progress', 'cancelling')"

# The key of the advisory lock under which a process migrates (any constant; it only
# has to be the same in every process of this server).
_MIGRATION_LOCK = 0x61737369  # "assi"


# --- migrations -----------------------------------------------------------------------


@cache
def migrations() -> tuple[Migration, ...]:
    """The package's PostgreSQL migrations (``migrations/postgres/NNNN_name.sql``)."""
    return load_migrations("migrations", "postgres")


async def migrate(db: _DB, steps: Sequence[Migration]) -> int:
    """Bring the database up to the last of ``steps``, each applied in a transaction of
    its own (PostgreSQL's DDL is transactional: a failed step leaves the version before
    it), under an advisory lock so that processes starting at once apply each step
    once. Returns the version."""
    check_numbering(steps)
    async with db.transaction():
        await db.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
        await db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        await db.execute(
            "INSERT INTO schema_version (version)"
            " SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM schema_version)"
        )
    version = await _version(db)
    if version > len(steps):
        raise SchemaTooNew(
            f"the database is at schema version {version}; this release knows {len(steps)}"
        )
    for step in steps[version:]:
        async with db.transaction():
            await db.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
            # Another process may have applied it while this one waited for the lock.
            if await _version(db) < step.version:
                await db.execute(step.sql)
                await db.execute("UPDATE schema_version SET version = $1", step.version)
    return await _version(db)


async def _version(db: _DB) -> int:
    return int(await db.fetchval("SELECT version FROM schema_version"))


# --- paging ---------------------------------------------------------------------------

# Each list: its table and the columns that make it (parameters in this order).
_LISTS = {
    "assistants": ("assistants", ("tenant",)),
    "messages": ("messages", ("thread_id", "tenant")),
    "run_messages": ("messages", ("thread_id", "run_id", "tenant")),
    "runs": ("runs", ("thread_id", "tenant")),
    "steps": ("steps", ("run_id", "tenant")),
}


def _where(columns: Iterable[str], first: int = 1) -> str:
    return " AND ".join(f"{column} = ${n}" for n, column in enumerate(columns, first))


@cache
def _cursor_sql(name: str) -> str:
    table, columns = _LISTS[name]
    return f"SELECT created_at, seq FROM {table} WHERE id = $1 AND {_where(columns, 2)}"


@cache
def list_sql(name: str, *, lower: bool, upper: bool, descending: bool) -> str:
    """One page of list ``name``: rows after a lower and/or before an upper (created_at,
    seq) key, in that key's order or the reverse. Parameters: the list's own, then the
    lower key's two, the upper key's two, and the row limit."""
    table, columns = _LISTS[name]
    where = _where(columns)
    n = len(columns)
    if lower:
        where += f" AND (created_at, seq) > (${n + 1}, ${n + 2})"
        n += 2
    if upper:
        where += f" AND (created_at, seq) < (${n + 1}, ${n + 2})"
        n += 2
    way = "DESC" if descending else "ASC"
    return (
        f"SELECT obj FROM {table} WHERE {where} ORDER BY created_at {way}, seq {way} LIMIT ${n + 1}"
    )


async def _page(db: _DB, name: str, scope: tuple[str, ...], query: PageQuery) -> Page:
    if query.limit < 1:
        raise ValueError(f"limit must be at least 1, not {query.limit}")
    if _nul(*scope):  # an empty list: every cursor is unknown in it
        for param, cursor in (("after", query.after), ("before", query.before)):
            if cursor is not None:
                raise UnknownCursor(param, cursor)
        return Page([], False)
    after = await _cursor(db, name, scope, "after", query.after)
    before = await _cursor(db, name, scope, "before", query.before)
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
    rows = await db.fetch(sql, *params)
    has_more = len(rows) > query.limit
    items = [load(row[0]) for row in rows[: query.limit]]
    if backward:
        items.reverse()
    return Page(items, has_more)


async def _cursor(
    db: _DB, name: str, scope: tuple[str, ...], param: str, cursor: str | None
) -> tuple[int, int] | None:
    if cursor is None:
        return None
    if _nul(cursor):
        raise UnknownCursor(param, cursor)
    row = await db.fetchrow(_cursor_sql(name), cursor, *scope)
    if row is None:
        raise UnknownCursor(param, cursor)
    return row[0], row[1]


# --- the store ------------------------------------------------------------------------


def _thread_exists(thread: int, tenant: int) -> str:
    return f"EXISTS (SELECT 1 FROM threads WHERE id = ${thread} AND tenant = ${tenant})"


def _run_exists(run: int, thread: int, tenant: int) -> str:
    return (
        f"EXISTS (SELECT 1 FROM runs WHERE id = ${run} AND thread_id = ${thread}"
        f" AND tenant = ${tenant})"
    )


_INSERT_MESSAGE = (
    "INSERT INTO messages (id, tenant, thread_id, run_id, created_at, obj)"
    " VALUES ($1, $2, $3, $4, $5, $6)"
)


def _message_row(tenant: str, obj: JSON) -> tuple[Any, ...]:
    return (obj["id"], tenant, obj["thread_id"], obj.get("run_id"), obj["created_at"], _text(obj))


def _check_lease(owner: str, lease: float) -> None:
    if not owner:
        raise ValueError("owner must be a non-empty name of the process")
    if not lease > 0:
        raise ValueError(f"lease must be a number of seconds above 0, not {lease!r}")


def _nul(*values: str | None) -> bool:
    """Whether any of these has a NUL, which PostgreSQL's TEXT cannot hold: an id with
    one names no record (and must not reach the database, which would refuse it)."""
    return any(value is not None and "\x00" in value for value in values)


def _key(key: str) -> str:
    """An idempotency key as kept: NULs escaped (and the escape itself), one to one."""
    return key.replace("\\", "\\\\").replace("\x00", "\\0")


def _count(status: str) -> int:
    """The rows a command changed, from its status ("UPDATE 1", "INSERT 0 1")."""
    return int(status.rpartition(" ")[2])


def _duplicate(exc: asyncpg.UniqueViolationError) -> ValueError:
    return ValueError(f"an object with that id already exists ({exc.constraint_name})")


class PostgresStore:
    """``Store`` in a PostgreSQL database named by ``url`` (``postgresql://...``; the
    schema is made or migrated at ``open()``).

    ``pool_size``: the most connections this process holds (each request holds one for
    a statement or a transaction, then gives it back); ``min_pool_size`` are opened at
    once. Several processes may share the database: its constraints, not any
    process's memory, decide every conflict. ``connect_timeout``: seconds to wait for a
    connection before ``open()`` gives up.
    """

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        min_pool_size: int = 1,
        connect_timeout: float = 10.0,
        schema: Sequence[Migration] | None = None,
    ) -> None:
        if not is_postgres_url(url):
            raise ValueError(f"url must start with postgresql:// or postgres://, not {url!r}")
        if pool_size < 1:
            raise ValueError(f"pool_size must be at least 1, not {pool_size}")
        if not 0 <= min_pool_size <= pool_size:
            raise ValueError(f"min_pool_size must be between 0 and pool_size, not {min_pool_size}")
        self.url = url
        self._pool_size = pool_size
        self._min_pool_size = min_pool_size
        self._connect_timeout = connect_timeout
        # The migrations to apply (tests add their own); the package's by default.
        self._schema = schema
        self._pool: asyncpg.Pool | None = None
        # The connection that listens (LISTEN), and who hears each channel.
        self._listener: asyncpg.Connection[asyncpg.Record] | None = None
        self._heard: dict[str, list[Callable[[str], None]]] = {}
        self._listening = asyncio.Lock()

    def __repr__(self) -> str:
        return f"PostgresStore({redacted(self.url)!r})"

    async def open(self) -> None:
        if self._pool is not None:
            raise RuntimeError("the store is already open")
        pool = await asyncpg.create_pool(
            self.url,
            min_size=self._min_pool_size,
            max_size=self._pool_size,
            timeout=self._connect_timeout,
        )
        try:
            async with pool.acquire() as db:
                await migrate(db, migrations() if self._schema is None else self._schema)
        except BaseException:
            await pool.close()
            raise
        self._pool = pool

    async def close(self) -> None:
        listener, self._listener = self._listener, None
        self._heard.clear()
        if listener is not None:
            with contextlib.suppress(Exception):  # already lost
                await listener.close()
        pool, self._pool = self._pool, None
        if pool is not None:
            # Waits for the connections in use to come back, then closes them all.
            await pool.close()

    async def clear(self) -> None:
        await self._need_pool().execute(
            "TRUNCATE steps, runs, messages, threads, assistants, replies, run_events"
        )

    # --- connections ------------------------------------------------------------------

    def _need_pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the store is not open")
        return self._pool

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[_DB]:
        async with self._need_pool().acquire() as db:
            yield db

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[_DB]:
        async with self._need_pool().acquire() as db, db.transaction():
            yield db

    async def _execute(self, sql: str, *params: Any) -> int:
        """One statement, in a transaction of its own; returns the rows it changed."""
        return _count(await self._need_pool().execute(sql, *params))

    async def _row(self, sql: str, *params: Any) -> asyncpg.Record | None:
        return await self._need_pool().fetchrow(sql, *params)

    async def _need_thread(self, db: _DB, tenant: str, thread_id: str) -> None:
        if _nul(thread_id) or not await db.fetchval(
            f"SELECT {_thread_exists(1, 2)}", thread_id, tenant
        ):
            raise NotFound("thread", thread_id)

    async def _need_run(self, db: _DB, tenant: str, thread_id: str, run_id: str) -> None:
        if _nul(run_id):
            await self._need_thread(db, tenant, thread_id)
            raise NotFound("run", run_id)
        if _nul(thread_id):
            raise NotFound("thread", thread_id)
        row = await db.fetchrow(
            f"SELECT {_thread_exists(1, 2)}, {_run_exists(3, 1, 2)}", thread_id, tenant, run_id
        )
        assert row is not None
        if not row[0]:
            raise NotFound("thread", thread_id)
        if not row[1]:
            raise NotFound("run", run_id)

    async def _missing(self, kind: str, object_id: str, tenant: str, thread_id: str) -> NotFound:
        """Why a write in a thread touched nothing: no thread, or no such record in it."""
        async with self._connection() as db:
            await self._need_thread(db, tenant, thread_id)
        return NotFound(kind, object_id)

    async def _no_run(self, tenant: str, thread_id: str, run_id: str) -> NotFound:
        """Why a run was not found: no thread, or no such run in it (raised by
        ``_need_run`` whenever one of the ids names nothing)."""
        async with self._connection() as db:
            await self._need_run(db, tenant, thread_id, run_id)
        return NotFound("run", run_id)  # pragma: no cover - _need_run raised

    # --- assistants -------------------------------------------------------------------

    async def add_assistant(self, tenant: str, obj: JSON) -> None:
        try:
            await self._execute(
                "INSERT INTO assistants (id, tenant, created_at, obj) VALUES ($1, $2, $3, $4)",
                obj["id"],
                tenant,
                obj["created_at"],
                _text(obj),
            )
        except asyncpg.UniqueViolationError as exc:
            raise _duplicate(exc) from None

    async def assistant(self, tenant: str, assistant_id: str) -> JSON:
        if _nul(assistant_id):
            raise NotFound("assistant", assistant_id)
        row = await self._row(
            "SELECT obj FROM assistants WHERE id = $1 AND tenant = $2", assistant_id, tenant
        )
        if row is None:
            raise NotFound("assistant", assistant_id)
        return load(row[0])  # type: ignore[no-any-return]

    async def put_assistant(self, tenant: str, obj: JSON) -> None:
        if _nul(obj["id"]):
            raise NotFound("assistant", obj["id"])
        changed = await self._execute(
            "UPDATE assistants SET obj = $1 WHERE id = $2 AND tenant = $3",
            _text(obj),
            obj["id"],
            tenant,
        )
        if not changed:
            raise NotFound("assistant", obj["id"])

    async def delete_assistant(self, tenant: str, assistant_id: str) -> None:
        if _nul(assistant_id):
            raise NotFound("assistant", assistant_id)
        changed = await self._execute(
            "DELETE FROM assistants WHERE id = $1 AND tenant = $2", assistant_id, tenant
        )
        if not changed:
            raise NotFound("assistant", assistant_id)

    async def assistants(self, tenant: str, query: PageQuery) -> Page:
        async with self._connection() as db:
            return await _page(db, "assistants", (tenant,), query)

    # --- threads ----------------------------------------------------------------------

    async def add_thread(self, tenant: str, obj: JSON, messages: Sequence[JSON] = ()) -> None:
        _check_messages(obj["id"], messages)
        try:
            async with self._transaction() as db:
                await db.execute(
                    "INSERT INTO threads (id, tenant, created_at, obj) VALUES ($1, $2, $3, $4)",
                    obj["id"],
                    tenant,
                    obj["created_at"],
                    _text(obj),
                )
                if messages:
                    await db.executemany(
                        _INSERT_MESSAGE, [_message_row(tenant, m) for m in messages]
                    )
        except asyncpg.UniqueViolationError as exc:
            raise _duplicate(exc) from None

    async def thread(self, tenant: str, thread_id: str) -> JSON:
        if _nul(thread_id):
            raise NotFound("thread", thread_id)
        row = await self._row(
            "SELECT obj FROM threads WHERE id = $1 AND tenant = $2", thread_id, tenant
        )
        if row is None:
            raise NotFound("thread", thread_id)
        return load(row[0])  # type: ignore[no-any-return]

    async def put_thread(self, tenant: str, obj: JSON) -> None:
        if _nul(obj["id"]):
            raise NotFound("thread", obj["id"])
        changed = await self._execute(
            "UPDATE threads SET obj = $1 WHERE id = $2 AND tenant = $3",
            _text(obj),
            obj["id"],
            tenant,
        )
        if not changed:
            raise NotFound("thread", obj["id"])

    async def delete_thread(self, tenant: str, thread_id: str) -> None:
        if _nul(thread_id):
            raise NotFound("thread", thread_id)
        # Its messages and runs, and the runs' steps, go by ON DELETE CASCADE, in the
        # same statement.
        changed = await self._execute(
            "DELETE FROM threads WHERE id = $1 AND tenant = $2", thread_id, tenant
        )
        if not changed:
            raise NotFound("thread", thread_id)

    # --- messages ---------------------------------------------------------------------

    async def add_message(self, tenant: str, obj: JSON) -> None:
        # Inserted only if the thread is this tenant's: one statement, no read first.
        if _nul(obj["thread_id"]):
            raise NotFound("thread", obj["thread_id"])
        try:
            changed = await self._execute(
                "INSERT INTO messages (id, tenant, thread_id, run_id, created_at, obj)"
                f" SELECT $1, $2, $3, $4, $5, $6 WHERE {_thread_exists(3, 2)}",
                *_message_row(tenant, obj),
            )
        except asyncpg.UniqueViolationError as exc:
            raise _duplicate(exc) from None
        except asyncpg.ForeignKeyViolationError:  # the thread went meanwhile
            changed = 0
        if not changed:
            raise NotFound("thread", obj["thread_id"])

    async def message(self, tenant: str, thread_id: str, message_id: str) -> JSON:
        if _nul(thread_id, message_id):
            raise await self._missing("message", message_id, tenant, thread_id)
        row = await self._row(
            f"SELECT {_thread_exists(1, 2)}, (SELECT obj FROM messages"
            " WHERE id = $3 AND thread_id = $1 AND tenant = $2)",
            thread_id,
            tenant,
            message_id,
        )
        assert row is not None
        if not row[0]:
            raise NotFound("thread", thread_id)
        if row[1] is None:
            raise NotFound("message", message_id)
        return load(row[1])  # type: ignore[no-any-return]

    async def put_message(self, tenant: str, obj: JSON) -> None:
        if _nul(obj["id"], obj["thread_id"]):
            raise await self._missing("message", obj["id"], tenant, obj["thread_id"])
        changed = await self._execute(
            "UPDATE messages SET obj = $1, run_id = $2"
            " WHERE id = $3 AND thread_id = $4 AND tenant = $5",
            _text(obj),
            obj.get("run_id"),
            obj["id"],
            obj["thread_id"],
            tenant,
        )
        if not changed:
            raise await self._missing("message", obj["id"], tenant, obj["thread_id"])

    async def delete_message(self, tenant: str, thread_id: str, message_id: str) -> None:
        if _nul(thread_id, message_id):
            raise await self._missing("message", message_id, tenant, thread_id)
        changed = await self._execute(
            "DELETE FROM messages WHERE id = $1 AND thread_id = $2 AND tenant = $3",
            message_id,
            thread_id,
            tenant,
        )
        if not changed:
            raise await self._missing("message", message_id, tenant, thread_id)

    async def messages(
        self, tenant: str, thread_id: str, query: PageQuery, *, run_id: str | None = None
    ) -> Page:
        async with self._connection() as db:
            await self._need_thread(db, tenant, thread_id)
            if run_id is None:
                return await _page(db, "messages", (thread_id, tenant), query)
            return await _page(db, "run_messages", (thread_id, run_id, tenant), query)

    # --- runs -------------------------------------------------------------------------

    async def _active_run(self, thread_id: str) -> str | None:
        return await self._need_pool().fetchval(  # type: ignore[no-any-return]
            f"SELECT id FROM runs WHERE thread_id = $1 AND {_ACTIVE_SQL}", thread_id
        )

    async def add_run(
        self, tenant: str, run: RunRecord, messages: Sequence[JSON] = ()
    ) -> RunRecord:
        _check_messages(run.thread_id, messages)
        if _nul(run.thread_id):
            raise NotFound("thread", run.thread_id)
        # Refused by the thread's active run, which may have finished by the time it is
        # looked up: then the thread is free, and the run is tried again.
        for _ in range(5):
            try:
                async with self._transaction() as db:
                    added = await db.execute(
                        "INSERT INTO runs (id, tenant, thread_id, created_at, status,"
                        " version, obj, state) SELECT $1, $2, $3, $4, $5, 1, $6, $7"
                        f" WHERE {_thread_exists(3, 2)}",
                        *run_row(tenant, run),
                    )
                    if not _count(added):
                        raise NotFound("thread", run.thread_id)
                    if messages:
                        await db.executemany(
                            _INSERT_MESSAGE, [_message_row(tenant, m) for m in messages]
                        )
            except asyncpg.UniqueViolationError as exc:
                if exc.constraint_name != "runs_one_active":
                    raise _duplicate(exc) from None
                active = await self._active_run(run.thread_id)
                if active is not None:
                    raise ActiveRunExists(run.thread_id, active) from None
                continue
            except asyncpg.ForeignKeyViolationError:  # the thread went meanwhile
                raise NotFound("thread", run.thread_id) from None
            return attrs.evolve(run, version=1)
        raise Conflict(f"thread {run.thread_id}: its active run kept changing")

    async def run(self, tenant: str, thread_id: str, run_id: str) -> RunRecord:
        if _nul(thread_id, run_id):
            raise await self._no_run(tenant, thread_id, run_id)
        row = await self._row(
            f"SELECT {_thread_exists(1, 2)}, runs.obj, runs.state, runs.version FROM (SELECT 1) d"
            " LEFT JOIN runs ON runs.id = $3 AND runs.thread_id = $1 AND runs.tenant = $2",
            thread_id,
            tenant,
            run_id,
        )
        assert row is not None
        exists, obj, state, version = row
        if not exists:
            raise NotFound("thread", thread_id)
        if obj is None:
            raise NotFound("run", run_id)
        return RunRecord(load(obj), load(state), version)

    async def run_if_changed(
        self, tenant: str, thread_id: str, run_id: str, version: int
    ) -> RunRecord | None:
        if _nul(thread_id, run_id):
            raise await self._no_run(tenant, thread_id, run_id)
        row = await self._row(
            f"SELECT {_thread_exists(1, 2)}, runs.version,"
            " CASE WHEN runs.version = $4 THEN NULL ELSE runs.obj END,"
            " CASE WHEN runs.version = $4 THEN NULL ELSE runs.state END FROM (SELECT 1) d"
            " LEFT JOIN runs ON runs.id = $3 AND runs.thread_id = $1 AND runs.tenant = $2",
            thread_id,
            tenant,
            run_id,
            version,
        )
        assert row is not None
        exists, found, obj, state = row
        if not exists:
            raise NotFound("thread", thread_id)
        if found is None:
            raise NotFound("run", run_id)
        return None if found == version else RunRecord(load(obj), load(state), found)

    async def put_run(self, tenant: str, run: RunRecord) -> RunRecord:
        # A conditional write: it lands only on the version the caller read. A writer
        # that waited for another's row lock re-reads the row and finds it moved.
        if _nul(run.thread_id, run.id):
            raise await self._no_run(tenant, run.thread_id, run.id)
        for _ in range(5):
            try:
                changed = await self._execute(
                    # A run at rest is held by nobody: whichever process moves it
                    # on (tool outputs taken) claims it afresh.
                    "UPDATE runs SET obj = $1, state = $2, status = $3, version = version + 1,"
                    f" lease_owner = CASE WHEN {_MOVING_SQL.replace('status', '$3')}"
                    " THEN lease_owner END"
                    " WHERE id = $4 AND thread_id = $5 AND tenant = $6 AND version = $7",
                    _text(run.obj),
                    _text(run.state),
                    run.obj["status"],
                    run.id,
                    run.thread_id,
                    tenant,
                    run.version,
                )
            except asyncpg.UniqueViolationError as exc:
                if exc.constraint_name != "runs_one_active":  # pragma: no cover - none other
                    raise
                # As in add_run: the other active run may have finished since.
                active = await self._active_run(run.thread_id)
                if active is not None:
                    raise ActiveRunExists(run.thread_id, active) from None
                continue
            if not changed:
                async with self._connection() as db:
                    await self._need_run(db, tenant, run.thread_id, run.id)
                raise Conflict(f"run {run.id} has changed since version {run.version}")
            return attrs.evolve(run, version=run.version + 1)
        raise Conflict(f"thread {run.thread_id}: its active run kept changing")

    async def runs(self, tenant: str, thread_id: str, query: PageQuery) -> Page:
        async with self._connection() as db:
            await self._need_thread(db, tenant, thread_id)
            return await _page(db, "runs", (thread_id, tenant), query)

    async def active_runs(self) -> list[tuple[str, RunRecord]]:
        rows = await self._need_pool().fetch(
            "SELECT tenant, obj, state, version FROM runs"
            f" WHERE {_ACTIVE_SQL} ORDER BY created_at, seq"
        )
        return [
            (tenant, RunRecord(load(obj), load(state), version))
            for tenant, obj, state, version in rows
        ]

    # --- leases on moving runs ---------------------------------------------------------
    # Several processes on one database: a process moves a run only while it holds the
    # run's lease (by the database's clock, so the processes' clocks need not agree),
    # and renews it while it does; a run whose lease lapsed is claimed by another. The
    # lease is not the run's data: taking or renewing it leaves the version alone.
    # (The server uses them through LeasedEngine, in _leases.py.)

    async def claim_runs(
        self, owner: str, *, lease: float, limit: int
    ) -> list[tuple[str, RunRecord]]:
        """Up to ``limit`` moving runs whose lease lapsed, oldest lapse first, now held
        by ``owner`` for ``lease`` seconds; each with its tenant, as it stands. Claims
        made at once by several processes skip each other's rows (``SKIP LOCKED``): no
        run is handed to two of them."""
        _check_lease(owner, lease)
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        rows = await self._need_pool().fetch(
            "WITH lapsed AS (SELECT id FROM runs"
            f" WHERE {_MOVING_SQL} AND lease_until < now()"
            " ORDER BY lease_until LIMIT $3 FOR UPDATE SKIP LOCKED)"
            " UPDATE runs SET lease_owner = $1, lease_until = now() + make_interval(secs => $2)"
            " FROM lapsed WHERE runs.id = lapsed.id"
            " RETURNING runs.tenant, runs.obj, runs.state, runs.version",
            owner,
            float(lease),
            limit,
        )
        return [
            (tenant, RunRecord(load(obj), load(state), version))
            for tenant, obj, state, version in rows
        ]

    async def claim_run(self, owner: str, run_id: str, *, lease: float) -> bool:
        """Hold one moving run for ``lease`` seconds: a new one nobody holds yet, one
        whose lease lapsed, or one ``owner`` holds already (a renewal). False when
        another process holds it, or it is not moving (or not there)."""
        _check_lease(owner, lease)
        if _nul(run_id):
            return False
        return bool(
            await self._execute(
                "UPDATE runs SET lease_owner = $1, lease_until = now() + make_interval(secs => $3)"
                f" WHERE id = $2 AND {_MOVING_SQL}"
                " AND (lease_owner IS NULL OR lease_owner = $1 OR lease_until < now())",
                owner,
                run_id,
                float(lease),
            )
        )

    async def renew_leases(self, owner: str, run_ids: Sequence[str], *, lease: float) -> set[str]:
        """Extend ``owner``'s leases on these runs; the ids it still holds (a run taken
        over by another meanwhile is not among them: stop moving it)."""
        _check_lease(owner, lease)
        if not run_ids:
            return set()
        rows = await self._need_pool().fetch(
            "UPDATE runs SET lease_until = now() + make_interval(secs => $3)"
            " WHERE id = ANY($2) AND lease_owner = $1 RETURNING id",
            owner,
            [run_id for run_id in run_ids if not _nul(run_id)],
            float(lease),
        )
        return {row[0] for row in rows}

    async def release_run(self, owner: str, run_id: str) -> None:
        """Give up ``owner``'s lease on a run (a stopping process): another may claim it
        at once. Nothing happens if ``owner`` does not hold it."""
        if _nul(run_id):
            return
        await self._execute(
            "UPDATE runs SET lease_owner = NULL, lease_until = now()"
            " WHERE id = $2 AND lease_owner = $1",
            owner,
            run_id,
        )

    # --- run steps --------------------------------------------------------------------

    async def put_step(self, tenant: str, obj: JSON) -> None:
        # Added or replaced in one statement, only within this tenant's run; a step keeps
        # its place (created_at, seq) when it is replaced.
        if _nul(obj["thread_id"], obj["run_id"]):
            raise await self._no_run(tenant, obj["thread_id"], obj["run_id"])
        try:
            changed = await self._execute(
                "INSERT INTO steps (id, tenant, thread_id, run_id, created_at, obj)"
                f" SELECT $1, $2, $3, $4, $5, $6 WHERE {_run_exists(4, 3, 2)}"
                " ON CONFLICT (id) DO UPDATE SET obj = excluded.obj"
                " WHERE steps.run_id = excluded.run_id AND steps.tenant = excluded.tenant",
                obj["id"],
                tenant,
                obj["thread_id"],
                obj["run_id"],
                obj["created_at"],
                _text(obj),
            )
        except asyncpg.ForeignKeyViolationError:  # the run went meanwhile
            changed = 0
        if not changed:
            async with self._connection() as db:
                await self._need_run(db, tenant, obj["thread_id"], obj["run_id"])
            raise ValueError(f"step id {obj['id']} is already used by another run")

    async def step(self, tenant: str, thread_id: str, run_id: str, step_id: str) -> JSON:
        async with self._connection() as db:
            await self._need_run(db, tenant, thread_id, run_id)
            if _nul(step_id):
                raise NotFound("step", step_id)
            obj = await db.fetchval(
                "SELECT obj FROM steps WHERE id = $1 AND run_id = $2 AND tenant = $3",
                step_id,
                run_id,
                tenant,
            )
        if obj is None:
            raise NotFound("step", step_id)
        return load(obj)  # type: ignore[no-any-return]

    async def steps(self, tenant: str, thread_id: str, run_id: str, query: PageQuery) -> Page:
        async with self._connection() as db:
            await self._need_run(db, tenant, thread_id, run_id)
            return await _page(db, "steps", (run_id, tenant), query)

    async def delete_step(self, tenant: str, thread_id: str, run_id: str, step_id: str) -> None:
        changed = 0
        if not _nul(thread_id, run_id, step_id):
            changed = await self._execute(
                "DELETE FROM steps WHERE id = $1 AND run_id = $2 AND thread_id = $3"
                " AND tenant = $4",
                step_id,
                run_id,
                thread_id,
                tenant,
            )
        if not changed:
            async with self._connection() as db:
                await self._need_run(db, tenant, thread_id, run_id)
            raise NotFound("step", step_id)

    # --- idempotency keys -------------------------------------------------------------

    async def reply(self, tenant: str, key: str, now: float) -> Reply | None:
        row = await self._row(
            "SELECT status, body, content_type, request, expires_at FROM replies"
            " WHERE tenant = $1 AND key = $2 AND expires_at > $3 AND claim IS NULL",
            tenant,
            _key(key),
            now,
        )
        if row is None:
            return None
        status, body, content_type, request, expires_at = row
        return Reply(status, body, content_type, request, expires_at)

    async def keep_reply(self, tenant: str, key: str, reply: Reply) -> None:
        await self._execute(
            "INSERT INTO replies (tenant, key, status, body, content_type, request, expires_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant, key) DO UPDATE SET"
            " status = excluded.status, body = excluded.body,"
            " content_type = excluded.content_type, request = excluded.request,"
            " expires_at = excluded.expires_at, claim = NULL",
            tenant,
            _key(key),
            reply.status,
            reply.body,
            reply.content_type,
            reply.request,
            reply.expires_at,
        )

    async def forget_replies(self, now: float) -> int:
        return await self._execute("DELETE FROM replies WHERE expires_at <= $1", now)

    # --- what runs say, across processes -----------------------------------------------
    # A run moving on one process's timer writes what it says to run_events, and
    # announces it on the run's channel; a stream answered by another process listens
    # there and reads the rows (``LeasedEngine.relay``). Cancels are announced on
    # CANCELS. The listening is done on one connection of its own, outside the pool.

    async def publish_events(
        self, run_id: str, phase: int, events: Sequence[tuple[str, bytes]]
    ) -> None:
        """Add ``events`` (name, JSON) of the run's ``phase``, in order, and announce them."""
        if not events:
            return
        # One statement, one round trip. One writer per run at a time, each batch after
        # the last committed, and a batch's rows take their seq in its order: the rows of
        # a run commit in the order of their seq.
        await self._need_pool().execute(
            "WITH added AS (INSERT INTO run_events (run_id, phase, name, data)"
            " SELECT $1, $2, e.name, e.data"
            " FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS e(name, data, n)"
            " ORDER BY e.n RETURNING 1)"
            " SELECT pg_notify($5, '')",
            run_id,
            phase,
            [name for name, _ in events],
            [data.decode() for _, data in events],
            events_channel(run_id),
        )

    async def run_events(self, run_id: str, phase: int, after: int) -> list[tuple[int, str, JSON]]:
        """The events of the run's phases from ``phase`` on, past seq ``after``, in order."""
        rows = await self._need_pool().fetch(
            "SELECT seq, name, data FROM run_events"
            " WHERE run_id = $1 AND phase >= $2 AND seq > $3 ORDER BY seq",
            run_id,
            phase,
            after,
        )
        return [(seq, name, load(data)) for seq, name, data in rows]

    async def forget_events(self, older_than: float) -> int:
        """Delete the events said more than ``older_than`` seconds ago."""
        return await self._execute(
            "DELETE FROM run_events WHERE at < now() - make_interval(secs => $1)",
            float(older_than),
        )

    async def notify(self, channel: str, payload: str) -> None:
        await self._need_pool().execute("SELECT pg_notify($1, $2)", channel, payload)

    async def listen(self, channel: str, heard: Callable[[str], None]) -> None:
        """Call ``heard(payload)`` for each notification on ``channel`` from now on."""
        async with self._listening:
            db = await self._listener_connection()
            if channel not in self._heard:
                await db.add_listener(channel, self._dispatch)
                self._heard[channel] = []
            self._heard[channel].append(heard)

    async def unlisten(self, channel: str, heard: Callable[[str], None]) -> None:
        async with self._listening:
            hearers = self._heard.get(channel)
            if hearers is None or heard not in hearers:
                return
            hearers.remove(heard)
            if hearers:
                return
            del self._heard[channel]
            db = self._listener
            if db is not None and not db.is_closed():
                with contextlib.suppress(Exception):  # a lost connection listens no more
                    await db.remove_listener(channel, self._dispatch)

    async def keep_listening(self) -> None:
        """Open the listening connection again if it was lost (each channel heard anew)."""
        async with self._listening:
            await self._listener_connection()

    async def _listener_connection(self) -> asyncpg.Connection[asyncpg.Record]:
        db = self._listener
        if db is None or db.is_closed():
            self._need_pool()
            db = await asyncpg.connect(self.url, timeout=self._connect_timeout)
            try:
                for channel in self._heard:
                    await db.add_listener(channel, self._dispatch)
            except BaseException:
                await db.close()
                raise
            self._listener = db
        return db

    def _dispatch(self, db: object, pid: int, channel: str, payload: object) -> None:
        for heard in list(self._heard.get(channel, ())):
            heard(str(payload))

    async def claim_reply(
        self, tenant: str, key: str, claim: Claim, *, now: float, lease: float
    ) -> Reply | Claim | None:
        # One statement: the claim, or the row that holds the key. The row is read from
        # the statement's snapshot, which may predate the row that refused the claim
        # (committed while the insert waited for it): then it is tried again.
        for _ in range(10):
            row = await self._row(
                "WITH taken AS (INSERT INTO replies (tenant, key, status, body, content_type,"
                " request, expires_at, claim, claimed_until)"
                " VALUES ($1, $2, 0, ''::bytea, '', $3, $4, $5,"
                " now() + make_interval(secs => $6))"
                " ON CONFLICT (tenant, key) DO UPDATE SET status = 0, body = ''::bytea,"
                " content_type = '', request = excluded.request,"
                " expires_at = excluded.expires_at, claim = excluded.claim,"
                " claimed_until = excluded.claimed_until"
                " WHERE (replies.claim IS NULL AND replies.expires_at <= $7)"
                " OR (replies.claim IS NOT NULL AND replies.claimed_until < now())"
                " RETURNING 1)"
                " SELECT EXISTS (SELECT 1 FROM taken), r.status, r.body, r.content_type,"
                " r.request, r.expires_at, r.claim FROM (SELECT 1) d"
                " LEFT JOIN replies r ON r.tenant = $1 AND r.key = $2",
                tenant,
                _key(key),
                claim.request,
                claim.expires_at,
                claim.owner,
                float(lease),
                now,
            )
            assert row is not None
            taken, status, body, content_type, request, expires_at, owner = row
            if taken:
                return None
            if status is None:  # not in the snapshot: try again
                continue
            if owner is not None:
                return Claim(owner, request, expires_at)
            if expires_at > now:
                return Reply(status, body, content_type, request, expires_at)
        raise Conflict(f"idempotency key {key!r} kept changing hands")

    async def release_claim(self, tenant: str, key: str, owner: str) -> None:
        await self._execute(
            "DELETE FROM replies WHERE tenant = $1 AND key = $2 AND claim = $3",
            tenant,
            _key(key),
            owner,
        )

    async def renew_claims(self, owners: Sequence[str], *, lease: float) -> set[str]:
        if not owners:
            return set()
        rows = await self._need_pool().fetch(
            "UPDATE replies SET claimed_until = now() + make_interval(secs => $2)"
            " WHERE claim = ANY($1) RETURNING claim",
            list(owners),
            float(lease),
        )
        return {row[0] for row in rows}


def _check_messages(thread_id: str, messages: Sequence[JSON]) -> None:
    for message in messages:
        if message["thread_id"] != thread_id:
            raise ValueError(f"message {message['id']} is not in thread {thread_id}")
