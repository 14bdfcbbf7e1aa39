"""How the stores keep a record: compact JSON bytes, orjson where it is installed.

A record kept as bytes cannot be changed in place by anyone holding the dict it came
from, and every read hands out a fresh dict: the copy costs one parse (orjson: about a
microsecond for a typical object, far less than ``copy.deepcopy``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._store import RunRecord

__all__ = ["dump", "load", "run_row", "text"]

dump: Callable[[Any], bytes]
load: Callable[[bytes | str], Any]
try:  # a CPython dependency of the package
    import orjson
except ImportError:  # pragma: no cover - another interpreter: the stdlib alone

    def _dump(obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()

    dump, load = _dump, json.loads
else:
    dump, load = orjson.dumps, orjson.loads


def text(obj: Any) -> str:
    """A record as the text a database column keeps."""
    return dump(obj).decode()


def run_row(tenant: str, run: RunRecord) -> tuple[str, str, str, Any, str, str, str]:
    """A run's columns, as the SQL stores insert them: id, tenant, thread, created_at,
    status, then the object and the engine's state as text."""
    obj = run.obj
    return (
        run.id,
        tenant,
        run.thread_id,
        obj["created_at"],
        obj["status"],
        text(obj),
        text(run.state),
    )
