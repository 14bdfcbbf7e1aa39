"""Models: every spec example decodes and round-trips; unknown data never breaks decoding."""

from __future__ import annotations

import contextlib
import json
from typing import Any, get_args, get_origin

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistants_async import ResponseValidationError
from assistants_async._decoding.converter import structure
from assistants_async._decoding.fast import _field_types
from assistants_async._model import (
    NOT_IN_SPEC,
    Model,
    optional_inner,
    spec_nullable,
    spec_required,
    union_spec,
)
from assistants_async._sse import parse_sse
from assistants_async.models import (
    Assistant,
    AssistantDeleted,
    AssistantStreamEvent,
    CodeInterpreterTool,
    DoneEvent,
    FileSearchTool,
    FunctionDefinition,
    FunctionTool,
    Message,
    MessageDeleted,
    MessageDeltaEvent,
    Page,
    ResponseFormatJSONSchema,
    Run,
    RunStep,
    RunStepDeltaEvent,
    TextContentBlock,
    Thread,
    ThreadDeleted,
    ThreadMessageDelta,
    ToolCallsStepDetails,
    Unknown,
    UnknownEvent,
    event_from_sse,
)

from .payloads import ASSISTANT, MESSAGE, RUN, STEP, tolerant

# What each operation returns, as the resources will declare it.
RESPONSE_MODEL: dict[str, Any] = {
    "listAssistants": Page[Assistant],
    "createAssistant": Assistant,
    "getAssistant": Assistant,
    "modifyAssistant": Assistant,
    "deleteAssistant": AssistantDeleted,
    "createThread": Thread,
    "getThread": Thread,
    "modifyThread": Thread,
    "deleteThread": ThreadDeleted,
    "createThreadAndRun": Run,
    "listMessages": Page[Message],
    "createMessage": Message,
    "getMessage": Message,
    "modifyMessage": Message,
    "deleteMessage": MessageDeleted,
    "listRuns": Page[Run],
    "createRun": Run,
    "getRun": Run,
    "modifyRun": Run,
    "cancelRun": Run,
    "submitToolOuputsToRun": Run,
    "listRunSteps": Page[RunStep],
    "getRunStep": RunStep,
}
SCHEMA_MODEL: dict[str, Any] = {
    "AssistantObject": Assistant,
    "ListAssistantsResponse": Page[Assistant],
    "MessageObject": Message,
    "MessageDeltaObject": MessageDeltaEvent,
    "RunObject": Run,
    "RunStepObject": RunStep,
    "RunStepDeltaObject": RunStepDeltaEvent,
    "ThreadObject": Thread,
}


def operation_examples(spec: dict[str, Any]) -> list[tuple[str, str, str]]:
    found = []
    for ops in spec["paths"].values():
        for op in ops.values():
            if not isinstance(op, dict) or "operationId" not in op:
                continue
            examples = op["x-oaiMeta"]["examples"]
            for example in examples if isinstance(examples, list) else [examples]:
                title = example.get("title", "default")
                found.append((op["operationId"], title, example["response"]))
    return found


def test_every_operation_has_a_response_model(spec: dict[str, Any]) -> None:
    ids = {op_id for op_id, _, _ in operation_examples(spec)}
    assert len(ids) == 23
    assert ids == set(RESPONSE_MODEL)


def test_every_json_example_decodes_and_round_trips(spec: dict[str, Any]) -> None:
    checked = 0
    for op_id, title, text in operation_examples(spec):
        if text.lstrip().startswith("event:"):
            continue
        data = json.loads(text)
        model, found = tolerant(data, RESPONSE_MODEL[op_id])
        assert model.to_dict() == data, f"{op_id} ({title})"
        # The examples predate fields the schemas added later; they never hold a wrong
        # value. Strict decoding names the first missing one.
        assert all(d.got == "no such field" for d in found), found
        if found:
            with pytest.raises(ResponseValidationError, match="required"):
                structure(data, RESPONSE_MODEL[op_id])
        checked += 1
    assert checked == 25


