"""Minimal valid API objects for tests."""

from __future__ import annotations

from typing import Any

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
THREAD: dict[str, Any] = {"id": "thread_1", "object": "thread", "created_at": 1, "metadata": {}}
MESSAGE: dict[str, Any] = {
    "id": "msg_1",
    "object": "thread.message",
    "created_at": 1,
    "thread_id": "thread_1",
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
    "model": "gpt-4o",
    "tools": [],
    "metadata": {},
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
