"""A server that answers as the most complete open-source Assistants server was seen to
answer (FastAPI + Celery + a SQL database, surveyed 2026-12): every operation, with the
deviations it sends, for the tolerant-reading tests.

What it sends that the spec does not allow (see the README, "Compatible servers"):

* every timestamp as a float (``1796499558.0``: an integer in the spec's dialect, so
  not a deviation at all);
* ``tools: null`` on assistants made without tools;
* threads with ``metadata_`` in place of ``metadata``;
* messages without ``status``, ``completed_at`` and ``incomplete_details``;
* runs without ``parallel_tool_calls``, and ``required_action: {}`` after a submit;
* run steps without ``usage`` or ``expired_at``;
* ids without prefixes, and fields the spec does not have (``updated_at``,
  ``file_ids``);
* streams without ``event: done`` after ``thread.run.completed`` or
  ``thread.run.requires_action``; a ``thread.run.completed`` whose run says
  ``requires_action``, a ``thread.message.completed`` whose message says
  ``in_progress``.

``valid=True`` sends spec-valid objects (from ``payloads``) in the same streams, so the
stream-level deviations can be tried alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from .payloads import ASSISTANT, MESSAGE, RUN, STEP, THREAD

NOW = 1796499558.0
ASST_ID = "6f1c2a8e9b7d4e3f"  # ids without prefixes, as that server makes them
THREAD_ID = "0d4b7c1e2f3a4b5c"
MSG_ID = "9a8b7c6d5e4f3a2b"
RUN_ID = "1b2c3d4e5f6a7b8c"
STEP_ID = "7e6d5c4b3a2f1e0d"
CALL_ID = "call_0"

ASSISTANT_SENT: dict[str, Any] = {
    "id": ASST_ID,
    "object": "assistant",
    "created_at": NOW,
    "updated_at": NOW,
    "name": "Weather",
    "description": None,
    "model": "gpt-4o",
    "instructions": None,
    "tools": None,
    "file_ids": [],
    "tool_resources": None,
    "metadata": {},
    "response_format": "auto",
    "temperature": 1.0,
    "top_p": 1.0,
}
THREAD_SENT: dict[str, Any] = {
    "id": THREAD_ID,
    "object": "thread",
    "created_at": NOW,
    "tool_resources": None,
    "metadata_": {},
}
MESSAGE_SENT: dict[str, Any] = {
    "id": MSG_ID,
    "object": "thread.message",
    "created_at": NOW,
    "thread_id": THREAD_ID,
    "role": "user",
    "content": [{"type": "text", "text": {"value": "Hi", "annotations": []}}],
    "incomplete_at": None,
    "assistant_id": None,
    "run_id": None,
    "file_ids": [],
    "attachments": [],
    "metadata": {},
}
RUN_SENT: dict[str, Any] = {
    "id": RUN_ID,
    "object": "thread.run",
    "created_at": NOW,
    "thread_id": THREAD_ID,
    "assistant_id": ASST_ID,
    "status": "requires_action",
    "required_action": {
        "type": "submit_tool_outputs",
        "submit_tool_outputs": {
            "tool_calls": [
                {
                    "id": CALL_ID,
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": "{}"},
                }
            ]
        },
    },
    "last_error": None,
    "expires_at": NOW + 600,
    "started_at": NOW,
    "cancelled_at": None,
    "failed_at": None,
    "completed_at": None,
    "incomplete_details": None,
    "model": "gpt-4o",
    "instructions": "",
    "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}],
    "file_ids": [],
    "metadata": {},
    "usage": None,
    "temperature": 1.0,
    "top_p": 1.0,
    "max_prompt_tokens": None,
    "max_completion_tokens": None,
    "truncation_strategy": {"type": "auto", "last_messages": None},
    "tool_choice": "auto",
    "response_format": "auto",
}
# What submit_tool_outputs answers: the run going on, its action an empty object.
SUBMITTED_SENT: dict[str, Any] = {**RUN_SENT, "status": "queued", "required_action": {}}
STEP_SENT: dict[str, Any] = {
    "id": STEP_ID,
    "object": "thread.run.step",
    "created_at": NOW,
    "run_id": RUN_ID,
    "assistant_id": ASST_ID,
    "thread_id": THREAD_ID,
    "type": "message_creation",
    "status": "completed",
    "step_details": {"type": "message_creation", "message_creation": {"message_id": MSG_ID}},
    "last_error": None,
    "cancelled_at": None,
    "failed_at": None,
    "completed_at": NOW,
    "metadata": None,
}


def _page(*items: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "list",
        "data": list(items),
        "first_id": items[0]["id"],
        "last_id": items[-1]["id"],
        "has_more": False,
    }


def _deleted(obj_id: str, kind: str) -> dict[str, Any]:
    return {"id": obj_id, "object": f"{kind}.deleted", "deleted": True}


def _sse(events: list[tuple[str, Any]]) -> bytes:
    return b"".join(
        f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events
    )


class DeviantServer:
    """Every Assistants operation on loopback, answered with the deviations above (or
    with valid objects and only the stream-level deviations, ``valid=True``)."""

    def __init__(self, *, valid: bool = False) -> None:
        self.valid = valid
        if valid:
            self.assistant: dict[str, Any] = ASSISTANT
            self.thread: dict[str, Any] = THREAD
            self.message: dict[str, Any] = MESSAGE
            self.run: dict[str, Any] = {**RUN, "status": "requires_action"}
            self.submitted: dict[str, Any] = {**RUN, "status": "queued"}
            self.step: dict[str, Any] = STEP
        else:
            self.assistant = ASSISTANT_SENT
            self.thread = THREAD_SENT
            self.message = MESSAGE_SENT
            self.run = RUN_SENT
            self.submitted = SUBMITTED_SENT
            self.step = STEP_SENT
        self.url = ""
        self._server: TestServer | None = None

    def app(self) -> web.Application:
        app = web.Application()
        a, t, m, r, s = "{assistant_id}", "{thread_id}", "{message_id}", "{run_id}", "{step_id}"
        routes = [
            ("POST", "/v1/assistants", self.assistant),
            ("GET", "/v1/assistants", _page(self.assistant)),
            ("GET", f"/v1/assistants/{a}", self.assistant),
            ("POST", f"/v1/assistants/{a}", self.assistant),
            ("DELETE", f"/v1/assistants/{a}", _deleted(ASST_ID, "assistant")),
            ("POST", "/v1/threads", self.thread),
            ("POST", "/v1/threads/runs", self.run),
            ("GET", f"/v1/threads/{t}", self.thread),
            ("POST", f"/v1/threads/{t}", self.thread),
            ("DELETE", f"/v1/threads/{t}", _deleted(THREAD_ID, "thread")),
            ("POST", f"/v1/threads/{t}/messages", self.message),
            ("GET", f"/v1/threads/{t}/messages", _page(self.message)),
            ("GET", f"/v1/threads/{t}/messages/{m}", self.message),
            ("POST", f"/v1/threads/{t}/messages/{m}", self.message),
            ("DELETE", f"/v1/threads/{t}/messages/{m}", _deleted(MSG_ID, "thread.message")),
            ("POST", f"/v1/threads/{t}/runs", self.run),
            ("GET", f"/v1/threads/{t}/runs", _page(self.run)),
            ("GET", f"/v1/threads/{t}/runs/{r}", self.run),
            ("POST", f"/v1/threads/{t}/runs/{r}", self.run),
            ("POST", f"/v1/threads/{t}/runs/{r}/cancel", self.run),
            ("POST", f"/v1/threads/{t}/runs/{r}/submit_tool_outputs", self.submitted),
            ("GET", f"/v1/threads/{t}/runs/{r}/steps", _page(self.step)),
            ("GET", f"/v1/threads/{t}/runs/{r}/steps/{s}", self.step),
        ]
        for method, path, body in routes:
            app.router.add_route(method, path, self._handler(body))
        return app

    def _handler(self, body: dict[str, Any]) -> Any:
        async def handle(request: web.Request) -> web.StreamResponse:
            if request.method == "POST" and request.can_read_body:
                sent = await request.json()
                if sent.get("stream"):
                    return await self._stream(request)
            return web.json_response(body)

        return handle

    def _events(self, path: str) -> list[tuple[str, Any]]:
        """A stream as that server sends it: no ``done``; a completed message still
        ``in_progress``; a completed run still ``requires_action``."""
        message = {**self.message, "role": "assistant", "content": []}
        delta = {
            "id": message["id"],
            "object": "thread.message.delta",
            "delta": {"content": [{"index": 0, "type": "text", "text": {"value": "Sunny"}}]},
        }
        done_message = {
            **message,
            "content": [{"type": "text", "text": {"value": "Sunny", "annotations": []}}],
        }
        done_message["status"] = "in_progress"
        queued = {**self.run, "status": "queued", "required_action": None}
        if path.endswith("/submit_tool_outputs"):
            return [
                ("thread.run.queued", queued),
                ("thread.message.created", message),
                ("thread.message.delta", delta),
                ("thread.message.completed", done_message),
                ("thread.run.completed", {**queued, "status": "requires_action"}),
            ]
        if path.endswith("/threads/runs"):
            return [
                ("thread.created", self.thread),
                ("thread.run.created", queued),
                ("thread.run.requires_action", self.run),
            ]
        return [
            ("thread.run.created", queued),
            ("thread.message.created", message),
            ("thread.message.delta", delta),
            ("thread.message.completed", done_message),
            ("thread.run.completed", {**queued, "status": "requires_action"}),
        ]

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(_sse(self._events(request.path)))
        await response.write_eof()  # and no "done"
        return response

    async def start(self) -> str:
        self._server = TestServer(self.app(), host="127.0.0.1")
        await self._server.start_server()
        self.url = str(self._server.make_url("/v1"))
        return self.url

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()


@contextmanager
def no_deviation_warnings() -> Iterator[None]:
    """For a tolerant client whose deviations the test reads from ``client.deviations``."""
    import warnings

    from assistants_async import SpecDeviationWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpecDeviationWarning)
        yield
