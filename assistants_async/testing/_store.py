"""The fake server's store: its objects, who may see them, ids and the clock.

One class behind a small interface (add, find, remove, list, clear), so that a durable
store could replace it without touching the run engine, which works on the records it
is handed.
"""

from __future__ import annotations

import asyncio
import secrets
import string
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any, TypeAlias

import attrs

from .._schema import Invalid
from ._responders import SubmittedOutput

__all__ = [
    "ACTIVE",
    "JSON",
    "TENANT",
    "FakeClock",
    "MemoryStore",
    "SequentialIds",
    "StoredRun",
    "StoredThread",
    "random_ids",
]

JSON: TypeAlias = dict[str, Any]

ACTIVE = frozenset({"queued", "in_progress", "requires_action", "cancelling"})

_ALPHABET = string.ascii_letters + string.digits


def random_ids(prefix: str) -> str:
    """Ids shaped like the real ones: ``asst_`` and 24 random letters and digits."""
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(24))


class SequentialIds:
    """Predictable ids for tests: ``asst_000001``, ``asst_000002``, ``msg_000001``..."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}

    def __call__(self, prefix: str) -> str:
        self._counts[prefix] = self._counts.get(prefix, 0) + 1
        return f"{prefix}_{self._counts[prefix]:06d}"


class FakeClock:
    """A clock the test moves by hand (Unix seconds)."""

    def __init__(self, start: int = 1_700_000_000) -> None:
        self.now = start

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: int) -> None:
        self.now += seconds


# The tenant of the request being handled: its API key, or the project it names.
TENANT: ContextVar[str] = ContextVar("assistants_async_fake_tenant", default="")


@attrs.define(eq=False)
class StoredRun:
    obj: JSON
    steps: dict[str, JSON] = attrs.field(factory=dict)
    open_calls: dict[str, tuple[str, str]] = attrs.field(factory=dict)  # id -> (name, args)
    outputs: list[SubmittedOutput] = attrs.field(factory=list)
    tool_step: str | None = None
    # A step's usage while it is in progress (the spec: null until it ends).
    step_usage: dict[str, JSON] = attrs.field(factory=dict)
    assistant: JSON = attrs.field(factory=dict)
    lock: asyncio.Lock = attrs.field(factory=asyncio.Lock)
    timer: asyncio.Task[None] | None = None


@attrs.define(eq=False)
class StoredThread:
    obj: JSON
    messages: dict[str, JSON] = attrs.field(factory=dict)
    runs: dict[str, StoredRun] = attrs.field(factory=dict)

    def active_run(self) -> StoredRun | None:
        for run in self.runs.values():
            if run.obj["status"] in ACTIVE:
                return run
        return None


def not_found(kind: str, object_id: str) -> Invalid:
    return Invalid(f"No {kind} found with id '{object_id}'.", status=404)


class MemoryStore:
    """Assistants and threads (with their messages, runs and steps) in memory.

    As the service scoped everything by project, an object is visible only to the tenant
    (``TENANT``: the API key, or the project) that made it, unless ``isolate_tenants`` is
    off; an object another tenant made is "not found".
    """

    def __init__(self, *, isolate_tenants: bool = True) -> None:
        self.isolate_tenants = isolate_tenants
        self.assistants: dict[str, JSON] = {}
        self.threads: dict[str, StoredThread] = {}
        self._owners: dict[str, str] = {}

    def visible(self, object_id: str) -> bool:
        return not self.isolate_tenants or self._owners.get(object_id) == TENANT.get()

    def add_assistant(self, obj: JSON) -> None:
        self.assistants[obj["id"]] = obj
        self._owners[obj["id"]] = TENANT.get()

    def assistant(self, assistant_id: str) -> JSON:
        found = self.assistants.get(assistant_id)
        if found is None or not self.visible(assistant_id):
            raise not_found("assistant", assistant_id)
        return found

    def remove_assistant(self, assistant_id: str) -> None:
        self.assistant(assistant_id)
        del self.assistants[assistant_id]

    def list_assistants(self) -> list[JSON]:
        return [a for a in self.assistants.values() if self.visible(a["id"])]

    def add_thread(self, thread: StoredThread) -> None:
        self.threads[thread.obj["id"]] = thread
        self._owners[thread.obj["id"]] = TENANT.get()

    def thread(self, thread_id: str) -> StoredThread:
        found = self.threads.get(thread_id)
        if found is None or not self.visible(thread_id):
            raise not_found("thread", thread_id)
        return found

    def remove_thread(self, thread_id: str) -> StoredThread:
        thread = self.thread(thread_id)
        del self.threads[thread_id]
        return thread

    def runs(self) -> Iterator[StoredRun]:
        for thread in self.threads.values():
            yield from thread.runs.values()

    def clear(self) -> None:
        self.assistants.clear()
        self.threads.clear()
        self._owners.clear()
