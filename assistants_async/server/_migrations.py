"""Versioned schemas, shared by the SQL stores: ``NNNN_name.sql`` files applied in order,
each in a transaction of its own, the database remembering the last one applied.

SQLite's are in ``migrations/``, PostgreSQL's in ``migrations/postgres/``: the two
dialects differ (a trigger-fed counter against a sequence, ``BLOB`` against ``BYTEA``),
so each database has its own numbered steps.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from functools import cache
from importlib import resources

import attrs

__all__ = ["Migration", "SchemaTooNew", "check_numbering", "load"]

_MIGRATION_FILE = re.compile(r"(\d{4})_\w+\.sql")


@attrs.frozen
class Migration:
    """One step of the schema: ``version`` is what the database says after it."""

    version: int
    name: str
    sql: str

    def statements(self) -> list[str]:
        """The SQL split into statements (``sqlite3.complete_statement`` finds the ends)."""
        found: list[str] = []
        pending = ""
        for line in self.sql.splitlines(keepends=True):
            pending += line
            if sqlite3.complete_statement(pending):
                found.append(pending.strip())
                pending = ""
        rest = "".join(line for line in pending.splitlines() if not line.strip().startswith("--"))
        if rest.strip():
            raise ValueError(f"migration {self.name}: unterminated statement {rest.strip()!r}")
        return found


class SchemaTooNew(RuntimeError):
    """The database was made by a newer release than this one."""


@cache
def load(*folder: str) -> tuple[Migration, ...]:
    """The package's migrations in ``folder`` (under this package), in order."""
    place = resources.files(__package__ or "assistants_async.server")
    for part in folder:
        place = place / part
    found = sorted(
        (int(match[1]), entry.name, entry.read_text(encoding="utf-8"))
        for entry in place.iterdir()
        if (match := _MIGRATION_FILE.fullmatch(entry.name))
    )
    return tuple(Migration(*item) for item in found)


def check_numbering(steps: Sequence[Migration]) -> None:
    if [step.version for step in steps] != list(range(1, len(steps) + 1)):
        raise ValueError(f"migrations must be numbered 1, 2, 3...: {[m.name for m in steps]}")
