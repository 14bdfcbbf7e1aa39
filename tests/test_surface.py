"""Every async class of the public surface has a blocking twin with the same members.

Members are compared on live objects, so instance attributes count as much as methods
and properties; methods must take the same parameters and return the blocking twin of
what the async one returns. The few intended differences are listed, with why.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest

from assistants_async import AsyncClient, AsyncPaginator
from assistants_async._response import OpenStream
from assistants_async._streaming import AsyncAssistantStream
from assistants_async.models import Assistant, Page
from assistants_async.resources import (
    AsyncAssistants,
    AsyncMessages,
    AsyncRuns,
    AsyncSteps,
    AsyncThreads,
)
from assistants_async.sync import Client, SyncPaginator
from assistants_async.sync import _resources as sync_resources
from assistants_async.sync._stream import SyncAssistantStream, SyncOpenStream

# Async name -> blocking name, in annotations.
TWINS = {
    "AsyncPaginator": "SyncPaginator",
    "AsyncAssistantStream": "SyncAssistantStream",
    "OpenStream": "SyncOpenStream",
    "AsyncClient": "Client",
}

# Intended differences: (where, member) -> why.
INTENDED = {
    # An aiohttp session belongs to one loop; the blocking client runs its own.
    ("AsyncClient.__init__", "session"): "constructor only",
    # Takes blocking methods, typed by overloads: same parameters, other annotations.
    ("Client", "with_raw_response"): "names and kinds compared, not types",
}


class FakeResponse:
    """Enough of an aiohttp response for OpenStream's constructor (no I/O)."""

    status = 200
    headers: dict[str, str] = {}  # noqa: RUF012
    closed = False

    def close(self) -> None:
        self.closed = True


def members(obj: Any) -> dict[str, Any]:
    """Public members: methods as their functions, data (attributes, properties) as None."""
    found = {}
    for name in dir(obj):
        if name.startswith("_"):
            continue
        value = getattr(obj, name)
        found[name] = value.__func__ if inspect.ismethod(value) else None
    return found


def blocking_annotation(annotation: object) -> str:
    text = str(annotation)
    for async_name, sync_name in TWINS.items():
        text = text.replace(async_name, sync_name)
    return text


def surface_differences(async_obj: Any, sync_obj: Any) -> list[str]:
    """What differs between an async object's public members and its twin's."""
    problems = []
    a_members, s_members = members(async_obj), members(sync_obj)
    name_s = type(sync_obj).__name__
    for name in sorted(set(a_members) | set(s_members)):
        if name not in s_members:
            problems.append(f"{name_s} lacks {name}")
            continue
        if name not in a_members:
            problems.append(f"{name_s}.{name} has no async twin")
            continue
        a, s = a_members[name], s_members[name]
        if (a is None) != (s is None):
            problems.append(f"{name}: a method on one side, data on the other")
            continue
        if a is None:
            continue
        sig_a, sig_s = inspect.signature(a), inspect.signature(s)
        if (name_s, name) in INTENDED:
            shape_a = [(p.name, p.kind) for p in sig_a.parameters.values()]
            if shape_a != [(p.name, p.kind) for p in sig_s.parameters.values()]:
                problems.append(f"{name}: parameters differ: {sig_a} vs {sig_s}")
            continue
        if list(sig_a.parameters.values())[1:] != list(sig_s.parameters.values())[1:]:
            problems.append(f"{name}: parameters differ: {sig_a} vs {sig_s}")
        expected = blocking_annotation(sig_a.return_annotation)
        if inspect.isasyncgenfunction(a) and expected.startswith("AsyncGenerator["):
            expected = (
                "Iterator[" + expected.removeprefix("AsyncGenerator[").rsplit(",", 1)[0] + "]"
            )
        if inspect.isasyncgenfunction(a) and expected.startswith("AsyncIterator["):
            expected = "Iterator[" + expected.removeprefix("AsyncIterator[")
        if str(sig_s.return_annotation) != expected:
            problems.append(f"{name}: returns {sig_s.return_annotation}, expected {expected}")
    constructor = _constructor_differences(type(async_obj), type(sync_obj))
    return problems + constructor


