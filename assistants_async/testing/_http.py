"""What the fake server's HTTP side shares: bodies, pages, errors and events on the wire."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .._schema import Invalid
from ..models.steps import FILE_SEARCH_RESULT_CONTENT
from ._faults import Fault
from ._store import JSON

__all__ = ["BODY", "RECORDING", "STREAM_FAULT", "envelope"]

# The parsed JSON body of a POST, validated before its handler runs.
BODY = web.RequestKey("assistants_async.body", dict)
STREAM_FAULT = web.RequestKey("assistants_async.stream_fault", Fault)
# A streamed answer's bytes, kept for replaying it to a retry with the same key.
RECORDING = web.RequestKey("assistants_async.recording", list)


def envelope(message: str, type: str, param: str | None = None, code: str | None = None) -> Any:
    """The OpenAI error envelope, as the API sent it."""
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def refuse(
    status: int,
    message: str,
    param: str | None = None,
    code: str | None = None,
    kind: str = "invalid_request_error",
) -> Invalid:
    """The one error the server's code raises: answer ``status`` with this envelope."""
    return Invalid(message, param, code, status=status, kind=kind)


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _json(obj: Any) -> web.Response:
    return web.Response(body=_dumps(obj), content_type="application/json")


def _loads_or_text(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return raw.decode("utf-8", errors="replace")


def _parse_body(raw: bytes) -> JSON:
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise refuse(
            400,
            "We could not parse the JSON body of your request. (HINT: This likely means you "
            "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, "
            "but what was sent was not valid JSON.)",
        ) from None
    if not isinstance(body, dict):
        raise Invalid("Invalid type for 'body': expected an object.", None, "invalid_type")
    return body


def _sse(name: str, data: Any) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def _check_include(request: web.Request) -> None:
    for value in request.query.getall("include[]", []):
        if value != FILE_SEARCH_RESULT_CONTENT:
            raise Invalid(
                f"Invalid value: '{value}'. Supported values are: '{FILE_SEARCH_RESULT_CONTENT}'.",
                "include[]",
                "invalid_value",
            )


def _query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Invalid(
            f"Invalid '{name}': expected an integer, but got '{raw}' instead.", name, "invalid_type"
        ) from None
    if value < low:
        raise Invalid(
            f"Invalid '{name}': integer below minimum value. Expected a value >= {low}, but got "
            f"{value} instead.",
            name,
            "integer_below_min_value",
        )
    if value > high:
        raise Invalid(
            f"Invalid '{name}': integer above maximum value. Expected a value <= {high}, but got "
            f"{value} instead.",
            name,
            "integer_above_max_value",
        )
    return value


def _page(items: list[JSON], request: web.Request) -> JSON:
    """One page of ``items`` (oldest first as stored) by limit/order/after/before."""
    limit = _query_int(request, "limit", 20, 1, 100)
    order = request.query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise Invalid(
            f"Invalid value: '{order}'. Supported values are: 'asc' and 'desc'.",
            "order",
            "invalid_value",
        )
    ordered = items if order == "asc" else items[::-1]
    index = {item["id"]: i for i, item in enumerate(ordered)}
    start, end = 0, len(ordered)
    for name in ("after", "before"):
        cursor = request.query.get(name)
        if cursor is None:
            continue
        if cursor not in index:
            raise Invalid(
                f"Invalid '{name}': no object with id '{cursor}' in this list.",
                name,
                "invalid_value",
            )
        if name == "after":
            start = index[cursor] + 1
        else:
            end = index[cursor]
    window = ordered[start:end]
    if "before" in request.query and "after" not in request.query:
        # Walking backward: the items nearest the cursor, still in list order.
        data = window[-limit:]
        has_more = len(window) > limit
    else:
        data = window[:limit]
        has_more = len(window) > limit
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": has_more,
    }


def _tenant(request: web.Request) -> str:
    project = request.headers.get("OpenAI-Project")
    if project:
        return f"project:{project}"
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    key = token.strip() if scheme.lower() == "bearer" else request.headers.get("api-key", "")
    return f"key:{key}"
