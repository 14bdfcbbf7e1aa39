"""Request fields: left out is not sent, None is JSON null where the spec allows it and a
TypeError where it does not, and every field is checked against the spec's request
schema before anything is sent. Driven by tables built from the methods' signatures and
the schema table (itself held to the spec by tests/test_fake_spec.py)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

import pytest

from assistants_async import NOT_GIVEN, AsyncClient, AsyncPaginator, NotGiven
from assistants_async._schema import REQUEST_BODIES
from assistants_async._validators import (
    AnyObj,
    Arr,
    Bool,
    Either,
    Metadata,
    Nullable,
    Num,
    Obj,
    Str,
    Tagged,
    V,
)
from assistants_async.resources import (
    AsyncAssistants,
    AsyncMessages,
    AsyncRuns,
    AsyncSteps,
    AsyncThreads,
)
from assistants_async.sync import Client
from assistants_async.testing import FakeAssistantsServer

from .conftest import ScriptedServer, json_reply
from .payloads import ASSISTANT, MESSAGE, RUN, THREAD

# (method, operationId, answer, its required positional and keyword arguments)
OPERATIONS: list[
    tuple[Callable[..., Any], str, dict[str, Any], tuple[str, ...], dict[str, Any]]
] = [
    (AsyncAssistants.create, "createAssistant", ASSISTANT, (), {"model": "gpt-4o"}),
    (AsyncAssistants.update, "modifyAssistant", ASSISTANT, ("asst_1",), {}),
    (AsyncThreads.create, "createThread", THREAD, (), {}),
    (AsyncThreads.update, "modifyThread", THREAD, ("thread_1",), {}),
    (AsyncThreads.create_and_run, "createThreadAndRun", RUN, (), {"assistant_id": "asst_1"}),
    (
        AsyncMessages.create,
        "createMessage",
        MESSAGE,
        ("thread_1",),
        {"role": "user", "content": "hi"},
    ),
    (AsyncMessages.update, "modifyMessage", MESSAGE, ("thread_1", "msg_1"), {}),
    (AsyncRuns.create, "createRun", RUN, ("thread_1",), {"assistant_id": "asst_1"}),
    (AsyncRuns.update, "modifyRun", RUN, ("thread_1", "run_1"), {}),
]


def optional_fields(method: Callable[..., Any], operation: str) -> list[str]:
    schema = REQUEST_BODIES[operation][1]
    assert isinstance(schema, Obj)
    return [
        name
        for name, parameter in inspect.signature(method).parameters.items()
        if name in schema.fields and parameter.default is NOT_GIVEN
    ]


def nullable(operation: str, field: str) -> bool:
    schema = REQUEST_BODIES[operation][1]
    assert isinstance(schema, Obj)
    return isinstance(schema.fields[field], Nullable | Metadata)


CASES = [
    (method, operation, answer, args, kwargs, field)
    for method, operation, answer, args, kwargs in OPERATIONS
    for field in optional_fields(method, operation)
]


def test_every_optional_field_defaults_to_not_given_and_says_if_it_takes_none() -> None:
    assert repr(NOT_GIVEN) == "NOT_GIVEN"
    assert not NOT_GIVEN
    assert NotGiven() is NOT_GIVEN
    for method, operation, _, _, _, field in CASES:
        annotation = str(inspect.signature(method).parameters[field].annotation)
        assert "NotGiven" in annotation, (method, field)
        assert annotation.endswith("| None") == nullable(operation, field), (method, field)


async def call(
    client: AsyncClient | Client,
    method: Callable[..., Any],
    args: tuple[str, ...],
    kwargs: dict[str, Any],
    **more: Any,
) -> Any:
    resource = getattr(client, method.__qualname__.split(".")[0].removeprefix("Async").lower())
    bound = getattr(resource, method.__name__)
    if isinstance(client, Client):
        return await asyncio.to_thread(bound, *args, **kwargs, **more)
    return await bound(*args, **kwargs, **more)


@pytest.mark.parametrize("flavour", ["async", "blocking"])
@pytest.mark.parametrize(
    ("method", "operation", "answer", "args", "kwargs", "field"),
    CASES,
    ids=[f"{c[1]}.{c[5]}" for c in CASES],
)
async def test_omitted_is_absent_none_is_null_or_refused(
    server: ScriptedServer,
    flavour: str,
    method: Callable[..., Any],
    operation: str,
    answer: dict[str, Any],
    args: tuple[str, ...],
    kwargs: dict[str, Any],
    field: str,
) -> None:
    server.reply(json_reply(body=answer))
    client: Any = (
        AsyncClient(api_key="sk-1", base_url=server.url)
        if flavour == "async"
        else Client(api_key="sk-1", base_url=server.url)
    )
    try:
        await call(client, method, args, kwargs)
        assert field not in server.seen[-1].json()
        if nullable(operation, field):
            await call(client, method, args, kwargs, **{field: None})
            sent = server.seen[-1].json()
            assert field in sent
            assert sent[field] is None
        else:
            before = len(server.seen)
            with pytest.raises(TypeError, match=field):
                await call(client, method, args, kwargs, **{field: None})
            assert len(server.seen) == before
    finally:
        if isinstance(client, Client):
            await asyncio.to_thread(client.close)
        else:
            await client.close()


async def test_the_fake_server_clears_what_null_sends() -> None:
    async with FakeAssistantsServer() as fake, fake.client() as client:
        asst = await client.assistants.create(
            model="gpt-4o",
            name="n",
            description="d",
            instructions="i",
            temperature=1.5,
            top_p=0.5,
            response_format={"type": "json_object"},
            metadata={"k": "v"},
        )
        cleared = await client.assistants.update(
            asst.id,
            name=None,
            description=None,
            instructions=None,
            temperature=None,
            top_p=None,
            response_format=None,
        )
        assert (cleared.name, cleared.description, cleared.instructions) == (None, None, None)
        assert (cleared.temperature, cleared.top_p, cleared.response_format) == (None, None, None)
        assert cleared.metadata == {"k": "v"}  # left out: kept
        assert (await client.assistants.retrieve(asst.id)).instructions is None
        thread = await client.threads.create(metadata={"k": "v"})
        assert (await client.threads.update(thread.id, metadata=None)).metadata == {}


# --- every parameter, a wrong type and an out-of-range value ------------------------------


def _inner(validator: V) -> V:
    return validator.inner if isinstance(validator, Nullable) else validator


def wrong_type(validator: V) -> Any:
    inner = _inner(validator)
    if isinstance(inner, Str):
        return 12345
    if isinstance(inner, Num):
        return "0.5"
    if isinstance(inner, Bool):
        return "yes"
    if isinstance(inner, Arr):
        return 7
    if isinstance(inner, Obj | Tagged | AnyObj | Metadata):
        return ["not", "an", "object"]
    if isinstance(inner, Either):
        return 3.5
    raise AssertionError(f"no wrong value for {inner!r}")


def out_of_range(validator: V) -> Any:
    """A value of the right type the spec refuses, or NOT_GIVEN when it sets no bound."""
    inner = _inner(validator)
    if isinstance(inner, Str) and inner.enum is not None:
        return "bogus"
    if isinstance(inner, Str) and inner.max_len is not None:
        return "x" * (inner.max_len + 1)
    if isinstance(inner, Num) and inner.high is not None:
        return inner.high + 1
    if isinstance(inner, Num) and inner.low is not None:
        return int(inner.low) - 1
    if isinstance(inner, Arr) and inner.max_items is not None:
        return [{"type": "code_interpreter"}] * (inner.max_items + 1)
    if isinstance(inner, Arr) and isinstance(inner.item, Tagged):
        return [{"type": "bogus"}]
    if isinstance(inner, Tagged):
        return {"type": "bogus"}
    if isinstance(inner, Metadata):
        return {f"k{i}": "v" for i in range(17)}
    if isinstance(inner, Either) and isinstance(inner.text, Str) and inner.text.enum:
        return "bogus"
    return NOT_GIVEN


def field_cases() -> list[tuple[Any, ...]]:
    cases = []
    for method, operation, _, args, kwargs in OPERATIONS:
        schema = REQUEST_BODIES[operation][1]
        assert isinstance(schema, Obj)
        parameters = inspect.signature(method).parameters
        for field, validator in schema.fields.items():
            if field not in parameters or field in ("assistant_id", "stream"):
                continue
            cases.append((method, operation, args, kwargs, field, "type", wrong_type(validator)))
            bad = out_of_range(validator)
            if bad is not NOT_GIVEN:
                cases.append((method, operation, args, kwargs, field, "range", bad))
    return cases


FIELD_CASES = field_cases()


@pytest.mark.parametrize(
    ("method", "operation", "args", "kwargs", "field", "kind", "value"),
    FIELD_CASES,
    ids=[f"{c[1]}.{c[4]}-{c[5]}" for c in FIELD_CASES],
)
async def test_each_parameter_is_checked_before_sending(
    server: ScriptedServer,
    method: Callable[..., Any],
    operation: str,
    args: tuple[str, ...],
    kwargs: dict[str, Any],
    field: str,
    kind: str,
    value: Any,
) -> None:
    server.reply(json_reply(body={}))
    given = {k: v for k, v in kwargs.items() if k != field}
    async with AsyncClient(api_key="sk-1", base_url=server.url) as client:
        with pytest.raises(TypeError if kind == "type" else ValueError, match=field):
            await call(client, method, args, given, **{field: value})
    assert server.seen == []


def test_the_table_reaches_every_body_parameter_and_the_issues_examples() -> None:
    checked = {(c[1], c[4]) for c in FIELD_CASES}
    for method, operation, _, _, _ in OPERATIONS:
        schema = REQUEST_BODIES[operation][1]
        assert isinstance(schema, Obj)
        for name in inspect.signature(method).parameters:
            if name in schema.fields and name not in ("assistant_id", "stream"):
                assert (operation, name) in checked
    assert ("createAssistant", "temperature") in checked
    assert ("createMessage", "content") in checked


@pytest.mark.parametrize(
    ("call_it", "error", "words"),
    [
        (lambda c: c.assistants.create(model="m", temperature="0.5"), TypeError, "temperature"),
        (lambda c: c.assistants.create(model="m", tools=[{"type": "bogus"}]), ValueError, "bogus"),
        (
            lambda c: c.messages.create("thread_1", role="user", content={"text": "hi"}),
            TypeError,
            "content",
        ),
    ],
    ids=["temperature-string", "tool-type", "content-dict"],
)
async def test_the_issues_examples_are_refused(
    server: ScriptedServer, call_it: Any, error: type[Exception], words: str
) -> None:
    async with AsyncClient(api_key="sk-1", base_url=server.url) as client:
        with pytest.raises(error, match=words):
            await call_it(client)
    assert server.seen == []


# --- and every other parameter: ids, list options, include, tool outputs ------------------

# A parameter name -> (a value of the wrong type, a value of the right type out of range).
OTHER_PARAMETERS: dict[str, tuple[Any, Any]] = {
    "assistant_id": (123, "a/b"),
    "thread_id": (123, ""),
    "message_id": (123, "../x"),
    "run_id": (123, ""),
    "step_id": (123, "a#b"),
    "limit": ("5", 500),
    "order": (5, "newest"),
    "after": (5, ""),
    "before": (5, ""),
    "max_items": ("5", -1),
    "include": ("step_details", ["bogus"]),
    "tool_outputs": ("21C", [{"output": "21C"}]),
}
RESOURCES = (AsyncAssistants, AsyncThreads, AsyncMessages, AsyncRuns, AsyncSteps)
SPEC_METHODS = (
    "create",
    "retrieve",
    "update",
    "delete",
    "list",
    "create_and_run",
    "cancel",
    "submit_tool_outputs",
)
VALID = {
    "assistant_id": "asst_1",
    "thread_id": "thread_1",
    "message_id": "msg_1",
    "run_id": "run_1",
    "step_id": "step_1",
    "model": "gpt-4o",
    "role": "user",
    "content": "hi",
    "tool_outputs": [{"tool_call_id": "call_1", "output": "ok"}],
}


def other_cases() -> list[tuple[Any, ...]]:
    cases = []
    for resource in RESOURCES:
        for name in SPEC_METHODS:
            method = getattr(resource, name, None)
            if method is None:
                continue
            parameters = inspect.signature(method).parameters
            for parameter in parameters.values():
                if parameter.name not in OTHER_PARAMETERS:
                    continue
                for kind, value in zip(
                    ("type", "range"), OTHER_PARAMETERS[parameter.name], strict=True
                ):
                    cases.append((resource, name, parameter.name, kind, value))
    return cases


OTHER_CASES = other_cases()


@pytest.mark.parametrize(
    ("resource", "name", "parameter", "kind", "value"),
    OTHER_CASES,
    ids=[f"{c[0].__name__}.{c[1]}.{c[2]}-{c[3]}" for c in OTHER_CASES],
)
async def test_every_other_parameter_is_checked_before_sending(
    server: ScriptedServer, resource: type, name: str, parameter: str, kind: str, value: Any
) -> None:
    server.reply(json_reply(body={}))
    signature = inspect.signature(getattr(resource, name))
    args, kwargs = [], {}
    for p in list(signature.parameters.values())[1:]:
        given = value if p.name == parameter else VALID.get(p.name, p.default)
        if given is inspect.Parameter.empty:
            continue
        if p.kind is p.POSITIONAL_OR_KEYWORD:
            args.append(given)
        elif p.name == parameter or p.default is inspect.Parameter.empty:
            kwargs[p.name] = given
    async with AsyncClient(api_key="sk-1", base_url=server.url) as client:
        bound = getattr(getattr(client, resource.__name__.removeprefix("Async").lower()), name)
        with pytest.raises(TypeError if kind == "type" else ValueError, match=parameter):
            await invoke(bound, args, kwargs)
    assert server.seen == []


async def invoke(bound: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]) -> None:
    """Call, then await what needs it (a paginator is checked when list() is called)."""
    result = bound(*args, **kwargs)
    if inspect.isawaitable(result) and not isinstance(result, AsyncPaginator):
        await result


def test_the_other_table_reaches_every_parameter_of_every_method() -> None:
    reached = {(c[0], c[1], c[2]) for c in OTHER_CASES}
    options = {"timeout", "extra_headers", "extra_query", "extra_body", "self"}
    for resource in RESOURCES:
        for name in SPEC_METHODS:
            method = getattr(resource, name, None)
            if method is None:
                continue
            for parameter in inspect.signature(method).parameters:
                if parameter in options:
                    continue
                in_body = any(
                    c[0] is method and c[4] == parameter for c in FIELD_CASES
                ) or parameter in ("assistant_id",)
                assert in_body or (resource, name, parameter) in reached, (name, parameter)
