"""The README's first command, and the fake server's own command line."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys

import aiohttp


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}


def test_the_demo_runs_offline_and_prints_the_transcript() -> None:
    done = subprocess.run(
        [sys.executable, "-W", "error", "-m", "assistants_async", "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert re.search(r"Fake Assistants server on http://127\.0\.0\.1:\d+/v1", out)
    for expected in [
        "1. Create an assistant with a function tool",
        "'Weather bot' on gpt-4o",
        "2. Create a thread with a question",
        "3. Start a run",
        "-> requires_action",
        "4. The run calls get_weather({'city': 'Paris'})",
        "5. Submit the tool output; the answer streams in:\n"
        "   It is 21 degrees C and sunny in Paris.\n6. The run completed",
        "tool_calls, completed",
        "message_creation, completed",
        "user: What is the weather in Paris right now?",
        "assistant: It is 21 degrees C and sunny in Paris.",
    ]:
        assert expected in out, expected
    assert out.rstrip().endswith("Done.")


async def test_the_fake_server_serves_from_the_command_line() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-W",
        "error",
        "-m",
        "assistants_async.testing",
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=clean_env(),
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), timeout=30)).decode()
        match = re.search(r"(http://127\.0\.0\.1:\d+/v1)", line)
        assert match, line
        async with (
            aiohttp.ClientSession(headers={"OpenAI-Beta": "assistants=v2"}) as http,
            http.post(
                f"{match.group(1)}/assistants",
                json={"model": "gpt-4o"},
                headers={"Authorization": "Bearer any"},
            ) as resp,
        ):
            assert resp.status == 200
            assert (await resp.json())["id"].startswith("asst_")
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 0, err.decode()
