"""The one place that speaks HTTP: the session, each call's headers, and the retry loop.

Retry and error decisions are pure functions in ``_retry`` and ``_errors``; settings are
checked in ``_config``; what comes back is in ``_response``. The send path is four short
steps: ``request``/``open_stream``; the retry loop (``_send``); one attempt
(``_attempt``: what its outcome means); the exchange itself (``_exchange``: the I/O).
"""

from __future__ import annotations

import asyncio
import io
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypedDict, cast
from urllib.parse import urlsplit

import aiohttp
from multidict import CIMultiDictProxy

from ._config import ClientConfig, Query
from ._errors import APIConnectionError, APITimeoutError, ClientClosedError, error_from_response
from ._headers import NON_IDEMPOTENT, Headers
from ._json import encode_body
from ._response import RAW_CAPTURE, OpenStream, RawResponse, describe, read_body, scrubbed
from ._retry import MAX_RETRY_AFTER, retry_decision
from ._session import Pool, Sessions
from ._timeout import Timeout

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["Pool", "Transport"]

log = logging.getLogger("assistants_async")

# Bodies above this go as a stream (aiohttp's threshold for its large-body warning).
_LARGE_BODY = 1024 * 1024
# An error's body is read this far, then the connection is dropped: enough for any
# message, and a hostile server's endless error page costs nothing.
_ERROR_BODY_LIMIT = 1024 * 1024
_NO_CONTENT_TYPE = ("Content-Type",)


class SendOptions(TypedDict, total=False):
    """What a call sends besides its method and path (its body as JSON data)."""

    query: Query | None
    body: Any
    headers: Headers | None
    timeout: Timeout | None


