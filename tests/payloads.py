"""Minimal valid API objects for tests."""

from __future__ import annotations

import warnings
from typing import Any

from assistants_async._decoding.converter import structure
from assistants_async._deviations import Deviation, Deviations, Reading, SpecDeviationWarning

ASSISTANT: dict[str, Any] = {
    "id": "asst_1",
    "object": "assistant",
    "created_at": 1,
    "name": "Weather",
    "description": None,
    "model": "gpt-4o",
    "instructions": None,
    "tools": [],
    "metadata": {},
}
THREAD: dict[str, Any] = {
    "id": "thread_1",
    "object": "thread",
    "created_at": 1,
    "tool_resources": None,
    "metadata": {},
}
MESSAGE: dict[str, Any] = {
    "id": "msg_1",
    "object": "thread.message",
    "created_at": 1,
    "thread_id": "thread_1",
    "status": "completed",
    "incomplete_details": None,
    "completed_at": 1,
    "incomplete_at": None,
    "role": "user",
    "content": [{"type": "text", "text": {"value": "Hi", "annotations": []}}],
    "assistant_id": None,
    "run_id": None,
    "attachments": [],
    "metadata": {},
}
RUN: dict[str, Any] = {
    "id": "run_1",
    "object": "thread.run",
    "created_at": 1,
    "thread_id": "thread_1",
    "assistant_id": "asst_1",
    "status": "queued",
    "required_action": None,
    "last_error": None,
    "expires_at": 601,
    "started_at": None,
    "cancelled_at": None,
    "failed_at": None,
    "completed_at": None,
    "incomplete_details": None,
    "model": "gpt-4o",
    "instructions": "",
    "tools": [],
    "metadata": {},
    "usage": None,
    "max_prompt_tokens": None,
    "max_completion_tokens": None,
    "truncation_strategy": {"type": "auto", "last_messages": None},
    "tool_choice": "auto",
    "parallel_tool_calls": True,
    "response_format": "auto",
}
STEP: dict[str, Any] = {
    "id": "step_1",
    "object": "thread.run.step",
    "created_at": 1,
    "run_id": "run_1",
    "assistant_id": "asst_1",
    "thread_id": "thread_1",
    "type": "message_creation",
    "status": "completed",
    "step_details": {"type": "message_creation", "message_creation": {"message_id": "msg_1"}},
    "last_error": None,
    "expired_at": None,
    "cancelled_at": None,
    "failed_at": None,
    "completed_at": 1,
    "metadata": {},
    "usage": None,
}


def deleted(obj_id: str, kind: str) -> dict[str, Any]:
    return {"id": obj_id, "object": f"{kind}.deleted", "deleted": True}


def page(*items: dict[str, Any], has_more: bool = False) -> dict[str, Any]:
    return {
        "object": "list",
        "data": list(items),
        "first_id": items[0]["id"] if items else None,
        "last_id": items[-1]["id"] if items else None,
        "has_more": has_more,
    }


def tolerant(data: Any, cls: Any) -> tuple[Any, list[Deviation]]:
    """``data`` decoded as a tolerant client decodes a response, and what it tolerated
    (warnings aside: the caller asserts on the list)."""
    found = Deviations()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpecDeviationWarning)
        model = structure(data, cls, Reading(strict=False, deviations=found), "test")
    return model, list(found)