def test_every_schema_example_decodes_and_round_trips(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    with_examples = {name for name, s in schemas.items() if "example" in s.get("x-oaiMeta", {})}
    assert with_examples == set(SCHEMA_MODEL)
    for name, model_type in SCHEMA_MODEL.items():
        data = json.loads(schemas[name]["x-oaiMeta"]["example"])
        model, found = tolerant(data, model_type)
        assert model.to_dict() == data, name
        assert all(d.got == "no such field" for d in found), found


def upstream_json(data: str) -> tuple[Any, bool]:
    """Parse an example event's data, undoing upstream's one known typo.

    Upstream's run events end in ``}}`` with one brace too many; the client itself rightly
    rejects that (see the test below), so the repair lives here and is counted.
    """
    try:
        return json.loads(data), False
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data" and data[exc.pos :] == "}":
            return json.loads(data[: exc.pos]), True
        raise


def test_every_stream_example_decodes_event_by_event(spec: dict[str, Any]) -> None:
    names_seen: set[str] = set()
    streams = repaired = 0
    for op_id, title, text in operation_examples(spec):
        if not text.lstrip().startswith("event:"):
            continue
        streams += 1
        events = parse_sse(text if text.endswith("\n\n") else text + "\n\n")
        assert events, f"{op_id} ({title})"
        for sse in events:
            if sse.event == "done":
                assert isinstance(event_from_sse(sse.event, sse.data), DoneEvent)
                names_seen.add("done")
                continue
            data, was_repaired = upstream_json(sse.data)
            repaired += was_repaired
            decoded, found = tolerant({"event": sse.event, "data": data}, AssistantStreamEvent)
            assert all(d.got == "no such field" for d in found), found
            assert not isinstance(decoded, UnknownEvent), sse.event
            names_seen.add(decoded.event)
            assert decoded.to_dict() == {"event": sse.event, "data": data}
    assert streams == 5
    assert repaired == 15
    assert "thread.message.delta" in names_seen
    assert "thread.run.requires_action" in names_seen
    assert "done" in names_seen


def test_tagged_unions_decode_to_the_right_class() -> None:
    step = RunStep.from_dict(
        {
            **STEP,
            "type": "tool_calls",
            "step_details": {
                "type": "tool_calls",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "f", "arguments": "{}", "output": None},
                    },
                    {
                        "id": "call_2",
                        "type": "code_interpreter",
                        "code_interpreter": {
                            "input": "1+1",
                            "outputs": [
                                {"type": "logs", "logs": "2"},
                                {"type": "image", "image": {"file_id": "file_1"}},
                            ],
                        },
                    },
                    {"id": "call_3", "type": "file_search", "file_search": {}},
                ],
            },
        }
    )
    assert isinstance(step.step_details, ToolCallsStepDetails)
    kinds = [type(c).__name__ for c in step.step_details.tool_calls]
    assert kinds == ["FunctionToolCall", "CodeInterpreterToolCall", "FileSearchToolCall"]


def test_response_format_in_all_its_forms() -> None:
    base = ASSISTANT
    assert Assistant.from_dict({**base, "response_format": "auto"}).response_format == "auto"
    schema = {
        "type": "json_schema",
        "json_schema": {"name": "x", "schema": {"type": "object"}, "strict": True},
    }
    decoded = Assistant.from_dict({**base, "response_format": schema}).response_format
    assert isinstance(decoded, ResponseFormatJSONSchema)
    assert decoded.json_schema.schema == {"type": "object"}
    assert Assistant.from_dict({**base, "response_format": None}).response_format is None


