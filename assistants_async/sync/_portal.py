"""One event loop in one daemon thread per client, reached through an anyio portal."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

import anyio
import anyio.from_thread
import anyio.lowlevel
from anyio.from_thread import BlockingPortal

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
    """A daemon thread running an event loop, and the portal that calls into it.

    Daemon, so that a client nobody closed does not hold the interpreter at exit.
    """

    def __init__(self, name: str = "assistants-async-portal") -> None:
        ready = threading.Event()
        failure: list[BaseException] = []
        self._portal: BlockingPortal | None = None
        self._token: anyio.lowlevel.EventLoopToken | None = None
        # Calls in flight: stopping ends them with a clear error rather than abandoning them.
        self._running: set[asyncio.Task[Any]] = set()

        async def serve() -> None:
            async with BlockingPortal() as portal:
                self._token = anyio.lowlevel.current_token()
                self._portal = portal
                ready.set()
                await portal.sleep_until_stopped()
                for task in self._running:
                    task.cancel()
                if self._running:
                    await asyncio.wait(self._running)

        def run() -> None:
            try:
                anyio.run(serve)
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

        ``portal.call`` would cost two thread hand-offs (one to spawn the task in the
        portal's task group, one for the result); ``from_thread.run`` with the portal
        loop's token costs one, which is most of a blocking call's overhead.
        """
        token = self._token
        if token is None or self._portal is None or not self.thread.is_alive():
            raise RuntimeError("this client is closed; create a new one")
        return anyio.from_thread.run(self._run, func, token=token)

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
            if self._portal is None:  # stopped by close() from another thread
                raise RuntimeError("the client was closed while this call was waiting") from None
            raise
        finally:
            self._running.discard(task)

    def stop(self) -> None:
        portal, self._portal = self._portal, None
        if portal is not None and self.thread.is_alive():
            portal.call(portal.stop)
        if self.thread is not threading.current_thread():
            self.thread.join()


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
