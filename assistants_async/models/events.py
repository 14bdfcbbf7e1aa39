"""Stream events (``AssistantStreamEvent`` in the spec), one class per event name.

Class names follow the official SDK, so code written against it ports unchanged.
"""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

import attrs

from .._decoding.converter import Operation, decode_json, structure_event
from .._deviations import Reading
from .._model import Model, register_union
from .messages import Message, MessageDeltaEvent
from .runs import Run
from .shared import ErrorObject
from .steps import RunStep, RunStepDeltaEvent
from .threads import Thread

__all__ = [
    "AssistantStreamEvent",
    "DoneEvent",
    "EVENT_NAMES",
    "ErrorEvent",
    "ThreadCreated",
    "ThreadMessageCompleted",
    "ThreadMessageCreated",
    "ThreadMessageDelta",
    "ThreadMessageInProgress",
    "ThreadMessageIncomplete",
    "ThreadRunCancelled",
    "ThreadRunCancelling",
    "ThreadRunCompleted",
    "ThreadRunCreated",
    "ThreadRunExpired",
    "ThreadRunFailed",
    "ThreadRunInProgress",
    "ThreadRunIncomplete",
    "ThreadRunQueued",
    "ThreadRunRequiresAction",
    "ThreadRunStepCancelled",
    "ThreadRunStepCompleted",
    "ThreadRunStepCreated",
    "ThreadRunStepDelta",
    "ThreadRunStepExpired",
    "ThreadRunStepFailed",
    "ThreadRunStepInProgress",
    "UnknownEvent",
    "event_from_payload",
    "event_from_sse",
]


@attrs.frozen(kw_only=True)
class ThreadCreated(Model):
    data: Thread
    event: Literal["thread.created"] = "thread.created"


@attrs.frozen(kw_only=True)
class ThreadRunCreated(Model):
    data: Run
    event: Literal["thread.run.created"] = "thread.run.created"


@attrs.frozen(kw_only=True)
class ThreadRunQueued(Model):
    data: Run
    event: Literal["thread.run.queued"] = "thread.run.queued"


@attrs.frozen(kw_only=True)
class ThreadRunInProgress(Model):
    data: Run
    event: Literal["thread.run.in_progress"] = "thread.run.in_progress"


@attrs.frozen(kw_only=True)
class ThreadRunRequiresAction(Model):
    data: Run
    event: Literal["thread.run.requires_action"] = "thread.run.requires_action"


@attrs.frozen(kw_only=True)
class ThreadRunCompleted(Model):
    data: Run
    event: Literal["thread.run.completed"] = "thread.run.completed"


@attrs.frozen(kw_only=True)
class ThreadRunIncomplete(Model):
    data: Run
    event: Literal["thread.run.incomplete"] = "thread.run.incomplete"


@attrs.frozen(kw_only=True)
class ThreadRunFailed(Model):
    data: Run
    event: Literal["thread.run.failed"] = "thread.run.failed"


@attrs.frozen(kw_only=True)
class ThreadRunCancelling(Model):
    data: Run
    event: Literal["thread.run.cancelling"] = "thread.run.cancelling"


@attrs.frozen(kw_only=True)
class ThreadRunCancelled(Model):
    data: Run
    event: Literal["thread.run.cancelled"] = "thread.run.cancelled"


@attrs.frozen(kw_only=True)
class ThreadRunExpired(Model):
    data: Run
    event: Literal["thread.run.expired"] = "thread.run.expired"


@attrs.frozen(kw_only=True)
class ThreadRunStepCreated(Model):
    data: RunStep
    event: Literal["thread.run.step.created"] = "thread.run.step.created"


@attrs.frozen(kw_only=True)
class ThreadRunStepInProgress(Model):
    data: RunStep
    event: Literal["thread.run.step.in_progress"] = "thread.run.step.in_progress"


@attrs.frozen(kw_only=True)
class ThreadRunStepDelta(Model):
    data: RunStepDeltaEvent
    event: Literal["thread.run.step.delta"] = "thread.run.step.delta"


@attrs.frozen(kw_only=True)
class ThreadRunStepCompleted(Model):
    data: RunStep
    event: Literal["thread.run.step.completed"] = "thread.run.step.completed"


@attrs.frozen(kw_only=True)
class ThreadRunStepFailed(Model):
    data: RunStep
    event: Literal["thread.run.step.failed"] = "thread.run.step.failed"


@attrs.frozen(kw_only=True)
class ThreadRunStepCancelled(Model):
    data: RunStep
    event: Literal["thread.run.step.cancelled"] = "thread.run.step.cancelled"


