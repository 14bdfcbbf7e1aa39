"""The request log: what a server received, bounded, keys masked. The fake server keeps
one always; the server only with its control plane on (``--control``)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from typing import Any, overload

import attrs
from aiohttp import web
from multidict import CIMultiDict

from ._http import _loads_or_text

__all__ = ["MASKED_HEADERS", "LoggedRequest", "RequestLog", "log_entry"]

# Headers that carry a key, as the log shows them.
MASKED_HEADERS = {
    "authorization": "Bearer ***",
    "api-key": "***",
    "proxy-authorization": "***",
}


@attrs.define
class LoggedRequest:
    """One request as the server received it (the headers carrying a key masked)."""

    method: str
    path: str
    operation: str | None
    query: list[tuple[str, str]]
    headers: CIMultiDict[str]
    body: Any
    status: int = 0
    # About what the entry holds, in bytes: what the log's byte bound counts.
    size: int = attrs.field(default=0, repr=False, eq=False)

    def to_json(self) -> dict[str, Any]:
        """As the control plane sends it."""
        return {
            "method": self.method,
            "path": self.path,
            "operation": self.operation,
            "query": [list(pair) for pair in self.query],
            "headers": dict(self.headers),
            "body": self.body,
            "status": self.status,
        }


def log_entry(request: web.Request, operation: str | None, raw: bytes) -> LoggedRequest:
    """``request`` (its body ``raw``) as the log keeps it, its status still to come."""
    headers = CIMultiDict((k, MASKED_HEADERS.get(k.lower(), v)) for k, v in request.headers.items())
    return LoggedRequest(
        method=request.method,
        path=request.path,
        operation=operation,
        query=list(request.query.items()),
        headers=headers,
        body=_loads_or_text(raw),
        # Parsed JSON takes a few times its text: counted so, with the headers.
        size=3 * len(raw) + sum(len(k) + len(v) for k, v in headers.items()) + 200,
    )


# What the log may hold in all, by default: a flood of large bodies is forgotten
# oldest first, however few entries it makes.
DEFAULT_MAX_BYTES = 32 * 1024 * 1024


class RequestLog(Sequence[LoggedRequest]):
    """The newest ``size`` requests, oldest first, holding at most about ``max_bytes``
    (the newest one always kept): a ring buffer, so a long-running server's memory stays
    flat however many requests it serves, and however large."""

    def __init__(self, size: int, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"the request log size must be a whole number >= 1, not {size!r}")
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
            raise ValueError(f"max_bytes must be a whole number >= 1, not {max_bytes!r}")
        self._items: deque[LoggedRequest] = deque(maxlen=size)
        self.max_bytes = max_bytes
        self.bytes = 0

    @property
    def size(self) -> int:
        maxlen = self._items.maxlen
        assert maxlen is not None
        return maxlen

    def append(self, entry: LoggedRequest) -> None:
        items = self._items
        if len(items) == items.maxlen:
            self.bytes -= items[0].size  # the deque drops it
        items.append(entry)
        self.bytes += entry.size
        while self.bytes > self.max_bytes and len(items) > 1:
            self.bytes -= items.popleft().size

    def clear(self) -> None:
        self._items.clear()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[LoggedRequest]:
        return iter(self._items)

    @overload
    def __getitem__(self, index: int) -> LoggedRequest: ...

    @overload
    def __getitem__(self, index: slice) -> list[LoggedRequest]: ...

    def __getitem__(self, index: int | slice) -> LoggedRequest | list[LoggedRequest]:
        if isinstance(index, slice):
            return list(self._items)[index]
        return self._items[index]

    def __repr__(self) -> str:
        return f"RequestLog({len(self)} of at most {self.size})"
