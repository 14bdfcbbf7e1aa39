"""Paging over one thread's messages written by three server processes at once on one
PostgreSQL: every walk (``after`` and ``before``, oldest and newest first) through one
process gives each acknowledged message once, in one order.

The 100,000-message case took 19 minutes on the shared 2-core machine (2026-12-07,
other work running, load about 9): it is marked slow, and a 3,000-message case (about
25 s) runs by default.
"""

from __future__ import annotations

import asyncio
from typing import Literal

import pytest

from assistants_async import AsyncClient

from .test_serve import served

Order = Literal["asc", "desc"]


async def walk(client: AsyncClient, thread_id: str, order: Order, way: str) -> list[str]:
    """Every id of the thread's list in ``order``, page by page: forward by ``after``
    from the first page, or backward by ``before`` from the last page."""
    pages: list[list[str]] = []
    if way == "after":
        page = await client.messages.list(thread_id, order=order, limit=100)
        pages.append([m.id for m in page.data])
        while page.has_more:
            page = await client.messages.list(thread_id, order=order, limit=100, after=page.last_id)
            pages.append([m.id for m in page.data])
        return [item for ids in pages for item in ids]
    # Backward: the last item of the list in this order is the first of the other.
    other: Order = "desc" if order == "asc" else "asc"
    (last,) = (await client.messages.list(thread_id, order=other, limit=1)).data
    pages.append([last.id])
    cursor = last.id
    while True:
        page = await client.messages.list(thread_id, order=order, limit=100, before=cursor)
        if page.data:
            pages.append([m.id for m in page.data])
            cursor = page.first_id or cursor
        if not page.has_more:
            break
    return [item for ids in reversed(pages) for item in ids]


async def check_paging(url: str, count: int) -> None:
    async with (
        served(url) as one,
        served(url) as two,
        served(url) as three,
        one.client() as a,
        two.client() as b,
        three.client() as c,
    ):
        clients = [a, b, c]
        thread = await a.threads.create()
        gate = asyncio.Semaphore(48)  # writes in flight at once, round robin

        async def write(n: int) -> str:
            async with gate:
                made = await clients[n % 3].messages.create(thread.id, role="user", content=f"m{n}")
                return made.id

        acknowledged = await asyncio.gather(*(write(n) for n in range(count)))
        assert len(set(acknowledged)) == count
        walks = {
            (order, way): await walk(b, thread.id, order, way)
            for order in ("asc", "desc")
            for way in ("after", "before")
        }
        for (order, way), ids in walks.items():
            assert len(ids) == len(set(ids)) == count, (order, way)  # none repeated
            assert set(ids) == set(acknowledged), (order, way)  # none skipped
        # One order: forward and backward agree, and newest first is its reverse.
        assert walks["asc", "after"] == walks["asc", "before"]
        assert walks["desc", "after"] == walks["desc", "before"]
        assert walks["desc", "after"] == walks["asc", "after"][::-1]


async def test_paging_over_messages_written_by_three_processes_is_stable(
    postgres_url: str,
) -> None:
    await check_paging(postgres_url, 3_000)


@pytest.mark.slow
@pytest.mark.timeout(3600)
async def test_paging_over_100000_messages_written_by_three_processes_is_stable(
    postgres_url: str,
) -> None:
    await check_paging(postgres_url, 100_000)
