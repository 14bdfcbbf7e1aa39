"""Threads."""

from __future__ import annotations

from typing import Literal

import attrs

from .._model import Model, nullable
from .shared import Metadata, ToolResources

__all__ = ["Thread", "ThreadDeleted"]


@attrs.frozen(kw_only=True)
class Thread(Model):
    id: str
    created_at: int
    object: Literal["thread"] = "thread"
    tool_resources: ToolResources | None = nullable()
    metadata: Metadata | None = nullable()


@attrs.frozen(kw_only=True)
class ThreadDeleted(Model):
    id: str
    deleted: bool
    object: Literal["thread.deleted"] = "thread.deleted"
