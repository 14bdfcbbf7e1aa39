"""Both stores for the suites that hold the fake (and the server) to the spec.

``any_store`` (in ``conftest.py``) runs a test twice, ``[memory]`` and ``[sqlite]``: a
suite written once proves both stores, so a difference between them is a failure
here, not a surprise in production.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Literal

from assistants_async.server import MemoryStore, SQLiteStore, Store

__all__ = ["STORES", "StoreKind", "count_threads", "open_store"]

StoreKind = Literal["memory", "sqlite"]
STORES: tuple[StoreKind, ...] = ("memory", "sqlite")


@asynccontextmanager
async def open_store(kind: StoreKind, directory: Path) -> AsyncIterator[Store]:
    """An open store of ``kind`` (SQLite: a new file in ``directory``), closed after."""
    store: Store = MemoryStore() if kind == "memory" else SQLiteStore(directory / "fake.sqlite3")
    await store.open()
    try:
        yield store
    finally:
        await store.close()


def count_threads(store: Store) -> int:
    """How many threads the store holds, every tenant's."""
    if isinstance(store, MemoryStore):
        return len(store.objects("thread"))
    assert isinstance(store, SQLiteStore)
    # A connection of the test's own: the store's readers belong to its loop.
    with closing(sqlite3.connect(store.path)) as db:
        (count,) = db.execute("SELECT count(*) FROM threads").fetchone()
    return int(count)
