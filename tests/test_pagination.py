"""Paginators against a loopback server holding many items."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from assistants_async import AsyncClient, ResponseValidationError
from assistants_async._decoding.converter import structure
from assistants_async.models import Assistant, Page
from assistants_async.sync import Client

from .payloads import ASSISTANT


class ListServer:
    """GET /v1/assistants over ``count`` items, paging as the API does."""

    def __init__(self, count: int, *, endless: bool = False) -> None:
        self.items = [
            {**ASSISTANT, "id": f"asst_{i:05d}", "created_at": i, "model": "m"}
            for i in range(count)
        ]
        self.endless = endless
        self.queries: list[dict[str, str]] = []

    async def handle(self, request: web.Request) -> web.Response:
        q = dict(request.query)
        self.queries.append(q)
        assert len(request.query.getall("after", [])) <= 1
        limit = int(q.get("limit", "20"))
        ordered = self.items if q.get("order") == "asc" else self.items[::-1]
        ids = [item["id"] for item in ordered]
        if "after" in q:
            start = ids.index(q["after"]) + 1
            data = ordered[start : start + limit]
            more = start + limit < len(ordered)
        elif "before" in q:
            end = ids.index(q["before"])
            data = ordered[max(0, end - limit) : end]
            more = end - limit > 0
        else:
            data = ordered[:limit]
            more = limit < len(ordered)
        body = {
            "object": "list",
            "data": data,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
            "has_more": more or self.endless,
        }
        return web.json_response(body)


async def serve(list_server: ListServer) -> AsyncIterator[AsyncClient]:
    app = web.Application()
    app.router.add_get("/v1/assistants", list_server.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with AsyncClient(api_key="sk-test", base_url=str(server.make_url("/v1"))) as client:
            yield client
    finally:
        await server.close()


@pytest.fixture
def items250() -> ListServer:
    return ListServer(250)


@pytest.fixture
async def client(items250: ListServer) -> AsyncIterator[AsyncClient]:
    async for c in serve(items250):
        yield c


def ids(n: int, start: int = 0) -> list[str]:
    return [f"asst_{i:05d}" for i in range(start, start + n)]


async def test_forward_walk_returns_every_item_once_in_order(
    client: AsyncClient, items250: ListServer
) -> None:
    seen = [a.id async for a in client.assistants.list(order="asc", limit=20)]
    assert seen == ids(250)
    assert len(items250.queries) == 13
    assert "after" not in items250.queries[0]
    for previous, query in zip(seen[19::20], items250.queries[1:], strict=False):
        assert query["after"] == previous
    assert all("before" not in q for q in items250.queries)


async def test_forward_walk_in_the_default_descending_order(
    client: AsyncClient, items250: ListServer
) -> None:
    seen = [a.id async for a in client.assistants.list(limit=100)]
    assert seen == ids(250)[::-1]
    assert [q.get("after") for q in items250.queries] == [None, "asst_00150", "asst_00050"]


async def test_forward_walk_from_a_cursor(client: AsyncClient, items250: ListServer) -> None:
    seen = [a.id async for a in client.assistants.list(order="asc", after="asst_00199")]
    assert seen == ids(50, start=200)


async def test_backward_walk_returns_every_earlier_item_once_nearest_first(
    client: AsyncClient, items250: ListServer
) -> None:
    seen = [a.id async for a in client.assistants.list(order="asc", limit=20, before="asst_00249")]
    assert seen == ids(249)[::-1]
    cursors = [q["before"] for q in items250.queries]
    # each request moves the cursor to the first id of the page before
    assert cursors == ["asst_00249", *[f"asst_{i:05d}" for i in range(229, 0, -20)]]
    assert all("after" not in q for q in items250.queries)


async def test_after_wins_when_both_cursors_are_given_and_only_one_is_sent(
    client: AsyncClient, items250: ListServer
) -> None:
    walk = client.assistants.list(order="asc", after="asst_00239", before="asst_00100")
    seen = [a.id async for a in walk]
    assert seen == ids(10, start=240)
    assert all(not ("after" in q and "before" in q) for q in items250.queries)


async def test_max_items_stops_without_fetching_more_pages(
    client: AsyncClient, items250: ListServer
) -> None:
    seen = [a.id async for a in client.assistants.list(order="asc", limit=20, max_items=30)]
    assert seen == ids(30)
    assert len(items250.queries) == 2


async def test_max_items_on_a_page_boundary_fetches_no_extra_page(
    client: AsyncClient, items250: ListServer
) -> None:
    seen = [a async for a in client.assistants.list(limit=20, max_items=40)]
    assert len(seen) == 40
    assert len(items250.queries) == 2


async def test_awaiting_a_list_gives_the_first_page_in_one_request(
    client: AsyncClient, items250: ListServer
) -> None:
    first: Page[Assistant] = await client.assistants.list(order="asc", limit=20)
    assert [a.id for a in first.data] == ids(20)
    assert (first.first_id, first.last_id, first.has_more) == ("asst_00000", "asst_00019", True)
    assert len(items250.queries) == 1


async def test_pages_walks_pages(client: AsyncClient, items250: ListServer) -> None:
    sizes = [len(p.data) async for p in client.assistants.list(order="asc", limit=100).pages()]
    assert sizes == [100, 100, 50]


async def test_pages_honour_max_items_and_cut_the_last_page(
    client: AsyncClient, items250: ListServer
) -> None:
    pages = [p async for p in client.assistants.list(order="asc", limit=20, max_items=30).pages()]
    assert [len(p.data) for p in pages] == [20, 10]
    assert len(items250.queries) == 2  # not 13 pages, 250 items
    assert (pages[1].first_id, pages[1].last_id) == ("asst_00020", "asst_00029")
    assert [a.id for p in pages for a in p.data] == ids(30)


async def test_pages_walking_backward_keep_the_items_nearest_the_cursor(
    client: AsyncClient, items250: ListServer
) -> None:
    walk = client.assistants.list(order="asc", limit=20, before="asst_00100", max_items=25)
    pages = [p async for p in walk.pages()]
    assert [[a.id for a in p.data] for p in pages] == [ids(20, 80), ids(5, 75)]
    assert len(items250.queries) == 2
    assert [a.id async for a in walk] == ids(25, 75)[::-1]


async def test_blocking_pages_honour_max_items_too(items250: ListServer) -> None:
    app = web.Application()
    app.router.add_get("/v1/assistants", items250.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()

    def walk() -> list[int]:
        with Client(api_key="sk-test", base_url=str(server.make_url("/v1"))) as blocking:
            paginator = blocking.assistants.list(order="asc", limit=20, max_items=30)
            assert paginator.max_items == 30
            assert [len(b) for b in paginator.batches()] == [20, 10]
            return [len(p.data) for p in paginator.pages()]

    try:
        sizes = await asyncio.to_thread(walk)
    finally:
        await server.close()
    assert sizes == [20, 10]
    assert len(items250.queries) == 4  # two walks of two pages each


async def test_an_empty_list_makes_one_request() -> None:
    empty = ListServer(0)
    async for client in serve(empty):
        assert [a async for a in client.assistants.list()] == []
    assert len(empty.queries) == 1


async def test_an_empty_page_stops_even_if_has_more_says_otherwise() -> None:
    liar = ListServer(3, endless=True)
    async for client in serve(liar):
        seen = [a.id async for a in client.assistants.list(order="asc", limit=2)]
    assert seen == ids(3)
    assert len(liar.queries) == 3  # 2 items, 1 item, then an empty page


async def test_only_one_page_is_held_at_a_time(client: AsyncClient) -> None:
    refs: list[weakref.ref[Assistant]] = []
    alive_from_first_page: list[int] = []
    async for index, assistant in _enumerate(client.assistants.list(order="asc", limit=20)):
        if index < 20:
            refs.append(weakref.ref(assistant))
        if index == 60:
            del assistant
            gc.collect()
            alive_from_first_page.append(sum(r() is not None for r in refs))
    assert alive_from_first_page == [0]


async def test_an_item_the_caller_drops_is_freed_at_once(client: AsyncClient) -> None:
    # Decoded as yielded: no page of models outlives the item the loop is on, so a long
    # walk leaves nothing for the garbage collector's older generations.
    gc.disable()  # reference counting alone must free it
    try:
        previous: weakref.ref[Assistant] | None = None
        freed = 0
        async for assistant in client.assistants.list(order="asc", limit=20, max_items=10):
            if previous is not None and previous() is None:
                freed += 1
            previous = weakref.ref(assistant)
            del assistant
    finally:
        gc.enable()
    assert freed == 9


async def test_a_bad_item_fails_where_it_is_with_the_pages_own_error() -> None:
    broken = ListServer(5)
    broken.items[3]["created_at"] = "yesterday"
    async for client in serve(broken):
        seen: list[str] = []
        with pytest.raises(ResponseValidationError) as caught:
            await _collect_ids(client.assistants.list(order="asc", limit=5), seen)
        whole = await client.request("GET", "/assistants", query={"order": "asc", "limit": 5})
    assert seen == ids(3)  # the items before it were delivered
    with pytest.raises(ResponseValidationError) as as_a_page:
        structure(whole, Page[Assistant])
    assert str(caught.value) == str(as_a_page.value)
    assert caught.value.path == as_a_page.value.path == "data[3].created_at"


async def test_a_page_that_is_not_a_page_fails_before_any_item() -> None:
    app = web.Application()

    async def not_a_page(request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": {"id": "x"}, "has_more": False})

    app.router.add_get("/v1/assistants", not_a_page)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with AsyncClient(api_key="sk-test", base_url=str(server.make_url("/v1"))) as client:
            seen: list[str] = []
            with pytest.raises(ResponseValidationError, match="data"):
                await _collect_ids(client.assistants.list(), seen)
            assert seen == []
    finally:
        await server.close()


async def _collect_ids(walk: Any, into: list[str]) -> None:
    async for item in walk:
        into.append(item.id)


async def _enumerate(items: Any) -> AsyncIterator[tuple[int, Any]]:
    index = 0
    async for item in items:
        yield index, item
        index += 1


@pytest.mark.slow
async def test_a_ten_thousand_page_walk_runs_as_a_loop() -> None:
    # limit=1 over 10,000 items: recursion per page would exceed the recursion limit.
    big = ListServer(10_000)
    async for client in serve(big):
        count = 0
        async for _ in client.assistants.list(order="asc", limit=1):
            count += 1
    assert count == 10_000
    assert len(big.queries) == 10_000
