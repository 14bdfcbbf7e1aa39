"""The one place that speaks HTTP: session, headers, timeouts and the retry loop.

Retry and error decisions are pure functions in ``_retry`` and ``_errors``; this module
only applies them.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import math
import os
import random
import re
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from contextvars import ContextVar
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import aiohttp
import attrs
from multidict import CIMultiDictProxy
from yarl import URL

from ._errors import (
    APIConnectionError,
    APITimeoutError,
    ClientClosedError,
    ResponseTooLargeError,
    error_from_response,
)
from ._model import slot_constructor
from ._retry import MAX_RETRY_AFTER, retry_decision

__all__ = [
    "RAW_CAPTURE",
    "Headers",
    "OpenStream",
    "Pool",
    "Query",
    "RawResponse",
    "Timeout",
    "Transport",
    "resolve_proxy",
    "split_base_url",
]

log = logging.getLogger("assistants_async")

# Bodies above this go as a stream (aiohttp's threshold for its large-body warning).
_LARGE_BODY = 1024 * 1024

# NaN and Infinity are refused: they are not JSON, and a strict server would reject the
# body.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
# JSONEncoder.encode builds its C encoder anew on every call: this one is built once, with
# the same settings. No circular-reference markers: a marker left behind by a failed
# encode could refuse a later body, and bodies are fresh copies (to_json_data) anyway.
_C_ENCODE: Callable[[Any, int], Sequence[str]] | None = None
if c_make_encoder is not None:  # pragma: no branch - CPython has it
    _C_ENCODE = c_make_encoder(
        None, _ENCODER.default, encode_basestring, None, ":", ",", False, False, False
    )


def _encode_body(body: Any) -> bytes:
    try:
        if _C_ENCODE is not None:
            return "".join(_C_ENCODE(body, 0)).encode()
        return _ENCODER.encode(body).encode()  # pragma: no cover - without the C encoder
    except ValueError as exc:
        if "Out of range float" in str(exc):
            raise ValueError(
                "the request body holds NaN or Infinity, which JSON cannot carry"
            ) from None
        raise
    except RecursionError:
        raise ValueError("the request body is nested too deeply to send as JSON") from None


# Keeps tasks started in the background alive until they end.
_background: set[asyncio.Task[None]] = set()

# A header mapping where a None value removes the header.
Headers = Mapping[str, str | None]
Query = Mapping[str, Any] | Sequence[tuple[str, Any]]


def _check_seconds(name: str, value: object, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds, not {type(value).__name__}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive, finite number of seconds, not {value!r}")


@attrs.frozen
class Timeout:
    """Time limits in seconds (None: no limit); the README's "Timeouts" table in full.

    ``connect``: per attempt, opening a connection (TCP and TLS). ``read``: the longest
    silence between two reads of an answer, headers or body, streams included.
    ``total``: per attempt, a whole answer that is not a stream (a stream lives while its
    events keep coming, bounded by ``read``). ``pool``: per attempt, waiting for a free
    connection plus connecting. ``deadline``: the whole call, retries and their waits
    included (for a stream, until it opens).
    """

    total: float | None = 600.0
    connect: float | None = 5.0
    read: float | None = 600.0
    pool: float | None = None
    deadline: float | None = None

    def __attrs_post_init__(self) -> None:
        for name in ("total", "connect", "read", "pool", "deadline"):
            _check_seconds(f"timeout.{name}", getattr(self, name), allow_none=True)

    def _aiohttp(self, *, stream: bool = False, cap: float | None = None) -> aiohttp.ClientTimeout:
        total = None if stream else self.total
        read = self.read
        if total is not None and read is not None and read >= total:
            # The total fires first: a read timer would only cost two timer-heap
            # operations on every chunk received (about 5 µs a request).
            read = None
        if cap is not None:  # what is left of the deadline bounds every phase
            total = cap if total is None else min(total, cap)
            return aiohttp.ClientTimeout(
                total=total,
                connect=_least(self.pool, cap),
                sock_connect=_least(self.connect, cap),
                sock_read=None if read is None else min(read, cap),
                ceil_threshold=math.inf,  # aiohttp would round a long one up to the second
            )
        return aiohttp.ClientTimeout(
            total=total, connect=self.pool, sock_connect=self.connect, sock_read=read
        )


def _least(value: float | None, cap: float) -> float:
    return cap if value is None else min(value, cap)


DEFAULT_TIMEOUT = Timeout()


def coerce_timeout(value: float | Timeout, name: str = "timeout") -> Timeout:
    """A Timeout from a Timeout, or from a number of seconds: the number bounds each
    attempt, and each silence while reading (streams included); connecting keeps its
    5 s unless the number is smaller."""
    if isinstance(value, Timeout):
        return value
    _check_seconds(name, value)
    seconds = float(value)
    return Timeout(total=seconds, read=seconds, connect=min(seconds, 5.0))


# Bodies larger than this are refused (ResponseTooLargeError) unless the client says
# otherwise: far above any Assistants response (a full page of 100 messages of the
# largest size is about 25 MB), far below what hurts a service.
DEFAULT_MAX_RESPONSE_SIZE = 64 * 1024 * 1024
# An error's body is read this far, then the connection is dropped: enough for any
# message, and a hostile server's endless error page costs nothing.
_ERROR_BODY_LIMIT = 1024 * 1024


# Set by AsyncClient.with_raw_response: successful responses of the calls made in this
# context are appended here. A context variable keeps concurrent tasks apart.
RAW_CAPTURE: ContextVar[list[RawResponse] | None] = ContextVar("RAW_CAPTURE", default=None)


@attrs.frozen(slots=True)
class RawResponse:
    """What came back for one call: status, headers and the body bytes."""

    status_code: int
    headers: CIMultiDictProxy[str] = attrs.field(repr=False)
    content: bytes = attrs.field(repr=False)
    method: str
    url: str
    retries: int = 0
    elapsed: float = 0.0

    @property
    def request_id(self) -> str | None:
        return self.headers.get("x-request-id")

    def json(self) -> Any:
        from ._decoding.converter import decode_json

        return decode_json(self.content)


# Built once per successful call: slot by slot, a third cheaper than __init__.
_raw_response = slot_constructor(RawResponse)


def split_base_url(base_url: str) -> tuple[str, list[tuple[str, str]]]:
    """``base_url`` without its query (no trailing slash), and that query's items.

    A gateway's ``?api-version=...`` belongs after the path of every call, not before it.
    """
    parts = urlsplit(base_url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    bare = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
    return bare, query


def resolve_proxy(
    proxy: str | None, trust_env: bool, base_url: str
) -> tuple[str | None, dict[str, str] | None]:
    """The proxy for calls to ``base_url`` and its ``Proxy-Authorization`` header, if any.

    Resolved once per client: the client talks to one host, so the environment
    (``HTTP_PROXY``, ``HTTPS_PROXY``, ``NO_PROXY``) is read at construction, not on every
    call (aiohttp's own ``trust_env`` costs two thread hops a request and would also send
    ``~/.netrc`` credentials, clashing with the API key's ``Authorization``).
    """
    url: URL | None = None
    auth: str | None = None
    if proxy is not None:
        if not isinstance(proxy, str):
            raise TypeError(f"proxy must be a URL string, not {type(proxy).__name__}")
        try:
            url = URL(proxy)
        except ValueError:
            url = None
        if url is None or url.scheme not in ("http", "https") or not url.host:
            raise ValueError("proxy must be an http(s) URL with a host, e.g. http://proxy:3128")
    elif trust_env:
        from aiohttp.helpers import get_env_proxy_for_url

        try:
            url, basic = get_env_proxy_for_url(URL(base_url))
        except LookupError:
            return None, None
        if basic is not None:
            auth = aiohttp.encode_basic_auth(basic.login, basic.password)
    if url is None:
        return None, None
    if url.user is not None:
        auth = aiohttp.encode_basic_auth(url.user, url.password or "")
        url = url.with_user(None)
    return str(url), ({"Proxy-Authorization": auth} if auth else None)


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


class Transport:
    """Sends calls through an aiohttp session on its pool (made lazily, in the loop that
    first uses it), or through the caller's own session."""

    def __init__(
        self,
        *,
        base_url: str,
        headers: Mapping[str, str],
        timeout: Timeout,
        max_retries: int,
        pool: Pool,
        owns_pool: bool = True,
        default_query: Sequence[tuple[str, Any]] = (),
        proxy: str | None = None,
        proxy_headers: Mapping[str, str] | None = None,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
        max_retry_after: float = MAX_RETRY_AFTER,
    ) -> None:
        self.base_url = base_url
        # What a user most likely got wrong, said where the error shows it.
        self._connect_hint, self._not_found_hint = _hints(base_url)
        self.max_response_size = max_response_size
        self.headers = dict(headers)
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_retry_after = max_retry_after
        self.pool = pool
        self.owns_pool = owns_pool
        self.default_query = list(default_query)
        self._default_query_names = frozenset(name for name, _ in self.default_query)
        # Options every request carries; a caller's session has its own defaults, so the
        # client's headers and timeout go with each request instead.
        # As given: a with_options copy is made from them.
        self.proxy, self.proxy_headers = proxy, proxy_headers
        self._base_options: dict[str, Any] = {}
        if proxy is not None:
            self._base_options["proxy"] = proxy
            if proxy_headers and base_url.startswith("http://"):
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
        # whose extra_headers remove one (aiohttp cannot drop a session default).
        self._plain: aiohttp.ClientSession | None = None
        self._closed = False
        self._inflight = 0
        # The streams of this client still open, for close() to end.
        self.streams: weakref.WeakSet[OpenStream] = weakref.WeakSet()
        self._stream_timeout = timeout._aiohttp(stream=True)
        # Injectable for tests; the retry loop sleeps only through this.
        self.sleep: Callable[[float], Awaitable[None]] = self._backoff
        self.rand: Callable[[], float] = random.random

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
        return _merge_headers(dict(self.headers), method, extra)

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
        return _merge_headers({}, method, extra), False

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Query | None = None,
        body: Any = None,
        headers: Headers | None = None,
        timeout: Timeout | None = None,
    ) -> Coroutine[Any, Any, RawResponse]:
        """Send one request, with retries; a non-2xx answer raises ``APIStatusError``."""
        # A plain function handing back the coroutine: one frame less on every call.
        return self._send(  # type: ignore[return-value]
            method, path, query, body, headers, timeout, stream=False
        )

    def open_stream(
        self,
        method: str,
        path: str,
        *,
        query: Query | None = None,
        body: Any = None,
        headers: Headers | None = None,
        timeout: Timeout | None = None,
    ) -> Coroutine[Any, Any, OpenStream]:
        """Like ``request``, but a 2xx answer is returned open, to be read as it arrives.

        Retries apply until a 2xx arrives; after that, nothing is retried.
        """
        return self._send(  # type: ignore[return-value]
            method, path, query, body, headers, timeout, stream=True
        )

    async def _send(
        self,
        method: str,
        path: str,
        query: Query | None,
        body: Any,
        headers: Headers | None,
        timeout: Timeout | None,
        *,
        stream: bool,
    ) -> RawResponse | OpenStream:
        session = self.session()
        url = self.base_url + path
        sent_headers, without_defaults = self._call_headers(method, headers)
        if without_defaults:
            session = self._plain_session(session)
        data: bytes | None = None
        if body is not None:
            data = _encode_body(body)
            # Without the caller's headers, only the defaults could name a content type.
            if "content-type" not in self._default_names and not (
                headers and any(name.lower() == "content-type" for name in sent_headers or ())
            ):
                sent_headers = {**(sent_headers or {}), "Content-Type": "application/json"}
        options: dict[str, Any] = {**self._base_options, "headers": sent_headers}
        if self.default_query:
            query = self._with_default_query(query)
        if query:
            options["params"] = query
        if data is not None:
            options["data"] = data
        elif method in NON_IDEMPOTENT:
            # aiohttp would label an empty POST application/octet-stream; a strict server
            # checks the type of a body the operation does not have.
            options["skip_auto_headers"] = _NO_CONTENT_TYPE
        limits = self.timeout if timeout is None else timeout
        if stream:
            options["timeout"] = (
                self._stream_timeout if timeout is None else timeout._aiohttp(stream=True)
            )
        elif timeout is not None:
            options["timeout"] = timeout._aiohttp()
        started = time.monotonic()
        deadline = None if limits.deadline is None else started + limits.deadline
        remaining: float | None = None
        retries = 0
        self._inflight += 1
        try:
            while True:
                if deadline is not None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise _deadline_error(limits, method, url)
                    options["timeout"] = limits._aiohttp(stream=stream, cap=remaining)
                if data is not None and len(data) > _LARGE_BODY:
                    # aiohttp warns on big raw bytes; a fresh stream each attempt resends it all.
                    options["data"] = io.BytesIO(data)
                # One attempt, inline (this loop is the hot path of every call).
                failure: APIConnectionError | None = None
                try:
                    request = session.request(method, url, allow_redirects=False, **options)
                    if stream and remaining is not None:
                        # A stream's timeout has no total, so the deadline bounds its opening.
                        resp = await asyncio.wait_for(request, remaining)
                    else:
                        resp = await request
                    status = resp.status
                    if stream and 200 <= status < 300:
                        log.debug("%s %s -> %d (streaming)", method, path, status)
                        return OpenStream(resp, method, url, self)
                    # What ``async with resp`` would do on leaving (release() first, as
                    # its __aexit__ does), without its three coroutines on every call.
                    try:
                        resp_headers = resp.headers
                        length = resp.content_length
                        if (
                            length is not None
                            and length <= self.max_response_size
                            and 200 <= status < 300
                            and "Content-Encoding" not in resp_headers
                        ):
                            # The common case, inline: the parser stops at the length.
                            content = await resp.read()
                        else:
                            content = await _read_body(
                                resp,
                                self.max_response_size
                                if 200 <= status < 300
                                else _ERROR_BODY_LIMIT,
                                fail=200 <= status < 300,
                            )
                    finally:
                        resp.release()
                except asyncio.TimeoutError:  # the builtin only from 3.11 on
                    failure = APITimeoutError(
                        f"Request timed out.{self._connect_hint}", method=method, url=url
                    )
                except aiohttp.ClientResponseError as exc:
                    # Its request_info holds our headers (the API key): never chain it.
                    failure = APIConnectionError(
                        f"Connection error: {exc.message}", method=method, url=url
                    )
                except (aiohttp.ClientError, OSError) as exc:
                    failure = APIConnectionError(
                        f"Connection error: {_describe(exc)}{self._connect_hint}",
                        method=method,
                        url=url,
                    )
                    failure.__cause__ = _scrubbed(exc)
                except RuntimeError:
                    if not self.closed:  # "Session is closed" when the close came first
                        raise
                    failure = APIConnectionError("closed", method=method, url=url)
                if failure is not None:
                    if self.closed:
                        raise ClientClosedError(
                            "the client was closed while this call was in flight"
                        ) from None
                    decision = retry_decision(
                        status=None,
                        headers={},
                        retries_done=retries,
                        max_retries=self.max_retries,
                        now=time.time(),
                        rand=self.rand,
                    )
                    if not decision.retry:
                        raise failure from failure.__cause__
                    if _past(deadline, decision.delay):
                        raise _deadline_error(limits, method, url) from failure
                    reason = type(failure).__name__
                elif 200 <= status < 300:
                    if log.isEnabledFor(logging.DEBUG):
                        log.debug("%s %s -> %d", method, path, status)
                    raw = _raw_response(
                        status,
                        resp_headers,
                        content,
                        method,
                        url,
                        retries,
                        time.monotonic() - started,
                    )
                    capture = RAW_CAPTURE.get()
                    if capture is not None:
                        capture.append(raw)
                    return raw
                else:
                    decision = retry_decision(
                        status=status,
                        headers=resp_headers,
                        retries_done=retries,
                        max_retries=self.max_retries,
                        now=time.time(),
                        max_retry_after=self.max_retry_after,
                        rand=self.rand,
                    )
                    if not decision.retry or _past(deadline, decision.delay):
                        log.debug("%s %s -> %d (not retried)", method, path, status)
                        error = error_from_response(
                            status, resp_headers, content, retry_after=decision.retry_after
                        )
                        if status == 404 and self._not_found_hint:
                            error.message += self._not_found_hint
                        if decision.retry:  # only the deadline stopped it
                            raise _deadline_error(limits, method, url) from error
                        raise error
                    reason = f"status {status}"
                retries += 1
                log.info(
                    "retrying %s %s in %.2f s (retry %d of %d) after %s",
                    method,
                    path,
                    decision.delay,
                    retries,
                    self.max_retries,
                    reason,
                )
                await self.sleep(decision.delay)
                if self.closed:
                    raise ClientClosedError("the client was closed while this call was waiting")
        finally:
            # Whatever leaves this frame (an error's traceback keeps it) must not carry
            # the key: tools that print local variables would show these.
            sent_headers = options = headers = session = request = resp = None  # type: ignore[assignment]
            self._inflight -= 1
            if self._closed and not self._inflight:
                self._close_later()

    def _with_default_query(self, query: Query | None) -> list[tuple[str, Any]]:
        if not query:
            return self.default_query
        items = list(query.items()) if isinstance(query, Mapping) else list(query)
        # A call's own value for a name replaces the default one.
        names = {name for name, _ in items} & self._default_query_names
        defaults = [kv for kv in self.default_query if kv[0] not in names]
        return [*defaults, *items]


