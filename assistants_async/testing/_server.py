"""The fake Assistants server: all 23 operations, in memory, on aiohttp.web."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import secrets
import string
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any, Literal, TypeAlias

import attrs
from aiohttp import web
from multidict import CIMultiDict

from .._client import AsyncClient
from .._errors import envelope
from .._schema import Invalid, validate
from ..models import Assistant, Message, Run
from ..models.steps import FILE_SEARCH_RESULT_CONTENT
from ._control import CONTROL_PREFIX, add_control_routes
from ._faults import Fault, Faults
from ._idempotency import IdempotencyStore, Remembered, fingerprint
from ._log import MASKED_HEADERS, LoggedRequest, RequestLog
from ._responders import (
    CallTools,
    Fail,
    Incomplete,
    Reply,
    Responder,
    RunContext,
    SubmittedOutput,
    Text,
    echo,
)
from ._script import Script

__all__ = [
    "FakeAssistantsServer",
    "FakeClock",
    "LoggedRequest",
    "Progress",
    "SequentialIds",
    "random_ids",
]

log = logging.getLogger("assistants_async.testing")

Progress: TypeAlias = Literal["immediate", "per_retrieve", "timer"]
JSON: TypeAlias = dict[str, Any]

ACTIVE = frozenset({"queued", "in_progress", "requires_action", "cancelling"})
TERMINAL = frozenset({"cancelled", "failed", "completed", "incomplete", "expired"})
_ALPHABET = string.ascii_letters + string.digits


def random_ids(prefix: str) -> str:
    """Ids shaped like the real ones: ``asst_`` and 24 random letters and digits."""
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(24))


class SequentialIds:
    """Predictable ids for tests: ``asst_000001``, ``asst_000002``, ``msg_000001``..."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}

    def __call__(self, prefix: str) -> str:
        self._counts[prefix] = self._counts.get(prefix, 0) + 1
        return f"{prefix}_{self._counts[prefix]:06d}"


class FakeClock:
    """A clock the test moves by hand (Unix seconds)."""

    def __init__(self, start: int = 1_700_000_000) -> None:
        self.now = start

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: int) -> None:
        self.now += seconds


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        param: str | None = None,
        code: str | None = None,
        kind: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.kind = (
            status,
            message,
            param,
            code,
            kind,
        )


@attrs.define(eq=False)
class _Run:
    obj: JSON
    steps: dict[str, JSON] = attrs.field(factory=dict)
    open_calls: dict[str, tuple[str, str]] = attrs.field(factory=dict)  # id -> (name, args)
    outputs: list[SubmittedOutput] = attrs.field(factory=list)
    tool_step: str | None = None
    assistant: JSON = attrs.field(factory=dict)
    lock: asyncio.Lock = attrs.field(factory=asyncio.Lock)
    timer: asyncio.Task[None] | None = None


@attrs.define(eq=False)
class _Thread:
    obj: JSON
    messages: dict[str, JSON] = attrs.field(factory=dict)
    runs: dict[str, _Run] = attrs.field(factory=dict)

    def active_run(self) -> _Run | None:
        for run in self.runs.values():
            if run.obj["status"] in ACTIVE:
                return run
        return None


Handler: TypeAlias = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Hears each stream event of a run's life: (event name, data).
Emit: TypeAlias = Callable[[str, JSON], Awaitable[None]]


