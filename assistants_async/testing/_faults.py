"""Fault injection for the fake server: failures, latency and dropped connections."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["Fault", "Faults"]


def _count(name: str, value: object, *, low: int = 1, none: bool = False) -> None:
    if value is None and none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be a whole number >= {low}, not {value!r}")


def _seconds(name: str, value: object) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 <= value <= 24 * 3600
    ):
        raise ValueError(f"{name} must be a number of seconds from 0 to 86400, not {value!r}")


def _checked(fault: Fault) -> Fault:
    """A fault that will do what it says, or a clear error now (not a broken server later)."""
    _count("times", fault.remaining, none=True)
    _count("after_events", fault.after_events, low=0)
    _seconds("seconds", fault.seconds)
    if isinstance(fault.status, bool) or not isinstance(fault.status, int):
        raise ValueError(f"status must be a whole number, not {fault.status!r}")
    if not 400 <= fault.status <= 599:
        raise ValueError(f"status must be an error status, 400 to 599, not {fault.status}")
    if not isinstance(fault.message, str):
        raise ValueError(f"message must be a string, not {fault.message!r}")
    for name, value in fault.headers.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise ValueError(f"headers must map strings to strings: {name!r}: {value!r}")
        if any(ch in name + value for ch in "\r\n\0"):
            raise ValueError(f"header {name!r} holds a line break or NUL")
    try:
        json.dumps(fault.body, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        raise ValueError("body must be a JSON value (no NaN or Infinity)") from None
    return fault


@attrs.define
class Fault:
    operation: str  # an operationId such as "createRun", or "*" for any
    kind: str  # "fail", "drop" or "delay"
    remaining: int | None  # None: every request from now on
    status: int = 503
    body: Any = None
    headers: Mapping[str, str] = attrs.field(factory=dict)
    seconds: float = 0.0
    after_events: int = 0
    message: str = "The fake server was told to fail this stream."


class Faults:
    """What the server should do wrong, and to which operations.

    ``operation`` is the spec's operationId (``"getRun"``, ``"createMessage"``...) or
    ``"*"``; faults fire in the order they were added, before auth and handling.
    """

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def fail_next(
        self,
        operation: str = "*",
        times: int = 1,
        *,
        status: int = 503,
        retry_after: float | None = None,
        retry_after_ms: int | None = None,
        should_retry: bool | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` instead
        (``retry-after``, ``retry-after-ms`` and ``x-should-retry`` as given)."""
        extra = dict(headers or {})
        if should_retry is not None:
            extra["x-should-retry"] = "true" if should_retry else "false"
        if retry_after is not None:
            _seconds("retry_after", retry_after)
            extra["retry-after"] = f"{retry_after:g}"
        if retry_after_ms is not None:
            _count("retry_after_ms", retry_after_ms, low=0)
            extra["retry-after-ms"] = str(retry_after_ms)
        self._add(Fault(operation, "fail", times, status=status, body=body, headers=extra))

    def drop_next(self, operation: str = "*", times: int = 1) -> None:
        """Close the connection without answering the next ``times`` matching requests."""
        self._add(Fault(operation, "drop", times))

    def delay(self, operation: str = "*", seconds: float = 0.1, times: int | None = None) -> None:
        """Wait ``seconds`` before handling matching requests (all of them by default)."""
        self._add(Fault(operation, "delay", times, seconds=seconds))

    def error_in_stream(
        self,
        operation: str = "*",
        *,
        after_events: int = 0,
        message: str = "The fake server was told to fail this stream.",
        times: int = 1,
    ) -> None:
        """In the next streamed answer, send an ``error`` event after ``after_events`` events."""
        self._add(
            Fault(operation, "stream_error", times, after_events=after_events, message=message)
        )

    def cut_stream(self, operation: str = "*", *, after_events: int = 0, times: int = 1) -> None:
        """In the next streamed answer, drop the connection in the middle of an event."""
        self._add(Fault(operation, "stream_cut", times, after_events=after_events))

    def _add(self, fault: Fault) -> None:
        self._faults.append(_checked(fault))

    def clear(self) -> None:
        self._faults.clear()

    def take(self, operation: str | None) -> list[Fault]:
        """The faults that fire for one request, consuming their counts."""
        fired: list[Fault] = []
        for fault in self._faults:
            if fault.operation not in ("*", operation):
                continue
            if fault.remaining is not None:
                if fault.remaining <= 0:
                    continue
                fault.remaining -= 1
            fired.append(fault)
            if fault.kind in ("fail", "drop"):
                break  # the request ends here
        self._faults = [f for f in self._faults if f.remaining is None or f.remaining > 0]
        return fired
