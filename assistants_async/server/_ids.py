"""Object ids shaped like the service's."""

from __future__ import annotations

import secrets
import string

__all__ = ["random_ids"]

_ALPHABET = string.ascii_letters + string.digits


def random_ids(prefix: str) -> str:
    """Ids shaped like the real ones: ``asst_`` and 24 random letters and digits."""
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(24))
