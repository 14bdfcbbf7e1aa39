"""The handlers of assistants, threads and messages (runs: ``_runs``), over a ``Store``.

Each request's tenant is ``request[TENANT]``, set by the app before the handler runs;
every store call names it. The store's exceptions (``NotFound`` and the like) become the
API's error answers in ``_app``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from .._schema import Invalid
from ._engine import RunEngine
from ._http import BODY, TENANT, _json, _list, _page_query, refuse
from ._store import JSON, PageQuery, Store

__all__ = ["Handlers", "tenant_of"]

# Fields whose null means "leave as it is": the object never holds null there. (A null
# ``metadata`` clears it, as on threads and messages.)
_NON_NULL = frozenset({"model", "tools"})

_ASSISTANT_FIELDS = (
    "model",
    "name",
    "description",
    "instructions",
    "tools",
    "metadata",
    "temperature",
    "top_p",
    "response_format",
    # Not in the spec's assistant object, but its create and modify take it: kept and
    # shown as given, since runs of the assistant use it.
    "reasoning_effort",
)


def tenant_of(request: web.Request) -> str:
    return str(request.get(TENANT, ""))


async def page_query(request: web.Request, exists: Callable[[], Awaitable[object]]) -> PageQuery:
    """The list's query; a bad one is refused only once the list is known to exist (a
    missing thread is a 404 whatever the query)."""
    try:
        return _page_query(request)
    except Invalid:
        await exists()
        raise


class Handlers:
    """Handlers of the object operations: they hold the store and the run engine."""

    def __init__(self, store: Store, engine: RunEngine) -> None:
        self.store = store
        self.engine = engine

    def tool_resources(self, given: JSON | None) -> JSON:
        resources: JSON = {}
        for kind, value in (given or {}).items():
            value = dict(value)
            if kind == "file_search" and value.get("vector_stores"):
                value.pop("vector_stores")
                value["vector_store_ids"] = [self.engine.ids("vs")]
            resources[kind] = value
        return resources

    # --- assistants -------------------------------------------------------------------

    async def create_assistant(self, request: web.Request) -> web.Response:
        body: JSON = request[BODY]
        obj: JSON = {
            "id": self.engine.ids("asst"),
            "object": "assistant",
            "created_at": self.engine.clock(),
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
        await self.store.add_assistant(tenant_of(request), obj)
        return _json(obj)

    def _apply_assistant_fields(self, obj: JSON, body: JSON) -> None:
        """``body``'s fields on ``obj`` (a copy the handler holds, written back after)."""
        for name in _ASSISTANT_FIELDS:
            if name in body:
                obj[name] = (
                    body[name] if body[name] is not None or name not in _NON_NULL else obj[name]
                )
        if "tool_resources" in body:
            obj["tool_resources"] = self.tool_resources(body["tool_resources"])
        if obj["metadata"] is None:
            obj["metadata"] = {}

    async def get_assistant(self, request: web.Request) -> web.Response:
        found = await self.store.assistant(tenant_of(request), request.match_info["assistant_id"])
        return _json(found)

    async def modify_assistant(self, request: web.Request) -> web.Response:
        tenant = tenant_of(request)
        obj = await self.store.assistant(tenant, request.match_info["assistant_id"])
        self._apply_assistant_fields(obj, request[BODY])
        await self.store.put_assistant(tenant, obj)
        return _json(obj)

    async def delete_assistant(self, request: web.Request) -> web.Response:
        assistant_id = request.match_info["assistant_id"]
        await self.store.delete_assistant(tenant_of(request), assistant_id)
        return _json({"id": assistant_id, "object": "assistant.deleted", "deleted": True})

    async def list_assistants(self, request: web.Request) -> web.Response:
        query = _page_query(request)
        return _json(_list(await self.store.assistants(tenant_of(request), query)))

    # --- threads ----------------------------------------------------------------------

    async def new_thread(self, tenant: str, body: JSON) -> JSON:
        """A thread from a createThread body, with its messages, stored."""
        obj, messages = self.made_thread(body)
        await self.store.add_thread(tenant, obj, messages)
        return obj

    def made_thread(self, body: JSON, run_body: JSON | None = None) -> tuple[JSON, list[JSON]]:
        """A thread from a createThread body, and its messages (nothing stored); a
        createThreadAndRun body's ``tool_resources`` (``run_body``) win."""
        obj: JSON = {
            "id": self.engine.ids("thread"),
            "object": "thread",
            "created_at": self.engine.clock(),
            "tool_resources": self.tool_resources(body.get("tool_resources")),
            "metadata": body.get("metadata") or {},
        }
        messages = [self.engine.message(obj["id"], m) for m in body.get("messages") or []]
        if run_body is not None and "tool_resources" in run_body:
            obj["tool_resources"] = self.tool_resources(run_body["tool_resources"])
        return obj, messages

    async def create_thread(self, request: web.Request) -> web.Response:
        return _json(await self.new_thread(tenant_of(request), request[BODY]))

    async def get_thread(self, request: web.Request) -> web.Response:
        found = await self.store.thread(tenant_of(request), request.match_info["thread_id"])
        return _json(found)

    async def modify_thread(self, request: web.Request) -> web.Response:
        tenant = tenant_of(request)
        obj = await self.store.thread(tenant, request.match_info["thread_id"])
        body: JSON = request[BODY]
        if "tool_resources" in body:
            obj["tool_resources"] = self.tool_resources(body["tool_resources"])
        if "metadata" in body:
            obj["metadata"] = body["metadata"] or {}
        await self.store.put_thread(tenant, obj)
        return _json(obj)

    async def delete_thread(self, request: web.Request) -> web.Response:
        thread_id = request.match_info["thread_id"]
        await self.store.delete_thread(tenant_of(request), thread_id)
        self.engine.stop_timers(thread_id)
        return _json({"id": thread_id, "object": "thread.deleted", "deleted": True})

    # --- messages ---------------------------------------------------------------------

    async def create_message(self, request: web.Request) -> web.Response:
        tenant = tenant_of(request)
        thread_id = request.match_info["thread_id"]
        active = await self.engine.active_run(tenant, thread_id)
        if active is not None:
            raise refuse(400, f"Can't add messages to {thread_id} while a run {active} is active.")
        message = self.engine.message(thread_id, request[BODY])
        await self.store.add_message(tenant, message)
        return _json(message)

    async def get_message(self, request: web.Request) -> web.Response:
        info = request.match_info
        found = await self.store.message(tenant_of(request), info["thread_id"], info["message_id"])
        return _json(found)

    async def modify_message(self, request: web.Request) -> web.Response:
        tenant, info = tenant_of(request), request.match_info
        message = await self.store.message(tenant, info["thread_id"], info["message_id"])
        if "metadata" in request[BODY]:
            message["metadata"] = request[BODY]["metadata"] or {}
            await self.store.put_message(tenant, message)
        return _json(message)

    async def delete_message(self, request: web.Request) -> web.Response:
        info = request.match_info
        message_id = info["message_id"]
        await self.store.delete_message(tenant_of(request), info["thread_id"], message_id)
        return _json({"id": message_id, "object": "thread.message.deleted", "deleted": True})

    async def list_messages(self, request: web.Request) -> web.Response:
        tenant = tenant_of(request)
        thread_id = request.match_info["thread_id"]
        query = await page_query(request, lambda: self.store.thread(tenant, thread_id))
        run_id = request.query.get("run_id")
        page = await self.store.messages(tenant, thread_id, query, run_id=run_id)
        return _json(_list(page))
