"""What every check shares: the registry of checks and the run context.

A check is a coroutine over a ``Context``. It calls the server through the public
client, and says what departs from the spec with ``ctx.expect(...)``. The client reads
tolerantly, so one deviation does not hide the next; every deviation it meets (its
``deviations`` record, as ``strict=True`` would raise them) is a finding of the check
that met it first, with the request and the trimmed response it came in.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import attrs

from .._client import AsyncClient
from .._deviations import operation_of
from .._errors import APIConnectionError, APIError, APIStatusError, ResponseValidationError
from ._record import (
    Exchange,
    Finding,
    Recorder,
    Result,
    TooManyRequests,
    Verdict,
    scrubbed,
    shown,
    trimmed,
)

__all__ = [
    "CHECKS",
    "Check",
    "Context",
    "Exchange",
    "Failed",
    "Finding",
    "Recorder",
    "Result",
    "Skipped",
    "TooManyRequests",
    "Verdict",
    "check",
    "scrubbed",
    "shown",
    "trimmed",
]

T = TypeVar("T")


class Skipped(Exception):
    """The check cannot run here; the reason says why, and ``cause`` names the check
    that failed at the root of it, if one did."""

    def __init__(self, reason: str, cause: str | None = None) -> None:
        super().__init__(reason)
        self.cause = cause


class Failed(Exception):
    """The operation cannot be used: the server refused a valid call or sent nothing
    readable."""

    def __init__(self, why: str, exchange: Exchange | None = None) -> None:
        super().__init__(why)
        self.why = why
        self.exchange = exchange


@attrs.frozen
class Check:
    id: str
    title: str
    run: Callable[[Context], Awaitable[None]]
    # Needs a run engine (a model, or a scripted responder) behind the server.
    runs: bool = False
    # The checks that make what this one works on: run first, even under --only.
    needs: tuple[str, ...] = ()


CHECKS: list[Check] = []


def check(
    id: str, title: str, *, runs: bool = False, needs: tuple[str, ...] = ()
) -> Callable[[Callable[[Context], Awaitable[None]]], Callable[[Context], Awaitable[None]]]:
    """Register a check; the order of registration is the order of the run."""

    def register(
        function: Callable[[Context], Awaitable[None]],
    ) -> Callable[[Context], Awaitable[None]]:
        if any(existing.id == id for existing in CHECKS):  # pragma: no cover - a typo
            raise ValueError(f"two checks named {id!r}")
        unknown = [n for n in needs if not any(c.id == n for c in CHECKS)]
        if unknown:  # pragma: no cover - a typo, or a check registered out of order
            raise ValueError(f"{id} needs {unknown}, not registered before it")
        CHECKS.append(Check(id, title, function, runs, needs))
        return function

    return register


# Marks every object the run makes, so that a person can find what was left behind.
MARK = {"made_by": "assistants-async check"}


class Context:
    """What a check works with: the client, the record, the objects made so far."""

    def __init__(
        self, client: AsyncClient, recorder: Recorder, *, model: str, base_path: str
    ) -> None:
        self.client = client
        self.recorder = recorder
        self.model = model
        self.base_path = base_path.rstrip("/")
        self.findings: list[Finding] = []
        self.fixtures: dict[str, Any] = {}
        self.made: dict[str, list[str]] = {"assistant": [], "thread": []}
        self.poll_interval = 0.05
        # What the last ``refused`` call made when the server accepted it after all.
        self.accepted: Any = None
        self.current = ""
        # What a passing check says instead of "as the spec says" (how much it tried).
        self.note = ""
        # Operations found unusable, and the check that found it: a later check that needs
        # one is skipped, so that one fault is reported once.
        self.failing: dict[str, str] = {}
        # For each check that failed or was skipped for a failure: the failed check.
        self.causes: dict[str, str] = {}

    # --- objects -----------------------------------------------------------------------

    def keep(self, kind: str, object_id: str) -> None:
        """Remember an object this run made, to delete it at the end."""
        if object_id not in self.made[kind]:
            self.made[kind].append(object_id)

    def forget(self, kind: str, object_id: str) -> None:
        if object_id in self.made[kind]:
            self.made[kind].remove(object_id)

    def need(self, name: str, made_by: str) -> Any:
        """A fixture an earlier check made, or a skip naming that check."""
        if name not in self.fixtures:
            what = f"needs {name.replace('_', ' ')} from {made_by}"
            cause = self.causes.get(made_by)
            if cause is None:
                raise Skipped(f"{what}, which did not make it")
            if cause == made_by:
                raise Skipped(f"{what}, which fails", cause)
            raise Skipped(f"{what}, which could not run: {cause} fails", cause)
        return self.fixtures[name]

    # --- findings ----------------------------------------------------------------------

    def operation(self, exchange: Exchange | None) -> str:
        if exchange is None:
            return "(no request)"
        path = exchange.path
        if self.base_path and path.startswith(self.base_path):
            path = path[len(self.base_path) :]
        return operation_of(exchange.method, path)

    def expect(
        self, ok: bool, path: str, expected: str, got: object, *, operation: str | None = None
    ) -> bool:
        """Record a finding unless ``ok``: on the last exchange's operation by default."""
        if not ok:
            exchange = self.recorder.last
            self.findings.append(
                Finding(
                    operation or self.operation(exchange),
                    path,
                    expected,
                    got if isinstance(got, str) else shown(got),
                    exchange,
                )
            )
        return ok

    def expect_equal(self, path: str, expected: object, got: object) -> bool:
        return self.expect(expected == got, path, shown(expected), got)

    def _deviations_since(self, seen: int, exchange: Exchange | None) -> None:
        for deviation in list(self.client.deviations)[seen:]:
            path = f"{deviation.model}.{deviation.path}" if deviation.path else deviation.model
            self.findings.append(
                Finding(deviation.operation, path, deviation.expected, deviation.got, exchange)
            )

    # --- calls -------------------------------------------------------------------------

    def failed(self, why: str, exchange: Exchange | None) -> Exception:
        """The error that ends the check when an operation cannot be used: ``Failed`` the
        first time, then ``Skipped`` in every later check that needs it."""
        operation = self.operation(exchange)
        found_by = self.failing.setdefault(operation, self.current)
        if found_by != self.current:
            return Skipped(f"needs {operation}, which fails (see {found_by})", found_by)
        return Failed(why, exchange)

    async def call(self, method: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """A call that must succeed: its deviations become findings; a refusal, a lost
        connection or an unreadable answer mean the operation cannot be used."""
        seen = len(self.client.deviations)
        try:
            response = await self.client.with_raw_response(method, *args, **kwargs)
        except APIStatusError as exc:
            exchange = self._answered(exc.status_code, exc.body)
            why = f"{self.operation(exchange)}: {exc.status_code} {exc.message}"
            raise self.failed(why, exchange) from None
        except ResponseValidationError as exc:
            exchange = self._answered(exc.status_code, exc.body)
            why = f"{self.operation(exchange)}: unreadable answer: {exc}"
            raise self.failed(why, exchange) from None
        except APIConnectionError as exc:
            exchange = self.recorder.last
            raise self.failed(f"{self.operation(exchange)}: {exc}", exchange) from None
        exchange = self._answered(response.status_code, response.raw.content)
        try:
            value = response.parsed
        except ResponseValidationError as exc:
            why = f"{self.operation(exchange)}: unreadable answer: {exc}"
            raise self.failed(why, exchange) from None
        self._deviations_since(seen, exchange)
        return value

    async def refused(
        self,
        status: int,
        method: Callable[..., Awaitable[Any]],
        *args: Any,
        envelope: bool = False,
        param: str | None = None,
        label: str = "status",
        **kwargs: Any,
    ) -> APIStatusError | None:
        """A call the spec answers with an error ``status``: anything else is a finding.
        What an accepted call made is kept for the clean-up (and in ``accepted``)."""
        self.accepted = None
        seen = len(self.client.deviations)
        try:
            accepted = await self.client.with_raw_response(method, *args, **kwargs)
        except APIStatusError as exc:
            exchange = self._answered(exc.status_code, exc.body)
            operation = self.operation(exchange)
            self.expect(
                exc.status_code == status,
                label,
                f"{status}",
                f"{exc.status_code} ({exc.message})",
                operation=operation,
            )
            if envelope:
                self._check_envelope(exc.body, operation)
            if param is not None and exc.status_code == status:
                self.expect(
                    exc.param == param, "error.param", repr(param), exc.param, operation=operation
                )
            return exc
        except APIError as exc:
            last = self.recorder.last
            raise self.failed(f"{self.operation(last)}: {exc}", last) from None
        exchange = self._answered(accepted.status_code, accepted.raw.content)
        self._deviations_since(seen, exchange)
        self.expect(False, label, f"{status}", f"{accepted.status_code}, the call accepted")
        try:
            self.accepted = accepted.parsed
        except ResponseValidationError:
            return None
        self.adopt(self.accepted)
        return None

    def adopt(self, made: Any) -> None:
        """Keep for the clean-up an assistant or thread a call made (a model or JSON)."""
        fields = made if isinstance(made, Mapping) else getattr(made, "__dict__", None)
        if fields is None and attrs.has(type(made)):
            fields = attrs.asdict(made, recurse=False)
        if not isinstance(fields, Mapping) or not isinstance(fields.get("id"), str):
            return
        kind = fields.get("object")
        if kind in self.made:
            self.keep(str(kind), fields["id"])

    def _check_envelope(self, body: object, operation: str) -> None:
        error = body.get("error") if isinstance(body, Mapping) else None
        if not isinstance(error, Mapping):
            self.expect(False, "error", "an error object", body, operation=operation)
            return
        self.expect(
            isinstance(error.get("message"), str) and bool(error.get("message")),
            "error.message",
            "a string",
            error.get("message"),
            operation=operation,
        )
        self.expect(
            isinstance(error.get("type"), str),
            "error.type",
            "a string",
            error.get("type"),
            operation=operation,
        )
        for key in ("param", "code"):
            value = error.get(key, ...)
            self.expect(
                value is None or isinstance(value, str),
                f"error.{key}",
                "a string or null",
                "nothing" if value is ... else value,
                operation=operation,
            )

    def _answered(self, status: int | None, body: object) -> Exchange | None:
        last = self.recorder.last
        if last is None:
            return None
        self.recorder.last = last.answered(status, body)
        return self.recorder.last

    async def wait_run(self, thread_id: str, run_id: str, *, until: frozenset[str]) -> Any:
        """Poll a run until its status is one of ``until`` or it can no longer get there."""
        delay = self.poll_interval
        while True:
            run = await self.call(self.client.runs.retrieve, thread_id, run_id)
            if run.status in until or run.status in _FINAL:
                return run
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 1.0)


_FINAL = frozenset({"completed", "failed", "cancelled", "expired", "incomplete"})
RESTING = frozenset({"requires_action"}) | _FINAL


def now() -> float:
    return time.monotonic()
