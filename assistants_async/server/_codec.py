"""How the stores keep a record: compact JSON bytes, orjson where it is installed.

A record kept as bytes cannot be changed in place by anyone holding the dict it came
from, and every read hands out a fresh dict: the copy costs one parse (orjson: about a
microsecond for a typical object, far less than ``copy.deepcopy``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["dump", "load"]

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
