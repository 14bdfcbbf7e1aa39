"""Runs answered by a Chat Completions endpoint (``server/_chat.py``), on the wire: the
server in front of the double (``tests/chat_double.py``), our client in front of the
server. Each test checks what the double received and what the client saw."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Literal

import aiohttp
import attrs
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from assistants_async import AsyncClient, BadRequestError
from assistants_async._sse import SSEDecoder
from assistants_async.server._chat import ChatResponder, ChatSettings, read_api_key
from assistants_async.server._keys import Keys, tenant_of_key
from assistants_async.server._memory import MemoryStore
from assistants_async.server._responders import Fail, Incomplete, Part, TextDelta
from assistants_async.server._serve import AssistantsServer
from assistants_async.server._store import RunRecord, Store
from tests.chat_double import (
    ChatDouble,
    Hang,
    Refuse,
    Say,
    bad_request,
    chunks,
    rate_limited,
    server_error,
)
from tests.stores import count_threads

KEY = "sk-tenant"
UPSTREAM_KEY = "sk-upstream-secret"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
TIME = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}


@attrs.define
class Served:
    client: AsyncClient
    double: ChatDouble
    responder: ChatResponder
    server: AssistantsServer


async def _serve(
    double: ChatDouble, store: Store | None = None, **settings: Any
) -> tuple[AssistantsServer, ChatResponder]:
    options: dict[str, Any] = {
        "api_key": UPSTREAM_KEY,
        "models": {"gpt-4o": "llama-3-8b"},
        "timeout": 30.0,
    }
    options.update(settings)
    responder = ChatResponder(ChatSettings(double.url, **options))
    server = AssistantsServer(store or MemoryStore(), Keys([KEY]), responder=responder)
    await server.start()
    return server, responder


@pytest.fixture
async def double() -> AsyncIterator[ChatDouble]:
    made = ChatDouble()
    await made.start()
    try:
        yield made
    finally:
        await made.stop()


@pytest.fixture
async def served(double: ChatDouble, request: pytest.FixtureRequest) -> AsyncIterator[Served]:
    # Settings of one test: @pytest.mark.parametrize("served", [{...}], indirect=True).
    async with _served(double, None, getattr(request, "param", {})) as served:
        yield served


@pytest.fixture
async def served_on(double: ChatDouble, any_store: Store) -> AsyncIterator[Served]:
    """``served``, on each store in turn (memory, SQLite, PostgreSQL)."""
    async with _served(double, any_store, {}) as served:
        yield served


@contextlib.asynccontextmanager
async def _served(
    double: ChatDouble, store: Store | None, settings: dict[str, Any]
) -> AsyncIterator[Served]:
    server, responder = await _serve(double, store, **settings)
    assert server.url is not None
    try:
        async with AsyncClient(api_key=KEY, base_url=server.url, max_retries=0) as client:
            yield Served(client, double, responder, server)
        await server.engine.drain(30)
        assert server.engine._readers == {}  # no turn left reading its answer
    finally:
        await server.stop()
        await responder.aclose()
    assert responder._client is None or responder._client.is_closed


async def _thread(served: Served, **assistant: Any) -> tuple[str, str]:
    options: dict[str, Any] = {"model": "gpt-4o", "instructions": "Be brief."}
    options.update(assistant)
    asst = await served.client.assistants.create(**options)
    thread = await served.client.threads.create(
        messages=[{"role": "user", "content": "Weather in Paris?"}]
    )
    return asst.id, thread.id


async def _events(served: Served, thread_id: str, **run: Any) -> list[Any]:
    """The run's stream events (without the closing ``done``)."""
    async with served.client.runs.stream(thread_id, **run) as stream:
        return [event async for event in stream if event.event != "done"]


def _names(events: list[Any]) -> list[str]:
    """The events' names, a run of deltas as one."""
    names: list[str] = []
    for event in events:
        if not (names and names[-1] == event.event and event.event.endswith(".delta")):
            names.append(event.event)
    return names


def _text(message: Any) -> str:
    return "".join(part.text.value for part in message.content if part.type == "text")


# --- the double itself ----------------------------------------------------------------


def test_the_double_streams_as_model_servers_do() -> None:
    sent = chunks(Say("Hi there", calls=[("a", '{"x": 1}'), ("b", '{"y": 22}')]), "m", True)
    first = sent[0]["choices"][0]["delta"]
    assert first == {"role": "assistant", "content": ""}
    assert [c["choices"][0]["delta"].get("content") for c in sent[1:4]] == ["Hi ", "the", "re"]
    calls = [
        d for c in sent if c["choices"] for d in c["choices"][0]["delta"].get("tool_calls", [])
    ]
    heads = [d for d in calls if "id" in d]
    assert [(h["index"], h["function"]["name"], h["function"]["arguments"]) for h in heads] == [
        (0, "a", ""),
        (1, "b", ""),
    ]
    # Interleaved: the second call begins before the first one's arguments are all sent.
    order = [d["index"] for d in calls]
    assert order.index(1) < len(order) - 1 - order[::-1].index(0)
    for index, arguments in ((0, '{"x": 1}'), (1, '{"y": 22}')):
        assert "".join(d["function"]["arguments"] for d in calls if d["index"] == index) == (
            arguments
        )
    assert sent[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert sent[-1]["choices"] == []
    assert sent[-1]["usage"]["total_tokens"] == 18


async def test_the_official_sdk_reads_the_double(double: ChatDouble) -> None:
    openai = pytest.importorskip("openai")
    double.answer(Say("Hello!", calls=[("get_weather", '{"city": "Paris"}')]))
    async with openai.AsyncOpenAI(api_key="x", base_url=double.url) as sdk:
        stream = await sdk.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        got = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in got if c.choices)
    arguments = "".join(
        call.function.arguments or ""
        for c in got
        if c.choices
        for call in c.choices[0].delta.tool_calls or []
    )
    assert text == "Hello!"
    assert arguments == '{"city": "Paris"}'
    assert got[-1].usage is not None
    assert got[-1].usage.completion_tokens == 7


