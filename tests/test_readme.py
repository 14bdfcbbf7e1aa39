"""Every code block of the README runs, against a live fake server over loopback.

Each Python block is run as its own script in a fresh interpreter (warnings are errors),
with ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL`` pointing at a ``FakeAssistantsServer``
started for it. An HTML comment just above a block tunes how it runs:

    <!-- readme-test: auth=api-key driver=fastapi expect="-> 200" -->

* ``auth``: the scheme the fake server expects (a gateway's ``api-key``, or ``none``);
* ``driver``: how the block is used: ``notebook`` (top-level ``await``, as Jupyter runs
  a cell), ``fastapi`` (its ASGI ``app`` driven through lifespan and requests, as an
  ASGI server does), ``aiohttp`` (its ``web.Application`` served on loopback);
* ``expect``: text the block's output must contain;
* ``own-server``: the block starts its own fake server (the env is not used).

A counting proxy runs beside the server (``PROXY_URL``); a block that uses it must have
sent its calls through it.

Of the ``sh`` blocks, the set-up commands (``make ...``) are what runs this very suite;
the fake server's command line is run here on a free port, and the control plane's curl
lines are sent as written.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import sys
from pathlib import Path
from typing import Any

import attrs
import pytest

from assistants_async.testing import (
    CallTools,
    FakeAssistantsServer,
    Reply,
    RunContext,
    Text,
    ToolCall,
)

from .cli import cli_server
from .proxy import counting_proxy

README = Path(__file__).resolve().parents[1] / "README.md"
TEXT = README.read_text(encoding="utf-8")
FENCE = re.compile(
    r"(?:<!-- readme-test: (?P<directive>[^\n]*?) -->\n)?```(?P<lang>\w+)\n(?P<code>.*?)```",
    re.DOTALL,
)


@attrs.frozen
class Block:
    lang: str
    code: str
    options: dict[str, str]
    line: int


BLOCKS = [
    Block(
        lang=m["lang"],
        code=m["code"],
        options=dict(item.partition("=")[::2] for item in shlex.split(m["directive"] or "")),
        line=TEXT.count("\n", 0, m.start("code")) + 1,
    )
    for m in FENCE.finditer(TEXT)
]
PYTHON = [b for b in BLOCKS if b.lang == "python"]


async def assistant_with_tools(ctx: RunContext) -> Reply:
    """Calls the assistant's first function tool once per run, then answers: so every
    branch of the examples (requires_action, outputs, completion) is taken for real."""
    functions = [t.function.name for t in ctx.assistant.tools if t.type == "function"]  # type: ignore[union-attr]
    if functions and not ctx.tool_outputs:
        return CallTools([ToolCall(functions[0], {"city": "Paris"})])
    return Text(f"Answer to: {ctx.last_user_text or 'nothing'}")


NOTEBOOK = """
import ast, asyncio, sys

source = open(sys.argv[1], encoding="utf-8").read()
cell = compile(source, "<cell>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


async def run_cell() -> None:  # as IPython runs a cell in the kernel's loop
    result = eval(cell, {"__name__": "__main__"})
    if result is not None:
        await result


asyncio.run(run_cell())
"""

FASTAPI = """
import asyncio, json, runpy, sys

app = runpy.run_path(sys.argv[1], run_name="recipe")["app"]


async def serve() -> None:  # what an ASGI server does: lifespan, requests, shutdown
    inbox: asyncio.Queue = asyncio.Queue()
    outbox: asyncio.Queue = asyncio.Queue()
    lifespan = asyncio.ensure_future(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, outbox.put)
    )
    await inbox.put({"type": "lifespan.startup"})
    assert (await outbox.get())["type"] == "lifespan.startup.complete"

    async def call(method: str, path: str, body: bytes) -> tuple[int, object]:
        sent: list = []

        async def receive() -> dict:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict) -> None:
            sent.append(message)

        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
            "root_path": "", "query_string": b"", "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000), "state": {},
            "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json")],
        }
        await app(scope, receive, send)
        payload = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        return sent[0]["status"], json.loads(payload)

    body = json.dumps({"question": "Weather in Paris?"}).encode()
    answers = await asyncio.gather(*(call("POST", "/ask", body) for _ in range(3)))
    for status, answer in answers:
        assert status == 200, answer
        print(answer)
    await inbox.put({"type": "lifespan.shutdown"})
    assert (await outbox.get())["type"] == "lifespan.shutdown.complete"
    await lifespan


asyncio.run(serve())
"""

AIOHTTP = """
import asyncio, runpy, sys

from aiohttp.test_utils import TestClient, TestServer

app = runpy.run_path(sys.argv[1], run_name="recipe")["app"]


async def serve() -> None:  # the app on loopback: startup, requests, cleanup
    async with TestClient(TestServer(app, host="127.0.0.1")) as http:
        responses = await asyncio.gather(
            *(http.post("/ask", json={"question": "Weather in Paris?"}) for _ in range(3))
        )
        for response in responses:
            assert response.status == 200, await response.text()
            print(await response.json())


