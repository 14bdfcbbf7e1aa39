"""``client.runs``: createRun, getRun, modifyRun, listRuns, cancelRun,
submitToolOuputsToRun."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from .._pagination import AsyncPaginator
from .._transport import Headers
from ..models.messages import MessageParam
from ..models.pages import Page
from ..models.runs import Run, ToolOutput
from ..models.shared import (
    AssistantTool,
    AssistantToolChoiceOption,
    ReasoningEffort,
    ResponseFormat,
    TruncationStrategy,
)
from ..models.steps import RunStepInclude
from ._base import AsyncResource, JSONObject, Timeout, list_of
from ._validate import (
    body,
    check_include,
    check_messages,
    check_metadata,
    check_tool_outputs,
    path_id,
)

__all__ = ["AsyncRuns"]


def run_path(thread_id: str, run_id: str) -> str:
    return f"/threads/{path_id('thread_id', thread_id)}/runs/{path_id('run_id', run_id)}"


class AsyncRuns(AsyncResource):
    async def create(
        self,
        thread_id: str,
        *,
        assistant_id: str,
        include: Sequence[RunStepInclude] | None = None,
        model: str | None = None,
        reasoning_effort: ReasoningEffort | None = None,
        instructions: str | None = None,
        additional_instructions: str | None = None,
        additional_messages: Sequence[MessageParam | JSONObject] | None = None,
        tools: Sequence[AssistantTool | JSONObject] | None = None,
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
        """Start a run on a thread (POST /threads/{thread_id}/runs)."""
        path = f"/threads/{path_id('thread_id', thread_id)}/runs"
        path_id("assistant_id", assistant_id)
        query = check_include(include)
        check_messages("additional_messages", additional_messages)
        check_metadata(metadata)
        return await self._client.request(
            "POST",
            path,
            cast_to=Run,
            query=query,
            body=body(
                assistant_id=assistant_id,
                model=model,
                reasoning_effort=reasoning_effort,
                instructions=instructions,
                additional_instructions=additional_instructions,
                additional_messages=additional_messages,
                tools=tools,
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

    async def retrieve(
        self,
        thread_id: str,
        run_id: str,
        *,
        timeout: float | Timeout | None = None,
        extra_headers: Headers | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Run:
        """Get a run (GET /threads/{thread_id}/runs/{run_id})."""
        return await self._client.request(
            "GET",
            run_path(thread_id, run_id),
            cast_to=Run,
            timeout=timeout,
            extra_headers=extra_headers,
            extra_query=extra_query,
            extra_body=extra_body,
        )

    async def update(
        self,
        thread_id: str,
        run_id: str,
        *,
        metadata: Mapping[str, str] | None = None,
        timeout: float | Timeout | None = None,
        extra_headers: Headers | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Run:
        """Modify a run (POST /threads/{thread_id}/runs/{run_id})."""
        path = run_path(thread_id, run_id)
        check_metadata(metadata)
        return await self._client.request(
            "POST",
            path,
            cast_to=Run,
            body=body(metadata=metadata),
            timeout=timeout,
            extra_headers=extra_headers,
            extra_query=extra_query,
            extra_body=extra_body,
        )

    async def cancel(
        self,
        thread_id: str,
        run_id: str,
        *,
        timeout: float | Timeout | None = None,
        extra_headers: Headers | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Run:
        """Cancel a run (POST /threads/{thread_id}/runs/{run_id}/cancel)."""
        return await self._client.request(
            "POST",
            f"{run_path(thread_id, run_id)}/cancel",
            cast_to=Run,
            timeout=timeout,
            extra_headers=extra_headers,
            extra_query=extra_query,
            extra_body=extra_body,
        )

    async def submit_tool_outputs(
        self,
        thread_id: str,
        run_id: str,
        *,
        tool_outputs: Sequence[ToolOutput | JSONObject],
        timeout: float | Timeout | None = None,
        extra_headers: Headers | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Run:
        """Send tool results to a run in requires_action
        (POST /threads/{thread_id}/runs/{run_id}/submit_tool_outputs)."""
        path = f"{run_path(thread_id, run_id)}/submit_tool_outputs"
        check_tool_outputs(tool_outputs)
        return await self._client.request(
            "POST",
            path,
            cast_to=Run,
            body=body(tool_outputs=tool_outputs),
            timeout=timeout,
            extra_headers=extra_headers,
            extra_query=extra_query,
            extra_body=extra_body,
        )

    def list(
        self,
        thread_id: str,
        *,
        limit: int | None = None,
        order: Literal["asc", "desc"] | None = None,
        after: str | None = None,
        before: str | None = None,
        max_items: int | None = None,
        timeout: float | Timeout | None = None,
        extra_headers: Headers | None = None,
        extra_query: Mapping[str, Any] | None = None,
    ) -> AsyncPaginator[Run]:
        """List a thread's runs (GET /threads/{thread_id}/runs)."""
        return list_of(
            self,
            f"/threads/{path_id('thread_id', thread_id)}/runs",
            Page[Run],
            limit=limit,
            order=order,
            after=after,
            before=before,
            max_items=max_items,
            timeout=timeout,
            extra_headers=extra_headers,
            extra_query=extra_query,
        )
