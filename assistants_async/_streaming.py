"""Run streams: server-sent events decoded into typed events, with deltas accumulated."""

from __future__ import annotations

import codecs
import copy
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Any

from ._accumulate import accumulate_delta, append_text, plain
from ._decoding.converter import decode_json, read
from ._deviations import SILENT, Deviation, Reading, operation_of, shown
from ._errors import APIConnectionError, ResponseValidationError, StreamError
from ._response import OpenStream
from ._sse import SSEDecoder
from .models.events import (
    EVENT_NAMES,
    AssistantStreamEvent,
    DoneEvent,
    ErrorEvent,
    ThreadMessageCompleted,
    ThreadMessageCreated,
    ThreadMessageDelta,
    ThreadMessageIncomplete,
    ThreadMessageInProgress,
    ThreadRunStepCompleted,
    ThreadRunStepCreated,
    ThreadRunStepDelta,
    UnknownEvent,
    event_from_payload,
    plain_text,
    plain_text_event,
)
from .models.messages import Message, TextDeltaBlock
from .models.runs import Run
from .models.steps import RunStep

__all__ = ["AsyncAssistantStream", "Event"]

Event = AssistantStreamEvent | UnknownEvent


class _Text:
    """What ``_read`` yields, in place of a plain text delta's event, to ``text_deltas()``:
    the text is in the stream's ``_text``, and no event object was made."""


_TEXT: Any = _Text()

# Events after which a run rests or has ended: a stream that stops cleanly right after
# one lost nothing but its ``done`` (a tolerant client ends it normally).
_LAST_EVENTS = frozenset(
    f"thread.run.{status}"
    for status in ("completed", "failed", "cancelled", "expired", "incomplete", "requires_action")
)
# The status an event's object must have, by the event's name.
_STATUS_OF: dict[str, str] = {
    f"{prefix}.{status}": status
    for prefix, statuses in (
        (
            "thread.run",
            (
                "queued",
                "in_progress",
                "requires_action",
                "completed",
                "incomplete",
                "failed",
                "cancelling",
                "cancelled",
                "expired",
            ),
        ),
        ("thread.run.step", ("in_progress", "completed", "failed", "cancelled", "expired")),
        ("thread.message", ("in_progress", "completed", "incomplete")),
    )
    for status in statuses
}


