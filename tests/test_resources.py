"""Each of the 23 operations: the request it sends and the model it returns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import pytest

from assistants_async import APIResponse, AsyncClient, AsyncPaginator
from assistants_async.models import (
    FILE_SEARCH_RESULT_CONTENT,
    Assistant,
    AssistantDeleted,
    FunctionDefinition,
    FunctionTool,
    Message,
    MessageDeleted,
    MessageParam,
    Model,
    Page,
    Run,
    RunStep,
    Thread,
    ThreadDeleted,
    ThreadParam,
    ToolOutput,
    TruncationStrategy,
)

from .conftest import ScriptedServer, json_reply
from .payloads import ASSISTANT, MESSAGE, RUN, STEP, THREAD, deleted, page

INCLUDE = FILE_SEARCH_RESULT_CONTENT
WEATHER = FunctionTool(
    function=FunctionDefinition(name="get_weather", parameters={"type": "object"})
)


@attrs.frozen
class Case:
    name: str
    call: Callable[[AsyncClient], Awaitable[Any]]
    method: str
    path: str
    response: dict[str, Any]
    returns: type[Model]
    body: dict[str, Any] | None = None
    query: list[tuple[str, str]] = attrs.field(factory=list)


CASES = [
    Case(
        "assistants.create",
        lambda c: c.assistants.create(
            model="gpt-4o",
            name="Weather",
            instructions="Be brief.",
            tools=[WEATHER, {"type": "code_interpreter"}],
            metadata={"team": "search"},
            temperature=0.2,
            response_format={"type": "json_object"},
        ),
        "POST",
        "/v1/assistants",
        ASSISTANT,
        Assistant,
        body={
            "model": "gpt-4o",
            "name": "Weather",
            "instructions": "Be brief.",
            "tools": [
                {
                    "type": "function",
                    "function": {"name": "get_weather", "parameters": {"type": "object"}},
                },
                {"type": "code_interpreter"},
            ],
            "metadata": {"team": "search"},
            "temperature": 0.2,
            "response_format": {"type": "json_object"},
        },
    ),
    Case(
        "assistants.retrieve",
        lambda c: c.assistants.retrieve("asst_1"),
        "GET",
        "/v1/assistants/asst_1",
        ASSISTANT,
        Assistant,
    ),
    Case(
        "assistants.update",
        lambda c: c.assistants.update("asst_1", name="Renamed", reasoning_effort="low", top_p=0.5),
        "POST",
        "/v1/assistants/asst_1",
        ASSISTANT,
        Assistant,
        body={"name": "Renamed", "reasoning_effort": "low", "top_p": 0.5},
    ),
    Case(
        "assistants.list",
        lambda c: c.assistants.list(limit=5, order="asc"),
        "GET",
        "/v1/assistants",
        page(ASSISTANT),
        Page,
        query=[("limit", "5"), ("order", "asc")],
    ),
    Case(
        "assistants.delete",
        lambda c: c.assistants.delete("asst_1"),
        "DELETE",
        "/v1/assistants/asst_1",
        deleted("asst_1", "assistant"),
        AssistantDeleted,
    ),
    Case(
        "threads.create",
        lambda c: c.threads.create(
            messages=[
                MessageParam(role="user", content="Hi"),
                {"role": "assistant", "content": "Hello"},
            ],
            metadata={"k": "v"},
        ),
        "POST",
        "/v1/threads",
        THREAD,
        Thread,
        body={
            "messages": [
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello"},
            ],
            "metadata": {"k": "v"},
        },
    ),
    Case(
        "threads.retrieve",
        lambda c: c.threads.retrieve("thread_1"),
        "GET",
        "/v1/threads/thread_1",
        THREAD,
        Thread,
    ),
    Case(
        "threads.update",
        lambda c: c.threads.update(
            "thread_1", tool_resources={"code_interpreter": {"file_ids": ["f"]}}
        ),
        "POST",
        "/v1/threads/thread_1",
        THREAD,
        Thread,
        body={"tool_resources": {"code_interpreter": {"file_ids": ["f"]}}},
    ),
    Case(
        "threads.delete",
        lambda c: c.threads.delete("thread_1"),
        "DELETE",
        "/v1/threads/thread_1",
        deleted("thread_1", "thread"),
        ThreadDeleted,
    ),
    Case(
        "threads.create_and_run",
        lambda c: c.threads.create_and_run(
            assistant_id="asst_1",
            thread=ThreadParam(messages=[MessageParam(role="user", content="Weather?")]),
            tool_choice="required",
            truncation_strategy=TruncationStrategy(type="last_messages", last_messages=4),
            parallel_tool_calls=False,
        ),
        "POST",
        "/v1/threads/runs",
        RUN,
        Run,
        body={
            "assistant_id": "asst_1",
            "thread": {"messages": [{"role": "user", "content": "Weather?"}]},
            "tool_choice": "required",
            "truncation_strategy": {"type": "last_messages", "last_messages": 4},
            "parallel_tool_calls": False,
        },
    ),
    Case(
        "messages.create",
        lambda c: c.messages.create(
            "thread_1",
            role="user",
            content=[
                {"type": "text", "text": "Look"},
                {"type": "image_url", "image_url": {"url": "u"}},
            ],
            attachments=[{"file_id": "file_1", "tools": [{"type": "file_search"}]}],
        ),
        "POST",
        "/v1/threads/thread_1/messages",
        MESSAGE,
        Message,
        body={
            "role": "user",
            "content": [
                {"type": "text", "text": "Look"},
                {"type": "image_url", "image_url": {"url": "u"}},
            ],
            "attachments": [{"file_id": "file_1", "tools": [{"type": "file_search"}]}],
        },
    ),
    Case(
        "messages.retrieve",
        lambda c: c.messages.retrieve("thread_1", "msg_1"),
        "GET",
        "/v1/threads/thread_1/messages/msg_1",
        MESSAGE,
        Message,
    ),
    Case(
        "messages.update",
        lambda c: c.messages.update("thread_1", "msg_1", metadata={"a": "b"}),
        "POST",
        "/v1/threads/thread_1/messages/msg_1",
        MESSAGE,
        Message,
        body={"metadata": {"a": "b"}},
    ),
    Case(
        "messages.list",
        lambda c: c.messages.list("thread_1", order="desc", after="msg_0", run_id="run_1"),
        "GET",
        "/v1/threads/thread_1/messages",
        page(MESSAGE),
        Page,
        query=[("order", "desc"), ("after", "msg_0"), ("run_id", "run_1")],
    ),
    Case(
        "messages.delete",
        lambda c: c.messages.delete("thread_1", "msg_1"),
        "DELETE",
        "/v1/threads/thread_1/messages/msg_1",
        deleted("msg_1", "thread.message"),
        MessageDeleted,
    ),
    Case(
        "runs.create",
        lambda c: c.runs.create(
            "thread_1",
            assistant_id="asst_1",
            include=[INCLUDE],
            additional_instructions="Use metric units.",
            additional_messages=[{"role": "user", "content": "And tomorrow?"}],
            max_completion_tokens=300,
        ),
        "POST",
        "/v1/threads/thread_1/runs",
        RUN,
        Run,
        body={
            "assistant_id": "asst_1",
            "additional_instructions": "Use metric units.",
            "additional_messages": [{"role": "user", "content": "And tomorrow?"}],
            "max_completion_tokens": 300,
        },
        query=[("include[]", INCLUDE)],
    ),
    Case(
        "runs.retrieve",
        lambda c: c.runs.retrieve("thread_1", "run_1"),
        "GET",
        "/v1/threads/thread_1/runs/run_1",
        RUN,
        Run,
    ),
    Case(
        "runs.update",
        lambda c: c.runs.update("thread_1", "run_1", metadata={"x": "y"}),
        "POST",
        "/v1/threads/thread_1/runs/run_1",
        RUN,
        Run,
        body={"metadata": {"x": "y"}},
    ),
    Case(
        "runs.list",
        lambda c: c.runs.list("thread_1", limit=100, before="run_9"),
        "GET",
        "/v1/threads/thread_1/runs",
        page(RUN),
        Page,
        query=[("limit", "100"), ("before", "run_9")],
    ),
    Case(
        "runs.cancel",
        lambda c: c.runs.cancel("thread_1", "run_1"),
        "POST",
        "/v1/threads/thread_1/runs/run_1/cancel",
        RUN,
        Run,
        body=None,  # cancelRun defines no request body: none is sent
    ),
    Case(
        "runs.submit_tool_outputs",
        lambda c: c.runs.submit_tool_outputs(
            "thread_1",
            "run_1",
            tool_outputs=[
                ToolOutput(tool_call_id="call_1", output="21C"),
                {"tool_call_id": "call_2", "output": "sunny"},
            ],
        ),
        "POST",
        "/v1/threads/thread_1/runs/run_1/submit_tool_outputs",
        RUN,
        Run,
        body={
            "tool_outputs": [
                {"tool_call_id": "call_1", "output": "21C"},
                {"tool_call_id": "call_2", "output": "sunny"},
            ]
        },
    ),
    Case(
        "steps.retrieve",
        lambda c: c.steps.retrieve("thread_1", "run_1", "step_1", include=[INCLUDE]),
        "GET",
        "/v1/threads/thread_1/runs/run_1/steps/step_1",
        STEP,
        RunStep,
        query=[("include[]", INCLUDE)],
    ),
    Case(
        "steps.list",
        lambda c: c.steps.list("thread_1", "run_1", limit=2, include=[INCLUDE]),
        "GET",
        "/v1/threads/thread_1/runs/run_1/steps",
        page(STEP),
        Page,
        query=[("limit", "2"), ("include[]", INCLUDE)],
    ),
]


def test_every_operation_is_covered() -> None:
    assert len(CASES) == 23
    assert len({c.name for c in CASES}) == 23


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
async def test_each_method_sends_the_right_request_and_returns_its_model(
    server: ScriptedServer, case: Case
) -> None:
    server.reply(json_reply(body=case.response, headers={"x-request-id": "req_42"}))
    async with AsyncClient(api_key="sk-test", base_url=server.url) as client:
        pending = case.call(client)
        if isinstance(pending, AsyncPaginator):
            assert server.seen == []  # list() itself does no I/O
        result: Any = await pending
    (seen,) = server.seen
    assert (seen.method, seen.path) == (case.method, case.path)
    assert seen.query == case.query
    if case.body is None:
        assert seen.body == b""
        assert "Content-Type" not in seen.headers
    else:
        assert seen.json() == case.body
        assert seen.headers["Content-Type"] == "application/json"
    assert seen.headers["Authorization"] == "Bearer sk-test"
    assert seen.headers["OpenAI-Beta"] == "assistants=v2"
    assert ("Idempotency-Key" in seen.headers) == (case.method == "POST")
    assert isinstance(result, case.returns)
    assert result.to_dict() == case.response


async def test_every_method_takes_the_four_request_options(server: ScriptedServer) -> None:
    server.reply(json_reply(body=RUN))
    async with AsyncClient(api_key="sk-test", base_url=server.url) as client:
        await client.runs.update(
            "thread_1",
            "run_1",
            metadata={"a": "b"},
            timeout=30,
            extra_headers={"X-Trace": "t1"},
            extra_query={"dry_run": "1"},
            extra_body={"vendor_flag": True},
        )
    (seen,) = server.seen
    assert seen.headers["X-Trace"] == "t1"
    assert seen.query == [("dry_run", "1")]
    assert seen.json() == {"metadata": {"a": "b"}, "vendor_flag": True}


async def test_ids_are_percent_safe_in_the_path(server: ScriptedServer) -> None:
    server.reply(json_reply(body=ASSISTANT))
    async with AsyncClient(api_key="sk-test", base_url=server.url) as client:
        await client.assistants.retrieve("asst_ä+1")
    assert server.seen[0].path == "/v1/assistants/asst_ä+1"


async def test_raw_response_gives_status_headers_and_the_typed_result(
    server: ScriptedServer,
) -> None:
    server.reply(
        json_reply(body=RUN, headers={"x-request-id": "req_7", "openai-poll-after-ms": "500"})
    )
    async with AsyncClient(api_key="sk-test", base_url=server.url) as client:
        response = await client.with_raw_response(client.runs.retrieve, "thread_1", "run_1")
        plain = await client.runs.retrieve("thread_1", "run_1")
    assert isinstance(response, APIResponse)
    run: Run = response.parsed
    assert run == plain
    assert response.status_code == 200
    assert response.request_id == "req_7"
    assert response.headers["openai-poll-after-ms"] == "500"
    assert response.raw.json() == RUN


async def test_raw_response_of_a_list_is_its_first_page(server: ScriptedServer) -> None:
    server.reply(json_reply(body=page(ASSISTANT, has_more=True), headers={"x-request-id": "req_p"}))
    async with AsyncClient(api_key="sk-test", base_url=server.url) as client:
        response = await client.with_raw_response(client.assistants.list, limit=1)
    first: Page[Assistant] = response.parsed
    assert [a.id for a in first.data] == ["asst_1"]
    assert response.request_id == "req_p"
    assert len(server.seen) == 1


async def test_a_bodiless_post_sends_a_body_only_when_extra_body_is_given(
    server: ScriptedServer,
) -> None:
    server.reply(json_reply(body=RUN))
    async with AsyncClient(api_key="sk-test", base_url=server.url) as client:
        await client.runs.cancel("thread_1", "run_1", extra_body={"reason": "user"})
    (seen,) = server.seen
    assert seen.json() == {"reason": "user"}
    assert seen.headers["Content-Type"] == "application/json"
