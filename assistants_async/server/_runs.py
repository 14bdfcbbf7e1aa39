"""The run handlers: starting runs, answering or streaming their life."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Literal, TypeAlias

from aiohttp import web

from ._engine import EXPIRING, MOVING, SERVER_ERROR, RunEngine
from ._handlers import Handlers, page_query, tenant_of
from ._http import (
    BODY,
    RECORDING,
    STREAM_FAULT,
    TextDeltaEvent,
    _check_include,
    _json,
    _list,
    _sse,
    envelope,
    text_delta_sse,
)
from ._store import JSON, NotFound, RunRecord, Store

__all__ = ["Progress", "RunHandlers"]

log = logging.getLogger("assistants_async.server")

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
        body: JSON = request[BODY]
        assistant = await self.store.assistant(tenant, body["assistant_id"])
        run = await self.engine.new_run(tenant, thread["id"], assistant, body)
        prelude = [("thread.run.created", run.obj), ("thread.run.queued", run.obj)]
        return await self._after_change(request, tenant, run, prelude)

    async def create_thread_and_run(self, request: web.Request) -> web.StreamResponse:
        body: JSON = request[BODY]
        tenant = tenant_of(request)
        assistant = await self.store.assistant(tenant, body["assistant_id"])
        thread, messages = self.objects.made_thread(body.get("thread") or {}, body)
        run = await self.engine.new_thread_and_run(tenant, thread, messages, assistant, body)
        prelude = [
            ("thread.created", thread),
            ("thread.run.created", run.obj),
            ("thread.run.queued", run.obj),
        ]
        return await self._after_change(request, tenant, run, prelude)

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
            await self.engine.settle(tenant, run, written=True)
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
        emit = _EventStream(request, response)
        async with emit.batch():  # one write
            for name, data in prelude:
                await emit(name, data)
        try:
            await self.engine.settle(tenant, run, emit, written=True)
        except NotFound as gone:  # its thread was deleted meanwhile: nothing left to move
            await self._end_with_error(emit, envelope(str(gone), "invalid_request_error"))
            return response
        except Exception:
            await self._stopped(tenant, run, emit)
            return response
        if emit.recording is not None:
            emit.recording.event(b"event: done\ndata: [DONE]\n\n")
        if emit.open:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await response.write_eof(b"event: done\ndata: [DONE]\n\n")  # one write
        return response

    async def _stopped(self, tenant: str, run: RunRecord, emit: _EventStream) -> None:
        """The server failed while it streamed the run (a store's write, say). Its
        headers are sent, so no 500 can be: the run fails (if the store takes that, and
        this process moves it: a stream that relays another's run fails only itself),
        the client hears so and then an ``error`` event, as the service's streams said
        one, and the stream ends. What failed is logged, not told."""
        log.exception("the streamed run %s stopped", run.id)
        if self.engine.moves_here(run.id):
            try:
                run = await self.engine.fail(tenant, run, "server_error", SERVER_ERROR)
                if run.obj["status"] == "failed":
                    await emit("thread.run.failed", run.obj)
            except Exception:  # the store fails still: a restart takes the run up
                log.exception("could not fail the run %s", run.id)
        await self._end_with_error(emit, envelope(SERVER_ERROR, "server_error"))

    @staticmethod
    async def _end_with_error(emit: _EventStream, error: JSON) -> None:
        await emit("error", error["error"])
        if emit.open:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await emit.response.write_eof()

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


class _EventStream:
    """The ``emit`` of a streamed run: each event written to ``response`` as it is told,
    or, within ``batch()``, those told together in one write (the engine's streamed turn
    tells together the parts that came in one read of the model's answer)."""

    def __init__(self, request: web.Request, response: web.StreamResponse) -> None:
        self.request = request
        self.response = response
        self.fault = request.get(STREAM_FAULT)
        self.recording = request.get(RECORDING)
        self.sent = 0
        self.open = True  # False once the client left, or a fault ended the stream
        self._held: list[bytes] | None = None

    async def __call__(self, name: str, data: JSON) -> None:
        event = _sse(name, data)  # encoded once, for the recording and the client
        if self.recording is not None:
            if type(data) is TextDeltaEvent:
                self.recording.text(data.head, data.text)
            else:
                self.recording.event(event)
        if not self.open:
            return  # the run goes on
        if self.fault is not None and self.sent == self.fault.after_events:
            await self._break(event)
        elif self._held is not None and self.fault is None:
            self._held.append(event)
            self.sent += 1
        else:
            await self._write(event)
            self.sent += 1

    def hold(self, head: bytes, text: str) -> bool:
        """Within ``batch()``, the text delta of ``text`` (its message's ``head``, see
        text_delta_head), as ``__call__`` would tell it but without a coroutine or an
        event object (each text piece of a long answer); False, having done nothing,
        where that would write at once."""
        if self._held is None or self.fault is not None or not self.open:
            return False
        if self.recording is not None:
            self.recording.text(head, text)
        self._held.append(text_delta_sse(head, text))
        self.sent += 1
        return True

    @contextlib.asynccontextmanager
    async def batch(self) -> AsyncIterator[None]:
        """Events told within go out in one write as it ends."""
        if self._held is not None:  # already batching: the outer one writes
            yield
            return
        held: list[bytes] = []
        self._held = held
        try:
            yield
        finally:
            self._held = None
            if held and self.open:
                await self._write(b"".join(held))

    async def _write(self, data: bytes) -> None:
        try:
            await self.response.write(data)
        except (ConnectionError, RuntimeError):
            self.open = False

    async def _break(self, event: bytes) -> None:
        """The fault: an ``error`` event, or the connection cut mid-event."""
        assert self.fault is not None
        self.open = False
        try:
            if self.fault.kind == "stream_error":
                error = envelope(self.fault.message, "server_error")["error"]
                await self.response.write(_sse("error", error))
            else:
                await self.response.write(event[:20])
                if self.request.transport is not None:
                    self.request.transport.close()
        except (ConnectionError, RuntimeError):
            pass


def _with_metadata(run: RunRecord, metadata: JSON) -> RunRecord:
    return RunRecord({**run.obj, "metadata": metadata}, run.state, run.version)


async def _nothing() -> None:
    """The run was found already: nothing more to look up."""
