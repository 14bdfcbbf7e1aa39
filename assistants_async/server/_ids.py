"""Object ids shaped like the service's."""

from __future__ import annotations

import string

from .._random import random_bytes

__all__ = ["random_ids"]

_ALPHABET = string.ascii_letters + string.digits
# A random byte below 248 (4 x 62) names a character evenly; the rest are dropped.
_CHARS = bytes(_ALPHABET.encode()[b % len(_ALPHABET)] for b in range(256))
_UNEVEN = bytes(range(4 * len(_ALPHABET), 256))


def random_ids(prefix: str) -> str:
    """Ids shaped like the real ones: ``asst_`` and 24 random letters and digits."""
    while True:
        chars = random_bytes(32).translate(_CHARS, _UNEVEN)
        if len(chars) >= 24:  # all but about once in ten million
            return f"{prefix}_{chars[:24].decode()}"