asyncio.run(serve())
"""

DRIVERS = {"notebook": NOTEBOOK, "fastapi": FASTAPI, "aiohttp": AIOHTTP}


def test_the_readme_has_the_examples_it_promises() -> None:
    text = "\n".join(b.code for b in PYTHON)
    for resource in ("assistants", "threads", "messages", "runs", "steps"):
        assert f"client.{resource}." in text
    for needle in ("before=", "after=", "with_options(", "proxy=", "auth=", "default_query="):
        assert needle in text, needle
    assert {b.options.get("driver") for b in PYTHON} >= set(DRIVERS)
    for block in BLOCKS:
        assert block.lang in ("python", "sh", "text"), f"README line {block.line}: {block.lang}"


async def run_script(
    args: list[str], env: dict[str, str], timeout: float = 90
) -> tuple[int | None, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-W",
        "error",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout=timeout)
    except asyncio.TimeoutError:  # pragma: no cover - the failure message says what hung
        proc.kill()
        out, err = await proc.communicate()
    return proc.returncode, out.decode(), err.decode()


@pytest.mark.parametrize("block", PYTHON, ids=[f"line{b.line}" for b in PYTHON])
async def test_each_python_block_runs_against_the_fake_server(block: Block, tmp_path: Path) -> None:
    options = block.options
    auth: Any = options.get("auth", "bearer")
    server = FakeAssistantsServer(responder=assistant_with_tools, auth=auth)
    script = tmp_path / "block.py"
    script.write_text(block.code, encoding="utf-8")
    args = [str(script)]
    driver = options.get("driver")
    if driver is not None:
        runner = tmp_path / "driver.py"
        runner.write_text(DRIVERS[driver], encoding="utf-8")
        args = [str(runner), str(script)]
    async with server, counting_proxy() as proxy:
        assert server.url is not None
        env = {
            **os.environ,
            "OPENAI_API_KEY": "sk-readme",
            "OPENAI_BASE_URL": server.url,
            # The gateway examples read where the gateway is and its key.
            "GATEWAY_URL": server.url,
            "GATEWAY_KEY": "sk-gateway",
            "PROXY_URL": proxy.url.replace("http://", "http://user:secret@"),
        }
        code, out, err = await run_script(args, env)
    where = f"README line {block.line}"
    assert code == 0, f"{where}:\n{err}"
    assert out.strip(), f"{where}: an example should print what it did"
    if "expect" in options:
        assert options["expect"] in out + err, f"{where}: {options['expect']!r} not in output"
    if "own-server" not in options:
        assert server.requests, f"{where}: the block never reached the fake server"
        assert all(r.status < 500 for r in server.requests), where
    if "PROXY_URL" in block.code:
        assert proxy.heads, f"{where}: nothing went through the proxy"


def test_the_cli_block_tells_how_to_reach_the_fake_server() -> None:
    commands = next(b.code for b in BLOCKS if "python -m assistants_async.testing" in b.code)
    assert "/v1" in commands  # the base URL ends in /v1, or every call is a 404


async def test_the_fake_servers_command_line_serves_the_client(tmp_path: Path) -> None:
    """The README's recipe: start the CLI server, point the client at .../v1."""
    async with cli_server() as root:
        quickstart = next(b for b in PYTHON if "asyncio.run(main())" in b.code)
        script = tmp_path / "quickstart.py"
        script.write_text(quickstart.code, encoding="utf-8")
        env = {**os.environ, "OPENAI_API_KEY": "sk-any", "OPENAI_BASE_URL": f"{root}/v1"}
        code, out, err = await run_script([str(script)], env)
    assert code == 0, err
    assert "asst_" in out


CURL = re.compile(
    r"curl -s(?: -X (?P<method>[A-Z]+))? \$F/(?P<path>\S+)(?: -d '(?P<body>.*?)')?", re.S
)


async def test_the_control_plane_curl_examples_work(tmp_path: Path) -> None:
    """The README's curl lines, sent as written to the command-line server."""
    import aiohttp

    block = next(b.code for b in BLOCKS if b.lang == "sh" and "$F/script" in b.code)
    calls = [
        (m["method"] or ("POST" if m["body"] else "GET"), m["path"], m["body"])
        for m in CURL.finditer(block)
    ]
    assert {path for _, path, _ in calls} >= {"script", "faults", "requests", "clock", "reset"}
    async with (
        cli_server() as root,
        aiohttp.ClientSession(headers={"OpenAI-Beta": "assistants=v2"}) as http,
    ):
        for method, path, body in calls:
            data = json.loads(body) if body else None
            url = f"{root}/__fake__/{path}"
            async with http.request(method, url, json=data) as response:
                assert response.status == 200, (method, path, await response.text())
