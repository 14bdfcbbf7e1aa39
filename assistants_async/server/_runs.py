"""The run handlers: starting runs, answering or streaming their life."""

from __future__ import annotations

from typing import Literal, TypeAlias

from aiohttp import web

from ._engine import EXPIRING, MOVING, RunEngine
from ._handlers import Handlers, page_query, tenant_of
from ._http import BODY, RECORDING, STREAM_FAULT, _check_include, _json, _list, _sse, envelope
from ._store import JSON, RunRecord, Store

__all__ = ["Progress", "RunHandlers"]

# When runs move: settled before the answer, one step per retrieve, or on a timer.
Progress: TypeAlias = Literal["immediate", "per_retrieve", "timer"]


class RunHandlers:
    """Handlers of the run operations. They hold the store, the engine and the object
    handlers (a thread-and-run makes a thread as createThread does)."""

    def __init__(
        self,
        store: Store,
        engine: RunEngine,
        objects: Handlers,
        *,
        progress: Progress = "immediate",
        poll_after_ms: int | None = 100,
    ) -> None:
        self.store = store
        self.engine = engine
        self.objects = objects
        self.progress: Progress = progress
        self.poll_after_ms = poll_after_ms

    async def _run(self, request: web.Request) -> tuple[str, RunRecord]:
        """The request's tenant and run, expired first if its time is up."""
        tenant, info = tenant_of(request), request.match_info
        return tenant, await self.engine.load(tenant, info["thread_id"], info["run_id"])

    async def _start_run(
        self, request: web.Request, tenant: str, thread_id: str, prelude: list[tuple[str, JSON]]
    ) -> web.StreamResponse:
        body: JSON = request[BODY]
        assistant = await self.store.assistant(tenant, body["assistant_id"])
        run = await self.engine.new_run(tenant, thread_id, assistant, body)
        prelude += [("thread.run.created", run.obj), ("thread.run.queued", run.obj)]
        return await self._after_change(request, tenant, run, prelude)

    async def cancel_run(self, request: web.Request) -> web.StreamResponse:
        tenant, run = await self._run(request)
        run = await self.engine.cancel(tenant, run)
        return await self._after_change(request, tenant, run, [])

    async def submit_tool_outputs(self, request: web.Request) -> web.StreamResponse:
        tenant, run = await self._run(request)
        run, prelude = await self.engine.submit_outputs(tenant, run, request[BODY]["tool_outputs"])
        return await self._after_change(request, tenant, run, prelude)

    async def create_run(self, request: web.Request) -> web.StreamResponse:
        tenant = tenant_of(request)
        thread = await self.store.thread(tenant, request.match_info["thread_id"])
        _check_include(request)
        return await self._start_run(request, tenant, thread["id"], [])

    async def create_thread_and_run(self, request: web.Request) -> web.StreamResponse:
        body: JSON = request[BODY]
        tenant = tenant_of(request)
        await self.store.assistant(tenant, body["assistant_id"])
        thread = await self.objects.new_thread(tenant, body.get("thread") or {}, body)
        return await self._start_run(request, tenant, thread["id"], [("thread.created", thread)])

    async def _after_change(
        self,
        request: web.Request,
        tenant: str,
        run: RunRecord,
        prelude: list[tuple[str, JSON]],
    ) -> web.StreamResponse:
        """Answer with the run as it is now (or stream its life), then let it move."""
        if request.method == "POST" and request[BODY].get("stream"):
            return await self._stream_run(request, tenant, run, prelude)
        snapshot = self._run_response(run.obj)
        if self.progress == "immediate":
            await self.engine.settle(tenant, run)
        elif self.progress == "timer" and run.obj["status"] in MOVING:
            self.engine.start_timer(tenant, run)
        return snapshot

    async def get_run(self, request: web.Request) -> web.Response:
        tenant, run = await self._run(request)
        if self.progress == "per_retrieve":
            run = await self.engine.advance(tenant, run)
        return self._run_response(run.obj)

    def _run_response(self, obj: JSON) -> web.Response:
        """A run, with the polling hint the service sent while a run was still moving."""
        response = _json(obj)
        if self.poll_after_ms is not None and obj["status"] in MOVING:
            response.headers["openai-poll-after-ms"] = str(self.poll_after_ms)
        return response

    async def _stream_run(
        self,
        request: web.Request,
        tenant: str,
        run: RunRecord,
        prelude: list[tuple[str, JSON]],
    ) -> web.StreamResponse:
        """Server-sent events for the run's life until it rests, then ``done``."""
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache",
                "x-request-id": self.engine.ids("req"),
            }
        )
        await response.prepare(request)
        fault = request.get(STREAM_FAULT)
        state = {"sent": 0, "open": True}

        recording = request.get(RECORDING)

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
        await self.engine.settle(tenant, run, emit)
        if recording is not None:
            recording.append(b"event: done\ndata: [DONE]\n\n")
        if state["open"]:
            try:
                await response.write(b"event: done\ndata: [DONE]\n\n")
                await response.write_eof()
            except (ConnectionError, RuntimeError):
                pass
        return response

    async def modify_run(self, request: web.Request) -> web.Response:
        tenant, run = await self._run(request)
        body: JSON = request[BODY]
        if "metadata" in body:
            metadata = body["metadata"] or {}
            run = await self.engine.update(
                tenant, run, lambda current: _with_metadata(current, metadata)
            )
        return _json(run.obj)

    async def list_runs(self, request: web.Request) -> web.Response:
        tenant = tenant_of(request)
        thread_id = request.match_info["thread_id"]
        query = await page_query(request, lambda: self.store.thread(tenant, thread_id))
        page = await self.store.runs(tenant, thread_id, query)
        # A run whose time is up shows expired, as a retrieve would show it.
        for i, obj in enumerate(page.items):
            expires_at = obj["expires_at"]
            if (
                obj["status"] in EXPIRING
                and expires_at is not None
                and self.engine.clock() >= expires_at
            ):
                run = await self.engine.load(tenant, thread_id, obj["id"])
                page.items[i] = run.obj
        return _json(_list(page))

    async def list_steps(self, request: web.Request) -> web.Response:
        tenant, run = await self._run(request)
        _check_include(request)
        query = await page_query(request, _nothing)
        page = await self.store.steps(tenant, run.thread_id, run.id, query)
        return _json(_list(page))

    async def get_step(self, request: web.Request) -> web.Response:
        tenant, run = await self._run(request)
        _check_include(request)
        step_id = request.match_info["step_id"]
        return _json(await self.store.step(tenant, run.thread_id, run.id, step_id))


def _with_metadata(run: RunRecord, metadata: JSON) -> RunRecord:
    return RunRecord({**run.obj, "metadata": metadata}, run.state, run.version)


async def _nothing() -> None:
    """The run was found already: nothing more to look up."""
