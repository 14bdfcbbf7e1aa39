"""Blocking methods derived from the async ones, so the two surfaces cannot differ.

``blocking(AsyncRuns.create)`` is a method with the async method's exact parameters (for
mypy through ParamSpec, at run time through ``__signature__``) that runs it in the
client's event loop and returns its result.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, Protocol, TypeVar

from .._pagination import AsyncPaginator
from .._streaming import AsyncAssistantStream
from ._paginator import SyncPaginator
from ._portal import LoopThread, refuse_running_loop
from ._stream import SyncAssistantStream, SyncOpenStream

if TYPE_CHECKING:
    from .._response import OpenStream
    from ..resources._base import AsyncResource

__all__ = ["SyncResource", "Twin", "blocking", "opening", "paginated", "streaming"]

P = ParamSpec("P")
T = TypeVar("T")
A = TypeVar("A")
R = TypeVar("R", bound="AsyncResource")


class Twin(Protocol[A]):
    """A blocking object over an async one: a resource, or the client itself."""

    _async: A
    _loop: LoopThread


class SyncResource(Generic[R]):
    """A blocking view of one async resource."""

    __slots__ = ("_async", "_loop")

    def __init__(self, async_resource: R, loop: LoopThread) -> None:
        self._async = async_resource
        self._loop = loop


def _mirror(method: Callable[..., Any], source: Callable[..., Any], returns: str) -> None:
    method.__name__ = source.__name__
    method.__qualname__ = source.__qualname__
    method.__doc__ = source.__doc__
    signature = inspect.signature(source)
    method.__signature__ = signature.replace(return_annotation=returns)  # type: ignore[attr-defined]
    method.__async_method__ = source.__name__  # type: ignore[attr-defined]


def blocking(
    source: Callable[Concatenate[A, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[Twin[A], P], T]:
    def method(self: Twin[A], /, *args: P.args, **kwargs: P.kwargs) -> T:
        refuse_running_loop(f"{type(self).__name__}.{source.__name__}")
        result: T = self._loop.call(functools.partial(source, self._async, *args, **kwargs))
        return result

    _mirror(method, source, inspect.signature(source).return_annotation)
    return method


def opening(
    source: Callable[Concatenate[A, P], Coroutine[Any, Any, OpenStream]],
) -> Callable[Concatenate[Twin[A], P], SyncOpenStream]:
    def method(self: Twin[A], /, *args: P.args, **kwargs: P.kwargs) -> SyncOpenStream:
        refuse_running_loop(f"{type(self).__name__}.{source.__name__}")
        stream = self._loop.call(functools.partial(source, self._async, *args, **kwargs))
        return SyncOpenStream(stream, self._loop)

    _mirror(method, source, "SyncOpenStream")
    return method


def paginated(
    source: Callable[Concatenate[A, P], AsyncPaginator[T]],
) -> Callable[Concatenate[Twin[A], P], SyncPaginator[T]]:
    def method(self: Twin[A], /, *args: P.args, **kwargs: P.kwargs) -> SyncPaginator[T]:
        # list() does no I/O: its checks run here, in the caller's thread.
        return SyncPaginator(source(self._async, *args, **kwargs), self._loop)

    returns = str(inspect.signature(source).return_annotation).replace(
        "AsyncPaginator", "SyncPaginator"
    )
    _mirror(method, source, returns)
    return method


def streaming(
    source: Callable[Concatenate[A, P], AsyncAssistantStream],
) -> Callable[Concatenate[Twin[A], P], SyncAssistantStream]:
    def method(self: Twin[A], /, *args: P.args, **kwargs: P.kwargs) -> SyncAssistantStream:
        # Nothing is sent until the stream is entered: its checks run here.
        return SyncAssistantStream(source(self._async, *args, **kwargs), self._loop)

    _mirror(method, source, "SyncAssistantStream")
    return method
