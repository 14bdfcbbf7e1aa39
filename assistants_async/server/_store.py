"""What the server keeps, behind one async interface, with explicit writes.

Every record is a plain JSON object as the API shows it (an assistant, a thread, a
message, a run step), except a run, which also carries the engine's own state and a
version. Nothing is mutated in place and saved later: a change is a ``put_*`` of the
whole record, and a run's write names the version it read, so that two writers cannot
both win (the database decides, not a lock in one process).

Every call names its tenant (an API key, or a project): a record made by one tenant is
"not found" for every other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol, TypeAlias

import attrs

__all__ = [
    "ACTIVE",
    "JSON",
    "ActiveRunExists",
    "Claim",
    "Conflict",
    "NotFound",
    "Page",
    "PageQuery",
    "Reply",
    "RunRecord",
    "Store",
    "UnknownCursor",
]

JSON: TypeAlias = dict[str, Any]

# A run in one of these holds its thread: at most one per thread, enforced by the store.
ACTIVE = frozenset({"queued", "in_progress", "requires_action", "cancelling"})


class NotFound(LookupError):
    """No such record for this tenant (``kind``: assistant, thread, message, run, step)."""

    def __init__(self, kind: str, object_id: str) -> None:
        super().__init__(f"No {kind} found with id '{object_id}'.")
        self.kind = kind
        self.object_id = object_id


class UnknownCursor(ValueError):
    """``after`` or ``before`` names no record of the list being paged."""

    def __init__(self, name: str, cursor: str) -> None:
        super().__init__(f"Invalid '{name}': no object with id '{cursor}' in this list.")
        self.name = name
        self.cursor = cursor


class ActiveRunExists(Exception):
    """The thread already has a run in an ``ACTIVE`` status."""

    def __init__(self, thread_id: str, run_id: str) -> None:
        super().__init__(f"Thread {thread_id} already has an active run {run_id}.")
        self.thread_id = thread_id
        self.run_id = run_id


class Conflict(Exception):
    """A conditional write lost: the run changed since it was read."""


@attrs.frozen
class PageQuery:
    """A list request, as the API's query says it.

    The list is sorted by ``created_at``, ties broken by the order of creation; ``asc``
    oldest first, ``desc`` newest first. ``after=X``: the items that follow X in that
    order; ``before=X``: the ``limit`` items just before X (still in list order); both:
    the items between them, from ``after`` on. ``has_more``: more items lie beyond the
    page in the direction of travel (backward for ``before`` alone).
    """

    limit: int = 20
    order: Literal["asc", "desc"] = "desc"
    after: str | None = None
    before: str | None = None


@attrs.frozen
class Page:
    items: list[JSON]
    has_more: bool


@attrs.frozen
class RunRecord:
    """A run: ``obj`` as the API shows it, ``state`` the engine's own (open tool calls,
    submitted outputs, the assistant as the run began, ...), ``version`` bumped by
    every write."""

    obj: JSON
    state: JSON = attrs.Factory(dict)
    version: int = 0

    @property
    def id(self) -> str:
        return str(self.obj["id"])

    @property
    def thread_id(self) -> str:
        return str(self.obj["thread_id"])


@attrs.frozen
class Reply:
    """An answer kept for an idempotency key, to give again to a retried request."""

    status: int
    body: bytes
    content_type: str
    # The request it answered (method, path and a digest of the body): another request
    # with the same key is refused, not answered with this.
    request: str
    expires_at: float


@attrs.frozen
class Claim:
    """An idempotency key held by a request in flight, until its reply is kept (or the
    claim released): a request with the same key, at any process, waits for that reply
    instead of running too."""

    # Who holds it: one name per request (a process's prefix and a count).
    owner: str
    # The request it runs, as ``Reply.request``.
    request: str
    # When the row may be swept at the latest (the server's clock), as a reply's.
    expires_at: float


class Store(Protocol):
    """The interface the engine and the handlers await. Implementations: in memory (the
    fake server) and SQLite (the server)."""

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def clear(self) -> None: ...

    # --- assistants -------------------------------------------------------------------
    async def add_assistant(self, tenant: str, obj: JSON) -> None: ...
    async def assistant(self, tenant: str, assistant_id: str) -> JSON: ...
    async def put_assistant(self, tenant: str, obj: JSON) -> None: ...
    async def delete_assistant(self, tenant: str, assistant_id: str) -> None: ...
    async def assistants(self, tenant: str, query: PageQuery) -> Page: ...

    # --- threads (deleting one deletes its messages, runs and steps) -------------------
    async def add_thread(self, tenant: str, obj: JSON, messages: Sequence[JSON] = ()) -> None: ...
    async def thread(self, tenant: str, thread_id: str) -> JSON: ...
    async def put_thread(self, tenant: str, obj: JSON) -> None: ...
    async def delete_thread(self, tenant: str, thread_id: str) -> None: ...

    # --- messages ---------------------------------------------------------------------
    async def add_message(self, tenant: str, obj: JSON) -> None: ...
    async def message(self, tenant: str, thread_id: str, message_id: str) -> JSON: ...
    async def put_message(self, tenant: str, obj: JSON) -> None: ...
    async def delete_message(self, tenant: str, thread_id: str, message_id: str) -> None: ...
    async def messages(
        self, tenant: str, thread_id: str, query: PageQuery, *, run_id: str | None = None
    ) -> Page: ...

    # --- runs -------------------------------------------------------------------------
    async def add_run(
        self, tenant: str, run: RunRecord, messages: Sequence[JSON] = ()
    ) -> RunRecord: ...
    async def run(self, tenant: str, thread_id: str, run_id: str) -> RunRecord: ...
    # The run if its version is no longer ``version``, else None: a run in hand checked
    # for others' writes without parsing it again.
    async def run_if_changed(
        self, tenant: str, thread_id: str, run_id: str, version: int
    ) -> RunRecord | None: ...
    async def put_run(self, tenant: str, run: RunRecord) -> RunRecord: ...
    async def runs(self, tenant: str, thread_id: str, query: PageQuery) -> Page: ...
    async def active_runs(self) -> list[tuple[str, RunRecord]]: ...

    # --- run steps --------------------------------------------------------------------
    async def put_step(self, tenant: str, obj: JSON) -> None: ...
    async def step(self, tenant: str, thread_id: str, run_id: str, step_id: str) -> JSON: ...
    async def steps(self, tenant: str, thread_id: str, run_id: str, query: PageQuery) -> Page: ...
    # Only recovery deletes a step (of a turn cut halfway, to take the turn again).
    async def delete_step(self, tenant: str, thread_id: str, run_id: str, step_id: str) -> None: ...

    # --- idempotency keys -------------------------------------------------------------
    async def reply(self, tenant: str, key: str, now: float) -> Reply | None: ...
    async def keep_reply(self, tenant: str, key: str, reply: Reply) -> None: ...
    async def forget_replies(self, now: float) -> int:
        """Delete every tenant's replies (and claims) expired by ``now``; returns how
        many."""
        ...

    # A key is claimed before its request runs; the database (not a process's memory)
    # decides which of two requests with one key runs.
    async def claim_reply(
        self, tenant: str, key: str, claim: Claim, *, now: float, lease: float
    ) -> Reply | Claim | None:
        """Take ``key`` for ``claim``: None when taken (nothing kept for it, the reply
        kept expired by ``now``, or the claim on it lapsed: its holder stopped renewing
        it), held for ``lease`` seconds of the store's own clock; else what holds it, the
        reply kept or another request's claim."""
        ...

    async def release_claim(self, tenant: str, key: str, owner: str) -> None:
        """Free ``key`` if ``owner``'s claim still holds it (its request was refused or
        failed: it may be sent again)."""
        ...

    async def renew_claims(self, owners: Sequence[str], *, lease: float) -> set[str]:
        """Hold these owners' claims ``lease`` more seconds; the owners still holding one."""
        ...
