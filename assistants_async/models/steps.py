"""Run steps: step details, tool calls, and step deltas."""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

import attrs

from ._base import Model, Unknown, nullable, register_union
from .runs import LastError
from .shared import FileSearchRankingOptions, Metadata, Usage

__all__ = [
    "CodeInterpreter",
    "CodeInterpreterDelta",
    "CodeInterpreterLogs",
    "CodeInterpreterLogsDelta",
    "CodeInterpreterOutput",
    "CodeInterpreterOutputDelta",
    "CodeInterpreterOutputImage",
    "CodeInterpreterOutputImageDelta",
    "CodeInterpreterOutputImageFile",
    "CodeInterpreterOutputImageFileDelta",
    "CodeInterpreterToolCall",
    "CodeInterpreterToolCallDelta",
    "FileSearch",
    "FileSearchResult",
    "FileSearchResultContent",
    "FileSearchToolCall",
    "FileSearchToolCallDelta",
    "FunctionToolCall",
    "FunctionToolCallDelta",
    "FunctionToolCallDeltaFunction",
    "FunctionToolCallFunction",
    "MessageCreation",
    "MessageCreationDelta",
    "MessageCreationStepDetails",
    "RunStep",
    "RunStepDelta",
    "RunStepDeltaEvent",
    "RunStepDeltaMessageDelta",
    "RunStepDeltaStepDetails",
    "RunStepStatus",
    "StepDetails",
    "ToolCall",
    "ToolCallDelta",
    "ToolCallDeltaObject",
    "ToolCallsStepDetails",
]

define = attrs.define(frozen=True, kw_only=True)

RunStepStatus: TypeAlias = Literal["in_progress", "cancelled", "failed", "completed", "expired"]

# The only value the ``include`` query parameter accepts.
FILE_SEARCH_RESULT_CONTENT = "step_details.tool_calls[*].file_search.results[*].content"


# --- step details ---------------------------------------------------------------------


@define
class MessageCreation(Model):
    message_id: str


@define
class MessageCreationStepDetails(Model):
    message_creation: MessageCreation
    type: Literal["message_creation"] = "message_creation"


@define
class CodeInterpreterLogs(Model):
    logs: str
    type: Literal["logs"] = "logs"


@define
class CodeInterpreterOutputImageFile(Model):
    file_id: str


@define
class CodeInterpreterOutputImage(Model):
    image: CodeInterpreterOutputImageFile
    type: Literal["image"] = "image"


CodeInterpreterOutput: TypeAlias = CodeInterpreterLogs | CodeInterpreterOutputImage | Unknown
register_union(CodeInterpreterOutput, CodeInterpreterLogs, CodeInterpreterOutputImage)


@define
class CodeInterpreter(Model):
    input: str
    outputs: list[CodeInterpreterOutput]


@define
class CodeInterpreterToolCall(Model):
    id: str
    code_interpreter: CodeInterpreter
    type: Literal["code_interpreter"] = "code_interpreter"


@define
class FileSearchResultContent(Model):
    type: Literal["text"] | None = None
    text: str | None = None


@define
class FileSearchResult(Model):
    file_id: str
    file_name: str
    score: float
    content: list[FileSearchResultContent] | None = None


@define
class FileSearch(Model):
    ranking_options: FileSearchRankingOptions | None = None
    results: list[FileSearchResult] | None = None


@define
class FileSearchToolCall(Model):
    id: str
    file_search: FileSearch
    type: Literal["file_search"] = "file_search"


@define
class FunctionToolCallFunction(Model):
    name: str
    arguments: str
    output: str | None = nullable()


@define
class FunctionToolCall(Model):
    id: str
    function: FunctionToolCallFunction
    type: Literal["function"] = "function"


ToolCall: TypeAlias = CodeInterpreterToolCall | FileSearchToolCall | FunctionToolCall | Unknown
register_union(ToolCall, CodeInterpreterToolCall, FileSearchToolCall, FunctionToolCall)


