"""The one table of exact-type rules both decoders apply: validate, never coerce.

``"12"`` is not an integer, ``True`` is not an integer, ``1`` is a number. ``1.0`` *is*
an integer: the spec is OpenAPI 3.1, whose JSON Schema dialect (2020-12) counts any
number with a zero fractional part as one, so it decodes as the ``int`` it stands for.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
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


def json_kind(value: object, *, api: bool = False) -> str:
    """How an error names a value's JSON kind: bare (``"integer"``), as the decoders
    report it; or, with ``api``, as the API's own errors do (``"an integer"``, a float
    ``"a decimal"``), saying too why a value that is no JSON has no kind."""
    if value is None:
        return "null"
    for types, bare, named in _KINDS:
        if isinstance(value, types):
            if api and isinstance(value, float) and not math.isfinite(value):
                return f"{value!r} (JSON has no such number)"
            return named if api else bare
    if not api:
        return type(value).__name__
    if type(value).__name__ == "NotGiven":
        return "NOT_GIVEN (it leaves out a whole argument, not a part of one)"
    if isinstance(value, set | frozenset):
        return "a set (JSON has none: use a list)"
    return f"a {type(value).__name__} (not a JSON value)"


# (types, bare name, the API's name); bool before int, which it subclasses.
_KINDS: tuple[tuple[Any, str, str], ...] = (
    (bool, "boolean", "a boolean"),
    (int, "integer", "an integer"),
    (float, "number", "a decimal"),
    (str, "string", "a string"),
    (list | tuple, "array", "an array"),
    (Mapping, "object", "an object"),
)
