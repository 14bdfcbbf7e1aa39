"""Retry policy as pure functions of (status, headers, attempt): no I/O, no sleeping.

The transport owns the one loop that applies these decisions.
"""

from __future__ import annotations

import email.utils
import math
import random
from collections.abc import Callable, Mapping

import attrs
from multidict import CIMultiDict, CIMultiDictProxy

__all__ = [
    "INITIAL_BACKOFF",
    "MAX_BACKOFF",
    "MAX_RETRY_AFTER",
    "RETRYABLE_STATUSES",
    "backoff_delay",
    "parse_retry_after",
    "retry_decision",
    "should_retry",
]

INITIAL_BACKOFF = 0.5
MAX_BACKOFF = 8.0
# The longest server-requested wait the client will sleep through; beyond it the
# error is raised at once, carrying the requested delay.
MAX_RETRY_AFTER = 60.0
RETRYABLE_STATUSES = frozenset({408, 409, 429})


def _get(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive lookup of a lower-case ``name`` in any header mapping."""
    value = headers.get(name)
    if value is None and not isinstance(headers, CIMultiDictProxy | CIMultiDict):
        for key, candidate in headers.items():
            if key.lower() == name:
                return candidate
    return value


def should_retry(status: int, headers: Mapping[str, str]) -> bool:
    """Whether a response with this status is worth another attempt."""
    override = _get(headers, "x-should-retry")
    if override is not None:
        flag = override.strip().lower()
        if flag == "true":
            return True
        if flag == "false":
            return False
    return status in RETRYABLE_STATUSES or status >= 500


def parse_retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds the server asks us to wait, or None when it does not say (or says nonsense).

    ``retry-after-ms`` wins over ``retry-after``; the latter is seconds or an HTTP date.
    ``now`` is the current Unix time, for the date form.
    """
    ms = _get(headers, "retry-after-ms")
    if ms is not None:
        try:
            value = float(ms) / 1000.0
        except ValueError:
            value = math.nan
        if math.isfinite(value) and value >= 0:
            return value
    raw = _get(headers, "retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        value = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:  # pragma: no cover - older Pythons returned None
            return None
        return max(0.0, when.timestamp() - now)
    if math.isfinite(value) and value >= 0:
        return value
    return None


def backoff_delay(retries_done: int, rand: Callable[[], float] = random.random) -> float:
    """Exponential backoff with jitter: 0.5 s doubling to 8 s, less up to 25 % jitter."""
    base = min(INITIAL_BACKOFF * (2.0**retries_done), MAX_BACKOFF)
    return base * (1.0 - 0.25 * rand())


@attrs.frozen
class RetryDecision:
    """Retry after ``delay`` seconds, or stop.

    ``retry_after`` is the server's requested wait when it exceeded the cap.
    """

    retry: bool
    delay: float = 0.0
    retry_after: float | None = None


def retry_decision(
    *,
    status: int | None,
    headers: Mapping[str, str],
    retries_done: int,
    max_retries: int,
    now: float,
    max_retry_after: float = MAX_RETRY_AFTER,
    rand: Callable[[], float] = random.random,
) -> RetryDecision:
    """Decide whether to retry. ``status`` is None for a connection error or timeout."""
    if status is not None and not should_retry(status, headers):
        return RetryDecision(False)
    requested = parse_retry_after(headers, now) if status is not None else None
    if requested is not None and requested > max_retry_after:
        return RetryDecision(False, retry_after=requested)
    if retries_done >= max_retries:
        return RetryDecision(False)
    if requested is not None:
        return RetryDecision(True, delay=requested)
    return RetryDecision(True, delay=backoff_delay(retries_done, rand))
