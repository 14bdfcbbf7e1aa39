"""A minimal server for the benchmarks: canned bytes, so the server is never the bottleneck.

    python benchmarks/server.py --port 0    # prints "ready <port>"

Routes (under /v1 with 10,000 assistants, under /big/v1 with 100,000):
GET assistants/{id}, GET assistants (limit/after pages), POST threads/{id}/messages,
POST threads/{id}/runs (an event stream of ``?deltas=N`` message deltas, 5,000 by default).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from aiohttp import web

STREAM_DELTAS = 5_000


def assistant(i: int) -> dict[str, object]:
    return {
        "id": f"asst_{i:06d}",
        "object": "assistant",
        "created_at": 1_700_000_000 + i,
        "name": f"Assistant {i}",
        "description": None,
        "model": "gpt-4o",
        "instructions": "You are a helpful assistant.",
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Weather",
                    "parameters": {"type": "object"},
                },
            }
        ],
        "tool_resources": {},
        "metadata": {"team": "bench"},
        "top_p": 1.0,
        "temperature": 1.0,
        "response_format": "auto",
    }


MESSAGE = {
    "id": "msg_000001",
    "object": "thread.message",
    "created_at": 1_700_000_000,
    "thread_id": "thread_1",
    "status": "completed",
    "incomplete_details": None,
    "completed_at": 1_700_000_000,
    "incomplete_at": None,
    "role": "user",
    "content": [{"type": "text", "text": {"value": "How does AI work?", "annotations": []}}],
    "assistant_id": None,
    "run_id": None,
    "attachments": [],
    "metadata": {},
}
RUN = {
    "id": "run_1",
    "object": "thread.run",
    "created_at": 1,
    "thread_id": "thread_1",
    "assistant_id": "asst_000001",
    "status": "queued",
    "required_action": None,
    "last_error": None,
    "expires_at": None,
    "started_at": None,
    "cancelled_at": None,
    "failed_at": None,
    "completed_at": None,
    "incomplete_details": None,
    "model": "gpt-4o",
    "instructions": "",
    "tools": [],
    "metadata": {},
    "usage": None,
    "temperature": 1.0,
    "top_p": 1.0,
    "max_prompt_tokens": None,
    "max_completion_tokens": None,
    "truncation_strategy": {"type": "auto", "last_messages": None},
    "tool_choice": "auto",
    "parallel_tool_calls": True,
    "response_format": "auto",
}


def _event(name: str, data: object) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def stream_bytes(deltas: int = STREAM_DELTAS) -> bytes:
    in_progress = {**RUN, "status": "in_progress"}
    parts = [_event("thread.run.created", RUN), _event("thread.run.in_progress", in_progress)]
    message = {**MESSAGE, "role": "assistant", "status": "in_progress", "content": []}
    parts.append(_event("thread.message.created", message))
    for i in range(deltas):
        parts.append(
            _event(
                "thread.message.delta",
                {
                    "id": "msg_000001",
                    "object": "thread.message.delta",
                    "delta": {
                        "content": [
                            {
                                "index": 0,
                                "type": "text",
                                "text": {"value": f"word{i} ", "annotations": []},
                            }
                        ]
                    },
                },
            )
        )
    parts.append(_event("thread.message.completed", {**MESSAGE, "role": "assistant"}))
    parts.append(_event("thread.run.completed", {**RUN, "status": "completed"}))
    parts.append(b"event: done\ndata: [DONE]\n\n")
    return b"".join(parts)


class Canned:
    def __init__(self) -> None:
        self.assistant = json.dumps(assistant(1)).encode()
        self.message = json.dumps(MESSAGE).encode()
        self.streams: dict[int, bytes] = {}
        self.pages: dict[tuple[int, int, int], bytes] = {}

    def page(self, total: int, start: int, limit: int) -> bytes:
        key = (total, start, limit)
        cached = self.pages.get(key)
        if cached is None:
            data = [assistant(i) for i in range(start, min(start + limit, total))]
            cached = json.dumps(
                {
                    "object": "list",
                    "data": data,
                    "first_id": data[0]["id"] if data else None,
                    "last_id": data[-1]["id"] if data else None,
                    "has_more": start + limit < total,
                }
            ).encode()
            self.pages[key] = cached
        return cached


def make_app() -> web.Application:
    canned = Canned()
    json_type = "application/json"

    async def get_assistant(request: web.Request) -> web.Response:
        return web.Response(body=canned.assistant, content_type=json_type)

    async def create_message(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=canned.message, content_type=json_type)

    def lister(total: int):  # type: ignore[no-untyped-def]
        async def list_assistants(request: web.Request) -> web.Response:
            limit = int(request.query.get("limit", "20"))
            after = request.query.get("after")
            start = int(after.removeprefix("asst_")) + 1 if after else 0
            return web.Response(body=canned.page(total, start, limit), content_type=json_type)

        return list_assistants

    async def create_run(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        deltas = int(request.query.get("deltas", STREAM_DELTAS))
        if deltas not in canned.streams:
            canned.streams[deltas] = stream_bytes(deltas)
        view = memoryview(canned.streams[deltas])
        for i in range(0, len(view), 65536):
            await response.write(view[i : i + 65536])
        await response.write_eof()
        return response

    app = web.Application()
    for prefix, total in (("/v1", 10_000), ("/big/v1", 100_000)):
        app.router.add_get(f"{prefix}/assistants/{{id}}", get_assistant)
        app.router.add_get(f"{prefix}/assistants", lister(total))
        app.router.add_post(f"{prefix}/threads/{{id}}/messages", create_message)
        app.router.add_post(f"{prefix}/threads/{{id}}/runs", create_run)
    return app


async def main(port: int) -> None:
    runner = web.AppRunner(make_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=1024)
    await site.start()
    print(f"ready {runner.addresses[0][1]}", flush=True)
    # Served until the parent goes: its end of our stdin closes when it exits, killed or
    # not (a parent killed by a test's timeout left this server running before).
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.buffer.read)
    await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    try:
        asyncio.run(main(args.port))
    except KeyboardInterrupt:
        sys.exit(0)
