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
    "FINISHED_RUN_STATUSES",
    "RESTING_RUN_STATUSES",
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
# Statuses a run ends in: nothing more will happen to it.
FINISHED_RUN_STATUSES: frozenset[str] = frozenset(
    {"cancelled", "completed", "failed", "expired", "incomplete"}
)
# Statuses after which polling stops: nothing changes without the caller acting
# (requires_action waits on the caller; the others are finished).
RESTING_RUN_STATUSES: frozenset[str] = FINISHED_RUN_STATUSES | {"requires_action"}
# The official SDK's word for the resting statuses.
TERMINAL_RUN_STATUSES = RESTING_RUN_STATUSES


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
    def is_resting(self) -> bool:
        """True once nothing changes without the caller: the run waits on the caller
        (requires_action) or is finished. Polling stops here."""
        return self.status in RESTING_RUN_STATUSES

    @property
    def is_finished(self) -> bool:
        """True once the run has ended (completed, failed, cancelled, expired or
        incomplete): not requires_action, which waits on the caller."""
        return self.status in FINISHED_RUN_STATUSES

    @property
    def is_terminal(self) -> bool:
        """``is_resting``, under the official SDK's name (its polling calls
        requires_action "terminal" too); prefer ``is_resting`` or ``is_finished``."""
        return self.is_resting


@attrs.frozen(kw_only=True)
class ToolOutput(Model):
    """The result of one tool call, for ``runs.submit_tool_outputs`` (or a plain dict)."""

    tool_call_id: str
    output: str
