"""Stream events (``AssistantStreamEvent`` in the spec), one class per event name.

Class names follow the official SDK, so code written against it ports unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
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

_fast_loads: Callable[[str], Any] | None
try:  # a CPython dependency of the package
    from orjson import loads as _fast_loads
except ImportError:  # pragma: no cover - another interpreter: the general path alone
    _fast_loads = None

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
    if event == "thread.message.delta":
        plain = _plain_text_delta(payload)
        if plain is not None:
            return plain
    cls = _EVENT_CLASSES.get(event)
    if cls is None:
        return UnknownEvent(event=event, data=payload)
    result: AssistantStreamEvent = structure_event(cls, event, payload, reading, operation)
    return result


def plain_text(data: str) -> tuple[Any, str, int, str] | None:
    """When ``data`` is a plain text delta's: its payload, message id, index and text,
    without the event's objects (for a reader that wants only the text); else None.

    Parsed by orjson alone: were there an integer beyond 64 bits (which it would make a
    float, where the stdlib keeps it), the payload would not be plain (its only number
    is an ``int`` index), so every plain payload is exactly what the stdlib gives."""
    if _fast_loads is None:
        return None
    try:
        payload = _fast_loads(data)
    except ValueError:
        return None
    fields = _plain_fields(payload)
    return None if fields is None else (payload, *fields)


def _plain_text_delta(payload: Any) -> ThreadMessageDelta | None:
    """A delta of one piece of text without annotations (nearly every event of a
    stream), built straight from the payload: the same objects the general decoder
    makes, in about half its time. None for any other shape: the decoder decides."""
    fields = _plain_fields(payload)
    return None if fields is None else plain_text_event(*fields)


def _plain_fields(payload: Any) -> tuple[str, int, str] | None:
    """A plain text delta's message id, index and text; None for any other shape."""
    if type(payload) is not dict or len(payload) != 3:
        return None
    message_id = payload.get("id")
    delta = payload.get("delta")
    if (
        type(message_id) is not str
        or payload.get("object") != "thread.message.delta"
        or type(delta) is not dict
        or len(delta) != 1
    ):
        return None
    content = delta.get("content")
    if type(content) is not list or len(content) != 1:
        return None
    block = content[0]
    if type(block) is not dict or len(block) != 3 or block.get("type") != "text":
        return None
    index = block.get("index")
    text = block.get("text")
    if type(index) is not int or type(text) is not dict or len(text) != 2:
        return None
    value = text.get("value")
    if type(value) is not str or text.get("annotations") != []:
        return None
    return message_id, index, value


def plain_text_event(message_id: str, index: int, value: str) -> ThreadMessageDelta:
    """The event of a plain text delta, from what plain_text() found in it."""
    if not _BUILD:
        _BUILD.append(_plain_text_delta_builder())
    event: ThreadMessageDelta = _BUILD[0](message_id, index, value)
    return event


def _plain_text_delta_builder() -> Callable[[str, int, str], ThreadMessageDelta]:
    """A function making a plain text delta's five objects slot by slot, each with the
    ``_absent`` and ``_extra`` the general decoder gives them (learnt by decoding one)."""
    from .._decoding.codegen import generate

    sample = {
        "id": "msg_0",
        "object": "thread.message.delta",
        "delta": {
            "content": [{"index": 0, "type": "text", "text": {"value": "", "annotations": []}}]
        },
    }
    made = structure_event(ThreadMessageDelta, "thread.message.delta", sample)
    block = made.data.delta.content[0]
    objects: list[tuple[str, Model, dict[str, str]]] = [
        ("text", block.text, {"value": "value", "annotations": "[]"}),
        ("block", block, {"index": "index", "type": "'text'", "text": "text"}),
        ("delta", made.data.delta, {"role": "None", "content": "[block]"}),
        ("data", made.data, {"id": "message_id", "delta": "delta", "object": "OBJECT"}),
        ("event", made, {"data": "data", "event": "OBJECT"}),
    ]
    ns: dict[str, Any] = {"OBJECT": "thread.message.delta"}
    lines = ["def build(message_id, index, value):"]
    for name, like, values in objects:
        cls = type(like)
        ns[f"new_{name}"] = cls.__new__
        ns[f"cls_{name}"] = cls
        lines.append(f"    {name} = new_{name}(cls_{name})")
        fields = {**values, "_extra": f"extra_{name}", "_absent": f"absent_{name}"}
        ns[f"extra_{name}"] = like._extra
        ns[f"absent_{name}"] = like._absent
        for field in attrs.fields(cls):
            ns[f"set_{name}_{field.name}"] = getattr(cls, field.name).__set__
            lines.append(f"    set_{name}_{field.name}({name}, {fields[field.name]})")
    lines.append("    return event")
    source = "\n".join(lines) + "\n"
    build: Callable[[str, int, str], ThreadMessageDelta] = generate(
        source, "<plain text delta builder>", ns
    )["build"]
    return build


_BUILD: list[Callable[[str, int, str], ThreadMessageDelta]] = []
