"""The fake server's ids and clock: random or predictable, wall or moved by hand."""

from __future__ import annotations

from ..server._ids import random_ids

__all__ = ["FakeClock", "SequentialIds", "random_ids"]


class SequentialIds:
    """Predictable ids for tests: ``asst_000001``, ``asst_000002``, ``msg_000001``..."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}

    def __call__(self, prefix: str) -> str:
        self._counts[prefix] = self._counts.get(prefix, 0) + 1
        return f"{prefix}_{self._counts[prefix]:06d}"


class FakeClock:
    """A clock the test moves by hand (Unix seconds)."""

    def __init__(self, start: int = 1_700_000_000) -> None:
        self.now = start

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: int) -> None:
        self.now += seconds
