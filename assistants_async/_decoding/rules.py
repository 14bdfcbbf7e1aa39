"""The one table of exact-type rules both decoders apply: validate, never coerce.

``"12"`` is not an integer, ``True`` is not an integer, ``1`` is a number. ``1.0`` *is*
an integer: the spec is OpenAPI 3.1, whose JSON Schema dialect (2020-12) counts any
number with a zero fractional part as one, so it decodes as the ``int`` it stands for.
"""

from __future__ import annotations

from typing import Any

__all__ = ["EXACT", "as_integer", "json_kind"]

# A Python type -> (the exact JSON value types it accepts, how an error names it).
EXACT: dict[Any, tuple[tuple[type, ...], str]] = {
    str: ((str,), "a string"),
    int: ((int,), "an integer"),
    bool: ((bool,), "a boolean"),
    float: ((float, int), "a number"),
}


def as_integer(value: object) -> int | None:
    """The integer a JSON number other than an ``int`` stands for (``1796499558.0``), or
    None when it stands for none (``1.5``, infinity, ``true``, ``"12"``)."""
    if type(value) is float and value.is_integer():
        return int(value)
    return None


def json_kind(value: object) -> str:
    """How an error names a JSON value's kind."""
    names = {str: "string", int: "integer", float: "number", bool: "boolean", list: "array"}
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "object"
    return names.get(type(value), type(value).__name__)
