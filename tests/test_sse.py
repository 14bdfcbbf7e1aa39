"""The server-sent events parser, on its own."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

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


def _by_the_standard(text: str) -> list[ServerSentEvent]:
    """The WHATWG event-stream rules, line by line, for the whole text at once: what the
    decoder (whole blocks taken at once where it can) must agree with."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")[:-1]  # the last line is unterminated
    events: list[ServerSentEvent] = []
    name, last_id, retry = "", None, None
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                events.append(ServerSentEvent(name or "message", "\n".join(data), last_id, retry))
            name, data = "", []
            continue
        if line.startswith(":"):
            continue
        field, colon, value = line.partition(":")
        value = value[1:] if colon and value.startswith(" ") else value
        if field == "data":
            data.append(value)
        elif field == "event":
            name = value
        elif field == "id" and "\0" not in value:
            last_id = value
        elif field == "retry" and value.isascii() and value.isdigit() and len(value) <= 12:
            retry = int(value)
    return events


_LINES = st.sampled_from(
    [
        "data: {}",
        "data:{}",
        "data: ",
        "data",
        "data: a: b",
        "event: thread.message.delta",
        "event: ",
        "event",
        "event:x",
        "id: 7",
        "retry: 20",
        ": a comment",
        "other: field",
        "",
        "",
    ]
)


@settings(max_examples=300, deadline=None)
@example(["event: ", "data: 1", "", "event: x", "data: 2", ""], "\n", [100])
@given(
    st.lists(_LINES, max_size=30),
    st.sampled_from(["\n", "\r", "\r\n"]),
    st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=8),
)
def test_any_stream_in_any_chunks_gives_what_the_standard_gives(
    lines: list[str], newline: str, sizes: list[int]
) -> None:
    text = "".join(line + newline for line in lines)
    chunks: list[str] = []
    at = 0
    while at < len(text):
        size = sizes[len(chunks) % len(sizes)]
        chunks.append(text[at : at + size])
        at += size
    assert parse_sse(chunks) == _by_the_standard(text)
    assert parse_sse(text) == _by_the_standard(text)


def test_the_events_before_one_too_large_come_first_then_the_error() -> None:
    from assistants_async import ResponseTooLargeError

    events = SSEDecoder(max_size=10).feed("data: a\n\ndata: " + "x" * 20 + "\n\n")
    assert next(events) == ServerSentEvent(data="a")
    with pytest.raises(ResponseTooLargeError):
        next(events)
    # Where events are taken as tuples, the error comes at the next call, or from check().
    decoder = SSEDecoder(max_size=10)
    assert decoder.events("data: a\n\ndata: " + "x" * 20 + "\n\n") == [("message", "a", None, None)]
    assert decoder.mid_event
    with pytest.raises(ResponseTooLargeError):
        decoder.check()
    with pytest.raises(ResponseTooLargeError):
        decoder.events("data: b\n\n")


@pytest.mark.parametrize("chunks", [["data: x\r\n\r", "\n"], ["\ufeff", "data: x\n\n"]])
def test_a_chunk_left_empty_begins_no_line(chunks: list[str]) -> None:
    """The LF of a CRLF split across chunks, or a BOM alone, is no line begun: a stream
    that stops there stopped between events."""
    decoder = SSEDecoder()
    for chunk in chunks:
        list(decoder.feed(chunk))
    assert not decoder.mid_event
