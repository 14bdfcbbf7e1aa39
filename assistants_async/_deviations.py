"""Where a server departs from the spec: each kind reported once per client.

A tolerant client decodes what has a clear meaning and reports the rest here, three
ways at once: a ``SpecDeviationWarning`` (so a test suite can make it an error with the
standard warning filters), a log record on the ``assistants_async`` logger, and an entry
in ``client.deviations``. A strict client raises instead.
"""

from __future__ import annotations

import logging
import re
import threading
import warnings
from collections.abc import Iterable, Iterator

import attrs

__all__ = [
    "SILENT",
    "generic",
    "shown",
    "Deviation",
    "Deviations",
    "Reading",
    "SpecDeviationWarning",
    "operation_of",
]

log = logging.getLogger("assistants_async")

# Distinct kinds kept per client: a hostile server must not grow the list without end.
MAX_KINDS = 1000


class SpecDeviationWarning(UserWarning):
    """A server sent something the spec does not allow, and the client tolerated it.

    ``warnings.simplefilter("error", SpecDeviationWarning)`` turns each into an error.
    The ``deviation`` attribute holds the ``Deviation``.
    """

    def __init__(self, deviation: Deviation) -> None:
        super().__init__(str(deviation))
        self.deviation = deviation


@attrs.frozen
class Deviation:
    """One kind of departure from the spec: which operation, which model, which field
    (``data[3].tools``), what the spec expects there and what came."""

    operation: str
    model: str
    path: str
    expected: str
    got: str

    def __str__(self) -> str:
        where = f"{self.model}.{self.path}" if self.path else self.model
        return (
            f"{self.operation}: {where}: expected {self.expected}, got {self.got} "
            "(tolerated; AsyncClient(strict=True) raises instead)"
        )

    @property
    def kind(self) -> tuple[str, str, str, str, str]:
        """What makes two deviations the same kind: list indexes, map keys and the
        server's own strings aside (so no response can fill the record by itself)."""
        got = "a string" if self.got[:1] in ("'", '"') else self.got
        return (self.operation, self.model, generic(self.path), self.expected, got)


# An index or a map key as the paths spell them: [3], ['key'] (a key may hold "]").
_INDEX = re.compile(r"""\[(?:\d+|'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")\]""")
# What a deviation keeps of a value the server sent.
_SHOWN = 80


def generic(path: str) -> str:
    return _INDEX.sub("[*]", path)


def shown(text: str) -> str:
    """``text`` cut to a length a log line and a warning can carry."""
    return text if len(text) <= _SHOWN else f"{text[:_SHOWN]}... ({len(text):,} characters)"


class Deviations:
    """The deviations one client (and its ``with_options`` copies) has met, in order."""

    __slots__ = ("_announce", "_full", "_items", "_lock", "_seen")

    def __init__(self, *, announce: bool = True) -> None:
        # Off for a reader that reports them itself (the check command): recorded only.
        self._announce = announce
        self._full = False
        self._items: list[Deviation] = []
        self._seen: set[tuple[str, str, str, str, str]] = set()
        # The blocking client's loop thread and a caller's thread may both decode.
        self._lock = threading.Lock()

    def report(self, found: Iterable[Deviation]) -> None:
        """Record, log and warn of each new kind. Every kind is recorded and logged even
        when a warning filter turns the first warning into an error (raised last)."""
        fresh = []
        with self._lock:
            for deviation in found:
                kind = deviation.kind
                if kind in self._seen:
                    continue
                if len(self._seen) >= MAX_KINDS:
                    if not self._full:
                        self._full = True
                        log.warning(
                            "spec deviation: more than %d kinds met; no more are recorded",
                            MAX_KINDS,
                        )
                    break
                self._seen.add(kind)
                self._items.append(deviation)
                fresh.append(deviation)
        if not self._announce:
            return
        for deviation in fresh:
            log.warning("spec deviation: %s", deviation)
        error: Exception | None = None
        for deviation in fresh:
            try:
                warnings.warn(SpecDeviationWarning(deviation), stacklevel=2)
            except Exception as exc:  # a filter made it an error: the others still warn
                error = error or exc
        if error is not None:
            raise error

    def __iter__(self) -> Iterator[Deviation]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"<Deviations: {len(self._items)} kinds>"


@attrs.frozen
class Reading:
    """How one client reads responses: strictly, or tolerantly into ``deviations``
    (None: tolerantly and silently, for what the client built itself)."""

    strict: bool
    deviations: Deviations | None

    def report(self, found: Iterable[Deviation]) -> None:
        """Record what was ``found`` (nothing, when reading silently)."""
        if self.deviations is not None:
            self.deviations.report(found)


# For a stream's snapshots: built by merging deltas, they lack what no delta carries
# (a text's ``annotations``); each event was already read as its client reads.
SILENT = Reading(strict=False, deviations=None)


_ID_OF = {
    "assistants": "{assistant_id}",
    "threads": "{thread_id}",
    "messages": "{message_id}",
    "runs": "{run_id}",
    "steps": "{step_id}",
}


def operation_of(method: str, path: str) -> str:
    """``GET /threads/{thread_id}/runs/{run_id}`` for ``GET /threads/thread_1/runs/run_2``:
    the spec's path, with the ids of this call taken out."""
    parts = path.split("?", 1)[0].strip("/").split("/")
    out = []
    for i, part in enumerate(parts):
        previous = parts[i - 1] if i else ""
        # "runs" after a thread is a collection; "/threads/runs" is createThreadAndRun.
        if previous in _ID_OF and not (previous == "threads" and part == "runs"):
            out.append(_ID_OF[previous])
        else:
            out.append(part)
    return f"{method} /{'/'.join(out)}"
