"""The fake server driven purely over HTTP, as a test suite in another language would:
the command-line server in a subprocess, scripted by file and by its control plane."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from assistants_async import AsyncClient, BadRequestError, StreamError
from assistants_async.testing import (
    CallTools,
    Fail,
    FakeAssistantsServer,
    Text,
    ToolCall,
)
from assistants_async.testing.__main__ import build_parser

from .cli import cli_server

SCRIPT = {
    "replies": [
        {"type": "tool_calls", "calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]},
        {"type": "text", "text": "It is 21C in Paris."},
    ],
    "rules": [
        {
            "match": "(?i)fail me",
            "reply": {"type": "fail", "code": "server_error", "message": "no"},
        },
        {
            "match": "cut short",
            "reply": {"type": "incomplete", "reason": "max_prompt_tokens", "partial_text": "Par"},
        },
    ],
}


TEXT = {"type": "text", "text": "x"}


@pytest.fixture
async def cli(tmp_path: Path) -> AsyncIterator[str]:
    script = tmp_path / "script.json"
    script.write_text(json.dumps(SCRIPT), encoding="utf-8")
    async with cli_server("--progress", "immediate", "--script", str(script)) as root:
        yield root


async def control(
    http: aiohttp.ClientSession, root: str, method: str, path: str, body: Any = None
) -> Any:
    async with http.request(method, f"{root}/__fake__/{path}", json=body) as response:
        data = await response.json()
        assert response.status == 200, data
        return data


async def test_a_suite_in_any_language_drives_the_server_over_http(cli: str) -> None:
    root = cli
    async with (
        aiohttp.ClientSession(headers={"OpenAI-Beta": "assistants=v2"}) as http,
        AsyncClient(api_key="sk-other-language", base_url=f"{root}/v1") as client,
    ):
        asst = await client.assistants.create(model="gpt-4o")
        # The scripted tool call, then the scripted answer once the output is in.
        run = await client.threads.create_and_run(
            assistant_id=asst.id, thread={"messages": [{"role": "user", "content": "Hi"}]}
        )
        run = await client.runs.retrieve(run.thread_id, run.id)
        assert run.status == "requires_action"
        assert run.required_action is not None
        (call,) = run.required_action.submit_tool_outputs.tool_calls
        assert (call.function.name, json.loads(call.function.arguments)) == (
            "get_weather",
            {"city": "Paris"},
        )
        run = await client.runs.submit_tool_outputs(
            run.thread_id, run.id, tool_outputs=[{"tool_call_id": call.id, "output": "21C"}]
        )
        run = await client.runs.retrieve(run.thread_id, run.id)
        assert run.status == "completed"
        answer = (await client.messages.list(run.thread_id, limit=1)).data[0]
        assert answer.content[0].text.value == "It is 21C in Paris."  # type: ignore[union-attr]

        # Rules on the newest user text: a failed run, an incomplete one.
        failed = await client.threads.create_and_run(
            assistant_id=asst.id, thread={"messages": [{"role": "user", "content": "Fail me"}]}
        )
        failed = await client.runs.retrieve(failed.thread_id, failed.id)
        assert failed.status == "failed"
        assert failed.last_error is not None
        assert failed.last_error.message == "no"
        cut = await client.threads.create_and_run(
            assistant_id=asst.id, thread={"messages": [{"role": "user", "content": "cut short"}]}
        )
        cut = await client.runs.retrieve(cut.thread_id, cut.id)
        assert cut.status == "incomplete"
        assert cut.incomplete_details is not None
        assert cut.incomplete_details.reason == "max_prompt_tokens"

        # A 429 with retry-after-ms, honoured by the client's retry.
        await control(
            http,
            root,
            "POST",
            "faults",
            {"operation": "listAssistants", "kind": "fail", "status": 429, "retry_after_ms": 300},
        )
        started = time.monotonic()
        assert [a.id async for a in client.assistants.list()] == [asst.id]
        assert time.monotonic() - started >= 0.3

        # An error event in a stream.
        await control(
            http,
            root,
            "POST",
            "faults",
            {
                "operation": "createRun",
                "kind": "stream_error",
                "after_events": 2,
                "message": "boom",
            },
        )
        await control(http, root, "POST", "script", {"replies": [{"type": "text", "text": "x"}]})
        thread = await client.threads.create()
        with pytest.raises(StreamError, match="boom"):
            async with client.runs.stream(thread.id, assistant_id=asst.id) as stream:
                await stream.until_done()

        # The request log, read back (keys masked) and cleared.
        log = (await control(http, root, "GET", "requests"))["data"]
        lists = [r for r in log if r["operation"] == "listAssistants"]
        assert [r["status"] for r in lists] == [429, 200]
        assert all(r["headers"]["Authorization"] == "Bearer ***" for r in log)
        assert "sk-other-language" not in json.dumps(log)
        assert any(r["body"] == {"model": "gpt-4o"} for r in log)
        await control(http, root, "DELETE", "requests")
        assert (await control(http, root, "GET", "requests"))["data"] == []

        # Reset, the clock and the progress policy.
        await control(http, root, "PUT", "progress", {"progress": "per_retrieve"})
        moving = await client.threads.create_and_run(assistant_id=asst.id)
        await control(http, root, "POST", "clock", {"advance": 601})
        expired = await client.runs.retrieve(moving.thread_id, moving.id)
        assert expired.status == "expired"
        await control(http, root, "POST", "reset")
        with pytest.raises(Exception, match="No assistant found"):
            await client.assistants.retrieve(asst.id)


async def test_bad_control_input_is_a_400_that_says_why(cli: str) -> None:
    async with aiohttp.ClientSession(headers={"OpenAI-Beta": "assistants=v2"}) as http:
        for path, body, words in [
            ("faults", {"kind": "explode"}, "kind must be one of"),
            ("faults", {"kind": "fail", "operation": "getWeather"}, "unknown operation"),
            ("faults", {"kind": "delay", "status": 500}, "takes"),
            ("script", {"replies": [{"type": "sing"}]}, "unknown reply type"),
            (
                "script",
                {"rules": [{"match": "(", "reply": {"type": "text", "text": "x"}}]},
                "regular",
            ),
            ("clock", {"advance": -1}, "advance"),
        ]:
            async with http.post(f"{cli}/__fake__/{path}", json=body) as response:
                assert response.status == 400
                assert words in (await response.json())["error"]["message"]
        async with http.put(f"{cli}/__fake__/progress", json={"progress": "fast"}) as response:
            assert response.status == 400


def test_the_help_documents_every_option() -> None:
    parser = build_parser()
    text = parser.format_help()
    for action in parser._actions:
        for flag in action.option_strings:
            assert flag in text
        assert action.help, action.dest
    for endpoint in (
        "/__fake__/script",
        "/__fake__/faults",
        "/__fake__/requests",
        "/__fake__/reset",
    ):
        assert endpoint in text


async def test_the_python_api_and_the_control_plane_share_one_script() -> None:
    async with FakeAssistantsServer() as server, server.client() as client:
        asst = await client.assistants.create(model="m")
        other = await client.assistants.create(model="m")
        thread = await client.threads.create()
        server.script.queue(Text("for the thread"), thread_id=thread.id)
        server.script.queue(Fail("server_error", "for the assistant"), assistant_id=other.id)
        server.script.rule("weather", CallTools([ToolCall("get_weather", {"city": "Oslo"})]))
        async with aiohttp.ClientSession(headers={"OpenAI-Beta": "assistants=v2"}) as http:
            root = (server.url or "").removesuffix("/v1")
            await control(
                http, root, "POST", "script", {"replies": [{"type": "text", "text": "g"}]}
            )
        run = await client.runs.create_and_poll(thread.id, assistant_id=asst.id)
        assert run.status == "completed"
        texts = [m.content[0].text.value async for m in client.messages.list(thread.id)]  # type: ignore[union-attr]
        assert texts[0] == "for the thread"
        run = await client.threads.create_and_run_poll(assistant_id=other.id)
        assert run.status == "failed"
        run = await client.threads.create_and_run_poll(assistant_id=asst.id)
        assert run.status == "completed"  # the global reply "g"
        run = await client.threads.create_and_run_poll(
            assistant_id=asst.id, thread={"messages": [{"role": "user", "content": "weather?"}]}
        )
        assert run.status == "requires_action"
        with pytest.raises(TypeError):
            server.script.queue("not a reply")  # type: ignore[arg-type]
        with pytest.raises(BadRequestError):
            await client.runs.create(run.thread_id, assistant_id=asst.id)  # still active