def test_an_unknown_type_tag_keeps_the_raw_data() -> None:
    tool_data = {"type": "web_browser", "web_browser": {"depth": 2}}
    data = {**ASSISTANT, "tools": [tool_data]}
    asst = Assistant.from_dict(data)
    (tool,) = asst.tools
    assert isinstance(tool, Unknown)
    assert tool.type == "web_browser"
    assert tool.raw == tool_data
    assert asst.to_dict() == data


def test_unknown_fields_and_enum_values_are_kept() -> None:
    data = {**RUN, "status": "paused_for_review", "brand_new": {"nested": [1, 2]}}
    run = Run.from_dict(data)
    # Typed as the known Literal; a new value still arrives as its plain string.
    status: str = run.status
    assert status == "paused_for_review"
    assert run.model_extra == {"brand_new": {"nested": [1, 2]}}
    assert run.to_dict() == data


def test_absent_and_null_stay_distinct() -> None:
    absent = {"id": "thread_1", "object": "thread", "created_at": 1}
    null = {**absent, "metadata": None, "tool_resources": None}
    # Absent, the two required fields are a deviation, tolerated: nothing is made up.
    thread, found = tolerant(absent, Thread)
    assert thread.to_dict() == absent
    assert {d.path for d in found} == {"metadata", "tool_resources"}
    assert Thread.from_dict(null).to_dict() == null


def test_models_built_in_python_send_only_what_was_set() -> None:
    tool = FunctionTool(function=FunctionDefinition(name="get_weather"))
    assert tool.to_dict() == {"type": "function", "function": {"name": "get_weather"}}
    assert CodeInterpreterTool().to_dict() == {"type": "code_interpreter"}
    assert FileSearchTool().to_dict() == {"type": "file_search"}


def test_models_are_frozen() -> None:
    tool = CodeInterpreterTool()
    with pytest.raises(AttributeError):
        tool.type = "other"  # type: ignore[misc,assignment]


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({k: v for k, v in ASSISTANT.items() if k != "id"}, "id"),
        ({**ASSISTANT, "id": 7}, "id"),
        ({**ASSISTANT, "created_at": 1.5}, "created_at"),
        ({**ASSISTANT, "tools": {}}, "tools"),
        ({**ASSISTANT, "tools": [{"type": "function"}]}, "tools[0].function"),
        ({**ASSISTANT, "tools": [{"kind": "x"}]}, "tools[0].type"),
        ({**ASSISTANT, "metadata": {"k": 1}}, "metadata['k']"),
        ({**ASSISTANT, "object": "thread"}, "object"),
    ],
)
def test_a_bad_shape_names_the_field_path(data: dict[str, Any], path: str) -> None:
    with pytest.raises(ResponseValidationError) as info:
        Assistant.from_dict(data)
    assert info.value.path == path
    assert path in str(info.value)


def test_a_bad_item_in_a_page_names_its_index() -> None:
    item = ASSISTANT
    data = {
        "object": "list",
        "data": [item, {**item, "created_at": "x"}],
        "first_id": "a",
        "last_id": "a",
        "has_more": False,
    }
    with pytest.raises(ResponseValidationError) as info:
        structure(data, Page[Assistant])
    assert info.value.path == "data[1].created_at"


def test_message_content_and_deltas() -> None:
    event = event_from_sse(
        "thread.message.delta",
        json.dumps(
            {
                "id": "msg_1",
                "object": "thread.message.delta",
                "delta": {"content": [{"index": 0, "type": "text", "text": {"value": "Hel"}}]},
            }
        ),
    )
    assert isinstance(event, ThreadMessageDelta)
    assert event.data.delta.content is not None
    message = Message.from_dict(
        {
            **MESSAGE,
            "role": "assistant",
            "content": [{"type": "text", "text": {"value": "Hi", "annotations": []}}],
        }
    )
    assert isinstance(message.content[0], TextContentBlock)
    assert message.content[0].text.value == "Hi"


def test_malformed_event_data_is_a_validation_error() -> None:
    with pytest.raises(ResponseValidationError, match="not valid JSON"):
        event_from_sse("thread.run.created", '{"id": "run_1"}}')


