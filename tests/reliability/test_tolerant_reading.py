"""Spec-valid responses with one field broken: a tolerant client decodes them reporting
exactly that one deviation, a strict one refuses them naming its path, and the fast
decoder never accepts them alone. Only a response's identity cannot be broken so."""

from __future__ import annotations

from typing import Any, Literal, get_args, get_origin

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistants_async import ResponseValidationError
from assistants_async._decoding.converter import structure
from assistants_async._decoding.fast import _field_types, fast_decoder
from assistants_async._decoding.reader import format_path
from assistants_async._model import (
    NO_TOLERANCE,
    Model,
    optional_inner,
    spec_nullable,
    spec_required,
    union_spec,
)
from assistants_async.models import (
    Assistant,
    AssistantDeleted,
    Message,
    MessageDeleted,
    Run,
    RunStep,
    Thread,
    ThreadDeleted,
)

from ..payloads import tolerant
from ..test_models import RESPONSE_MODEL
from .test_fuzz import SchemaStrategies, response_schema

Path = tuple[str | int, ...]

# What a response cannot do without: no meaning can be given to the object otherwise.
IDENTITY = {
    Assistant: {"id", "object", "created_at", "model"},
    Thread: {"id", "object", "created_at"},
    Message: {"id", "object", "created_at", "thread_id", "role"},
    Run: {"id", "object", "created_at", "thread_id", "assistant_id", "status", "model"},
    RunStep: {
        "id",
        "object",
        "created_at",
        "assistant_id",
        "thread_id",
        "run_id",
        "type",
        "status",
        "step_details",
    },
    AssistantDeleted: {"id", "object", "deleted"},
    ThreadDeleted: {"id", "object", "deleted"},
    MessageDeleted: {"id", "object", "deleted"},
}


def identity(cls: type[Model]) -> set[str]:
    """The fields a tolerant client still fails without: no default, or the kind tag."""
    types = _field_types(cls, cls)
    return {
        a.name
        for a in attrs.fields(cls)
        if not a.name.startswith("_")
        and (
            a.default is attrs.NOTHING
            or (a.name == "object" and get_origin(types[a.name]) is Literal)
        )
    }


def test_the_identity_of_each_object_is_what_the_models_declare() -> None:
    for cls, fields in IDENTITY.items():
        assert identity(cls) == fields, cls.__name__


def _kind(tp: Any) -> str:
    """The JSON kind a type wants (``any`` when it takes every kind)."""
    if tp is Any:
        return "any"
    inner = optional_inner(tp)
    if inner is not None and union_spec(tp) is None:
        return _kind(inner)
    if tp in (str,) or (get_origin(tp) is Literal and isinstance(get_args(tp)[0], str)):
        return "string"
    if tp is bool:
        return "boolean"
    if tp in (int, float):
        return "number"
    origin = get_origin(tp) or tp
    if origin is list:
        return "array"
    return "object"  # a model, a map or a union of objects


# A value of another kind than each wants.
_RETYPED = {"string": 7, "number": "7", "boolean": "yes", "array": "x", "object": 7}


def mutations(
    value: Any, tp: Any, path: Path = (), tag: str | None = None
) -> list[tuple[Path, str, Any, Path]]:
    """Every single-field change to ``value`` that the spec does not allow, as
    (path, what, new value, where it fails): nulled where null is not allowed, deleted
    where the field is required, retyped anywhere. A union member's tag fails where the
    union is (it cannot tell what the member is). Unknown kinds and fields are not
    entered: the spec lets them hold anything."""
    found: list[tuple[Path, str, Any, Path]] = []
    origin = get_origin(tp) or tp
    inner = optional_inner(tp)
    union = union_spec(tp)
    if union is not None and type(value) is dict:
        members, _ = union
        kind = value.get(members.tag or "")
        cls = members.only or (members.by_tag.get(kind) if type(kind) is str else None)
        if cls is not None:
            found += mutations(value, cls, path, members.tag)
    elif inner is not None and value is not None:
        found += mutations(value, inner, path)
    elif origin is list and type(value) is list:
        for i, item in enumerate(value):
            found += mutations(item, get_args(tp)[0], (*path, i))
    elif isinstance(origin, type) and issubclass(origin, Model) and type(value) is dict:
        types = _field_types(tp, origin)
        for a in attrs.fields(origin):
            if a.name.startswith("_") or a.name not in value:
                continue
            where = (*path, a.name)
            fails_at = path if a.name == tag else where
            kind = _kind(types[a.name])
            if kind != "any":
                found.append((where, "retyped", _RETYPED[kind], fails_at))
            if value[a.name] is not None and not spec_nullable(a):
                found.append((where, "nulled", None, fails_at))
            if spec_required(a):
                found.append((where, "deleted", None, fails_at))
            found += mutations(value[a.name], types[a.name], where)
    return found


def apply(data: Any, path: Path, what: str, new: Any) -> Any:
    if not path:
        return new
    copy: Any = dict(data) if type(data) is dict else list(data)
    head = path[0]
    if len(path) == 1:
        if what == "deleted":
            del copy[head]
        else:
            copy[head] = None if what == "nulled" else new
        return copy
    copy[head] = apply(data[head], path[1:], what, new)
    return copy


def root_field(model_type: Any, path: Path) -> tuple[type[Model], str]:
    """The top-level object a path is in (a page's item, for a list) and its field."""
    origin = get_origin(model_type) or model_type
    if attrs.fields_dict(origin).get("data") and attrs.fields_dict(origin)["data"].metadata.get(
        NO_TOLERANCE
    ):
        if len(path) >= 3:
            return get_args(model_type)[0], str(path[2])
        return origin, str(path[0])  # the page's own fields
    return origin, str(path[0])


def fails_tolerant(model_type: Any, path: Path, what: str) -> bool:
    cls, field = root_field(model_type, path)
    if cls not in IDENTITY:  # a page's own fields: only data and has_more are needed
        return field in {"data", "has_more"} and len(path) == 1
    if field == "object" and what == "deleted":
        return False  # no kind given is not another kind: the one asked for is meant
    return len(path) == (3 if cls is not model_type else 1) and field in IDENTITY[cls]


@pytest.mark.parametrize("operation", sorted(RESPONSE_MODEL))
def test_one_broken_field_is_one_deviation_or_a_strict_error_at_its_path(
    spec: dict[str, Any], operation: str
) -> None:
    strategy = SchemaStrategies(spec).for_ref(response_schema(spec, operation))
    model_type = RESPONSE_MODEL[operation]
    tried = 0

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=strategy, pick=st.integers(min_value=0))
    def check(data: Any, pick: int) -> None:
        nonlocal tried
        choices = mutations(data, model_type)
        if not choices:
            return
        path, what, new, fails_at = choices[pick % len(choices)]
        broken = apply(data, path, what, new)
        where = format_path(path)
        # The fast decoder never takes it alone: the reader always sees it.
        with pytest.raises(Exception):  # noqa: B017, PT011 - any refusal will do
            fast_decoder(model_type)(broken)
        with pytest.raises(ResponseValidationError) as strict:
            structure(broken, model_type)
        assert strict.value.path == where, (what, broken)
        if fails_tolerant(model_type, fails_at, what):
            with pytest.raises(ResponseValidationError) as caught:
                tolerant(broken, model_type)
            assert caught.value.path == where
        else:
            _, found = tolerant(broken, model_type)
            assert [d.path for d in found] == [where], (what, broken)
        tried += 1

    check()
    assert tried > 0