class AsyncAssistantStream:
    """A run's events as they happen: ``async with ... as stream: async for event in stream``.

    Every event of the spec's ``AssistantStreamEvent`` arrives typed; an unknown event name
    arrives as ``UnknownEvent``. An ``error`` event raises ``StreamError``; a connection
    lost mid-stream raises ``APIConnectionError``. Leaving the block early closes the
    connection. Message and step deltas are accumulated: ``message_snapshot(id)`` and
    ``step_snapshot(id)`` give the full objects so far.
    """

    def __init__(
        self,
        opener: Callable[[], Awaitable[OpenStream]],
        reading: Reading,
        operation: tuple[str, str],
    ) -> None:
        self._opener = opener
        self._reading = reading
        self._operation = operation
        self._last_name = ""
        self._response: OpenStream | None = None
        self._events: AsyncGenerator[Event, None] | None = None
        self._messages: dict[str, dict[str, Any]] = {}
        self._steps: dict[str, dict[str, Any]] = {}
        self._completed: list[Message] = []
        self._last_run: Run | None = None
        self._closing = False
        self._snapshots = True
        self._texts_only = False  # text_deltas() is reading: plain deltas as their text
        self._text = ""
        self.done = False
        # The SSE id of the last event that carried one: what a reconnect would send as
        # Last-Event-ID. The Assistants API sends none; a compatible server may.
        self.last_event_id: str | None = None

    def without_snapshots(self) -> AsyncAssistantStream:
        """Build no snapshot of messages and steps from their deltas; returns the stream.

        For long streams read once (``text_deltas()``, forwarding events): memory then
        stays about one event's, whatever the stream's length (``max_response_size``
        bounds each event, not a stream's total). ``message_snapshot()`` and
        ``step_snapshot()`` then raise; ``final_run()`` and ``final_messages()`` work.
        """
        if self._events is not None:
            raise RuntimeError("choose without_snapshots() before reading the stream")
        self._snapshots = False
        return self

    async def __aenter__(self) -> AsyncAssistantStream:
        self._response = await self._opener()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Drop the connection and end the stream; safe while another task reads it
        (that reader's loop then ends at once, as if the stream were over)."""
        self._closing = True
        if self._response is not None:
            self._response.close()
        events = self._events
        if events is not None and not getattr(events, "ag_running", False):
            await events.aclose()

    @property
    def request_id(self) -> str | None:
        return self._response.request_id if self._response is not None else None

    def __aiter__(self) -> AsyncIterator[Event]:
        if self._events is None:
            self._events = self._read()
        return self._events

    async def _read(self) -> AsyncGenerator[Event, None]:
        response = self._response
        if response is None:
            raise RuntimeError("use the stream in 'async with' first")
        utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        decoder = SSEDecoder(max_size=response.max_event_size)
        try:
            async for chunk in response.chunks():
                for name, data, self.last_event_id, _ in decoder.events(utf8.decode(chunk)):
                    if name == "thread.message.delta":  # most events: first, and fast
                        plain = plain_text(data)
                        if plain is not None:
                            self._last_name = name
                            payload, message_id, index, text = plain
                            if self._snapshots:
                                self._track_text(message_id, payload)
                            if self._texts_only:  # text_deltas() wants the text alone
                                self._text = text
                                yield _TEXT
                            else:
                                yield plain_text_event(message_id, index, text)
                            continue
                    try:
                        event = self._decode(name, data)
                    except ResponseValidationError as exc:
                        raise exc.of(response) from None
                    if isinstance(event, ErrorEvent):
                        error = event.data
                        raise StreamError(
                            error.message, type=error.type, code=error.code, param=error.param
                        )
                    yield event
                    if isinstance(event, DoneEvent):
                        self.done = True
                        return
        except APIConnectionError:
            if self._closing:
                return  # closed on purpose, maybe from another task: the end
            raise
        if self._closing:
            return
        decoder.check()
        cut = decoder.mid_event or bool(utf8.getstate()[0])
        if self._last_name in _LAST_EVENTS and not cut and not self._reading.strict:
            self._deviate(
                "stream",
                "",
                f"a 'done' event after {self._last_name!r}",
                "the end of the stream",
            )
            return
        raise APIConnectionError(
            "The stream ended before its 'done' event.",
            method=response.method,
            url=response.url,
        )

    def _deviate(self, model: str, path: str, expected: str, got: str) -> None:
        """A departure from the spec that decoding could not see: raised when strict."""
        if self._reading.strict:
            raise ResponseValidationError(
                f"the stream departs from the spec: expected {expected}, got {got}", path=path
            )
        where = operation_of(*self._operation)
        self._reading.report([Deviation(where, model, path, expected, got)])

    def _decode(self, name: str, data: str) -> Event:
        try:
            if name == "done":
                payload = None
            elif name in EVENT_NAMES:
                payload = decode_json(data)
            else:
                # An event this version does not know (a keep-alive "ping", say) is
                # delivered as it came: its data need not be JSON.
                try:
                    payload = decode_json(data)
                except ResponseValidationError:
                    payload = data
            event = event_from_payload(name, payload, self._reading, self._operation)
            self._last_name = name
            self._track(event, payload)
        except RecursionError:
            raise ResponseValidationError(
                f"a {name!r} event is nested too deeply to decode"
            ) from None
        return event

    def _track(self, event: Event, payload: Any) -> None:
        """Keep the run, and build messages and steps from their events' JSON."""
        if type(event) is ThreadMessageDelta:  # most events of a stream: first, and fast
            if self._snapshots:
                self._track_text(event.data.id, payload)
            return
        data = getattr(event, "data", None)
        status = getattr(data, "status", None)
        if status is not None and type(event) is not UnknownEvent:
            name = str(event.event)
            expected = _STATUS_OF.get(name)
            if expected is not None and status != expected:
                got = shown(repr(status))
                self._deviate(type(event).__name__, "data.status", repr(expected), got)
        if isinstance(data, Run):
            self._last_run = data
        if isinstance(event, ThreadMessageCompleted | ThreadMessageIncomplete):
            self._completed.append(event.data)
        if not self._snapshots:
            return
        if isinstance(event, ThreadMessageCreated | ThreadMessageInProgress):
            self._messages[event.data.id] = copy.deepcopy(payload)
        elif isinstance(event, ThreadMessageCompleted | ThreadMessageIncomplete):
            self._messages[event.data.id] = payload
        elif isinstance(event, ThreadRunStepCreated):
            self._steps[event.data.id] = copy.deepcopy(payload)
        elif isinstance(event, ThreadRunStepDelta):
            snapshot = self._steps.setdefault(event.data.id, {})
            accumulate_delta(snapshot, payload["delta"])
        elif isinstance(event, ThreadRunStepCompleted):
            self._steps[event.data.id] = payload

    def _track_text(self, message_id: str, payload: Any) -> None:
        snapshot = self._messages.setdefault(message_id, {"content": []})
        delta = payload["delta"]
        if not append_text(snapshot, delta):
            accumulate_delta(snapshot, delta)

    # --- helpers -------------------------------------------------------------------------

    async def text_deltas(self) -> AsyncGenerator[str, None]:
        """Each piece of message text as it arrives. (A plain delta, one piece of text,
        nearly every event, is read for its text alone: no event object is made.)"""
        events = self.__aiter__()
        while True:
            # Only while this pulls: a loop that left this one early and reads the
            # stream itself gets events, never the marker.
            self._texts_only = True
            try:
                event = await events.__anext__()
            except StopAsyncIteration:
                return
            finally:
                self._texts_only = False
            if event is _TEXT:
                if self._text:
                    yield self._text
            elif isinstance(event, ThreadMessageDelta):
                for part in event.data.delta.content or ():
                    if isinstance(part, TextDeltaBlock) and part.text and part.text.value:
                        yield part.text.value

    async def until_done(self) -> None:
        """Read the stream to its end."""
        async for _ in self:
            pass

    async def final_run(self) -> Run:
        """The run as the last run event left it (requires_action, completed, ...)."""
        await self.until_done()
        if self._last_run is None:
            raise StreamError("the stream carried no run event")
        return self._last_run

    async def final_messages(self) -> list[Message]:
        """The messages the stream completed, in order."""
        await self.until_done()
        return list(self._completed)

    def _check_snapshots(self) -> None:
        if not self._snapshots:
            raise RuntimeError("this stream keeps no snapshots (without_snapshots())")

    def message_snapshot(self, message_id: str) -> Message:
        """The message as its events and deltas have built it so far."""
        self._check_snapshots()
        message: Message = self._snapshot(plain(self._messages[message_id]), Message)
        return message

    def step_snapshot(self, step_id: str) -> RunStep:
        """The run step as its events and deltas have built it so far."""
        self._check_snapshots()
        step: RunStep = self._snapshot(plain(self._steps[step_id]), RunStep)
        return step

    def _snapshot(self, data: Any, cls: type[Any]) -> Any:
        return read(data, cls, SILENT)
