"""Deltas accumulate into exact snapshots, at a constant cost per delta."""

from __future__ import annotations

import json

from aiohttp import web

from assistants_async import AsyncClient
from assistants_async._streaming import _Pieces, accumulate_delta, plain

from .conftest import ScriptedServer

MESSAGE = {
    "id": "msg_1",
    "object": "thread.message",
    "created_at": 1,
    "thread_id": "thread_1",
    "status": "in_progress",
    "incomplete_details": None,
    "completed_at": None,
    "incomplete_at": None,
    "role": "assistant",
    "content": [],
    "assistant_id": "asst_1",
    "run_id": "run_1",
    "attachments": [],
    "metadata": {},
}


def delta(i: int, text: str) -> bytes:
    data = {
        "id": "msg_1",
        "object": "thread.message.delta",
        "delta": {"content": [{"index": 0, "type": "text", "text": {"value": text}}]},
    }
    return f"event: thread.message.delta\ndata: {json.dumps(data)}\n\n".encode()


async def test_a_fifty_thousand_delta_message_is_exact(server: ScriptedServer) -> None:
    pieces = [f"w{i} " for i in range(50_000)]
    body = b"".join(
        [
            f"event: thread.message.created\ndata: {json.dumps(MESSAGE)}\n\n".encode(),
            *(delta(i, piece) for i, piece in enumerate(pieces)),
            b"event: done\ndata: [DONE]\n\n",
        ]
    )
    server.reply(web.Response(body=body, content_type="text/event-stream"))
    async with (
        AsyncClient(api_key="sk-1", base_url=server.url) as client,
        client.runs.stream("thread_1", assistant_id="asst_1") as stream,
    ):
        count = len([event async for event in stream])
        snapshot = stream.message_snapshot("msg_1")
    assert count == 50_002
    assert snapshot.content[0].text.value == "".join(pieces)  # type: ignore[union-attr]


def test_growing_text_is_kept_in_pieces_until_read() -> None:
    snapshot: dict[str, object] = {"text": {"value": "a"}}
    for piece in ("b", "c", "d"):
        accumulate_delta(snapshot, {"text": {"value": piece}})
    inner = snapshot["text"]
    assert isinstance(inner, dict)
    assert type(inner["value"]) is _Pieces
    assert inner["value"].parts == ["a", "b", "c", "d"]  # appended, never re-joined
    assert plain(snapshot) == {"text": {"value": "abcd"}}