async def test_a_character_split_across_two_reads_arrives_whole() -> None:
    from assistants_async.server._chat import _parts

    event = 'data: {"choices": [{"index": 0, "delta": {"content": "caf\u00e9 \u2603"}}]}\n\n'
    raw = event.encode()
    cut = raw.index("\u2603".encode()) + 1  # inside the snowman's three bytes

    async def reads() -> AsyncIterator[bytes]:
        for piece in (raw[: raw.index(b"\xc3") + 1], raw[raw.index(b"\xc3") + 1 : cut]):
            yield piece
        yield raw[cut:]
        yield b'data: {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}\n\n'
        yield b"data: [DONE]\n\n"

    parts = [_part(part) async for read in _parts(reads(), 1 << 20) for part in read]
    assert parts == [TextDelta("caf\u00e9 \u2603")]


STOP = b'data: {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}\n\n'


def _content(text: str, index: int = 0) -> bytes:
    delta = {"choices": [{"index": index, "delta": {"content": text}}]}
    return b"data: " + json.dumps(delta).encode() + b"\n\n"


@pytest.mark.parametrize(
    ("reads", "expected"),
    [
        # Keep-alive comments, empty events, chunks that are not objects, other choices.
        (
            [
                b": ping\n\n",
                b"data:\n\n",
                b"data: [1]\n\n",
                _content("no", 1),
                _content("yes"),
                STOP,
            ],
            [TextDelta("yes")],
        ),
        (
            [b"data: {oops\n\n"],
            [Fail("server_error", "The model server sent a chunk that is not JSON.")],
        ),
        (
            [b'data: {"error": {"message": "overloaded"}}\n\n'],
            [Fail("server_error", "The model server failed mid-stream.")],
        ),
        (
            [_content("half")],  # then the body ends, cleanly, with no finish and no [DONE]
            [
                TextDelta("half"),
                Fail("server_error", "The model server ended its answer before it was complete."),
            ],
        ),
        (
            [_content("cut"), STOP.replace(b"stop", b"length")],  # some servers send no [DONE]
            [TextDelta("cut"), Incomplete("max_completion_tokens")],
        ),
        # Content that is not a string: a list of parts (their text), or any other value.
        (
            [
                b'data: {"choices": [{"delta": {"content": [{"type": "text", "text": "a"},'
                b' {"type": "image_url", "image_url": {}}, {"text": "b"}]}}]}\n\n',
                b'data: {"choices": [{"delta": {"content": 42}}]}\n\n',
                STOP,
            ],
            [TextDelta("ab"), TextDelta("42")],
        ),
    ],
)
async def test_what_a_stream_says_becomes_parts(reads: list[bytes], expected: list[Part]) -> None:
    from assistants_async.server._chat import _parts

    async def given() -> AsyncIterator[bytes]:
        for read in reads:
            yield read

    assert [_part(part) async for read in _parts(given(), 1 << 20) for part in read] == expected


def _part(part: Part | str) -> Part:
    """A part as a responder gives it (the chat responder gives text as a ``str``)."""
    return TextDelta(part) if isinstance(part, str) else part


# --- a turn becomes one call ----------------------------------------------------------


async def test_a_text_answer_streams_as_message_deltas(served: Served) -> None:
    served.double.answer(Say("It is sunny in Paris.", usage=(20, 6)))
    asst, thread = await _thread(served)
    events = await _events(served, thread, assistant_id=asst)

    (sent,) = served.double.received
    assert sent["model"] == "llama-3-8b"  # mapped
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}
    assert sent["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris?"},
    ]
    assert "tools" not in sent
    assert "tool_choice" not in sent
    headers = {k.lower(): v for k, v in served.double.headers[0].items()}
    assert headers["authorization"] == f"Bearer {UPSTREAM_KEY}"
    assert "openai-beta" not in headers

    assert _names(events) == [
        "thread.run.created",
        "thread.run.queued",
        "thread.run.in_progress",
        "thread.run.step.created",
        "thread.run.step.in_progress",
        "thread.message.created",
        "thread.message.in_progress",
        "thread.message.delta",
        "thread.message.completed",
        "thread.run.step.completed",
        "thread.run.completed",
    ]
    deltas = [e.data.delta.content[0].text.value for e in events if e.event.endswith("delta")]
    assert len(deltas) > 3  # as the model made it, in pieces
    assert "".join(deltas) == "It is sunny in Paris."
    run = events[-1].data
    assert run.status == "completed"
    assert (run.usage.prompt_tokens, run.usage.completion_tokens) == (20, 6)
    steps = [s async for s in served.client.steps.list(thread, run.id)]
    assert [s.type for s in steps] == ["message_creation"]
    assert steps[0].usage is not None
    assert steps[0].usage.total_tokens == 26
    messages = [m async for m in served.client.messages.list(thread, order="asc")]
    assert _text(messages[-1]) == "It is sunny in Paris."
    assert messages[-1].status == "completed"


async def test_a_long_answer_is_kept_for_a_replay_by_its_text_not_its_pieces(
    served_on: Served,
) -> None:
    """A streamed run's answer is kept for a retry with its Idempotency-Key: the same
    events, each unbroken run of one message's text deltas as one delta of its whole
    text. What is kept (and held while it streams) grows with the text, not with the
    count of pieces: about 190 bytes a piece before."""
    served = served_on
    words = [f"w{i} " for i in range(2000)]
    served.double.answer(Say("".join(words), piece=6))
    asst, thread = await _thread(served)
    assert served.server.url is not None
    url = f"{served.server.url}/threads/{thread}/runs"
    headers = {
        "Authorization": f"Bearer {KEY}",
        "OpenAI-Beta": "assistants=v2",
        "Idempotency-Key": "long-answer",
    }
    body = {"assistant_id": asst, "stream": True}
    async with aiohttp.ClientSession() as http:
        async with http.post(url, json=body, headers=headers) as response:
            first = await response.read()
        async with http.post(url, json=body, headers=headers) as response:
            again = await response.read()
            assert response.headers["idempotent-replayed"] == "true"

    def events(raw: bytes) -> list[tuple[str | None, str]]:
        return [(e.event, e.data) for e in SSEDecoder().feed(raw.decode())]

    told, replayed = events(first), events(again)
    deltas = [json.loads(d) for n, d in told if n == "thread.message.delta"]
    assert len(deltas) > 1000  # as the model made it
    whole = "".join(d["delta"]["content"][0]["text"]["value"] for d in deltas)
    assert whole == "".join(words)
    # The replay: every other event as it was told; the deltas, one, in their place.
    merged = [
        e
        for i, e in enumerate(told)
        if e[0] != "thread.message.delta" or i == 0 or told[i - 1][0] != "thread.message.delta"
    ]
    assert [n for n, _ in replayed] == [n for n, _ in merged]
    for (name, data), (_, was) in zip(replayed, merged, strict=True):
        if name != "thread.message.delta":
            assert data == was
    (delta,) = [json.loads(d) for n, d in replayed if n == "thread.message.delta"]
    assert delta == {
        **deltas[0],
        "delta": {
            "content": [{"index": 0, "type": "text", "text": {"value": whole, "annotations": []}}]
        },
    }
    assert len(again) < len(first) / 10
    assert len(served.double.received) == 1  # run once


