"""The blocking run stream: ``with client.runs.stream(...) as stream: for event in stream``."""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType

from .._response import OpenStream
from .._streaming import AsyncAssistantStream, Event
from ..models.messages import Message
from ..models.runs import Run
from ..models.steps import RunStep
from ._portal import LoopThread, refuse_running_loop, step_through

__all__ = ["SyncAssistantStream", "SyncOpenStream"]


class SyncAssistantStream:
    """``AsyncAssistantStream`` for blocking code; see it for the events and errors."""

    def __init__(self, stream: AsyncAssistantStream, loop: LoopThread) -> None:
        self._async = stream
        self._loop = loop

    def without_snapshots(self) -> SyncAssistantStream:
        """As ``AsyncAssistantStream.without_snapshots``; returns this stream."""
        self._async.without_snapshots()
        return self

    def __enter__(self) -> SyncAssistantStream:
        refuse_running_loop("the stream")
        self._loop.call(self._async.__aenter__)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Drop the connection and end the stream (safe to call twice)."""
        self._loop.call(self._async.close)

    @property
    def request_id(self) -> str | None:
        return self._async.request_id

    @property
    def done(self) -> bool:
        return self._async.done

    @property
    def last_event_id(self) -> str | None:
        return self._async.last_event_id

    def __iter__(self) -> Iterator[Event]:
        refuse_running_loop("the stream")
        return step_through(self._loop, self._async.__aiter__())

    def text_deltas(self) -> Iterator[str]:
        refuse_running_loop("the stream")
        return step_through(self._loop, self._async.text_deltas())

    def until_done(self) -> None:
        refuse_running_loop("the stream")
        self._loop.call(self._async.until_done)

    def final_run(self) -> Run:
        refuse_running_loop("the stream")
        run: Run = self._loop.call(self._async.final_run)
        return run

    def final_messages(self) -> list[Message]:
        refuse_running_loop("the stream")
        messages: list[Message] = self._loop.call(self._async.final_messages)
        return messages

    def message_snapshot(self, message_id: str) -> Message:
        return self._async.message_snapshot(message_id)

    def step_snapshot(self, step_id: str) -> RunStep:
        return self._async.step_snapshot(step_id)


class SyncOpenStream:
    """``OpenStream`` for blocking code: a 2xx answer read as it arrives."""

    def __init__(self, stream: OpenStream, loop: LoopThread) -> None:
        self._async = stream
        self._loop = loop
        self.status_code = stream.status_code
        self.headers = stream.headers
        self.method = stream.method
        self.url = stream.url
        self.max_event_size = stream.max_event_size

    @property
    def request_id(self) -> str | None:
        return self._async.request_id

    @property
    def closed(self) -> bool:
        return self._async.closed

    def chunks(self) -> Iterator[bytes]:
        """The body's bytes as they come."""
        refuse_running_loop("the stream")
        return step_through(self._loop, self._async.chunks())

    def close(self) -> None:
        """Drop the connection: an unread body cannot be reused."""
        self._loop.call(self._async.close)
