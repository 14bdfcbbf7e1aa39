"""The blocking shim: same surface as AsyncClient, one portal, safe from many threads."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from typing_extensions import assert_type

from assistants_async import APIConnectionError, AsyncClient, NotFoundError
from assistants_async.models import Assistant, Page, Run
from assistants_async.sync import Client, SyncPaginator
from assistants_async.testing import FakeAssistantsServer, ToolCall, call_tools_then_answer

from .scenarios import SCENARIOS, Scenario, run_scenario


@pytest.fixture
async def server() -> AsyncIterator[FakeAssistantsServer]:
    responder = call_tools_then_answer(
        [ToolCall("get_weather", {"city": "Paris"})], "Answer: {outputs}"
    )
    async with FakeAssistantsServer(responder=responder) as fake:
        yield fake


def portal_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "assistants-async-portal"]


# --- one source, both clients ---------------------------------------------------------------


@pytest.mark.parametrize("flavour", ["async", "sync"])
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
async def test_end_to_end_scenarios_with_both_clients(
    server: FakeAssistantsServer, flavour: str, scenario: Callable[[Any], Scenario]
) -> None:
    await run_scenario(flavour, server, scenario)


# --- the surface (tests/test_surface.py compares every member) --------------------------


def test_the_clients_expose_the_same_resources() -> None:
    names = {"assistants", "threads", "messages", "runs", "steps"}
    assert names <= set(dir(AsyncClient))
    assert names <= set(dir(Client))


def test_sync_types_are_precise() -> None:
    # Checked by mypy --strict (assert_type is a no-op at run time); no call is made.
    client = Client(api_key="sk-test", base_url="http://127.0.0.1:1/v1")
    try:
        if False:  # pragma: no cover
            assert_type(client.assistants.retrieve("a"), Assistant)
            assert_type(client.runs.cancel("t", "r"), Run)
            assert_type(client.assistants.list(), SyncPaginator[Assistant])
            assert_type(client.assistants.list().first_page(), Page[Assistant])
            assert_type(client.with_raw_response(client.runs.retrieve, "t", "r").parsed, Run)
    finally:
        client.close()


# --- threads, the portal, the loop ----------------------------------------------------------


async def test_sixteen_threads_share_one_client_and_leave_no_portal_thread(
    server: FakeAssistantsServer,
) -> None:
    assert server.url is not None
    url = server.url
    before = len(portal_threads())

    def hammer() -> tuple[int, int]:
        client = Client(api_key="sk-fake", base_url=url, max_connections=8)
        assert len(portal_threads()) == before + 1
        asst = client.assistants.create(model="gpt-4o")

        def worker(i: int) -> int:
            done = 0
            for j in range(50):
                got = client.assistants.retrieve(asst.id) if j % 2 else client.threads.create()
                assert got.id
                done += 1
            return done

        with ThreadPoolExecutor(16) as pool:
            total = sum(pool.map(worker, range(16)))
        client.close()
        client.close()  # twice is fine
        return total, len(portal_threads())

    total, after = await asyncio.to_thread(hammer)
    assert total == 16 * 50
    assert after == before
    # 1 create + 800 calls, every one answered once
    assert len(server.requests) == 801


async def test_a_call_inside_a_running_loop_is_a_clear_error_not_a_deadlock() -> None:
    client = Client(api_key="sk-test", base_url="http://127.0.0.1:1/v1")
    try:
        with pytest.raises(RuntimeError, match=r"running event loop.*AsyncClient"):
            client.assistants.retrieve("asst_1")
        with pytest.raises(RuntimeError, match="AsyncClient"):
            list(client.assistants.list())
    finally:
        client.close()  # allowed here: it only winds the client's own thread down
    assert client.is_closed


async def test_with_client_inside_a_running_loop_leaves_no_thread() -> None:
    """A notebook cell's ``with Client()``: the call is refused, the thread still ends."""
    before = len(portal_threads())
    for _ in range(5):
        with (
            pytest.raises(RuntimeError, match="running event loop"),
            Client(api_key="sk-test", base_url="http://127.0.0.1:1/v1") as client,
        ):
            client.assistants.retrieve("asst_1")
        assert client.is_closed
    assert len(portal_threads()) == before


def test_bad_settings_start_no_thread() -> None:
    before = len(portal_threads())
    with pytest.raises(ValueError, match="max_retries"):
        Client(api_key="sk-test", max_retries=-1)
    assert len(portal_threads()) == before


