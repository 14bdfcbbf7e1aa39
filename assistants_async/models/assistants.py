"""Assistants."""

from __future__ import annotations

from typing import Literal

import attrs

from .._model import Model, nullable, required
from .shared import AssistantTool, Metadata, ResponseFormat, ToolResources

__all__ = ["Assistant", "AssistantDeleted"]


@attrs.frozen(kw_only=True)
class Assistant(Model):
    id: str
    created_at: int
    model: str
    object: Literal["assistant"] = "assistant"
    name: str | None = nullable()
    description: str | None = nullable()
    instructions: str | None = nullable()
    tools: list[AssistantTool] = required(factory=list)
    tool_resources: ToolResources | None = nullable(required=False)
    metadata: Metadata | None = nullable()
    temperature: float | None = nullable(required=False)
    top_p: float | None = nullable(required=False)
    response_format: ResponseFormat | None = nullable(required=False)


@attrs.frozen(kw_only=True)
class AssistantDeleted(Model):
    id: str
    deleted: bool
    object: Literal["assistant.deleted"] = "assistant.deleted"
