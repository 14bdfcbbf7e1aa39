"""AsyncClient: configuration, the session layer, and the resources hanging off it."""

from __future__ import annotations

import os
import re
import sys
import warnings
from collections.abc import Awaitable, Callable, Mapping
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Literal, ParamSpec, TypeVar, overload
from urllib.parse import urlsplit

import aiohttp
import attrs

from ._decoding.converter import decode, to_json_data
from ._deviations import Deviation, Deviations, Reading
from ._errors import ResponseValidationError
from ._transport import (
    DEFAULT_MAX_RESPONSE_SIZE,
    DEFAULT_TIMEOUT,
    RAW_CAPTURE,
    Headers,
    OpenStream,
    Pool,
    Query,
    RawResponse,
    Timeout,
    Transport,
    check_header,
    coerce_timeout,
    resolve_proxy,
    split_base_url,
)
from ._version import __version__

if TYPE_CHECKING:
    from multidict import CIMultiDictProxy

    from .resources import AsyncAssistants, AsyncMessages, AsyncRuns, AsyncSteps, AsyncThreads

__all__ = ["DEFAULT_BASE_URL", "APIResponse", "AsyncClient", "Auth"]

T = TypeVar("T")
P = ParamSpec("P")


@attrs.frozen
class APIResponse(Generic[T]):
    """A call's raw response, and its result decoded from it.

    The raw response is there even when its body cannot be decoded: then reading
    ``parsed`` (or calling ``parse()``) raises the ``ResponseValidationError``.
    """

    _parsed: T | None = attrs.field(alias="parsed", repr=False)
    raw: RawResponse
    _error: ResponseValidationError | None = attrs.field(default=None, alias="error")

    @property
    def parsed(self) -> T:
        if self._error is not None:
            raise self._error
        return self._parsed  # type: ignore[return-value]

    def parse(self) -> T:
        """The decoded result (as ``parsed``), or the error decoding it raised."""
        return self.parsed

    @property
    def status_code(self) -> int:
        return self.raw.status_code

    @property
    def headers(self) -> CIMultiDictProxy[str]:
        return self.raw.headers

    @property
    def request_id(self) -> str | None:
        return self.raw.request_id


DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MAX_RETRIES = 2
USER_AGENT = (
    f"assistants-async/{__version__} "
    f"Python/{sys.version_info[0]}.{sys.version_info[1]}.{sys.version_info[2]} "
    f"aiohttp/{aiohttp.__version__}"
)


def _check_header_value(name: str, value: str) -> None:
    # A newline in a header value would let it inject other headers.
    if any(ch in value for ch in "\r\n\0"):
        raise ValueError(f"{name} contains a line break or NUL, which a header cannot hold")


_METHOD = re.compile(r"[A-Za-z]+")
_UPPER_METHODS = frozenset({"GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS"})


def _normal_method(method: object) -> str:
    if not isinstance(method, str) or not _METHOD.fullmatch(method):
        raise ValueError(f"method must be an HTTP method name such as 'POST', not {method!r}")
    return method.upper()


def _apply_header_overrides(
    headers: dict[str, str], overrides: Headers | None, what: str
) -> dict[str, str]:
    for name, value in (overrides or {}).items():
        check_header(name, value, what)  # the name a token, the value one line
        headers = {k: v for k, v in headers.items() if k.lower() != name.lower()}
        if value is not None:
            headers[name] = value
    return headers


def _check_max_retries(max_retries: object) -> int:
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ValueError(f"max_retries must be a whole number >= 0, not {max_retries!r}")
    return max_retries


# A segment that is "." or ".." however spelled: yarl resolves those, and "%2e%2e"
# is decoded first by some servers.
_DOT_SEGMENT = re.compile(r"(?:^|/)(?:\.|%2e){1,2}(?:/|$)", re.IGNORECASE)


def _check_path(path: object) -> None:
    """Refuse a path that would not stay under ``base_url`` once joined to it."""
    if (
        type(path) is str
        and path[:1] == "/"
        and "." not in path
        and "%" not in path
        and "\\" not in path
        and " " not in path
        and path.isprintable()
    ):
        return  # the common case: nothing that could climb or leave
    if not isinstance(path, str):
        raise TypeError(f"path must be a string, not {type(path).__name__}")
    if not path.startswith("/"):
        raise ValueError(f"path must start with '/': it is joined to base_url ({path!r})")
    route = path.split("?", 1)[0]
    if (
        "\\" in route
        or " " in path
        or not path.isprintable()
        or _DOT_SEGMENT.search(route) is not None
    ):
        raise ValueError(
            "path must stay under base_url: no '.' or '..' segments (percent-encoded "
            f"either), backslashes, spaces or control characters ({path!r})"
        )


def masked_url(url: str) -> str:
    """``url`` with its query's values masked: a gateway may take its key there
    (``?code=...``), and a URL is shown in reprs and errors."""
    head, mark, query = url.partition("?")
    if not mark:
        return url
    masked = "&".join(
        f"{name}=***" if sep else name
        for name, sep, _ in (p.partition("=") for p in query.split("&"))
    )
    return f"{head}?{masked}"


