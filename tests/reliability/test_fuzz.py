"""Fuzzing: responses generated from the spec's own schemas, requests from signatures."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistants_async import APIStatusError, ResponseValidationError
from assistants_async._decoding.converter import structure
from assistants_async.testing import FakeAssistantsServer

from ..test_models import RESPONSE_MODEL

json_leaf = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
json_value = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=4), inner, max_size=2)
    ),
    max_leaves=4,
)
UNKNOWN_KEY = st.text(min_size=1, max_size=6).map(lambda k: f"x_{k}")


class SchemaStrategies:
    """Hypothesis strategies for the spec's schemas, with unknown fields and enum values."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.schemas = spec["components"]["schemas"]

    def for_ref(self, name: str, depth: int = 0) -> st.SearchStrategy[Any]:
        return self.build(self.schemas[name], depth)

    def build(self, schema: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
        if "$ref" in schema:
            return st.deferred(lambda: self.for_ref(schema["$ref"].split("/")[-1], depth + 1))
        nullable = schema.get("nullable", False)
        if "allOf" in schema:
            members = [m for m in schema["allOf"] if m != {"nullable": True}]
            nullable = nullable or len(members) < len(schema["allOf"])
            base = self.build(members[0], depth)
        elif "anyOf" in schema or "oneOf" in schema:
            variants: list[Any] = schema.get("anyOf") or schema.get("oneOf") or []
            base = st.one_of([self.build(m, depth) for m in variants])
            if all(self.tagged(m) for m in variants):
                # a kind of tool, content or step this version does not know
                base = base | st.fixed_dictionaries(
                    {"type": st.just("new_kind"), "x_payload": json_value}
                )
        elif "enum" in schema:
            known = st.sampled_from(schema["enum"])
            # the API grows: now and then a value this version does not know
            base = known if schema.get("x-stainless-const") else known | st.just("new_value")
        else:
            base = self.by_type(schema, depth)
        return st.none() | base if nullable else base

    def tagged(self, schema: dict[str, Any]) -> bool:
        """Whether a union member is an object told apart by a constant ``type``."""
        if "$ref" in schema:
            schema = self.schemas[schema["$ref"].split("/")[-1]]
        kind = schema.get("properties", {}).get("type", {})
        return bool(kind.get("x-stainless-const"))

    def by_type(self, schema: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
        kind = schema.get("type")
        if kind == "string":
            return st.text(max_size=8)
        if kind == "integer":
            return st.integers(min_value=0, max_value=2**40)
        if kind == "number":
            return st.floats(min_value=0, max_value=2, allow_nan=False) | st.integers(0, 2)
        if kind == "boolean":
            return st.booleans()
        if kind == "null":
            return st.none()
        if kind == "array":
            if depth > 4:
                return st.just([])
            return st.lists(self.build(schema.get("items", {}), depth + 1), max_size=2)
        properties = schema.get("properties")
        if properties is None:
            values = schema.get("additionalProperties")
            if isinstance(values, dict) and values:  # a map, such as metadata
                return st.dictionaries(
                    st.text(max_size=4), self.build(values, depth + 1), max_size=2
                )
            # free-form object (function parameters, a JSON schema...)
            return st.dictionaries(st.text(max_size=4), json_value, max_size=2)
        required = set(schema.get("required", []))
        return st.fixed_dictionaries(
            {k: self.build(v, depth + 1) for k, v in properties.items() if k in required},
            optional={
                **{k: self.build(v, depth + 1) for k, v in properties.items() if k not in required},
                # a field a later version of the API added
                "x_new_field": json_value,
            },
        )


def response_schema(spec: dict[str, Any], operation: str) -> str:
    for item in spec["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and op.get("operationId") == operation:
                ref: str = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
                return ref.split("/")[-1]
    raise KeyError(operation)


@pytest.mark.parametrize("operation", sorted(RESPONSE_MODEL))
def test_generated_responses_decode_and_round_trip(spec: dict[str, Any], operation: str) -> None:
    strategy = SchemaStrategies(spec).for_ref(response_schema(spec, operation))
    model_type = RESPONSE_MODEL[operation]

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=strategy)
    def check(data: Any) -> None:
        model = structure(data, model_type)
        assert model.to_dict() == data

    check()


@settings(max_examples=150, deadline=None)
@given(
    data=st.recursive(
        json_value,
        lambda inner: st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "object",
                    "type",
                    "data",
                    "tools",
                    "content",
                    "status",
                    "created_at",
                    "step_details",
                    "required_action",
                    "x",
                ]
            ),
            inner,
            max_size=6,
        ),
        max_leaves=12,
    ),
    operation=st.sampled_from(sorted(RESPONSE_MODEL)),
)
def test_garbage_only_ever_fails_as_a_validation_error(data: Any, operation: str) -> None:
    with contextlib.suppress(ResponseValidationError):
        structure(data, RESPONSE_MODEL[operation])


ROLES = st.sampled_from(["user", "assistant"]) | st.text(max_size=6)
METADATA = st.none() | st.dictionaries(st.text(max_size=70), st.text(max_size=600), max_size=18)


async def attempt(call: Callable[[], Any]) -> str:
    """How one call ended: sent and answered (the status), or refused before sending."""
    try:
        await call()
    except (ValueError, TypeError):
        return "refused before sending"
    except APIStatusError as exc:
        return str(exc.status_code)
    return "200"


async def test_generated_requests_get_a_typed_answer_never_a_crash() -> None:
    """Arbitrary arguments: refused before sending, or answered 200/4xx; never a 5xx."""
    examples: list[dict[str, Any]] = []

    @settings(max_examples=120, deadline=None)
    @given(
        role=ROLES,
        content=st.text(max_size=20)
        | st.lists(
            st.fixed_dictionaries(
                {
                    "type": st.sampled_from(["text", "image_url", "bogus"]),
                    "text": st.text(max_size=5),
                }
            ),
            max_size=2,
        ),
        metadata=METADATA,
        limit=st.none() | st.integers(-5, 120),
        order=st.none() | st.sampled_from(["asc", "desc", "sideways"]),
        name=st.none() | st.text(max_size=300),
        temperature=st.none() | st.floats(-1, 3, allow_nan=False),
    )
    def generate(**kwargs: Any) -> None:
        examples.append(kwargs)

    generate()
    outcomes: Counter[str] = Counter()
    async with FakeAssistantsServer() as server, server.client(max_retries=0) as client:
        thread = await client.threads.create()
        for kw in examples:
            calls: list[Callable[[], Any]] = [
                partial(
                    client.messages.create,
                    thread.id,
                    role=kw["role"],
                    content=kw["content"],
                    metadata=kw["metadata"],
                ),
                partial(
                    client.assistants.create,
                    model="gpt-4o",
                    name=kw["name"],
                    temperature=kw["temperature"],
                    metadata=kw["metadata"],
                ),
                partial(client.messages.list, thread.id, limit=kw["limit"], order=kw["order"]),
            ]
            for call in calls:
                outcomes[await attempt(call)] += 1
    answered = [int(o) for o in outcomes if o.isdigit()]
    assert all(status < 500 for status in answered), outcomes
    assert all(r.status < 500 for r in server.requests)
    assert {"200", "refused before sending"} <= set(outcomes)