class FakeAssistantsServer:
    """An in-memory Assistants API on aiohttp.web, faithful to the spec's shapes and rules.

    ``responder`` decides what runs do (see ``assistants_async.testing``); ``progress``
    says when runs move: ``"immediate"`` (settled before the response is sent, though the
    response shows the state at creation, as the real service did), ``"per_retrieve"``
    (one step each time the run is retrieved) or ``"timer"`` (one step every
    ``timer_interval`` seconds). ``clock`` and ``ids`` make times and ids predictable.
    ``api_key``, when set, is the only key accepted; otherwise any key is. As the
    service scoped everything by project, an object is visible only to the API key (or
    the ``OpenAI-Project``) that made it; ``isolate_tenants=False`` shares one world.
    ``max_logged_requests`` bounds ``requests`` (the newest are kept). ``auth`` says
    where the key is expected, as a gateway would: ``"bearer"`` (``Authorization:
    Bearer``), ``"api-key"`` (an ``api-key`` header) or ``"none"`` (no key checked).
    """

    def __init__(
        self,
        *,
        responder: Responder | None = None,
        progress: Progress = "immediate",
        timer_interval: float = 0.05,
        clock: Callable[[], int] | None = None,
        ids: Callable[[str], str] | None = None,
        api_key: str | None = None,
        auth: Literal["bearer", "api-key", "none"] = "bearer",
        run_ttl: int = 600,
        poll_after_ms: int | None = 100,
        max_logged_requests: int = 10_000,
        isolate_tenants: bool = True,
    ) -> None:
        if progress not in ("immediate", "per_retrieve", "timer"):
            raise ValueError(
                f"progress must be 'immediate', 'per_retrieve' or 'timer', not {progress!r}"
            )
        if auth not in ("bearer", "api-key", "none"):
            raise ValueError(f"auth must be 'bearer', 'api-key' or 'none', not {auth!r}")
        self.auth = auth
        self.responder: Responder = responder or echo()
        self.progress: Progress = progress
        self.timer_interval = timer_interval
        self.clock: Callable[[], int] = clock or (lambda: int(time.time()))
        self.ids: Callable[[str], str] = ids or random_ids
        self.run_ttl = run_ttl
        self.poll_after_ms = poll_after_ms
        self._api_key = api_key
        self.faults = Faults()
        self.script = Script()
        self.requests = RequestLog(max_logged_requests)
        self._assistants: dict[str, JSON] = {}
        self._threads: dict[str, _Thread] = {}
        self.idempotency = IdempotencyStore(lambda: self.clock())
        self.isolate_tenants = isolate_tenants
        self._owners: dict[str, str] = {}  # object id -> the tenant that made it
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None
        self.url: str | None = None
        self.app = self._build_app()

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on ``host:port`` (0: a free port); returns the base URL, ending in /v1."""
        # No lingering close: draining an upload we refused would outlive stop().
        self._stopping = asyncio.Event()
        runner = web.AppRunner(self.app, access_log=None, lingering_time=0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        bound = runner.addresses[0]
        self.url = f"http://{host}:{bound[1]}/v1"
        return self.url

    async def stop(self) -> None:
        if self._stopping is not None:
            self._stopping.set()  # requests waiting out a delay fault end now
        self._cancel_timers()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeAssistantsServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def client(self, **kwargs: Any) -> AsyncClient:
        """An AsyncClient pointed at this server (started first)."""
        if self.url is None:
            raise RuntimeError("start the server before asking for a client")
        kwargs.setdefault("base_url", self.url)
        kwargs.setdefault("auth", self.auth)
        if kwargs["auth"] != "none":
            kwargs.setdefault("api_key", self._api_key or "sk-fake")
        return AsyncClient(**kwargs)

    def reset(self) -> None:
        """Forget every object, logged request, fault and idempotency key."""
        self._cancel_timers()
        self._assistants.clear()
        self._threads.clear()
        self.idempotency.clear()
        self._owners.clear()
        self.requests.clear()
        self.faults.clear()
        self.script.clear()

    def _cancel_timers(self) -> None:
        for run in self._all_runs():
            if run.timer is not None:
                run.timer.cancel()
                run.timer = None

    def _all_runs(self) -> Iterator[_Run]:
        for thread in self._threads.values():
            yield from thread.runs.values()

    # --- plumbing ----------------------------------------------------------------------

    def _build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        routes: list[tuple[str, str, str, Handler]] = [
            ("GET", "/v1/assistants", "listAssistants", self._list_assistants),
            ("POST", "/v1/assistants", "createAssistant", self._create_assistant),
            ("GET", "/v1/assistants/{assistant_id}", "getAssistant", self._get_assistant),
            ("POST", "/v1/assistants/{assistant_id}", "modifyAssistant", self._modify_assistant),
            ("DELETE", "/v1/assistants/{assistant_id}", "deleteAssistant", self._delete_assistant),
            ("POST", "/v1/threads", "createThread", self._create_thread),
            ("POST", "/v1/threads/runs", "createThreadAndRun", self._create_thread_and_run),
            ("GET", "/v1/threads/{thread_id}", "getThread", self._get_thread),
            ("POST", "/v1/threads/{thread_id}", "modifyThread", self._modify_thread),
            ("DELETE", "/v1/threads/{thread_id}", "deleteThread", self._delete_thread),
            ("GET", "/v1/threads/{thread_id}/messages", "listMessages", self._list_messages),
            ("POST", "/v1/threads/{thread_id}/messages", "createMessage", self._create_message),
            (
                "GET",
                "/v1/threads/{thread_id}/messages/{message_id}",
                "getMessage",
                self._get_message,
            ),
            (
                "POST",
                "/v1/threads/{thread_id}/messages/{message_id}",
                "modifyMessage",
                self._modify_message,
            ),
            (
                "DELETE",
                "/v1/threads/{thread_id}/messages/{message_id}",
                "deleteMessage",
                self._delete_message,
            ),
            ("GET", "/v1/threads/{thread_id}/runs", "listRuns", self._list_runs),
            ("POST", "/v1/threads/{thread_id}/runs", "createRun", self._create_run),
            ("GET", "/v1/threads/{thread_id}/runs/{run_id}", "getRun", self._get_run),
            ("POST", "/v1/threads/{thread_id}/runs/{run_id}", "modifyRun", self._modify_run),
            ("POST", "/v1/threads/{thread_id}/runs/{run_id}/cancel", "cancelRun", self._cancel_run),
            (
                "POST",
                "/v1/threads/{thread_id}/runs/{run_id}/submit_tool_outputs",
                "submitToolOuputsToRun",
                self._submit_tool_outputs,
            ),
            (
                "GET",
                "/v1/threads/{thread_id}/runs/{run_id}/steps",
                "listRunSteps",
                self._list_steps,
            ),
            (
                "GET",
                "/v1/threads/{thread_id}/runs/{run_id}/steps/{step_id}",
                "getRunStep",
                self._get_step,
            ),
        ]
        for method, path, name, handler in routes:
            app.router.add_route(method, path, handler, name=name)
        self.operations = frozenset(name for _, _, name, _ in routes)
        add_control_routes(app, self)
        return app

    def _error(
        self,
        status: int,
        message: str,
        param: str | None = None,
        code: str | None = None,
        kind: str = "invalid_request_error",
        headers: Mapping[str, str] | None = None,
    ) -> web.Response:
        return web.Response(
            status=status,
            body=json.dumps(envelope(message, kind, param, code)).encode(),
            content_type="application/json",
            headers=headers,
        )

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(CONTROL_PREFIX + "/"):
            return await handler(request)  # the control plane: no key, log or faults
        route = request.match_info.route
        operation = route.name if route.name in self.operations else None
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge as exc:
            return self._error(413, f"Request body too large: {exc.text}", code="body_too_large")
        headers = CIMultiDict(
            (k, MASKED_HEADERS.get(k.lower(), v)) for k, v in request.headers.items()
        )
        entry = LoggedRequest(
            method=request.method,
            path=request.path,
            operation=operation,
            query=list(request.query.items()),
            headers=headers,
            body=_loads_or_text(raw),
        )
        self.requests.append(entry)
        response = await self._respond(request, handler, operation, raw)
        if not response.prepared:
            response.headers.setdefault("x-request-id", self.ids("req"))
        entry.status = response.status
        return response

    def _check_key(self, request: web.Request) -> web.Response | None:
        if self.auth == "none":
            return None
        if self.auth == "api-key":
            token = request.headers.get("api-key", "")
            if not token.strip():
                return self._error(
                    401, "You didn't provide an API key. Send it in an api-key header."
                )
        else:
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return self._error(
                    401,
                    "You didn't provide an API key. You need to provide your API key in an "
                    "Authorization header using Bearer auth "
                    "(i.e. Authorization: Bearer YOUR_KEY).",
                )
        if self._api_key is not None and not secrets.compare_digest(
            token.strip().encode(), self._api_key.encode()
        ):
            return self._error(401, "Incorrect API key provided.", code="invalid_api_key")
        return None

    async def _respond(
        self, request: web.Request, handler: Handler, operation: str | None, raw: bytes
    ) -> web.StreamResponse:
        for fault in self.faults.take(operation):
            if fault.kind in ("stream_error", "stream_cut"):
                request[_STREAM_FAULT] = fault
            elif fault.kind == "delay":
                await self._pause(request, fault.seconds)
            elif fault.kind == "drop":
                if request.transport is not None:
                    request.transport.close()
                raise asyncio.CancelledError
            else:
                if fault.body is not None:
                    return web.Response(
                        status=fault.status,
                        body=_dumps(fault.body),
                        content_type="application/json",
                        headers=fault.headers,
                    )
                return self._error(
                    fault.status,
                    "The fake server was told to fail this request.",
                    kind="server_error",
                    headers=fault.headers,
                )
        refused = self._check_key(request)
        if refused is not None:
            return refused
        if operation is None:
            return await self._unrouted(request, handler)
        _TENANT.set(_tenant(request))
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or not key:
            return await self._handle(request, handler, operation, raw)
        scope = (_TENANT.get(), key)
        this = fingerprint(request.method, request.path, request.query_string, raw)
        async with self.idempotency.hold(scope):
            first = self.idempotency.get(scope)
            if first is not None:
                if first.fingerprint != this:
                    return self._error(
                        400,
                        f"Keys for idempotent requests can only be used with the same "
                        f"parameters they were first used with. Try using a key other than "
                        f"'{key}' if you meant to execute a different request.",
                        code="idempotency_key_reused",
                    )
                return web.Response(
                    status=first.status,
                    body=first.body,
                    headers={"Content-Type": first.content_type, "idempotent-replayed": "true"},
                )
            recording: list[bytes] = []
            request[_RECORDING] = recording
            response = await self._handle(request, handler, operation, raw)
            # Only what was done is remembered: a refused request may be sent again.
            if response.status < 300:
                if isinstance(response, web.Response) and isinstance(response.body, bytes):
                    body, kind = response.body, response.content_type
                else:  # a stream: what it said (or would have said, had the client stayed)
                    body, kind = b"".join(recording), "text/event-stream"
                remembered = Remembered(this, response.status, body, kind, self.clock())
                self.idempotency.put(scope, remembered)
            return response

    async def _pause(self, request: web.Request, seconds: float) -> None:
        """A delay fault's wait, which stop() ends at once (and the request with it)."""
        stopping = self._stopping
        if stopping is None:  # pragma: no cover - the app served outside start()
            await asyncio.sleep(seconds)
            return
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stopping.wait(), seconds)
        if stopping.is_set():
            if request.transport is not None:
                request.transport.close()
            raise asyncio.CancelledError

    async def _unrouted(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPMethodNotAllowed:
            return self._error(405, f"Method {request.method} is not allowed for {request.path}.")
        except web.HTTPException:
            return self._error(404, f"Invalid URL ({request.method} {request.path})")

    async def _handle(
        self, request: web.Request, handler: Handler, operation: str, raw: bytes
    ) -> web.StreamResponse:
        try:
            if request.method == "POST":
                request[_BODY] = _parse_body(raw)
                validate(operation, request[_BODY])
            return await handler(request)
        except Invalid as exc:
            return self._error(400, exc.message, exc.param, exc.code)
        except ApiError as exc:
            return self._error(exc.status, exc.message, exc.param, exc.code, exc.kind)

    # --- lookups -------------------------------------------------------------------------

    def _visible(self, object_id: str) -> bool:
        """Whether the tenant of this request may see the object: its own, unless the
        server shares one world (``isolate_tenants=False``)."""
        return not self.isolate_tenants or self._owners.get(object_id) == _TENANT.get()

    def _own(self, object_id: str) -> None:
        self._owners[object_id] = _TENANT.get()

    def _assistant(self, assistant_id: str) -> JSON:
        found = self._assistants.get(assistant_id)
        if found is None or not self._visible(assistant_id):
            raise ApiError(404, f"No assistant found with id '{assistant_id}'.")
        return found

    def _thread(self, request: web.Request) -> _Thread:
        thread_id = request.match_info["thread_id"]
        found = self._threads.get(thread_id)
        if found is None or not self._visible(thread_id):
            raise ApiError(404, f"No thread found with id '{thread_id}'.")
        return found

    def _message(self, request: web.Request) -> tuple[_Thread, JSON]:
        thread = self._thread(request)
        message_id = request.match_info["message_id"]
        found = thread.messages.get(message_id)
        if found is None:
            raise ApiError(404, f"No message found with id '{message_id}'.")
        return thread, found

    def _run(self, request: web.Request) -> tuple[_Thread, _Run]:
        thread = self._thread(request)
        run_id = request.match_info["run_id"]
        found = thread.runs.get(run_id)
        if found is None:
            raise ApiError(404, f"No run found with id '{run_id}'.")
        self._expire(found)
        return thread, found

    # --- assistants --------------------------------------------------------------------

    async def _create_assistant(self, request: web.Request) -> web.Response:
        body: JSON = request[_BODY]
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
        self._assistants[obj["id"]] = obj
        self._own(obj["id"])
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
        return _json(self._assistant(request.match_info["assistant_id"]))

    async def _modify_assistant(self, request: web.Request) -> web.Response:
        obj = self._assistant(request.match_info["assistant_id"])
        self._apply_assistant_fields(obj, request[_BODY])
        return _json(obj)

    async def _delete_assistant(self, request: web.Request) -> web.Response:
        assistant_id = request.match_info["assistant_id"]
        self._assistant(assistant_id)
        del self._assistants[assistant_id]
        return _json({"id": assistant_id, "object": "assistant.deleted", "deleted": True})

    async def _list_assistants(self, request: web.Request) -> web.Response:
        mine = [a for a in self._assistants.values() if self._visible(a["id"])]
        return _json(_page(mine, request))

    # --- threads -----------------------------------------------------------------------

    def _new_thread(self, body: JSON) -> _Thread:
        thread = _Thread(
            obj={
                "id": self.ids("thread"),
                "object": "thread",
                "created_at": self.clock(),
                "tool_resources": self._tool_resources(body.get("tool_resources")),
                "metadata": body.get("metadata") or {},
            }
        )
        for message in body.get("messages") or []:
            self._add_message(thread, message)
        self._threads[thread.obj["id"]] = thread
        self._own(thread.obj["id"])
        return thread

    async def _create_thread(self, request: web.Request) -> web.Response:
        return _json(self._new_thread(request[_BODY]).obj)

    async def _get_thread(self, request: web.Request) -> web.Response:
        return _json(self._thread(request).obj)

    async def _modify_thread(self, request: web.Request) -> web.Response:
        thread = self._thread(request)
        body: JSON = request[_BODY]
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
        del self._threads[thread.obj["id"]]
        return _json({"id": thread.obj["id"], "object": "thread.deleted", "deleted": True})

    # --- messages ----------------------------------------------------------------------

    def _add_message(
        self, thread: _Thread, body: JSON, *, run: _Run | None = None, status: str = "completed"
    ) -> JSON:
        content = body["content"]
        parts: list[JSON]
        if isinstance(content, str):
            parts = [_text_part(content)]
        else:
            parts = [_text_part(p["text"]) if p["type"] == "text" else dict(p) for p in content]
        now = self.clock()
        message: JSON = {
            "id": self.ids("msg"),
            "object": "thread.message",
            "created_at": now,
            "thread_id": thread.obj["id"],
            "status": status,
            "incomplete_details": None,
            "completed_at": now if status == "completed" else None,
            "incomplete_at": now if status == "incomplete" else None,
            "role": body["role"],
            "content": parts,
            "assistant_id": run.obj["assistant_id"] if run else None,
            "run_id": run.obj["id"] if run else None,
            "attachments": body.get("attachments") or [],
            "metadata": body.get("metadata") or {},
        }
        thread.messages[message["id"]] = message
        return message

    async def _create_message(self, request: web.Request) -> web.Response:
        thread = self._thread(request)
        active = thread.active_run()
        if active is not None:
            raise ApiError(
                400,
                f"Can't add messages to {thread.obj['id']} while a run "
                f"{active.obj['id']} is active.",
            )
        return _json(self._add_message(thread, request[_BODY]))

    async def _get_message(self, request: web.Request) -> web.Response:
        return _json(self._message(request)[1])

    async def _modify_message(self, request: web.Request) -> web.Response:
        _, message = self._message(request)
        if "metadata" in request[_BODY]:
            message["metadata"] = request[_BODY]["metadata"] or {}
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

    # --- runs --------------------------------------------------------------------------

    async def _create_run(self, request: web.Request) -> web.StreamResponse:
        thread = self._thread(request)
        _check_include(request)
        return await self._start_run(request, thread, [])

    async def _create_thread_and_run(self, request: web.Request) -> web.StreamResponse:
        body: JSON = request[_BODY]
        self._assistant(body["assistant_id"])
        thread = self._new_thread(body.get("thread") or {})
        if "tool_resources" in body:
            thread.obj["tool_resources"] = self._tool_resources(body["tool_resources"])
        return await self._start_run(request, thread, [("thread.created", thread.obj)])

    async def _start_run(
        self, request: web.Request, thread: _Thread, prelude: list[tuple[str, JSON]]
    ) -> web.StreamResponse:
        body: JSON = request[_BODY]
        assistant = self._assistant(body["assistant_id"])
        active = thread.active_run()
        if active is not None:
            raise ApiError(
                400, f"Thread {thread.obj['id']} already has an active run {active.obj['id']}."
            )
        now = self.clock()
        instructions = body.get("instructions") or assistant["instructions"]
        if body.get("additional_instructions"):
            instructions = "\n".join(filter(None, [instructions, body["additional_instructions"]]))
        obj: JSON = {
            "id": self.ids("run"),
            "object": "thread.run",
            "created_at": now,
            "thread_id": thread.obj["id"],
            "assistant_id": assistant["id"],
            "status": "queued",
            "required_action": None,
            "last_error": None,
            "expires_at": now + self.run_ttl,
            "started_at": None,
            "cancelled_at": None,
            "failed_at": None,
            "completed_at": None,
            "incomplete_details": None,
            "model": body.get("model") or assistant["model"],
            "instructions": instructions or "",
            "tools": body["tools"] if body.get("tools") is not None else assistant["tools"],
            "metadata": body.get("metadata") or {},
            "usage": None,
            "temperature": _given(body, "temperature", assistant["temperature"]),
            "top_p": _given(body, "top_p", assistant["top_p"]),
            "max_prompt_tokens": body.get("max_prompt_tokens"),
            "max_completion_tokens": body.get("max_completion_tokens"),
            "truncation_strategy": body.get("truncation_strategy")
            or {"type": "auto", "last_messages": None},
            "tool_choice": _given(body, "tool_choice", "auto"),
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "response_format": _given(body, "response_format", assistant["response_format"]),
        }
        run = _Run(obj=obj, assistant=dict(assistant))
        for message in body.get("additional_messages") or []:
            self._add_message(thread, message)
        thread.runs[obj["id"]] = run
        prelude += [("thread.run.created", obj), ("thread.run.queued", obj)]
        return await self._after_change(request, thread, run, prelude)

    async def _after_change(
        self,
        request: web.Request,
        thread: _Thread,
        run: _Run,
        prelude: list[tuple[str, JSON]],
    ) -> web.StreamResponse:
        """Answer with the run as it is now (or stream its life), then let it move."""
        if request.method == "POST" and request[_BODY].get("stream"):
            return await self._stream_run(request, thread, run, prelude)
        snapshot = self._run_response(run.obj)
        if self.progress == "immediate":
            await self._settle(thread, run)
        elif self.progress == "timer" and run.timer is None:
            run.timer = asyncio.get_running_loop().create_task(self._tick(thread, run))
        return snapshot

    async def _get_run(self, request: web.Request) -> web.Response:
        thread, run = self._run(request)
        if self.progress == "per_retrieve":
            await self._advance(thread, run)
        return self._run_response(run.obj)

    def _run_response(self, obj: JSON) -> web.Response:
        """A run, with the polling hint the service sent while a run was still moving."""
        response = _json(obj)
        if self.poll_after_ms is not None and obj["status"] in (
            "queued",
            "in_progress",
            "cancelling",
        ):
            response.headers["openai-poll-after-ms"] = str(self.poll_after_ms)
        return response

    async def _stream_run(
        self,
        request: web.Request,
        thread: _Thread,
        run: _Run,
        prelude: list[tuple[str, JSON]],
    ) -> web.StreamResponse:
        """Server-sent events for the run's life until it rests, then ``done``."""
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache",
                "x-request-id": self.ids("req"),
            }
        )
        await response.prepare(request)
        fault = request.get(_STREAM_FAULT)
        state = {"sent": 0, "open": True}

        recording = request.get(_RECORDING)

        async def emit(name: str, data: JSON) -> None:
            if recording is not None:
                recording.append(_sse(name, data))
            if not state["open"]:
                return  # the client left, or a fault ended the stream: the run goes on
            try:
                if fault is not None and state["sent"] == fault.after_events:
                    state["open"] = False
                    if fault.kind == "stream_error":
                        error = envelope(fault.message, "server_error")["error"]
                        await response.write(_sse("error", error))
                    else:
                        await response.write(_sse(name, data)[:20])
                        if request.transport is not None:
                            request.transport.close()
                    return
                await response.write(_sse(name, data))
                state["sent"] += 1
            except (ConnectionError, RuntimeError):
                state["open"] = False

        for name, data in prelude:
            await emit(name, data)
        await self._settle(thread, run, emit)
        if recording is not None:
            recording.append(b"event: done\ndata: [DONE]\n\n")
        if state["open"]:
            try:
                await response.write(b"event: done\ndata: [DONE]\n\n")
                await response.write_eof()
            except (ConnectionError, RuntimeError):
                pass
        return response

    async def _modify_run(self, request: web.Request) -> web.Response:
        _, run = self._run(request)
        if "metadata" in request[_BODY]:
            run.obj["metadata"] = request[_BODY]["metadata"] or {}
        return _json(run.obj)

    async def _list_runs(self, request: web.Request) -> web.Response:
        thread = self._thread(request)
        for run in thread.runs.values():
            self._expire(run)
        return _json(_page([r.obj for r in thread.runs.values()], request))

    async def _cancel_run(self, request: web.Request) -> web.StreamResponse:
        thread, run = self._run(request)
        status = run.obj["status"]
        if status not in ("queued", "in_progress", "requires_action"):
            raise ApiError(400, f"Cannot cancel run with status '{status}'.")
        run.obj["status"] = "cancelling"
        return await self._after_change(request, thread, run, [])

    async def _submit_tool_outputs(self, request: web.Request) -> web.StreamResponse:
        thread, run = self._run(request)
        body: JSON = request[_BODY]
        status = run.obj["status"]
        if status != "requires_action":
            raise ApiError(400, f'Runs in status "{status}" do not accept tool outputs.')
        given = [o["tool_call_id"] for o in body["tool_outputs"] if "tool_call_id" in o]
        if len(given) != len(body["tool_outputs"]):
            raise ApiError(400, "Each tool output needs a tool_call_id.", "tool_outputs")
        expected = set(run.open_calls)
        if len(set(given)) != len(given) or set(given) != expected:
            raise ApiError(
                400,
                f"Expected tool outputs for call_ids {sorted(expected)}, got {given}.",
                "tool_outputs",
            )
        outputs = {o["tool_call_id"]: o.get("output", "") for o in body["tool_outputs"]}
        now = self.clock()
        step = run.steps[run.tool_step] if run.tool_step else None
        for call_id, (name, arguments) in run.open_calls.items():
            run.outputs.append(SubmittedOutput(call_id, name, arguments, outputs[call_id]))
            if step is not None:
                for call in step["step_details"]["tool_calls"]:
                    if call["id"] == call_id:
                        call["function"]["output"] = outputs[call_id]
        prelude: list[tuple[str, JSON]] = []
        if step is not None:
            step.update(status="completed", completed_at=now)
            prelude.append(("thread.run.step.completed", step))
        run.open_calls.clear()
        run.tool_step = None
        run.obj.update(status="queued", required_action=None)
        prelude.append(("thread.run.queued", run.obj))
        return await self._after_change(request, thread, run, prelude)

    async def _list_steps(self, request: web.Request) -> web.Response:
        _, run = self._run(request)
        _check_include(request)
        return _json(_page(list(run.steps.values()), request))

    async def _get_step(self, request: web.Request) -> web.Response:
        _, run = self._run(request)
        _check_include(request)
        step_id = request.match_info["step_id"]
        step = run.steps.get(step_id)
        if step is None:
            raise ApiError(404, f"No run step found with id '{step_id}'.")
        return _json(step)

    # --- the run's life ----------------------------------------------------------------

    def _expire(self, run: _Run) -> None:
        obj = run.obj
        if obj["status"] in ("queued", "in_progress", "requires_action") and (
            obj["expires_at"] is not None and self.clock() >= obj["expires_at"]
        ):
            obj.update(status="expired", required_action=None)
            for step in run.steps.values():
                if step["status"] == "in_progress":
                    step.update(status="expired", expired_at=self.clock())
            run.open_calls.clear()

    async def _tick(self, thread: _Thread, run: _Run) -> None:
        try:
            while run.obj["status"] in ("queued", "in_progress", "cancelling"):
                await asyncio.sleep(self.timer_interval)
                await self._advance(thread, run)
        except Exception as exc:
            # Nobody awaits this task: fail the run visibly rather than leave it moving.
            log.exception("the fake server's run %s stopped", run.obj["id"])
            run.obj.update(
                status="failed",
                failed_at=self.clock(),
                expires_at=None,
                last_error={"code": "server_error", "message": f"{type(exc).__name__}: {exc}"},
            )
        finally:
            run.timer = None

    async def _settle(self, thread: _Thread, run: _Run, emit: Emit | None = None) -> None:
        while run.obj["status"] in ("queued", "in_progress", "cancelling"):
            await self._advance(thread, run, emit)

    async def _advance(self, thread: _Thread, run: _Run, emit: Emit | None = None) -> None:
        """One step of the run's life; ``emit`` hears each event of it (when streaming)."""
        emit = emit or _silent
        async with run.lock:
            self._expire(run)
            obj = run.obj
            status = obj["status"]
            now = self.clock()
            if status == "queued":
                obj.update(status="in_progress", started_at=obj["started_at"] or now)
                await emit("thread.run.in_progress", obj)
            elif status == "in_progress":
                await self._turn(thread, run, emit)
            elif status == "cancelling":
                obj.update(
                    status="cancelled", cancelled_at=now, expires_at=None, required_action=None
                )
                for step in run.steps.values():
                    if step["status"] == "in_progress":
                        step.update(status="cancelled", cancelled_at=now)
                run.open_calls.clear()
                await emit("thread.run.cancelled", obj)

    async def _turn(self, thread: _Thread, run: _Run, emit: Emit) -> None:
        context = RunContext(
            assistant=Assistant.from_dict(run.assistant),
            run=Run.from_dict(run.obj),
            messages=[Message.from_dict(m) for m in thread.messages.values()],
            tool_outputs=list(run.outputs),
        )
        try:
            scripted = self.script.next_reply(context)
            reply: Reply = scripted if scripted is not None else await self.responder(context)
        except Exception as exc:  # the responder is user code: report it on the run
            reply = Fail("server_error", f"The responder raised {type(exc).__name__}: {exc}")
        if run.obj["status"] != "in_progress":
            return  # cancelled (or expired) while the responder thought
        prompt = sum(_words(part) for m in thread.messages.values() for part in m["content"])
        now = self.clock()
        obj = run.obj
        if isinstance(reply, Text):
            usage = _usage(prompt, len(reply.text.split()))
            await self._say(thread, run, reply.text, emit, usage=usage)
            obj.update(status="completed", completed_at=now, expires_at=None)
            self._add_usage(run, usage)
            await emit("thread.run.completed", obj)
        elif isinstance(reply, CallTools):
            calls: list[JSON] = []
            for call in reply.calls:
                call_id = self.ids("call")
                run.open_calls[call_id] = (call.name, call.arguments_json)
                function = {"name": call.name, "arguments": call.arguments_json}
                calls.append({"id": call_id, "type": "function", "function": function})
            usage = _usage(prompt, sum(len(c["function"]["arguments"].split()) for c in calls))
            step_calls: list[JSON] = [
                {**c, "function": {**c["function"], "output": None}} for c in calls
            ]
            details = {"type": "tool_calls", "tool_calls": step_calls}
            step = self._add_step(run, "tool_calls", "in_progress", details, usage)
            # As the service did: the step starts empty and the deltas bring the calls.
            empty = {**step, "step_details": {"type": "tool_calls", "tool_calls": []}}
            await emit("thread.run.step.created", empty)
            await emit("thread.run.step.in_progress", empty)
            for delta in _tool_call_deltas(step_calls):
                await emit(
                    "thread.run.step.delta",
                    {
                        "id": step["id"],
                        "object": "thread.run.step.delta",
                        "delta": {"step_details": {"type": "tool_calls", "tool_calls": [delta]}},
                    },
                )
            run.tool_step = step["id"]
            submit = {"tool_calls": calls}
            obj.update(
                status="requires_action",
                required_action={"type": "submit_tool_outputs", "submit_tool_outputs": submit},
            )
            self._add_usage(run, usage)
            await emit("thread.run.requires_action", obj)
        elif isinstance(reply, Fail):
            obj.update(
                status="failed",
                failed_at=now,
                expires_at=None,
                last_error={"code": reply.code, "message": reply.message},
            )
            await emit("thread.run.failed", obj)
        elif isinstance(reply, Incomplete):
            if reply.partial_text:
                await self._say(thread, run, reply.partial_text, emit, incomplete=True)
            obj.update(
                status="incomplete", expires_at=None, incomplete_details={"reason": reply.reason}
            )
            await emit("thread.run.incomplete", obj)

    async def _say(
        self,
        thread: _Thread,
        run: _Run,
        text: str,
        emit: Emit,
        *,
        usage: JSON | None = None,
        incomplete: bool = False,
    ) -> None:
        """The assistant's message, created empty and filled by deltas as it was streamed."""
        message = self._add_message(
            thread, {"role": "assistant", "content": []}, run=run, status="in_progress"
        )
        step = None
        if not incomplete:
            details = {
                "type": "message_creation",
                "message_creation": {"message_id": message["id"]},
            }
            step = self._add_step(run, "message_creation", "in_progress", details, usage or {})
            await emit("thread.run.step.created", step)
            await emit("thread.run.step.in_progress", step)
        await emit("thread.message.created", message)
        await emit("thread.message.in_progress", message)
        for piece in _pieces(text):
            await emit(
                "thread.message.delta",
                {
                    "id": message["id"],
                    "object": "thread.message.delta",
                    "delta": {
                        "content": [
                            {
                                "index": 0,
                                "type": "text",
                                "text": {"value": piece, "annotations": []},
                            }
                        ]
                    },
                },
            )
        now = self.clock()
        message["content"] = [_text_part(text)]
        if incomplete:
            message.update(
                status="incomplete", incomplete_at=now, incomplete_details={"reason": "max_tokens"}
            )
            await emit("thread.message.incomplete", message)
            return
        message.update(status="completed", completed_at=now)
        await emit("thread.message.completed", message)
        if step is not None:
            step.update(status="completed", completed_at=now)
            await emit("thread.run.step.completed", step)

    def _add_step(self, run: _Run, kind: str, status: str, details: JSON, usage: JSON) -> JSON:
        now = self.clock()
        step: JSON = {
            "id": self.ids("step"),
            "object": "thread.run.step",
            "created_at": now,
            "assistant_id": run.obj["assistant_id"],
            "thread_id": run.obj["thread_id"],
            "run_id": run.obj["id"],
            "type": kind,
            "status": status,
            "step_details": details,
            "last_error": None,
            "expired_at": None,
            "cancelled_at": None,
            "failed_at": None,
            "completed_at": now if status == "completed" else None,
            "metadata": {},
            "usage": usage,
        }
        run.steps[step["id"]] = step
        return step

    @staticmethod
    def _add_usage(run: _Run, usage: JSON) -> None:
        total = run.obj["usage"] or {"completion_tokens": 0, "prompt_tokens": 0, "total_tokens": 0}
        run.obj["usage"] = {k: total[k] + usage[k] for k in total}