def test_an_unknown_event_is_delivered_not_dropped() -> None:
    event = event_from_sse("thread.run.paused", '{"id": "run_1"}')
    assert isinstance(event, UnknownEvent)
    assert (event.event, event.data) == ("thread.run.paused", {"id": "run_1"})


def test_an_error_event_decodes() -> None:
    event = event_from_sse(
        "error", '{"message": "boom", "type": "server_error", "code": null, "param": null}'
    )
    assert event.to_dict() == {
        "event": "error",
        "data": {"message": "boom", "type": "server_error", "code": None, "param": None},
    }


# --- property tests ---------------------------------------------------------------------

json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
known = {
    "id",
    "object",
    "created_at",
    "model",
    "tools",
    "name",
    "description",
    "instructions",
    "tool_resources",
    "metadata",
    "temperature",
    "top_p",
    "response_format",
}
unknown_key = st.text(min_size=1).filter(lambda k: k not in known)
unknown_tag = st.text().filter(lambda t: t not in {"code_interpreter", "file_search", "function"})


@settings(max_examples=200, deadline=None)
@given(
    extra=st.dictionaries(unknown_key, json_value, max_size=4),
    tags=st.lists(unknown_tag, max_size=3),
    tool_extra=st.dictionaries(st.text().filter(lambda k: k != "type"), json_value, max_size=3),
)
def test_unknown_fields_and_tags_never_break_decoding(
    extra: dict[str, Any], tags: list[str], tool_extra: dict[str, Any]
) -> None:
    data = {**ASSISTANT, "tools": [{**tool_extra, "type": tag} for tag in tags], **extra}
    asst = Assistant.from_dict(data)
    assert dict(asst.model_extra) == extra
    assert all(isinstance(t, Unknown) for t in asst.tools)
    assert asst.to_dict() == data


@settings(max_examples=200, deadline=None)
@given(value=json_value)
def test_decoding_garbage_raises_only_validation_errors(value: Any) -> None:
    for model in (Assistant, Run, RunStep, Message, Thread):
        with contextlib.suppress(ResponseValidationError):
            model.from_dict(value)


RUN_WITH_ALL = {
    **RUN,
    "status": "requires_action",
    "required_action": {
        "type": "submit_tool_outputs",
        "submit_tool_outputs": {
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ]
        },
    },
    "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
    "truncation_strategy": {"type": "auto", "last_messages": None},
    "tool_choice": {"type": "function", "function": {"name": "f"}},
    "tools": [{"type": "function", "function": {"name": "f"}}],
    "metadata": {"k": "v"},
}


@settings(max_examples=300, deadline=None)
@given(field=st.sampled_from(sorted(RUN_WITH_ALL)), value=json_value)
def test_a_wrong_value_in_any_field_fails_only_as_validation_at_that_field(
    field: str, value: Any
) -> None:
    data = {**RUN_WITH_ALL, field: value}
    outcome: Run | ResponseValidationError
    try:
        outcome = Run.from_dict(data)
    except ResponseValidationError as exc:
        outcome = exc
    if isinstance(outcome, ResponseValidationError):
        assert outcome.path.startswith(field)
    else:
        assert outcome.to_dict() == data


# --- the models require what the spec requires ---------------------------------------


def _variants(schemas: dict[str, Any], schema: dict[str, Any]) -> list[dict[str, Any]]:
    while "$ref" in schema:
        schema = schemas[schema["$ref"].split("/")[-1]]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return [v for member in schema[key] for v in _variants(schemas, member)]
    return [schema]


def _models_in(tp: Any) -> list[Any]:
    """The model classes a field's type may hold."""
    origin = get_origin(tp) or tp
    if isinstance(origin, type) and issubclass(origin, Model):
        return [tp]
    found = union_spec(tp)
    if found is not None:
        members = found[0]
        return [*members.by_tag.values(), *([members.only] if members.only else [])]
    inner = optional_inner(tp)
    if inner is not None:
        return _models_in(inner)
    if origin is list:
        return _models_in(get_args(tp)[0])
    return []


