"""The fake server's run handlers: starting runs, answering or streaming their life."""

from __future__ import annotations

import asyncio

from aiohttp import web

from ._handlers import ObjectHandlers
from ._http import (
    BODY,
    RECORDING,
    STREAM_FAULT,
    _check_include,
    _json,
    _page,
    _sse,
    envelope,
    refuse,
)
from ._store import JSON, StoredRun, StoredThread

__all__ = ["RunHandlers"]


class RunHandlers(ObjectHandlers):
    poll_after_ms: int | None

    async def _start_run(
        self, request: web.Request, thread: StoredThread, prelude: list[tuple[str, JSON]]
    ) -> web.StreamResponse:
        body: JSON = request[BODY]
        run = self.new_run(thread, self.store.assistant(body["assistant_id"]), body)
        prelude += [("thread.run.created", run.obj), ("thread.run.queued", run.obj)]
        return await self._after_change(request, thread, run, prelude)

    async def _cancel_run(self, request: web.Request) -> web.StreamResponse:
        thread, run = self._run(request)
        self.cancel(run)
        return await self._after_change(request, thread, run, [])

    async def _submit_tool_outputs(self, request: web.Request) -> web.StreamResponse:
        thread, run = self._run(request)
        prelude = self.submit_outputs(run, request[BODY]["tool_outputs"])
        return await self._after_change(request, thread, run, prelude)

    async def _create_run(self, request: web.Request) -> web.StreamResponse:
        thread = self._thread(request)
        _check_include(request)
        return await self._start_run(request, thread, [])

    async def _create_thread_and_run(self, request: web.Request) -> web.StreamResponse:
        body: JSON = request[BODY]
        self.store.assistant(body["assistant_id"])
        thread = self._new_thread(body.get("thread") or {})
        if "tool_resources" in body:
            thread.obj["tool_resources"] = self._tool_resources(body["tool_resources"])
        return await self._start_run(request, thread, [("thread.created", thread.obj)])

    async def _after_change(
        self,
        request: web.Request,
        thread: StoredThread,
        run: StoredRun,
        prelude: list[tuple[str, JSON]],
    ) -> web.StreamResponse:
        """Answer with the run as it is now (or stream its life), then let it move."""
        if request.method == "POST" and request[BODY].get("stream"):
            return await self._stream_run(request, thread, run, prelude)
        snapshot = self._run_response(run.obj)
        if self.progress == "immediate":
            await self.settle(thread, run)
        elif self.progress == "timer" and run.timer is None:
            run.timer = asyncio.get_running_loop().create_task(self.tick(thread, run))
        return snapshot

    async def _get_run(self, request: web.Request) -> web.Response:
        thread, run = self._run(request)
        if self.progress == "per_retrieve":
            await self.advance(thread, run)
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
        thread: StoredThread,
        run: StoredRun,
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
        await self.settle(thread, run, emit)
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
        if "metadata" in request[BODY]:
            run.obj["metadata"] = request[BODY]["metadata"] or {}
        return _json(run.obj)

    async def _list_runs(self, request: web.Request) -> web.Response:
        thread = self._thread(request)
        for run in thread.runs.values():
            self.expire(run)
        return _json(_page([r.obj for r in thread.runs.values()], request))

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
            raise refuse(404, f"No run step found with id '{step_id}'.")
        return _json(step)
