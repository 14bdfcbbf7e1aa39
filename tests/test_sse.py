"""The server-sent events parser, on its own."""

from __future__ import annotations

import pytest

from assistants_async._sse import ServerSentEvent, SSEDecoder, parse_sse


@pytest.mark.parametrize("newline", ["\n", "\r", "\r\n"])
def test_every_line_ending(newline: str) -> None:
    text = f"event: thread.run.created{newline}data: {{}}{newline}{newline}"
    assert parse_sse(text) == [ServerSentEvent(event="thread.run.created", data="{}")]


def test_multi_line_data_is_joined_with_newlines() -> None:
    events = parse_sse("data: first\ndata: second\ndata:\n\n")
    assert events == [ServerSentEvent(data="first\nsecond\n")]


def test_comments_and_unknown_fields_are_ignored() -> None:
    events = parse_sse(": keep-alive\nevent: x\nfoo: bar\ndata: 1\n\n:another\n\n")
    assert events == [ServerSentEvent(event="x", data="1")]


def test_a_field_name_alone_on_its_line_has_an_empty_value() -> None:
    # "data" and "event" with no colon are still those fields; "database" is not "data".
    events = parse_sse("event: e\nevent\ndata\ndata: y\ndatabase: z\neventful: w\n\n")
    assert events == [ServerSentEvent(event="message", data="\ny")]


def test_done_is_delivered_as_data() -> None:
    assert parse_sse("event: done\ndata: [DONE]\n\n") == [ServerSentEvent("done", "[DONE]")]


def test_an_event_without_data_is_not_dispatched() -> None:
    assert parse_sse("event: lonely\n\n") == []


def test_one_space_after_the_colon_is_removed_and_no_more() -> None:
    assert parse_sse("data:  two spaces\n\n")[0].data == " two spaces"
    assert parse_sse("data:none\n\n")[0].data == "none"


def test_id_and_retry() -> None:
    (event,) = parse_sse("id: 7\nretry: 1500\nretry: soon\ndata: x\n\n")
    assert (event.id, event.retry) == ("7", 1500)


def test_an_unterminated_last_event_is_discarded() -> None:
    assert parse_sse("data: a\n\ndata: cut off") == [ServerSentEvent(data="a")]


@pytest.mark.parametrize("size", [1, 2, 3, 7])
def test_any_chunking_gives_the_same_events(size: int) -> None:
    text = 'event: a\r\ndata: {"x": 1}\r\n\r\n: c\r\nevent: b\rdata: 2\r\rdata: 3\n\n'
    whole = parse_sse(text)
    chunks = [text[i : i + size] for i in range(0, len(text), size)]
    assert parse_sse(chunks) == whole
    assert [e.event for e in whole] == ["a", "b", "message"]


def test_a_crlf_split_across_chunks_is_one_line_end() -> None:
    decoder = SSEDecoder()
    assert list(decoder.feed("data: x\r")) == []
    # "\r\n" ends the data line; the lone "\r" is the blank line that dispatches
    assert list(decoder.feed("\n\r")) == [ServerSentEvent(data="x")]
    # this "\n" completes that last "\r" as a CRLF: not another (blank) line
    assert list(decoder.feed("\ndata: y\n")) == []
    assert list(decoder.feed("\n")) == [ServerSentEvent(data="y")]
