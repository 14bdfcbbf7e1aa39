"""Object ids shaped like the service's."""

from __future__ import annotations

import secrets
import string

__all__ = ["random_ids"]

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