# Where the service sent null though the schema says otherwise: the spec's own examples
# show it, so a client must take it as the API's, not as a deviation.
SENT_NULL = {"RunObject": {"instructions"}, "ListAssistantsResponse": {"first_id", "last_id"}}


# A model that serves two schemas, one with a field the other lacks: an attachment's
# tools are the assistant tools without their settings.
SHARED = {"MessageObject.attachments[].tools[]": {"file_search"}}


def _nullable(schemas: dict[str, Any], prop: dict[str, Any]) -> bool:
    """Whether a property's schema lets it be null (in any of the spec's spellings)."""
    if prop.get("nullable") or prop.get("type") == "null":
        return True
    if "$ref" in prop:
        return _nullable(schemas, schemas[prop["$ref"].split("/")[-1]])
    members = [m for key in ("anyOf", "oneOf", "allOf") for m in prop.get(key, [])]
    return any(_nullable(schemas, m) for m in members)


def test_every_model_requires_exactly_what_its_schema_requires(spec: dict[str, Any]) -> None:
    """A field the spec requires is one whose absence a tolerant client reports and a
    strict one refuses; a null where the spec allows none is reported and refused too.
    The models must say both for every object, nested ones too."""
    schemas = spec["components"]["schemas"]
    compared: list[str] = []
    mismatches: list[tuple[str, list[str], list[str]]] = []
    seen: set[tuple[int, Any]] = set()

    def walk(schema: dict[str, Any], tp: Any, where: str) -> None:
        if (id(schema), tp) in seen:
            return
        seen.add((id(schema), tp))
        cls = get_origin(tp) or tp
        for variant in _variants(schemas, schema):
            if variant.get("type") == "array":
                walk(variant["items"], tp, f"{where}[]")
                continue
            properties = variant.get("properties")
            if properties is None:
                continue
            fields = attrs.fields_dict(cls)
            kind = properties.get("type", {}).get("enum")
            tag = fields["type"].default if "type" in fields else None
            if kind and isinstance(tag, str) and tag not in kind:
                continue  # another member of the union
            wanted = set(variant.get("required", []))
            have = {
                name for name, a in fields.items() if not name.startswith("_") and spec_required(a)
            }
            compared.append(where)
            if wanted != have:
                mismatches.append((where, sorted(wanted - have), sorted(have - wanted)))
            outside = {n for n, a in fields.items() if a.metadata.get(NOT_IN_SPEC)}
            unknown = {n for n in fields if not n.startswith("_")} - set(properties)
            unknown -= SHARED.get(where, set())
            if unknown != outside:
                mismatches.append((f"{where} (not in spec)", sorted(unknown), sorted(outside)))
            null_ok = {name for name, prop in properties.items() if _nullable(schemas, prop)}
            null_ok |= outside
            null_ok |= SENT_NULL.get(where, set())
            marked = {name for name, a in fields.items() if spec_nullable(a)}
            if null_ok & set(fields) != marked:
                mismatches.append(
                    (f"{where} (null)", sorted(null_ok - marked), sorted(marked - null_ok))
                )
            types = _field_types(tp, cls)
            for name, prop in properties.items():
                for model in _models_in(types.get(name)):
                    walk(prop, model, f"{where}.{name}")

    for name, model_type in SCHEMA_MODEL.items():
        walk(schemas[name], model_type, name)
    assert mismatches == [], mismatches
    assert len(compared) > 60  # nested objects were reached, not only the top ones


