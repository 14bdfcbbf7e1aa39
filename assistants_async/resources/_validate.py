"""Checks run before anything is sent; each failure names the parameter.

A request body is checked against the spec's schema (``_schema.REQUEST_BODIES``), by
``request_body``. Here are only the checks the table cannot make: ids that go into
paths (and tool call ids), the list options, ``include``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from .._decoding.converter import JSONData, to_json_data
from .._schema import Invalid, validate
from .._timeout import check_seconds as _check_seconds
from .._types import NOT_GIVEN
from ..models.steps import FILE_SEARCH_RESULT_CONTENT

__all__ = [
    "request_body",
    "check_choice",
    "check_include",
    "check_limit",
    "check_max_items",
    "check_seconds",
    "check_tool_call_ids",
    "path_id",
]

# Anything that could move the request elsewhere in the URL, or break the request line.
_UNSAFE_ID = re.compile(r"[/?#%\\\s\x00-\x1f\x7f]")
# Ids as the API makes them ("asst_abc123"): nothing in them needs quoting.
_PLAIN_ID = re.compile(r"[A-Za-z0-9_.~-]+").fullmatch


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def path_id(name: str, value: object) -> str:
    """An id made safe to put in a URL path, or a clear error."""
    if type(value) is str and _PLAIN_ID(value) and value != "." and value != "..":
        return value  # the common case: quoting would change nothing
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, not {type(value).__name__}")
    if not value:
        raise ValueError(f"{name} must not be empty")
    if _UNSAFE_ID.search(value) or value in (".", ".."):
        raise ValueError(
            f"{name} must not contain '/', '?', '#', '%', '\\\\', whitespace or control "
            f"characters, nor be '.' or '..': {_show(value)}"
        )
    return quote(value, safe="")


def check_limit(limit: int | None) -> None:
    if limit is None:
        return
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise TypeError(f"limit must be an integer, not {type(limit).__name__}")
    if not 1 <= limit <= 100:
        raise ValueError(f"limit must be between 1 and 100, not {limit}")


def check_max_items(max_items: int | None) -> None:
    if max_items is None:
        return
    if isinstance(max_items, bool) or not isinstance(max_items, int):
        raise TypeError(f"max_items must be an integer, not {type(max_items).__name__}")
    if max_items < 0:
        raise ValueError(f"max_items must be >= 0, not {max_items}")


def check_choice(name: str, value: object, allowed: Sequence[str]) -> None:
    if value is None or value in allowed:
        return
    options = " or ".join(repr(a) for a in allowed)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be {options}, not {type(value).__name__}")
    raise ValueError(f"{name} must be {options}, not {_show(value)}")


def check_cursor(name: str, value: object) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string id, not {type(value).__name__}")
    if not value:
        raise ValueError(f"{name} must be a non-empty string id")


def check_tool_call_ids(tool_outputs: object) -> None:
    """Each tool output names the call it answers. The spec's schema does not require
    it, but an output without its call cannot be matched to one (the table checks the
    rest)."""
    if isinstance(tool_outputs, str | bytes) or not isinstance(tool_outputs, Sequence):
        return  # not a list: the table says so
    for index, item in enumerate(tool_outputs):
        if isinstance(item, Mapping):
            call_id = item.get("tool_call_id")
        else:
            call_id = getattr(item, "tool_call_id", None)
        if not isinstance(call_id, str) or not call_id:
            raise ValueError(f"tool_outputs[{index}] needs a tool_call_id")


def check_include(include: Sequence[str] | None) -> list[tuple[str, str]]:
    """The ``include[]`` query pairs, in the bracket form the API expects."""
    if include is None:
        return []
    if isinstance(include, str) or not isinstance(include, Sequence):
        raise TypeError(f"include must be a list of strings, not {type(include).__name__}")
    for value in include:
        check_choice("include", value, (FILE_SEARCH_RESULT_CONTENT,))
    return [("include[]", value) for value in include]


def request_body(operation: str, /, **fields: Any) -> JSONData:
    """The JSON body of ``operation`` (a spec operationId) from a method's fields.

    A field left at ``NOT_GIVEN`` is not sent; ``None`` is sent as ``null``. The result is
    checked against the spec's request schema before anything is sent: a wrong type is a
    ``TypeError``, a value out of the spec's range, length or enum a ``ValueError``, each
    naming the parameter (``None`` where the spec allows no null is a wrong type).
    """
    body = JSONData(
        {name: to_json_data(value) for name, value in fields.items() if value is not NOT_GIVEN}
    )
    try:
        validate(operation, body)
    except Invalid as exc:
        error = TypeError if exc.code == "invalid_type" else ValueError
        named = exc.param is None or f"'{exc.param}" in exc.message
        raise error(exc.message if named else f"{exc.param}: {exc.message}") from None
    return body


def check_seconds(name: str, value: float | None) -> None:
    """A positive, finite number of seconds, or None."""
    _check_seconds(name, value, allow_none=True)
