"""The server's tests: a PostgreSQL for those that need one (started once per session,
on first use, and stopped at its end), a fresh database for each test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from assistants_async.server._postgres import PostgresStore

from .postgres import Cluster


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """PostgreSQL for this session: installed if missing, never skipped (a test that
    needs it fails, saying why, when it cannot start)."""
    cluster = Cluster()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def postgres_url(postgres_cluster: Cluster) -> Iterator[str]:
    """The URL of a new empty database, dropped after the test."""
    name = postgres_cluster.create_database()
    try:
        yield postgres_cluster.url(name)
    finally:
        postgres_cluster.drop_database(name)


@pytest.fixture
async def shared(postgres_url: str) -> AsyncIterator[tuple[PostgresStore, PostgresStore]]:
    """Two stores on one database: what two server processes share."""
    one, other = PostgresStore(postgres_url), PostgresStore(postgres_url)
    await one.open()
    await other.open()
    try:
        yield one, other
    finally:
        await one.close()
        await other.close()
