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
        """What makes two deviations the same kind: list indexes and map keys aside."""
        return (self.operation, self.model, _generic(self.path), self.expected, self.got)


_INDEX = re.compile(r"\[[^\]]*\]")


def _generic(path: str) -> str:
    return _INDEX.sub("[*]", path)


class Deviations:
    """The deviations one client (and its ``with_options`` copies) has met, in order."""

    __slots__ = ("_items", "_lock", "_seen")

    def __init__(self) -> None:
        self._items: list[Deviation] = []
        self._seen: set[tuple[str, str, str, str, str]] = set()
        # The blocking client's loop thread and a caller's thread may both decode.
        self._lock = threading.Lock()

    def report(self, found: Iterable[Deviation]) -> None:
        """Record each new kind, log it and warn of it (a warning filter may raise here)."""
        fresh = []
        with self._lock:
            for deviation in found:
                kind = deviation.kind
                if kind in self._seen or len(self._seen) >= MAX_KINDS:
                    continue
                self._seen.add(kind)
                self._items.append(deviation)
                fresh.append(deviation)
        for deviation in fresh:
            log.warning("spec deviation: %s", deviation)
            warnings.warn(SpecDeviationWarning(deviation), stacklevel=2)

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
