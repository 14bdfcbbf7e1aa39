"""Leak checks for the reliability suite: no stray tasks or threads after each case."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import pytest


@pytest.fixture(autouse=True)
async def no_leaks() -> AsyncIterator[None]:
    threads_before = {t.ident for t in threading.enumerate()}
    yield
    # Work that is unwinding (a cancelled call, a server closing a connection) gets up
    # to a second to finish; anything still running after that has leaked.
    current = asyncio.current_task()
    stray: list[asyncio.Task[object]] = []
    for _ in range(50):
        stray = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
        if not stray:
            break
        await asyncio.sleep(0.02)
    assert stray == [], f"tasks left running: {stray}"
    portal = [
        t
        for t in threading.enumerate()
        if t.ident not in threads_before and t.name == "assistants-async-portal"
    ]
    assert portal == [], f"portal threads left: {portal}"
