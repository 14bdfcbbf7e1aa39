"""The official Node SDK (``openai`` on npm, pinned in ``tests/node/``) runs the
Assistants flows of ``tests/node/sdk_check.mjs`` against the fake server and against
the real server on SQLite: a second client we did not write, on both stores.

Slow: it installs the pinned SDK from the npm registry (once a session) and needs
``node`` and ``npm`` on the PATH; without them it fails, saying so, rather than skip.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from assistants_async.testing import ToolCall, call_tools_then_answer

from .stores import STORES, StoreKind, serve

pytestmark = pytest.mark.slow

NODE_DIR = Path(__file__).resolve().parent / "node"
CHECKS = ["ok wholeFlow", "ok pagesBothWays", "ok toolCallDeltas", "ok errors"]


@pytest.fixture(scope="session")
def node_sdk(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """``node``'s path, and a folder with the check script and the pinned SDK installed
    beside it (ESM resolves ``openai`` from the script's own folder)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("the Node SDK checks need node and npm on the PATH")
    folder = tmp_path_factory.mktemp("node-sdk")
    for name in ("package.json", "package-lock.json", "sdk_check.mjs"):
        shutil.copy(NODE_DIR / name, folder / name)
    installed = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--prefer-offline"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert installed.returncode == 0, f"npm ci failed:\n{installed.stderr[-2000:]}"
    return node, folder


@pytest.mark.parametrize("kind", STORES)
async def test_the_node_sdk_runs_every_check(
    node_sdk: tuple[str, Path],
    kind: StoreKind,
    tmp_path: Path,
    sqlite_template: Path,
    request: pytest.FixtureRequest,
) -> None:
    node_path, folder = node_sdk
    responder = call_tools_then_answer(
        [ToolCall("get_weather", {"city": "Paris"})], "In Paris it is {outputs}."
    )
    url = request.getfixturevalue("postgres_url") if kind == "postgres" else None
    async with serve(kind, tmp_path, responder, sqlite_template, url) as served:
        env = {**os.environ, "CHECK_BASE_URL": served.url, "CHECK_API_KEY": served.key}
        node = await asyncio.create_subprocess_exec(
            node_path,
            "sdk_check.mjs",
            cwd=folder,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(node.communicate(), 90)
        finally:
            if node.returncode is None:
                node.kill()
                await node.wait()
    assert node.returncode == 0, f"{out.decode()}\n{err.decode()[-3000:]}"
    assert out.decode().splitlines() == CHECKS
