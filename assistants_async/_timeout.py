"""Time limits: ``Timeout``, what a number of seconds stands for, and how aiohttp is told."""

from __future__ import annotations

import math

import aiohttp
import attrs

__all__ = ["DEFAULT_TIMEOUT", "Timeout", "check_seconds", "coerce_timeout"]


def check_seconds(name: str, value: object, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds, not {type(value).__name__}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive, finite number of seconds, not {value!r}")


@attrs.frozen
class Timeout:
    """Time limits in seconds (None: no limit); the README's "Timeouts" table in full.

    ``connect``: per attempt, opening a connection (TCP and TLS). ``read``: the longest
    silence between two reads of an answer, headers or body, streams included.
    ``total``: per attempt, a whole answer that is not a stream (a stream lives while its
    events keep coming, bounded by ``read``). ``pool``: per attempt, waiting for a free
    connection plus connecting. ``deadline``: the whole call, retries and their waits
    included (for a stream, until it opens).
    """

    total: float | None = 600.0
    connect: float | None = 5.0
    read: float | None = 600.0
    pool: float | None = None
    deadline: float | None = None

    def __attrs_post_init__(self) -> None:
        for name in ("total", "connect", "read", "pool", "deadline"):
            check_seconds(f"timeout.{name}", getattr(self, name), allow_none=True)

    def _aiohttp(self, *, stream: bool = False, cap: float | None = None) -> aiohttp.ClientTimeout:
        total = None if stream else self.total
        read = self.read
        if total is not None and read is not None and read >= total:
            # The total fires first: a read timer would only cost two timer-heap
            # operations on every chunk received (benchmarks/README.md, "Fast paths").
            read = None
        if cap is not None:  # what is left of the deadline bounds every phase
            total = cap if total is None else min(total, cap)
            return aiohttp.ClientTimeout(
                total=total,
                connect=_least(self.pool, cap),
                sock_connect=_least(self.connect, cap),
                sock_read=None if read is None else min(read, cap),
                ceil_threshold=math.inf,  # aiohttp would round a long one up to the second
            )
        return aiohttp.ClientTimeout(
            total=total, connect=self.pool, sock_connect=self.connect, sock_read=read
        )


def _least(value: float | None, cap: float) -> float:
    return cap if value is None else min(value, cap)


DEFAULT_TIMEOUT = Timeout()


def coerce_timeout(value: float | Timeout, name: str = "timeout") -> Timeout:
    """A Timeout from a Timeout, or from a number of seconds: the number bounds each
    attempt, and each silence while reading (streams included); connecting keeps its
    5 s unless the number is smaller."""
    if isinstance(value, Timeout):
        return value
    check_seconds(name, value)
    seconds = float(value)
    return Timeout(total=seconds, read=seconds, connect=min(seconds, 5.0))
