"""Requests generated from the 23 methods' own signatures, sent to the fake server.

Each call is refused before sending (ValueError/TypeError naming the parameter), or
answered below 500 and decoded into its model; a body that is sent is exactly the
arguments given, models and all.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Union

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistants_async import NOT_GIVEN, APIStatusError, AsyncClient, NotGiven
from assistants_async._decoding.converter import to_json_data
from assistants_async._model import Model, Unknown
from assistants_async.resources import (
    AsyncAssistants,
    AsyncMessages,
    AsyncRuns,
    AsyncSteps,
    AsyncThreads,
)
from assistants_async.testing import FakeAssistantsServer

OPTIONS = {"timeout", "extra_headers", "extra_query", "extra_body"}
OPERATIONS = [
    (resource, name)
    for resource, names in [
        (AsyncAssistants, ["create", "retrieve", "update", "list", "delete"]),
        (AsyncThreads, ["create", "retrieve", "update", "delete", "create_and_run"]),
        (AsyncMessages, ["create", "retrieve", "update", "list", "delete"]),
        (AsyncRuns, ["create", "retrieve", "update", "list", "cancel", "submit_tool_outputs"]),
        (AsyncSteps, ["retrieve", "list"]),
    ]
    for name in names
]
json_value = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner, max_size=2)
    ),
    max_leaves=4,
)


def strategy_for(hint: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """A strategy for an annotation: right-typed values, and for enums some wrong ones."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any or depth > 3:
        return json_value
    if hint is type(None):
        return st.none()
    if hint is NotGiven:
        return st.just(NOT_GIVEN)
    if origin in (Union, types.UnionType):
        return st.one_of([strategy_for(a, depth) for a in args])
    if origin is Literal:
        return st.sampled_from(args) | st.text(max_size=5)
    if origin in (Mapping, dict):
        return st.dictionaries(st.text(max_size=70), strategy_for(args[1], depth + 1), max_size=3)
    if origin in (Sequence, list):
        return st.lists(strategy_for(args[0], depth + 1), max_size=2)
    if hint is Unknown:
        return st.builds(Unknown, type=st.text(max_size=5), raw=st.just({"type": "x"}))
    if isinstance(hint, type) and issubclass(hint, Model):
        attrs.resolve_types(hint)
        fields = {
            f.alias: strategy_for(f.type, depth + 1)
            for f in attrs.fields(hint)
            if not f.name.startswith("_") and f.default is attrs.NOTHING
        }
        return st.builds(hint, **fields)
    simple = {
        str: st.text(max_size=12),
        int: st.integers(-3, 400),
        bool: st.booleans(),
        float: st.floats(-1, 3, allow_nan=False),
    }
    if hint in simple:
        return simple[hint]
    raise AssertionError(f"no strategy for {hint!r}")


def arguments(
    method: Any, ids: dict[str, str]
) -> st.SearchStrategy[tuple[list[Any], dict[str, Any]]]:
    hints = typing.get_type_hints(method)
    positional, required, optional = [], {}, {}
    for name, parameter in inspect.signature(method).parameters.items():
        if name == "self" or name in OPTIONS or name == "max_items":
            continue
        if name.endswith("_id"):  # mostly a real id, sometimes anything at all
            strategy = st.just(ids.get(name, "x_missing")) | st.text(max_size=4)
        else:
            strategy = strategy_for(hints[name])
        if parameter.kind is parameter.POSITIONAL_OR_KEYWORD:
            positional.append(strategy)
        elif parameter.default is parameter.empty:
            required[name] = strategy
        else:
            optional[name] = strategy
    return st.tuples(
        st.tuples(*positional).map(list), st.fixed_dictionaries(required, optional=optional)
    )


async def outcome(
    client: AsyncClient, resource: type, name: str, args: list[Any], kwargs: dict[str, Any]
) -> str:
    target = getattr(getattr(client, resource.__name__.removeprefix("Async").lower()), name)
    try:
        result = target(*args, **kwargs)
        await result
    except (ValueError, TypeError):
        return "refused before sending"
    except APIStatusError as exc:
        return str(exc.status_code)
    return "200"


@pytest.mark.parametrize(("resource", "name"), OPERATIONS, ids=lambda x: getattr(x, "__name__", x))
async def test_generated_arguments_get_a_typed_answer(resource: type, name: str) -> None:
    method = getattr(resource, name)
    server = FakeAssistantsServer()
    async with server, server.client(max_retries=0) as client:
        asst = await client.assistants.create(model="gpt-4o")
        thread = await client.threads.create(messages=[{"role": "user", "content": "hi"}])
        run = await client.runs.create(thread.id, assistant_id=asst.id)
        steps = await client.steps.list(thread.id, run.id)
        message = (await client.messages.list(thread.id)).data[0]
        ids = {
            "assistant_id": asst.id,
            "thread_id": thread.id,
            "run_id": run.id,
            "message_id": message.id,
            "step_id": steps.data[0].id if steps.data else "x",
        }
        examples: list[tuple[list[Any], dict[str, Any]]] = []

        @settings(
            max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        @given(call=arguments(method, ids))
        def collect(call: tuple[list[Any], dict[str, Any]]) -> None:
            examples.append(call)

        collect()
        seen: dict[str, int] = {}
        for args, kwargs in examples:
            sent_before = len(server.requests)
            got = await outcome(client, resource, name, args, kwargs)
            seen[got] = seen.get(got, 0) + 1
            if got == "refused before sending":
                assert len(server.requests) == sent_before
            else:
                assert int(got) < 500
                logged = server.requests[-1]
                if logged.method == "POST" and got == "200" and name != "cancel":
                    given_fields = {
                        k: to_json_data(v)
                        for k, v in kwargs.items()
                        if v is not NOT_GIVEN and k not in ("include",)
                    }
                    assert logged.body == given_fields
    assert all(r.status < 500 for r in server.requests), seen
    assert sum(seen.values()) == len(examples) > 0
    # every kind of outcome shows up across the operations; each one must at least be sent
    assert set(seen) - {"refused before sending"}