def test_a_closed_client_refuses_calls() -> None:
    client = Client(api_key="sk-test", base_url="http://127.0.0.1:1/v1")
    client.close()
    with pytest.raises(RuntimeError, match="closed"):
        client.assistants.retrieve("asst_1")


def test_bad_input_fails_in_the_callers_thread_before_sending() -> None:
    with Client(api_key="sk-test", base_url="http://127.0.0.1:1/v1") as client:
        with pytest.raises(ValueError, match="assistant_id"):
            client.assistants.retrieve("a/b")
        with pytest.raises(ValueError, match="limit"):
            client.messages.list("thread_1", limit=0)
        with pytest.raises(TypeError, match="colour"):
            client.assistants.create(model="m", colour="red")  # type: ignore[call-arg]


def test_with_raw_response_takes_only_this_clients_methods() -> None:
    with (
        Client(api_key="sk-test", base_url="http://127.0.0.1:1/v1") as client,
        pytest.raises(TypeError, match="method of this client"),
    ):
        client.with_raw_response(print, "x")


async def test_leaving_a_loop_early_closes_the_walk(server: FakeAssistantsServer) -> None:
    assert server.url is not None
    url = server.url

    def walk() -> int:
        with Client(api_key="sk-fake", base_url=url) as client:
            for _ in range(30):
                client.assistants.create(model="m")
            seen = 0
            for _ in client.assistants.list(limit=10):
                seen += 1
                if seen == 12:
                    break
            # the client still works afterwards
            assert len(client.assistants.list(limit=3).first_page().data) == 3
            with pytest.raises(NotFoundError):
                client.assistants.retrieve("asst_missing")
            return seen

    assert await asyncio.to_thread(walk) == 12
    lists = [r for r in server.requests if r.operation == "listAssistants"]
    assert len(lists) == 3  # two pages for the loop, one for first_page()


def test_an_unclosed_client_does_not_hold_the_interpreter_at_exit() -> None:
    code = (
        "from assistants_async.sync import Client\n"
        "from assistants_async import APIConnectionError\n"
        "c = Client(api_key='sk-x', base_url='http://127.0.0.1:1/v1', max_retries=0)\n"
        "try:\n"
        "    c.assistants.retrieve('asst_1')\n"
        "except APIConnectionError:\n"
        "    print('refused, as expected')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "refused, as expected" in done.stdout


async def test_closing_while_other_threads_wait_ends_their_calls_at_once() -> None:
    # One caller is mid-request, one is sleeping between polls: close() ends both.
    async with FakeAssistantsServer(progress="per_retrieve", poll_after_ms=None) as fake:
        assert fake.url is not None
        url = fake.url
        # Short, since stopping the server waits for its handler.
        fake.faults.delay("getAssistant", seconds=2)
        before = len(portal_threads())

        def race() -> list[BaseException]:
            client = Client(api_key="sk-fake", base_url=url, max_retries=0)
            asst = client.assistants.create(model="m")
            thread = client.threads.create()
            run = client.runs.create(thread.id, assistant_id=asst.id)
            caught: list[BaseException] = []

            def call(func: Callable[[], object]) -> None:
                try:
                    func()
                except BaseException as exc:  # what the waiting caller sees
                    caught.append(exc)

            waiters = [
                threading.Thread(target=call, args=(lambda: client.assistants.retrieve(asst.id),)),
                threading.Thread(
                    target=call, args=(lambda: client.runs.poll(thread.id, run.id, interval=30),)
                ),
            ]
            for waiter in waiters:
                waiter.start()
            operations = ("getAssistant", "getRun")
            while {r.operation for r in fake.requests} & set(operations) != set(operations):
                threading.Event().wait(0.01)
            closer = threading.Thread(target=client.close)
            closer.start()
            for thread_ in (closer, *waiters):
                thread_.join(10)  # far less than the 30 s poll interval
                assert not thread_.is_alive()
            return caught

        errors = await asyncio.to_thread(race)
        assert len(errors) == 2
        # Never a bare CancelledError: ours, saying why.
        for error in errors:
            assert isinstance(error, APIConnectionError | RuntimeError), repr(error)
        assert any(isinstance(e, RuntimeError) and "closed" in str(e) for e in errors)
        assert len(portal_threads()) == before
