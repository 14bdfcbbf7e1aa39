"""The control plane and the script format, in process: every endpoint and each way
input can be wrong (the subprocess test drives the whole flow over HTTP)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from assistants_async.server._script import Script, reply_from_json, reply_to_json
from assistants_async.testing import Fail, FakeAssistantsServer, Incomplete, Text
from assistants_async.testing.__main__ import build_parser, main, make_server


@pytest.fixture
async def plane() -> AsyncIterator[tuple[FakeAssistantsServer, aiohttp.ClientSession, str]]:
    async with (
        FakeAssistantsServer() as server,
        aiohttp.ClientSession(headers={"OpenAI-Beta": "assistants=v2"}) as http,
    ):
        yield server, http, (server.url or "").removesuffix("/v1") + "/__fake__"


async def send(http: aiohttp.ClientSession, method: str, url: str, body: Any = None) -> Any:
    data = body if isinstance(body, bytes) else None
    async with http.request(method, url, json=None if data else body, data=data) as response:
        return response.status, await response.json()


async def test_every_endpoint_answers(
    plane: tuple[FakeAssistantsServer, aiohttp.ClientSession, str],
) -> None:
    server, http, root = plane
    status, index = await send(http, "GET", f"{root}/")
    assert status == 200
    assert "POST /__fake__/reset" in index["endpoints"]
    faults: list[tuple[str, dict[str, Any]]] = [
        ("fail", {"status": 503, "retry_after": 1, "should_retry": False}),
        ("drop", {}),
        ("delay", {"seconds": 0.01}),
        ("stream_error", {"after_events": 1, "message": "m"}),
        ("stream_cut", {"after_events": 1}),
    ]
    for kind, extra in faults:
        status, answer = await send(http, "POST", f"{root}/faults", {"kind": kind, **extra})
        assert status == 200, answer
    assert len(server.faults.take("getRun")) >= 1
    assert (await send(http, "DELETE", f"{root}/faults"))[0] == 200
    assert server.faults.take("getRun") == []
    status, answer = await send(
        http, "POST", f"{root}/script", {"replies": [{"type": "text", "text": "x"}]}
    )
    assert answer == {"scripted": 1}
    assert (await send(http, "DELETE", f"{root}/script"))[1] == {"cleared": True}
    assert len(server.script) == 0
    status, answer = await send(http, "POST", f"{root}/clock", {"advance": 5})
    assert status == 200
    assert answer["now"] == server.clock()
    status, answer = await send(http, "PUT", f"{root}/progress", {"progress": "timer"})
    assert server.progress == "timer"
    assert (await send(http, "POST", f"{root}/reset"))[1] == {"reset": True}
    assert len(server.requests) == 0  # the control plane itself is never logged


@pytest.mark.parametrize(
    ("method", "path", "body", "words"),
    [
        ("POST", "faults", b"not json", "JSON object"),
        ("POST", "faults", [1, 2], "JSON object"),
        ("POST", "script", {"tunes": []}, "unknown script keys"),
        ("POST", "script", {"replies": {"type": "text"}}, "must be a list"),
        ("POST", "script", {"rules": [{"match": "x"}]}, "a rule is"),
        ("POST", "script", {"replies": [{"type": "text"}]}, "needs"),
        ("POST", "script", {"replies": [{"type": "text", "text": "x", "tone": 1}]}, "takes"),
        ("POST", "script", {"replies": [{"type": "tool_calls", "calls": []}]}, "calls"),
        ("POST", "script", {"replies": [{"type": "tool_calls", "calls": [3]}]}, "each call"),
        (
            "POST",
            "script",
            {"replies": [{"type": "tool_calls", "calls": [{"name": "f", "arguments": 3}]}]},
            "arguments",
        ),
        ("POST", "script", {"replies": ["text"]}, "an object"),
        ("POST", "script", {"replies": [{"type": "sing"}]}, "unknown reply type"),
        (
            "POST",
            "script",
            {"replies": [{"type": "text", "text": "x", "assistant_id": "a", "thread_id": "t"}]},
            "not both",
        ),
        ("POST", "clock", {"advance": "1"}, "advance"),
    ],
)
async def test_bad_input_is_a_400_saying_why(
    plane: tuple[FakeAssistantsServer, aiohttp.ClientSession, str],
    method: str,
    path: str,
    body: Any,
    words: str,
) -> None:
    _, http, root = plane
    status, answer = await send(http, method, f"{root}/{path}", body)
    assert status == 400
    assert words in answer["error"]["message"]


def test_replies_round_trip_through_json() -> None:
    for reply in (Text("hi"), Fail("server_error", "x"), Incomplete("max_prompt_tokens", "Pa")):
        assert reply_from_json(reply_to_json(reply)) == reply
    calls = reply_from_json({"type": "tool_calls", "calls": [{"name": "f", "arguments": "{}"}]})
    assert reply_to_json(calls) == {
        "type": "tool_calls",
        "calls": [{"name": "f", "arguments": "{}"}],
    }
    with pytest.raises(TypeError):
        Script().rule("x", "not a reply")  # type: ignore[arg-type]


def test_the_command_line_builds_the_server_it_describes(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(
        json.dumps({"rules": [{"match": "hi", "reply": {"type": "text", "text": "yo"}}]})
    )
    args = build_parser().parse_args(
        [
            "--script",
            str(script),
            "--auth",
            "api-key",
            "--shared-world",
            "--log-size",
            "7",
            "--sequential-ids",
            "--progress",
            "per_retrieve",
        ]
    )
    server = make_server(args)
    assert (server.auth, server.progress, server.requests.size) == ("api-key", "per_retrieve", 7)
    assert not server.isolate_tenants
    assert server.ids("asst") == "asst_000001"
    assert len(server.script) == 1
    script.write_text("[1, 2]")
    with pytest.raises(SystemExit):
        main(["--script", str(script)])
