"""Every Python example in the README runs, against a loopback server with canned answers.

The answers are fixed objects, so this proves the examples call the API as it is (names,
signatures, types, control flow), not what a real server would reply.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from .payloads import ASSISTANT, MESSAGE, RUN, STEP, THREAD, deleted, page

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)

ID = r"[^/]+"
REQUIRES_ACTION = {
    **RUN,
    "status": "requires_action",
    "required_action": {
        "type": "submit_tool_outputs",
        "submit_tool_outputs": {
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ]
        },
    },
}
ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/assistants", page(ASSISTANT)),
    ("POST", "/assistants", ASSISTANT),
    ("DELETE", f"/assistants/{ID}", deleted("asst_1", "assistant")),
    ("*", f"/assistants/{ID}", ASSISTANT),
    ("POST", "/threads/runs", REQUIRES_ACTION),
    ("POST", "/threads", THREAD),
    ("GET", f"/threads/{ID}/messages", page(MESSAGE)),
    ("DELETE", f"/threads/{ID}/messages/{ID}", deleted("msg_1", "thread.message")),
    ("*", f"/threads/{ID}/messages(/{ID})?", MESSAGE),
    ("GET", f"/threads/{ID}/runs/{ID}/steps", page(STEP)),
    ("GET", f"/threads/{ID}/runs/{ID}/steps/{ID}", STEP),
    ("GET", f"/threads/{ID}/runs", page(RUN)),
    ("GET", f"/threads/{ID}/runs/{ID}", REQUIRES_ACTION),
    ("POST", f"/threads/{ID}/runs.*", RUN),
    ("DELETE", f"/threads/{ID}", deleted("thread_1", "thread")),
    ("*", f"/threads/{ID}", THREAD),
]


COMPLETED = {**RUN, "status": "completed"}
STREAM = (
    b"".join(
        f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
        for name, data in [
            ("thread.run.created", RUN),
            (
                "thread.message.delta",
                {
                    "id": "msg_1",
                    "object": "thread.message.delta",
                    "delta": {
                        "content": [{"index": 0, "type": "text", "text": {"value": "Hello"}}]
                    },
                },
            ),
            ("thread.run.completed", COMPLETED),
        ]
    )
    + b"event: done\ndata: [DONE]\n\n"
)


def canned_app() -> web.Application:
    """Fixed answers, except that a run stops requiring action once outputs are in."""
    submitted = False

    async def canned(request: web.Request) -> web.StreamResponse:
        nonlocal submitted
        path = request.path.removeprefix("/v1")
        body = await request.json() if request.can_read_body else {}
        if body.get("stream"):
            return web.Response(body=STREAM, content_type="text/event-stream")
        if path.endswith("/submit_tool_outputs"):
            submitted = True
        if request.method == "GET" and re.fullmatch(f"/threads/{ID}/runs/{ID}", path) and submitted:
            return web.json_response(COMPLETED)
        for method, pattern, answer in ROUTES:
            if method in ("*", request.method) and re.fullmatch(pattern, path):
                return web.json_response(answer)
        return web.json_response({"error": {"message": f"no route {path}"}}, status=404)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", canned)
    return app


def test_the_readme_has_the_examples_it_promises() -> None:
    text = "\n".join(BLOCKS)
    for resource in ("assistants", "threads", "messages", "runs", "steps"):
        assert f"client.{resource}." in text
    assert "before=" in text
    assert "after=" in text


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
async def test_each_readme_example_runs(code: str, tmp_path: Path) -> None:
    server = TestServer(canned_app(), host="127.0.0.1")
    await server.start_server()
    script = tmp_path / "example.py"
    script.write_text(code, encoding="utf-8")
    env = {
        **os.environ,
        "OPENAI_API_KEY": "sk-readme",
        "OPENAI_BASE_URL": str(server.make_url("/v1")),
    }
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-W",
            "error",
            str(script),
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    finally:
        await server.close()
    assert proc.returncode == 0, err.decode()
    assert out.strip(), "an example should print what it did"
