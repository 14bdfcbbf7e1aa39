"""``client.threads``: createThread, getThread, modifyThread, deleteThread,
createThreadAndRun."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .._transport import Headers
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
from ._base import AsyncResource, JSONObject, Timeout
from ._validate import body, check_messages, check_metadata, path_id

__all__ = ["AsyncThreads"]


class AsyncThreads(AsyncResource):
    async def create(
        self,
        *,
        messages: Sequence[MessageParam | JSONObject] | None = None,
        tool_resources: ToolResources | JSONObject | None = None,
        metadata: Mapping[str, str] | None = None,
        timeout: float | Timeout | None = None,
        extra_headers: Headers | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Thread:
        """Create a thread (POST /threads)."""
        check_messages("messages", messages)
        check_metadata(metadata)
        return await self._client.request(
            "POST",
            "/threads",
            cast_to=Thread,
            body=body(messages=messages, tool_resources=tool_resources, metadata=metadata),
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
        tool_resources: ToolResources | JSONObject | None = None,
        metadata: Mapping[str, str] | None = None,
        timeout: float | Timeout | None = None,
        extra_headers: Headers | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Thread:
        """Modify a thread (POST /threads/{thread_id})."""
        path = f"/threads/{path_id('thread_id', thread_id)}"
        check_metadata(metadata)
        return await self._client.request(
            "POST",
            path,
            cast_to=Thread,
            body=body(tool_resources=tool_resources, metadata=metadata),
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
        thread: ThreadParam | JSONObject | None = None,
        model: str | None = None,
        instructions: str | None = None,
        tools: Sequence[AssistantTool | JSONObject] | None = None,
        tool_resources: ToolResources | JSONObject | None = None,
        metadata: Mapping[str, str] | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        max_prompt_tokens: int | None = None,
        max_completion_tokens: int | None = None,
        truncation_strategy: TruncationStrategy | JSONObject | None = None,
        tool_choice: AssistantToolChoiceOption | JSONObject | None = None,
        parallel_tool_calls: bool | None = None,
        response_format: ResponseFormat | JSONObject | None = None,
        timeout: float | Timeout | None = None,
        extra_headers: Headers | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Run:
        """Create a thread and run it in one request (POST /threads/runs)."""
        path_id("assistant_id", assistant_id)
        check_metadata(metadata)
        if isinstance(thread, Mapping):
            check_messages("thread.messages", thread.get("messages"))
            check_metadata(thread.get("metadata"), "thread.metadata")
        elif thread is not None:
            check_metadata(thread.metadata, "thread.metadata")
        return await self._client.request(
            "POST",
            "/threads/runs",
            cast_to=Run,
            body=body(
                assistant_id=assistant_id,
                thread=thread,
                model=model,
                instructions=instructions,
                tools=tools,
                tool_resources=tool_resources,
                metadata=metadata,
                temperature=temperature,
                top_p=top_p,
                max_prompt_tokens=max_prompt_tokens,
                max_completion_tokens=max_completion_tokens,
                truncation_strategy=truncation_strategy,
                tool_choice=tool_choice,
                parallel_tool_calls=parallel_tool_calls,
                response_format=response_format,
            ),
            timeout=timeout,
            extra_headers=extra_headers,
            extra_query=extra_query,
            extra_body=extra_body,
        )
