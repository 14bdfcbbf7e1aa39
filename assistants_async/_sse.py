"""A pure, incremental server-sent events parser (WHATWG event-stream rules).

Feed it text as it arrives; it yields each complete event. Lines may end in CR, LF or
CRLF, even when a CRLF is split across two chunks.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import attrs

__all__ = ["SSEDecoder", "ServerSentEvent", "parse_sse"]


@attrs.frozen(slots=True)
class ServerSentEvent:
    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Turns a stream of text chunks into ``ServerSentEvent``s."""

    __slots__ = ("_buffer", "_data", "_event", "_id", "_pending_cr", "_retry")

    def __init__(self) -> None:
        self._buffer = ""
        self._pending_cr = False
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None
        self._retry: int | None = None

    def feed(self, chunk: str) -> Iterator[ServerSentEvent]:
        if self._pending_cr and chunk.startswith("\n"):
            chunk = chunk[1:]  # the LF of a CRLF split across chunks
        self._pending_cr = False
        text = self._buffer + chunk
        start = 0
        length = len(text)
        while True:
            cr = text.find("\r", start)
            lf = text.find("\n", start)
            if cr == -1 and lf == -1:
                break
            end = lf if cr == -1 else cr if lf == -1 else min(cr, lf)
            line = text[start:end]
            if text[end] == "\r":
                if end + 1 < length:
                    start = end + 2 if text[end + 1] == "\n" else end + 1
                else:
                    self._pending_cr = True
                    start = end + 1
            else:
                start = end + 1
            event = self._line(line)
            if event is not None:
                yield event
        self._buffer = text[start:]

    def _reset(self) -> None:
        self._event = ""
        self._data = []

    def _line(self, line: str) -> ServerSentEvent | None:
        if not line:
            if not self._data:
                self._reset()
                return None
            event = ServerSentEvent(
                event=self._event or "message",
                data="\n".join(self._data),
                id=self._id,
                retry=self._retry,
            )
            self._reset()
            return event
        if line.startswith(":"):
            return None
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            if "\0" not in value:
                self._id = value
        elif name == "retry" and value.isdigit():
            self._retry = int(value)
        return None


def parse_sse(chunks: Iterable[str] | str) -> list[ServerSentEvent]:
    """Every event in a complete stream (one string, or its chunks)."""
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    for chunk in [chunks] if isinstance(chunks, str) else chunks:
        events.extend(decoder.feed(chunk))
    # An event not closed by a blank line is discarded at the end, as the standard says.
    return events
