"""Closing and interrupting release the connection: a stream closed under its reader,
Ctrl-C in a blocking call or stream, calls in flight at close(), clients dropped open."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from assistants_async import AsyncClient, ClientClosedError
from assistants_async.sync import Client
from assistants_async.testing import FakeAssistantsServer

from .servers import ticking_server


async def test_closing_a_stream_under_its_reader_ends_the_reader_and_frees_the_slot() -> None:
    async with (
        ticking_server() as url,
        AsyncClient(api_key="sk-1", base_url=url, max_connections=1) as client,
    ):
        stream = client.runs.stream("thread_1", assistant_id="asst_1")
        await stream.__aenter__()
        seen: list[object] = []

        async def reader() -> None:
            async for event in stream:
                seen.append(event)

        task = asyncio.ensure_future(reader())
        while not seen:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.05)  # the reader now waits for the next event's bytes
        await stream.close()  # from another task
        await asyncio.wait_for(task, 1)  # ended at once, without an error
        assert len(seen) < 10
        # The pool's one connection is free again: a new stream gets it at once.
        async with client.runs.stream("thread_1", assistant_id="asst_1") as again:
            first = await asyncio.wait_for(again.__aiter__().__anext__(), 1)
        assert first.event == "thread.run.in_progress"


async def first_page(client: AsyncClient) -> object:
    return await client.assistants.list()


async def test_calls_in_flight_fail_at_once_when_the_client_closes() -> None:
    async with FakeAssistantsServer() as server:
        client = server.client(max_retries=3)
        asst = await client.assistants.create(model="m")
        server.faults.delay("getAssistant", seconds=30)  # one call waits for an answer
        server.faults.fail_next("listAssistants", status=503, retry_after=30)  # one backs off
        waiting = asyncio.ensure_future(client.assistants.retrieve(asst.id))
        backing_off = asyncio.ensure_future(first_page(client))
        while len(server.requests) < 3:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        started = time.monotonic()
        await client.close()
        results = await asyncio.gather(waiting, backing_off, return_exceptions=True)
        assert time.monotonic() - started < 10  # both would have waited 30 s
        for result in results:
            assert isinstance(result, ClientClosedError), repr(result)
            assert "closed" in str(result)
        with pytest.raises(ClientClosedError):
            await client.assistants.retrieve(asst.id)


def portal_threads() -> int:
    return sum(t.name == "assistants-async-portal" for t in threading.enumerate())


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_blocking_clients_dropped_open_are_finalised() -> None:
    async with FakeAssistantsServer() as server:
        url = server.url

        def drop_many() -> tuple[int, int, int]:
            threads, fds = portal_threads(), open_fds()
            for _ in range(50):
                client = Client(api_key="sk-1", base_url=url)
                client.assistants.create(model="m")
                del client  # never closed
            gc.collect()
            return portal_threads() - threads, open_fds() - fds, len(server.requests)

        extra_threads, extra_fds, calls = await asyncio.to_thread(drop_many)
    assert calls == 50
    assert extra_threads == 0
    assert extra_fds <= 2


async def test_an_async_client_left_open_says_how_to_close_it() -> None:
    async with FakeAssistantsServer() as server:
        client = server.client()
        await client.assistants.create(model="m")
        # What aiohttp would warn about on its own is closed by hand: ours is the one tested.
        connector = client._transport.pool.connector()
        session = client._transport._session
        assert session is not None
        await session.close()
        with pytest.warns(ResourceWarning, match=r"async with AsyncClient\(\)"):  # noqa: PT031
            del client
            gc.collect()
        await connector.close()


SCRIPT = """
import signal, sys, time

# A child of a background job starts with SIGINT ignored: restore what Ctrl-C does.
signal.signal(signal.SIGINT, signal.default_int_handler)

from assistants_async.sync import Client

client = Client(api_key="sk-1", base_url=sys.argv[1], max_retries=2)
mode = sys.argv[2]
print("ready", flush=True)
try:
    if mode == "call":
        client.assistants.create(model="m")
    else:
        with client.runs.stream("thread_1", assistant_id="asst_1") as stream:
            for event in stream:
                print("event", flush=True)
    print("finished", flush=True)
except KeyboardInterrupt:
    print("KeyboardInterrupt", flush=True)
except BaseException as exc:
    print(type(exc).__name__, exc, flush=True)
time.sleep(2.5)  # a call left running would land in this time
client.close()
print("exit", flush=True)
"""


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


async def run_and_interrupt(
    tmp_path: Path, url: str, mode: str, when: object, *, launched_ignoring: bool = False
) -> list[str]:
    """Run the script, Ctrl-C it once ``when()``; ``launched_ignoring``: start it with
    SIGINT ignored, as a background job of a non-interactive shell is (``make test &``)."""
    script = tmp_path / "interrupted.py"
    script.write_text(SCRIPT, encoding="utf-8")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        url,
        mode,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=_ignore_sigint if launched_ignoring else None,
    )
    assert proc.stdout is not None
    lines = [(await proc.stdout.readline()).decode().strip()]
    assert lines == ["ready"]
    while not when():  # type: ignore[operator]  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    return lines + out.decode().split("\n")


@pytest.mark.parametrize("launched_ignoring", [False, True])
async def test_ctrl_c_in_a_blocking_call_cancels_it(
    tmp_path: Path, launched_ignoring: bool
) -> None:
    async with FakeAssistantsServer() as server:
        assert server.url is not None
        # The first try fails; the client waits 1 s before retrying: Ctrl-C comes then.
        server.faults.fail_next("createAssistant", status=503, retry_after=1)
        lines = await run_and_interrupt(
            tmp_path,
            server.url,
            "call",
            lambda: len(server.requests) >= 1,
            launched_ignoring=launched_ignoring,
        )
        await asyncio.sleep(0.2)
        operations = [r.operation for r in server.requests]
    assert "KeyboardInterrupt" in lines
    assert "exit" in lines
    # The retry never went out, though the process lived on for 2.5 s after Ctrl-C.
    assert operations == ["createAssistant"]


async def test_ctrl_c_in_a_blocking_stream_is_a_keyboard_interrupt(tmp_path: Path) -> None:
    async with ticking_server() as url:
        started = time.monotonic()
        # Ctrl-C while the stream waits for its next event (one every 0.2 s, for 2 s).
        lines = await run_and_interrupt(
            tmp_path, url, "stream", lambda: time.monotonic() - started > 1.2
        )
    assert "event" in lines
    assert "finished" not in lines
    assert "KeyboardInterrupt" in lines, lines
    assert "exit" in lines
