"""Run steps: step details, tool calls, and step deltas."""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

import attrs

from .._model import Model, Unknown, nullable, register_union, required
from .runs import LastError
from .shared import FileSearchRanker, Metadata, Usage

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
    "FILE_SEARCH_RESULT_CONTENT",
    "FileSearch",
    "FileSearchResult",
    "FileSearchResultContent",
    "FileSearchResultRankingOptions",
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
    "RunStepInclude",
    "RunStepStatus",
    "StepDetails",
    "ToolCall",
    "ToolCallDelta",
    "ToolCallDeltaObject",
    "ToolCallsStepDetails",
]


RunStepStatus: TypeAlias = Literal["in_progress", "cancelled", "failed", "completed", "expired"]

# The only value the ``include`` query parameter accepts.
RunStepInclude: TypeAlias = Literal["step_details.tool_calls[*].file_search.results[*].content"]
FILE_SEARCH_RESULT_CONTENT: RunStepInclude = (
    "step_details.tool_calls[*].file_search.results[*].content"
)


# --- step details ---------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class MessageCreation(Model):
    message_id: str


@attrs.frozen(kw_only=True)
class MessageCreationStepDetails(Model):
    message_creation: MessageCreation
    type: Literal["message_creation"] = "message_creation"


@attrs.frozen(kw_only=True)
class CodeInterpreterLogs(Model):
    logs: str
    type: Literal["logs"] = "logs"


@attrs.frozen(kw_only=True)
class CodeInterpreterOutputImageFile(Model):
    file_id: str


@attrs.frozen(kw_only=True)
class CodeInterpreterOutputImage(Model):
    image: CodeInterpreterOutputImageFile
    type: Literal["image"] = "image"


CodeInterpreterOutput: TypeAlias = CodeInterpreterLogs | CodeInterpreterOutputImage | Unknown
register_union(CodeInterpreterOutput, CodeInterpreterLogs, CodeInterpreterOutputImage)


@attrs.frozen(kw_only=True)
class CodeInterpreter(Model):
    input: str
    outputs: list[CodeInterpreterOutput]


@attrs.frozen(kw_only=True)
class CodeInterpreterToolCall(Model):
    id: str
    code_interpreter: CodeInterpreter
    type: Literal["code_interpreter"] = "code_interpreter"


@attrs.frozen(kw_only=True)
class FileSearchResultContent(Model):
    type: Literal["text"] | None = None
    text: str | None = None


@attrs.frozen(kw_only=True)
class FileSearchResult(Model):
    file_id: str
    file_name: str
    score: float
    content: list[FileSearchResultContent] | None = None


@attrs.frozen(kw_only=True)
class FileSearchResultRankingOptions(Model):
    """How a file search ranked what it found (where the spec requires ``ranker``)."""

    score_threshold: float
    ranker: FileSearchRanker | None = required()


@attrs.frozen(kw_only=True)
class FileSearch(Model):
    ranking_options: FileSearchResultRankingOptions | None = None
    results: list[FileSearchResult] | None = None


@attrs.frozen(kw_only=True)
class FileSearchToolCall(Model):
    id: str
    file_search: FileSearch
    type: Literal["file_search"] = "file_search"


@attrs.frozen(kw_only=True)
class FunctionToolCallFunction(Model):
    name: str
    arguments: str
    output: str | None = nullable()


@attrs.frozen(kw_only=True)
class FunctionToolCall(Model):
    id: str
    function: FunctionToolCallFunction
    type: Literal["function"] = "function"


ToolCall: TypeAlias = CodeInterpreterToolCall | FileSearchToolCall | FunctionToolCall | Unknown
register_union(ToolCall, CodeInterpreterToolCall, FileSearchToolCall, FunctionToolCall)


@attrs.frozen(kw_only=True)
class ToolCallsStepDetails(Model):
    tool_calls: list[ToolCall]
    type: Literal["tool_calls"] = "tool_calls"


StepDetails: TypeAlias = MessageCreationStepDetails | ToolCallsStepDetails | Unknown
register_union(StepDetails, MessageCreationStepDetails, ToolCallsStepDetails)


@attrs.frozen(kw_only=True)
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


@attrs.frozen(kw_only=True)
class MessageCreationDelta(Model):
    message_id: str | None = None


@attrs.frozen(kw_only=True)
class RunStepDeltaMessageDelta(Model):
    type: Literal["message_creation"] = "message_creation"
    message_creation: MessageCreationDelta | None = None


@attrs.frozen(kw_only=True)
class CodeInterpreterLogsDelta(Model):
    index: int
    type: Literal["logs"] = "logs"
    logs: str | None = None


@attrs.frozen(kw_only=True)
class CodeInterpreterOutputImageFileDelta(Model):
    file_id: str | None = None


@attrs.frozen(kw_only=True)
class CodeInterpreterOutputImageDelta(Model):
    index: int
    type: Literal["image"] = "image"
    image: CodeInterpreterOutputImageFileDelta | None = None


CodeInterpreterOutputDelta: TypeAlias = (
    CodeInterpreterLogsDelta | CodeInterpreterOutputImageDelta | Unknown
)
register_union(
    CodeInterpreterOutputDelta, CodeInterpreterLogsDelta, CodeInterpreterOutputImageDelta
)


@attrs.frozen(kw_only=True)
class CodeInterpreterDelta(Model):
    input: str | None = None
    outputs: list[CodeInterpreterOutputDelta] | None = None


@attrs.frozen(kw_only=True)
class CodeInterpreterToolCallDelta(Model):
    index: int
    type: Literal["code_interpreter"] = "code_interpreter"
    id: str | None = None
    code_interpreter: CodeInterpreterDelta | None = None


@attrs.frozen(kw_only=True)
class FileSearchToolCallDelta(Model):
    index: int
    # Always an empty object so far.
    file_search: dict[str, Any] = required(factory=dict)
    type: Literal["file_search"] = "file_search"
    id: str | None = None


@attrs.frozen(kw_only=True)
class FunctionToolCallDeltaFunction(Model):
    name: str | None = None
    arguments: str | None = None
    output: str | None = nullable(required=False)


@attrs.frozen(kw_only=True)
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


@attrs.frozen(kw_only=True)
class ToolCallDeltaObject(Model):
    type: Literal["tool_calls"] = "tool_calls"
    tool_calls: list[ToolCallDelta] | None = None


RunStepDeltaStepDetails: TypeAlias = RunStepDeltaMessageDelta | ToolCallDeltaObject | Unknown
register_union(RunStepDeltaStepDetails, RunStepDeltaMessageDelta, ToolCallDeltaObject)


@attrs.frozen(kw_only=True)
class RunStepDelta(Model):
    step_details: RunStepDeltaStepDetails | None = None


@attrs.frozen(kw_only=True)
class RunStepDeltaEvent(Model):
    """The data of a ``thread.run.step.delta`` stream event."""

    id: str
    delta: RunStepDelta
    object: Literal["thread.run.step.delta"] = "thread.run.step.delta"