class OpenStream:
    """A 2xx response being read as it arrives. Close it when done (or on leaving early)."""

    def __init__(
        self, response: aiohttp.ClientResponse, method: str, url: str, transport: Transport
    ) -> None:
        self._response = response
        self._transport = transport
        transport.streams.add(self)
        self.status_code = response.status
        self.headers = response.headers
        self.method = method
        self.url = url
        self.max_event_size = transport.max_response_size

    @property
    def request_id(self) -> str | None:
        return self.headers.get("x-request-id")

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body's bytes as they come; a failure mid-body is ``APIConnectionError``."""
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
            if self._transport.closed:  # the client's close() dropped the connection
                raise ClientClosedError("the client was closed while this stream was being read")
        except asyncio.TimeoutError:
            raise APITimeoutError(
                "Stream read timed out.", method=self.method, url=self.url
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            if self._transport.closed:
                raise ClientClosedError(
                    "the client was closed while this stream was being read"
                ) from None
            raise APIConnectionError(
                f"Connection lost mid-stream: {_describe(exc)}", method=self.method, url=self.url
            ) from _scrubbed(exc)

    def close(self) -> None:
        """Drop the connection: an unread body cannot be reused."""
        self._response.close()

    @property
    def closed(self) -> bool:
        return self._response.closed


async def _read_body(resp: aiohttp.ClientResponse, limit: int, *, fail: bool) -> bytes:
    """The (decompressed) body, holding at most about ``limit`` bytes.

    Past the limit: ``ResponseTooLargeError`` if ``fail``, else the body cut at the limit
    (an error's body, whose start says all). Either way the connection is dropped.
    """
    length = resp.content_length
    if length is not None and length <= limit and "Content-Encoding" not in resp.headers:
        return await resp.read()  # the common case: the parser stops at the length
    if length is not None and length > limit and fail:
        resp.close()
        raise ResponseTooLargeError("the response body", limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_any():
        size += len(chunk)
        if size > limit:
            resp.close()
            if fail:
                raise ResponseTooLargeError("the response body", limit)
            chunks.append(chunk[: limit - (size - len(chunk))])
            break
        chunks.append(chunk)
    return b"".join(chunks)


def _scrubbed(exc: BaseException) -> BaseException:
    """``exc`` and what it chains, without tracebacks: their frames' locals hold our
    headers, the API key among them, and tools that print locals would show it."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        item = stack.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        item.__traceback__ = None
        stack.extend((item.__cause__, item.__context__))
    return exc


def _deadline_error(limits: Timeout, method: str, url: str) -> APITimeoutError:
    return APITimeoutError(
        f"The call's deadline of {limits.deadline:g} s passed (retries included).",
        method=method,
        url=url,
    )


def _past(deadline: float | None, delay: float) -> bool:
    return deadline is not None and time.monotonic() + delay >= deadline


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


# RFC 9110 token characters: anything else in a name (":", spaces, line breaks) would
# let a header smuggle another, or fail on the wire.
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_NO_CONTENT_TYPE = ("Content-Type",)
# Methods that may change state: each call gets its own Idempotency-Key.
NON_IDEMPOTENT = frozenset({"POST", "PATCH"})


def check_header(name: object, value: object, what: str) -> None:
    """Refuse a header that is not a token name with a single-line string value."""
    if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
        raise ValueError(f"{what}: {name!r} is not a valid header name")
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{what}[{name!r}] must be a string or None, not {type(value).__name__}")
    if value is not None and any(ch in value for ch in "\r\n\0"):
        raise ValueError(f"{what}[{name!r}] contains a line break or NUL")


def _merge_headers(headers: dict[str, str], method: str, extra: Headers | None) -> dict[str, str]:
    if method in NON_IDEMPOTENT:
        # One key per call, reused by its retries: a retried create cannot run twice.
        # 128 random bits, as uuid4 has, without building a UUID object.
        headers["Idempotency-Key"] = os.urandom(16).hex()
    if extra:
        # Header names are case-insensitive: a name given in any case replaces the old one.
        lowered = {k.lower(): k for k in headers}
        for name, value in extra.items():
            check_header(name, value, "extra_headers")
            existing = lowered.pop(name.lower(), None)
            if existing is not None:
                del headers[existing]
            if value is not None:
                headers[name] = value
                lowered[name.lower()] = name
    return headers


# OpenAI's hosted Assistants API: no longer there to connect to.
_RETIRED_HOST = "api.openai.com"


def _hints(base_url: str) -> tuple[str, str]:
    """What to add to a connection error, and to a 404, for this base URL."""
    parts = urlsplit(base_url)
    connect = ""
    if parts.hostname == _RETIRED_HOST:
        connect = (
            f" ({_RETIRED_HOST} is OpenAI's hosted Assistants API, retired on 2026-08-26: "
            "set base_url=... or OPENAI_BASE_URL to the compatible server you use)"
        )
    not_found = ""
    if parts.path.strip("/") == "":
        not_found = (
            f" (the base_url {base_url!r} has no path: if the server serves the API under "
            f"/v1, as most do, check whether base_url is missing '/v1')"
        )
    return connect, not_found


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
