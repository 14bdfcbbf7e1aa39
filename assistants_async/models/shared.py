"""Pieces shared by assistants, threads and runs: tools, formats, tool choice, usage."""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

import attrs

from ._base import Model, Unknown, nullable, register_union

__all__ = [
    "AssistantTool",
    "AssistantToolChoice",
    "AssistantToolChoiceFunction",
    "AssistantToolChoiceOption",
    "CodeInterpreterResources",
    "CodeInterpreterTool",
    "ErrorObject",
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

define = attrs.define(frozen=True, kw_only=True)


@define
class FunctionDefinition(Model):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


@define
class CodeInterpreterTool(Model):
    type: Literal["code_interpreter"] = "code_interpreter"


@define
class FileSearchRankingOptions(Model):
    score_threshold: float
    ranker: FileSearchRanker | None = None


@define
class FileSearchSettings(Model):
    max_num_results: int | None = None
    ranking_options: FileSearchRankingOptions | None = None


@define
class FileSearchTool(Model):
    type: Literal["file_search"] = "file_search"
    file_search: FileSearchSettings | None = None


@define
class FunctionTool(Model):
    function: FunctionDefinition
    type: Literal["function"] = "function"


AssistantTool: TypeAlias = CodeInterpreterTool | FileSearchTool | FunctionTool | Unknown
register_union(AssistantTool, CodeInterpreterTool, FileSearchTool, FunctionTool)


@define
class ResponseFormatText(Model):
    type: Literal["text"] = "text"


@define
class ResponseFormatJSONObject(Model):
    type: Literal["json_object"] = "json_object"


@define
class JSONSchema(Model):
    name: str
    description: str | None = None
    schema: dict[str, Any] | None = None
    strict: bool | None = None


@define
class ResponseFormatJSONSchema(Model):
    json_schema: JSONSchema
    type: Literal["json_schema"] = "json_schema"


ResponseFormat: TypeAlias = (
    Literal["auto"] | ResponseFormatText | ResponseFormatJSONObject | ResponseFormatJSONSchema | Unknown
)
register_union(ResponseFormat, ResponseFormatText, ResponseFormatJSONObject, ResponseFormatJSONSchema)


@define
class AssistantToolChoiceFunction(Model):
    name: str


@define
class AssistantToolChoice(Model):
    type: Literal["function", "code_interpreter", "file_search"]
    function: AssistantToolChoiceFunction | None = None


AssistantToolChoiceOption: TypeAlias = Literal["none", "auto", "required"] | AssistantToolChoice
register_union(AssistantToolChoiceOption, AssistantToolChoice, tag=None)


@define
class TruncationStrategy(Model):
    type: Literal["auto", "last_messages"]
    last_messages: int | None = None


@define
class CodeInterpreterResources(Model):
    file_ids: list[str] | None = None


@define
class FileSearchResources(Model):
    vector_store_ids: list[str] | None = None
    # Request-only helper that creates a vector store on the fly.
    vector_stores: list[dict[str, Any]] | None = None


@define
class ToolResources(Model):
    code_interpreter: CodeInterpreterResources | None = None
    file_search: FileSearchResources | None = None


@define
class Usage(Model):
    completion_tokens: int
    prompt_tokens: int
    total_tokens: int


@define
class ErrorObject(Model):
    """The body of an ``error`` stream event (and of the error envelope)."""

    message: str
    type: str
    code: str | None = nullable()
    param: str | None = nullable()

