"""Nothing a server sends can stall the loop or exhaust memory.

A hostile server on loopback: an HTML error page built to make a naive scan quadratic,
a 2 GB body, a gzip bomb, an endless server-sent-events line. Memory is measured in a
child process (its peak RSS before and after each call), so the numbers are the
client's alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from assistants_async import AsyncClient, InternalServerError, ResponseTooLargeError
from assistants_async._errors import error_from_response

from .servers import serve

MB = 1024 * 1024
CHUNK = b"x" * MB


def gzip_bomb(size: int) -> bytes:
    """``size`` zero bytes, gzip-compressed (about size / 1000 on the wire)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(MB)
    parts = [packer.compress(zeros) for _ in range(size // MB)]
    parts.append(packer.flush())
    return b"".join(parts)


BOMB = gzip_bomb(400 * MB)


async def endless(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    try:
        for _ in range(2048):  # 2 GB, unless the client hangs up first
            await response.write(CHUNK)
    except (ConnectionError, RuntimeError):
        pass
    return response


async def bomb(request: web.Request) -> web.Response:
    return web.Response(
        body=BOMB, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}
    )


async def declared(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.content_length = 2 * 1024 * MB
    await response.prepare(request)
    with contextlib.suppress(ConnectionError, RuntimeError):
        await response.write(CHUNK)
    return response


async def endless_sse_line(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    try:
        await response.write(b"event: thread.message.delta\ndata: ")
        for _ in range(2048):  # one line, never ended
            await response.write(CHUNK)
    except (ConnectionError, RuntimeError):
        pass
    return response


async def title_bomb(request: web.Request) -> web.Response:
    return web.Response(status=502, body=b"<title>" * (MB // 7), content_type="text/html")


@pytest.fixture
async def hostile() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_get("/v1/assistants/big", endless)
    app.router.add_get("/v1/assistants/bomb", bomb)
    app.router.add_get("/v1/assistants/declared", declared)
    app.router.add_get("/v1/assistants/title", title_bomb)
    app.router.add_post("/v1/threads/thread_1/runs", endless_sse_line)
    async with serve(app) as url:
        yield url


CHILD = """
import asyncio, json, os, sys, threading, time

from assistants_async import AsyncClient

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE / (1024 * 1024)


class Peak:
    # The highest resident size while a call runs, sampled every millisecond or so:
    # ru_maxrss would hide a call's growth under the start-up's own peak.
    def __enter__(self):
        self.base = self.peak = rss_mb()
        self.running = True
        self.thread = threading.Thread(target=self.sample)
        self.thread.start()
        return self

    def sample(self):
        while self.running:
            self.peak = max(self.peak, rss_mb())
            time.sleep(0.001)

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()


async def main(url: str) -> None:
    results = {}
    async with AsyncClient(
        api_key="sk-1", base_url=url, max_retries=0, max_response_size=16 * 1024 * 1024
    ) as client:
        for name in ("big", "bomb", "declared", "sse"):
            with Peak() as peak:
                try:
                    if name == "sse":
                        async with client.runs.stream("thread_1", assistant_id="asst_1") as s:
                            async for _ in s:
                                pass
                    else:
                        await client.assistants.retrieve(name)
                    error = "none"
                except Exception as exc:
                    error = f"{type(exc).__name__}: {exc}"
            results[name] = {"growth_mb": round(peak.peak - peak.base, 1), "error": error}
    print(json.dumps(results))


asyncio.run(main(sys.argv[1]))
"""


async def test_memory_stays_within_the_limit_whatever_the_server_sends(
    hostile: str, tmp_path: Path
) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-W",
        "error",
        str(script),
        hostile,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()
    results = json.loads(out)
    print(results)  # shown with -s: the growth of each case
    for name, result in results.items():
        assert result["error"].startswith("ResponseTooLargeError"), (name, result)
        assert "max_response_size of 16,777,216 bytes" in result["error"]
        # The limit (16 MB) plus a small margin: read buffers, the decompressor, and
        # for a stream the text decoded from the bytes.
        assert result["growth_mb"] < 16 + 12, (name, result)


async def test_a_hostile_error_page_becomes_its_error_at_once(hostile: str) -> None:
    async with AsyncClient(api_key="sk-1", base_url=hostile, max_retries=0) as client:
        started = time.monotonic()
        with pytest.raises(InternalServerError) as caught:
            # A quadratic scan of this page took minutes; a linear one, milliseconds.
            await asyncio.wait_for(client.assistants.retrieve("title"), 10)
        assert time.monotonic() - started < 10
    assert caught.value.status_code == 502


@pytest.mark.parametrize(
    "body",
    [
        b"<title>" * 150_000,
        b"<" * MB,
        b"<script" * 150_000,
        b"<a " * 350_000,
        b"<style>" + b"<x" * 400_000,
        b'{"error": ' * 100_000,
        b"[" * 100_000,
    ],
    ids=["titles", "angles", "scripts", "open-tags", "style", "deep-json", "deep-array"],
)
def test_error_text_is_scanned_in_linear_time(body: bytes) -> None:
    started = time.perf_counter()
    error = error_from_response(502, {}, body)
    # Bounded, whatever the shape: a quadratic scan of 1 MB takes minutes.
    assert time.perf_counter() - started < 20  # a quadratic scan takes minutes
    assert len(error.message) <= 300


def test_error_text_still_reads_real_pages() -> None:
    page = (
        b"<html><head><style>p{}</style><script>var a = '<b>';</script></head>"
        b"<body><h1>Service down</h1><p>Try again &amp; wait</p></body></html>"
    )
    assert error_from_response(503, {}, page).message == "Service down Try again & wait"
    titled = b"<html><title>502 Bad Gateway</title><body>nginx</body></html>"
    assert error_from_response(502, {}, titled).message == "502 Bad Gateway"


def test_the_default_limit_is_tens_of_megabytes() -> None:
    from assistants_async._config import DEFAULT_MAX_RESPONSE_SIZE

    assert 16 * MB <= DEFAULT_MAX_RESPONSE_SIZE <= 128 * MB
    with pytest.raises(ValueError, match="max_response_size"):
        AsyncClient(api_key="sk-1", max_response_size=0)


async def test_a_large_legitimate_body_under_the_limit_is_read(hostile: str) -> None:
    app = web.Application()
    page: dict[str, object] = {
        "object": "list",
        "data": [],
        "first_id": None,
        "last_id": None,
        "has_more": False,
    }
    padded = json.dumps({**page, "pad": "y" * (3 * MB)}).encode()

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=zlib.compress(padded), headers={"Content-Encoding": "deflate"})

    app.router.add_get("/v1/assistants", handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with AsyncClient(
            api_key="sk-1", base_url=str(server.make_url("/v1")), max_response_size=4 * MB
        ) as client:
            first = await client.assistants.list()
            assert first.data == []
        async with AsyncClient(
            api_key="sk-1", base_url=str(server.make_url("/v1")), max_response_size=2 * MB
        ) as client:
            with pytest.raises(ResponseTooLargeError):
                await client.assistants.list()
    finally:
        await server.close()
