"""Pieces shared by assistants, threads and runs: tools, formats, tool choice, usage."""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

import attrs

from .._model import Model, Unknown, not_in_spec, nullable, register_union

__all__ = [
    "AssistantTool",
    "AssistantToolChoice",
    "AssistantToolChoiceFunction",
    "AssistantToolChoiceOption",
    "CodeInterpreterResources",
    "CodeInterpreterTool",
    "ErrorObject",
    "FileSearchRanker",
    "FileSearchRankingOptions",
    "FileSearchResources",
    "FileSearchSettings",
    "FileSearchTool",
    "FunctionDefinition",
    "FunctionTool",
    "JSONSchema",
    "Metadata",
    "ReasoningEffort",
    "ResponseFormat",
    "ResponseFormatJSONObject",
    "ResponseFormatJSONSchema",
    "ResponseFormatText",
    "ToolResources",
    "TruncationStrategy",
    "Usage",
]

Metadata: TypeAlias = dict[str, str]
ReasoningEffort: TypeAlias = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]
FileSearchRanker: TypeAlias = Literal["auto", "default_2024_08_21"]


@attrs.frozen(kw_only=True)
class FunctionDefinition(Model):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = nullable(required=False)


@attrs.frozen(kw_only=True)
class CodeInterpreterTool(Model):
    type: Literal["code_interpreter"] = "code_interpreter"


@attrs.frozen(kw_only=True)
class FileSearchRankingOptions(Model):
    score_threshold: float
    ranker: FileSearchRanker | None = None


@attrs.frozen(kw_only=True)
class FileSearchSettings(Model):
    max_num_results: int | None = None
    ranking_options: FileSearchRankingOptions | None = None


@attrs.frozen(kw_only=True)
class FileSearchTool(Model):
    type: Literal["file_search"] = "file_search"
    file_search: FileSearchSettings | None = None


@attrs.frozen(kw_only=True)
class FunctionTool(Model):
    function: FunctionDefinition
    type: Literal["function"] = "function"


AssistantTool: TypeAlias = CodeInterpreterTool | FileSearchTool | FunctionTool | Unknown
register_union(AssistantTool, CodeInterpreterTool, FileSearchTool, FunctionTool)


@attrs.frozen(kw_only=True)
class ResponseFormatText(Model):
    type: Literal["text"] = "text"


@attrs.frozen(kw_only=True)
class ResponseFormatJSONObject(Model):
    type: Literal["json_object"] = "json_object"


@attrs.frozen(kw_only=True)
class JSONSchema(Model):
    name: str
    description: str | None = None
    schema: dict[str, Any] | None = None
    strict: bool | None = nullable(required=False)


@attrs.frozen(kw_only=True)
class ResponseFormatJSONSchema(Model):
    json_schema: JSONSchema
    type: Literal["json_schema"] = "json_schema"


ResponseFormat: TypeAlias = (
    Literal["auto"]
    | ResponseFormatText
    | ResponseFormatJSONObject
    | ResponseFormatJSONSchema
    | Unknown
)
register_union(
    ResponseFormat, ResponseFormatText, ResponseFormatJSONObject, ResponseFormatJSONSchema
)


@attrs.frozen(kw_only=True)
class AssistantToolChoiceFunction(Model):
    name: str


@attrs.frozen(kw_only=True)
class AssistantToolChoice(Model):
    type: Literal["function", "code_interpreter", "file_search"]
    function: AssistantToolChoiceFunction | None = None


AssistantToolChoiceOption: TypeAlias = Literal["none", "auto", "required"] | AssistantToolChoice
register_union(AssistantToolChoiceOption, AssistantToolChoice, tag=None)


@attrs.frozen(kw_only=True)
class TruncationStrategy(Model):
    type: Literal["auto", "last_messages"]
    last_messages: int | None = nullable(required=False)


@attrs.frozen(kw_only=True)
class CodeInterpreterResources(Model):
    file_ids: list[str] | None = None


@attrs.frozen(kw_only=True)
class FileSearchResources(Model):
    vector_store_ids: list[str] | None = None
    # Request-only helper that creates a vector store on the fly.
    vector_stores: list[dict[str, Any]] | None = not_in_spec()


@attrs.frozen(kw_only=True)
class ToolResources(Model):
    code_interpreter: CodeInterpreterResources | None = None
    file_search: FileSearchResources | None = None


@attrs.frozen(kw_only=True)
class Usage(Model):
    completion_tokens: int
    prompt_tokens: int
    total_tokens: int


@attrs.frozen(kw_only=True)
class ErrorObject(Model):
    """The body of an ``error`` stream event (and of the error envelope)."""

    message: str
    type: str
    code: str | None = nullable()
    param: str | None = nullable()
