"""The one table of exact-type rules both decoders apply: validate, never coerce.

``"12"`` is not an integer, ``True`` is not an integer, ``1`` is a number.
"""

from __future__ import annotations

from typing import Any

__all__ = ["EXACT", "json_kind"]

# A Python type -> (the exact JSON value types it accepts, how an error names it).
EXACT: dict[Any, tuple[tuple[type, ...], str]] = {
    str: ((str,), "a string"),
    int: ((int,), "an integer"),
    bool: ((bool,), "a boolean"),
    float: ((float, int), "a number"),
}


def json_kind(value: object) -> str:
    """How an error names a JSON value's kind."""
    names = {str: "string", int: "integer", float: "number", bool: "boolean", list: "array"}
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "object"
    return names.get(type(value), type(value).__name__)
