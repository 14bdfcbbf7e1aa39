"""The fake server's handlers for assistants, threads and messages (runs: ``_runs``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from ._engine import RunEngine
from ._http import BODY, _json, _page, refuse
from ._store import JSON, MemoryStore, StoredRun, StoredThread

if TYPE_CHECKING:
    from ._server import Progress

__all__ = ["ObjectHandlers"]

# Fields whose null means "leave as it is": the object never holds null there. (A null
# ``metadata`` clears it, as on threads and messages.)
_NON_NULL = frozenset({"model", "tools"})


class ObjectHandlers(RunEngine):
    """Handlers of the object operations; the server supplies ``store`` and ``progress``."""

    store: MemoryStore
    progress: Progress

    def _thread(self, request: web.Request) -> StoredThread:
        return self.store.thread(request.match_info["thread_id"])

    def _message(self, request: web.Request) -> tuple[StoredThread, JSON]:
        thread = self._thread(request)
        message_id = request.match_info["message_id"]
        found = thread.messages.get(message_id)
        if found is None:
            raise refuse(404, f"No message found with id '{message_id}'.")
        return thread, found

    def _run(self, request: web.Request) -> tuple[StoredThread, StoredRun]:
        thread = self._thread(request)
        run_id = request.match_info["run_id"]
        found = thread.runs.get(run_id)
        if found is None:
            raise refuse(404, f"No run found with id '{run_id}'.")
        self.expire(found)
        return thread, found

    async def _create_assistant(self, request: web.Request) -> web.Response:
        body: JSON = request[BODY]
        obj: JSON = {
            "id": self.ids("asst"),
            "object": "assistant",
            "created_at": self.clock(),
            "name": None,
            "description": None,
            "model": body["model"],
            "instructions": None,
            "tools": [],
            "tool_resources": {},
            "metadata": {},
            "temperature": 1.0,
            "top_p": 1.0,
            "response_format": "auto",
        }
        self._apply_assistant_fields(obj, body)
        self.store.add_assistant(obj)
        return _json(obj)

    def _apply_assistant_fields(self, obj: JSON, body: JSON) -> None:
        for name in (
            "model",
            "name",
            "description",
            "instructions",
            "tools",
            "metadata",
            "temperature",
            "top_p",
            "response_format",
        ):
            if name in body:
                obj[name] = (
                    body[name] if body[name] is not None or name not in _NON_NULL else obj[name]
                )
        if "tool_resources" in body:
            obj["tool_resources"] = self._tool_resources(body["tool_resources"])
        if obj["metadata"] is None:
            obj["metadata"] = {}

    def _tool_resources(self, given: JSON | None) -> JSON:
        resources: JSON = {}
        for kind, value in (given or {}).items():
            value = dict(value)
            if kind == "file_search" and value.get("vector_stores"):
                value.pop("vector_stores")
                value["vector_store_ids"] = [self.ids("vs")]
            resources[kind] = value
        return resources

    async def _get_assistant(self, request: web.Request) -> web.Response:
        return _json(self.store.assistant(request.match_info["assistant_id"]))

    async def _modify_assistant(self, request: web.Request) -> web.Response:
        obj = self.store.assistant(request.match_info["assistant_id"])
        self._apply_assistant_fields(obj, request[BODY])
        return _json(obj)

    async def _delete_assistant(self, request: web.Request) -> web.Response:
        assistant_id = request.match_info["assistant_id"]
        self.store.remove_assistant(assistant_id)
        return _json({"id": assistant_id, "object": "assistant.deleted", "deleted": True})

    async def _list_assistants(self, request: web.Request) -> web.Response:
        mine = self.store.list_assistants()
        return _json(_page(mine, request))

    def _new_thread(self, body: JSON) -> StoredThread:
        thread = StoredThread(
            obj={
                "id": self.ids("thread"),
                "object": "thread",
                "created_at": self.clock(),
                "tool_resources": self._tool_resources(body.get("tool_resources")),
                "metadata": body.get("metadata") or {},
            }
        )
        for message in body.get("messages") or []:
            self.new_message(thread, message)
        self.store.add_thread(thread)
        return thread

    async def _create_thread(self, request: web.Request) -> web.Response:
        return _json(self._new_thread(request[BODY]).obj)

    async def _get_thread(self, request: web.Request) -> web.Response:
        return _json(self._thread(request).obj)

    async def _modify_thread(self, request: web.Request) -> web.Response:
        thread = self._thread(request)
        body: JSON = request[BODY]
        if "tool_resources" in body:
            thread.obj["tool_resources"] = self._tool_resources(body["tool_resources"])
        if "metadata" in body:
            thread.obj["metadata"] = body["metadata"] or {}
        return _json(thread.obj)

    async def _delete_thread(self, request: web.Request) -> web.Response:
        thread = self._thread(request)
        for run in thread.runs.values():
            if run.timer is not None:
                run.timer.cancel()
        self.store.remove_thread(thread.obj["id"])
        return _json({"id": thread.obj["id"], "object": "thread.deleted", "deleted": True})

    async def _create_message(self, request: web.Request) -> web.Response:
        thread = self._thread(request)
        active = thread.active_run()
        if active is not None:
            raise refuse(
                400,
                f"Can't add messages to {thread.obj['id']} while a run "
                f"{active.obj['id']} is active.",
            )
        return _json(self.new_message(thread, request[BODY]))

    async def _get_message(self, request: web.Request) -> web.Response:
        return _json(self._message(request)[1])

    async def _modify_message(self, request: web.Request) -> web.Response:
        _, message = self._message(request)
        if "metadata" in request[BODY]:
            message["metadata"] = request[BODY]["metadata"] or {}
        return _json(message)

    async def _delete_message(self, request: web.Request) -> web.Response:
        thread, message = self._message(request)
        del thread.messages[message["id"]]
        return _json({"id": message["id"], "object": "thread.message.deleted", "deleted": True})

    async def _list_messages(self, request: web.Request) -> web.Response:
        thread = self._thread(request)
        items = list(thread.messages.values())
        run_id = request.query.get("run_id")
        if run_id is not None:
            items = [m for m in items if m["run_id"] == run_id]
        return _json(_page(items, request))
