"""The generated decoders agree with the cattrs converter on everything it decodes.

Responses decode through a straight-line decoder per model and fall back to the converter
(which names the failing field) when it refuses. So on any input the fast decoder must
give exactly the converter's result, or refuse: never accept what the converter rejects.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Literal

import attrs
import pytest
from cattrs.errors import StructureHandlerNotFoundError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistants_async._decoding.converter import converter, structure
from assistants_async._decoding.fast import event_decoder, fast_decoder
from assistants_async._model import Model, Unknown
from assistants_async.models import Assistant, Page
from assistants_async.models.events import _EVENT_CLASSES, AssistantStreamEvent, event_from_payload

from ..payloads import ASSISTANT as ASSISTANT_PAYLOAD
from ..test_models import RESPONSE_MODEL
from .test_fuzz import SchemaStrategies, json_value, response_schema

FAILED = object()


def outcome(decode: Any, data: Any) -> Any:
    try:
        return decode(data)
    except Exception:
        return FAILED


def same(a: Any, b: Any) -> bool:
    """Equal values of the same types all the way down, absent and unknown fields too."""
    if type(a) is not type(b):
        return False
    if isinstance(a, Model):
        return (
            a._absent == b._absent
            and dict(a._extra) == dict(b._extra)
            and all(same(getattr(a, f.name), getattr(b, f.name)) for f in attrs.fields(type(a)))
        )
    if isinstance(a, Unknown):
        return bool(a.type == b.type and a.raw == b.raw)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


def check_agreement(data: Any, tp: Any) -> Any:
    try:
        converter.get_structure_hook(tp)
    except StructureHandlerNotFoundError:
        return FAILED  # request-only models: the converter cannot decode them at all
    slow = outcome(lambda d: converter.structure(d, tp), data)
    fast = outcome(lambda d: fast_decoder(tp)(d), data)
    if slow is FAILED:
        assert fast is FAILED, f"fast decoder accepted what the converter rejects: {data!r}"
    else:
        # A refusal would be correct but slow: every call would fall back to cattrs.
        assert fast is not FAILED, f"fast decoder refused what the converter takes: {data!r}"
        assert same(fast, slow), f"{fast!r} != {slow!r}"
    return fast


def corrupt(data: Any, path: list[int], replacement: Any) -> Any:
    """``data`` with the value at a pseudo-random position (chosen by ``path``) replaced."""
    if not path or not isinstance(data, dict | list) or not data:
        return replacement
    keys = list(data) if isinstance(data, dict) else list(range(len(data)))
    key = keys[path[0] % len(keys)]
    copy: Any = dict(data) if isinstance(data, dict) else list(data)
    copy[key] = corrupt(data[key], path[1:], replacement)
    return copy


@pytest.fixture(params=sorted(RESPONSE_MODEL))
def response(
    request: pytest.FixtureRequest, spec: dict[str, Any]
) -> tuple[st.SearchStrategy[Any], Any]:
    """Generated responses of one operation, and the model they decode into."""
    operation: str = request.param
    strategy = SchemaStrategies(spec).for_ref(response_schema(spec, operation))
    return strategy, RESPONSE_MODEL[operation]


def test_generated_responses_decode_exactly_as_the_converter_does(
    response: tuple[st.SearchStrategy[Any], Any],
) -> None:
    strategy, model_type = response
    fast_hits = 0

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=strategy)
    def check(data: Any) -> None:
        nonlocal fast_hits
        if check_agreement(data, model_type) is not FAILED:
            fast_hits += 1

    check()
    # Valid responses were among those generated: the agreement was not only on refusals.
    assert fast_hits > 0


def test_corrupted_responses_are_never_accepted_by_the_fast_decoder_alone(
    response: tuple[st.SearchStrategy[Any], Any],
) -> None:
    strategy, model_type = response

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        data=strategy,
        path=st.lists(st.integers(0, 50), min_size=1, max_size=6),
        replacement=json_value | st.floats(allow_nan=False) | st.just(True),
    )
    def check(data: Any, path: list[int], replacement: Any) -> None:
        check_agreement(corrupt(data, path, replacement), model_type)

    check()


@settings(max_examples=200, deadline=None)
@given(
    event=st.sampled_from(
        [
            "thread.created",
            "thread.run.created",
            "thread.run.step.delta",
            "thread.message.delta",
            "thread.message.completed",
            "error",
            "done",
            "new.event",
        ]
    ),
    data=json_value,
)
def test_stream_events_agree_on_arbitrary_payloads(event: str, data: Any) -> None:
    check_agreement({"event": event, "data": data}, AssistantStreamEvent)


def test_the_fast_path_is_what_decodes_a_valid_page() -> None:
    page = {
        "object": "list",
        "data": [
            {
                "id": f"asst_{i}",
                "object": "assistant",
                "created_at": i,
                "model": "gpt-4o",
                "name": None,
                "description": None,
                "instructions": None,
                "tools": [{"type": "function", "function": {"name": "f"}}, {"type": "new"}],
                "metadata": {"k": "v"},
                "x_new": [1],
            }
            for i in range(3)
        ],
        "first_id": "asst_0",
        "last_id": "asst_2",
        "has_more": False,
    }
    fast = fast_decoder(Page[Assistant])(json.loads(json.dumps(page)))
    assert same(fast, structure(page, Page[Assistant]))
    first = fast.data[0]
    assert first.model_extra == {"x_new": [1]}
    assert isinstance(first.tools[1], Unknown)
    assert first.to_dict() == page["data"][0]  # type: ignore[index]


def all_models() -> list[type[Model]]:
    found: list[type[Model]] = []
    stack: list[type[Model]] = [Model]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            stack.append(sub)
            if sub.__module__.startswith("assistants_async.models"):
                found.append(sub)
    return found


def test_only_models_with_nothing_mutable_share_their_empty_instance() -> None:
    shared = 0
    for cls in all_models():
        first = check_agreement({}, cls)
        if first is FAILED:
            continue  # a required field: {} is not a valid one
        second = fast_decoder(cls)({})
        if first is second:
            shared += 1
            values = [getattr(first, f.name) for f in attrs.fields(cls)]
            assert not any(isinstance(v, list | dict) for v in values), cls
        # Decoding {} never hands out a model a later decode could have changed.
        assert first.to_dict() == {}
    assert shared >= 1  # ToolResources, on most assistants as {}


def test_a_traceback_through_a_generated_decoder_shows_its_lines() -> None:
    import traceback

    from assistants_async._decoding.fast import fast_decoder
    from assistants_async.models import Assistant

    bad = {**ASSISTANT_PAYLOAD, "model": 4}
    try:
        fast_decoder(Assistant)(bad)
    except Exception as exc:  # the generated code rejects it; the converter names why
        shown = "".join(traceback.format_exception(exc))
    else:  # pragma: no cover
        raise AssertionError("the decoder should have rejected the payload")
    assert "<fast decoder for assistants_async.models.assistants.Assistant>" in shown
    assert "raise Reject" in shown  # the generated line itself, from linecache


def test_the_first_fallback_of_each_type_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    from assistants_async import ResponseValidationError
    from assistants_async._decoding.converter import _FELL_BACK, structure
    from assistants_async.models import Assistant

    _FELL_BACK.discard(Assistant)
    caplog.set_level(logging.DEBUG, logger="assistants_async")
    for _ in range(3):
        with pytest.raises(ResponseValidationError):
            structure({**ASSISTANT_PAYLOAD, "created_at": "yesterday"}, Assistant)
    records = [r for r in caplog.records if "fell back" in r.getMessage()]
    assert len(records) == 1
    assert "Assistant" in records[0].getMessage()


TYPES_AND_SAMPLES: list[tuple[Any, list[Any]]] = [
    (Any, [1, "x", None, {"a": [1]}]),
    (str, ["x", 1, None]),
    (int, [1, True, 1.5, "1"]),
    (float, [1.5, 2, "2", True]),
    (bool, [True, 1, None]),
    (Literal["a", "b"], ["a", "zzz", 1]),
    (Literal[1, 2], [1, 7, "1"]),
    (list[Any], [[1, "x"], "x", None]),
    (list[str], [["a", "b"], ["a", 1], {}]),
    (list[Assistant], [[ASSISTANT_PAYLOAD], [{"id": 1}], "x"]),
    (dict[str, str], [{"a": "b"}, {"a": 1}, []]),
    (dict[str, Any], [{"a": [1]}, {1: "a"}, "x"]),
    (dict[Any, str], [{"a": "b"}, {"a": 1}]),
    (dict[str, Assistant], [{"a": ASSISTANT_PAYLOAD}, {"a": 1}]),
    (str | None, ["x", None, 1]),
    (Assistant | None, [ASSISTANT_PAYLOAD, None, "x"]),
]


def _outcome(decode: Any, value: Any) -> Any:
    try:
        return ("ok", decode(value))
    except Exception:
        return ("refused", None)


@pytest.mark.parametrize(("tp", "samples"), TYPES_AND_SAMPLES, ids=lambda x: str(x)[:30])
def test_every_kind_of_fast_decoder_agrees_with_the_converter(tp: Any, samples: list[Any]) -> None:
    """The fast path's builders for types outside models (top-level primitives, literals,
    lists, mappings, optionals, and the converter's own hook where it has no fast form)."""
    fast = fast_decoder(tp)
    for value in samples:
        got = _outcome(fast, value)
        want = _outcome(lambda v: converter.structure(v, tp), value)
        assert got[0] == want[0], (tp, value)
        if got[0] == "ok":
            assert got[1] == want[1]
    assert fast_decoder(tp) is fast  # built once, then cached


