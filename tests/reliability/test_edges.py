"""Edges: no key in any frame an error reaches, every failure a library error, requests
normalised before sending, and the event-stream rules that matter."""

from __future__ import annotations

import json
import traceback
import types
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web

from assistants_async import (
    APIConnectionError,
    AssistantsError,
    AsyncClient,
    BadRequestError,
    InternalServerError,
    ResponseValidationError,
)
from assistants_async._sse import SSEDecoder, parse_sse
from assistants_async.models.events import UnknownEvent
from assistants_async.testing import FakeAssistantsServer

from ..conftest import ScriptedServer, json_reply
from ..payloads import ASSISTANT, RUN
from ..proxy import counting_proxy

KEY = "sk-proj-FrameSecret0123456789abcdef"


# --- the key is unreachable from errors --------------------------------------------------


def _holds(value: Any, depth: int = 0) -> bool:
    """Whether ``value`` shows the key as a locals-printing tool would show it: the
    repr of anything, and the contents of dicts, lists, tuples and sets, deeply."""
    if depth > 6:
        return False
    if isinstance(value, str | bytes):
        return KEY in (value if isinstance(value, str) else value.decode("latin-1"))
    if isinstance(value, dict):
        return any(_holds(k, depth + 1) or _holds(v, depth + 1) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return any(_holds(v, depth + 1) for v in value)
    try:
        return KEY in repr(value)
    except Exception:
        return False


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        item = stack.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        stack += [item.__cause__, item.__context__]


def leaking_frames(exc: BaseException) -> list[str]:
    found = []
    for item in _chain(exc):
        tb: types.TracebackType | None = item.__traceback__
        while tb is not None:
            frame = tb.tb_frame
            for name, value in frame.f_locals.items():
                if _holds(value):
                    found.append(f"{frame.f_code.co_name}: {name}")
            tb = tb.tb_next
    return found


def assert_secret_safe(exc: BaseException) -> None:
    assert isinstance(exc, AssistantsError), repr(exc)
    assert leaking_frames(exc) == []
    shown = "".join(
        traceback.TracebackException(
            type(exc), exc, exc.__traceback__, capture_locals=True
        ).format()
    )
    assert KEY not in shown


async def failure(call: Any) -> BaseException:
    try:
        await call
    except Exception as exc:
        return exc
    raise AssertionError("the call should have failed")


async def test_no_error_reaches_a_frame_holding_the_key(server: ScriptedServer) -> None:
    server.reply(json_reply(400, {"error": {"message": "bad", "type": "invalid_request_error"}}))
    async with AsyncClient(api_key=KEY, base_url=server.url, max_retries=0) as client:
        errors = [
            await failure(client.assistants.retrieve("asst_1")),  # a status error
            # A call that removes a default header sends every header per request.
            await failure(
                client.assistants.retrieve("asst_1", extra_headers={"OpenAI-Beta": None})
            ),
            await failure(client.assistants.create(model="m")),
        ]
    async with AsyncClient(api_key=KEY, base_url="http://127.0.0.1:9/v1", max_retries=1) as dead:
        dead._transport.rand = lambda: 0.0
        errors.append(await failure(dead.assistants.retrieve("asst_1")))  # refused, retried
    async with (
        counting_proxy() as proxy,
        AsyncClient(
            api_key=KEY, base_url="http://127.0.0.1:9/v1", proxy=proxy.url, max_retries=0
        ) as proxied,
    ):
        errors.append(await failure(proxied.assistants.retrieve("asst_1")))
    assert isinstance(errors[0], BadRequestError)
    assert isinstance(errors[3], APIConnectionError)
    assert errors[3].__cause__ is not None  # the cause is kept, without its frames
    for error in errors:
        assert_secret_safe(error)


async def test_a_timed_out_call_is_secret_safe() -> None:
    async with FakeAssistantsServer() as fake:
        fake.faults.delay("getAssistant", seconds=1)
        async with fake.client(api_key=KEY, timeout=0.2, max_retries=0) as client:
            error = await failure(client.assistants.retrieve("asst_1"))
    assert_secret_safe(error)


# --- every failure is a library error ------------------------------------------------------


async def test_an_error_body_nested_deeply_is_still_its_error(server: ScriptedServer) -> None:
    deep = b'{"error": ' * 100_000 + b"1" + b"}" * 100_000
    server.reply(web.Response(status=500, body=deep, content_type="application/json"))
    async with AsyncClient(api_key="sk-1", base_url=server.url, max_retries=0) as client:
        error = await failure(client.assistants.retrieve("asst_1"))
    assert isinstance(error, InternalServerError)


async def test_a_stream_event_nested_deeply_is_a_library_error(server: ScriptedServer) -> None:
    nested: Any = "x"
    for _ in range(900):
        nested = {"a": nested}
    delta = {
        "id": "msg_1",
        "object": "thread.message.delta",
        "delta": {"content": [{"index": 0, "type": "text", "text": {"value": "hi"}}], "x": nested},
    }
    body = (
        f"event: thread.message.delta\ndata: {json.dumps(delta)}\n\n"
        f"event: thread.message.delta\ndata: {json.dumps(delta)}\n\n"
        "event: done\ndata: [DONE]\n\n"
    ).encode()
    server.reply(web.Response(body=body, content_type="text/event-stream"))
    async with AsyncClient(api_key="sk-1", base_url=server.url) as client:

        async def read() -> None:
            async with client.runs.stream("thread_1", assistant_id="asst_1") as stream:
                await stream.until_done()

        error = await failure(read())
    assert isinstance(error, AssistantsError), repr(error)


def test_a_base_url_with_credentials_is_refused_without_showing_them() -> None:
    with pytest.raises(ValueError, match="credentials") as caught:
        AsyncClient(api_key="sk-1", base_url="https://user:hunter2@gw.example/v1")
    assert "hunter2" not in str(caught.value)


# --- requests are normalised ---------------------------------------------------------------


async def test_a_lowercase_post_is_a_post_with_one_idempotency_key(server: ScriptedServer) -> None:
    server.reply(json_reply(500, {"error": {"message": "x"}}), json_reply(body=ASSISTANT))
    async with AsyncClient(api_key="sk-1", base_url=server.url) as client:
        client._transport.rand = lambda: 1.0
        client._transport.sleep = _no_sleep
        await client.request("post", "/assistants", body={"model": "m"})
    keys = [s.headers.get("Idempotency-Key") for s in server.seen]
    assert [s.method for s in server.seen] == ["POST", "POST"]
    assert keys[0] is not None
    assert keys[0] == keys[1]
    with pytest.raises(ValueError, match="HTTP method"):
        await client.request("PO ST", "/assistants")


async def _no_sleep(_: float) -> None:
    return None


@pytest.mark.parametrize("name", ["X-A: b", "X A", "X\r\nB", "", "Ünïcode"])
async def test_bad_header_names_are_refused_before_sending(
    server: ScriptedServer, name: str
) -> None:
    server.reply(json_reply(body=ASSISTANT))
    async with AsyncClient(api_key="sk-1", base_url=server.url) as client:
        with pytest.raises(ValueError, match="not a valid header name"):
            await client.assistants.retrieve("asst_1", extra_headers={name: "v"})
        with pytest.raises(ValueError, match="not a valid header name"):
            AsyncClient(api_key="sk-1", default_headers={name: "v"})
    assert server.seen == []


async def test_nan_is_refused_both_ways(server: ScriptedServer) -> None:
    server.reply(
        web.Response(body=json.dumps({**RUN, "temperature": float("nan")}).encode()),
    )
    async with AsyncClient(api_key="sk-1", base_url=server.url) as client:
        for bad in (float("nan"), float("inf")):
            with pytest.raises(ValueError, match="NaN or Infinity"):
                await client.assistants.create(
                    model="m", metadata={"k": "v"}, extra_body={"t": bad}
                )
        assert server.seen == []
        with pytest.raises(ResponseValidationError, match="NaN"):
            await client.runs.retrieve("thread_1", "run_1")


# --- the event-stream rules that matter ----------------------------------------------------


async def test_an_unknown_event_with_text_data_is_delivered(server: ScriptedServer) -> None:
    body = (
        "\ufeffevent: ping\ndata: keepalive\n\n"
        f"event: thread.run.created\ndata: {json.dumps(RUN)}\n\n"
        "event: done\ndata: [DONE]\n\n"
    ).encode()
    server.reply(web.Response(body=body, content_type="text/event-stream"))
    async with (
        AsyncClient(api_key="sk-1", base_url=server.url) as client,
        client.runs.stream("thread_1", assistant_id="asst_1") as stream,
    ):
        events = [event async for event in stream]
    assert events[0] == UnknownEvent(event="ping", data="keepalive")  # BOM and all
    assert len(events) == 3


def test_a_leading_bom_is_dropped_once() -> None:
    assert [e.event for e in parse_sse("\ufeffevent: a\ndata: 1\n\n")] == ["a"]
    # Only at the very start: a BOM later is part of the data.
    assert [e.data for e in parse_sse(["data: 1\n\n", "\ufeffdata: 2\n\n"])] == ["1"]


def test_an_empty_feed_keeps_a_pending_cr() -> None:
    decoder = SSEDecoder()
    events = [
        *decoder.feed("data: a\r"),
        *decoder.feed(""),
        *decoder.feed("\ndata: b\n\n"),
    ]
    assert [e.data for e in events] == ["a\nb"]


def test_feeding_a_long_line_in_pieces_is_linear() -> None:
    decoder = SSEDecoder(max_size=1 << 30)
    piece = "x" * 1000
    for _ in range(20_000):  # 20 MB in 1 kB pieces: a re-join per piece is 200 GB of copies
        assert list(decoder.feed(piece)) == []
    assert [len(e.data) for e in decoder.feed("\n\n")] == []  # no "data:" field: no event
