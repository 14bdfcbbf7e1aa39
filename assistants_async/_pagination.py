"""Cursor pagination: a lazy paginator that walks pages with a loop, one page at a time."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Generator, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar, get_args

import attrs

from ._decoding.converter import decoder_for, read, structure, type_name
from ._errors import ResponseValidationError

if TYPE_CHECKING:
    from ._client import AsyncClient
    from ._headers import Headers
    from ._response import RawResponse
    from ._timeout import Timeout
    from .models.pages import Page

__all__ = ["AsyncPaginator"]

T = TypeVar("T")


class AsyncPaginator(Generic[T]):
    """What ``list(...)`` returns, at once and without I/O.

    - ``async for item in paginator``: every item, one request per page. Forward from
      ``after`` (or the start) by ``after=<last_id>``; when only ``before`` was given,
      backward by ``before=<first_id>``, yielding items nearest the cursor first.
    - ``await paginator``: the first page.
    - ``paginator.pages()``: the pages themselves, as the server sent them.

    ``max_items`` stops the walk early, never fetching a page it does not need.
    """

    __slots__ = ("_client", "_options", "_page_type", "_path", "_query", "max_items")

    def __init__(
        self,
        client: AsyncClient,
        path: str,
        page_type: type[Page[T]],
        query: Mapping[str, Any],
        *,
        max_items: int | None,
        timeout: float | Timeout | None = None,
        extra_headers: Headers | None = None,
        extra_query: Mapping[str, Any] | None = None,
    ) -> None:
        self._client = client
        self._path = path
        self._page_type = page_type
        self._query = dict(query)
        self.max_items = max_items
        self._options: dict[str, Any] = {
            "timeout": timeout,
            "extra_headers": extra_headers,
            "extra_query": extra_query,
        }

    @property
    def backward(self) -> bool:
        return self._query.get("before") is not None and self._query.get("after") is None

    def __repr__(self) -> str:
        return f"AsyncPaginator({self._path!r}, {self._query!r}, max_items={self.max_items})"

    async def _fetch(
        self, cursor_name: str | None, cursor: str | None, *, decode: bool = True
    ) -> tuple[Page[T], list[Any], RawResponse]:
        """One page: the page, its items and the response they came in.

        Without ``decode``, the items are left as JSON (to decode as they are yielded) and
        the page holds none of them.
        """
        query: list[tuple[str, Any]] = []
        for name, value in self._query.items():
            if value is None or (cursor_name is not None and name in ("after", "before")):
                continue  # never both cursors: the walk moves one way
            if isinstance(value, list):
                query.extend((name, item) for item in value)
            else:
                query.append((name, value))
        if cursor_name is not None:
            query.append((cursor_name, cursor))
        raw = await self._client.request_raw("GET", self._path, query=query, **self._options)
        if decode:
            page = self._client._parse(raw, self._page_type, "GET", self._path)
            return page, page.data, raw
        reading, operation = self._client._reading, ("GET", self._path)
        try:
            data = raw.json()
            items = data.get("data") if type(data) is dict else None
            # Without a list of items the page does not decode: the reader says why.
            shell = {**data, "data": []} if type(items) is list else data
            page = structure(shell, self._page_type, reading, operation)
        except ResponseValidationError as exc:
            raise exc.of(raw) from None
        return page, items or page.data, raw

    def __await__(self) -> Generator[Any, None, Page[T]]:
        return self.first_page().__await__()

    async def pages(self) -> AsyncGenerator[Page[T], None]:
        """Each page in turn; stops when ``has_more`` is false or a page is empty.

        With ``max_items``, no page is fetched once that many items were seen, and the
        last page is cut to the items within it (walking backward, the ones nearest the
        cursor), its ``first_id`` and ``last_id`` following the cut.
        """
        walk = self._walk(decode=True)
        try:
            async for page, _, _ in walk:
                yield page
        finally:
            await walk.aclose()

    async def _walk(
        self, *, decode: bool
    ) -> AsyncGenerator[tuple[Page[T], list[Any], RawResponse], None]:
        """The one loop that follows the cursors: each page, its items and its response."""
        remaining = self.max_items
        if remaining is not None and remaining <= 0:
            return
        backward = self.backward
        cursor_name = "before" if backward else "after"
        cursor = self._query.get(cursor_name)
        # Every cursor used so far: a server whose cursors come back would loop forever.
        used = {cursor}
        fetched = 0
        while True:
            page, items, data = await self._fetch(
                cursor_name if cursor is not None else None, cursor, decode=decode
            )
            last = not page.has_more or not items
            next_cursor = page.first_id if backward else page.last_id
            fetched += 1
            if not last and next_cursor is not None and next_cursor in used:
                raise ResponseValidationError(
                    f"the server's cursors go round: {next_cursor!r} came back as the next "
                    f"'{cursor_name}' cursor on page {fetched} of this walk, so the walk "
                    "stops here instead of repeating itself",
                    path="first_id" if backward else "last_id",
                ).of(data)
            if remaining is not None:
                if len(items) >= remaining:
                    kept = items[-remaining:] if backward else items[:remaining]
                    yield (_cut(page, kept) if decode else page), kept, data
                    return
                remaining -= len(items)
            yield page, items, data
            if last or next_cursor is None:
                return
            used.add(next_cursor)
            cursor = next_cursor

    def __aiter__(self) -> AsyncIterator[T]:
        return self._items()

    async def _items(self) -> AsyncIterator[T]:
        # Each item decoded as it is yielded, from the page's JSON: an item the caller
        # drops is garbage at once, where a page of decoded items would outlive it (and
        # feed the garbage collector's older generations on a long walk).
        item_type = get_args(self._page_type)[0]
        decode = decoder_for(item_type)
        backward = self.backward
        walk = self._walk(decode=False)
        try:
            async for _, items, raw in walk:
                last = len(items) - 1
                for i in range(last, -1, -1) if backward else range(last + 1):
                    item = items[i]
                    try:
                        value = decode(item)
                    except Exception:  # the reader decides, as for a whole page
                        try:
                            value = self._decode_item(item, item_type, i)
                        except ResponseValidationError as exc:
                            raise exc.of(raw) from None
                    yield value
        finally:
            await walk.aclose()

    def _decode_item(self, item: Any, item_type: Any, index: int) -> T:
        """Item ``index`` of a page, as the page's own decoding would give it (or fail)."""
        value: T = read(
            item,
            item_type,
            self._client._reading,
            ("GET", self._path),
            prefix=("data", index),
            name=type_name(self._page_type),
        )
        return value

    async def batches(self) -> AsyncGenerator[list[T], None]:
        """The items of each page in walking order, ``max_items`` applied.

        The blocking shim steps through the walk a page at a time, with these.
        """
        backward = self.backward
        pages = self.pages()
        try:
            async for page in pages:
                batch = page.data[::-1] if backward else page.data
                if batch:
                    yield batch
        finally:
            await pages.aclose()

    async def first_page(self) -> Page[T]:
        """The first page (as ``await paginator``)."""
        page, _, _ = await self._fetch(None, None)
        return page


def _cut(page: Page[T], data: list[T]) -> Page[T]:
    """``page`` holding only ``data``, its cursors following the cut."""
    if len(page.data) == len(data):
        return page
    return attrs.evolve(
        page,
        data=data,
        first_id=getattr(data[0], "id", None) if data else None,
        last_id=getattr(data[-1], "id", None) if data else None,
    )
