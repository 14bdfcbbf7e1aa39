"""The Assistants server: the fake server's engine served durably.

The store interface (``Store``) with three implementations: ``MemoryStore``,
``SQLiteStore`` (which needs the ``server`` extra, aiosqlite) and ``PostgresStore`` (the
``postgres`` extra, asyncpg); the run engine (``_engine``, and ``_leases`` for several
processes on one PostgreSQL), the handlers (``_handlers``, ``_runs``), the aiohttp app
(``_app``) and the served whole (``_serve.AssistantsServer``), on which
``assistants_async.testing`` builds the fake server. Nothing here is imported by the
client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._memory import MemoryStore
from ._store import Store

if TYPE_CHECKING:
    from ._postgres import PostgresStore
    from ._sqlite import SQLiteStore

__all__ = ["MemoryStore", "PostgresStore", "SQLiteStore", "Store"]


def __getattr__(name: str) -> Any:
    # Imported on first use: aiosqlite and asyncpg are optional extras.
    if name == "SQLiteStore":
        from ._sqlite import SQLiteStore

        return SQLiteStore
    if name == "PostgresStore":
        from ._postgres import PostgresStore

        return PostgresStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
