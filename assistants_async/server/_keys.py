"""API keys: each accepted key is a tenant, known by a digest of the key.

Only digests are kept, in memory and in the database: a log line, a row or a memory
dump names a tenant without giving away the key that opens it. A request's key is
digested and then compared with every accepted digest in constant time
(``hmac.compare_digest``, with no early exit), so neither the timing nor the answer
says how close a wrong key came.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

__all__ = ["ENV_VAR", "Keys", "load_keys", "tenant_of_key"]

ENV_VAR = "ASSISTANTS_SERVER_KEYS"

# Changing this orphans every tenant's data: the database holds the digests.
_SALT = b"assistants-async tenant\n"


def _digest(key: str) -> bytes:
    return hashlib.sha256(_SALT + key.encode()).digest()


def tenant_of_key(key: str) -> str:
    """The tenant a key stands for, as the store and the logs name it."""
    return "key:" + _digest(key).hex()[:32]


class Keys:
    """The accepted keys, as digests."""

    def __init__(self, keys: Iterable[str]) -> None:
        self._tenants: dict[bytes, str] = {}
        for key in keys:
            self._tenants[_digest(key)] = tenant_of_key(key)
        if not self._tenants:
            raise ValueError("no API keys given")

    def __len__(self) -> int:
        return len(self._tenants)

    def tenant(self, given: str) -> str | None:
        """The tenant of ``given``, or None if no accepted key is it."""
        digest = _digest(given)
        found = None
        for known, tenant in self._tenants.items():
            if hmac.compare_digest(digest, known):
                found = tenant
        return found


def _split(text: str, where: str) -> list[str]:
    keys = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keys += [k for k in re.split(r"[\s,]+", line) if k]
    for key in keys:
        if not key.isprintable() or not key.isascii():
            raise ValueError(f"{where}: a key must be printable ASCII")
    return keys


def load_keys(keys_file: Path | None, environ: Mapping[str, str] = os.environ) -> Keys:
    """The keys of ``keys_file`` (one a line; blank lines and ``#`` comments left out)
    and of the environment variable ``ASSISTANTS_SERVER_KEYS`` (separated by commas or
    spaces), together."""
    keys: list[str] = []
    if keys_file is not None:
        keys += _split(keys_file.read_text(encoding="utf-8"), str(keys_file))
    keys += _split(environ.get(ENV_VAR, ""), ENV_VAR)
    if not keys:
        raise ValueError(f"no API keys: give --keys-file FILE or set {ENV_VAR}")
    return Keys(keys)