@define
class ToolCallsStepDetails(Model):
    tool_calls: list[ToolCall]
    type: Literal["tool_calls"] = "tool_calls"


StepDetails: TypeAlias = MessageCreationStepDetails | ToolCallsStepDetails | Unknown
register_union(StepDetails, MessageCreationStepDetails, ToolCallsStepDetails)


@define
class RunStep(Model):
    id: str
    created_at: int
    assistant_id: str
    thread_id: str
    run_id: str
    type: Literal["message_creation", "tool_calls"]
    status: RunStepStatus
    step_details: StepDetails
    object: Literal["thread.run.step"] = "thread.run.step"
    last_error: LastError | None = nullable()
    expired_at: int | None = nullable()
    cancelled_at: int | None = nullable()
    failed_at: int | None = nullable()
    completed_at: int | None = nullable()
    metadata: Metadata | None = nullable()
    usage: Usage | None = nullable()


# --- deltas (streaming) ---------------------------------------------------------------


@define
class MessageCreationDelta(Model):
    message_id: str | None = None


@define
class RunStepDeltaMessageDelta(Model):
    type: Literal["message_creation"] = "message_creation"
    message_creation: MessageCreationDelta | None = None


@define
class CodeInterpreterLogsDelta(Model):
    index: int
    type: Literal["logs"] = "logs"
    logs: str | None = None


@define
class CodeInterpreterOutputImageFileDelta(Model):
    file_id: str | None = None


@define
class CodeInterpreterOutputImageDelta(Model):
    index: int
    type: Literal["image"] = "image"
    image: CodeInterpreterOutputImageFileDelta | None = None


CodeInterpreterOutputDelta: TypeAlias = (
    CodeInterpreterLogsDelta | CodeInterpreterOutputImageDelta | Unknown
)
register_union(CodeInterpreterOutputDelta, CodeInterpreterLogsDelta, CodeInterpreterOutputImageDelta)


@define
class CodeInterpreterDelta(Model):
    input: str | None = None
    outputs: list[CodeInterpreterOutputDelta] | None = None


@define
class CodeInterpreterToolCallDelta(Model):
    index: int
    type: Literal["code_interpreter"] = "code_interpreter"
    id: str | None = None
    code_interpreter: CodeInterpreterDelta | None = None


@define
class FileSearchToolCallDelta(Model):
    index: int
    # Always an empty object so far.
    file_search: dict[str, Any] = attrs.field(factory=dict)
    type: Literal["file_search"] = "file_search"
    id: str | None = None


@define
class FunctionToolCallDeltaFunction(Model):
    name: str | None = None
    arguments: str | None = None
    output: str | None = None


@define
class FunctionToolCallDelta(Model):
    index: int
    type: Literal["function"] = "function"
    id: str | None = None
    function: FunctionToolCallDeltaFunction | None = None


ToolCallDelta: TypeAlias = (
    CodeInterpreterToolCallDelta | FileSearchToolCallDelta | FunctionToolCallDelta | Unknown
)
register_union(
    ToolCallDelta, CodeInterpreterToolCallDelta, FileSearchToolCallDelta, FunctionToolCallDelta
)


@define
class ToolCallDeltaObject(Model):
    type: Literal["tool_calls"] = "tool_calls"
    tool_calls: list[ToolCallDelta] | None = None


RunStepDeltaStepDetails: TypeAlias = RunStepDeltaMessageDelta | ToolCallDeltaObject | Unknown
register_union(RunStepDeltaStepDetails, RunStepDeltaMessageDelta, ToolCallDeltaObject)


@define
class RunStepDelta(Model):
    step_details: RunStepDeltaStepDetails | None = None


@define
class RunStepDeltaEvent(Model):
    """The data of a ``thread.run.step.delta`` stream event."""

    id: str
    delta: RunStepDelta
    object: Literal["thread.run.step.delta"] = "thread.run.step.delta"
