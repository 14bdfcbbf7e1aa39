"""The control plane: the fake server driven over HTTP, from any language.

Everything lives under ``/__fake__/``, a prefix no Assistants path can take; it needs no
key, and is neither logged nor subject to faults. It calls the same objects the Python
API exposes (``server.faults``, ``server.script``, ``server.requests``), so the two
cannot disagree.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .._json import STRICT_JSON
from ._ids import FakeClock

if TYPE_CHECKING:
    from ._server import FakeAssistantsServer

__all__ = ["CONTROL_PREFIX", "add_control_routes"]

CONTROL_PREFIX = "/__fake__"

# kind -> (the Faults method, the JSON keys it takes besides operation and kind)
_FAULTS: dict[str, tuple[str, frozenset[str]]] = {
    "fail": (
        "fail_next",
        frozenset({"times", "status", "retry_after", "retry_after_ms", "should_retry", "body"}),
    ),
    "drop": ("drop_next", frozenset({"times"})),
    "delay": ("delay", frozenset({"times", "seconds"})),
    "stream_error": ("error_in_stream", frozenset({"times", "after_events", "message"})),
    "stream_cut": ("cut_stream", frozenset({"times", "after_events"})),
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def advance_clock(server: FakeAssistantsServer[Any], seconds: int) -> int:
    """Move the server's clock forward; a wall clock becomes a fake one from now on."""
    if not isinstance(server.clock, FakeClock):
        server.clock = FakeClock(int(time.time()))
    server.clock.advance(seconds)
    return server.clock()


def _answer(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)


def _guarded(handler: Callable[[web.Request], Awaitable[Any]]) -> Handler:
    """Bad input to the control plane is a 400 saying what is wrong."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        try:
            return _answer(await handler(request))
        except (ValueError, TypeError, KeyError) as exc:
            return _answer({"error": {"message": str(exc), "type": "control_error"}}, 400)

    return guarded


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    try:
        data = STRICT_JSON.decode(raw.decode("utf-8")) if raw.strip() else {}
    except ValueError as exc:
        raise ValueError(f"the body must be a JSON object ({exc})") from None
    except RecursionError:
        raise ValueError("the body must be a JSON object, not nested this deeply") from None
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


def add_control_routes(app: web.Application, server: FakeAssistantsServer[Any]) -> None:
    async def index(_: web.Request) -> Any:
        return {
            "endpoints": [
                "POST /__fake__/reset",
                "GET|DELETE /__fake__/requests",
                "POST|DELETE /__fake__/faults",
                "POST|DELETE /__fake__/script",
                "POST /__fake__/clock",
                "PUT /__fake__/progress",
            ],
        }

    async def reset(_: web.Request) -> Any:
        await server.areset()
        return {"reset": True}

    async def requests(_: web.Request) -> Any:
        return {"object": "list", "data": [entry.to_json() for entry in server.requests]}

    async def clear_requests(_: web.Request) -> Any:
        server.requests.clear()
        return {"cleared": True}

    async def add_fault(request: web.Request) -> Any:
        data = await _body(request)
        kind = data.pop("kind", None)
        if kind not in _FAULTS:
            raise ValueError(f"kind must be one of {', '.join(_FAULTS)}, not {kind!r}")
        method, allowed = _FAULTS[kind]
        operation = data.pop("operation", "*")
        if operation != "*" and operation not in server.operations:
            raise ValueError(f"unknown operation {operation!r}: use an operationId or '*'")
        if set(data) - allowed:
            extra = ", ".join(sorted(set(data) - allowed))
            raise ValueError(f"a {kind} fault takes {', '.join(sorted(allowed))}, not {extra}")
        getattr(server.faults, method)(operation, **data)
        return {"added": {"kind": kind, "operation": operation, **data}}

    async def clear_faults(_: web.Request) -> Any:
        server.faults.clear()
        return {"cleared": True}

    async def add_script(request: web.Request) -> Any:
        server.script.load(await _body(request))
        return {"scripted": len(server.script)}

    async def clear_script(_: web.Request) -> Any:
        server.script.clear()
        return {"cleared": True}

    async def clock(request: web.Request) -> Any:
        data = await _body(request)
        seconds = data.get("advance")
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
            raise ValueError('send {"advance": N}, N a whole number of seconds >= 0')
        return {"now": advance_clock(server, seconds)}

    async def progress(request: web.Request) -> Any:
        chosen = (await _body(request)).get("progress")
        if chosen not in ("immediate", "per_retrieve", "timer"):
            raise ValueError("progress is immediate, per_retrieve or timer")
        server.progress = chosen
        return {"progress": chosen}

    routes: list[tuple[str, str, Callable[[web.Request], Awaitable[Any]]]] = [
        ("GET", "/", index),
        ("POST", "/reset", reset),
        ("GET", "/requests", requests),
        ("DELETE", "/requests", clear_requests),
        ("POST", "/faults", add_fault),
        ("DELETE", "/faults", clear_faults),
        ("POST", "/script", add_script),
        ("DELETE", "/script", clear_script),
        ("POST", "/clock", clock),
        ("PUT", "/progress", progress),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, CONTROL_PREFIX + path, _guarded(handler))
