"""The fake server's command line, started as a user starts it, for the tests."""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
from collections.abc import AsyncIterator


@contextlib.asynccontextmanager
async def cli_server(*options: str) -> AsyncIterator[str]:
    """``python -m assistants_async.testing --port 0 [options]``; yields its root URL
    (``http://127.0.0.1:PORT``: the API is under ``/v1``, the control plane under
    ``/__fake__/``), read from the line it prints when it is ready."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "assistants_async.testing",
        "--port",
        "0",
        *options,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        banner = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        found = re.search(r"(http://127\.0\.0\.1:\d+)/v1", banner)
        assert found is not None, banner
        assert f"{found.group(1)}/__fake__/" in banner
        yield found.group(1)
    finally:
        proc.terminate()
        await proc.wait()
