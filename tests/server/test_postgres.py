"""What the PostgreSQL store promises beyond the contract every store keeps
(test_store.py): its migrations, its arguments, and that several stores on one database,
as several server processes hold them, obey the database's rules together."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from assistants_async.server._engine import MOVING
from assistants_async.server._migrations import Migration, SchemaTooNew
from assistants_async.server._postgres import _MOVING_SQL, PostgresStore, list_sql, migrations
from assistants_async.server._store import (
    ACTIVE,
    ActiveRunExists,
    Conflict,
    PageQuery,
    RunRecord,
)
from assistants_async.server._urls import is_postgres_url, redacted

from .postgres import Cluster
from .test_store import T0, A, message, run, thread


@pytest.fixture
async def store(postgres_url: str) -> AsyncIterator[PostgresStore]:
    made = PostgresStore(postgres_url)
    await made.open()
    try:
        yield made
    finally:
        await made.close()


async def fetchval(url: str, sql: str) -> object:
    db = await asyncpg.connect(url)
    try:
        return await db.fetchval(sql)
    finally:
        await db.close()


# --- arguments and life ---------------------------------------------------------------


def test_bad_arguments_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="url"):
        PostgresStore("/var/lib/assistants.sqlite3")
    with pytest.raises(ValueError, match="pool_size"):
        PostgresStore("postgresql://127.0.0.1/x", pool_size=0)
    with pytest.raises(ValueError, match="min_pool_size"):
        PostgresStore("postgresql://127.0.0.1/x", pool_size=2, min_pool_size=3)


def test_urls_are_told_apart_from_files_and_shown_without_password() -> None:
    assert is_postgres_url("postgresql://u@h/db")
    assert is_postgres_url("postgres://u@h/db")
    assert not is_postgres_url("assistants.sqlite3")
    assert not is_postgres_url("./postgresql://x")
    assert redacted("postgresql://app:s3cret@db.internal:5432/a") == (
        "postgresql://app:***@db.internal:5432/a"
    )
    assert redacted("postgresql://app@db/a") == "postgresql://app@db/a"
    assert "s3cret" not in repr(PostgresStore("postgresql://app:s3cret@h/a"))


async def test_a_store_not_open_says_so(postgres_url: str) -> None:
    made = PostgresStore(postgres_url)
    with pytest.raises(RuntimeError, match="not open"):
        await made.thread(A, "thread_1")
    await made.open()
    with pytest.raises(RuntimeError, match="already open"):
        await made.open()
    await made.close()
    await made.close()  # twice: nothing to do
    with pytest.raises(RuntimeError, match="not open"):
        await made.thread(A, "thread_1")


async def test_a_database_that_does_not_answer_fails_open(postgres_cluster: Cluster) -> None:
    nobody = postgres_cluster.url("no_such_database")
    made = PostgresStore(nobody)
    with pytest.raises(asyncpg.InvalidCatalogNameError):
        await made.open()
    await made.close()


async def connections(url: str) -> int:
    """The connections to ``url``'s database, besides the one asking."""
    name = url.rpartition("/")[2]
    found = await fetchval(
        url,
        "SELECT count(*) FROM pg_stat_activity"
        f" WHERE datname = '{name}' AND pid <> pg_backend_pid()",
    )
    assert isinstance(found, int)
    return found


async def test_closing_leaves_no_connection_open(postgres_url: str) -> None:
    made = PostgresStore(postgres_url, pool_size=5)
    await made.open()
    await made.add_thread(A, thread(1))
    await asyncio.gather(*(made.add_message(A, message("thread_0001", n)) for n in range(50)))
    assert 1 <= await connections(postgres_url) <= 5
    await made.close()
    assert await connections(postgres_url) == 0
    # Nor does an open that fails halfway (here: in a migration).
    steps = migrations()
    broken = Migration(len(steps) + 1, "9999_broken.sql", "THIS IS NOT SQL;")
    with pytest.raises(asyncpg.PostgresSyntaxError):
        await PostgresStore(postgres_url, schema=(*steps, broken)).open()
    assert await connections(postgres_url) == 0


# --- migrations -----------------------------------------------------------------------


