"""Runs answered through the server by a Chat Completions server nobody here wrote:
LiteLLM's proxy, with mock responses (no model, no network beyond loopback).

    python scripts/check_litellm.py LITELLM_COMMAND

``LITELLM_COMMAND`` is the proxy's ``litellm`` executable (``make check-litellm``
installs a pinned one in its own virtual environment: releases 1.82.7 and 1.82.8 were
compromised, so the pin is below them). It prints what each step saw and exits 0 when
the runs came back as they should.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import tempfile
from pathlib import Path

import aiohttp

from assistants_async import AsyncClient
from assistants_async.server._chat import ChatResponder, ChatSettings
from assistants_async.server._keys import Keys
from assistants_async.server._memory import MemoryStore
from assistants_async.server._serve import AssistantsServer

MASTER_KEY = "sk-litellm-check"
ANSWER = "Hello from the mock model."
CONFIG = f"""\
model_list:
  - model_name: mock-gpt
    litellm_params:
      model: openai/gpt-4o-mini
      api_key: sk-not-used
      mock_response: "{ANSWER}"
general_settings:
  master_key: {MASTER_KEY}
"""


def free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def wait_ready(url: str, proc: asyncio.subprocess.Process, timeout: float) -> None:
    """Until the proxy answers its liveness probe (or exits, or the time is up)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with aiohttp.ClientSession() as http:
        while loop.time() < deadline:
            if proc.returncode is not None:
                raise SystemExit(f"litellm exited with {proc.returncode}")
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"{url}/health/liveliness") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.5)  # a poll of a process starting up: no event to wait on
    raise SystemExit(f"litellm did not start within {timeout} s")


async def check(litellm: str) -> int:
    port = free_port()
    upstream = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "config.yaml"
        config.write_text(CONFIG, encoding="utf-8")
        env = {**os.environ, "LITELLM_LOG": "ERROR"}
        proc = await asyncio.create_subprocess_exec(
            litellm,
            "--config",
            str(config),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            await wait_ready(upstream, proc, 180)
            return await runs(upstream + "/v1")
        finally:
            proc.terminate()
            await proc.wait()


async def runs(model_url: str) -> int:
    settings = ChatSettings(model_url, api_key=MASTER_KEY, models={"gpt-4o": "mock-gpt"})
    responder = ChatResponder(settings)
    server = AssistantsServer(MemoryStore(), Keys(["sk-tenant"]), responder=responder)
    url = await server.start()
    failures = 0
    try:
        async with AsyncClient(api_key="sk-tenant", base_url=url, max_retries=0) as client:
            asst = await client.assistants.create(model="gpt-4o", instructions="Be brief.")
            thread = await client.threads.create(messages=[{"role": "user", "content": "Hi"}])
            async with client.runs.stream(thread.id, assistant_id=asst.id) as stream:
                pieces = [piece async for piece in stream.text_deltas()]
                run = await stream.final_run()
            text = "".join(pieces)
            print(f"streamed run: {run.status}, {len(pieces)} deltas, text {text!r}")
            print(f"  usage: {run.usage}")
            failures += run.status != "completed" or text != ANSWER
            run = await client.runs.create_and_poll(thread.id, assistant_id=asst.id)
            said = [m async for m in client.messages.list(thread.id, run_id=run.id)]
            print(f"polled run: {run.status}, message {said[0].content[0] if said else None}")
            failures += run.status != "completed" or not said
    finally:
        await server.stop()
        await responder.aclose()
    print("ok" if not failures else f"{failures} check(s) failed")
    return 1 if failures else 0


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    return asyncio.run(check(sys.argv[1]))


if __name__ == "__main__":
    raise SystemExit(main())
