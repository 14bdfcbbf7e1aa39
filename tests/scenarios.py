"""End-to-end scenarios written once, run with AsyncClient and with the blocking Client.

A scenario is a generator that yields each call's result-to-be: the async driver awaits
it, the sync driver (in a worker thread) has the value already. ``Collect(paginator)``
asks the driver to walk a paginator into a list. Errors are thrown back into the
scenario, so ``pytest.raises`` works inside it.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Callable, Generator
from typing import Any

import attrs
import pytest

from assistants_async import AsyncClient, NotFoundError
from assistants_async.models import (
    FunctionDefinition,
    FunctionTool,
    TextContentBlock,
    ToolOutput,
)
from assistants_async.sync import Client
from assistants_async.testing import FakeAssistantsServer

Scenario = Generator[Any, Any, None]


@attrs.frozen
class Collect:
    paginator: Any


def _resolve_sync(item: Any) -> Any:
    if isinstance(item, Collect):
        return list(item.paginator)
    return item


async def _resolve_async(item: Any) -> Any:
    if isinstance(item, Collect):
        return [x async for x in item.paginator]
    if inspect.isawaitable(item):
        return await item
    return item


_DONE = object()


def _advance(scenario: Scenario, value: Any, error: BaseException | None) -> Any:
    """The scenario's next call, fed the last result or error; ``_DONE`` at its end."""
    try:
        return scenario.throw(error) if error is not None else scenario.send(value)
    except StopIteration:
        return _DONE


def drive_sync(scenario: Scenario) -> None:
    value: Any = None
    error: BaseException | None = None
    while (item := _advance(scenario, value, error)) is not _DONE:
        value, error = None, None
        try:
            value = _resolve_sync(item)
        except Exception as exc:
            error = exc


async def drive_async(scenario: Scenario) -> None:
    value: Any = None
    error: BaseException | None = None
    while (item := _advance(scenario, value, error)) is not _DONE:
        value, error = None, None
        try:
            value = await _resolve_async(item)
        except Exception as exc:
            error = exc


async def run_scenario(
    flavour: str, server: FakeAssistantsServer, scenario: Callable[[Any], Scenario]
) -> None:
    assert server.url is not None
    if flavour == "async":
        async with AsyncClient(api_key="sk-fake", base_url=server.url) as client:
            await drive_async(scenario(client))
        return

    def in_thread() -> None:
        with Client(api_key="sk-fake", base_url=server.url) as client:
            drive_sync(scenario(client))

    await asyncio.to_thread(in_thread)


WEATHER = FunctionTool(
    function=FunctionDefinition(name="get_weather", parameters={"type": "object"})
)


def weather_flow(c: Any) -> Scenario:
    asst = yield c.assistants.create(model="gpt-4o", name="Weather", tools=[WEATHER])
    thread = yield c.threads.create(messages=[{"role": "user", "content": "Paris?"}])
    run = yield c.runs.create(thread.id, assistant_id=asst.id)
    run = yield c.runs.retrieve(thread.id, run.id)
    assert run.status == "requires_action"
    calls = run.required_action.submit_tool_outputs.tool_calls
    outputs = [ToolOutput(tool_call_id=call.id, output=json.dumps({"c": 21})) for call in calls]
    yield c.runs.submit_tool_outputs(thread.id, run.id, tool_outputs=outputs)
    run = yield c.runs.retrieve(thread.id, run.id)
    assert run.status == "completed"
    steps = yield Collect(c.steps.list(thread.id, run.id, order="asc"))
    assert [s.type for s in steps] == ["tool_calls", "message_creation"]
    messages = yield Collect(c.messages.list(thread.id, order="asc"))
    assert [m.role for m in messages] == ["user", "assistant"]
    answer = messages[1].content[0]
    assert isinstance(answer, TextContentBlock)
    assert answer.text.value == 'Answer: {"c": 21}'
    raw = yield c.with_raw_response(c.runs.retrieve, thread.id, run.id)
    assert raw.status_code == 200
    assert raw.request_id.startswith("req_")
    assert raw.parsed == run


def pagination_both_ways(c: Any) -> Scenario:
    thread = yield c.threads.create()
    ids = []
    for i in range(45):
        message = yield c.messages.create(thread.id, role="user", content=f"m{i}")
        ids.append(message.id)
    forward = yield Collect(c.messages.list(thread.id, order="asc", limit=10))
    assert [m.id for m in forward] == ids
    backward = yield Collect(c.messages.list(thread.id, order="asc", limit=10, before=ids[-1]))
    assert [m.id for m in backward] == ids[-2::-1]
    capped = yield Collect(c.messages.list(thread.id, limit=10, max_items=15))
    assert [m.id for m in capped] == ids[::-1][:15]
    first = yield c.messages.list(thread.id, limit=5)  # awaited / first_page()
    if not hasattr(first, "data"):
        first = first.first_page()
    assert [m.id for m in first.data] == ids[::-1][:5]


def errors_and_cascade(c: Any) -> Scenario:
    asst = yield c.assistants.create(model="gpt-4o")
    thread = yield c.threads.create(messages=[{"role": "user", "content": "hi"}])
    run = yield c.runs.create(thread.id, assistant_id=asst.id)
    yield c.threads.delete(thread.id)
    with pytest.raises(NotFoundError):
        yield c.runs.retrieve(thread.id, run.id)
    with pytest.raises(ValueError, match="limit"):
        yield c.assistants.list(limit=500)
    deleted = yield c.assistants.delete(asst.id)
    assert deleted.deleted


SCENARIOS = [weather_flow, pagination_both_ways, errors_and_cascade]
