"""The fake server's ids and clock: random or predictable, wall or moved by hand."""

from __future__ import annotations

import secrets
import string

__all__ = ["FakeClock", "SequentialIds", "random_ids"]

_ALPHABET = string.ascii_letters + string.digits
# A random byte below 248 (4 x 62) names a character evenly; the rest are dropped. One
# read of the system's randomness an id, not 24 calls of secrets.choice (the fake made
# about a dozen ids a run, and they were its largest single cost).
_CHARS = bytes(_ALPHABET.encode()[b % len(_ALPHABET)] for b in range(256))
_UNEVEN = bytes(range(4 * len(_ALPHABET), 256))


def random_ids(prefix: str) -> str:
    """Ids shaped like the real ones: ``asst_`` and 24 random letters and digits."""
    while True:
        chars = secrets.token_bytes(32).translate(_CHARS, _UNEVEN)
        if len(chars) >= 24:  # all but about once in ten million
            return f"{prefix}_{chars[:24].decode()}"


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
