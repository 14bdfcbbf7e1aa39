"""Idempotency keys as the service scoped them: per key holder, per request, for a while.

A key is remembered per tenant (the API key, or the ``OpenAI-Project`` sent with it) with
a fingerprint of the request it came with (method, path, query, body). The same key on
the same request replays the first answer, streams included; on another request it is
an error. Entries expire after ``ttl`` seconds of the server's clock, and a key's lock
lives only while requests hold it.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Callable

import attrs

from ..server._idempotency import fingerprint
from ..server._locks import KeyedLocks

__all__ = ["IdempotencyStore", "Remembered", "fingerprint"]

Scope = tuple[str, str]


@attrs.frozen
class Remembered:
    """The first answer to a key: what a retry gets back."""

    fingerprint: str
    status: int
    body: bytes
    content_type: str
    created: float


class IdempotencyStore:
    def __init__(
        self,
        clock: Callable[[], float],
        *,
        ttl: float = 24 * 3600,
        size: int = 10_000,
        max_bytes: int = 32 * 1024 * 1024,
    ) -> None:
        self._clock = clock
        self.ttl = ttl
        self.size = size
        # The answers kept, in bytes: many large ones are forgotten oldest first.
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[Scope, Remembered] = OrderedDict()
        self._locks = KeyedLocks()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def held_locks(self) -> int:
        return len(self._locks)

    def clear(self) -> None:
        self._entries.clear()
        self.bytes = 0

    def hold(self, scope: Scope) -> contextlib.AbstractAsyncContextManager[None]:
        """One request at a time per key; the lock goes when its last holder leaves."""
        return self._locks.hold(scope)

    def get(self, scope: Scope) -> Remembered | None:
        self._expire()
        return self._entries.get(scope)

    def put(self, scope: Scope, entry: Remembered) -> None:
        old = self._entries.pop(scope, None)
        if old is not None:
            self.bytes -= len(old.body)
        self._entries[scope] = entry
        self.bytes += len(entry.body)
        while len(self._entries) > self.size or (
            self.bytes > self.max_bytes and len(self._entries) > 1
        ):
            _, dropped = self._entries.popitem(last=False)
            self.bytes -= len(dropped.body)

    def _expire(self) -> None:
        now = self._clock()
        while self._entries:
            scope, oldest = next(iter(self._entries.items()))
            if now - oldest.created < self.ttl:
                return
            del self._entries[scope]
            self.bytes -= len(oldest.body)
