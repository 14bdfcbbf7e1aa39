"""The Assistants server: the fake server's engine served durably.

The store interface (``Store``) with two implementations, ``MemoryStore`` and
``SQLiteStore`` (which needs the ``server`` extra, aiosqlite), the run engine
(``_engine``), the handlers (``_handlers``, ``_runs``), the aiohttp app (``_app``) and
the served whole (``_serve.AssistantsServer``), on which ``assistants_async.testing``
builds the fake server. Nothing here is imported by the client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._memory import MemoryStore
from ._store import Store

if TYPE_CHECKING:
    from ._sqlite import SQLiteStore

__all__ = ["MemoryStore", "SQLiteStore", "Store"]


def __getattr__(name: str) -> Any:
    # Imported on first use: aiosqlite is an optional extra.
    if name == "SQLiteStore":
        from ._sqlite import SQLiteStore

        return SQLiteStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
