"""The Assistants server: the app over a store, behind API keys, limits and logs.

What comes in front of the handlers (``_app.handle``), in order: a request id and an
access log line for every request; the API key (each key a tenant); the body's size;
idempotency keys, kept in the store. With ``control=True``, the control plane
(``_control``) is served under ``/__fake__/`` before all of that (no key), and the
requests that pass the key, beta and size checks are kept in a bounded log it reads. Runs move on
their own (the engine's timers); at start the runs a stopped server left active are
taken up again (``RunEngine.recover``), and runs whose time is up are expired at start
and every ``sweep_interval`` seconds after, when idempotency replies past their time
are deleted too. ``stop()`` stops listening, lets the requests in flight finish and the
moving runs come to rest within a grace period, then stops what is left.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from ._app import Handler, beta_refused, build_app, error, handle, routes
from ._control import CONTROL_PREFIX, Controls, add_control_routes
from ._engine import RunEngine
from ._handlers import Handlers
from ._http import TENANT
from ._idempotency import Idempotency
from ._ids import random_ids
from ._keys import Keys
from ._leases import LeasedEngine, Leasing, process_name
from ._log import LoggedRequest, RequestLog, log_entry
from ._responders import Responder
from ._runs import RunHandlers
from ._script import Script, ScriptFirst
from ._store import Store

__all__ = ["ACCESS_LOG", "AssistantsServer"]

log = logging.getLogger("assistants_async.server")
# One JSON object a line: what was asked, by which tenant, how it went. Never a key.
ACCESS_LOG = logging.getLogger("assistants_async.server.access")

# Why the server's control plane leaves out what the fake's offers.
LEFT_OUT = {
    "/faults": "faults are the fake server's (python -m assistants_async.testing): a "
    "durable server fails only for real",
    "/clock": "this server keeps wall-clock time: the times in its database must not "
    "jump, and a moved clock would expire real runs",
    "/progress": "this server's runs always move on timers (what a restart takes up)",
}
_LOGGED = web.RequestKey("assistants_async.logged", LoggedRequest)


class AssistantsServer:
    """The API under ``/v1`` over ``store`` (opened and closed by the caller), for the
    holders of ``keys``; runs take their replies from ``script`` first (``self.script``;
    empty unless given), then from ``responder``. ``control``: serve the control plane,
    which needs no key and can reset every tenant's data (off unless asked for)."""

    def __init__(
        self,
        store: Store,
        keys: Keys,
        *,
        responder: Responder,
        run_ttl: int = 600,
        timer_interval: float = 0.01,
        poll_after_ms: int | None = 100,
        max_body: int = 8 * 1024 * 1024,
        sweep_interval: float = 60.0,
        require_beta_header: bool = True,
        clock: Callable[[], int] | None = None,
        ids: Callable[[str], str] | None = None,
        script: Script | None = None,
        control: bool = False,
        max_logged_requests: int = 10_000,
        lease: float = 10.0,
    ) -> None:
        if max_body < 1:
            raise ValueError("max_body must be at least 1 byte")
        self.store = store
        self.keys = keys
        self.max_body = max_body
        self.sweep_interval = sweep_interval
        self.require_beta_header = require_beta_header
        self.clock: Callable[[], int] = clock or (lambda: int(time.time()))
        self.ids: Callable[[str], str] = ids or random_ids
        self.script = script if script is not None else Script()
        engine_options: dict[str, Any] = {
            "responder": ScriptFirst(self.script, lambda: responder),
            "clock": self.clock,
            "ids": self.ids,
            "run_ttl": run_ttl,
            "timer_interval": timer_interval,
        }
        # A store shared by several processes keeps leases: each run moves in one.
        self.engine: RunEngine = (
            LeasedEngine(store, owner=process_name(), lease=lease, **engine_options)
            if isinstance(store, Leasing)
            else RunEngine(store, **engine_options)
        )
        handlers = Handlers(store, self.engine)
        runs = RunHandlers(
            store, self.engine, handlers, progress="timer", poll_after_ms=poll_after_ms
        )
        self.idempotency = Idempotency(store, self.clock, lease=lease)
        table = routes(handlers, runs)
        self.operations = frozenset(name for _, _, name, _ in table)
        self.app = build_app(table, [self._middleware], client_max_size=max_body)
        self.control = control
        # Kept only for the control plane to read: a server without one logs nothing.
        self.requests = RequestLog(max_logged_requests) if control else None
        if control:
            controls = Controls(
                reset=self.reset,
                script=self.script,
                store=store,
                requests=self.requests,
                left_out=LEFT_OUT,
            )
            add_control_routes(self.app, controls)
        self._runner: web.AppRunner | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._keeper: asyncio.Task[None] | None = None
        self.url: str | None = None
        self._grace = 30.0
        self._stopping = False
        # Requests between the middleware's entry and exit; idle when there are none.
        self.in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    # --- life -------------------------------------------------------------------------

    async def reset(self) -> None:
        """Delete every tenant's objects, runs and idempotency keys, the script and the
        request log. The runs moving on timers stop first; a request in flight at that
        moment may still write what it was writing."""
        log.warning("reset: deleting every tenant's data")
        self.engine.stop_timers()
        await self.store.clear()
        self.script.clear()
        if self.requests is not None:
            self.requests.clear()

    async def recover(self) -> dict[str, int]:
        """Take up every run left active: how many ``resumed``, ``retaken`` (a turn cut
        halfway, undone to be taken again), ``expired`` and ``waiting`` (on tool outputs,
        as before). With leases, only the moving runs
        whose lease lapsed: the others are moving in live processes."""
        if isinstance(self.engine, LeasedEngine):
            return await self.engine.take_over()
        counts: collections.Counter[str] = collections.Counter()
        for tenant, run in await self.store.active_runs():
            counts[await self.engine.recover(tenant, run)] += 1
        return {kind: counts[kind] for kind in ("resumed", "retaken", "expired", "waiting")}

    async def expire_due(self) -> int:
        """Expire the active runs whose time is up (a run nobody reads expires too);
        returns how many."""
        expired = 0
        for tenant, run in await self.store.active_runs():
            if (await self.engine.expire(tenant, run)).obj["status"] == "expired":
                expired += 1
        return expired

    async def sweep(self) -> dict[str, int]:
        """What the server does every ``sweep_interval``: expire the runs whose time is
        up, and delete the idempotency replies past their time."""
        expired = await self.expire_due()
        forgotten = await self.store.forget_replies(self.idempotency.clock())
        return {"expired_runs": expired, "forgotten_replies": forgotten}

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_interval)
            try:
                await self.sweep()
            except Exception:  # the next sweep tries again; the server goes on
                log.exception("the sweep failed")

    async def start(self, host: str = "127.0.0.1", port: int = 0, grace: float = 30.0) -> str:
        """Take up the runs left active, then serve on ``host:port`` (0: a free port);
        returns the base URL, ending in /v1. ``grace``: how long ``stop()`` waits for
        the requests in flight and the moving runs."""
        self._grace = grace
        recovered = await self.recover()
        log.info(
            "runs taken up: %(resumed)d resumed, %(retaken)d retaken, %(expired)d expired, "
            "%(waiting)d waiting on tool outputs",
            recovered,
        )
        # stop() waits out the grace period itself: aiohttp's own wait closes the
        # connections first and drops the rest of a body still on its way.
        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            self.engine.stop_timers()
            raise
        self._runner = runner
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep())
        if isinstance(self.engine, LeasedEngine):
            self._keeper = asyncio.get_running_loop().create_task(self.engine.keep())
        bound = runner.addresses[0]
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{bound[1]}/v1"
        return self.url

    async def stop(self) -> None:
        """Stop listening; give the requests in flight and the moving runs the grace
        period to finish; then stop the rest (a restart takes their runs up)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._grace
        for task in (self._sweeper, self._keeper):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._sweeper = self._keeper = None
        if self._runner is not None:
            for site in list(self._runner.sites):
                await site.stop()
            self._stopping = True
            await asyncio.sleep(0)  # requests whose headers came in have begun
            log.info(
                "stopped listening; %d requests in flight have %s s to finish",
                self.in_flight,
                round(self._grace, 3),
            )
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._idle.wait(), max(0.0, deadline - loop.time()))
            # Closes the idle connections; a request still running gets a second more.
            await self._runner.cleanup()
            self._runner = None
        await self.engine.drain(max(0.0, deadline - loop.time()))
        await self.idempotency.close()
        if isinstance(self.engine, LeasedEngine):
            await self.engine.release()  # the runs still moving: to the other processes

    # --- every request ----------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        request_id = self.ids("req")
        status = 500
        self.in_flight += 1
        self._idle.clear()
        try:
            try:
                response = await self._respond(request, handler)
            except asyncio.CancelledError:
                status = 499  # the client left, or the grace period ran out
                raise
            except Exception:
                log.exception("request %s failed", request_id)
                response = error(500, "The server had an error.", kind="server_error")
            if response.prepared:  # a stream, which named its own id
                request_id = response.headers.get("x-request-id", request_id)
            else:
                response.headers.setdefault("x-request-id", request_id)
            status = response.status
            if self._stopping:  # no next request on this connection
                response.force_close()
            return response
        finally:
            self.in_flight -= 1
            if not self.in_flight:
                self._idle.set()
            entry = request.get(_LOGGED)
            if entry is not None:
                entry.status = status
            if ACCESS_LOG.isEnabledFor(logging.INFO):  # its JSON only if written
                ACCESS_LOG.info(
                    "%s",
                    json.dumps(
                        {
                            "request_id": request_id,
                            "method": request.method,
                            "path": request.path,
                            "status": status,
                            "ms": round((time.perf_counter() - started) * 1000, 1),
                            "tenant": request.get(TENANT),
                            "remote": request.remote,
                        },
                        separators=(",", ":"),
                    ),
                )

    def _tenant(self, request: web.Request) -> str | web.Response:
        """The key's tenant, or the 401 the service gave."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip() if scheme.lower() == "bearer" else ""
        token = token or request.headers.get("api-key", "").strip()
        if not token:
            return error(
                401,
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            )
        tenant = self.keys.tenant(token)
        if tenant is None:
            return error(401, "Incorrect API key provided.", code="invalid_api_key")
        return tenant

    def _too_large(self, size: int | None) -> web.Response:
        told = f" ({size} bytes)" if size is not None else ""
        return error(
            413,
            f"Request body too large{told}: this server accepts at most {self.max_body} bytes.",
            code="body_too_large",
        )

    async def _respond(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self.control and request.path.startswith(CONTROL_PREFIX + "/"):
            return await self._unrouted(request, handler)  # no key, not in the log
        tenant = self._tenant(request)
        if isinstance(tenant, web.Response):
            return tenant
        request[TENANT] = tenant
        refused = beta_refused(request) if self.require_beta_header else None
        if refused is not None:
            return refused
        if request.content_length is not None and request.content_length > self.max_body:
            return self._too_large(request.content_length)
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:  # no length given, and more came than allowed
            return self._too_large(None)
        route = request.match_info.route
        operation = route.name if route.name in self.operations else None
        if self.requests is not None:  # after the key check: no stranger fills it
            request[_LOGGED] = log_entry(request, operation, raw)
            self.requests.append(request[_LOGGED])
        if operation is None:
            return await self._unrouted(request, handler)
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or not key:
            return await handle(request, handler, operation, raw)
        return await self.idempotency.answer(
            request, tenant, key, raw, lambda: handle(request, handler, operation, raw)
        )

    async def _unrouted(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPMethodNotAllowed:
            return error(405, f"Method {request.method} is not allowed for {request.path}.")
        except web.HTTPException:
            return error(404, f"Invalid URL ({request.method} {request.path})")