@attrs.frozen(kw_only=True)
class ThreadRunStepExpired(Model):
    data: RunStep
    event: Literal["thread.run.step.expired"] = "thread.run.step.expired"


@attrs.frozen(kw_only=True)
class ThreadMessageCreated(Model):
    data: Message
    event: Literal["thread.message.created"] = "thread.message.created"


@attrs.frozen(kw_only=True)
class ThreadMessageInProgress(Model):
    data: Message
    event: Literal["thread.message.in_progress"] = "thread.message.in_progress"


@attrs.frozen(kw_only=True)
class ThreadMessageDelta(Model):
    data: MessageDeltaEvent
    event: Literal["thread.message.delta"] = "thread.message.delta"


@attrs.frozen(kw_only=True)
class ThreadMessageCompleted(Model):
    data: Message
    event: Literal["thread.message.completed"] = "thread.message.completed"


@attrs.frozen(kw_only=True)
class ThreadMessageIncomplete(Model):
    data: Message
    event: Literal["thread.message.incomplete"] = "thread.message.incomplete"


@attrs.frozen(kw_only=True)
class ErrorEvent(Model):
    """The server reports a failure mid-stream."""

    data: ErrorObject
    event: Literal["error"] = "error"


@attrs.frozen(kw_only=True)
class DoneEvent(Model):
    """The end of the stream."""

    data: Literal["[DONE]"] = "[DONE]"
    event: Literal["done"] = "done"


@attrs.frozen(kw_only=True)
class UnknownEvent(Model):
    """An event name this version does not know; delivered, never dropped."""

    event: str
    data: Any = None


AssistantStreamEvent: TypeAlias = (
    ThreadCreated
    | ThreadRunCreated
    | ThreadRunQueued
    | ThreadRunInProgress
    | ThreadRunRequiresAction
    | ThreadRunCompleted
    | ThreadRunIncomplete
    | ThreadRunFailed
    | ThreadRunCancelling
    | ThreadRunCancelled
    | ThreadRunExpired
    | ThreadRunStepCreated
    | ThreadRunStepInProgress
    | ThreadRunStepDelta
    | ThreadRunStepCompleted
    | ThreadRunStepFailed
    | ThreadRunStepCancelled
    | ThreadRunStepExpired
    | ThreadMessageCreated
    | ThreadMessageInProgress
    | ThreadMessageDelta
    | ThreadMessageCompleted
    | ThreadMessageIncomplete
    | ErrorEvent
    | DoneEvent
)
_KNOWN_EVENTS = (
    ThreadCreated,
    ThreadRunCreated,
    ThreadRunQueued,
    ThreadRunInProgress,
    ThreadRunRequiresAction,
    ThreadRunCompleted,
    ThreadRunIncomplete,
    ThreadRunFailed,
    ThreadRunCancelling,
    ThreadRunCancelled,
    ThreadRunExpired,
    ThreadRunStepCreated,
    ThreadRunStepInProgress,
    ThreadRunStepDelta,
    ThreadRunStepCompleted,
    ThreadRunStepFailed,
    ThreadRunStepCancelled,
    ThreadRunStepExpired,
    ThreadMessageCreated,
    ThreadMessageInProgress,
    ThreadMessageDelta,
    ThreadMessageCompleted,
    ThreadMessageIncomplete,
    ErrorEvent,
    DoneEvent,
)
register_union(AssistantStreamEvent, *_KNOWN_EVENTS, tag="event")
# Each event name's class: a stream decodes straight into it, not through the union.
_EVENT_CLASSES: dict[str, type[Model]] = {
    str(attrs.fields_dict(cls)["event"].default): cls for cls in _KNOWN_EVENTS
}
EVENT_NAMES: frozenset[str] = frozenset(_EVENT_CLASSES)


def event_from_sse(event: str, data: str) -> AssistantStreamEvent | UnknownEvent:
    """Decode one server-sent event (its ``event`` name and raw ``data`` text)."""
    if event == "done":
        return DoneEvent()
    return event_from_payload(event, decode_json(data))


def event_from_payload(
    event: str, payload: Any, reading: Reading | None = None, operation: Operation = ""
) -> AssistantStreamEvent | UnknownEvent:
    """Decode one event from its name and its already-parsed ``data`` (strictly, unless
    ``reading`` is a tolerant client's)."""
    if event == "done":
        return DoneEvent()
    cls = _EVENT_CLASSES.get(event)
    if cls is None:
        return UnknownEvent(event=event, data=payload)
    result: AssistantStreamEvent = structure_event(cls, event, payload, reading, operation)
    return result