async def test_a_surrogate_pair_split_across_chunks_is_told_as_its_character(
    served_on: Served,
) -> None:
    """A server that writes a character beyond the BMP as a JSON surrogate pair may
    split the pair across chunks ("\\ud83d", then "\\ude00"): the run completes, and its
    deltas and message carry the character whole. A surrogate without its partner is
    U+FFFD, the Unicode replacement, as a decoder gives for a broken character."""
    served = served_on
    served.double.answer(Say("a\ud83d\ude00b \udc00 end\ud83d", piece=2))
    asst, thread = await _thread(served)
    events = await _events(served, thread, assistant_id=asst)

    whole = "a\U0001f600b \ufffd end\ufffd"
    deltas = [e.data.delta.content[0].text.value for e in events if e.event.endswith("e.delta")]
    assert "".join(deltas) == whole
    assert events[-1].event == "thread.run.completed"
    (message,) = [e.data for e in events if e.event == "thread.message.completed"]
    assert _text(message) == whole
    messages = [m async for m in served.client.messages.list(thread, order="asc")]
    assert _text(messages[-1]) == whole


async def test_a_lone_surrogate_in_a_tool_calls_arguments_is_stored_as_u_fffd(
    served: Served,
) -> None:
    served.double.answer(Say(calls=[("get_weather", '{"city": "\ud83d\ude00 \udc00"}')], piece=3))
    asst, thread = await _thread(served, tools=[WEATHER])
    events = await _events(served, thread, assistant_id=asst)

    run = events[-1].data
    assert run.status == "requires_action"
    (call,) = run.required_action.submit_tool_outputs.tool_calls
    assert call.function.arguments == '{"city": "\U0001f600 \ufffd"}'


async def test_chunks_that_come_in_one_read_stay_one_event_each(served: Served) -> None:
    """Events told together go out in one write, but each chunk keeps its own event, in
    order, as the service sent many small deltas."""
    text = "Sunny, 21 degrees, light wind from the west."
    served.double.answer(
        Say(text, calls=[("get_weather", '{"city": "Paris"}')], piece=1, together=True)
    )
    asst, thread = await _thread(served, tools=[WEATHER])
    events = await _events(served, thread, assistant_id=asst)

    deltas = [e.data.delta.content[0].text.value for e in events if e.event.endswith("e.delta")]
    assert deltas == list(text)
    arguments = [
        e.data.delta.step_details.tool_calls[0].function.arguments
        for e in events
        if e.event == "thread.run.step.delta"
    ]
    assert arguments == ["", *'{"city": "Paris"}']
    assert _names(events)[-4:] == [
        "thread.run.step.created",
        "thread.run.step.in_progress",
        "thread.run.step.delta",
        "thread.run.requires_action",
    ]
    (message,) = [e.data for e in events if e.event == "thread.message.completed"]
    assert _text(message) == text


async def test_a_non_streamed_run_takes_the_same_path(served: Served) -> None:
    served.double.answer(Say("Polled answer."))
    asst, thread = await _thread(served)
    run = await served.client.runs.create_and_poll(thread, assistant_id=asst)
    assert run.status == "completed"
    assert run.usage is not None
    assert run.usage.total_tokens == 18
    messages = [m async for m in served.client.messages.list(thread, order="desc", limit=1)]
    assert _text(messages[0]) == "Polled answer."
    assert len(served.double.received) == 1


async def test_the_run_options_are_passed_on(served: Served) -> None:
    asst, thread = await _thread(served, tools=[WEATHER])
    await served.client.messages.create(thread, role="assistant", content="Which city?")
    await served.client.messages.create(thread, role="user", content="Paris.")
    schema = {"name": "w", "schema": {"type": "object"}}
    run = await served.client.runs.create_and_poll(
        thread,
        assistant_id=asst,
        instructions="Answer in French.",
        additional_instructions="Use metric units.",
        additional_messages=[{"role": "user", "content": "And tomorrow?"}],
        temperature=0.2,
        top_p=0.9,
        response_format={"type": "json_schema", "json_schema": schema},
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        parallel_tool_calls=False,
        max_completion_tokens=300,
        truncation_strategy={"type": "last_messages", "last_messages": 2},
        reasoning_effort="low",
    )
    assert run.status == "completed"
    (sent,) = served.double.received
    assert sent["messages"] == [
        {"role": "system", "content": "Answer in French.\nUse metric units."},
        {"role": "user", "content": "Paris."},
        {"role": "user", "content": "And tomorrow?"},
    ]
    assert sent["temperature"] == 0.2
    assert sent["top_p"] == 0.9
    assert sent["response_format"] == {"type": "json_schema", "json_schema": schema}
    assert sent["tools"] == [WEATHER]
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert sent["parallel_tool_calls"] is False
    assert sent["max_completion_tokens"] == 300
    assert sent["reasoning_effort"] == "low"


async def test_the_assistants_reasoning_effort_is_kept_and_passed_on(served_on: Served) -> None:
    served = served_on
    asst, thread = await _thread(served, reasoning_effort="high")
    # Not a field of the spec's assistant object, nor of our model: shown as sent.
    found = await served.client.assistants.retrieve(asst)
    assert found.to_dict()["reasoning_effort"] == "high"
    listed = [a.to_dict() async for a in served.client.assistants.list()]
    assert [a.get("reasoning_effort") for a in listed] == ["high"]
    run = await served.client.runs.create_and_poll(thread, assistant_id=asst)
    assert run.status == "completed"
    # A run's own value wins.
    run = await served.client.runs.create_and_poll(
        thread, assistant_id=asst, reasoning_effort="low"
    )
    assert run.status == "completed"
    updated = await served.client.assistants.update(asst, reasoning_effort="minimal")
    assert updated.to_dict()["reasoning_effort"] == "minimal"
    run = await served.client.runs.create_and_poll(thread, assistant_id=asst)
    await served.client.assistants.update(asst, reasoning_effort=None)
    run = await served.client.runs.create_and_poll(thread, assistant_id=asst)
    assert run.status == "completed"
    sent = [body.get("reasoning_effort") for body in served.double.received]
    assert sent == ["high", "low", "minimal", None]


