"""The server's tests: two stores on one PostgreSQL (the PostgreSQL itself, once per
session, and a new database per test: ``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from assistants_async.server._postgres import PostgresStore


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
