"""Random bytes from the system, read 4 KiB at a time."""

from __future__ import annotations

import os
import threading

__all__ = ["random_bytes"]

# One system call per 4 KiB, not one per id or key: on a busy server, a system call is
# where the process may lose its core, and each run makes about ten ids (the server's
# CPU per streamed run fell by about a sixth). Emptied in a forked child, which must
# not repeat its parent's ids and keys.
_POOL = bytearray()
_POOL_LOCK = threading.Lock()
os.register_at_fork(after_in_child=_POOL.clear)


def random_bytes(count: int) -> bytes:
    """``count`` (at most 4096) bytes from the system's randomness (``os.urandom``)."""
    with _POOL_LOCK:
        if len(_POOL) < count:
            _POOL[:] = os.urandom(4096)
        taken = bytes(_POOL[:count])
        del _POOL[:count]
    return taken
