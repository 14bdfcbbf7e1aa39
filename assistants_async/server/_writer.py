"""The SQLite store's one writing connection, on a thread of its own, with group commit.

Why not aiosqlite here (the readers use it): every aiosqlite call is one trip to its
thread and one back through the event loop, and every single-statement write is a
commit of its own. At 16 requests at a time a message create (two writes: the message
and the idempotency reply) cost the server about three times the in-memory server's
CPU, most of it in those trips and commits (benchmarks/README.md). Here the thread
takes every statement waiting when it wakes, and runs those sent with ``batched`` in
one transaction, each in a savepoint of its own (one that fails undoes only itself and
fails only its sender), then wakes the event loop once for all of them. Every sender
hears back only after the commit, so an acknowledged write is as durable as before.

``execute`` and friends run one call as it is, for a task's own transaction (the
store sends nothing batched while one is open) and for pragmas.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["Writer"]

# What a job is: run as it is, one batched statement, or several batched as one.
_PLAIN, _BATCHED, _SEVERAL = 0, 1, 2
_Job = tuple[int, Callable[[sqlite3.Connection], Any], "asyncio.Future[Any] | None"]


class Writer:
    """A connection to ``path`` in autocommit mode, on its own thread."""

    def __init__(self, conn: sqlite3.Connection, loop: asyncio.AbstractEventLoop) -> None:
        self._conn = conn
        self._loop = loop
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name="sqlite-writer", daemon=True)
        self._closed = False
        self._thread.start()

    @classmethod
    async def connect(cls, path: str) -> Writer:
        loop = asyncio.get_running_loop()
        conn = await loop.run_in_executor(
            None,
            lambda: sqlite3.connect(path, isolation_level=None, check_same_thread=False),
        )
        return cls(conn, loop)

    # --- the event loop's side --------------------------------------------------------

    def _send(self, kind: int, call: Callable[[sqlite3.Connection], Any]) -> asyncio.Future[Any]:
        if self._closed:
            raise ValueError("the writer is closed")
        future: asyncio.Future[Any] = self._loop.create_future()
        self._jobs.put((kind, call, future))
        return future

    def batched(self, sql: str, params: Iterable[Any] = ()) -> asyncio.Future[sqlite3.Cursor]:
        """One statement, committed with those sent beside it (see the module's doc);
        queued before this returns."""
        args = tuple(params)
        return self._send(_BATCHED, lambda conn: conn.execute(sql, args))

    def several(self, call: Callable[[sqlite3.Connection], Any]) -> asyncio.Future[Any]:
        """``call``'s statements, batched as one (all or none of them kept): one trip to
        the thread, not one per statement and its BEGIN and COMMIT."""
        return self._send(_SEVERAL, call)

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        args = tuple(params)
        cursor: sqlite3.Cursor = await self._send(_PLAIN, lambda conn: conn.execute(sql, args))
        return cursor

    async def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> sqlite3.Cursor:
        data = [tuple(row) for row in rows]
        cursor: sqlite3.Cursor = await self._send(_PLAIN, lambda conn: conn.executemany(sql, data))
        return cursor

    async def execute_fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        args = tuple(params)
        rows: list[Any] = await self._send(_PLAIN, lambda conn: conn.execute(sql, args).fetchall())
        return rows

    async def set_progress_handler(self, handler: Callable[[], int] | None, n: int) -> None:
        await self._send(_PLAIN, lambda conn: conn.set_progress_handler(handler, n))

    async def set_trace_callback(self, handler: Callable[[str], object] | None) -> None:
        await self._send(_PLAIN, lambda conn: conn.set_trace_callback(handler))

    async def close(self) -> None:
        """Close after every call sent before this one."""
        if self._closed:
            return
        self._closed = True
        done = self._loop.create_future()
        self._jobs.put((_PLAIN, lambda conn: conn.close(), done))
        self._jobs.put(None)
        try:
            await done
        finally:
            await self._loop.run_in_executor(None, self._thread.join)

    # --- the writer's thread ----------------------------------------------------------

    def _work(self) -> None:
        while True:
            first = self._jobs.get()
            jobs = [first]
            while not self._jobs.empty():  # everything sent meanwhile, in order
                jobs.append(self._jobs.get())
            stop = None in jobs
            done = self._run([job for job in jobs if job is not None])
            if done:
                # A closed loop has nobody left to answer.
                with contextlib.suppress(RuntimeError):
                    self._loop.call_soon_threadsafe(_deliver, done)
            if stop:
                return

    def _run(self, jobs: list[_Job]) -> list[tuple[asyncio.Future[Any] | None, bool, Any]]:
        """Run ``jobs`` in order; each sender's (future, ok, result or exception)."""
        done: list[tuple[asyncio.Future[Any] | None, bool, Any]] = []
        i = 0
        while i < len(jobs):
            j = i
            while j < len(jobs) and jobs[j][0]:
                j += 1
            # Several batched statements: one commit for them all (and a lone job of
            # several statements is a transaction of its own, never left half done).
            if j - i > 1 or jobs[i][0] == _SEVERAL:
                done += self._group(jobs[i:j])
                i = j
                continue
            _, call, future = jobs[i]
            try:
                done.append((future, True, call(self._conn)))
            except BaseException as exc:  # handed to the sender, who raises it
                done.append((future, False, exc))
            i += 1
        return done

    def _group(self, jobs: list[_Job]) -> list[tuple[asyncio.Future[Any] | None, bool, Any]]:
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except BaseException as exc:  # the lock was not had: none of them ran
            return [(future, False, exc) for _, _, future in jobs]
        done: list[tuple[asyncio.Future[Any] | None, bool, Any]] = []
        try:
            for _, call, future in jobs:
                conn.execute("SAVEPOINT batched")
                try:
                    result = call(conn)
                except BaseException as exc:
                    conn.execute("ROLLBACK TO batched")
                    done.append((future, False, exc))
                else:
                    done.append((future, True, result))
                conn.execute("RELEASE batched")
            conn.execute("COMMIT")
        except BaseException as exc:  # the commit (or a savepoint) failed: none is kept
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            return [(future, False, exc) for _, _, future in jobs]
        return done


def _deliver(done: list[tuple[asyncio.Future[Any] | None, bool, Any]]) -> None:
    for future, ok, value in done:
        if future is None or future.done():  # its sender was cancelled
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
