"""Small loopback servers for the reliability tests: slow streams, stalled bodies."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

from aiohttp import web
from aiohttp.test_utils import TestServer

from ..payloads import RUN

EVENT = (
    "event: thread.run.in_progress\ndata: " + json.dumps({**RUN, "status": "in_progress"}) + "\n\n"
).encode()
DONE = b"event: done\ndata: [DONE]\n\n"


async def stalled_body(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.content_length = 10_000
    await response.prepare(request)
    await response.write(b'{"id": "asst_1", ')
    await asyncio.sleep(30)  # then nothing: the body stalls
    return response


async def ticking_stream(request: web.Request) -> web.StreamResponse:
    """An event every 0.2 s for 2 s (``?stall=1``: one event, then silence)."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    if request.query.get("stall"):
        await response.write(EVENT)
        await asyncio.sleep(30)
    for _ in range(10):
        await response.write(EVENT)
        await asyncio.sleep(0.2)
    await response.write(DONE)
    return response


@contextlib.asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """``app`` on a free loopback port, for the length of the block; its base URL."""
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("/v1"))
    finally:
        await server.close()


def ticking_server() -> contextlib.AbstractAsyncContextManager[str]:
    """A server whose run streams tick (POST /v1/threads/thread_1/runs); its base URL."""
    app = web.Application()
    app.router.add_post("/v1/threads/thread_1/runs", ticking_stream)
    return serve(app)