def test_the_package_migrations_are_numbered_from_one() -> None:
    found = migrations()
    assert [m.version for m in found] == list(range(1, len(found) + 1))
    assert found[0].name == "0001_initial.sql"


def test_the_active_statuses_are_written_as_the_store_knows_them() -> None:
    # The partial indexes and the store's queries repeat the list: all must be ACTIVE.
    schema = migrations()[0].sql
    written = "status IN ('queued', 'in_progress', 'requires_action', 'cancelling')"
    assert schema.count(written) == 2
    assert {s.strip("'") for s in written.split("(")[1].rstrip(")").split(", ")} == ACTIVE
    # And the moving ones, as the leases' index and queries have them: the engine's.
    moving = "status IN ('queued', 'in_progress', 'cancelling')"
    assert moving in migrations()[1].sql
    assert moving == _MOVING_SQL
    assert {s.strip("'") for s in moving.split("(")[1].rstrip(")").split(", ")} == MOVING


async def test_the_schema_is_made_once_even_by_stores_opening_at_once(postgres_url: str) -> None:
    stores = [PostgresStore(postgres_url) for _ in range(4)]
    await asyncio.gather(*(s.open() for s in stores))
    try:
        assert await fetchval(postgres_url, "SELECT version FROM schema_version") == len(
            migrations()
        )
        assert await fetchval(postgres_url, "SELECT count(*) FROM schema_version") == 1
        await stores[0].add_thread(A, thread(1))
        assert (await stores[3].thread(A, "thread_0001"))["id"] == "thread_0001"
    finally:
        for s in stores:
            await s.close()


EXTRA = Migration(2, "0002_test_only.sql", "ALTER TABLE threads ADD COLUMN note TEXT;")
BROKEN = Migration(2, "0002_broken.sql", "CREATE TABLE half (x INTEGER);\nTHIS IS NOT SQL;\n")


async def test_migrations_apply_in_order_each_in_a_transaction(postgres_url: str) -> None:
    first = (*migrations()[:1],)
    made = PostgresStore(postgres_url, schema=first)
    await made.open()
    await made.add_thread(A, thread(1))
    await made.close()

    # A step that fails leaves the version before it, and nothing of itself.
    with pytest.raises(asyncpg.PostgresSyntaxError):
        await PostgresStore(postgres_url, schema=(*first, BROKEN)).open()
    assert await fetchval(postgres_url, "SELECT version FROM schema_version") == 1
    assert await fetchval(postgres_url, "SELECT to_regclass('half')") is None

    # A second step applies on top of the first, and the data reads back.
    newer = PostgresStore(postgres_url, schema=(*first, EXTRA))
    await newer.open()
    try:
        assert (await newer.thread(A, "thread_0001"))["id"] == "thread_0001"
    finally:
        await newer.close()
    assert await fetchval(postgres_url, "SELECT version FROM schema_version") == 2
    assert await fetchval(postgres_url, "SELECT count(note) FROM threads") == 0

    # Opened again: nothing left to apply.
    again = PostgresStore(postgres_url, schema=(*first, EXTRA))
    await again.open()
    await again.close()

    # A release that knows fewer migrations than the database has refuses it.
    with pytest.raises(SchemaTooNew, match="version 2"):
        await PostgresStore(postgres_url, schema=first).open()
    with pytest.raises(ValueError, match="numbered"):
        await PostgresStore(postgres_url, schema=(EXTRA,)).open()


# --- several stores on one database (as several processes) ---------------------------


async def test_one_active_run_per_thread_across_stores(
    shared: tuple[PostgresStore, PostgresStore],
) -> None:
    one, other = shared
    t = "thread_0001"
    await one.add_thread(A, thread(1))
    results = await asyncio.gather(
        *((one if n % 2 else other).add_run(A, run(t, n), [message(t, n)]) for n in range(20)),
        return_exceptions=True,
    )
    won = [r for r in results if isinstance(r, RunRecord)]
    assert len(won) == 1
    lost = [r for r in results if not isinstance(r, RunRecord)]
    assert all(isinstance(r, ActiveRunExists) and r.run_id == won[0].id for r in lost), lost
    # And on a put: a finished run made active again while another is active.
    done = await one.add_run(A, run(t, 99, "completed"))
    with pytest.raises(ActiveRunExists) as caught:
        await other.put_run(A, RunRecord(done.obj | {"status": "queued"}, version=1))
    assert caught.value.run_id == won[0].id


