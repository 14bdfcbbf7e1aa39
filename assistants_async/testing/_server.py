"""The fake Assistants server: all 23 operations, in memory, on aiohttp.web."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, Literal

from aiohttp import web

from .._client import AsyncClient
from ..server._app import Handler, beta_refused, build_app, error, handle, routes
from ..server._engine import RunEngine
from ..server._handlers import Handlers
from ..server._http import STREAM_FAULT, TENANT, StreamBreak, _dumps, _tenant
from ..server._idempotency import answered, replayed, reused
from ..server._log import RequestLog, log_entry
from ..server._memory import MemoryStore
from ..server._runs import Progress, RunHandlers
from ..server._script import Script, ScriptFirst
from ..server._store import PageQuery, Store
from ._control import CONTROL_PREFIX, add_fake_control_routes
from ._faults import Faults
from ._idempotency import IdempotencyStore, Remembered, fingerprint
from ._ids import random_ids
from ._responders import Responder, echo

__all__ = ["FakeAssistantsServer", "Progress"]

# The store's type, so that ``server.store`` stays a ``MemoryStore`` to type checkers
# unless another store was given. A TypeVar's default is only for them (3.13+ at run time).
if TYPE_CHECKING:
    from typing_extensions import TypeVar

    StoreT = TypeVar("StoreT", bound=Store, default=MemoryStore)
else:
    from typing import TypeVar

    StoreT = TypeVar("StoreT", bound=Store)

log = logging.getLogger("assistants_async.testing")


class FakeAssistantsServer(Generic[StoreT]):
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
    As the service did, a request without ``OpenAI-Beta: assistants=v2`` (or with
    ``assistants=v1``) is a 400, so that a hand-written client that forgets the header
    fails here and not in production; ``require_beta_header=False`` lets it through.

    It is the server package's engine, handlers and app over a store (``store``), with
    what tests add in front: the script, faults, the request log, idempotency keys in
    memory and the control plane. The store is a new ``MemoryStore`` unless one is
    given (``store=``, e.g. a ``SQLiteStore``, to hold a suite to the durable store):
    the caller opens a store it gives before ``start()`` and closes it after ``stop()``,
    which leave it open, so that one store can outlive a server.
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
        require_beta_header: bool = True,
        store: StoreT | None = None,
    ) -> None:
        if store is not None and not all(
            callable(getattr(store, name, None)) for name in ("add_assistant", "run", "clear")
        ):
            raise TypeError(f"store must be a Store (MemoryStore, SQLiteStore...), not {store!r}")
        if progress not in ("immediate", "per_retrieve", "timer"):
            raise ValueError(
                f"progress must be 'immediate', 'per_retrieve' or 'timer', not {progress!r}"
            )
        if auth not in ("bearer", "api-key", "none"):
            raise ValueError(f"auth must be 'bearer', 'api-key' or 'none', not {auth!r}")
        self.responder: Responder = responder or echo()
        self.clock: Callable[[], int] = clock or (lambda: int(time.time()))
        self.ids: Callable[[str], str] = ids or random_ids
        self.script = Script()
        self.auth = auth
        self.require_beta_header = require_beta_header
        self.isolate_tenants = isolate_tenants
        self._initial_progress: Progress = progress
        self._api_key = api_key
        self.faults = Faults()
        self.requests = RequestLog(max_logged_requests)
        self.store: StoreT = MemoryStore() if store is None else store  # type: ignore[assignment]
        # Through lambdas: the control plane swaps the clock, and tests the ids.
        self.engine = RunEngine(
            self.store,
            # The script first, then the responder (looked up each turn: tests swap it).
            responder=ScriptFirst(self.script, lambda: self.responder),
            clock=lambda: self.clock(),
            ids=lambda prefix: self.ids(prefix),
            run_ttl=run_ttl,
            timer_interval=timer_interval,
        )
        self.handlers = Handlers(self.store, self.engine)
        self.runs = RunHandlers(
            self.store,
            self.engine,
            self.handlers,
            progress=progress,
            poll_after_ms=poll_after_ms,
        )
        self.idempotency = IdempotencyStore(lambda: self.clock())
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None
        self.url: str | None = None
        self.app = self._build_app()

    @property
    def progress(self) -> Progress:
        return self.runs.progress

    @progress.setter
    def progress(self, value: Progress) -> None:
        self.runs.progress = value

    @property
    def poll_after_ms(self) -> int | None:
        return self.runs.poll_after_ms

    @poll_after_ms.setter
    def poll_after_ms(self, value: int | None) -> None:
        self.runs.poll_after_ms = value

    @property
    def run_ttl(self) -> int:
        return self.engine.run_ttl

    @run_ttl.setter
    def run_ttl(self, value: int) -> None:
        self.engine.run_ttl = value

    @property
    def timer_interval(self) -> float:
        return self.engine.timer_interval

    @timer_interval.setter
    def timer_interval(self, value: float) -> None:
        self.engine.timer_interval = value

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on ``host:port`` (0: a free port); returns the base URL, ending in /v1."""
        try:  # a store given unopened: said once here, not as a 500 on every request
            await self.store.assistants("", PageQuery(limit=1))
        except RuntimeError as exc:
            raise RuntimeError(
                f"the store given to FakeAssistantsServer is not open: await store.open() "
                f"before start() ({exc})"
            ) from exc
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
        self.engine.stop_timers()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeAssistantsServer[StoreT]:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def client(self, **kwargs: Any) -> AsyncClient:
        """An AsyncClient pointed at this server (started first).

        It is strict unless told otherwise (``strict=False``): this server keeps to the
        spec, so any departure is a bug to hear of, not to tolerate. It ignores proxy
        variables unless told otherwise: the server is on loopback, and a machine's
        HTTP_PROXY would otherwise carry the test's calls away.
        """
        if self.url is None:
            raise RuntimeError("start the server before asking for a client")
        kwargs.setdefault("base_url", self.url)
        kwargs.setdefault("trust_env", False)
        kwargs.setdefault("strict", True)
        kwargs.setdefault("auth", self.auth)
        if kwargs["auth"] != "none":
            kwargs.setdefault("api_key", self._api_key or "sk-fake")
        return AsyncClient(**kwargs)

    def reset(self) -> None:
        """Forget every object, logged request, fault and idempotency key, and go back to
        the progress mode the server started with.

        Only a ``MemoryStore`` forgets at once; over another store (which forgets by
        I/O) this raises ``TypeError``: ``await server.areset()`` there."""
        if not isinstance(self.store, MemoryStore):
            raise TypeError(
                f"reset() clears a MemoryStore at once, and this server's store is a "
                f"{type(self.store).__name__}: await server.areset() instead"
            )
        self._forget()
        self.store.reset()

    async def areset(self) -> None:
        """``reset()`` on any store: forget every object (awaiting the store), logged
        request, fault and idempotency key."""
        self._forget()
        await self.store.clear()

    def _forget(self) -> None:
        """All ``reset()`` forgets but the store's objects."""
        self.engine.stop_timers()
        self.idempotency.clear()
        self.requests.clear()
        self.faults.clear()
        self.script.clear()
        self.progress = self._initial_progress

    def _build_app(self) -> web.Application:
        table = routes(self.handlers, self.runs)
        self.operations = frozenset(name for _, _, name, _ in table)
        app = build_app(table, [self._middleware])
        add_fake_control_routes(app, self)
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
        return error(status, message, param, code, kind, headers)

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
        entry = log_entry(request, operation, raw)
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

    def _check_beta(self, request: web.Request) -> web.Response | None:
        """The service's answer to a request without the Assistants v2 beta header."""
        return beta_refused(request) if self.require_beta_header else None

    async def _respond(
        self, request: web.Request, handler: Handler, operation: str | None, raw: bytes
    ) -> web.StreamResponse:
        for fault in self.faults.take(operation):
            if fault.kind in ("stream_error", "stream_cut"):
                request[STREAM_FAULT] = StreamBreak(fault.kind, fault.after_events, fault.message)
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
        refused = self._check_key(request) or self._check_beta(request)
        if refused is not None:
            return refused
        if operation is None:
            return await self._unrouted(request, handler)
        tenant = _tenant(request)
        # One world for every key unless tenants are kept apart.
        request[TENANT] = tenant if self.isolate_tenants else ""
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or not key:
            return await handle(request, handler, operation, raw)
        scope = (tenant, key)
        this = fingerprint(request.method, request.path, request.query_string, raw)
        async with self.idempotency.hold(scope):
            first = self.idempotency.get(scope)
            if first is not None:
                if first.fingerprint != this:
                    return reused(key)
                return replayed(first.status, first.body, first.content_type)
            response, done = await answered(
                request, lambda: handle(request, handler, operation, raw)
            )
            if done is not None:
                body, kind = done
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
