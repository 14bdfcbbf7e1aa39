"""A Chat Completions server for tests, on 127.0.0.1: it streams as real model servers
do, records what it was sent, and misbehaves when told to.

Each request takes the next queued answer (``double.answer(...)``), else ``default``
(an answer, or a function of the request's body giving one):

* ``Say("text")``: a role chunk first, then the text in small pieces, ``finish_reason``
  ``stop`` (or ``finish``), then the usage chunk with empty ``choices`` when the request
  asked for ``stream_options.include_usage``, then ``data: [DONE]``;
* ``Say("maybe", calls=[("f", '{"a": 1}'), ...])``: the text (if any), then the tool
  calls, each with ``index``, ``id``, ``type`` and name (empty arguments) in its first
  chunk and its arguments in later ones, several calls interleaved, then
  ``finish_reason`` ``tool_calls``;
* ``Say(..., calls=[...], after="text")``: text after the calls too, before the finish
  (some models do);
* ``Say(..., together=True)``: every chunk in one write (a fast model, or a slow reader);
* ``Say(..., cut_after=N)``: N chunks, then the connection is cut (no ``[DONE]``);
* ``Say(..., stall_after=N)``: N chunks, then silence until the client leaves (or the
  double stops); ``double.left`` is set when a client leaves mid-answer;
* ``Hang()``: no answer at all, not even its headers, until the client leaves;
* ``Refuse(status, body, headers)``: an error answer (429 with ``retry-after``, 500,
  400 with an error body).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
from collections.abc import Callable, Sequence
from typing import Any

import attrs
from aiohttp import web

JSON = dict[str, Any]


@attrs.frozen
class Say:
    text: str = ""
    calls: Sequence[tuple[str, str]] = ()
    after: str = ""  # text after the calls
    finish: str | None = None  # default: "tool_calls" with calls, else "stop"
    usage: tuple[int, int] = (11, 7)  # prompt, completion tokens
    cut_after: int | None = None
    stall_after: int | None = None
    piece: int = 3  # characters per content or arguments chunk
    together: bool = False  # every chunk in one write


@attrs.frozen
class Refuse:
    status: int
    body: JSON | str = attrs.field(factory=dict)
    headers: dict[str, str] = attrs.field(factory=dict)


@attrs.frozen
class Hang:
    pass


Answer = Say | Refuse | Hang


def rate_limited(retry_after: str = "0") -> Refuse:
    return Refuse(
        429,
        {"error": {"message": "Rate limit reached", "type": "rate_limit", "code": None}},
        {"retry-after": retry_after},
    )


def bad_request(message: str) -> Refuse:
    return Refuse(
        400, {"error": {"message": message, "type": "invalid_request_error", "code": None}}
    )


def server_error() -> Refuse:
    return Refuse(500, {"error": {"message": "upstream broke", "type": "server_error"}})


def _split(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def chunks(answer: Say, model: str, include_usage: bool) -> list[JSON]:
    """The chunks of a streamed answer, as a real server sends them."""
    made = 0

    def chunk(delta: JSON, finish: str | None = None) -> JSON:
        nonlocal made
        made += 1
        return {
            "id": "chatcmpl-double",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": model,
            "system_fingerprint": None,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }

    out = [chunk({"role": "assistant", "content": ""})]
    out += [chunk({"content": piece}) for piece in _split(answer.text, answer.piece)]
    # Interleaved: each call's head just before its first arguments, then round robin.
    pending = [
        collections.deque(_split(arguments, answer.piece) or [""]) for _, arguments in answer.calls
    ]
    headed: set[int] = set()
    while any(pending):
        for index, pieces in enumerate(pending):
            if not pieces:
                continue
            if index not in headed:
                headed.add(index)
                name = answer.calls[index][0]
                head = {
                    "index": index,
                    "id": f"call_up{index}",
                    "type": "function",
                    "function": {"name": name, "arguments": ""},
                }
                out.append(chunk({"tool_calls": [head]}))
            piece = pieces.popleft()
            if piece:
                out.append(
                    chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
                )
    out += [chunk({"content": piece}) for piece in _split(answer.after, answer.piece)]
    finish = answer.finish or ("tool_calls" if answer.calls else "stop")
    out.append(chunk({}, finish))
    if include_usage:
        prompt, completion = answer.usage
        out.append(
            {
                "id": "chatcmpl-double",
                "object": "chat.completion.chunk",
                "created": 1700000000,
                "model": model,
                "choices": [],
                "usage": {
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                },
            }
        )
    return out


@attrs.define
class ChatDouble:
    default: Answer | Callable[[JSON], Answer] = Say("Hello from the double.")
    queued: collections.deque[Answer] = attrs.field(factory=collections.deque)
    # What it was sent: each request's JSON body and headers, in order.
    received: list[JSON] = attrs.field(factory=list)
    headers: list[dict[str, str]] = attrs.field(factory=list)
    # Set when a request came in / a client left before its answer ended.
    arrived: asyncio.Event = attrs.field(factory=asyncio.Event)
    left: asyncio.Event = attrs.field(factory=asyncio.Event)
    _stop: asyncio.Event = attrs.field(factory=asyncio.Event)
    _runner: web.AppRunner | None = None
    url: str = ""

    def answer(self, *answers: Answer) -> None:
        self.queued.extend(answers)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._completions)
        # Cancelled when the client leaves: that is how a stall sees it go.
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/v1"
        return self.url

    async def stop(self) -> None:
        self._stop.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        body: JSON = await request.json()
        self.received.append(body)
        self.headers.append(dict(request.headers))
        self.arrived.set()
        if self.queued:
            answer = self.queued.popleft()
        else:
            answer = (
                self.default
                if isinstance(self.default, Say | Refuse | Hang)
                else self.default(body)
            )
        if isinstance(answer, Hang):
            try:
                await self._stop.wait()
            except asyncio.CancelledError:
                self.left.set()
                raise
            return web.Response(status=503)
        if isinstance(answer, Refuse):
            if isinstance(answer.body, str):
                return web.Response(status=answer.status, text=answer.body, headers=answer.headers)
            return web.json_response(answer.body, status=answer.status, headers=answer.headers)
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        sent = chunks(answer, body.get("model", ""), include_usage)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        try:
            if answer.together:
                lines = [b"data: " + json.dumps(data).encode() + b"\n\n" for data in sent]
                await response.write(b"".join([*lines, b"data: [DONE]\n\n"]))
                await response.write_eof()
                return response
            for count, data in enumerate(sent):
                if count == answer.cut_after:
                    assert request.transport is not None
                    request.transport.close()
                    return response
                if count == answer.stall_after:
                    await self._stop.wait()
                    return response
                await response.write(b"data: " + json.dumps(data).encode() + b"\n\n")
            await response.write(b"data: [DONE]\n\n")
            with contextlib.suppress(ConnectionError):
                await response.write_eof()
        except (asyncio.CancelledError, ConnectionError):
            self.left.set()
            raise
        return response
