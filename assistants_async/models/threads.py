"""Threads."""

from __future__ import annotations

from typing import Literal

import attrs

from .._model import Model, nullable
from .messages import MessageParam
from .shared import Metadata, ToolResources

__all__ = ["Thread", "ThreadDeleted", "ThreadParam"]


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


@attrs.frozen(kw_only=True)
class ThreadParam(Model):
    """The thread to create in ``threads.create_and_run(thread=...)`` (or a plain dict)."""

    messages: list[MessageParam] | None = None
    tool_resources: ToolResources | None = None
    metadata: Metadata | None = None
