"""``Store`` in memory: for the fake server and for tests, with no I/O.

Every record lives once, in a dict by id (ids are unique per kind, as in the SQLite
store), as JSON bytes: a caller can never change it in place, and every read parses a
fresh copy. Each list (a tenant's assistants, a thread's messages and runs, a run's
messages and steps) is an ``_Ordered`` index of ids sorted by (created_at, seq), seq a
global insertion counter: adding in time order appends, and a page is two bisections
and a slice.
"""

from __future__ import annotations

import itertools
import time
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from typing import Any, Literal

from ._codec import dump, load
from ._store import (
    ACTIVE,
    JSON,
    ActiveRunExists,
    Claim,
    Conflict,
    NotFound,
    Page,
    PageQuery,
    Reply,
    RunRecord,
    UnknownCursor,
)

__all__ = ["MemoryStore"]

# (created_at, seq): the sort key of every list.
_Key = tuple[Any, int]


class _Ordered:
    """The ids of one list, sorted by key; ``where`` maps an id to its key."""

    __slots__ = ("ids", "keys", "where")

    def __init__(self) -> None:
        self.keys: list[_Key] = []
        self.ids: list[str] = []
        self.where: dict[str, _Key] = {}

    def add(self, object_id: str, key: _Key) -> None:
        self.where[object_id] = key
        if not self.keys or key > self.keys[-1]:
            self.keys.append(key)
            self.ids.append(object_id)
        else:  # an older created_at than the newest: rare
            i = bisect_left(self.keys, key)
            self.keys.insert(i, key)
            self.ids.insert(i, object_id)

    def remove(self, object_id: str) -> None:
        i = bisect_left(self.keys, self.where.pop(object_id))
        del self.keys[i]
        del self.ids[i]

    def page(self, query: PageQuery) -> tuple[list[str], bool]:
        """The ids of one page (in list order) and has_more, as ``PageQuery`` says."""
        if query.limit < 1:
            raise ValueError(f"limit must be at least 1, not {query.limit}")
        after = None if query.after is None else self._key("after", query.after)
        before = None if query.before is None else self._key("before", query.before)
        backward = before is not None and after is None
        # The window in key order is (lower, upper); a desc list walks it from the top.
        lower, upper = (after, before) if query.order == "asc" else (before, after)
        descending = (query.order == "desc") != backward
        lo = 0 if lower is None else bisect_right(self.keys, lower)
        hi = len(self.keys) if upper is None else bisect_left(self.keys, upper)
        limit = query.limit
        if descending:
            ids = self.ids[max(lo, hi - limit) : hi]
            ids.reverse()
        else:
            ids = self.ids[lo : min(hi, lo + limit)]
        if backward:
            ids.reverse()
        return ids, hi - lo > limit

    def _key(self, name: str, cursor: str) -> _Key:
        key = self.where.get(cursor)
        if key is None:
            raise UnknownCursor(name, cursor)
        return key


class _Assistant:
    __slots__ = ("blob", "key", "tenant")

    def __init__(self, tenant: str, key: _Key, blob: bytes) -> None:
        self.tenant, self.key, self.blob = tenant, key, blob


class _Thread:
    __slots__ = ("active", "blob", "key", "messages", "run_messages", "runs", "tenant")

    def __init__(self, tenant: str, key: _Key, blob: bytes) -> None:
        self.tenant, self.key, self.blob = tenant, key, blob
        self.messages = _Ordered()
        self.run_messages: dict[str, _Ordered] = {}  # run_id -> that run's messages
        self.runs = _Ordered()
        self.active: str | None = None  # the id of the thread's active run


class _Message:
    __slots__ = ("blob", "key", "run_id", "tenant", "thread_id")

    def __init__(
        self, tenant: str, key: _Key, blob: bytes, thread_id: str, run_id: str | None
    ) -> None:
        self.tenant, self.key, self.blob = tenant, key, blob
        self.thread_id, self.run_id = thread_id, run_id


class _Run:
    __slots__ = ("blob", "key", "state", "status", "steps", "tenant", "thread_id", "version")

    def __init__(self, tenant: str, key: _Key, run: RunRecord, version: int) -> None:
        self.tenant, self.key, self.thread_id = tenant, key, run.thread_id
        self.blob, self.state = dump(run.obj), dump(run.state)
        self.status: str = run.obj["status"]
        self.version = version
        self.steps = _Ordered()

    def record(self) -> RunRecord:
        return RunRecord(load(self.blob), load(self.state), self.version)


class _Step:
    __slots__ = ("blob", "run_id", "tenant")

    def __init__(self, tenant: str, blob: bytes, run_id: str) -> None:
        self.tenant, self.blob, self.run_id = tenant, blob, run_id


