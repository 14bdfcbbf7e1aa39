"""Every store for the suites that hold the fake (and the server) to the spec.

``any_store`` (in ``conftest.py``) runs a test on each, ``[memory]``, ``[sqlite]`` and
``[postgres]``: a suite written once proves every store, so a difference between them
is a failure here, not a surprise in production.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Literal

import attrs

from assistants_async.server import MemoryStore, PostgresStore, SQLiteStore, Store
from assistants_async.server._keys import Keys
from assistants_async.server._serve import ACCESS_LOG, AssistantsServer
from assistants_async.testing import FakeAssistantsServer, Responder

__all__ = [
    "STORES",
    "Served",
    "StoreKind",
    "count_threads",
    "migrated_database",
    "open_store",
    "serve",
]

StoreKind = Literal["memory", "sqlite", "postgres"]
STORES: tuple[StoreKind, ...] = ("memory", "sqlite", "postgres")


def migrated_database(directory: Path) -> Path:
    """A SQLite file with the current schema and nothing else, made once a session and
    copied for each test (opening a copy takes a few ms; migrating a new file, ~30)."""
    path = directory / "template.sqlite3"

    async def make() -> None:
        store = SQLiteStore(path)
        await store.open()
        await store.close()  # the last connection checkpoints the WAL into the file

    asyncio.run(make())
    assert not path.with_name(path.name + "-wal").exists()
    return path


@asynccontextmanager
async def open_store(
    kind: StoreKind, directory: Path, template: Path | None = None, url: str | None = None
) -> AsyncIterator[Store]:
    """An open store of ``kind`` (SQLite: a new file in ``directory``, a copy of
    ``template`` if given; PostgreSQL: the empty database at ``url``), closed after."""
    store: Store = MemoryStore()
    if kind == "postgres":
        assert url is not None, "a PostgreSQL store needs the URL of its database"
        store = PostgresStore(url)
    elif kind == "sqlite":
        path = directory / "fake.sqlite3"
        if template is not None:
            shutil.copyfile(template, path)
        store = SQLiteStore(path)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def count_threads(store: Store) -> int:
    """How many threads the store holds, every tenant's."""
    if isinstance(store, MemoryStore):
        return len(store.objects("thread"))
    if isinstance(store, PostgresStore):
        async with store._connection() as db:
            return int(await db.fetchval("SELECT count(*) FROM threads"))
    assert isinstance(store, SQLiteStore)
    # A connection of the test's own: the store's readers belong to its loop.
    with closing(sqlite3.connect(store.path)) as db:
        (count,) = db.execute("SELECT count(*) FROM threads").fetchone()
    return int(count)


@attrs.frozen
class Served:
    """A server answering the API at ``url`` for ``key``; ``log()`` lists the
    (method, path, status) of each request it answered, oldest first."""

    url: str
    key: str
    log: Callable[[], list[tuple[str, str, int | None]]]


class _AccessLines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[tuple[str, str, int | None]] = []

    def emit(self, record: logging.LogRecord) -> None:
        line = json.loads(record.getMessage())
        self.lines.append((line["method"], line["path"], line["status"]))


@asynccontextmanager
async def serve(
    kind: StoreKind,
    directory: Path,
    responder: Responder,
    template: Path | None = None,
    url: str | None = None,
) -> AsyncIterator[Served]:
    """The API on each store, as users meet it: ``memory``, the fake server (its own
    store); ``sqlite`` and ``postgres``, the real server (``AssistantsServer``) on a new
    SQLite file in ``directory`` (a copy of ``template`` if given) or on the database at
    ``url``, behind one API key, its runs moving on their own."""
    key = "sk-served"
    if kind == "memory":
        async with FakeAssistantsServer(responder=responder, api_key=key) as fake:
            assert fake.url is not None
            yield Served(
                fake.url, key, lambda: [(r.method, r.path, r.status) for r in fake.requests]
            )
        return
    lines, level = _AccessLines(), ACCESS_LOG.level
    ACCESS_LOG.addHandler(lines)
    ACCESS_LOG.setLevel(logging.INFO)
    try:
        async with open_store(kind, directory, template, url) as store:
            server = AssistantsServer(store, Keys([key]), responder=responder)
            url = await server.start()
            try:
                yield Served(url, key, lambda: list(lines.lines))
            finally:
                await server.stop()
    finally:
        ACCESS_LOG.removeHandler(lines)
        ACCESS_LOG.setLevel(level)