@pytest.mark.parametrize(
    ("status", "resting", "finished"),
    [
        ("queued", False, False),
        ("in_progress", False, False),
        ("cancelling", False, False),
        ("requires_action", True, False),
        ("completed", True, True),
        ("failed", True, True),
        ("cancelled", True, True),
        ("expired", True, True),
        ("incomplete", True, True),
    ],
)
def test_a_run_rests_on_requires_action_and_finishes_only_at_its_end(
    status: str, resting: bool, finished: bool
) -> None:
    run = Run.from_dict({**RUN, "status": status})
    assert (run.is_resting, run.is_finished) == (resting, finished)
    assert run.is_terminal is run.is_resting  # the official SDK's word


def _tree(obj: Any) -> Any:
    """A decoded object with what equality leaves out (``_absent``, ``_extra``)."""
    if isinstance(obj, list):
        return [_tree(item) for item in obj]
    if not attrs.has(type(obj)):
        return obj
    return (
        type(obj),
        obj._absent,
        dict(obj._extra),
        {f.name: _tree(getattr(obj, f.name)) for f in attrs.fields(type(obj)) if f.name[0] != "_"},
    )


_PIECE: st.SearchStrategy[Any] = st.one_of(
    st.integers(-2, 3), st.text(max_size=5), st.none(), st.just([]), st.just({})
)


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=8),
    st.one_of(st.integers(0, 3), _PIECE),
    st.one_of(st.text(max_size=8), _PIECE),
    st.one_of(st.just([]), _PIECE, st.just([{"type": "file_citation", "index": 0}])),
    st.sampled_from(["", "role", "extra", "type", "object", "no annotations", "two blocks"]),
)
def test_a_message_delta_decodes_as_the_general_decoder_decodes_it(
    message_id: str, index: Any, value: Any, annotations: Any, change: str
) -> None:
    """Plain text deltas take a shortcut (most events of a stream): for them, and for
    every near miss, the event is the one the general decoder makes, field by field."""
    from assistants_async._decoding.converter import structure_event
    from assistants_async.models.events import (
        ThreadMessageDelta,
        event_from_payload,
        plain_text,
        plain_text_event,
    )

    text: dict[str, Any] = {"value": value, "annotations": annotations}
    block: dict[str, Any] = {"index": index, "type": "text", "text": text}
    payload: dict[str, Any] = {
        "id": message_id,
        "object": "thread.message.delta",
        "delta": {"content": [block]},
    }
    if change == "role":
        payload["delta"]["role"] = "assistant"
    elif change == "extra":
        block["future"] = 1
    elif change == "type":
        block["type"] = "image_url"
    elif change == "object":
        payload["object"] = "thread.message"
    elif change == "no annotations":
        del text["annotations"]
    elif change == "two blocks":
        payload["delta"]["content"].append(dict(block, index=1))

    def decoded(decode: Any) -> Any:
        try:
            return _tree(decode())
        except ResponseValidationError as exc:
            return str(exc)

    general = decoded(lambda: structure_event(ThreadMessageDelta, "thread.message.delta", payload))
    assert decoded(lambda: event_from_payload("thread.message.delta", payload)) == general
    # A stream's reader takes the event straight from its text, where it is plain.
    found = plain_text(json.dumps(payload))
    if found is not None:
        found_payload, message_id, found_index, found_text = found
        event = plain_text_event(message_id, found_index, found_text)
        assert (_tree(event), found_payload) == (general, payload)


def test_a_delta_with_an_integer_beyond_64_bits_is_left_to_the_general_decoder() -> None:
    from assistants_async.models.events import plain_text, plain_text_event

    text = {"value": "x", "annotations": []}
    block = {"index": 2**70, "type": "text", "text": text}
    data = {"id": "msg_1", "object": "thread.message.delta", "delta": {"content": [block]}}
    assert plain_text(json.dumps(data)) is None
    block["index"] = 2**62
    found = plain_text(json.dumps(data))
    assert found is not None
    payload, message_id, index, value = found
    assert payload["delta"]["content"][0]["index"] == index == 2**62
    assert plain_text_event(message_id, index, value).to_dict()["data"] == data