class MemoryStore:
    """``Store`` in dicts: fast, private to one process, gone when it ends."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget everything, at once (``clear`` without a loop: the fake's ``reset()``)."""
        self._seq = itertools.count(1)
        self._assistants: dict[str, _Assistant] = {}
        self._assistant_lists: dict[str, _Ordered] = {}  # tenant -> its assistants
        self._threads: dict[str, _Thread] = {}
        self._messages: dict[str, _Message] = {}
        self._runs: dict[str, _Run] = {}
        self._active: set[str] = set()  # the ids of every active run
        self._steps: dict[str, _Step] = {}
        self._replies: dict[tuple[str, str], Reply] = {}
        # Keys held by requests in flight: the claim, and until when (monotonic clock).
        self._claims: dict[tuple[str, str], tuple[Claim, float]] = {}

    async def open(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def clear(self) -> None:
        self.reset()

    def objects(self, kind: Literal["assistant", "thread"]) -> dict[str, JSON]:
        """Every tenant's assistants (or threads) by id, oldest first: what tests look
        at to see what a server holds, without a loop or a tenant."""
        found: dict[str, tuple[_Key, bytes]] = {
            object_id: (record.key, record.blob)
            for object_id, record in (
                self._assistants if kind == "assistant" else self._threads
            ).items()
        }
        ordered = sorted(found.items(), key=lambda item: item[1][0])
        return {object_id: load(blob) for object_id, (_, blob) in ordered}

    def _key(self, obj: JSON) -> _Key:
        return (obj["created_at"], next(self._seq))

    # --- assistants -------------------------------------------------------------------

    async def add_assistant(self, tenant: str, obj: JSON) -> None:
        object_id = obj["id"]
        _unused(self._assistants, "assistant", object_id)
        found = _Assistant(tenant, self._key(obj), dump(obj))
        self._assistants[object_id] = found
        self._assistant_lists.setdefault(tenant, _Ordered()).add(object_id, found.key)

    def _assistant(self, tenant: str, assistant_id: str) -> _Assistant:
        found = self._assistants.get(assistant_id)
        if found is None or found.tenant != tenant:
            raise NotFound("assistant", assistant_id)
        return found

    async def assistant(self, tenant: str, assistant_id: str) -> JSON:
        return load(self._assistant(tenant, assistant_id).blob)  # type: ignore[no-any-return]

    async def put_assistant(self, tenant: str, obj: JSON) -> None:
        self._assistant(tenant, obj["id"]).blob = dump(obj)

    async def delete_assistant(self, tenant: str, assistant_id: str) -> None:
        self._assistant(tenant, assistant_id)
        del self._assistants[assistant_id]
        self._assistant_lists[tenant].remove(assistant_id)

    async def assistants(self, tenant: str, query: PageQuery) -> Page:
        order = self._assistant_lists.get(tenant) or _Ordered()
        ids, has_more = order.page(query)
        return Page([load(self._assistants[i].blob) for i in ids], has_more)

    # --- threads ----------------------------------------------------------------------

    async def add_thread(self, tenant: str, obj: JSON, messages: Sequence[JSON] = ()) -> None:
        object_id = obj["id"]
        _unused(self._threads, "thread", object_id)
        _check_messages(self._messages, object_id, messages)
        self._threads[object_id] = _Thread(tenant, self._key(obj), dump(obj))
        for message in messages:
            self._add_message(tenant, message)

    def _thread(self, tenant: str, thread_id: str) -> _Thread:
        found = self._threads.get(thread_id)
        if found is None or found.tenant != tenant:
            raise NotFound("thread", thread_id)
        return found

    async def thread(self, tenant: str, thread_id: str) -> JSON:
        return load(self._thread(tenant, thread_id).blob)  # type: ignore[no-any-return]

    async def put_thread(self, tenant: str, obj: JSON) -> None:
        self._thread(tenant, obj["id"]).blob = dump(obj)

    async def delete_thread(self, tenant: str, thread_id: str) -> None:
        thread = self._thread(tenant, thread_id)
        del self._threads[thread_id]
        for message_id in thread.messages.ids:
            del self._messages[message_id]
        for run_id in thread.runs.ids:
            run = self._runs.pop(run_id)
            self._active.discard(run_id)
            for step_id in run.steps.ids:
                del self._steps[step_id]

    # --- messages ---------------------------------------------------------------------

    def _add_message(self, tenant: str, obj: JSON) -> None:
        thread_id = obj["thread_id"]
        thread = self._thread(tenant, thread_id)
        run_id = obj.get("run_id")
        message = _Message(tenant, self._key(obj), dump(obj), thread_id, run_id)
        self._messages[obj["id"]] = message
        thread.messages.add(obj["id"], message.key)
        if run_id is not None:
            thread.run_messages.setdefault(run_id, _Ordered()).add(obj["id"], message.key)

    async def add_message(self, tenant: str, obj: JSON) -> None:
        _unused(self._messages, "message", obj["id"])
        self._add_message(tenant, obj)

    def _message(self, tenant: str, thread_id: str, message_id: str) -> _Message:
        found = self._messages.get(message_id)
        if found is None or found.tenant != tenant or found.thread_id != thread_id:
            self._thread(tenant, thread_id)  # the thread is what is missing, or the message
            raise NotFound("message", message_id)
        return found  # in its thread, so the thread is there and the tenant's

    async def message(self, tenant: str, thread_id: str, message_id: str) -> JSON:
        return load(self._message(tenant, thread_id, message_id).blob)  # type: ignore[no-any-return]

    async def put_message(self, tenant: str, obj: JSON) -> None:
        message = self._message(tenant, obj["thread_id"], obj["id"])
        run_id = obj.get("run_id")
        if run_id != message.run_id:
            thread = self._threads[message.thread_id]
            if message.run_id is not None:
                thread.run_messages[message.run_id].remove(obj["id"])
            if run_id is not None:
                thread.run_messages.setdefault(run_id, _Ordered()).add(obj["id"], message.key)
            message.run_id = run_id
        message.blob = dump(obj)

    async def delete_message(self, tenant: str, thread_id: str, message_id: str) -> None:
        message = self._message(tenant, thread_id, message_id)
        del self._messages[message_id]
        thread = self._threads[thread_id]
        thread.messages.remove(message_id)
        if message.run_id is not None:
            thread.run_messages[message.run_id].remove(message_id)

    async def messages(
        self, tenant: str, thread_id: str, query: PageQuery, *, run_id: str | None = None
    ) -> Page:
        thread = self._thread(tenant, thread_id)
        order = thread.messages if run_id is None else thread.run_messages.get(run_id)
        ids, has_more = (order or _Ordered()).page(query)
        return Page([load(self._messages[i].blob) for i in ids], has_more)

    # --- runs -------------------------------------------------------------------------

    async def add_run(
        self, tenant: str, run: RunRecord, messages: Sequence[JSON] = ()
    ) -> RunRecord:
        thread = self._thread(tenant, run.thread_id)
        _unused(self._runs, "run", run.id)
        _check_messages(self._messages, run.thread_id, messages)
        active = run.obj["status"] in ACTIVE
        if active and thread.active is not None:
            raise ActiveRunExists(run.thread_id, thread.active)
        stored = _Run(tenant, self._key(run.obj), run, 1)
        self._runs[run.id] = stored
        thread.runs.add(run.id, stored.key)
        if active:
            thread.active = run.id
            self._active.add(run.id)
        for message in messages:
            self._add_message(tenant, message)
        # The caller's own dicts, not parsed again: the store keeps bytes, so they are
        # the caller's to change (and the fake's speed is in such parses).
        return RunRecord(run.obj, run.state, stored.version)

    def _run(self, tenant: str, thread_id: str, run_id: str) -> _Run:
        found = self._runs.get(run_id)
        if found is None or found.tenant != tenant or found.thread_id != thread_id:
            self._thread(tenant, thread_id)  # the thread is what is missing, or the run
            raise NotFound("run", run_id)
        return found  # in its thread, so the thread is there and the tenant's

    async def run(self, tenant: str, thread_id: str, run_id: str) -> RunRecord:
        return self._run(tenant, thread_id, run_id).record()

    async def run_if_changed(
        self, tenant: str, thread_id: str, run_id: str, version: int
    ) -> RunRecord | None:
        stored = self._run(tenant, thread_id, run_id)
        return None if stored.version == version else stored.record()

    async def put_run(self, tenant: str, run: RunRecord) -> RunRecord:
        obj = run.obj
        run_id, thread_id, status = obj["id"], obj["thread_id"], obj["status"]
        stored = self._run(tenant, thread_id, run_id)
        if stored.version != run.version:
            raise Conflict(f"run {run_id} is at version {stored.version}, not {run.version}")
        thread = self._threads[thread_id]
        if status in ACTIVE:
            if thread.active != run_id:
                if thread.active is not None:
                    raise ActiveRunExists(thread_id, thread.active)
                thread.active = run_id
                self._active.add(run_id)
        elif thread.active == run_id:
            thread.active = None
            self._active.discard(run_id)
        stored.blob, stored.state, stored.status = dump(obj), dump(run.state), status
        stored.version += 1
        return RunRecord(obj, run.state, stored.version)  # as add_run: not parsed again

    async def runs(self, tenant: str, thread_id: str, query: PageQuery) -> Page:
        ids, has_more = self._thread(tenant, thread_id).runs.page(query)
        return Page([load(self._runs[i].blob) for i in ids], has_more)

    async def active_runs(self) -> list[tuple[str, RunRecord]]:
        found = sorted((self._runs[i] for i in self._active), key=lambda run: run.key)
        return [(run.tenant, run.record()) for run in found]

    # --- run steps --------------------------------------------------------------------

    async def put_step(self, tenant: str, obj: JSON) -> None:
        run = self._run(tenant, obj["thread_id"], obj["run_id"])
        step_id = obj["id"]
        found = self._steps.get(step_id)
        if found is None:
            self._steps[step_id] = _Step(tenant, dump(obj), obj["run_id"])
            run.steps.add(step_id, self._key(obj))
        elif found.run_id != obj["run_id"] or found.tenant != tenant:
            raise ValueError(f"step id {step_id} is already used by another run")
        else:
            found.blob = dump(obj)

    async def step(self, tenant: str, thread_id: str, run_id: str, step_id: str) -> JSON:
        self._run(tenant, thread_id, run_id)
        found = self._steps.get(step_id)
        if found is None or found.tenant != tenant or found.run_id != run_id:
            raise NotFound("step", step_id)
        return load(found.blob)  # type: ignore[no-any-return]

    async def steps(self, tenant: str, thread_id: str, run_id: str, query: PageQuery) -> Page:
        ids, has_more = self._run(tenant, thread_id, run_id).steps.page(query)
        return Page([load(self._steps[i].blob) for i in ids], has_more)

    async def delete_step(self, tenant: str, thread_id: str, run_id: str, step_id: str) -> None:
        run = self._run(tenant, thread_id, run_id)
        found = self._steps.get(step_id)
        if found is None or found.tenant != tenant or found.run_id != run_id:
            raise NotFound("step", step_id)
        del self._steps[step_id]
        run.steps.remove(step_id)

    # --- idempotency keys -------------------------------------------------------------

    async def reply(self, tenant: str, key: str, now: float) -> Reply | None:
        found = self._replies.get((tenant, key))
        if found is not None and found.expires_at <= now:
            del self._replies[tenant, key]  # expired: forget it
            return None
        return found  # frozen, its body bytes: nothing to copy

    async def keep_reply(self, tenant: str, key: str, reply: Reply) -> None:
        self._claims.pop((tenant, key), None)
        self._replies[tenant, key] = reply

    async def forget_replies(self, now: float) -> int:
        expired = [key for key, reply in self._replies.items() if reply.expires_at <= now]
        for key in expired:
            del self._replies[key]
        gone = [key for key, (claim, _) in self._claims.items() if claim.expires_at <= now]
        for key in gone:
            del self._claims[key]
        return len(expired) + len(gone)

    async def claim_reply(
        self, tenant: str, key: str, claim: Claim, *, now: float, lease: float
    ) -> Reply | Claim | None:
        held = self._claims.get((tenant, key))
        if held is not None and held[1] > time.monotonic():
            return held[0]
        kept = self._replies.get((tenant, key))
        if held is None and kept is not None and kept.expires_at > now:
            return kept
        self._replies.pop((tenant, key), None)
        self._claims[tenant, key] = (claim, time.monotonic() + lease)
        return None

    async def release_claim(self, tenant: str, key: str, owner: str) -> None:
        held = self._claims.get((tenant, key))
        if held is not None and held[0].owner == owner:
            del self._claims[tenant, key]

    async def renew_claims(self, owners: Sequence[str], *, lease: float) -> set[str]:
        wanted = set(owners)
        until = time.monotonic() + lease
        renewed = set()
        for key, (claim, _) in self._claims.items():
            if claim.owner in wanted:
                self._claims[key] = (claim, until)
                renewed.add(claim.owner)
        return renewed


def _unused(records: dict[str, Any], kind: str, object_id: str) -> None:
    if object_id in records:
        raise ValueError(f"a {kind} with id '{object_id}' already exists")


def _check_messages(records: dict[str, Any], thread_id: str, messages: Sequence[JSON]) -> None:
    """New messages for one thread, checked before anything is written."""
    for message in messages:
        _unused(records, "message", message["id"])
        if message["thread_id"] != thread_id:
            raise ValueError(f"message {message['id']} is not in thread {thread_id}")
    if len({m["id"] for m in messages}) != len(messages):
        raise ValueError("a message id is given twice (so it would already exist)")