async def test_image_url_parts_go_as_parts(served: Served) -> None:
    asst = await served.client.assistants.create(model="gpt-4o")
    content = [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "https://example.test/a.png", "detail": "low"}},
    ]
    thread = await served.client.threads.create(messages=[{"role": "user", "content": content}])
    run = await served.client.runs.create_and_poll(thread.id, assistant_id=asst.id)
    assert run.status == "completed"
    (sent,) = served.double.received
    assert sent["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {
                    "type": "image_url",
                    "image_url": {"url": "https://example.test/a.png", "detail": "low"},
                },
            ],
        }
    ]


async def test_auto_truncation_fits_the_prompt_in_max_prompt_tokens(served: Served) -> None:
    asst = await served.client.assistants.create(model="gpt-4o", instructions="Be brief.")
    # About 154 tokens each, by the server's estimate (four characters a token).
    texts = [letter * 600 for letter in "abc"]
    thread = await served.client.threads.create(
        messages=[{"role": "user", "content": text} for text in texts]
    )
    run = await served.client.runs.create_and_poll(
        thread.id, assistant_id=asst.id, max_prompt_tokens=400
    )
    assert run.status == "completed"
    (sent,) = served.double.received
    assert [m["content"] for m in sent["messages"]] == ["Be brief.", texts[1], texts[2]]


async def test_a_prompt_that_cannot_fit_ends_the_run_incomplete(served: Served) -> None:
    asst, thread = await _thread(served)
    await served.client.messages.create(thread, role="user", content="z" * 2000)
    run = await served.client.runs.create_and_poll(thread, assistant_id=asst, max_prompt_tokens=256)
    assert run.status == "incomplete"
    assert run.incomplete_details is not None
    assert run.incomplete_details.reason == "max_prompt_tokens"
    assert served.double.received == []  # nothing was asked of the model


@pytest.mark.parametrize(
    ("tools", "content", "named"),
    [
        ([{"type": "code_interpreter"}], "hi", "code_interpreter"),
        ([{"type": "file_search"}], "hi", "file_search"),
        ([], [{"type": "image_file", "image_file": {"file_id": "file-1"}}], "image_file"),
    ],
)
async def test_what_cannot_be_served_is_refused_at_creation(
    served: Served, tools: list[Any], content: Any, named: str
) -> None:
    asst = await served.client.assistants.create(model="gpt-4o", tools=tools)
    thread = await served.client.threads.create(messages=[{"role": "user", "content": content}])
    with pytest.raises(BadRequestError) as caught:
        await served.client.runs.create(thread.id, assistant_id=asst.id)
    assert named in caught.value.message
    assert served.double.received == []
    runs = [r async for r in served.client.runs.list(thread.id)]
    assert runs == []  # refused before it took an id


@pytest.mark.parametrize("served", [{"drop_unsupported": True}], indirect=True)
async def test_the_operator_may_drop_what_cannot_be_served_and_it_is_logged_once(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="assistants_async.server")
    asst = await served.client.assistants.create(
        model="gpt-4o", tools=[{"type": "code_interpreter"}, WEATHER]
    )
    content = [
        {"type": "text", "text": "Look:"},
        {"type": "image_file", "image_file": {"file_id": "file-1"}},
    ]
    thread = await served.client.threads.create(messages=[{"role": "user", "content": content}])
    for _ in range(2):
        run = await served.client.runs.create_and_poll(thread.id, assistant_id=asst.id)
        assert run.status == "completed"
    sent = served.double.received[0]
    assert sent["tools"] == [WEATHER]
    assert sent["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Look:"}]}]
    dropped = [r.getMessage() for r in caplog.records if "left out" in r.getMessage()]
    assert len(dropped) == 2  # once each, though two runs left them out
    assert any("code_interpreter" in line for line in dropped)
    assert any("image_file" in line for line in dropped)


@pytest.mark.parametrize(
    ("tools", "content", "named"),
    [
        ([{"type": "code_interpreter"}], "hi", "code_interpreter"),
        ([], [{"type": "image_file", "image_file": {"file_id": "file-1"}}], "image_file"),
    ],
)
async def test_a_refused_thread_and_run_writes_no_thread(
    served_on: Served, tools: list[Any], content: Any, named: str
) -> None:
    served = served_on
    asst = await served.client.assistants.create(model="gpt-4o")
    for _ in range(2):  # the retry of a refused request is refused again, as the first
        with pytest.raises(BadRequestError) as caught:
            await served.client.threads.create_and_run(
                assistant_id=asst.id,
                tools=tools,
                thread={"messages": [{"role": "user", "content": content}]},
                extra_headers={"Idempotency-Key": f"refused-{named}"},
            )
        assert named in caught.value.message
    assert await count_threads(served.server.store) == 0
    assert served.double.received == []


async def test_attachments_are_refused_at_creation(served: Served) -> None:
    asst = await served.client.assistants.create(model="gpt-4o")
    attached = [{"file_id": "file-1", "tools": [{"type": "file_search"}]}]
    thread = await served.client.threads.create(
        messages=[{"role": "user", "content": "Read this.", "attachments": attached}]
    )
    with pytest.raises(BadRequestError) as caught:
        await served.client.runs.create(thread.id, assistant_id=asst.id)
    assert "attachments" in caught.value.message
    assert caught.value.param == "attachments"
    assert served.double.received == []


# --- tool calls -----------------------------------------------------------------------


