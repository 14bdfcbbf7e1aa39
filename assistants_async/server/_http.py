"""What the server's HTTP side shares: bodies, pages, errors, tenants and events on the wire."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import attrs
from aiohttp import web

from .._schema import Invalid
from ..models.steps import FILE_SEARCH_RESULT_CONTENT
from ._keys import tenant_of_key
from ._store import JSON, Page, PageQuery

__all__ = ["BODY", "RECORDING", "STREAM_FAULT", "TENANT", "StreamBreak", "Transcript", "envelope"]

_fast_dumps: Callable[[Any], bytes] | None
_fast_loads: Callable[[bytes], Any]
try:  # a CPython dependency of the package
    from orjson import dumps as _fast_dumps
    from orjson import loads as _fast_loads
except ImportError:  # pragma: no cover - another interpreter: the stdlib alone
    _fast_dumps = None


@attrs.frozen
class StreamBreak:
    """Where a streamed answer is to break (the fake server's faults): after
    ``after_events`` events, an ``error`` event saying ``message`` (``kind``
    "stream_error") or a connection cut mid-event ("stream_cut")."""

    kind: str
    after_events: int
    message: str


# The parsed JSON body of a POST, validated before its handler runs.
BODY = web.RequestKey("assistants_async.body", dict)
# Whose request it is: every store call names this tenant.
TENANT = web.RequestKey("assistants_async.tenant", str)
STREAM_FAULT = web.RequestKey("assistants_async.stream_fault", StreamBreak)


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


class TextDeltaEvent(dict[str, Any]):
    """A ``thread.message.delta`` of one piece of text, with its server-sent event
    written from a template: the most frequent event of a stream, by far."""

    __slots__ = ("head", "sse", "text")

    def __init__(self, message_id: str, text: str) -> None:
        super().__init__(
            id=message_id,
            object="thread.message.delta",
            delta={
                "content": [
                    {"index": 0, "type": "text", "text": {"value": text, "annotations": []}}
                ]
            },
        )
        self.head = text_delta_head(message_id)
        self.text = text
        self.sse = text_delta_sse(self.head, text)


class Transcript:
    """A streamed answer as kept for a replay: its events in order, each unbroken run of
    one message's text deltas as one delta of its whole text. A client reading it ends
    with the same objects and text; what is held grows with the text, not with the
    count of pieces (about 190 bytes a piece, were each event kept)."""

    __slots__ = ("_chunks", "_events", "_head", "_pieces")
    _JOIN_AT = 1024  # pieces; a str each costs more than its characters

    def __init__(self) -> None:
        self._events: list[bytes] = []
        self._head = b""  # the text delta head of the open run of pieces
        self._pieces: list[str] = []
        self._chunks: list[str] = []  # its earlier pieces, joined a thousand at a time

    def event(self, event: bytes) -> None:
        if self._pieces or self._chunks:
            self._close()
        self._events.append(event)

    def text(self, head: bytes, text: str) -> None:
        """A text delta: ``text`` for the message of ``head`` (see text_delta_head)."""
        pieces = self._pieces
        if head is not self._head and (pieces or self._chunks) and head != self._head:
            self._close()
            pieces = self._pieces
        self._head = head
        pieces.append(text)
        if len(pieces) >= self._JOIN_AT:
            self._chunks.append("".join(pieces))
            pieces.clear()

    def _close(self) -> None:
        self._chunks += self._pieces
        self._events.append(text_delta_sse(self._head, "".join(self._chunks)))
        self._pieces, self._chunks = [], []

    def bytes(self) -> bytes:
        if self._pieces or self._chunks:
            self._close()
        return b"".join(self._events)


# A streamed answer as kept for replaying it to a retry with the same key.
RECORDING = web.RequestKey("assistants_async.recording", Transcript)


def text_delta_head(message_id: str) -> bytes:
    """What every text delta event of the message begins with, up to its text."""
    return _DELTA_HEAD + _string(message_id) + _DELTA_MID


def text_delta_sse(head: bytes, text: str) -> bytes:
    """The text delta event of ``text``, its message's ``head`` given."""
    return head + _string(text) + _DELTA_TAIL


def _string(text: str) -> bytes:
    if _fast_dumps is not None:
        try:
            return _fast_dumps(text)
        except TypeError:  # a lone surrogate, which orjson refuses: the stdlib escapes it
            pass
    return json.dumps(text).encode()


_DELTA_HEAD = b'event: thread.message.delta\ndata: {"id":'
_DELTA_MID = (
    b',"object":"thread.message.delta","delta":{"content":[{"index":0,"type":"text","text":'
    b'{"value":'
)
_DELTA_TAIL = b',"annotations":[]}}]}}\n\n'


def _sse(name: str, data: Any) -> bytes:
    """One server-sent event. orjson writes it where that changes nothing a reader sees:
    not where a null stands for a NaN or an infinity (the stdlib writes those), nor an
    integer beyond 64 bits (it refuses). A null read back equal to the data is a None."""
    if type(data) is TextDeltaEvent:
        return data.sse
    if _fast_dumps is not None:
        try:
            body = _fast_dumps(data)
        except TypeError:
            pass
        else:
            if b"null" not in body or _fast_loads(body) == data:
                return b"event: " + name.encode() + b"\ndata: " + body + b"\n\n"
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


def _page_query(request: web.Request) -> PageQuery:
    """A list request's limit, order and cursors, checked as the API checked them."""
    limit = _query_int(request, "limit", 20, 1, 100)
    order = request.query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise Invalid(
            f"Invalid value: '{order}'. Supported values are: 'asc' and 'desc'.",
            "order",
            "invalid_value",
        )
    return PageQuery(
        limit=limit,
        order=order,  # type: ignore[arg-type]  # checked just above
        after=request.query.get("after"),
        before=request.query.get("before"),
    )


def _list(page: Page) -> JSON:
    data = page.items
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": page.has_more,
    }


def _tenant(request: web.Request) -> str:
    """The fake's tenant: the project, else the key. A key is named by its digest, as
    on the server: a tenant is written to stores, and a store may be a file."""
    project = request.headers.get("OpenAI-Project")
    if project:
        return f"project:{project}"
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    key = token.strip() if scheme.lower() == "bearer" else request.headers.get("api-key", "")
    return tenant_of_key(key)
