"""Connections: the pool a client and its ``with_options`` copies share, the aiohttp
sessions on it (made lazily, in the loop that first uses them; closed with care for the
calls in flight), and the headers each call adds to the session's defaults."""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

import aiohttp

from ._config import ClientConfig
from ._errors import ClientClosedError
from ._headers import NON_IDEMPOTENT, Headers, call_headers
from ._response import OpenStream

__all__ = ["Pool", "Sessions"]

# Keeps tasks started in the background alive until they end.
_background: set[asyncio.Task[None]] = set()


class Pool:
    """The connection pool that a client and its ``with_options`` copies share.

    Either the client's own connector (created lazily, in the loop that first uses it,
    and closed with the client that made it) or a caller's session, never closed here.
    """

    def __init__(
        self,
        *,
        max_connections: int,
        max_connections_per_host: int | None,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self._max_connections = max_connections
        self._max_connections_per_host = max_connections_per_host
        self.external = session
        self._connector: aiohttp.BaseConnector | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.closed = False
        # Calls waiting out a retry's backoff: closing wakes them, to fail at once.
        self.sleepers: set[asyncio.Future[None]] = set()

    def check(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.closed:
            raise ClientClosedError()
        if self._loop is None:
            self._loop = loop
        elif self._loop is not loop:
            raise RuntimeError(
                "this client was first used in another event loop; an aiohttp session "
                "cannot move between loops, so create one client per loop "
                "(or use assistants_async.sync.Client from threads)"
            )

    def connector(self) -> aiohttp.BaseConnector:
        if self._connector is None:
            self._connector = aiohttp.TCPConnector(
                limit=self._max_connections,
                limit_per_host=self._max_connections_per_host or 0,
            )
        return self._connector

    async def close(self) -> None:
        self.closed = True
        for sleeper in self.sleepers:
            if not sleeper.done():
                sleeper.set_result(None)
        connector, self._connector = self._connector, None
        if connector is not None and not connector.closed:
            await connector.close()


class Sessions:
    """A client's sessions on its pool, or the caller's own session."""

    def __init__(self, config: ClientConfig, pool: Pool, *, owns_pool: bool = True) -> None:
        self.headers = dict(config.headers)
        self.timeout = timeout = config.timeout
        self.pool = pool
        self.owns_pool = owns_pool
        # Options every request carries.
        self._base_options: dict[str, Any] = {}
        proxy, proxy_headers = config.proxy, config.proxy_headers
        if proxy is not None:
            self._base_options["proxy"] = proxy
            if proxy_headers and config.bare_url.startswith("http://"):
                # A plain-HTTP call goes to the proxy as it is: its credentials go with it.
                self.headers.update(proxy_headers)
            elif proxy_headers:  # an https call: only the CONNECT carries them
                self._base_options["proxy_headers"] = dict(proxy_headers)
        if pool.external is not None:
            self._base_options["timeout"] = timeout._aiohttp()
            # The caller's session may raise on error statuses (the API's message would
            # be lost, and a 400 retried) or leave bodies compressed: not for our calls.
            self._base_options["raise_for_status"] = False
            self._base_options["auto_decompress"] = True
        # A caller's session has defaults of its own; and aiohttp copies a session's
        # default headers into a proxy's CONNECT, which would show the API key to the
        # proxy. In both cases the client's headers go with each request instead.
        self._per_request_defaults = pool.external is not None or proxy is not None
        self._default_names = frozenset(name.lower() for name in self.headers)
        self._session: aiohttp.ClientSession | None = None
        # Shares the session's pool, without its default headers: for the rare call
        # whose extra_headers remove one. aiohttp cannot drop a session default, and
        # defaults on the session earn their place (benchmarks/README.md, "Fast paths").
        self._plain: aiohttp.ClientSession | None = None
        self._closed = False
        self._inflight = 0
        # The streams of this client still open, for close() to end.
        self.streams: weakref.WeakSet[OpenStream] = weakref.WeakSet()

    @property
    def closed(self) -> bool:
        return self._closed or self.pool.closed

    @property
    def opened(self) -> bool:
        """Whether a session was made (and so there is something to close)."""
        return self._session is not None

    async def _backoff(self, delay: float) -> None:
        """Sleep before a retry; the client's close() ends the wait at once."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        timer = loop.call_later(delay, _wake, waiter)
        self.pool.sleepers.add(waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self.pool.sleepers.discard(waiter)

    def session(self) -> aiohttp.ClientSession:
        session = self._session
        pool = self.pool
        if session is not None and not self._closed and not pool.closed:
            if pool._loop is not asyncio.get_running_loop():
                pool.check(asyncio.get_running_loop())  # raises, saying why
            return session
        if self._closed:
            raise ClientClosedError()
        if session is None:
            self.pool.check(asyncio.get_running_loop())
            external = self.pool.external
            if external is not None:
                if external.closed:
                    raise RuntimeError("the aiohttp session given to this client is closed")
                session = external
            else:
                session = aiohttp.ClientSession(
                    connector=self.pool.connector(),
                    connector_owner=False,
                    # Defaults on the session: aiohttp copies them in C, where per-request
                    # headers go through a Python loop on every call.
                    headers=None if self._per_request_defaults else self.headers,
                    timeout=self.timeout._aiohttp(),
                    raise_for_status=False,
                    auto_decompress=True,
                )
            self._session = session
            return session
        raise ClientClosedError()  # the pool was closed (by the client this one copies)

    def _plain_session(self, session: aiohttp.ClientSession) -> aiohttp.ClientSession:
        if self._plain is None:
            self._plain = aiohttp.ClientSession(
                connector=session.connector,
                connector_owner=False,
                timeout=session.timeout,
                raise_for_status=False,
            )
        return self._plain

    async def close(self) -> None:
        """Close this client's sessions, and the pool if this client made it.

        The pool goes first: calls in flight then fail as connection errors. A copy
        (``with_options``) leaves the pool open; its calls in flight finish, and its
        session is closed after the last one (aiohttp fails a call whose session
        closes under it on a connector it does not own).
        """
        self._closed = True
        # aiohttp's connector leaves connections in use open: a stream being read would
        # wait for its next event forever. Its reader then learns the client closed.
        for stream in list(self.streams):
            stream.close()
        if self.owns_pool:
            await self.pool.close()
        if not self._inflight:
            await self._close_sessions()

    async def _close_sessions(self) -> None:
        for session in (self._plain, self._session):
            if session is not None and session is not self.pool.external and not session.closed:
                await session.close()
        self._plain = self._session = None

    def _close_later(self) -> None:
        if self._session is not None or self._plain is not None:
            task = asyncio.get_running_loop().create_task(self._close_sessions())
            _background.add(task)
            task.add_done_callback(_background.discard)

    def build_headers(self, method: str, extra: Headers | None) -> dict[str, str]:
        """Every header a call sends: the defaults, its idempotency key and ``extra``."""
        return call_headers(dict(self.headers), method, extra)

    def _call_headers(
        self, method: str, extra: Headers | None
    ) -> tuple[dict[str, str] | None, bool]:
        """The headers to send besides the session's defaults, and whether the call must
        go without those defaults (``extra`` removes one of them)."""
        if self._per_request_defaults:
            return self.build_headers(method, extra), False
        if extra and any(
            value is None and name.lower() in self._default_names for name, value in extra.items()
        ):
            return self.build_headers(method, extra), True
        if method not in NON_IDEMPOTENT and not extra:
            return None, False
        return call_headers({}, method, extra), False


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
