"""A pure, incremental server-sent events parser (WHATWG event-stream rules).

Feed it text as it arrives; it yields each complete event. Lines may end in CR, LF or
CRLF, even when a CRLF is split across two chunks.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import attrs

from ._errors import ResponseTooLargeError

__all__ = ["SSEDecoder", "ServerSentEvent", "parse_sse"]


@attrs.frozen(slots=True)
class ServerSentEvent:
    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Turns a stream of text chunks into ``ServerSentEvent``s.

    Linear in what it is fed: an open line is kept in pieces and joined once, when its
    end arrives. ``max_size`` bounds one line and one event's data (characters):
    passing it raises ``ResponseTooLargeError`` instead of growing without end.
    """

    __slots__ = (
        "_data",
        "_data_size",
        "_error",
        "_event",
        "_id",
        "_max_size",
        "_open",
        "_open_size",
        "_pending_cr",
        "_retry",
        "_started",
    )

    def __init__(self, max_size: int | None = None) -> None:
        self._max_size = max_size
        self._open: list[str] = []  # the line still open, in pieces
        self._open_size = 0
        self._pending_cr = False
        self._started = False
        self._event = ""
        self._data: list[str] = []
        self._data_size = 0
        self._id: str | None = None
        self._retry: int | None = None
        self._error: ResponseTooLargeError | None = None

    def feed(self, chunk: str) -> Iterator[ServerSentEvent]:
        for name, data, id_, retry in self.events(chunk):
            yield ServerSentEvent(name, data, id_, retry)
        self.check()  # an event too large, after those before it

    def events(self, chunk: str) -> list[tuple[str, str, str | None, int | None]]:
        """The events ``chunk`` completes, each as (event, data, id, retry): ``feed``
        without an object per event, for the readers of long streams."""
        if self._error is not None:
            raise self._error
        if not chunk:
            return []  # nothing to do, and a pending CR stays pending
        if not self._started:
            self._started = True
            chunk = chunk.removeprefix("\ufeff")  # the standard drops one leading BOM
        if self._pending_cr and chunk.startswith("\n"):
            chunk = chunk[1:]  # the LF of a CRLF split across chunks
        self._pending_cr = False
        if not chunk:
            return []  # a BOM or the LF of a CRLF alone: no line begun
        if "\n" not in chunk and "\r" not in chunk:
            self._open.append(chunk)
            self._open_size += len(chunk)
            if self._max_size is not None and self._open_size > self._max_size:
                raise ResponseTooLargeError("a line of the event stream", self._max_size)
            return []
        text = "".join(self._open) + chunk if self._open else chunk
        if "\r" in text:
            self._pending_cr = text.endswith("\r")
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        found: list[tuple[str, str, str | None, int | None]] = []
        try:
            self._blocks(text, found)
        except ResponseTooLargeError as exc:
            if not found:
                raise
            self._error = exc  # the events before it first; raised at the next call
        return found

    def _blocks(self, text: str, found: list[tuple[str, str, str | None, int | None]]) -> None:
        limit = self._max_size
        blocks = text.split("\n\n")
        tail = blocks.pop()
        for block in blocks:
            # Nearly every event is one "data: " line, or an "event: " line and one
            # "data: " line: such a block is taken whole, not line by line.
            if not self._data and not self._event:
                name = "message"
                if block.startswith("data: ") and "\n" not in block:
                    value: str | None = block[6:]
                elif block.startswith("event: "):
                    end = block.find("\n")
                    simple = end > 0 and block.startswith("data: ", end + 1)
                    value = block[end + 7 :] if simple and "\n" not in block[end + 1 :] else None
                    name = block[7:end] or name
                else:
                    value = None
                if value is not None:
                    if limit is not None and len(value) >= limit:
                        raise ResponseTooLargeError("an event of the stream", limit)
                    found.append((name, value, self._id, self._retry))
                    continue
            self._lines([*block.split("\n"), ""], found)
        lines = tail.split("\n")
        rest = lines.pop()
        self._open = [rest] if rest else []
        self._open_size = len(rest)
        self._lines(lines, found)

    def _lines(
        self, lines: list[str], found: list[tuple[str, str, str | None, int | None]]
    ) -> None:
        data = self._data
        limit = self._max_size
        for line in lines:
            # The lines every event has, first: "data", "event" (with a colon or alone
            # on the line) and the blank line that ends the event. The rest in _line.
            if line.startswith("data:") or line == "data":
                value = line[6:] if line.startswith(" ", 5) else line[5:]
                data.append(value)
                self._data_size += len(value) + 1
                if limit is not None and self._data_size > limit:
                    raise ResponseTooLargeError("an event of the stream", limit)
            elif not line:
                if data:
                    found.append(
                        (
                            self._event or "message",
                            data[0] if len(data) == 1 else "\n".join(data),
                            self._id,
                            self._retry,
                        )
                    )
                    data = self._data = []
                    self._data_size = 0
                self._event = ""
            elif line.startswith("event:") or line == "event":
                self._event = line[7:] if line.startswith(" ", 6) else line[6:]
            else:
                self._line(line)

    def check(self) -> None:
        """Raise the error an earlier call put off (its chunk's events came first)."""
        if self._error is not None:
            raise self._error

    @property
    def mid_event(self) -> bool:
        """Whether a line or an event has begun and not ended: a stream that stops here
        was cut, not finished."""
        return bool(self._open or self._data or self._event or self._error)

    def _line(self, line: str) -> None:
        """A comment, an id or a retry line (or a field nobody knows, ignored)."""
        if line.startswith(":"):
            return
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "id":
            if "\0" not in value:
                self._id = value
        elif name == "retry" and value.isdigit() and value.isascii() and len(value) <= 12:
            # ASCII digits only ("²" is a digit to Python), and a number a wait can be.
            self._retry = int(value)


def parse_sse(chunks: Iterable[str] | str) -> list[ServerSentEvent]:
    """Every event in a complete stream (one string, or its chunks)."""
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    for chunk in [chunks] if isinstance(chunks, str) else chunks:
        events.extend(decoder.feed(chunk))
    # An event not closed by a blank line is discarded at the end, as the standard says.
    return events