async def test_one_writer_of_a_version_wins_across_stores(
    shared: tuple[PostgresStore, PostgresStore],
) -> None:
    one, other = shared
    t = "thread_0001"
    await one.add_thread(A, thread(1))
    added = await one.add_run(A, run(t, 1))
    results = await asyncio.gather(
        *(
            (one if i % 2 else other).put_run(
                A, RunRecord(added.obj | {"status": "in_progress"}, {"writer": i}, 1)
            )
            for i in range(10)
        ),
        return_exceptions=True,
    )
    won = [r for r in results if isinstance(r, RunRecord)]
    assert len(won) == 1
    assert all(isinstance(r, Conflict) for r in results if not isinstance(r, RunRecord))
    assert (await other.run(A, t, added.id)).state == won[0].state


async def test_a_list_written_by_several_stores_pages_without_gaps_or_repeats(
    shared: tuple[PostgresStore, PostgresStore],
) -> None:
    one, other = shared
    t = "thread_0001"
    await one.add_thread(A, thread(1))

    async def write(store: PostgresStore, first: int) -> None:
        for n in range(first, first + 100):
            await store.add_message(A, message(t, n, T0 + n // 40))  # ties: 40 a second

    await asyncio.gather(write(one, 0), write(other, 100), write(one, 200))
    for order in ("asc", "desc"):
        seen: list[str] = []
        after = None
        while True:
            page = await other.messages(A, t, PageQuery(limit=7, order=order, after=after))
            seen += [m["id"] for m in page.items]
            if not page.has_more:
                break
            after = seen[-1]
        assert len(seen) == len(set(seen)) == 300
        # Backward from the last item, following before=first.
        back = [seen[-1]]
        while True:
            page = await one.messages(A, t, PageQuery(limit=7, order=order, before=back[0]))
            back[:0] = [m["id"] for m in page.items]
            if not page.has_more:
                break
        assert back == seen


# --- the plan: lists seek their index, never sort the table ---------------------------


async def test_a_page_is_an_index_seek(store: PostgresStore, postgres_url: str) -> None:
    t = "thread_0001"
    await store.add_thread(A, thread(1))
    for n in range(300):
        await store.add_message(A, message(t, n, T0 + n // 50))
    db = await asyncpg.connect(postgres_url)
    try:
        await db.execute("ANALYZE messages")
        await db.execute("SET enable_seqscan = off")  # a small table: would scan anyway
        sql = list_sql("messages", lower=True, upper=False, descending=False)
        plan = "\n".join(
            row[0]
            for row in await db.fetch(
                f"EXPLAIN {sql}".replace("$1", "'thread_0001'")
                .replace("$2", f"'{A}'")
                .replace("$3", str(T0 + 2))
                .replace("$4", "5")
                .replace("$5", "21")
            )
        )
    finally:
        await db.close()
    assert "messages_list" in plan, plan
    assert "Sort" not in plan, plan


# --- leases on moving runs (the ground for several processes executing runs) ---------


async def lapse(url: str, *run_ids: str) -> None:
    """Make these runs' leases end now, as the clock would once they are not renewed."""
    db = await asyncpg.connect(url)
    try:
        await db.execute(
            "UPDATE runs SET lease_until = now() - interval '1 second' WHERE id = ANY($1)",
            list(run_ids),
        )
    finally:
        await db.close()


async def test_a_new_run_is_its_creators_to_claim_first(
    shared: tuple[PostgresStore, PostgresStore], postgres_url: str
) -> None:
    one, other = shared
    t = "thread_0001"
    await one.add_thread(A, thread(1))
    added = await one.add_run(A, run(t, 1))
    # Nobody's yet, but not lapsed: a sweep for lapsed runs leaves it to its creator.
    assert await other.claim_runs("proc-b", lease=30, limit=10) == []
    assert await one.claim_run("proc-a", added.id, lease=30)
    assert not await other.claim_run("proc-b", added.id, lease=30)
    assert await one.claim_run("proc-a", added.id, lease=30)  # its holder may renew
    # Lapsed (its process died): another takes it over, with the run as it stands.
    await lapse(postgres_url, added.id)
    taken = await other.claim_runs("proc-b", lease=30, limit=10)
    assert [(tenant, r.id, r.version) for tenant, r in taken] == [(A, added.id, 1)]
    assert not await one.claim_run("proc-a", added.id, lease=30)
    assert await one.renew_leases("proc-a", [added.id], lease=30) == set()
    assert await other.renew_leases("proc-b", [added.id], lease=30) == {added.id}


async def test_concurrent_claims_take_each_lapsed_run_once(
    postgres_url: str, store: PostgresStore
) -> None:
    ids = []
    for n in range(1, 41):
        await store.add_thread(A, thread(n))
        for k, status in enumerate(("queued", "in_progress", "cancelling", "completed")):
            if status == "completed" or k == n % 3:
                ids.append((await store.add_run(A, run(f"thread_{n:04d}", k, status))).id)
    moving = {run_id for run_id in ids if "_0003" not in run_id[-5:]}
    await lapse(postgres_url, *ids)
    claimers = [PostgresStore(postgres_url) for _ in range(4)]
    for claimer in claimers:
        await claimer.open()
    try:
        results = await asyncio.gather(
            *(claimers[i % 4].claim_runs(f"proc-{i % 4}", lease=30, limit=3) for i in range(40))
        )
    finally:
        for claimer in claimers:
            await claimer.close()
    taken = [r.id for found in results for _, r in found]
    assert len(taken) == len(set(taken))  # none twice
    assert set(taken) == moving  # every moving run, and no finished or waiting one
    assert all(len(found) <= 3 for found in results)


async def test_a_released_run_is_claimable_at_once(store: PostgresStore) -> None:
    t = "thread_0001"
    await store.add_thread(A, thread(1))
    added = await store.add_run(A, run(t, 1))
    assert await store.claim_run("proc-a", added.id, lease=30)
    await store.release_run("proc-b", added.id)  # not its lease: nothing happens
    assert await store.claim_runs("proc-b", lease=30, limit=5) == []
    await store.release_run("proc-a", added.id)  # stopping: hand it over
    assert [r.id for _, r in await store.claim_runs("proc-b", lease=30, limit=5)] == [added.id]
    # A run at rest is never claimed, whatever its lease.
    await store.put_run(A, RunRecord(added.obj | {"status": "completed"}, version=1))
    await store.release_run("proc-b", added.id)
    assert await store.claim_runs("proc-c", lease=30, limit=5) == []
    assert not await store.claim_run("proc-c", added.id, lease=30)
    assert not await store.claim_run("proc-c", "run_missing", lease=30)


async def test_lease_arguments_are_checked(store: PostgresStore) -> None:
    with pytest.raises(ValueError, match="lease"):
        await store.claim_runs("p", lease=0, limit=1)
    with pytest.raises(ValueError, match="limit"):
        await store.claim_runs("p", lease=1, limit=0)
    with pytest.raises(ValueError, match="owner"):
        await store.claim_run("", "run_1", lease=1)
    with pytest.raises(ValueError, match="lease"):
        await store.renew_leases("p", ["run_1"], lease=-1)
    assert await store.renew_leases("p", [], lease=1) == set()


async def test_a_run_at_rest_is_held_by_nobody(store: PostgresStore) -> None:
    # A run waiting on tool outputs is moved on by whichever process takes them.
    t = "thread_0001"
    await store.add_thread(A, thread(1))
    added = await store.add_run(A, run(t, 1))
    assert await store.claim_run("proc-a", added.id, lease=30)
    waiting = await store.put_run(
        A, RunRecord(added.obj | {"status": "requires_action"}, version=1)
    )
    assert await store.renew_leases("proc-a", [added.id], lease=30) == set()
    await store.put_run(A, RunRecord(waiting.obj | {"status": "queued"}, version=2))
    assert await store.claim_run("proc-b", added.id, lease=30)
    # While it moves, its holder keeps it through every write.
    await store.put_run(A, RunRecord(waiting.obj | {"status": "in_progress"}, version=3))
    assert await store.renew_leases("proc-b", [added.id], lease=30) == {added.id}