# A stream decodes each event from its data straight into the event's class (no wrapper
# dict); that path must agree with the converter's decode of ``{"event", "data"}`` too.
EVENT_UNION: Any = AssistantStreamEvent
EVENT_DATA = {
    "thread.created": "ThreadObject",
    "thread.run.requires_action": "RunObject",
    "thread.run.step.created": "RunStepObject",
    "thread.run.step.delta": "RunStepDeltaObject",
    "thread.message.delta": "MessageDeltaObject",
    "thread.message.completed": "MessageObject",
    "error": "Error",
}


@pytest.mark.parametrize("event", sorted(EVENT_DATA))
def test_stream_events_decode_from_their_data_as_the_converter_does(
    event: str, spec: dict[str, Any]
) -> None:
    cls = _EVENT_CLASSES[event]
    fast_hits = 0

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        data=SchemaStrategies(spec).for_ref(EVENT_DATA[event]),
        path=st.lists(st.integers(0, 50), max_size=6),
        replacement=json_value | st.just(True),
    )
    def check(data: Any, path: list[int], replacement: Any) -> None:
        nonlocal fast_hits
        if path:
            data = corrupt(data, path, replacement)
        slow = outcome(
            lambda d: converter.structure({"event": event, "data": d}, EVENT_UNION), data
        )
        fast = outcome(event_decoder(cls), data)
        if slow is FAILED:
            assert fast is FAILED, f"accepted what the converter rejects: {data!r}"
            return
        assert fast is not FAILED, f"refused what the converter takes: {data!r}"
        assert same(fast, slow), f"{fast!r} != {slow!r}"
        assert same(event_from_payload(event, data), slow)
        fast_hits += 1

    check()
    assert fast_hits > 0


def test_only_event_models_get_an_event_decoder() -> None:
    with pytest.raises(TypeError, match="not an event model"):
        event_decoder(Assistant)
