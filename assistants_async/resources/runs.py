"""``client.runs``: createRun, getRun, modifyRun, listRuns, cancelRun,
submitToolOuputsToRun."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from .._headers import Headers
from .._pagination import AsyncPaginator
from .._polling import poll_run, run_tools
from .._streaming import AsyncAssistantStream
from .._tools import ToolFunction
from .._types import NOT_GIVEN, NotGiven
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
from ._base import (
    AsyncResource,
    CallOptions,
    JSONObject,
    ListOptions,
    keywords,
    list_of,
    run_request,
)
from ._validate import check_choice, check_include, check_tool_call_ids, path_id, request_body

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["AsyncRuns", "RunCreateParams", "RunFields"]


def run_path(thread_id: str, run_id: str) -> str:
    return f"/threads/{path_id('thread_id', thread_id)}/runs/{path_id('run_id', run_id)}"


class RunFields(CallOptions, total=False):
    """The fields every run-starting call takes (``runs.create``,
    ``threads.create_and_run``) besides ``assistant_id``.

    A key left out is not sent; ``None`` is sent as ``null`` where the spec allows it.
    """

    model: str | None
    instructions: str | None
    tools: Sequence[AssistantTool | JSONObject] | None
    metadata: Mapping[str, str] | None
    temperature: float | None
    top_p: float | None
    max_prompt_tokens: int | None
    max_completion_tokens: int | None
    truncation_strategy: TruncationStrategy | JSONObject | None
    tool_choice: AssistantToolChoiceOption | JSONObject | None
    parallel_tool_calls: bool
    response_format: ResponseFormat | JSONObject | None


class RunCreateParams(RunFields, total=False):
    """The keyword arguments of ``runs.create`` other than ``assistant_id``."""

    include: Sequence[RunStepInclude] | None
    reasoning_effort: ReasoningEffort | None
    additional_instructions: str | None
    additional_messages: Sequence[MessageParam | JSONObject] | None


def _create_request(
    thread_id: str, params: Mapping[str, Any], *, stream: bool = False
) -> dict[str, Any]:
    """The checked arguments of ``client.request`` for createRun."""
    path = f"/threads/{path_id('thread_id', thread_id)}/runs"
    return run_request(
        "createRun",
        path,
        params,
        RunCreateParams.__annotations__,
        stream=stream,
        query=check_include(params.get("include")),
        not_body=("include",),
    )


class AsyncRuns(AsyncResource):
    @keywords(RunCreateParams, none=("include",))
    async def create(
        self, thread_id: str, *, assistant_id: str, **params: Unpack[RunCreateParams]
    ) -> Run:
        """Start a run on a thread (POST /threads/{thread_id}/runs)."""
        arguments: dict[str, Any] = {"assistant_id": assistant_id, **params}
        run: Run = await self._client.request(**_create_request(thread_id, arguments))
        return run

    @keywords()
    async def retrieve(
        self,
        thread_id: str,
        run_id: str,
        **options: Unpack[CallOptions],
    ) -> Run:
        """Get a run (GET /threads/{thread_id}/runs/{run_id})."""
        return await self._client.request(
            "GET",
            run_path(thread_id, run_id),
            cast_to=Run,
            **options,
        )

    @keywords()
    async def update(
        self,
        thread_id: str,
        run_id: str,
        *,
        metadata: Mapping[str, str] | NotGiven | None = NOT_GIVEN,
        **options: Unpack[CallOptions],
    ) -> Run:
        """Modify a run (POST /threads/{thread_id}/runs/{run_id})."""
        path = run_path(thread_id, run_id)
        return await self._client.request(
            "POST",
            path,
            cast_to=Run,
            body=request_body("modifyRun", metadata=metadata),
            **options,
        )

    @keywords()
    async def cancel(
        self,
        thread_id: str,
        run_id: str,
        **options: Unpack[CallOptions],
    ) -> Run:
        """Cancel a run (POST /threads/{thread_id}/runs/{run_id}/cancel)."""
        return await self._client.request(
            "POST",
            f"{run_path(thread_id, run_id)}/cancel",
            cast_to=Run,
            **options,
        )

    @keywords()
    async def submit_tool_outputs(
        self,
        thread_id: str,
        run_id: str,
        *,
        tool_outputs: Sequence[ToolOutput | JSONObject],
        **options: Unpack[CallOptions],
    ) -> Run:
        """Send tool results to a run in requires_action
        (POST /threads/{thread_id}/runs/{run_id}/submit_tool_outputs)."""
        path = f"{run_path(thread_id, run_id)}/submit_tool_outputs"
        check_tool_call_ids(tool_outputs)
        return await self._client.request(
            "POST",
            path,
            cast_to=Run,
            body=request_body("submitToolOuputsToRun", tool_outputs=tool_outputs),
            **options,
        )

    # --- helpers built on the operations ---------------------------------------------

    async def poll(
        self,
        thread_id: str,
        run_id: str,
        *,
        interval: float | None = None,
        timeout: float | None = None,
        extra_headers: Headers | None = None,
        extra_query: Mapping[str, Any] | None = None,
    ) -> Run:
        """Retrieve the run until it rests (requires_action, completed, failed, cancelled,
        expired or incomplete).

        Waits what each response's ``openai-poll-after-ms`` asks (1 s without it), or
        ``interval`` seconds when given. ``timeout`` bounds the whole wait: by then,
        ``PollTimeoutError`` carries the last run seen (None if no look succeeded).
        """
        return await poll_run(
            self,
            run_path(thread_id, run_id),
            run_id,
            interval=interval,
            timeout=timeout,
            extra_headers=extra_headers,
            extra_query=extra_query,
        )

    @keywords(RunCreateParams, none=("include",))
    async def create_and_poll(
        self,
        thread_id: str,
        *,
        assistant_id: str,
        poll_interval: float | None = None,
        poll_timeout: float | None = None,
        **params: Unpack[RunCreateParams],
    ) -> Run:
        """``create``, then ``poll`` (``poll_interval``, ``poll_timeout``) until it rests."""
        run = await self.create(thread_id, assistant_id=assistant_id, **params)
        return await self.poll(thread_id, run.id, interval=poll_interval, timeout=poll_timeout)

    @keywords()
    async def submit_tool_outputs_and_poll(
        self,
        thread_id: str,
        run_id: str,
        *,
        tool_outputs: Sequence[ToolOutput | JSONObject],
        poll_interval: float | None = None,
        poll_timeout: float | None = None,
        **options: Unpack[CallOptions],
    ) -> Run:
        """``submit_tool_outputs``, then ``poll`` until the run rests again."""
        run = await self.submit_tool_outputs(
            thread_id,
            run_id,
            tool_outputs=tool_outputs,
            **options,
        )
        return await self.poll(thread_id, run.id, interval=poll_interval, timeout=poll_timeout)

    @keywords(RunCreateParams, none=("include",))
    async def create_and_run_tools(
        self,
        thread_id: str,
        *,
        assistant_id: str,
        functions: Mapping[str, ToolFunction],
        on_error: Literal["report", "raise"] = "report",
        max_turns: int = 10,
        poll_interval: float | None = None,
        poll_timeout: float | None = None,
        **params: Unpack[RunCreateParams],
    ) -> Run:
        """Start a run and answer its tool calls until it ends.

        On each ``requires_action`` the requested functions run (sync ones in a worker
        thread, async ones awaited; the calls of one turn concurrently) with the call's
        JSON arguments as keyword arguments. Results are sent back JSON-encoded (a string
        as it is), all of a turn's in one request. When a function raises, is unknown or
        gets arguments that are not a JSON object: with ``on_error="report"`` (the default)
        the model is told, as that call's output ``{"error": "..."}``; with
        ``"raise"``, ``ToolCallError`` stops the loop (the run stays in requires_action).
        More than ``max_turns`` rounds raise ``ToolLoopLimitError``. Returns the run in
        its final status.
        """
        check_choice("on_error", on_error, ("report", "raise"))
        return await run_tools(
            self,
            thread_id,
            assistant_id=assistant_id,
            functions=functions,
            on_error=on_error,
            max_turns=max_turns,
            poll_interval=poll_interval,
            poll_timeout=poll_timeout,
            params=params,
        )

    @keywords(RunCreateParams, none=("include",))
    def stream(
        self,
        thread_id: str,
        *,
        assistant_id: str,
        **params: Unpack[RunCreateParams],
    ) -> AsyncAssistantStream:
        """Start a run and stream its events: ``async with client.runs.stream(...) as s:``."""
        arguments: dict[str, Any] = {"assistant_id": assistant_id, **params}
        return self._stream(_create_request(thread_id, arguments, stream=True))

    @keywords()
    def submit_tool_outputs_stream(
        self,
        thread_id: str,
        run_id: str,
        *,
        tool_outputs: Sequence[ToolOutput | JSONObject],
        **options: Unpack[CallOptions],
    ) -> AsyncAssistantStream:
        """Send tool outputs and stream the rest of the run."""
        path = f"{run_path(thread_id, run_id)}/submit_tool_outputs"
        check_tool_call_ids(tool_outputs)
        return self._stream(
            {
                "method": "POST",
                "path": path,
                "body": request_body(
                    "submitToolOuputsToRun", tool_outputs=tool_outputs, stream=True
                ),
                **options,
            }
        )

    @keywords(options=ListOptions)
    def list(
        self,
        thread_id: str,
        *,
        limit: int | None = None,
        order: Literal["asc", "desc"] | None = None,
        after: str | None = None,
        before: str | None = None,
        max_items: int | None = None,
        **options: Unpack[ListOptions],
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
            **options,
        )