class Transport(Sessions):
    """Sends calls, with retries, through its sessions (``_session.Sessions``)."""

    def __init__(self, config: ClientConfig, pool: Pool, *, owns_pool: bool = True) -> None:
        super().__init__(config, pool, owns_pool=owns_pool)
        self.base_url = config.bare_url
        # What a user most likely got wrong, said where the error shows it.
        self._connect_hint, self._not_found_hint = _hints(self.base_url)
        self.max_response_size = config.max_response_size
        self.max_retries = config.max_retries
        self.max_retry_after = MAX_RETRY_AFTER
        self.default_query = config.query
        self._default_query_names = frozenset(name for name, _ in self.default_query)
        self._stream_timeout = self.timeout._aiohttp(stream=True)
        # Injectable for tests; the retry loop sleeps only through this.
        self.sleep: Callable[[float], Awaitable[None]] = self._backoff
        self.rand: Callable[[], float] = random.random

    async def request(self, method: str, path: str, **options: Unpack[SendOptions]) -> RawResponse:
        """Send one request, with retries; a non-2xx answer raises ``APIStatusError``."""
        return cast(RawResponse, await self._send(method, path, stream=False, **options))

    async def open_stream(
        self, method: str, path: str, **options: Unpack[SendOptions]
    ) -> OpenStream:
        """Like ``request``, but a 2xx answer is returned open, to be read as it arrives.

        Retries apply until a 2xx arrives; after that, nothing is retried.
        """
        return cast(OpenStream, await self._send(method, path, stream=True, **options))

    async def _send(
        self,
        method: str,
        path: str,
        *,
        stream: bool,
        query: Query | None = None,
        body: Any = None,
        headers: Headers | None = None,
        timeout: Timeout | None = None,
    ) -> RawResponse | OpenStream:
        """The retry loop: attempts, and the waits the retry policy asks for between them."""
        call = self._prepare(method, path, query, body, headers, timeout, stream)
        self._inflight += 1
        try:
            while True:
                outcome = await self._attempt(call)
                if not isinstance(outcome, tuple):
                    return outcome
                delay, reason = outcome
                call.retries += 1
                log.info(
                    "retrying %s %s in %.2f s (retry %d of %d) after %s",
                    method,
                    path,
                    delay,
                    call.retries,
                    self.max_retries,
                    reason,
                )
                await self.sleep(delay)
                if self.closed:
                    raise ClientClosedError("the client was closed while this call was waiting")
        finally:
            # Whatever leaves this frame (an error's traceback keeps it) must not carry
            # the key: tools that print local variables would show these.
            call.options = {}
            headers = None
            self._inflight -= 1
            if self._closed and not self._inflight:
                self._close_later()

    def _prepare(
        self,
        method: str,
        path: str,
        query: Query | None,
        body: Any,
        headers: Headers | None,
        timeout: Timeout | None,
        stream: bool,
    ) -> _Call:
        """What every attempt of a call sends: session, headers, query, body, timeout."""
        session = self.session()
        sent_headers, without_defaults = self._call_headers(method, headers)
        if without_defaults:
            session = self._plain_session(session)
        options: dict[str, Any] = {**self._base_options, "headers": sent_headers}
        data: bytes | None = None
        if body is not None:
            data = options["data"] = encode_body(body)
            # Without the caller's headers, only the defaults could name a content type.
            if "content-type" not in self._default_names and not (
                headers and any(name.lower() == "content-type" for name in sent_headers or ())
            ):
                options["headers"] = {**(sent_headers or {}), "Content-Type": "application/json"}
        elif method in NON_IDEMPOTENT:
            # aiohttp would label an empty POST application/octet-stream; a strict server
            # checks the type of a body the operation does not have.
            options["skip_auto_headers"] = _NO_CONTENT_TYPE
        if self.default_query:
            query = self._with_default_query(query)
        if query:
            options["params"] = query
        if stream:
            options["timeout"] = (
                self._stream_timeout if timeout is None else timeout._aiohttp(stream=True)
            )
        elif timeout is not None:
            options["timeout"] = timeout._aiohttp()
        limits = self.timeout if timeout is None else timeout
        return _Call(method, path, self.base_url + path, session, options, data, stream, limits)

    async def _attempt(self, call: _Call) -> RawResponse | OpenStream | tuple[float, str]:
        """One attempt: its response, or (delay, reason) for a retry; an error that ends
        the call is raised."""
        if call.deadline is not None:
            call.remaining = remaining = call.deadline - time.monotonic()
            if remaining <= 0:
                raise _deadline_error(call)
            call.options["timeout"] = call.limits._aiohttp(stream=call.stream, cap=remaining)
        if call.data is not None and len(call.data) > _LARGE_BODY:
            # aiohttp warns on big raw bytes; a fresh stream each attempt resends it all.
            call.options["data"] = io.BytesIO(call.data)
        outcome = await self._exchange(call)
        if isinstance(outcome, tuple):
            status, headers, content = outcome
            if 200 <= status < 300:
                if log.isEnabledFor(logging.DEBUG):
                    log.debug("%s %s -> %d", call.method, call.path, status)
                raw = RawResponse(
                    status,
                    headers,
                    content,
                    call.method,
                    call.url,
                    call.retries,
                    time.monotonic() - call.started,
                )
                capture = RAW_CAPTURE.get()
                if capture is not None:
                    capture.append(raw)
                return raw
            return self._judge_status(call, status, headers, content)
        if isinstance(outcome, OpenStream):
            return outcome
        return self._judge_failure(call, outcome)

    def _judge_status(
        self, call: _Call, status: int, headers: CIMultiDictProxy[str], content: bytes
    ) -> tuple[float, str]:
        """A non-2xx answer: the wait before retrying it, or its error raised."""
        decision = retry_decision(
            status=status,
            headers=headers,
            retries_done=call.retries,
            max_retries=self.max_retries,
            now=time.time(),
            max_retry_after=self.max_retry_after,
            rand=self.rand,
        )
        if not decision.retry or _past(call.deadline, decision.delay):
            log.debug("%s %s -> %d (not retried)", call.method, call.path, status)
            error = error_from_response(status, headers, content, retry_after=decision.retry_after)
            if status == 404 and self._not_found_hint:
                error.message += self._not_found_hint
            if decision.retry:  # only the deadline stopped it
                raise _deadline_error(call) from error
            raise error
        return decision.delay, f"status {status}"

    def _judge_failure(self, call: _Call, failure: APIConnectionError) -> tuple[float, str]:
        """No answer: the wait before retrying, or the failure raised."""
        if self.closed:
            raise ClientClosedError("the client was closed while this call was in flight")
        decision = retry_decision(
            status=None,
            headers={},
            retries_done=call.retries,
            max_retries=self.max_retries,
            now=time.time(),
            rand=self.rand,
        )
        if not decision.retry:
            raise failure from failure.__cause__
        if _past(call.deadline, decision.delay):
            raise _deadline_error(call) from failure
        return decision.delay, type(failure).__name__

    async def _exchange(
        self, call: _Call
    ) -> tuple[int, CIMultiDictProxy[str], bytes] | OpenStream | APIConnectionError:
        """Send the request and read its answer (a 2xx stream is returned open). A
        transport failure is returned, for the attempt to judge: raised here, it would
        carry this frame, and the aiohttp frames below it, holding our headers."""
        failure: APIConnectionError | None = None
        method, url = call.method, call.url
        request: Any = None
        resp: Any = None
        try:
            request = call.session.request(method, url, allow_redirects=False, **call.options)
            if call.stream and call.remaining is not None:
                # A stream's timeout has no total, so the deadline bounds its opening.
                resp = await asyncio.wait_for(request, call.remaining)
            else:
                resp = await request
            status = resp.status
            ok = 200 <= status < 300
            if call.stream and ok:
                log.debug("%s %s -> %d (streaming)", method, call.path, status)
                return OpenStream(resp, method, url, self)
            try:
                limit = self.max_response_size if ok else _ERROR_BODY_LIMIT
                return status, resp.headers, await read_body(resp, limit, fail=ok)
            finally:
                resp.release()  # as ``async with`` would, without its coroutines
        except asyncio.TimeoutError:  # the builtin only from 3.11 on
            failure = APITimeoutError(
                f"Request timed out.{self._connect_hint}", method=method, url=url
            )
        except aiohttp.ClientResponseError as exc:
            # Its request_info holds our headers (the API key): never chain it.
            failure = APIConnectionError(f"Connection error: {exc.message}", method=method, url=url)
        except (aiohttp.ClientError, OSError) as exc:
            failure = APIConnectionError(
                f"Connection error: {describe(exc)}{self._connect_hint}", method=method, url=url
            )
            failure.__cause__ = scrubbed(exc)
        except RuntimeError:
            if not self.closed:  # "Session is closed" when the close came first
                raise
            failure = APIConnectionError("closed", method=method, url=url)
        finally:
            request = resp = None
        return failure

    def _with_default_query(self, query: Query | None) -> list[tuple[str, Any]]:
        if not query:
            return self.default_query
        items = list(query.items()) if isinstance(query, Mapping) else list(query)
        # A call's own value for a name replaces the default one.
        names = {name for name, _ in items} & self._default_query_names
        defaults = [kv for kv in self.default_query if kv[0] not in names]
        return [*defaults, *items]


class _Call:
    """One call's state across its attempts."""

    __slots__ = (
        "data",
        "deadline",
        "limits",
        "method",
        "options",
        "path",
        "remaining",
        "retries",
        "session",
        "started",
        "stream",
        "url",
    )

    def __init__(
        self,
        method: str,
        path: str,
        url: str,
        session: aiohttp.ClientSession,
        options: dict[str, Any],
        data: bytes | None,
        stream: bool,
        limits: Timeout,
    ) -> None:
        self.method, self.path, self.url = method, path, url
        self.session, self.options, self.data, self.stream = session, options, data, stream
        self.limits = limits
        self.started = time.monotonic()
        self.deadline = None if limits.deadline is None else self.started + limits.deadline
        self.remaining: float | None = None
        self.retries = 0


def _deadline_error(call: _Call) -> APITimeoutError:
    return APITimeoutError(
        f"The call's deadline of {call.limits.deadline:g} s passed (retries included).",
        method=call.method,
        url=call.url,
    )


def _past(deadline: float | None, delay: float) -> bool:
    return deadline is not None and time.monotonic() + delay >= deadline


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
