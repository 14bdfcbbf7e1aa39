"""AsyncClient: the calls every resource goes through, and the resources hanging off it.

Its settings are checked in ``_config`` (``build_config``); it sends through
``_transport`` and decodes through ``_decoding``.
"""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable, Mapping
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, overload

import aiohttp

from ._config import (
    DEFAULT_BASE_URL,
    Auth,
    ClientOptions,
    ClientOverrides,
    ClientSettings,
    Query,
    RequestOptions,
    build_config,
    client_signature,
    masked_url,
)
from ._decoding.converter import decode
from ._deviations import Deviation, Deviations, Reading
from ._errors import ResponseValidationError
from ._headers import Headers
from ._request import prepare
from ._response import RAW_CAPTURE, APIResponse, OpenStream, RawResponse
from ._signatures import spelled_out
from ._timeout import Timeout
from ._transport import Pool, Transport

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .resources import AsyncAssistants, AsyncMessages, AsyncRuns, AsyncSteps, AsyncThreads

__all__ = ["DEFAULT_BASE_URL", "APIResponse", "AsyncClient", "Auth"]

T = TypeVar("T")
P = ParamSpec("P")

# Made anew for each with_options copy: the copy's own transport and resources.
_PER_CLIENT_ATTRS = frozenset({"_transport", "assistants", "threads", "messages", "runs", "steps"})


