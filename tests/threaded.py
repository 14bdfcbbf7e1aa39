"""A server on a loop thread of its own, for the blocking client's tests (whose calls
block the test's thread, so the server cannot share its loop)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

S = TypeVar("S")


@contextlib.contextmanager
def serving(
    server: S,
    start: Callable[[S], Coroutine[Any, Any, Any]],
    stop: Callable[[S], Coroutine[Any, Any, Any]],
) -> Iterator[S]:
    """``server`` started by ``start(server)`` on a new loop thread, stopped on leaving."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    failed: list[BaseException] = []

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(start(server))
        except BaseException as exc:  # said in the test's thread
            failed.append(exc)
            ready.set()
            return
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve)
    thread.start()
    ready.wait()
    try:
        if failed:
            raise failed[0]
        yield server
    finally:
        if not failed:
            asyncio.run_coroutine_threadsafe(stop(server), loop).result()
            loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
