"""Client: the blocking twin of AsyncClient."""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable
from functools import cached_property, partial
from types import TracebackType
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, overload

from .._client import APIResponse, AsyncClient
from .._config import (
    ClientOptions,
    ClientOverrides,
    ClientSettings,
    RequestOptions,
    client_signature,
)
from .._deviations import Deviation
from .._signatures import spelled_out
from ..models.pages import Page
from ._derive import blocking, opening
from ._paginator import SyncPaginator
from ._portal import LoopThread, refuse_running_loop
from ._resources import Assistants, Messages, Runs, Steps, Threads

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["Client"]

T = TypeVar("T")
P = ParamSpec("P")


class Client(ClientSettings):
    """Blocking client for the Assistants API: ``AsyncClient``'s surface without ``await``.

    Use it as ``with Client() as client:`` or call ``client.close()``. One client may be
    shared by many threads: the calls run on one event loop in a daemon thread and share
    its connection pool. Inside ``async`` code, use ``AsyncClient`` instead.
    """

    def __init__(self, **options: Unpack[ClientOptions]) -> None:
        if "session" in options:  # an aiohttp session belongs to one loop, not ours
            raise TypeError("Client takes no session: use AsyncClient(session=...)")
        # Checked first, so that bad settings start no thread.
        self._async = AsyncClient(**options)
        self._config = self._async._config
        self._loop = LoopThread()
        self._owns_loop = True
        self._closed = False
        # A client dropped without close() still ends its thread and connections; the
        # callback holds what it closes, never the client itself.
        self._finalizer: weakref.finalize[Any, Any] | None = weakref.finalize(
            self, _shut, self._loop, self._async
        )
        self._parent: Client | None = None

    # AsyncClient's keyword arguments but its session, as ClientOptions declares them.
    __init__ = client_signature(__init__, session=False)

    @spelled_out(options=ClientOverrides)
    def with_options(self, **overrides: Unpack[ClientOverrides]) -> Client:
        """A copy with other settings, sharing this client's thread and connection pool.

        As ``AsyncClient.with_options``: closing the copy closes only the copy; closing
        the original ends the thread and the pool for both.
        """
        if self._closed:
            raise RuntimeError("this client is closed; create a new one")
        clone = Client.__new__(Client)
        clone._async = self._async.with_options(**overrides)
        clone._config = clone._async._config
        clone._loop = self._loop
        clone._owns_loop = False
        clone._closed = False
        clone._finalizer = None
        clone._parent = self  # the original's thread must outlive the copy
        return clone

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

    request_raw = blocking(AsyncClient.request_raw)
    open_stream = opening(AsyncClient.open_stream)

    if TYPE_CHECKING:  # AsyncClient.request's overloads, without ``await``

        @overload
        def request(
            self, method: str, path: str, *, cast_to: type[T], **options: Unpack[RequestOptions]
        ) -> T: ...

        @overload
        def request(
            self, method: str, path: str, *, cast_to: None = ..., **options: Unpack[RequestOptions]
        ) -> Any: ...

        def request(self, method: str, path: str, **options: Any) -> Any: ...

    else:
        request = blocking(AsyncClient.request)


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
