"""The control plane: a server driven over HTTP, from any language, under ``/__fake__/``.

One implementation for the fake server and for ``python -m assistants_async.server
--control``, so that a test suite written against one drives the other. It needs no key
and is neither logged nor subject to faults. What it does it asks of the objects the
server holds (its store, script and request log), so the Python API and the control
plane cannot disagree. A server offers what makes sense for it; an endpoint of the
protocol it does not offer answers a 404 saying so, and why.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeAlias

import attrs
from aiohttp import web

from .._json import STRICT_JSON
from ._log import RequestLog
from ._script import Script
from ._store import PageQuery, Store

__all__ = [
    "CONTROL_PREFIX",
    "PROTOCOL",
    "Action",
    "Controls",
    "add_control_routes",
    "json_body",
]

CONTROL_PREFIX = "/__fake__"

# Every endpoint of the protocol (method, path under the prefix), in the index's order.
PROTOCOL: tuple[tuple[str, str], ...] = (
    ("POST", "/reset"),
    ("GET", "/requests"),
    ("DELETE", "/requests"),
    ("POST", "/faults"),
    ("DELETE", "/faults"),
    ("POST", "/script"),
    ("DELETE", "/script"),
    ("POST", "/clock"),
    ("PUT", "/progress"),
    ("GET", "/health"),
)

# An endpoint: the request in, the JSON answer out (ValueError, TypeError, KeyError: a 400).
Action: TypeAlias = Callable[[web.Request], Awaitable[Any]]
Handler: TypeAlias = Callable[[web.Request], Awaitable[web.StreamResponse]]


@attrs.frozen
class Controls:
    """What a server lets its control plane do.

    ``reset`` forgets every object (and whatever else the server holds for tests);
    ``script`` is the script runs take their replies from; ``requests``, the request
    log, if the server keeps one; ``store`` answers the health check. ``extra``: the
    server's own endpoints of the protocol, by (method, path); ``left_out``: why the
    others are not offered, by path.
    """

    reset: Callable[[], Awaitable[None]]
    script: Script
    store: Store
    requests: RequestLog | None = None
    extra: Mapping[tuple[str, str], Action] = attrs.field(factory=dict)
    left_out: Mapping[str, str] = attrs.field(factory=dict)


def _answer(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)


def _refusal(message: str, status: int = 400) -> web.Response:
    return _answer({"error": {"message": message, "type": "control_error"}}, status)


def _guarded(action: Action) -> Handler:
    """Bad input to the control plane is a 400 saying what is wrong."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        try:
            return _answer(await action(request))
        except (ValueError, TypeError, KeyError) as exc:
            return _refusal(str(exc))
        except web.HTTPRequestEntityTooLarge:
            return _refusal("the body is larger than this server accepts", 413)

    return guarded


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's body, a JSON object (none: an empty one)."""
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


def add_control_routes(app: web.Application, controls: Controls) -> None:
    """Serve the control plane of ``controls`` on ``app``, under ``CONTROL_PREFIX``."""
    script, log = controls.script, controls.requests

    async def reset(_: web.Request) -> Any:
        await controls.reset()
        return {"reset": True}

    async def requests(_: web.Request) -> Any:
        assert log is not None
        return {"object": "list", "data": [entry.to_json() for entry in log]}

    async def clear_requests(_: web.Request) -> Any:
        assert log is not None
        log.clear()
        return {"cleared": True}

    async def add_script(request: web.Request) -> Any:
        script.load(await json_body(request))
        return {"scripted": len(script)}

    async def clear_script(_: web.Request) -> Any:
        script.clear()
        return {"cleared": True}

    async def health(_: web.Request) -> Any:
        # A page of nothing: the store answers a query, not just the process.
        await controls.store.assistants("", PageQuery(limit=1))
        return {"status": "ok"}

    offered: dict[tuple[str, str], Action] = {
        ("POST", "/reset"): reset,
        ("POST", "/script"): add_script,
        ("DELETE", "/script"): clear_script,
        ("GET", "/health"): health,
    }
    if log is not None:
        offered[("GET", "/requests")] = requests
        offered[("DELETE", "/requests")] = clear_requests
    unknown = set(controls.extra) - set(PROTOCOL)
    if unknown:
        raise ValueError(f"not endpoints of the control plane: {sorted(unknown)}")
    offered.update(controls.extra)

    by_path: dict[str, list[str]] = {}
    for method, path in PROTOCOL:
        if (method, path) in offered:
            by_path.setdefault(path, []).append(method)
    missing = sorted({path for method, path in PROTOCOL if (method, path) not in offered})

    async def index(_: web.Request) -> Any:
        shown: dict[str, Any] = {
            "endpoints": [
                f"{'|'.join(methods)} {CONTROL_PREFIX}{path}" for path, methods in by_path.items()
            ]
        }
        if missing:
            shown["not_offered"] = {
                CONTROL_PREFIX + path: controls.left_out.get(path, "not offered by this server")
                for path in missing
            }
        return shown

    def not_offered(method: str, path: str) -> Handler:
        why = controls.left_out.get(path, "")
        message = f"{method} {CONTROL_PREFIX}{path} is not offered by this server"
        message += f": {why}" if why else "."

        async def refuse(_: web.Request) -> web.StreamResponse:
            return _refusal(message, 404)

        return refuse

    app.router.add_route("GET", CONTROL_PREFIX + "/", _guarded(index))
    for method, path in PROTOCOL:
        action = offered.get((method, path))
        handler = _guarded(action) if action else not_offered(method, path)
        app.router.add_route(method, CONTROL_PREFIX + path, handler)