# --- helpers -----------------------------------------------------------------------------

# Assistant fields that stay as they were when a modify sends null.
# Fields whose null means "leave as it is": the object never holds null there.
_NON_NULL = frozenset({"model", "tools", "metadata"})
_RECORDING = web.RequestKey("assistants_async.recording", list)
# The tenant of the request being handled: its API key, or the project it names.
_TENANT: ContextVar[str] = ContextVar("assistants_async_fake_tenant", default="")


def _tenant(request: web.Request) -> str:
    project = request.headers.get("OpenAI-Project")
    if project:
        return f"project:{project}"
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    key = token.strip() if scheme.lower() == "bearer" else request.headers.get("api-key", "")
    return f"key:{key}"


# The parsed JSON body of a POST, validated before its handler runs.
_BODY = web.RequestKey("assistants_async.body", dict)
_STREAM_FAULT = web.RequestKey("assistants_async.stream_fault", Fault)


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _json(obj: Any) -> web.Response:
    return web.Response(body=_dumps(obj), content_type="application/json")


def _loads_or_text(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return raw.decode("utf-8", errors="replace")


def _parse_body(raw: bytes) -> JSON:
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ApiError(
            400,
            "We could not parse the JSON body of your request. (HINT: This likely means you "
            "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, "
            "but what was sent was not valid JSON.)",
        ) from None
    if not isinstance(body, dict):
        raise Invalid("Invalid type for 'body': expected an object.", None, "invalid_type")
    return body


def _tool_call_deltas(calls: list[JSON]) -> Iterator[JSON]:
    """A call's deltas as the service sent them: its id, type and name with empty
    arguments first, then the arguments in several pieces (so "tool call delta" handlers
    fire, and code that assembles partial arguments can be tested)."""
    for index, call in enumerate(calls):
        function = call["function"]
        yield {
            "index": index,
            "id": call["id"],
            "type": "function",
            "function": {"name": function["name"], "arguments": "", "output": None},
        }
        arguments = function["arguments"]
        size = max(1, -(-len(arguments) // 4))  # about four pieces, whatever the length
        for start in range(0, len(arguments), size):
            piece = arguments[start : start + size]
            yield {"index": index, "type": "function", "function": {"arguments": piece}}


def _sse(name: str, data: Any) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def _pieces(text: str) -> list[str]:
    """Text in the small pieces a stream would carry (a word and its space each)."""
    return re.findall(r"\S+\s*|\s+", text) or [text]


async def _silent(name: str, data: JSON) -> None:
    """The emitter when nobody listens (not streaming)."""


def _given(body: JSON, name: str, default: Any) -> Any:
    value = body.get(name)
    return default if value is None else value


def _text_part(text: str) -> JSON:
    return {"type": "text", "text": {"value": text, "annotations": []}}


def _words(part: JSON) -> int:
    return len(part["text"]["value"].split()) if part.get("type") == "text" else 0


def _usage(prompt: int, completion: int) -> JSON:
    prompt, completion = max(prompt, 1), max(completion, 1)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _check_include(request: web.Request) -> None:
    for value in request.query.getall("include[]", []):
        if value != FILE_SEARCH_RESULT_CONTENT:
            raise Invalid(
                f"Invalid value: '{value}'. Supported values are: '{FILE_SEARCH_RESULT_CONTENT}'.",
                "include[]",
                "invalid_value",
            )


def _query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Invalid(
            f"Invalid '{name}': expected an integer, but got '{raw}' instead.", name, "invalid_type"
        ) from None
    if value < low:
        raise Invalid(
            f"Invalid '{name}': integer below minimum value. Expected a value >= {low}, but got "
            f"{value} instead.",
            name,
            "integer_below_min_value",
        )
    if value > high:
        raise Invalid(
            f"Invalid '{name}': integer above maximum value. Expected a value <= {high}, but got "
            f"{value} instead.",
            name,
            "integer_above_max_value",
        )
    return value


def _page(items: list[JSON], request: web.Request) -> JSON:
    """One page of ``items`` (oldest first as stored) by limit/order/after/before."""
    limit = _query_int(request, "limit", 20, 1, 100)
    order = request.query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise Invalid(
            f"Invalid value: '{order}'. Supported values are: 'asc' and 'desc'.",
            "order",
            "invalid_value",
        )
    ordered = items if order == "asc" else items[::-1]
    index = {item["id"]: i for i, item in enumerate(ordered)}
    start, end = 0, len(ordered)
    for name in ("after", "before"):
        cursor = request.query.get(name)
        if cursor is None:
            continue
        if cursor not in index:
            raise Invalid(
                f"Invalid '{name}': no object with id '{cursor}' in this list.",
                name,
                "invalid_value",
            )
        if name == "after":
            start = index[cursor] + 1
        else:
            end = index[cursor]
    window = ordered[start:end]
    if "before" in request.query and "after" not in request.query:
        # Walking backward: the items nearest the cursor, still in list order.
        data = window[-limit:]
        has_more = len(window) > limit
    else:
        data = window[:limit]
        has_more = len(window) > limit
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": has_more,
    }