def _check_strict(strict: object) -> bool:
    if not isinstance(strict, bool):
        raise TypeError(f"strict must be True or False, not {type(strict).__name__}")
    return strict


def _check_default_query(query: Mapping[str, str] | None) -> list[tuple[str, str]]:
    if query is None:
        return []
    if not isinstance(query, Mapping):
        raise TypeError(f"default_query must be a mapping, not {type(query).__name__}")
    for name, value in query.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError(f"default_query[{name!r}] must map a string to a string")
    return list(query.items())


# Made anew for each with_options copy: the copy's own transport and resources.
_PER_CLIENT_ATTRS = frozenset({"_transport", "assistants", "threads", "messages", "runs", "steps"})


Auth = Literal["bearer", "api-key", "none"]
_AUTH_CHOICES = ("bearer", "api-key", "none")


class AsyncClient:
    """Async client for the Assistants API.

    Use it as ``async with AsyncClient() as client:`` or call ``await client.close()``.
    One client is safe to share between any number of concurrent tasks of one loop.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        organization: str | None = None,
        project: str | None = None,
        timeout: float | Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Headers | None = None,
        default_query: Mapping[str, str] | None = None,
        auth: Auth = "bearer",
        proxy: str | None = None,
        trust_env: bool = True,
        session: aiohttp.ClientSession | None = None,
        max_connections: int = 100,
        max_connections_per_host: int | None = None,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
        strict: bool = False,
    ) -> None:
        if auth not in _AUTH_CHOICES:
            raise ValueError(f"auth must be 'bearer', 'api-key' or 'none', not {auth!r}")
        if auth == "none":
            if api_key is not None:
                raise ValueError("auth='none' sends no key: do not pass api_key with it")
        else:
            if api_key is None:
                api_key = os.environ.get("OPENAI_API_KEY")
            if not api_key:
                raise ValueError(
                    "no API key: pass api_key=... to the client or set the OPENAI_API_KEY "
                    "environment variable (for a server that needs no key, pass auth='none')"
                )
            if not isinstance(api_key, str):
                raise TypeError(f"api_key must be a string, not {type(api_key).__name__}")
            _check_header_value("api_key", api_key)
        if base_url is None:
            base_url = os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        if not isinstance(base_url, str):
            raise TypeError(f"base_url must be a string, not {type(base_url).__name__}")
        parts = urlsplit(base_url)
        if parts.username is not None or parts.password is not None:
            # Never echoed: the error would show the password.
            raise ValueError(
                "base_url must not hold credentials (user:password@); pass the key as "
                "api_key=..., or other auth through default_headers"
            )
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                f"base_url must be an http(s) URL with a host, not {masked_url(base_url)!r}"
            )
        if organization is None:
            organization = os.environ.get("OPENAI_ORG_ID") or None
        if project is None:
            project = os.environ.get("OPENAI_PROJECT_ID") or None
        _check_max_retries(max_retries)
        for name, limit in (
            ("max_connections", max_connections),
            ("max_connections_per_host", max_connections_per_host),
        ):
            if limit is None and name == "max_connections_per_host":
                continue
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
                raise ValueError(f"{name} must be a whole number >= 1, not {limit!r}")
        if (
            isinstance(max_response_size, bool)
            or not isinstance(max_response_size, int)
            or max_response_size < 1
        ):
            raise ValueError(
                f"max_response_size must be a whole number of bytes >= 1, not {max_response_size!r}"
            )
        if not isinstance(trust_env, bool):
            raise TypeError(f"trust_env must be True or False, not {type(trust_env).__name__}")
        if session is not None and not isinstance(session, aiohttp.ClientSession):
            raise TypeError(
                f"session must be an aiohttp.ClientSession, not {type(session).__name__}"
            )
        query_items = _check_default_query(default_query)
        _check_strict(strict)

        headers = {
            "OpenAI-Beta": "assistants=v2",
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
        }
        if auth == "bearer":
            headers["Authorization"] = f"Bearer {api_key}"
        elif auth == "api-key":
            headers["api-key"] = f"{api_key}"
        if organization:
            _check_header_value("organization", organization)
            headers["OpenAI-Organization"] = organization
        if project:
            _check_header_value("project", project)
            headers["OpenAI-Project"] = project
        headers = _apply_header_overrides(headers, default_headers, "default_headers")

        bare_url, url_query = split_base_url(base_url)
        proxy_url, proxy_headers = resolve_proxy(proxy, trust_env, bare_url)
        self.base_url = base_url.rstrip("/")
        self.organization = organization
        self.project = project
        self.max_retries = max_retries
        self.timeout = coerce_timeout(timeout)
        self.auth: Auth = auth
        self.trust_env = trust_env
        self._url_query = url_query
        self._headers = headers
        self._default_query = query_items
        self._reading = Reading(strict, Deviations())
        self._transport = Transport(
            base_url=bare_url,
            headers=headers,
            timeout=self.timeout,
            max_retries=max_retries,
            pool=Pool(
                max_connections=max_connections,
                max_connections_per_host=max_connections_per_host,
                session=session,
            ),
            default_query=[*url_query, *query_items],
            proxy=proxy_url,
            proxy_headers=proxy_headers,
            max_response_size=max_response_size,
        )

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

    def with_options(
        self,
        *,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        default_headers: Headers | None = None,
        default_query: Mapping[str, str] | None = None,
        strict: bool | None = None,
    ) -> AsyncClient:
        """A copy of this client with other settings, sharing its connection pool (and
        its record of deviations).

        ``default_headers`` and ``default_query`` are merged over this client's (a
        ``None`` header value removes one). The copy and the original work concurrently;
        closing the copy closes only the copy, closing the original ends the shared pool
        for both.
        """
        clone = AsyncClient.__new__(AsyncClient)
        clone.__dict__.update(
            {k: v for k, v in self.__dict__.items() if k not in _PER_CLIENT_ATTRS}
        )
        clone.timeout = self.timeout if timeout is None else coerce_timeout(timeout)
        if max_retries is not None:
            clone.max_retries = _check_max_retries(max_retries)
        if strict is not None:
            clone._reading = Reading(_check_strict(strict), self._reading.deviations)
        clone._headers = _apply_header_overrides(
            dict(self._headers), default_headers, "default_headers"
        )
        merged = dict(self._default_query)
        merged.update(_check_default_query(default_query))
        clone._default_query = list(merged.items())
        old = self._transport
        clone._transport = Transport(
            base_url=old.base_url,
            headers=clone._headers,
            timeout=clone.timeout,
            max_retries=clone.max_retries,
            pool=old.pool,
            owns_pool=False,
            default_query=[*self._url_query, *clone._default_query],
            proxy=old.proxy,
            proxy_headers=old.proxy_headers,
            max_response_size=old.max_response_size,
        )
        return clone

    def __repr__(self) -> str:
        # Never the API key.
        return (
            f"AsyncClient(base_url={masked_url(self.base_url)!r}, "
            f"organization={self.organization!r}, "
            f"project={self.project!r}, max_retries={self.max_retries}, strict={self.strict})"
        )

    @property
    def strict(self) -> bool:
        """Whether a response that departs from the spec raises (else it is decoded where
        its meaning is clear, and the deviation reported)."""
        return self._reading.strict

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

    # --- the low-level call every resource method goes through -------------------------

    def _prepare(
        self,
        method: str,
        query: Query | None,
        body: Mapping[str, Any] | None,
        timeout: float | Timeout | None,
        extra_query: Mapping[str, Any] | None,
        extra_body: Mapping[str, Any] | None,
    ) -> tuple[str, Query | None, Any, Timeout | None]:
        if method not in _UPPER_METHODS:
            # "post" must be a POST everywhere: its idempotency key, its retries.
            method = _normal_method(method)
        call_timeout = coerce_timeout(timeout) if timeout is not None else None
        if extra_query:
            query = [*_query_items(query), *extra_query.items()]
        if extra_body:
            body = {**(body or {}), **extra_body}
        # No body means none is sent (no JSON content type either): an operation without a
        # request body, such as cancelRun, gets exactly that.
        data: Any = to_json_data(body) if body is not None else None
        return method, query, data, call_timeout

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
        _check_path(path)
        method, query, data, call_timeout = self._prepare(
            method, query, body, timeout, extra_query, extra_body
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
        _check_path(path)
        method, query, data, call_timeout = self._prepare(
            method, query, body, timeout, extra_query, extra_body
        )
        headers: dict[str, str | None] = {"Accept": "text/event-stream"}
        headers.update(extra_headers or {})
        return await self._transport.open_stream(
            method, path, query=query, body=data, headers=headers, timeout=call_timeout
        )

    @overload
    async def request(
        self,
        method: str,
        path: str,
        *,
        cast_to: type[T],
        query: Query | None = ...,
        body: Mapping[str, Any] | None = ...,
        timeout: float | Timeout | None = ...,
        extra_headers: Headers | None = ...,
        extra_query: Mapping[str, Any] | None = ...,
        extra_body: Mapping[str, Any] | None = ...,
    ) -> T: ...

    @overload
    async def request(
        self,
        method: str,
        path: str,
        *,
        cast_to: None = ...,
        query: Query | None = ...,
        body: Mapping[str, Any] | None = ...,
        timeout: float | Timeout | None = ...,
        extra_headers: Headers | None = ...,
        extra_query: Mapping[str, Any] | None = ...,
        extra_body: Mapping[str, Any] | None = ...,
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
        _check_path(path)
        # request_raw's body, inline: one coroutine less on the path of every call.
        if method in _UPPER_METHODS and timeout is None and not extra_query and not extra_body:
            # The common call, as every resource method makes it: nothing to prepare.
            data: Any = None if body is None else to_json_data(body)
            call_timeout = None
        else:
            method, query, data, call_timeout = self._prepare(
                method, query, body, timeout, extra_query, extra_body
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


def _query_items(query: Query | None) -> list[tuple[str, Any]]:
    if query is None:
        return []
    if isinstance(query, Mapping):
        return list(query.items())
    return list(query)
