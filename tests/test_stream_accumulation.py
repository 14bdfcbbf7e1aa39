"""Deltas accumulate into exact snapshots, at a constant cost per delta."""

from __future__ import annotations

import copy
import json
from typing import Any

from aiohttp import web
from hypothesis import example, given, settings
from hypothesis import strategies as st

from assistants_async import AsyncClient
from assistants_async._accumulate import _Pieces, accumulate_delta, append_text, plain

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


# --- the fast path for text deltas merges exactly as the general merge does -----------

# Mostly text, as real deltas are; the odd value tests the fast path's refusals.
_text_value = st.sampled_from(["a", "b", "", None, 1])
_text_delta = st.fixed_dictionaries(
    {"value": _text_value},
    optional={
        "annotations": st.sampled_from(
            [[], [], [{"index": 0, "type": "file_citation"}], [{"index": 1}], None]
        )
    },
)
_part = st.fixed_dictionaries(
    {},
    optional={
        "index": st.one_of(st.integers(0, 2), st.just("0")),
        "type": st.sampled_from(["text", "image_file"]),
        "text": st.one_of(_text_delta, st.just("plain"), st.none()),
        "image_file": st.just({"file_id": "file_1"}),
    },
)
# The shape of nearly every real delta, with its variations.
_text_part = st.fixed_dictionaries(
    {"index": st.integers(0, 1), "type": st.just("text"), "text": _text_delta}
)
_any_part = st.one_of(_text_part, _part)
_delta = st.one_of(
    st.fixed_dictionaries({"content": st.lists(_any_part, max_size=2)}),
    st.fixed_dictionaries(
        {"content": st.lists(_any_part, max_size=2), "role": st.just("assistant")}
    ),
    st.fixed_dictionaries({"content": st.just("text")}),
)
_start = st.sampled_from(
    [
        {"content": []},
        {},
        {"content": [{"type": "text", "text": {"value": "Hi", "annotations": []}}]},
        {"content": [{"type": "text", "text": {"value": "Hi"}}]},
        {"content": [{"index": 0, "type": "text", "text": {"value": 1}}]},
        {"content": [{"type": "image_file", "image_file": {"file_id": "f"}}]},
    ]
)


def _merged(start: dict[str, Any], deltas: list[dict[str, Any]], fast: bool) -> str:
    snapshot = copy.deepcopy(start)
    for item in copy.deepcopy(deltas):
        if not (fast and append_text(snapshot, item)):
            accumulate_delta(snapshot, item)
    # Key order too: the snapshot becomes a model, and its JSON, in this order.
    return json.dumps(plain(snapshot))


_TEXT_ITEM = {"type": "text", "text": {"value": "Hi", "annotations": []}}


def _piece(text: dict[str, Any], **part: Any) -> dict[str, Any]:
    return {"content": [{"index": 0, "type": "text", "text": text, **part}]}


@settings(max_examples=500, deadline=None)
@given(start=_start, deltas=st.lists(_delta, max_size=8))
# The refusals a random walk rarely reaches: each must go to the general merge.
@example(start={"content": [_TEXT_ITEM]}, deltas=[_piece({"value": "x", "annotations": [{}]})])
@example(
    start={"content": [{"type": "image_file", "text": {"value": "Hi"}}]},
    deltas=[_piece({"value": "x"})],
)
@example(start={"content": [_TEXT_ITEM]}, deltas=[_piece({"value": "x"}, extra=1)])
@example(start={"content": [_TEXT_ITEM]}, deltas=[{**_piece({"value": "x"}), "role": "user"}])
def test_the_text_fast_path_merges_as_the_general_merge(
    start: dict[str, Any], deltas: list[dict[str, Any]]
) -> None:
    assert _merged(start, deltas, fast=True) == _merged(start, deltas, fast=False)


def test_the_text_fast_path_takes_the_common_delta() -> None:
    snapshot: dict[str, Any] = {"content": []}
    first = {"content": [{"index": 0, "type": "text", "text": {"value": "a", "annotations": []}}]}
    assert not append_text(snapshot, first)  # the first piece makes the item: general
    accumulate_delta(snapshot, first)
    for piece in ("b", "c"):
        with_annotations = {
            "content": [{"index": 0, "type": "text", "text": {"value": piece, "annotations": []}}]
        }
        assert append_text(snapshot, with_annotations)
    assert append_text(
        snapshot, {"content": [{"index": 0, "type": "text", "text": {"value": "d"}}]}
    )
    assert plain(snapshot) == {
        "content": [{"type": "text", "text": {"value": "abcd", "annotations": []}}]
    }


async def test_the_stream_keeps_the_last_event_id(server: ScriptedServer) -> None:
    body = (
        f"id: 1\nevent: thread.message.created\ndata: {json.dumps(MESSAGE)}\n\n".encode()
        + delta(0, "hi")
        + b"id: 9\nevent: done\ndata: [DONE]\n\n"
    )
    server.reply(web.Response(body=body, content_type="text/event-stream"))
    async with (
        AsyncClient(api_key="sk-1", base_url=server.url) as client,
        client.runs.stream("thread_1", assistant_id="asst_1") as stream,
    ):
        assert stream.last_event_id is None
        seen = [stream.last_event_id async for _ in stream]
    # The SSE standard keeps the last id until another replaces it.
    assert seen == ["1", "1", "9"]


async def test_events_before_one_too_large_in_the_same_read_are_delivered(
    server: ScriptedServer,
) -> None:
    """A stream that said ``done`` ends there, whatever junk follows it in the same read;
    an event too large is an error once the events before it are delivered."""
    from assistants_async import ResponseTooLargeError

    done = delta(0, "hi") + b"event: done\ndata: [DONE]\n\n"
    junk = b"event: ping\ndata: " + b"x" * 5000 + b"\n\n"
    cases = ((done + junk, "done"), (delta(0, "hi") + junk, "error"))
    server.reply(*(web.Response(body=b, content_type="text/event-stream") for b, _ in cases))
    for _, ends in cases:
        async with (
            AsyncClient(api_key="sk-1", base_url=server.url, max_response_size=1000) as client,
            client.runs.stream("thread_1", assistant_id="asst_1") as stream,
        ):
            seen: list[str] = []
            try:
                async for event in stream:
                    seen.append(event.event)
            except ResponseTooLargeError:
                seen.append("error")
        assert seen == ["thread.message.delta", ends]