def _constructor_differences(async_cls: type, sync_cls: type) -> list[str]:
    if async_cls is not AsyncClient:
        return []
    a = inspect.signature(async_cls.__init__).parameters
    s = inspect.signature(sync_cls.__init__).parameters  # type: ignore[misc]
    intended = {p for (where, p) in INTENDED if where == "AsyncClient.__init__"}
    left = [(p.name, p.kind, p.default, p.annotation) for p in a.values() if p.name not in intended]
    right = [(p.name, p.kind, p.default, p.annotation) for p in s.values()]
    return [] if left == right else [f"constructors differ: {left} vs {right}"]


def pairs() -> Iterator[tuple[str, Any, Any]]:
    """Live twins, made without I/O; the blocking client's thread is stopped after."""
    client = Client(api_key="sk-1", base_url="http://127.0.0.1:9/v1")
    aclient = client._async
    try:
        yield "client", aclient, client
        for name, cls in (
            ("assistants", sync_resources.Assistants),
            ("threads", sync_resources.Threads),
            ("messages", sync_resources.Messages),
            ("runs", sync_resources.Runs),
            ("steps", sync_resources.Steps),
        ):
            assert isinstance(getattr(client, name), cls)
            yield name, getattr(aclient, name), getattr(client, name)
        yield "paginator", aclient.assistants.list(), client.assistants.list()
        yield (
            "stream",
            aclient.runs.stream("thread_1", assistant_id="asst_1"),
            client.runs.stream("thread_1", assistant_id="asst_1"),
        )
        opened = OpenStream(FakeResponse(), "GET", "/x", aclient._transport)  # type: ignore[arg-type]
        yield "open stream", opened, SyncOpenStream(opened, client._loop)
    finally:
        client.close()


PAIRS = list(pairs())


@pytest.mark.parametrize(("label", "async_obj", "sync_obj"), PAIRS, ids=[p[0] for p in PAIRS])
def test_every_async_member_has_a_blocking_twin(label: str, async_obj: Any, sync_obj: Any) -> None:
    assert surface_differences(async_obj, sync_obj) == []


def test_the_pairs_cover_every_async_class_of_the_surface() -> None:
    covered = {type(a) for _, a, _ in PAIRS}
    assert {
        AsyncClient,
        AsyncAssistants,
        AsyncThreads,
        AsyncMessages,
        AsyncRuns,
        AsyncSteps,
        AsyncPaginator,
        AsyncAssistantStream,
        OpenStream,
    } <= covered


def test_the_check_fails_for_a_new_async_method_property_or_attribute() -> None:
    _, paginator, sync_paginator = next(p for p in PAIRS if p[0] == "paginator")
    _, stream, sync_stream = next(p for p in PAIRS if p[0] == "stream")
    _, assistants, sync_assistants = next(p for p in PAIRS if p[0] == "assistants")

    class GrownResource(AsyncAssistants):
        async def archive(self, assistant_id: str) -> Assistant:  # pragma: no cover
            raise NotImplementedError

    class GrownPaginator(AsyncPaginator[Assistant]):
        @property
        def total(self) -> int:  # pragma: no cover
            return 0

        async def last_page(self) -> Page[Assistant]:  # pragma: no cover
            raise NotImplementedError

    class GrownStream(AsyncAssistantStream):
        async def final_text(self) -> str:  # pragma: no cover
            return ""

    grown_client = AsyncClient(api_key="sk-1")
    grown_client.region = "eu"  # type: ignore[attr-defined]
    blocking = Client(api_key="sk-1")
    try:
        assert surface_differences(grown_client, blocking) == ["Client lacks region"]
    finally:
        blocking.close()
    assert surface_differences(GrownResource(assistants._client), sync_assistants) == [
        "Assistants lacks archive"
    ]
    grown = GrownPaginator(
        paginator._client,
        "/assistants",
        Page[Assistant],
        {},
        max_items=None,
        timeout=None,
        extra_headers=None,
        extra_query=None,
    )
    assert surface_differences(grown, sync_paginator) == [
        "SyncPaginator lacks last_page",
        "SyncPaginator lacks total",
    ]
    grown_stream = GrownStream(stream._opener, stream._reading, stream._operation)
    assert surface_differences(grown_stream, sync_stream) == [
        "SyncAssistantStream lacks final_text"
    ]
    assert SyncPaginator is type(sync_paginator)
    assert SyncAssistantStream is type(sync_stream)
