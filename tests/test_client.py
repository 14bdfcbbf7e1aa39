"""Client configuration: environment, validation before any I/O, lifecycle, secrets."""

from __future__ import annotations

import asyncio
import gc
import threading
import warnings

import pytest
from aioresponses import aioresponses

from assistants_async import AsyncClient, Timeout
from assistants_async.models import Assistant

from .payloads import ASSISTANT

KEY = "sk-env-secret-9876543210"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID"):
        monkeypatch.delenv(name, raising=False)


def test_a_missing_key_names_the_argument_and_the_variable() -> None:
    with pytest.raises(ValueError, match=r"api_key=.*OPENAI_API_KEY"):
        AsyncClient()


def test_an_empty_key_counts_as_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "")
    with pytest.raises(ValueError, match="OPENAI_API_KEY"):
        AsyncClient()


def test_configuration_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9999/v1/")
    monkeypatch.setenv("OPENAI_ORG_ID", "org_env")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj_env")
    client = AsyncClient()
    assert client.base_url == "http://127.0.0.1:9999/v1"
    assert (client.organization, client.project) == ("org_env", "proj_env")


def test_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9999/v1")
    monkeypatch.setenv("OPENAI_ORG_ID", "org_env")
    client = AsyncClient(api_key=KEY, base_url="http://127.0.0.1:1234", organization="org_arg")
    assert client.base_url == "http://127.0.0.1:1234"
    assert client.organization == "org_arg"


def test_the_default_base_url_and_timeouts() -> None:
    client = AsyncClient(api_key=KEY)
    assert client.base_url == "https://api.openai.com/v1"
    assert client.timeout == Timeout(total=600.0, connect=5.0)
    assert client.max_retries == 2


@pytest.mark.parametrize(
    ("kwargs", "error", "names"),
    [
        ({"base_url": "ftp://example.invalid"}, ValueError, "base_url"),
        ({"base_url": "not a url"}, ValueError, "base_url"),
        ({"max_retries": -1}, ValueError, "max_retries"),
        ({"max_retries": 1.5}, ValueError, "max_retries"),
        ({"max_retries": True}, ValueError, "max_retries"),
        ({"timeout": 0}, ValueError, "timeout"),
        ({"timeout": -3}, ValueError, "timeout"),
        ({"timeout": float("inf")}, ValueError, "timeout"),
        ({"timeout": "10"}, TypeError, "timeout"),
        ({"max_connections": 0}, ValueError, "max_connections"),
        ({"max_connections_per_host": 0}, ValueError, "max_connections_per_host"),
        ({"api_key": "sk-abc\r\nX-Evil: 1"}, ValueError, "api_key"),
        ({"api_key": 123}, TypeError, "api_key"),
        ({"organization": "org\n1"}, ValueError, "organization"),
        ({"default_headers": {"X-A": "b\nc"}}, ValueError, "default_headers"),
    ],
)
def test_bad_configuration_is_a_clear_error(
    kwargs: dict[str, object], error: type[Exception], names: str
) -> None:
    kwargs.setdefault("api_key", KEY)
    with pytest.raises(error, match=names) as info:
        AsyncClient(**kwargs)  # type: ignore[arg-type]
    assert "abc\r\n" not in str(info.value)


def test_timeout_fields_are_checked() -> None:
    with pytest.raises(ValueError, match=r"timeout\.total"):
        Timeout(total=-1)
    with pytest.raises(ValueError, match=r"timeout\.connect"):
        Timeout(connect=0)
    assert Timeout(total=None, connect=None).total is None


async def test_a_bad_per_call_timeout_is_refused_before_sending() -> None:
    with aioresponses() as mocked:
        async with AsyncClient(api_key=KEY, base_url="http://127.0.0.1:1/v1") as client:
            with pytest.raises(ValueError, match="timeout"):
                await client.request("GET", "/assistants", timeout=-1)
        assert mocked.requests == {}


def test_the_key_never_appears_in_repr() -> None:
    client = AsyncClient(api_key=KEY, organization="org_1")
    assert KEY not in repr(client)
    assert "org_1" in repr(client)


def test_construction_does_no_io_and_needs_no_loop() -> None:
    # Built outside any event loop: the session is created lazily on first use.
    client = AsyncClient(api_key=KEY)
    assert client._transport._session is None


async def test_request_shape_with_aioresponses() -> None:
    with aioresponses() as mocked:
        mocked.get("http://127.0.0.1:1/v1/assistants/asst_1", payload=ASSISTANT)
        async with AsyncClient(api_key=KEY, base_url="http://127.0.0.1:1/v1") as client:
            result = await client.request("GET", "/assistants/asst_1", cast_to=Assistant)
        assert result == Assistant.from_dict(ASSISTANT)
        assert mocked.requests is not None
        (((method, url), calls),) = mocked.requests.items()
        assert (method, str(url)) == ("GET", "http://127.0.0.1:1/v1/assistants/asst_1")
        headers = calls[0].kwargs["headers"]
        assert headers["Authorization"] == f"Bearer {KEY}"
        assert headers["OpenAI-Beta"] == "assistants=v2"


async def test_close_is_idempotent_and_the_client_refuses_use_after() -> None:
    with aioresponses() as mocked:
        mocked.get("http://127.0.0.1:1/v1/assistants/asst_1", payload=ASSISTANT)
        client = AsyncClient(api_key=KEY, base_url="http://127.0.0.1:1/v1")
        await client.request("GET", "/assistants/asst_1")
        session = client._transport._session
        await client.close()
        await client.close()
        assert client.is_closed
        assert session is not None
        assert session.closed
        with pytest.raises(RuntimeError, match="closed"):
            await client.request("GET", "/assistants/asst_1")


async def test_closing_an_unused_client_is_fine() -> None:
    client = AsyncClient(api_key=KEY)
    await client.close()
    assert client.is_closed


def test_using_one_client_from_a_second_loop_is_a_clear_error() -> None:
    client = AsyncClient(api_key=KEY, base_url="http://127.0.0.1:1/v1")

    async def first() -> None:
        with aioresponses() as mocked:
            mocked.get("http://127.0.0.1:1/v1/assistants/asst_1", payload=ASSISTANT)
            await client.request("GET", "/assistants/asst_1")

    async def second() -> None:
        with pytest.raises(RuntimeError, match="another event loop"):
            await client.request("GET", "/assistants/asst_1")

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(first())
        other = asyncio.new_event_loop()
        try:
            other.run_until_complete(second())
        finally:
            other.close()
        loop.run_until_complete(client.close())
    finally:
        loop.close()


def test_an_unused_client_is_dropped_silently() -> None:
    # Closing from __del__ runs after the loop is gone ("Event loop is closed"); a
    # client that never opened a connection has nothing to close or warn about.
    before = threading.active_count()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client = AsyncClient(api_key=KEY)
        del client
        gc.collect()
    assert threading.active_count() == before


def test_the_constructors_show_every_keyword_to_inspect_and_get_type_hints() -> None:
    import inspect
    import typing

    from assistants_async.sync import Client

    for cls in (AsyncClient, Client):
        parameters = inspect.signature(cls).parameters
        assert "api_key" in parameters
        assert "strict" in parameters
        assert parameters["max_retries"].default == 2
        hints = typing.get_type_hints(cls.__init__)
        assert set(parameters) <= set(hints)
    assert "session" in inspect.signature(AsyncClient).parameters
    assert "session" not in inspect.signature(Client).parameters
    with pytest.raises(TypeError, match="colour"):
        AsyncClient(api_key="sk-1", colour="red")  # type: ignore[call-arg]
