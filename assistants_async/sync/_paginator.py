"""The blocking paginator: the async walk, stepped through a page at a time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Generic, TypeVar

from ._portal import LoopThread, refuse_running_loop, step_through

if TYPE_CHECKING:
    from .._pagination import AsyncPaginator
    from ..models.pages import Page

__all__ = ["SyncPaginator"]

T = TypeVar("T")


class SyncPaginator(Generic[T]):
    """What the blocking ``list(...)`` returns, at once and without I/O.

    ``for item in paginator`` walks every item (one request per page, as the async
    paginator does); ``paginator.first_page()`` is one request; ``paginator.pages()``
    walks pages. Leaving a loop early closes the walk.
    """

    __slots__ = ("_async", "_loop")

    def __init__(self, paginator: AsyncPaginator[T], loop: LoopThread) -> None:
        self._async = paginator
        self._loop = loop

    def __repr__(self) -> str:
        return f"Sync{self._async!r}"

    @property
    def max_items(self) -> int | None:
        return self._async.max_items

    @property
    def backward(self) -> bool:
        return self._async.backward

    def first_page(self) -> Page[T]:
        """The first page: one request."""
        refuse_running_loop("SyncPaginator.first_page")
        page: Page[T] = self._loop.call(self._async.first_page)
        return page

    def __iter__(self) -> Iterator[T]:
        refuse_running_loop("SyncPaginator")
        for batch in step_through(self._loop, self._async.batches()):
            yield from batch

    def pages(self) -> Iterator[Page[T]]:
        """Each page in turn, ``max_items`` applied (the last page cut)."""
        refuse_running_loop("SyncPaginator.pages")
        return step_through(self._loop, self._async.pages())

    def batches(self) -> Iterator[list[T]]:
        """The items of each page in walking order, ``max_items`` applied."""
        refuse_running_loop("SyncPaginator.batches")
        return step_through(self._loop, self._async.batches())
