"""Runs."""

from __future__ import annotations

from typing import Literal, TypeAlias

import attrs

from .._model import Model, not_in_spec, nullable, required
from .shared import (
    AssistantTool,
    AssistantToolChoiceOption,
    Metadata,
    ResponseFormat,
    ToolResources,
    TruncationStrategy,
    Usage,
)

__all__ = [
    "LastError",
    "RequiredAction",
    "RequiredActionFunction",
    "RequiredActionFunctionToolCall",
    "RequiredActionSubmitToolOutputs",
    "Run",
    "RunIncompleteDetails",
    "RunStatus",
    "TERMINAL_RUN_STATUSES",
    "ToolOutput",
]


RunStatus: TypeAlias = Literal[
    "queued",
    "in_progress",
    "requires_action",
    "cancelling",
    "cancelled",
    "failed",
    "completed",
    "incomplete",
    "expired",
]
# Statuses after which polling stops: nothing changes without the caller acting.
TERMINAL_RUN_STATUSES: frozenset[str] = frozenset(
    {"requires_action", "cancelled", "completed", "failed", "expired", "incomplete"}
)


@attrs.frozen(kw_only=True)
class RequiredActionFunction(Model):
    name: str
    arguments: str


@attrs.frozen(kw_only=True)
class RequiredActionFunctionToolCall(Model):
    id: str
    function: RequiredActionFunction
    type: Literal["function"] = "function"


@attrs.frozen(kw_only=True)
class RequiredActionSubmitToolOutputs(Model):
    tool_calls: list[RequiredActionFunctionToolCall]


@attrs.frozen(kw_only=True)
class RequiredAction(Model):
    submit_tool_outputs: RequiredActionSubmitToolOutputs
    type: Literal["submit_tool_outputs"] = "submit_tool_outputs"


@attrs.frozen(kw_only=True)
class LastError(Model):
    """Why a run (or run step) failed."""

    code: Literal["server_error", "rate_limit_exceeded", "invalid_prompt"]
    message: str


@attrs.frozen(kw_only=True)
class RunIncompleteDetails(Model):
    reason: Literal["max_completion_tokens", "max_prompt_tokens"] | None = None


@attrs.frozen(kw_only=True)
class Run(Model):
    id: str
    created_at: int
    thread_id: str
    assistant_id: str
    status: RunStatus
    model: str
    object: Literal["thread.run"] = "thread.run"
    required_action: RequiredAction | None = nullable()
    last_error: LastError | None = nullable()
    expires_at: int | None = nullable()
    started_at: int | None = nullable()
    cancelled_at: int | None = nullable()
    failed_at: int | None = nullable()
    completed_at: int | None = nullable()
    incomplete_details: RunIncompleteDetails | None = nullable()
    # A string in the spec's schema, but null in its examples and in what the service
    # sent for an assistant without instructions.
    instructions: str | None = nullable()
    tools: list[AssistantTool] = required(factory=list)
    # Not in the spec's RunObject, but sent by the service (see its examples).
    tool_resources: ToolResources | None = not_in_spec()
    metadata: Metadata | None = nullable()
    usage: Usage | None = nullable()
    temperature: float | None = nullable(required=False)
    top_p: float | None = nullable(required=False)
    max_prompt_tokens: int | None = nullable()
    max_completion_tokens: int | None = nullable()
    truncation_strategy: TruncationStrategy | None = nullable()
    tool_choice: AssistantToolChoiceOption | None = nullable()
    parallel_tool_calls: bool | None = required()
    response_format: ResponseFormat | None = nullable()

    @property
    def is_terminal(self) -> bool:
        """True once the run waits on the caller or has ended."""
        return self.status in TERMINAL_RUN_STATUSES


@attrs.frozen(kw_only=True)
class ToolOutput(Model):
    """The result of one tool call, for ``runs.submit_tool_outputs`` (or a plain dict)."""

    tool_call_id: str
    output: str
