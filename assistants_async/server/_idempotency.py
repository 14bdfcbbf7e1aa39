"""Idempotency keys over the store: a retried POST with the same key gets the first
answer again (streams included), from the database, so a restart forgets nothing.

A key is kept per tenant with a fingerprint of its request (method, path, query,
body): the same key on another request is refused. Only what was done is kept (a
2xx): a refused request may be sent again. One request per key at a time, in this
process (the server is one process per database file).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ._app import error
from ._http import RECORDING
from ._locks import KeyedLocks
from ._store import Reply, Store

__all__ = ["Idempotency", "fingerprint"]


def fingerprint(method: str, path: str, query: str, raw: bytes) -> str:
    """The request a key belongs to; JSON bodies compared by value, not by spelling."""
    try:
        canonical: Any = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":"))
    except (ValueError, RecursionError):  # not JSON, or nested past parsing: as sent
        canonical = raw.decode("latin-1")
    text = f"{method}\n{path}\n{query}\n{canonical}"
    return hashlib.sha256(text.encode()).hexdigest()


class Idempotency:
    """Answers kept in ``store`` for ``ttl`` seconds of ``clock``."""

    def __init__(self, store: Store, clock: Callable[[], float], ttl: float = 24 * 3600) -> None:
        self.store = store
        self.clock = clock
        self.ttl = ttl
        # (tenant, key) -> (its lock, how many hold or wait for it): gone when nobody does.
        self._locks = KeyedLocks()

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
        async with self._locks.hold((tenant, key)):
            first = await self.store.reply(tenant, key, self.clock())
            if first is not None:
                if first.request != this:
                    return error(
                        400,
                        f"Keys for idempotent requests can only be used with the same "
                        f"parameters they were first used with. Try using a key other than "
                        f"'{key}' if you meant to execute a different request.",
                        code="idempotency_key_reused",
                    )
                return web.Response(
                    status=first.status,
                    body=first.body,
                    headers={"Content-Type": first.content_type, "idempotent-replayed": "true"},
                )
            recording: list[bytes] = []
            request[RECORDING] = recording
            response = await respond()
            if response.status < 300:
                if isinstance(response, web.Response) and isinstance(response.body, bytes):
                    body, kind = response.body, response.content_type
                else:  # a stream: what it said (or would have said, had the client stayed)
                    body, kind = b"".join(recording), "text/event-stream"
                kept = Reply(response.status, body, kind, this, self.clock() + self.ttl)
                await self.store.keep_reply(tenant, key, kept)
            return response
