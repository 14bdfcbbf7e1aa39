"""Idempotency keys decided by the store: two ``Idempotency`` over one store stand for
two server processes on one database (test_serve.py runs real processes on
PostgreSQL). On every store: one request per key runs, the other waits for its answer
(bounded: then a 409 the client retries), a claim held by a request in flight is
renewed for as long as it runs, and one whose holder stopped renewing it lapses."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from hypothesis import given
from hypothesis import strategies as st

from assistants_async._sse import SSEDecoder
from assistants_async.server._http import TextDeltaEvent, Transcript, text_delta_head
from assistants_async.server._idempotency import Idempotency
from assistants_async.server._store import Claim, Store
from assistants_async.testing import FakeClock

from .test_store import make_store

A = "key:alice"


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    made = make_store(request, tmp_path)
    await made.open()
    try:
        yield made
    finally:
        await made.close()


class Counting:
    """The store, counting renewals: the event a test waits for."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.renewals = 0
        self.renewed = asyncio.Condition()

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)

    async def renew_claims(self, owners: Sequence[str], *, lease: float) -> set[str]:
        held = await self.store.renew_claims(owners, lease=lease)
        async with self.renewed:
            self.renewals += 1
            self.renewed.notify_all()
        return held


def post() -> web.Request:
    return make_mocked_request("POST", "/v1/threads", headers={"Idempotency-Key": "k"})


class Handler:
    """A request's work: counted, and held until ``go`` is set."""

    def __init__(self) -> None:
        self.calls = 0
        self.started = asyncio.Event()
        self.go = asyncio.Event()

    async def __call__(self) -> web.StreamResponse:
        self.calls += 1
        self.started.set()
        await self.go.wait()
        return web.json_response({"n": self.calls})


async def answer(
    idem: Idempotency, handler: Handler, raw: bytes = b"{}"
) -> tuple[int, bytes, str | None]:
    response = await idem.answer(post(), A, "k", raw, handler)
    assert isinstance(response, web.Response)
    body = response.body
    assert isinstance(body, bytes)
    return response.status, body, response.headers.get("idempotent-replayed")


def processes(store: Store, **options: float) -> tuple[Idempotency, Idempotency]:
    clock = FakeClock()
    return Idempotency(store, clock, **options), Idempotency(store, clock, **options)


async def test_two_processes_given_one_key_run_it_once(store: Store) -> None:
    one, two = processes(store)
    first, second = Handler(), Handler()
    running = asyncio.create_task(answer(one, first))
    await first.started.wait()
    waiting = asyncio.create_task(answer(two, second))
    first.go.set()
    second.go.set()
    got = await asyncio.gather(running, waiting)
    assert (first.calls, second.calls) == (1, 0)
    assert got[0][:2] == got[1][:2] == (200, b'{"n": 1}')
    assert (got[0][2], got[1][2]) == (None, "true")
    assert one.held == two.held == 0
    await one.close()
    await two.close()


async def test_a_request_that_failed_lets_the_waiting_one_run(store: Store) -> None:
    one, two = processes(store)

    async def refused() -> web.StreamResponse:
        return web.json_response({"error": {}}, status=400)

    assert (await one.answer(post(), A, "k", b"{}", refused)).status == 400
    handler = Handler()
    handler.go.set()
    assert await answer(two, handler) == (200, b'{"n": 1}', None)


async def test_past_its_wait_a_request_is_told_to_retry_with_a_409(store: Store) -> None:
    for one, two in (
        processes(store, wait=0.05),
        (Idempotency(store, FakeClock(), wait=0.05),) * 2,
    ):
        holder = Handler()
        running = asyncio.create_task(answer(one, holder))
        await holder.started.wait()
        response = await two.answer(post(), A, "k", b"{}", Handler())
        assert response.status == 409
        assert response.headers["Retry-After"] == "1"
        assert isinstance(response, web.Response)
        assert isinstance(response.body, bytes)
        assert json.loads(response.body)["error"]["code"] == "idempotency_key_in_use"
        holder.go.set()
        assert (await running)[0] == 200
        await store.clear()
        await one.close()


async def test_a_claim_is_renewed_while_its_request_runs(store: Store) -> None:
    counting = Counting(store)
    # Renewed every third of it: a loaded machine's pause of a third of a second (seen
    # in CI with a lease of 0.1 s) does not let the claim lapse.
    lease = 0.5
    one = Idempotency(counting, FakeClock(), lease=lease)  # type: ignore[arg-type]
    two = Idempotency(store, FakeClock(), lease=lease)
    holder, other = Handler(), Handler()
    running = asyncio.create_task(answer(one, holder))
    await holder.started.wait()
    waiting = asyncio.create_task(answer(two, other))
    # Renewed over more than a lease: a claim not renewed would have lapsed.
    async with counting.renewed:
        await counting.renewed.wait_for(lambda: counting.renewals >= 4)
    assert not waiting.done()
    assert other.calls == 0
    holder.go.set()
    other.go.set()
    assert (await waiting)[2] == "true"
    assert (await running)[0] == 200
    await one.close()
    # Nothing held: renewing stops.
    assert one.held == 0


async def test_a_claim_nobody_renews_lapses_and_the_key_is_taken(store: Store) -> None:
    # A process claimed the key and died.
    dead = Claim("dead-1", "its request", 1e12)
    assert await store.claim_reply(A, "k", dead, now=0.0, lease=0.1) is None
    idem = Idempotency(store, FakeClock())
    handler = Handler()
    handler.go.set()
    assert await answer(idem, handler) == (200, b'{"n": 1}', None)


def test_bad_settings_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="lease"):
        Idempotency(Counting(None), FakeClock(), lease=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="wait"):
        Idempotency(Counting(None), FakeClock(), wait=-1)  # type: ignore[arg-type]


async def test_with_no_wait_a_free_key_still_runs(store: Store) -> None:
    idem = Idempotency(store, FakeClock(), wait=0)
    handler = Handler()
    handler.go.set()
    assert await answer(idem, handler) == (200, b'{"n": 1}', None)


_PIECES = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(["msg_a", "msg_b"]), st.text(max_size=4)),
        st.sampled_from([b"event: thread.run.step.delta\ndata: {}\n\n"]),
    ),
    max_size=40,
)


class _JoinsOften(Transcript):
    _JOIN_AT = 2  # as a long answer's thousands of pieces are joined, here every two


@given(_PIECES, st.sampled_from([Transcript, _JoinsOften]))
def test_a_transcript_tells_what_the_stream_told_its_deltas_merged(
    told: list[tuple[str, str] | bytes], kind: type[Transcript]
) -> None:
    """Read back, a transcript says what the stream said, event for event, but for
    each unbroken run of one message's text deltas, told as one delta of their text."""
    transcript = kind()
    expected: list[tuple[str | None, Any]] = []
    for item in told:
        if isinstance(item, bytes):
            transcript.event(item)
            expected.append(("thread.run.step.delta", {}))
            continue
        message_id, text = item
        transcript.text(text_delta_head(message_id), text)
        last = expected[-1][1] if expected else {}
        if last.get("id") == message_id:
            last["delta"]["content"][0]["text"]["value"] += text
        else:  # the delta the server tells of one piece, as plain JSON
            expected.append(
                ("thread.message.delta", json.loads(json.dumps(TextDeltaEvent(message_id, text))))
            )
    read = [(e.event, json.loads(e.data)) for e in SSEDecoder().feed(transcript.bytes().decode())]
    assert read == expected
