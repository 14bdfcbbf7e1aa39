"""The aiohttp application: the 23 operations' routes, and how a request is handled.

``handle`` parses and validates a POST's JSON body, calls the operation's handler and
turns what it raises (``Invalid``, or the store's ``NotFound``, ``UnknownCursor`` and
``ActiveRunExists``) into the API's error envelope. What comes before it (keys, tenants,
logs, faults, idempotency) is the middleware the caller puts in front.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeAlias

from aiohttp import web

from .._schema import Invalid, validate
from ._handlers import Handlers
from ._http import BODY, _parse_body, envelope
from ._runs import RunHandlers
from ._store import ActiveRunExists, Conflict, NotFound, UnknownCursor

__all__ = ["Handler", "Route", "build_app", "error", "handle", "routes"]

Handler: TypeAlias = Callable[[web.Request], Awaitable[web.StreamResponse]]
# (method, path, operationId, handler)
Route: TypeAlias = tuple[str, str, str, Handler]

# How the API named a kind of object in "No ... found" (a step is a "run step").
_KIND_NAMES = {"step": "run step"}


def routes(objects: Handlers, runs: RunHandlers) -> list[Route]:
    """Every operation of the spec, by its operationId."""
    thread = "/v1/threads/{thread_id}"
    message = thread + "/messages/{message_id}"
    run = thread + "/runs/{run_id}"
    return [
        ("GET", "/v1/assistants", "listAssistants", objects.list_assistants),
        ("POST", "/v1/assistants", "createAssistant", objects.create_assistant),
        ("GET", "/v1/assistants/{assistant_id}", "getAssistant", objects.get_assistant),
        ("POST", "/v1/assistants/{assistant_id}", "modifyAssistant", objects.modify_assistant),
        ("DELETE", "/v1/assistants/{assistant_id}", "deleteAssistant", objects.delete_assistant),
        ("POST", "/v1/threads", "createThread", objects.create_thread),
        ("POST", "/v1/threads/runs", "createThreadAndRun", runs.create_thread_and_run),
        ("GET", thread, "getThread", objects.get_thread),
        ("POST", thread, "modifyThread", objects.modify_thread),
        ("DELETE", thread, "deleteThread", objects.delete_thread),
        ("GET", thread + "/messages", "listMessages", objects.list_messages),
        ("POST", thread + "/messages", "createMessage", objects.create_message),
        ("GET", message, "getMessage", objects.get_message),
        ("POST", message, "modifyMessage", objects.modify_message),
        ("DELETE", message, "deleteMessage", objects.delete_message),
        ("GET", thread + "/runs", "listRuns", runs.list_runs),
        ("POST", thread + "/runs", "createRun", runs.create_run),
        ("GET", run, "getRun", runs.get_run),
        ("POST", run, "modifyRun", runs.modify_run),
        ("POST", run + "/cancel", "cancelRun", runs.cancel_run),
        (
            "POST",
            run + "/submit_tool_outputs",
            "submitToolOuputsToRun",
            runs.submit_tool_outputs,
        ),
        ("GET", run + "/steps", "listRunSteps", runs.list_steps),
        ("GET", run + "/steps/{step_id}", "getRunStep", runs.get_step),
    ]


def build_app(
    routes: Sequence[Route],
    middlewares: Sequence[Callable[..., Awaitable[web.StreamResponse]]],
    *,
    client_max_size: int = 1024**2,
) -> web.Application:
    """An application serving ``routes`` (each named by its operationId), reading
    request bodies of at most ``client_max_size`` bytes."""
    app = web.Application(middlewares=list(middlewares), client_max_size=client_max_size)
    for method, path, name, handler in routes:
        app.router.add_route(method, path, handler, name=name)
    return app


def beta_refused(request: web.Request) -> web.Response | None:
    """The service's answer to a request without the Assistants v2 beta header (None
    when it has it): a client that forgets it fails here, not in production."""
    beta = [v.strip() for h in request.headers.getall("OpenAI-Beta", []) for v in h.split(",")]
    if "assistants=v2" in beta:
        return None
    if "assistants=v1" in beta:
        return error(
            400,
            "The v1 Assistants API has been deprecated. Please try again by setting the "
            "header 'OpenAI-Beta: assistants=v2'.",
            code="invalid_beta",
        )
    return error(
        400,
        "You must provide the 'OpenAI-Beta' header to access the Assistants API. Please "
        "try again by setting the header 'OpenAI-Beta: assistants=v2'.",
        code="invalid_beta",
    )


def error(
    status: int,
    message: str,
    param: str | None = None,
    code: str | None = None,
    kind: str = "invalid_request_error",
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """The API's error answer."""
    return web.Response(
        status=status,
        body=json.dumps(envelope(message, kind, param, code)).encode(),
        content_type="application/json",
        headers=headers,
    )


async def handle(
    request: web.Request, handler: Handler, operation: str, raw: bytes
) -> web.StreamResponse:
    """``operation``'s answer to ``request`` (its body ``raw``): a refusal as the API
    worded it, whether the handler or the store refused."""
    try:
        if request.method == "POST":
            request[BODY] = _parse_body(raw)
            validate(operation, request[BODY])
        return await handler(request)
    except Invalid as exc:
        return error(exc.status, exc.message, exc.param, exc.code, exc.kind)
    except NotFound as exc:
        kind = _KIND_NAMES.get(exc.kind, exc.kind)
        return error(404, f"No {kind} found with id '{exc.object_id}'.")
    except UnknownCursor as exc:
        return error(400, str(exc), exc.name, "invalid_value")
    except ActiveRunExists as exc:
        return error(400, str(exc))
    except Conflict:  # the engine writes again when it loses; a request should not
        return error(409, "The run was changed by another request; try again.")
