"""Idempotency keys over the store: a retried POST with the same key gets the first
answer again (streams included), from the database, so a restart forgets nothing.

A key is kept per tenant with a fingerprint of its request (method, path, query,
body): the same key on another request is refused. Only what was done is kept (a
2xx): a refused request may be sent again.

One request per key at a time, in every process on the database: the database decides.
A request first claims its key in the store (a row written before it runs, filled with
its reply after); a request that finds the key claimed waits for that reply and gives
it (or runs, if the first was refused and let the key go). It waits ``wait`` seconds at
most, then answers 409 ``idempotency_key_in_use`` with ``Retry-After``: our client (as
the official SDKs) retries a 409, and its retry then finds the reply. A claim lasts
``lease`` seconds unless renewed; this process renews its claims every third of that,
so a claim whose process died lapses with it and the next request takes the key.
Requests of one process with one key queue here first, without asking the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ._app import error
from ._http import RECORDING, Transcript
from ._locks import KeyedLocks
from ._store import Claim, Conflict, Reply, Store

__all__ = ["Idempotency", "fingerprint"]

log = logging.getLogger("assistants_async.server")


def fingerprint(method: str, path: str, query: str, raw: bytes) -> str:
    """The request a key belongs to; JSON bodies compared by value, not by spelling."""
    try:
        canonical: Any = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":"))
    except (ValueError, RecursionError):  # not JSON, or nested past parsing: as sent
        canonical = raw.decode("latin-1")
    text = f"{method}\n{path}\n{query}\n{canonical}"
    return hashlib.sha256(text.encode()).hexdigest()


class Idempotency:
    """Answers kept in ``store`` for ``ttl`` seconds of ``clock``; a request waits
    ``wait`` seconds at most for another with its key; claims held ``lease`` seconds
    unless renewed."""

    def __init__(
        self,
        store: Store,
        clock: Callable[[], float],
        ttl: float = 24 * 3600,
        *,
        lease: float = 10.0,
        wait: float = 30.0,
    ) -> None:
        if not lease > 0:
            raise ValueError(f"lease must be a number of seconds above 0, not {lease!r}")
        if not wait >= 0:
            raise ValueError(f"wait must be a number of seconds, 0 or more, not {wait!r}")
        self.store = store
        self.clock = clock
        self.ttl = ttl
        self.lease = lease
        self.wait = wait
        # (tenant, key) -> (its lock, how many hold or wait for it): gone when nobody does.
        self._locks = KeyedLocks()
        # This process's claims in flight, by owner name (unique to each request).
        self._prefix = secrets.token_hex(6)
        self._numbers = itertools.count(1)
        self._held: set[str] = set()
        self._renewer: asyncio.Task[None] | None = None

    @property
    def held(self) -> int:
        """How many keys this process's requests hold now."""
        return len(self._held)

    async def close(self) -> None:
        """Stop renewing claims (the server is stopping)."""
        task, self._renewer = self._renewer, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def answer(
        self,
        request: web.Request,
        tenant: str,
        key: str,
        raw: bytes,
        respond: Callable[[], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        """The first answer to ``key`` if this request was already answered, else
        ``respond()``'s, kept."""
        this = fingerprint(request.method, request.path, request.query_string, raw)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait
        scope = (tenant, key)
        lock = self._locks.enter(scope)
        try:
            if not lock.locked():  # the usual case: no task for a timeout
                await lock.acquire()
            else:
                try:
                    await asyncio.wait_for(lock.acquire(), self.wait)
                except asyncio.TimeoutError:
                    return _in_use(key, self.wait)
            try:
                return await self._answer(tenant, key, this, deadline, respond, request)
            finally:
                lock.release()
        finally:
            self._locks.leave(scope)

    async def _answer(
        self,
        tenant: str,
        key: str,
        this: str,
        deadline: float,
        respond: Callable[[], Awaitable[web.StreamResponse]],
        request: web.Request,
    ) -> web.StreamResponse:
        loop = asyncio.get_running_loop()
        owner = f"{self._prefix}-{next(self._numbers)}"
        claim = Claim(owner, this, self.clock() + self.ttl)
        pause = 0.005
        while True:
            try:
                first = await self.store.claim_reply(
                    tenant, key, claim, now=self.clock(), lease=self.lease
                )
            except Conflict:  # changing hands fast: as if held
                first = claim
            if first is None:
                break
            if isinstance(first, Reply):
                if first.request != this:
                    return reused(key)
                return replayed(first.status, first.body, first.content_type)
            # Another process's request holds the key: its reply, once kept, is this one's.
            if loop.time() + pause > deadline:
                return _in_use(key, self.wait)
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.1)
        self._hold(owner)
        kept = False
        try:
            response, done = await answered(request, respond)
            if done is not None:
                body, kind = done
                reply = Reply(response.status, body, kind, this, self.clock() + self.ttl)
                await self.store.keep_reply(tenant, key, reply)
                kept = True
            return response
        finally:
            self._held.discard(owner)
            if not kept:  # refused, or failed: the key is free for another try
                try:
                    await self.store.release_claim(tenant, key, owner)
                except Exception:  # it lapses with its lease instead
                    log.exception("could not release the idempotency key's claim")

    def _hold(self, owner: str) -> None:
        self._held.add(owner)
        if self._renewer is None:
            self._renewer = asyncio.get_running_loop().create_task(self._renew())

    async def _renew(self) -> None:
        """Every third of the lease, while this process holds claims: renew them all in
        one statement."""
        try:
            while self._held:
                await asyncio.sleep(self.lease / 3)
                if self._held:
                    try:
                        await self.store.renew_claims(sorted(self._held), lease=self.lease)
                    except Exception:  # the next round tries again
                        log.exception("could not renew idempotency key claims")
        finally:
            if self._renewer is asyncio.current_task():
                self._renewer = None


def reused(key: str) -> web.Response:
    """The service's answer to a key sent again with another request."""
    return error(
        400,
        f"Keys for idempotent requests can only be used with the same "
        f"parameters they were first used with. Try using a key other than "
        f"'{key}' if you meant to execute a different request.",
        code="idempotency_key_reused",
    )


def replayed(status: int, body: bytes, content_type: str) -> web.Response:
    """A kept answer, sent again."""
    return web.Response(
        status=status,
        body=body,
        headers={"Content-Type": content_type, "idempotent-replayed": "true"},
    )


async def answered(
    request: web.Request, respond: Callable[[], Awaitable[web.StreamResponse]]
) -> tuple[web.StreamResponse, tuple[bytes, str] | None]:
    """``respond()``'s response, and what to keep of it (body, content type): only what
    was done (a 2xx; a refused request may be sent again). A stream is kept as what it
    said, or would have said had the client stayed (its text deltas merged: see
    Transcript)."""
    recording = Transcript()
    request[RECORDING] = recording
    response = await respond()
    if response.status >= 300:
        return response, None
    if isinstance(response, web.Response) and isinstance(response.body, bytes):
        return response, (response.body, response.content_type)
    return response, (recording.bytes(), "text/event-stream")


def _in_use(key: str, waited: float) -> web.Response:
    """Another request with this key is still running: try again shortly (a 409, which
    clients retry)."""
    return error(
        409,
        f"Another request with the Idempotency-Key '{key}' is still in progress "
        f"(waited {waited:g} s for its answer); retry this request later.",
        code="idempotency_key_in_use",
        headers={"Retry-After": "1"},
    )
