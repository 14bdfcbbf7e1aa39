"""One event loop in one daemon thread per client, called with one thread hand-off.

A plain asyncio loop: anyio's portal once started and stopped it, but every call went
around the portal already (one hand-off instead of its two), so it served only that.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

from .._errors import ClientClosedError

__all__ = ["LoopThread", "refuse_running_loop", "step_through"]

T = TypeVar("T")


def refuse_running_loop(what: str) -> None:
    """Blocking inside an event loop would stall (or deadlock) it: say so instead."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(
        f"{what} was called from inside a running event loop, where a blocking call would "
        "stall the loop. Use assistants_async.AsyncClient and await its methods instead."
    )


class LoopThread:
    """A daemon thread running an event loop, and the way to call into it.

    Daemon, so that a client nobody closed does not hold the interpreter at exit.
    """

    def __init__(self, name: str = "assistants-async-portal") -> None:
        ready = threading.Event()
        failure: list[BaseException] = []
        self._event_loop: asyncio.AbstractEventLoop | None = None
        # Set (in the loop) by stop(); None once stopping began.
        self._stop: asyncio.Event | None = None
        # Calls in flight: stopping ends them with a clear error rather than abandoning them.
        self._running: set[asyncio.Task[Any]] = set()

        async def serve() -> None:
            self._event_loop = asyncio.get_running_loop()
            stop = self._stop = asyncio.Event()
            ready.set()
            await stop.wait()
            for task in self._running:
                task.cancel()
            if self._running:
                await asyncio.wait(self._running)

        def run() -> None:
            try:
                asyncio.run(serve())
            except BaseException as exc:  # pragma: no cover - reported to the starter
                failure.append(exc)
                ready.set()

        self.thread = threading.Thread(target=run, name=name, daemon=True)
        self.thread.start()
        ready.wait()
        if failure:  # pragma: no cover
            raise RuntimeError("could not start the client's event loop") from failure[0]

    def call(self, func: Callable[[], Any]) -> Any:
        """Run ``func()`` (sync, or async and awaited) in the loop; return its result.

        One thread hand-off per call. If the waiting thread
        is interrupted (Ctrl-C's KeyboardInterrupt, or any exception raised in it), the
        call is cancelled on the loop, not abandoned, and the interruption goes on up:
        a request cut short this way releases its connection and is never retried.
        """
        loop = self._event_loop
        if loop is None or self._stop is None or not self.thread.is_alive():
            raise ClientClosedError()
        result: concurrent.futures.Future[Any] = concurrent.futures.Future()
        tasks: list[asyncio.Task[Any]] = []

        def start() -> None:
            if not result.set_running_or_notify_cancel():
                return  # the caller gave up before the loop got here
            task = loop.create_task(self._run(func))
            tasks.append(task)
            task.add_done_callback(lambda done: _settle(done, result))

        loop.call_soon_threadsafe(start)
        try:
            return result.result()
        except BaseException:
            # Not started yet: cancelled here. Running on the loop: cancelled there, and
            # given a moment to let go of its connection before the error goes on up.
            if not result.done() and not result.cancel():
                with contextlib.suppress(RuntimeError):  # the loop is gone
                    loop.call_soon_threadsafe(_cancel_all, tasks)
                with contextlib.suppress(BaseException):
                    concurrent.futures.wait([result], timeout=_UNWIND_SECONDS)
            raise

    async def _run(self, func: Callable[[], Any]) -> Any:
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        try:
            result = func()
            if inspect.isawaitable(result):
                result = await result
            return result
        except asyncio.CancelledError:
            if self._stop is None:  # stopped by close() from another thread
                raise ClientClosedError(
                    "the client was closed while this call was waiting"
                ) from None
            raise
        finally:
            self._running.discard(task)

    def stop(self) -> None:
        stop, self._stop = self._stop, None
        loop = self._event_loop
        if stop is not None and loop is not None and self.thread.is_alive():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(stop.set)
        if self.thread is not threading.current_thread():
            self.thread.join()


# How long an interrupted caller waits for its cancelled call to unwind.
_UNWIND_SECONDS = 2.0


def _settle(task: asyncio.Task[Any], result: concurrent.futures.Future[Any]) -> None:
    if result.done():
        return
    if task.cancelled():
        result.set_exception(ClientClosedError("the call was cancelled"))
        return
    error = task.exception()
    if error is not None:
        result.set_exception(error)
    else:
        result.set_result(task.result())


def _cancel_all(tasks: list[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()


def step_through(loop: LoopThread, walk: AsyncIterator[T]) -> Iterator[T]:
    """Iterate an async generator from a blocking caller, one portal hop per item.

    Leaving early closes the generator (and so whatever it holds open).
    """
    try:
        while True:
            try:
                item: T = loop.call(walk.__anext__)
            except StopAsyncIteration:
                return
            yield item
    finally:
        # RuntimeError: the client was closed first; its loop, and the walk, are gone.
        close = getattr(walk, "aclose", None)
        if close is not None:
            with contextlib.suppress(RuntimeError):
                loop.call(close)
