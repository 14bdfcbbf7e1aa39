"""Fault injection for the fake server: failures, latency and dropped connections."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["Fault", "Faults"]


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
            extra["retry-after"] = f"{retry_after:g}"
        if retry_after_ms is not None:
            extra["retry-after-ms"] = str(retry_after_ms)
        self._faults.append(
            Fault(operation, "fail", times, status=status, body=body, headers=extra)
        )

    def drop_next(self, operation: str = "*", times: int = 1) -> None:
        """Close the connection without answering the next ``times`` matching requests."""
        self._faults.append(Fault(operation, "drop", times))

    def delay(self, operation: str = "*", seconds: float = 0.1, times: int | None = None) -> None:
        """Wait ``seconds`` before handling matching requests (all of them by default)."""
        self._faults.append(Fault(operation, "delay", times, seconds=seconds))

    def error_in_stream(
        self,
        operation: str = "*",
        *,
        after_events: int = 0,
        message: str = "The fake server was told to fail this stream.",
        times: int = 1,
    ) -> None:
        """In the next streamed answer, send an ``error`` event after ``after_events`` events."""
        self._faults.append(
            Fault(operation, "stream_error", times, after_events=after_events, message=message)
        )

    def cut_stream(self, operation: str = "*", *, after_events: int = 0, times: int = 1) -> None:
        """In the next streamed answer, drop the connection in the middle of an event."""
        self._faults.append(Fault(operation, "stream_cut", times, after_events=after_events))

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
