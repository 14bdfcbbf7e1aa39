"""Locks by key that last only while someone holds or waits for them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Hashable

__all__ = ["KeyedLocks"]


class KeyedLocks:
    """One holder at a time per key; a key's lock goes when its last holder leaves, so
    the map never grows with the keys seen."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}

    def __len__(self) -> int:
        return len(self._locks)

    def enter(self, key: Hashable) -> asyncio.Lock:
        """``key``'s lock, counted as held or awaited until ``leave(key)``: for a hot
        path that cannot pay for ``hold``'s generator (``async with`` the lock between)."""
        lock, holders = self._locks.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[key] = (lock, holders + 1)
        return lock

    def leave(self, key: Hashable) -> None:
        lock, holders = self._locks[key]
        if holders == 1:
            del self._locks[key]
        else:
            self._locks[key] = (lock, holders - 1)

    @contextlib.asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        lock = self.enter(key)
        try:
            async with lock:
                yield
        finally:
            self.leave(key)
