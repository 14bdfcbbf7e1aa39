"""``client.threads``: createThread, getThread, modifyThread, deleteThread,
createThreadAndRun."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypedDict

from .._config import Headers
from .._polling import poll_run
from .._streaming import AsyncAssistantStream
from .._types import NOT_GIVEN, NotGiven
from ..models.messages import MessageParam
from ..models.runs import Run
from ..models.shared import (
    AssistantTool,
    AssistantToolChoiceOption,
    ResponseFormat,
    ToolResources,
    TruncationStrategy,
)
from ..models.threads import Thread, ThreadDeleted, ThreadParam
from ._base import AsyncResource, JSONObject, Timeout, run_request
from ._validate import path_id, request_body

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["AsyncThreads"]


class AsyncThreads(AsyncResource):
    async def create(
        self,
        *,
        messages: Sequence[MessageParam | JSONObject] | NotGiven = NOT_GIVEN,
        tool_resources: ToolResources | JSONObject | NotGiven | None = NOT_GIVEN,
        metadata: Mapping[str, str] | NotGiven | None = NOT_GIVEN,
        timeout: float | Timeout | None = None,
        extra_headers: Headers | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Thread:
        """Create a thread (POST /threads)."""
        return await self._client.request(
            "POST",
            "/threads",
            cast_to=Thread,
            body=request_body(
                "createThread", messages=messages, tool_resources=tool_resources, metadata=metadata
            ),
            timeout=timeout,
            extra_headers=extra_headers,
            extra_query=extra_query,
            extra_body=extra_body,
        )

    async def retrieve(
        self,
        thread_id: str,
        *,
        timeout: float | Timeout | None = None,
        extra_headers: Headers | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Thread:
        """Get a thread (GET /threads/{thread_id})."""
        return await self._client.request(
            "GET",
            f"/threads/{path_id('thread_id', thread_id)}",
            cast_to=Thread,
            timeout=timeout,
            extra_headers=extra_headers,
            extra_query=extra_query,
            extra_body=extra_body,
        )

    async def update(
        self,
        thread_id: str,
        *,
        tool_resources: ToolResources | JSONObject | NotGiven | None = NOT_GIVEN,
        metadata: Mapping[str, str] | NotGiven | None = NOT_GIVEN,
        timeout: float | Timeout | None = None,
        extra_headers: Headers | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Thread:
        """Modify a thread (POST /threads/{thread_id})."""
        path = f"/threads/{path_id('thread_id', thread_id)}"
        return await self._client.request(
            "POST",
            path,
            cast_to=Thread,
            body=request_body("modifyThread", tool_resources=tool_resources, metadata=metadata),
            timeout=timeout,
            extra_headers=extra_headers,
            extra_query=extra_query,
            extra_body=extra_body,
        )

    async def delete(
        self,
        thread_id: str,
        *,
        timeout: float | Timeout | None = None,
        extra_headers: Headers | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> ThreadDeleted:
        """Delete a thread, its messages and runs (DELETE /threads/{thread_id})."""
        return await self._client.request(
            "DELETE",
            f"/threads/{path_id('thread_id', thread_id)}",
            cast_to=ThreadDeleted,
            timeout=timeout,
            extra_headers=extra_headers,
            extra_query=extra_query,
            extra_body=extra_body,
        )

    async def create_and_run(
        self,
        *,
        assistant_id: str,
        thread: ThreadParam | JSONObject | NotGiven = NOT_GIVEN,
        model: str | NotGiven | None = NOT_GIVEN,
        instructions: str | NotGiven | None = NOT_GIVEN,
        tools: Sequence[AssistantTool | JSONObject] | NotGiven | None = NOT_GIVEN,
        tool_resources: ToolResources | JSONObject | NotGiven | None = NOT_GIVEN,
        metadata: Mapping[str, str] | NotGiven | None = NOT_GIVEN,
        temperature: float | NotGiven | None = NOT_GIVEN,
        top_p: float | NotGiven | None = NOT_GIVEN,
        max_prompt_tokens: int | NotGiven | None = NOT_GIVEN,
        max_completion_tokens: int | NotGiven | None = NOT_GIVEN,
        truncation_strategy: TruncationStrategy | JSONObject | NotGiven | None = NOT_GIVEN,
        tool_choice: AssistantToolChoiceOption | JSONObject | NotGiven | None = NOT_GIVEN,
        parallel_tool_calls: bool | NotGiven = NOT_GIVEN,
        response_format: ResponseFormat | JSONObject | NotGiven | None = NOT_GIVEN,
        timeout: float | Timeout | None = None,
        extra_headers: Headers | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Run:
        """Create a thread and run it in one request (POST /threads/runs)."""
        fields = {
            "assistant_id": assistant_id,
            "thread": thread,
            "model": model,
            "instructions": instructions,
            "tools": tools,
            "tool_resources": tool_resources,
            "metadata": metadata,
            "temperature": temperature,
            "top_p": top_p,
            "max_prompt_tokens": max_prompt_tokens,
            "max_completion_tokens": max_completion_tokens,
            "truncation_strategy": truncation_strategy,
            "tool_choice": tool_choice,
            "parallel_tool_calls": parallel_tool_calls,
            "response_format": response_format,
            "timeout": timeout,
            "extra_headers": extra_headers,
            "extra_query": extra_query,
            "extra_body": extra_body,
        }
        run: Run = await self._client.request(**_create_and_run_request(fields))
        return run

    async def create_and_run_poll(
        self,
        *,
        assistant_id: str,
        poll_interval: float | None = None,
        poll_timeout: float | None = None,
        **params: Unpack[ThreadCreateAndRunParams],
    ) -> Run:
        """``create_and_run``, then poll the run until it rests (see ``runs.poll``)."""
        run = await self.create_and_run(assistant_id=assistant_id, **params)
        return await poll_run(
            self._client.runs,
            run.thread_id,
            run.id,
            interval=poll_interval,
            timeout=poll_timeout,
        )

    def create_and_run_stream(
        self,
        *,
        assistant_id: str,
        **params: Unpack[ThreadCreateAndRunParams],
    ) -> AsyncAssistantStream:
        """Create a thread, run it, and stream the events (``thread.created`` first)."""
        arguments: dict[str, Any] = {"assistant_id": assistant_id, **params}
        return self._stream(_create_and_run_request(arguments, stream=True))


class ThreadCreateAndRunParams(TypedDict, total=False):
    """The keyword arguments of ``threads.create_and_run`` other than ``assistant_id``.

    A key left out is not sent; ``None`` is sent as ``null`` where the spec allows it.
    """

    thread: ThreadParam | JSONObject
    model: str | None
    instructions: str | None
    tools: Sequence[AssistantTool | JSONObject] | None
    tool_resources: ToolResources | JSONObject | None
    metadata: Mapping[str, str] | None
    temperature: float | None
    top_p: float | None
    max_prompt_tokens: int | None
    max_completion_tokens: int | None
    truncation_strategy: TruncationStrategy | JSONObject | None
    tool_choice: AssistantToolChoiceOption | JSONObject | None
    parallel_tool_calls: bool
    response_format: ResponseFormat | JSONObject | None
    timeout: float | Timeout | None
    extra_headers: Headers | None
    extra_query: Mapping[str, Any] | None
    extra_body: Mapping[str, Any] | None


def _create_and_run_request(params: Mapping[str, Any], *, stream: bool = False) -> dict[str, Any]:
    """The checked arguments of ``client.request`` for createThreadAndRun."""
    return run_request(
        "createThreadAndRun",
        "/threads/runs",
        params,
        ThreadCreateAndRunParams.__annotations__,
        stream=stream,
    )