async def test_text_then_tool_calls_then_the_outputs_go_back(served: Served) -> None:
    served.double.answer(
        Say(
            "Let me check.",
            calls=[("get_weather", '{"city": "Paris"}'), ("get_time", '{"tz": "CET"}')],
            usage=(30, 12),
        ),
        Say("Sunny, 10:00.", usage=(50, 5)),
    )
    asst, thread = await _thread(served, tools=[WEATHER, TIME])
    async with served.client.runs.stream(thread, assistant_id=asst) as stream:
        events: list[Any] = [event async for event in stream]
        run = await stream.final_run()
    names = _names(events)
    # The message said before the calls is kept, and the run still waits on the tools.
    assert names.index("thread.message.completed") < names.index("thread.run.step.delta")
    assert run.status == "requires_action"
    assert run.required_action is not None
    calls = run.required_action.submit_tool_outputs.tool_calls
    assert [(c.function.name, c.function.arguments) for c in calls] == [
        ("get_weather", '{"city": "Paris"}'),
        ("get_time", '{"tz": "CET"}'),
    ]
    step_deltas = [e for e in events if e.event == "thread.run.step.delta"]
    assert len(step_deltas) > 4  # the arguments stream in pieces
    tool_step = next(
        e for e in events if e.event == "thread.run.step.created" and e.data.type == "tool_calls"
    )
    snapshot: Any = stream.step_snapshot(tool_step.data.id)
    assert [c.function.arguments for c in snapshot.step_details.tool_calls] == [
        '{"city": "Paris"}',
        '{"tz": "CET"}',
    ]
    said = [e for e in events if e.event == "thread.message.completed"]
    assert _text(said[0].data) == "Let me check."

    outputs = [
        {"tool_call_id": calls[0].id, "output": "sunny"},
        {"tool_call_id": calls[1].id, "output": "10:00"},
    ]
    async with served.client.runs.submit_tool_outputs_stream(
        thread, run.id, tool_outputs=outputs
    ) as stream:
        text = "".join([piece async for piece in stream.text_deltas()])
        run = await stream.final_run()
    assert text == "Sunny, 10:00."
    assert run.status == "completed"
    assert run.usage is not None
    assert (run.usage.prompt_tokens, run.usage.completion_tokens) == (80, 17)

    second = served.double.received[1]
    assert second["messages"][2:] == [
        {
            "role": "assistant",
            "content": "Let me check.",
            "tool_calls": [
                {
                    "id": calls[0].id,
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                },
                {
                    "id": calls[1].id,
                    "type": "function",
                    "function": {"name": "get_time", "arguments": '{"tz": "CET"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": calls[0].id, "content": "sunny"},
        {"role": "tool", "tool_call_id": calls[1].id, "content": "10:00"},
    ]
    steps: list[Any] = [s async for s in served.client.steps.list(thread, run.id, order="asc")]
    assert [s.type for s in steps] == ["message_creation", "tool_calls", "message_creation"]
    assert all(s.status == "completed" for s in steps)
    assert sum(s.usage.total_tokens for s in steps if s.usage) == run.usage.total_tokens
    assert steps[1].step_details.tool_calls[0].function.output == "sunny"


async def test_what_a_turn_said_after_its_calls_goes_back_with_them(served: Served) -> None:
    served.double.answer(
        Say("Let me check.", calls=[("get_weather", '{"city": "Paris"}')], after=" One moment."),
        Say(calls=[("get_time", "{}")]),  # nothing said: no content
        Say(calls=[("get_weather", '{"city": "Oslo"}')], after="And Oslo."),
        Say("Sunny in both."),
    )
    asst, thread = await _thread(served, tools=[WEATHER, TIME])
    run = await served.client.runs.create_and_poll(thread, assistant_id=asst)
    calls: list[Any] = []
    while run.status == "requires_action":
        assert run.required_action is not None
        (call,) = run.required_action.submit_tool_outputs.tool_calls
        calls.append(call)
        run = await served.client.runs.submit_tool_outputs_and_poll(
            thread, run.id, tool_outputs=[{"tool_call_id": call.id, "output": f"out {len(calls)}"}]
        )
    assert run.status == "completed"
    # The text after a call is a message of its own, as the engine makes it.
    said = [_text(m) async for m in served.client.messages.list(thread, order="asc", run_id=run.id)]
    assert said == ["Let me check.", " One moment.", "And Oslo.", "Sunny in both."]

    def called(call: Any) -> dict[str, Any]:
        function = {"name": call.function.name, "arguments": call.function.arguments}
        return {"id": call.id, "type": "function", "function": function}

    # Each turn goes back as the model said it: all its text (one content, in the order
    # said: a chat message cannot put text after its calls), its calls, their outputs.
    last = served.double.received[-1]
    assert last["messages"][2:] == [
        {
            "role": "assistant",
            "content": "Let me check. One moment.",
            "tool_calls": [called(calls[0])],
        },
        {"role": "tool", "tool_call_id": calls[0].id, "content": "out 1"},
        {"role": "assistant", "content": None, "tool_calls": [called(calls[1])]},
        {"role": "tool", "tool_call_id": calls[1].id, "content": "out 2"},
        {"role": "assistant", "content": "And Oslo.", "tool_calls": [called(calls[2])]},
        {"role": "tool", "tool_call_id": calls[2].id, "content": "out 3"},
    ]


async def test_a_run_that_waited_since_before_the_turns_messages_were_kept_answers(
    served: Served,
) -> None:
    """A run waiting on outputs when the server was upgraded holds its turn's first
    message only ("said": an id, not a list): that message goes back, as it did."""
    served.double.answer(
        Say("Let me check.", calls=[("get_weather", '{"city": "Paris"}')], after=" Wait."),
        Say("Sunny."),
    )
    asst, thread = await _thread(served, tools=[WEATHER])
    run = await served.client.runs.create_and_poll(thread, assistant_id=asst)
    assert run.required_action is not None
    (call,) = run.required_action.submit_tool_outputs.tool_calls
    tenant = tenant_of_key(KEY)
    record = await served.server.engine.load(tenant, thread, run.id)
    first, _ = record.state["said"]

    def as_before(current: RunRecord) -> RunRecord:
        return RunRecord(current.obj, {**current.state, "said": first}, current.version)

    await served.server.engine.update(tenant, record, as_before)
    run = await served.client.runs.submit_tool_outputs_and_poll(
        thread, run.id, tool_outputs=[{"tool_call_id": call.id, "output": "sunny"}]
    )
    assert run.status == "completed"
    assert served.double.received[-1]["messages"][2]["content"] == "Let me check."


async def test_tool_calls_without_text_need_no_message(served: Served) -> None:
    served.double.answer(Say(calls=[("get_weather", '{"city": "Oslo"}')]))
    asst, thread = await _thread(served, tools=[WEATHER])
    run = await served.client.runs.create_and_poll(thread, assistant_id=asst)
    assert run.status == "requires_action"
    messages = [m async for m in served.client.messages.list(thread, run_id=run.id)]
    assert messages == []
    assert served.double.received[0]["tools"] == [WEATHER]


# --- failures become run states -------------------------------------------------------


async def test_429_is_retried_then_fails_rate_limit_exceeded(served: Served) -> None:
    served.double.answer(rate_limited(), rate_limited(), rate_limited())
    asst, thread = await _thread(served)
    run = await served.client.runs.create_and_poll(thread, assistant_id=asst)
    assert run.status == "failed"
    assert run.last_error is not None
    assert run.last_error.code == "rate_limit_exceeded"
    assert len(served.double.received) == 3  # the first call, and the client's 2 retries


async def test_a_429_retried_in_time_answers(served: Served) -> None:
    served.double.answer(rate_limited(), Refuse(503, "busy", {"retry-after-ms": "0"}))
    asst, thread = await _thread(served)
    run = await served.client.runs.create_and_poll(thread, assistant_id=asst)
    assert run.status == "completed"
    assert len(served.double.received) == 3


async def test_the_upstream_key_is_never_logged(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="assistants_async")
    served.double.answer(rate_limited(), bad_request(f"no such key {UPSTREAM_KEY[:3]}"))
    asst, thread = await _thread(served)
    run = await served.client.runs.create_and_poll(thread, assistant_id=asst)
    assert run.status == "failed"
    assert "retrying POST /chat/completions" in caplog.text  # it did log, at DEBUG too
    assert UPSTREAM_KEY not in caplog.text


@pytest.mark.parametrize("served", [{"max_retries": 0}], indirect=True)
async def test_5xx_fails_server_error_and_the_details_go_to_the_log(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="assistants_async.server")
    served.double.answer(server_error())
    asst, thread = await _thread(served)
    run = await served.client.runs.create_and_poll(thread, assistant_id=asst)
    assert run.status == "failed"
    assert run.last_error is not None
    assert run.last_error.code == "server_error"
    # The tenant reads what happened; the model server's own words are the operator's.
    assert run.last_error.message == "The model server failed (HTTP 500)."
    assert f"run {run.id}: the model call failed" in caplog.text
    assert "upstream broke" in caplog.text


async def test_a_refused_upstream_key_fails_server_error(served: Served) -> None:
    served.double.answer(Refuse(401, {"error": {"message": "Incorrect API key provided"}}))
    asst, thread = await _thread(served)
    run = await served.client.runs.create_and_poll(thread, assistant_id=asst)
    assert run.status == "failed"
    assert run.last_error is not None
    assert run.last_error.code == "server_error"  # the operator's key, not the prompt
    assert run.last_error.message == "The model server refused this server's API key."
    assert len(served.double.received) == 1  # a 401 is not retried


@pytest.mark.parametrize("served", [{"timeout": 0.3, "max_retries": 0}], indirect=True)
async def test_a_model_server_that_never_answers_times_out_server_error(served: Served) -> None:
    served.double.answer(Hang())
    asst, thread = await _thread(served)
    run = await served.client.runs.create_and_poll(thread, assistant_id=asst)
    assert run.status == "failed"
    assert run.last_error is not None
    assert run.last_error.message == "The model server did not answer in time."
    await served.double.left.wait()


@pytest.mark.parametrize("served", [{"max_retries": 0}], indirect=True)
async def test_an_unreachable_model_server_fails_server_error_without_its_address(
    served: Served,
) -> None:
    await served.double.stop()  # nothing listens there now
    asst, thread = await _thread(served)
    run = await served.client.runs.create_and_poll(thread, assistant_id=asst)
    assert run.status == "failed"
    assert run.last_error is not None
    assert run.last_error.code == "server_error"
    assert run.last_error.message == "The model server could not be reached."


async def test_400_fails_invalid_prompt_with_the_upstream_message(served: Served) -> None:
    served.double.answer(bad_request("This model's maximum context length is 8192 tokens."))
    asst, thread = await _thread(served)
    run = await served.client.runs.create_and_poll(thread, assistant_id=asst)
    assert run.status == "failed"
    assert run.last_error is not None
    assert run.last_error.code == "invalid_prompt"
    assert run.last_error.message == "This model's maximum context length is 8192 tokens."
    assert len(served.double.received) == 1  # a 400 is not retried


async def test_a_cut_stream_fails_server_error_and_keeps_what_was_said(served: Served) -> None:
    served.double.answer(Say("A long answer that never ends", cut_after=4))
    asst, thread = await _thread(served)
    events = await _events(served, thread, assistant_id=asst)
    run = events[-1].data
    assert events[-1].event == "thread.run.failed"
    assert run.last_error.code == "server_error"
    messages = [m async for m in served.client.messages.list(thread, run_id=run.id)]
    assert [m.status for m in messages] == ["incomplete"]
    assert _text(messages[0]) == "A long an"  # the role chunk and 3 pieces came first
    steps = [s async for s in served.client.steps.list(thread, run.id)]
    assert [s.status for s in steps] == ["failed"]


@pytest.mark.parametrize("served", [{"timeout": 0.3, "max_retries": 0}], indirect=True)
async def test_a_stalled_stream_times_out_server_error(served: Served) -> None:
    served.double.answer(Say("Thinking", stall_after=2))
    asst, thread = await _thread(served)
    run = await served.client.runs.create_and_poll(thread, assistant_id=asst)
    assert run.status == "failed"
    assert run.last_error is not None
    assert run.last_error.code == "server_error"
    assert run.last_error.message == "The model server stopped answering mid-stream."
    await served.double.left.wait()  # the upstream connection was dropped


async def test_a_length_finish_ends_the_run_incomplete(served: Served) -> None:
    served.double.answer(Say("Cut short", finish="length"))
    asst, thread = await _thread(served)
    run = await served.client.runs.create_and_poll(
        thread, assistant_id=asst, max_completion_tokens=256
    )
    assert run.status == "incomplete"
    assert run.incomplete_details is not None
    assert run.incomplete_details.reason == "max_completion_tokens"
    messages = [m async for m in served.client.messages.list(thread, run_id=run.id)]
    assert messages[0].status == "incomplete"
    assert _text(messages[0]) == "Cut short"


async def test_cancel_aborts_the_upstream_request(served: Served) -> None:
    served.double.answer(Say("Thinking very slowly", stall_after=3))
    asst, thread = await _thread(served)
    names: list[str] = []
    async with served.client.runs.stream(thread, assistant_id=asst) as stream:
        async for event in stream:
            names.append(event.event)
            data: Any = event.data
            if event.event == "thread.run.created":
                run_id = data.id
            if event.event.endswith("delta") and names.count(event.event) == 2:
                await served.client.runs.cancel(thread, run_id)  # all the double sends came
    await served.double.left.wait()  # the upstream request was dropped, not read out
    assert names[-2:] == ["thread.run.cancelled", "done"]
    run = await served.client.runs.retrieve(thread, run_id)
    assert run.status == "cancelled"
    steps = [s async for s in served.client.steps.list(thread, run.id)]
    assert [s.status for s in steps] == ["cancelled"]
    messages = [m async for m in served.client.messages.list(thread, run_id=run.id)]
    assert [(m.status, _text(m)) for m in messages] == [("incomplete", "Thinki")]
    assert messages[0].incomplete_details is not None
    assert messages[0].incomplete_details.reason == "run_cancelled"


class _Watched(asyncio.Semaphore):
    """A semaphore that tells when someone has to wait for it."""

    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.waiting = asyncio.Event()

    async def acquire(self) -> Literal[True]:
        if self.locked():
            self.waiting.set()
        return await super().acquire()


@pytest.mark.parametrize("served", [{"max_concurrent": 1}], indirect=True)
async def test_runs_wait_queued_for_an_upstream_slot(served: Served) -> None:
    served.responder.slots = watched = _Watched(1)
    served.double.answer(Say("Slow", stall_after=2), Say("Second."))
    asst, first = await _thread(served)
    _, second = await _thread(served)
    run_a = await served.client.runs.create(first, assistant_id=asst)
    await served.double.arrived.wait()
    run_b = await served.client.runs.create(second, assistant_id=asst)
    await watched.waiting.wait()
    run_b = await served.client.runs.retrieve(second, run_b.id)
    assert run_b.status == "queued"
    assert len(served.double.received) == 1
    await served.client.runs.cancel(first, run_a.id)
    run_b = await served.client.runs.poll(second, run_b.id)
    assert run_b.status == "completed"
    assert len(served.double.received) == 2


@pytest.mark.parametrize("served", [{"max_concurrent": 1}], indirect=True)
async def test_a_run_cancelled_while_it_waits_for_a_slot_ends_at_once(served: Served) -> None:
    served.responder.slots = watched = _Watched(1)
    served.double.answer(Say("Slow", stall_after=2))
    asst, first = await _thread(served)
    _, second = await _thread(served)
    run_a = await served.client.runs.create(first, assistant_id=asst)
    await served.double.arrived.wait()
    run_b = await served.client.runs.create(second, assistant_id=asst)
    await watched.waiting.wait()
    await served.client.runs.cancel(second, run_b.id)
    # Cancelled while the first run still holds the only slot.
    run_b = await served.client.runs.poll(second, run_b.id)
    assert run_b.status == "cancelled"
    assert (await served.client.runs.retrieve(first, run_a.id)).status == "in_progress"
    assert len(served.double.received) == 1
    await served.client.runs.cancel(first, run_a.id)
    assert (await served.client.runs.poll(first, run_a.id)).status == "cancelled"
    assert served.server.engine._waiting == {}


# --- configuration --------------------------------------------------------------------


def test_the_api_key_comes_from_a_file_or_the_environment(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("sk-from-file\n", encoding="utf-8")
    assert read_api_key(key_file, {}) == "sk-from-file"
    assert read_api_key(None, {"ASSISTANTS_MODEL_API_KEY": "sk-env"}) == "sk-env"
    assert read_api_key(None, {}) is None
    (tmp_path / "empty").write_text("\n", encoding="utf-8")
    with pytest.raises(ValueError, match="empty"):
        read_api_key(tmp_path / "empty", {})
    settings = ChatSettings("http://127.0.0.1:1/v1", api_key="sk-secret")
    assert "sk-secret" not in repr(settings)


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"base_url": "127.0.0.1:8080"}, "base_url"),
        ({"timeout": 0}, "timeout"),
        ({"max_concurrent": 0}, "max_concurrent"),
        ({"max_retries": -1}, "max_retries"),
    ],
)
def test_bad_settings_are_refused_naming_them(options: dict[str, Any], named: str) -> None:
    given: dict[str, Any] = {"base_url": "http://127.0.0.1:1/v1", **options}
    with pytest.raises(ValueError, match=named):
        ChatSettings(**given)


# --- the command ----------------------------------------------------------------------


async def test_the_command_serves_runs_from_the_model(
    double: ChatDouble, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.server.test_serve import served as command

    monkeypatch.setenv("ASSISTANTS_MODEL_API_KEY", UPSTREAM_KEY)
    double.answer(Say("From the model.", calls=[("get_weather", '{"city": "Rome"}')]))
    double.answer(Say("Warm in Rome."))
    options = ("--model-base-url", double.url, "--model-map", "gpt-4o=tiny-model")
    async with command(tmp_path / "data.sqlite3", *options) as server:
        async with server.client() as client:
            asst = await client.assistants.create(model="gpt-4o", tools=[WEATHER])
            thread = await client.threads.create(messages=[{"role": "user", "content": "Rome?"}])
            run = await client.runs.create_and_run_tools(
                thread.id, assistant_id=asst.id, functions={"get_weather": lambda city: "warm"}
            )
            assert run.status == "completed"
            with pytest.raises(BadRequestError) as refused:
                await client.runs.create(
                    thread.id, assistant_id=asst.id, tools=[{"type": "file_search"}]
                )
            assert "file_search" in refused.value.message
        assert await server.stop() == 0
    assert [body["model"] for body in double.received] == ["tiny-model", "tiny-model"]
    assert double.received[1]["messages"][-1] == {
        "role": "tool",
        "tool_call_id": run_tool_call_id(double),
        "content": "warm",
    }
    assert all(h["Authorization"] == f"Bearer {UPSTREAM_KEY}" for h in double.headers)
    assert UPSTREAM_KEY not in "\n".join(server.lines)


def run_tool_call_id(double: ChatDouble) -> str:
    """The id the server gave the call, as it sent it back with its output."""
    call_id: str = double.received[1]["messages"][-2]["tool_calls"][0]["id"]
    return call_id


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--model-base-url", "localhost:1/v1"], "--model-base-url"),
        (["--model-base-url", "http://127.0.0.1:1/v1", "--model-map", "gpt-4o"], "--model-map"),
        (
            ["--model-base-url", "http://127.0.0.1:1/v1", "--model-max-concurrent", "0"],
            "--model-max-concurrent",
        ),
        (["--model-base-url", "http://127.0.0.1:1/v1", "--script", "x.json"], "--script"),
    ],
)
def test_the_command_refuses_bad_model_options(
    argv: list[str], named: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from assistants_async.server.__main__ import main

    monkeypatch.setenv("ASSISTANTS_SERVER_KEYS", KEY)
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    # The error line itself (the usage above it names every option).
    (error,) = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert named in error


async def test_stopping_the_server_mid_turn_drops_the_upstream_call(double: ChatDouble) -> None:
    double.answer(Say("Never finished", stall_after=2))
    responder = ChatResponder(ChatSettings(double.url, timeout=60.0))
    server = AssistantsServer(MemoryStore(), Keys([KEY]), responder=responder)
    url = await server.start(grace=0.05)  # the turn cannot end in time: it is stopped
    try:
        async with AsyncClient(api_key=KEY, base_url=url, max_retries=0) as client:
            asst = await client.assistants.create(model="gpt-4o")
            thread = await client.threads.create(messages=[{"role": "user", "content": "Hi"}])
            await client.runs.create(thread.id, assistant_id=asst.id)
            await double.arrived.wait()
    finally:
        await server.stop()
        await responder.aclose()
    await double.left.wait()
    assert server.engine._readers == {}
    assert server.engine._timers == {}


@pytest.mark.parametrize("served", [{"max_concurrent": 8}], indirect=True)
async def test_many_concurrent_tool_calling_runs_lose_nothing(served: Served) -> None:
    # A run's first call asks for the tool; its second (the output in its prompt) answers.
    def answer(body: dict[str, Any]) -> Say:
        if body["messages"][-1]["role"] == "tool":
            return Say("done")
        return Say(calls=[("get_weather", '{"city": "any"}')])

    served.double.default = answer
    asst = await served.client.assistants.create(model="gpt-4o", tools=[WEATHER])

    async def one(index: int) -> tuple[str, str]:
        thread = await served.client.threads.create(
            messages=[{"role": "user", "content": f"city {index}"}]
        )
        run = await served.client.runs.create_and_run_tools(
            thread.id,
            assistant_id=asst.id,
            functions={"get_weather": lambda city: f"output {index}"},
            max_turns=1,
        )
        return thread.id, run.status

    results = await asyncio.gather(*[one(i) for i in range(100)])
    assert [status for _, status in results] == ["completed"] * 100
    # Every run's own output went back to the model in that run's prompt, once.
    seconds = [b["messages"] for b in served.double.received if b["messages"][-1]["role"] == "tool"]
    assert len(seconds) == 100
    assert {m[0]["content"]: m[-1]["content"] for m in seconds} == {
        f"city {i}": f"output {i}" for i in range(100)
    }


def test_the_model_options_make_the_settings(tmp_path: Path) -> None:
    from assistants_async.server.__main__ import build_parser
    from assistants_async.server._chat import model_settings

    parser = build_parser()
    assert model_settings(parser.parse_args([])) is None  # no model: the script or echo
    key_file = tmp_path / "key"
    key_file.write_text("sk-file\n", encoding="utf-8")
    argv = ["--model-base-url", "http://127.0.0.1:9/v1", "--model-api-key-file", str(key_file)]
    argv += ["--model-map", "gpt-4o=llama", "--model-map", " mini = phi ", "--model-timeout", "5"]
    argv += ["--model-max-concurrent", "3", "--model-max-retries", "0"]
    settings = model_settings(parser.parse_args(argv))
    assert settings == ChatSettings(
        "http://127.0.0.1:9/v1",
        api_key="sk-file",
        models={"gpt-4o": "llama", "mini": "phi"},
        timeout=5.0,
        max_concurrent=3,
        max_retries=0,
    )


@pytest.mark.parametrize(
    "data",
    [
        {"id": "msg_1", "delta": {"content": [{"index": 0, "text": {"value": "héllo ✓ 🌍"}}]}},
        {"status": "in_progress", "usage": None, "metadata": {}},  # a null: the stdlib writes
        {"temperature": 0.7, "n": 2**70, "nested": [[{"a": True}], []]},  # beyond 64 bits
        {"temperature": float("nan")},  # what json.dumps always wrote, kept as it was
    ],
)
def test_an_event_says_what_the_stdlib_would_say(data: dict[str, Any]) -> None:
    from assistants_async.server._http import _sse

    event = _sse("thread.message.delta", data)
    name, _, rest = event.decode().partition("\ndata: ")
    assert name == "event: thread.message.delta"
    assert rest.endswith("\n\n")
    assert "\n" not in rest[:-2]
    said = json.loads(rest)
    expected = json.loads(json.dumps(data))
    assert json.dumps(said, sort_keys=True) == json.dumps(expected, sort_keys=True)


@settings(max_examples=200, deadline=None)
@example("msg_1", "a lone \ud800 surrogate")
@example('msg_"quoted"', 'caf\u00e9 \u2603 \n\t\\ "')
@given(st.text(), st.text(min_size=1))
def test_a_text_delta_event_is_written_as_any_event_is(message_id: str, text: str) -> None:
    """The delta's template writes the bytes the general encoder writes for the same
    object (quotes, control characters, lone surrogates and all), and what a reader
    decodes from them is that object."""
    from assistants_async._sse import parse_sse
    from assistants_async.server._http import TextDeltaEvent, _sse

    event = TextDeltaEvent(message_id, text)
    plain = dict(event)
    assert event.sse == _sse("thread.message.delta", plain)
    (sse,) = parse_sse(event.sse.decode("utf-8", "surrogatepass"))
    assert sse.event == "thread.message.delta"
    assert json.loads(sse.data) == plain
