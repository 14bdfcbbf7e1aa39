"""``python -m assistants_async demo``: the client's session layer, offline.

Until the fake Assistants server lands, the demo serves a few assistant routes from a
small loopback server that rate-limits the first create, so that what it shows is real:
the retry honouring ``retry-after-ms``, one idempotency key across the retry, typed
models, and a typed 404. ``--base-url`` runs the same calls against a real server.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import sys
import time
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from . import AsyncClient, NotFoundError
from ._errors import envelope
from .models import Assistant, AssistantDeleted, FunctionDefinition, FunctionTool

__all__ = ["main"]

WEATHER_TOOL = FunctionTool(
    function=FunctionDefinition(
        name="get_weather",
        description="Current weather for a city",
        parameters={
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    )
)


def _demo_app() -> web.Application:
    """Assistant create/retrieve/delete in memory; the first create answers 429."""
    assistants: dict[str, dict[str, Any]] = {}
    ids = itertools.count(1)
    first_create = [True]
    idempotency: dict[str, dict[str, Any]] = {}

    def error(status: int, message: str, kind: str, **headers: str) -> web.Response:
        return web.json_response(
            envelope(message, kind), status=status, headers={"x-request-id": "req_demo", **headers}
        )

    async def create(request: web.Request) -> web.Response:
        key = request.headers.get("Idempotency-Key", "")
        if first_create[0]:
            first_create[0] = False
            print(f"  server: 429 for create (Idempotency-Key {key[:8]}...), retry in 250 ms")
            return error(429, "Rate limit reached", "rate_limit_error", **{"retry-after-ms": "250"})
        if key in idempotency:
            return web.json_response(idempotency[key])
        body = await request.json()
        print(f"  server: create accepted (same Idempotency-Key {key[:8]}...)")
        asst = {
            "id": f"asst_demo{next(ids)}",
            "object": "assistant",
            "created_at": int(time.time()),
            "name": body.get("name"),
            "description": None,
            "model": body["model"],
            "instructions": body.get("instructions"),
            "tools": body.get("tools", []),
            "metadata": body.get("metadata", {}),
            "top_p": 1.0,
            "temperature": 1.0,
            "response_format": "auto",
        }
        assistants[asst["id"]] = idempotency[key] = asst
        return web.json_response(asst)

    async def retrieve(request: web.Request) -> web.Response:
        asst = assistants.get(request.match_info["id"])
        if asst is None:
            return error(
                404,
                f"No assistant found with id '{request.match_info['id']}'.",
                "invalid_request_error",
            )
        return web.json_response(asst)

    async def delete(request: web.Request) -> web.Response:
        asst_id = request.match_info["id"]
        if assistants.pop(asst_id, None) is None:
            return error(404, f"No assistant found with id '{asst_id}'.", "invalid_request_error")
        return web.json_response({"id": asst_id, "object": "assistant.deleted", "deleted": True})

    app = web.Application()
    app.router.add_post("/v1/assistants", create)
    app.router.add_get("/v1/assistants/{id}", retrieve)
    app.router.add_delete("/v1/assistants/{id}", delete)
    return app


async def _flow(client: AsyncClient) -> None:
    print("1. create an assistant with a function tool")
    asst = await client.request(
        "POST",
        "/assistants",
        cast_to=Assistant,
        body={
            "model": "gpt-4o",
            "name": "Weather",
            "instructions": "Answer with the weather.",
            "tools": [WEATHER_TOOL],
        },
    )
    tool = asst.tools[0]
    tool_name = tool.function.name if isinstance(tool, FunctionTool) else tool.type
    print(f"   -> {asst.id} {asst.name!r}, model {asst.model}, tool {tool_name}")

    print("2. retrieve it")
    again = await client.request("GET", f"/assistants/{asst.id}", cast_to=Assistant)
    print(f"   -> equal to the created one: {again == asst}")

    print("3. delete it")
    deleted = await client.request("DELETE", f"/assistants/{asst.id}", cast_to=AssistantDeleted)
    print(f"   -> deleted: {deleted.deleted}")

    print("4. retrieve it again: a typed error")
    try:
        await client.request("GET", f"/assistants/{asst.id}", cast_to=Assistant)
    except NotFoundError as exc:
        print(f"   -> {type(exc).__name__}: {exc}")
    else:  # pragma: no cover - a server that did not delete
        raise SystemExit("expected a 404 after delete")


async def _demo(base_url: str | None, api_key: str | None) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("  client: %(message)s"))
    logger = logging.getLogger("assistants_async")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    if base_url is not None:
        print(f"Running against {base_url}")
        async with AsyncClient(base_url=base_url, api_key=api_key) as client:
            await _flow(client)
        return
    runner = web.AppRunner(_demo_app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        url = f"http://127.0.0.1:{port}/v1"
        print(f"Demo server on {url} (offline; the full fake Assistants server is on its way)")
        async with AsyncClient(base_url=url, api_key=api_key or "sk-demo") as client:
            await _flow(client)
    finally:
        await runner.cleanup()
    print("Done.")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assistants_async")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run the demo flow (offline by default)")
    demo.add_argument("--base-url", help="a compatible server to run against instead")
    demo.add_argument("--api-key", help="API key (default: OPENAI_API_KEY)")
    args = parser.parse_args(argv)
    if args.command == "demo":
        asyncio.run(_demo(args.base_url, args.api_key))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
