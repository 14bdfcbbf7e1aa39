"""The fake server's control plane: the server package's (``server._control``), with
what only a test double offers: faults, a clock to move, and the progress policy."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..server._control import CONTROL_PREFIX, Action, Controls, add_control_routes, json_body
from ._ids import FakeClock

if TYPE_CHECKING:
    from ._server import FakeAssistantsServer

__all__ = ["CONTROL_PREFIX", "add_fake_control_routes", "advance_clock"]

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


def advance_clock(server: FakeAssistantsServer[Any], seconds: int) -> int:
    """Move the server's clock forward; a wall clock becomes a fake one from now on."""
    if not isinstance(server.clock, FakeClock):
        server.clock = FakeClock(int(time.time()))
    server.clock.advance(seconds)
    return server.clock()


def add_fake_control_routes(app: web.Application, server: FakeAssistantsServer[Any]) -> None:
    async def reset() -> None:
        await server.areset()

    async def add_fault(request: web.Request) -> Any:
        data = await json_body(request)
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

    async def clock(request: web.Request) -> Any:
        data = await json_body(request)
        seconds = data.get("advance")
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
            raise ValueError('send {"advance": N}, N a whole number of seconds >= 0')
        return {"now": advance_clock(server, seconds)}

    async def progress(request: web.Request) -> Any:
        chosen = (await json_body(request)).get("progress")
        if chosen not in ("immediate", "per_retrieve", "timer"):
            raise ValueError("progress is immediate, per_retrieve or timer")
        server.progress = chosen
        return {"progress": chosen}

    extra: dict[tuple[str, str], Action] = {
        ("POST", "/faults"): add_fault,
        ("DELETE", "/faults"): clear_faults,
        ("POST", "/clock"): clock,
        ("PUT", "/progress"): progress,
    }
    controls = Controls(
        reset=reset,
        script=server.script,
        store=server.store,
        requests=server.requests,
        extra=extra,
    )
    add_control_routes(app, controls)
