"""Checks run before anything is sent; each failure names the parameter."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from .._decoding.converter import JSONData, to_json_data
from .._schema import Invalid, validate
from .._timeout import check_seconds as _check_seconds
from .._types import NOT_GIVEN, NotGiven
from ..models.steps import FILE_SEARCH_RESULT_CONTENT

__all__ = [
    "request_body",
    "check_choice",
    "check_include",
    "check_limit",
    "check_max_items",
    "check_metadata",
    "check_tool_outputs",
    "path_id",
]

# Anything that could move the request elsewhere in the URL, or break the request line.
_UNSAFE_ID = re.compile(r"[/?#%\\\s\x00-\x1f\x7f]")
# Ids as the API makes them ("asst_abc123"): nothing in them needs quoting.
_PLAIN_ID = re.compile(r"[A-Za-z0-9_.~-]+").fullmatch
_MAX_METADATA_PAIRS = 16
_MAX_METADATA_KEY = 64
_MAX_METADATA_VALUE = 512


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


def check_metadata(metadata: Mapping[str, str] | NotGiven | None, name: str = "metadata") -> None:
    if metadata is None or isinstance(metadata, NotGiven):
        return
    if not isinstance(metadata, Mapping):
        raise TypeError(f"{name} must be a mapping of strings, not {type(metadata).__name__}")
    if len(metadata) > _MAX_METADATA_PAIRS:
        raise ValueError(f"{name} holds at most {_MAX_METADATA_PAIRS} pairs, not {len(metadata)}")
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"{name} keys and values must be strings: {_show(key)}")
        if len(key) > _MAX_METADATA_KEY:
            raise ValueError(
                f"{name} keys are at most {_MAX_METADATA_KEY} characters: {_show(key)}"
            )
        if len(value) > _MAX_METADATA_VALUE:
            raise ValueError(
                f"{name}[{key!r}] is at most {_MAX_METADATA_VALUE} characters, not {len(value)}"
            )


def check_tool_outputs(tool_outputs: Sequence[Any]) -> None:
    if isinstance(tool_outputs, str | bytes) or not isinstance(tool_outputs, Sequence):
        raise TypeError("tool_outputs must be a list of {tool_call_id, output} items")
    for index, item in enumerate(tool_outputs):
        if isinstance(item, Mapping):
            call_id, output = item.get("tool_call_id"), item.get("output")
        else:
            call_id = getattr(item, "tool_call_id", None)
            output = getattr(item, "output", None)
        if not isinstance(call_id, str) or not call_id:
            raise ValueError(f"tool_outputs[{index}] needs a tool_call_id")
        if output is not None and not isinstance(output, str):
            raise TypeError(
                f"tool_outputs[{index}].output must be a string (JSON-encode structured "
                f"results), not {type(output).__name__}"
            )


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


def check_role(role: object, name: str = "role") -> None:
    check_choice(name, role, ("user", "assistant"))


def check_messages(name: str, messages: Sequence[Any] | NotGiven | None) -> None:
    """Roles and metadata of messages given as dicts or ``MessageParam``s."""
    if messages is None or isinstance(messages, NotGiven):
        return
    if isinstance(messages, str | bytes | Mapping) or not isinstance(messages, Sequence):
        raise TypeError(f"{name} must be a list of messages")
    for index, message in enumerate(messages):
        if isinstance(message, Mapping):
            role, metadata = message.get("role"), message.get("metadata")
        else:
            role, metadata = getattr(message, "role", None), getattr(message, "metadata", None)
        if role is None:
            raise ValueError(f"{name}[{index}] needs a role ('user' or 'assistant')")
        check_role(role, f"{name}[{index}].role")
        check_metadata(metadata, f"{name}[{index}].metadata")


def check_seconds(name: str, value: float | None) -> None:
    """A positive, finite number of seconds, or None."""
    _check_seconds(name, value, allow_none=True)
