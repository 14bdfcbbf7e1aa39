"""The fake server's request log: what it received, bounded, keys masked."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from typing import Any, overload

import attrs
from multidict import CIMultiDict

__all__ = ["MASKED_HEADERS", "LoggedRequest", "RequestLog"]

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


class RequestLog(Sequence[LoggedRequest]):
    """The newest ``size`` requests, oldest first: a ring buffer, so a long-running
    server's memory stays flat however many requests it serves."""

    def __init__(self, size: int) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"the request log size must be a whole number >= 1, not {size!r}")
        self._items: deque[LoggedRequest] = deque(maxlen=size)

    @property
    def size(self) -> int:
        maxlen = self._items.maxlen
        assert maxlen is not None
        return maxlen

    def append(self, entry: LoggedRequest) -> None:
        self._items.append(entry)

    def clear(self) -> None:
        self._items.clear()

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
