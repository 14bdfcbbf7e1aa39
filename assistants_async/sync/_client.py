"""Client: the blocking twin of AsyncClient."""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable, Mapping
from functools import cached_property, partial
from types import TracebackType
from typing import Any, ParamSpec, TypeVar, overload

from .._client import DEFAULT_MAX_RETRIES, APIResponse, AsyncClient, Auth
from .._deviations import Deviation
from .._transport import (
    DEFAULT_MAX_RESPONSE_SIZE,
    DEFAULT_TIMEOUT,
    Headers,
    OpenStream,
    Query,
    RawResponse,
    Timeout,
)
from ..models.pages import Page
from ._paginator import SyncPaginator
from ._portal import LoopThread, refuse_running_loop
from ._resources import Assistants, Messages, Runs, Steps, Threads
from ._stream import SyncOpenStream

__all__ = ["Client"]

T = TypeVar("T")
P = ParamSpec("P")


class Client:
    """Blocking client for the Assistants API: ``AsyncClient``'s surface without ``await``.

    Use it as ``with Client() as client:`` or call ``client.close()``. One client may be
    shared by many threads: the calls run on one event loop in a daemon thread and share
    its connection pool. Inside ``async`` code, use ``AsyncClient`` instead.
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
        max_connections: int = 100,
        max_connections_per_host: int | None = None,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
        strict: bool = False,
    ) -> None:
        # Checked first, so that bad settings start no thread.
        self._async = AsyncClient(
            api_key=api_key,
            base_url=base_url,
            organization=organization,
            project=project,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            default_query=default_query,
            auth=auth,
            proxy=proxy,
            trust_env=trust_env,
            max_connections=max_connections,
            max_connections_per_host=max_connections_per_host,
            max_response_size=max_response_size,
            strict=strict,
        )
        self._loop = LoopThread()
        self._owns_loop = True
        self._closed = False
        # A client dropped without close() still ends its thread and connections; the
        # callback holds what it closes, never the client itself.
        self._finalizer: weakref.finalize[Any, Any] | None = weakref.finalize(
            self, _shut, self._loop, self._async
        )
        self._parent: Client | None = None

    def with_options(
        self,
        *,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        default_headers: Headers | None = None,
        default_query: Mapping[str, str] | None = None,
        strict: bool | None = None,
    ) -> Client:
        """A copy with other settings, sharing this client's thread and connection pool.

        As ``AsyncClient.with_options``: closing the copy closes only the copy; closing
        the original ends the thread and the pool for both.
        """
        if self._closed:
            raise RuntimeError("this client is closed; create a new one")
        clone = Client.__new__(Client)
        clone._async = self._async.with_options(
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            default_query=default_query,
            strict=strict,
        )
        clone._loop = self._loop
        clone._owns_loop = False
        clone._closed = False
        clone._finalizer = None
        clone._parent = self  # the original's thread must outlive the copy
        return clone

    @property
    def base_url(self) -> str:
        return self._async.base_url

    @property
    def organization(self) -> str | None:
        return self._async.organization

    @property
    def project(self) -> str | None:
        return self._async.project

    @property
    def timeout(self) -> Timeout:
        return self._async.timeout

    @property
    def max_retries(self) -> int:
        return self._async.max_retries

    @property
    def auth(self) -> Auth:
        return self._async.auth

    @property
    def trust_env(self) -> bool:
        return self._async.trust_env

    @property
    def strict(self) -> bool:
        return self._async.strict

    @property
    def deviations(self) -> list[Deviation]:
        """As ``AsyncClient.deviations``."""
        return self._async.deviations

    def __repr__(self) -> str:
        return repr(self._async).replace("AsyncClient", "Client", 1)

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool and stop the client's thread. Safe to call twice.

        Allowed inside a running event loop (a notebook cell's ``with Client()``): it
        blocks only while the client's own thread winds down, and leaves no thread behind.
        """
        if self._closed:
            return
        self._closed = True
        if not self._owns_loop:
            # A with_options copy: the original's loop may be gone already.
            with contextlib.suppress(RuntimeError):
                self._loop.call(self._async.close)
            return
        if self._finalizer is not None:
            self._finalizer()

    @property
    def is_closed(self) -> bool:
        return self._closed

    @cached_property
    def assistants(self) -> Assistants:
        return Assistants(self._async.assistants, self._loop)

    @cached_property
    def threads(self) -> Threads:
        return Threads(self._async.threads, self._loop)

    @cached_property
    def messages(self) -> Messages:
        return Messages(self._async.messages, self._loop)

    @cached_property
    def runs(self) -> Runs:
        return Runs(self._async.runs, self._loop)

    @cached_property
    def steps(self) -> Steps:
        return Steps(self._async.steps, self._loop)

    @overload
    def with_raw_response(
        self, method: Callable[P, SyncPaginator[T]], /, *args: P.args, **kwargs: P.kwargs
    ) -> APIResponse[Page[T]]: ...

    @overload
    def with_raw_response(
        self, method: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
    ) -> APIResponse[T]: ...

    def with_raw_response(self, method: Any, /, *args: Any, **kwargs: Any) -> Any:
        """Call a method of this client's resources; return its result with the raw response.

        A list method gives its first page, as on ``AsyncClient``.
        """
        refuse_running_loop("Client.with_raw_response")
        owner = getattr(method, "__self__", None)
        name = getattr(method, "__async_method__", None)
        if owner is None or name is None or getattr(owner, "_loop", None) is not self._loop:
            raise TypeError("with_raw_response takes a method of this client's resources")
        async_method = getattr(owner._async, name)
        return self._loop.call(
            partial(self._async.with_raw_response, _awaitable(async_method), *args, **kwargs)
        )

    def request_raw(
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
        """Blocking ``AsyncClient.request_raw``."""
        refuse_running_loop("Client.request_raw")
        response: RawResponse = self._loop.call(
            partial(
                self._async.request_raw,
                method,
                path,
                query=query,
                body=body,
                timeout=timeout,
                extra_headers=extra_headers,
                extra_query=extra_query,
                extra_body=extra_body,
            )
        )
        return response

    def open_stream(
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
    ) -> SyncOpenStream:
        """Blocking ``AsyncClient.open_stream``: iterate ``.chunks()``, then ``.close()``."""
        refuse_running_loop("Client.open_stream")
        stream: OpenStream = self._loop.call(
            partial(
                self._async.open_stream,
                method,
                path,
                query=query,
                body=body,
                timeout=timeout,
                extra_headers=extra_headers,
                extra_query=extra_query,
                extra_body=extra_body,
            )
        )
        return SyncOpenStream(stream, self._loop)

    @overload
    def request(
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
    def request(
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

    def request(
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
        """Blocking ``AsyncClient.request``: the escape hatch for endpoints beyond the spec."""
        refuse_running_loop("Client.request")
        return self._loop.call(
            partial(
                self._async.request,
                method,
                path,
                cast_to=cast_to,
                query=query,
                body=body,
                timeout=timeout,
                extra_headers=extra_headers,
                extra_query=extra_query,
                extra_body=extra_body,
            )
        )


def _shut(loop: LoopThread, client: AsyncClient) -> None:
    try:
        loop.call(client.close)
    except RuntimeError:  # the loop is gone already (interpreter exit)
        pass
    finally:
        loop.stop()


def _awaitable(method: Callable[..., Any]) -> Callable[..., Any]:
    """A list method gives a paginator, which is awaited for its first page."""

    async def call(*args: Any, **kwargs: Any) -> Any:
        return await method(*args, **kwargs)

    return call