class AsyncClient(ClientSettings):
    """Async client for the Assistants API.

    Use it as ``async with AsyncClient() as client:`` or call ``await client.close()``.
    One client is safe to share between any number of concurrent tasks of one loop.
    """

    def __init__(
        self, *, session: aiohttp.ClientSession | None = None, **options: Unpack[ClientOptions]
    ) -> None:
        config = build_config(**options)
        if session is not None and not isinstance(session, aiohttp.ClientSession):
            raise TypeError(
                f"session must be an aiohttp.ClientSession, not {type(session).__name__}"
            )
        pool = Pool(
            max_connections=config.max_connections,
            max_connections_per_host=config.max_connections_per_host,
            session=session,
        )
        self._config = config
        self._reading = Reading(config.strict, Deviations())
        self._transport = Transport(config, pool)

    # The keyword arguments as ClientOptions declares them, for help() and inspect.
    __init__ = client_signature(__init__, session=True)

    def __del__(self, _warn: Any = warnings.warn) -> None:
        # Never closes (that is where "Event loop is closed" comes from); it says how.
        transport = self.__dict__.get("_transport")
        if transport is not None and transport.opened and not transport.closed:
            _warn(
                f"{self!r} was never closed: use 'async with AsyncClient() as client:' or "
                "'await client.close()' to release its connections",
                ResourceWarning,
                source=self,
                stacklevel=2,
            )

    @spelled_out(options=ClientOverrides)
    def with_options(self, **overrides: Unpack[ClientOverrides]) -> AsyncClient:
        """A copy of this client with other settings, sharing its connection pool (and
        its record of deviations).

        ``default_headers`` and ``default_query`` are merged over this client's (a
        ``None`` header value removes one). The copy and the original work concurrently;
        closing the copy closes only the copy, closing the original ends the shared pool
        for both.
        """
        config = self._config.with_options(**overrides)
        clone = AsyncClient.__new__(AsyncClient)
        clone.__dict__.update(
            {k: v for k, v in self.__dict__.items() if k not in _PER_CLIENT_ATTRS}
        )
        clone._config = config
        clone._reading = Reading(config.strict, self._reading.deviations)
        clone._transport = Transport(config, self._transport.pool, owns_pool=False)
        return clone

    def __repr__(self) -> str:
        # Never the API key.
        return (
            f"AsyncClient(base_url={masked_url(self.base_url)!r}, "
            f"organization={self.organization!r}, "
            f"project={self.project!r}, max_retries={self.max_retries}, strict={self.strict})"
        )

    @property
    def deviations(self) -> list[Deviation]:
        """Each kind of departure from the spec met so far, first seen first (once each,
        shared with ``with_options`` copies). See README, "Compatible servers"."""
        found = self._reading.deviations
        return list(found) if found is not None else []

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connection pool. Safe to call twice; the client is unusable after."""
        await self._transport.close()

    @property
    def is_closed(self) -> bool:
        return self._transport.closed

    # --- resources (imported on first use: importing the package stays light) ---------

    @cached_property
    def assistants(self) -> AsyncAssistants:
        from .resources import AsyncAssistants

        return AsyncAssistants(self)

    @cached_property
    def threads(self) -> AsyncThreads:
        from .resources import AsyncThreads

        return AsyncThreads(self)

    @cached_property
    def messages(self) -> AsyncMessages:
        from .resources import AsyncMessages

        return AsyncMessages(self)

    @cached_property
    def runs(self) -> AsyncRuns:
        from .resources import AsyncRuns

        return AsyncRuns(self)

    @cached_property
    def steps(self) -> AsyncSteps:
        from .resources import AsyncSteps

        return AsyncSteps(self)

    async def with_raw_response(
        self, method: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs
    ) -> APIResponse[T]:
        """Call ``method(*args, **kwargs)`` and return its result with the raw response.

        ``await client.with_raw_response(client.runs.retrieve, thread_id, run_id)`` gives
        ``.parsed`` (the Run), ``.status_code``, ``.headers`` and ``.request_id``. A list
        method gives its first page. Safe with concurrent calls: each has its own context.
        A body that cannot be decoded still gives the response; ``.parsed`` raises.
        """
        captured: list[RawResponse] = []
        token = RAW_CAPTURE.set(captured)
        try:
            parsed = await method(*args, **kwargs)
        except ResponseValidationError as exc:
            if exc.response is None or not captured or exc.response is not captured[-1]:
                raise
            # The body came but does not decode: the response is still the caller's.
            return APIResponse(parsed=None, raw=captured[-1], error=exc)
        finally:
            RAW_CAPTURE.reset(token)
        if not captured:
            raise RuntimeError(f"{method!r} made no request through this client")
        return APIResponse(parsed=parsed, raw=captured[-1])

    # --- the low-level calls every resource method goes through ------------------------

    async def request_raw(
        self,
        method: str,
        path: str,
        *,
        query: Query | None = None,
        body: Mapping[str, Any] | None = None,
        timeout: float | Timeout | None = None,
        extra_headers: Headers | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> RawResponse:
        """Send one request (with retries) and return the raw response.

        ``path`` is relative to ``base_url`` (and must stay under it); a non-2xx answer
        raises ``APIStatusError``.
        """
        method, query, data, call_timeout = prepare(
            method, path, query, body, timeout, extra_query, extra_body
        )
        return await self._transport.request(
            method, path, query=query, body=data, headers=extra_headers, timeout=call_timeout
        )

    async def open_stream(
        self,
        method: str,
        path: str,
        *,
        query: Query | None = None,
        body: Mapping[str, Any] | None = None,
        timeout: float | Timeout | None = None,
        extra_headers: Headers | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> OpenStream:
        """Send a request whose 2xx answer is read as it arrives (server-sent events)."""
        method, query, data, call_timeout = prepare(
            method, path, query, body, timeout, extra_query, extra_body
        )
        headers: dict[str, str | None] = {"Accept": "text/event-stream"}
        headers.update(extra_headers or {})
        return await self._transport.open_stream(
            method, path, query=query, body=data, headers=headers, timeout=call_timeout
        )

    @overload
    async def request(
        self, method: str, path: str, *, cast_to: type[T], **options: Unpack[RequestOptions]
    ) -> T: ...

    @overload
    async def request(
        self, method: str, path: str, *, cast_to: None = ..., **options: Unpack[RequestOptions]
    ) -> Any: ...

    async def request(
        self,
        method: str,
        path: str,
        *,
        cast_to: type[T] | None = None,
        query: Query | None = None,
        body: Mapping[str, Any] | None = None,
        timeout: float | Timeout | None = None,
        extra_headers: Headers | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> T | Any:
        """Send a request and decode its JSON body into ``cast_to`` (plain JSON if None).

        The escape hatch for endpoints a compatible server adds beyond the spec.
        ``path`` is relative to ``base_url``, and must stay under it.
        """
        method, query, data, call_timeout = prepare(
            method, path, query, body, timeout, extra_query, extra_body
        )
        raw = await self._transport.request(
            method, path, query=query, body=data, headers=extra_headers, timeout=call_timeout
        )
        if cast_to is None:
            return raw.json()
        return self._parse(raw, cast_to, method, path)

    def _parse(self, raw: RawResponse, cast_to: type[T], method: str, path: str) -> T:
        """``raw``'s body as ``cast_to``, read as this client reads (strict or tolerant);
        an error names the response it came from."""
        try:
            return decode(raw.content, cast_to, self._reading, (method, path))
        except ResponseValidationError as exc:
            raise exc.of(raw) from None
