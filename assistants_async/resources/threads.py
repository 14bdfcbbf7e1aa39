"""``client.threads``: createThread, getThread, modifyThread, deleteThread,
createThreadAndRun."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypedDict

from .._polling import poll_run
from .._streaming import AsyncAssistantStream
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
from ._base import AsyncResource, JSONObject, Timeout, run_request
from ._validate import body, check_messages, check_metadata, path_id

if TYPE_CHECKING:
    from typing_extensions import Unpack

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
        params = {k: v for k, v in locals().items() if k != "self"}
        run: Run = await self._client.request(**_create_and_run_request(params))
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
    """The keyword arguments of ``threads.create_and_run`` other than ``assistant_id``."""

    thread: ThreadParam | JSONObject | None
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
    parallel_tool_calls: bool | None
    response_format: ResponseFormat | JSONObject | None
    timeout: float | Timeout | None
    extra_headers: Headers | None
    extra_query: Mapping[str, Any] | None
    extra_body: Mapping[str, Any] | None


def _create_and_run_request(params: Mapping[str, Any], *, stream: bool = False) -> dict[str, Any]:
    """The checked arguments of ``client.request`` for createThreadAndRun."""
    check_metadata(params.get("metadata"))
    thread = params.get("thread")
    if isinstance(thread, Mapping):
        check_messages("thread.messages", thread.get("messages"))
        check_metadata(thread.get("metadata"), "thread.metadata")
    elif thread is not None:
        check_metadata(thread.metadata, "thread.metadata")
    return run_request(
        "/threads/runs", params, ThreadCreateAndRunParams.__annotations__, stream=stream
    )
