"""Compatible servers and gateways: proxies, prefixed and queried base URLs, default
query parameters, other auth schemes, caller-owned sessions and with_options copies.

Everything goes over real loopback sockets: a small forward/CONNECT proxy that counts
what passes through it, and the fake server (over TLS where HTTPS_PROXY is tested).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from assistants_async import AsyncClient
from assistants_async.sync import Client
from assistants_async.testing import FakeAssistantsServer

from .conftest import ScriptedServer, json_reply
from .payloads import ASSISTANT, page
from .proxy import CountingProxy, counting_proxy


@pytest.fixture
async def proxy() -> AsyncIterator[CountingProxy]:
    async with counting_proxy() as counting:
        yield counting


@pytest.fixture
async def fake() -> AsyncIterator[FakeAssistantsServer]:
    async with FakeAssistantsServer() as server:
        yield server


# --- proxies -------------------------------------------------------------------------


async def test_a_proxy_given_by_argument_carries_every_call(
    proxy: CountingProxy, fake: FakeAssistantsServer
) -> None:
    assert fake.url is not None
    proxied = proxy.url.replace("http://", "http://user:p%40ss@")
    async with AsyncClient(api_key="sk-1", base_url=fake.url, proxy=proxied) as client:
        asst = await client.assistants.create(model="gpt-4o")
        await client.assistants.retrieve(asst.id)
        assert "p@ss" not in repr(client)
        assert "p%40ss" not in repr(client)
    assert proxy.request_lines[0] == f"POST {fake.url}/assistants HTTP/1.1"
    # The credentials in the URL become a Proxy-Authorization header for the proxy.
    assert "Proxy-Authorization: Basic dXNlcjpwQHNz\r\n" in proxy.heads[0]  # user:p@ss
    assert [r.operation for r in fake.requests] == ["createAssistant", "getAssistant"]
    assert "Proxy-Authorization" not in fake.requests[0].headers


async def test_a_with_options_copy_keeps_the_proxys_credentials(
    proxy: CountingProxy, fake: FakeAssistantsServer
) -> None:
    proxied = proxy.url.replace("http://", "http://user:p%40ss@")
    async with AsyncClient(api_key="sk-1", base_url=fake.url, proxy=proxied) as client:
        copy = client.with_options(max_retries=0)
        await copy.assistants.create(model="gpt-4o")
    assert "Proxy-Authorization: Basic dXNlcjpwQHNz\r\n" in proxy.heads[0]  # user:p@ss


async def test_http_proxy_from_the_environment_unless_trust_env_is_off(
    proxy: CountingProxy, fake: FakeAssistantsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    async with AsyncClient(api_key="sk-1", base_url=fake.url, trust_env=False) as client:
        await client.assistants.create(model="gpt-4o")
    assert proxy.heads == []
    async with AsyncClient(api_key="sk-1", base_url=fake.url) as client:  # the default
        await client.assistants.create(model="gpt-4o")
    assert len(proxy.heads) == 1
    assert len(fake.requests) == 2


async def test_no_proxy_is_respected(
    proxy: CountingProxy, fake: FakeAssistantsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    async with AsyncClient(api_key="sk-1", base_url=fake.url) as client:
        await client.assistants.create(model="gpt-4o")
    assert proxy.heads == []
    assert len(fake.requests) == 1


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            shutil.which("openssl") or "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@contextlib.asynccontextmanager
async def tls_fake(cert: Path, key: Path) -> AsyncIterator[tuple[FakeAssistantsServer, str]]:
    server = FakeAssistantsServer()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    runner = web.AppRunner(server.app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    try:
        yield server, f"https://127.0.0.1:{runner.addresses[0][1]}/v1"
    finally:
        await runner.cleanup()


async def test_https_proxy_from_the_environment_tunnels_tls(
    proxy: CountingProxy, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = certificate
    async with tls_fake(cert, key) as (server, url):
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        # A caller's session with its own TLS settings: trusts our certificate.
        trusting = ssl.create_default_context(cafile=str(cert))
        async with (
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=trusting)) as own,
            AsyncClient(api_key="sk-secret-1", base_url=url, session=own) as client,
        ):
            await client.assistants.create(model="gpt-4o")
            await client.threads.create()
    port = url.split(":")[2].split("/")[0]
    assert proxy.request_lines == [f"CONNECT 127.0.0.1:{port} HTTP/1.1"]
    # The proxy sees where the tunnel goes, never the API key inside it.
    assert "sk-secret-1" not in proxy.heads[0]
    assert [r.operation for r in server.requests] == ["createAssistant", "createThread"]


def test_a_bad_proxy_is_refused_without_showing_its_password() -> None:
    with pytest.raises(ValueError, match="proxy must be an http") as caught:
        AsyncClient(api_key="sk-1", proxy="socks5://u:hunter2@127.0.0.1:1080")
    assert "hunter2" not in str(caught.value)
    with pytest.raises(TypeError, match="proxy"):
        AsyncClient(api_key="sk-1", proxy=1080)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="trust_env"):
        AsyncClient(api_key="sk-1", trust_env="yes")  # type: ignore[arg-type]


# --- base URL, default query, auth ------------------------------------------------------


async def test_a_prefixed_and_queried_base_url_keeps_both(server: ScriptedServer) -> None:
    server.reply(json_reply(body=ASSISTANT), json_reply(body=page(ASSISTANT)))
    base = str(server.server.make_url("/gw/openai/deployments/d1")) + "?api-version=2024-05-01"
    async with AsyncClient(api_key="sk-1", base_url=base) as client:
        await client.assistants.retrieve("asst_1")
        await client.assistants.list(limit=5)
    assert [(s.path, s.query) for s in server.seen] == [
        ("/gw/openai/deployments/d1/assistants/asst_1", [("api-version", "2024-05-01")]),
        ("/gw/openai/deployments/d1/assistants", [("api-version", "2024-05-01"), ("limit", "5")]),
    ]


async def test_default_query_is_merged_with_extra_query(server: ScriptedServer) -> None:
    server.reply(json_reply(body=ASSISTANT))
    async with AsyncClient(
        api_key="sk-1",
        base_url=server.url,
        default_query={"api-version": "2024-05-01", "tenant": "a"},
    ) as client:
        await client.assistants.retrieve("asst_1")
        await client.assistants.retrieve("asst_1", extra_query={"trace": "1", "tenant": "b"})
    assert server.seen[0].query == [("api-version", "2024-05-01"), ("tenant", "a")]
    # A call's own value replaces the default of the same name.
    assert server.seen[1].query == [("api-version", "2024-05-01"), ("trace", "1"), ("tenant", "b")]


def test_default_query_is_checked() -> None:
    with pytest.raises(TypeError, match="default_query"):
        AsyncClient(api_key="sk-1", default_query=[("a", "b")])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"default_query\['n'\]"):
        AsyncClient(api_key="sk-1", default_query={"n": 1})  # type: ignore[dict-item]


KEY_HEADERS = ("authorization", "api-key")


async def test_api_key_auth_sends_only_the_api_key_header(server: ScriptedServer) -> None:
    server.reply(json_reply(body=ASSISTANT))
    async with AsyncClient(api_key="sk-gw", base_url=server.url, auth="api-key") as client:
        await client.assistants.retrieve("asst_1")
        await client.assistants.create(model="m", extra_headers={"X-Trace": "1"})
    for seen in server.seen:
        assert {k.lower(): v for k, v in seen.headers.items() if k.lower() in KEY_HEADERS} == {
            "api-key": "sk-gw"
        }
        assert seen.headers["OpenAI-Beta"] == "assistants=v2"


async def test_no_auth_sends_no_key_and_needs_none(
    server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env-not-for-this-server")
    server.reply(json_reply(body=ASSISTANT))
    async with AsyncClient(base_url=server.url, auth="none") as client:
        await client.assistants.retrieve("asst_1")
    assert not [k for k in server.seen[0].headers if k.lower() in KEY_HEADERS]
    assert "sk-from-env" not in str(server.seen[0].headers)


def test_auth_choices_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ValueError, match=r"api_key=.*OPENAI_API_KEY.*auth='none'"):
        AsyncClient()  # the default still needs a key
    with pytest.raises(ValueError, match="api_key"):
        AsyncClient(auth="api-key")
    with pytest.raises(ValueError, match="auth='none' sends no key"):
        AsyncClient(api_key="sk-1", auth="none")
    with pytest.raises(ValueError, match="auth must be"):
        AsyncClient(api_key="sk-1", auth="basic")  # type: ignore[arg-type]


async def test_the_fake_server_checks_the_scheme_it_was_given() -> None:
    async with FakeAssistantsServer(auth="api-key", api_key="sk-gw") as fake:
        assert fake.url is not None
        async with fake.client() as client:
            assert (await client.assistants.create(model="m")).model == "m"
        async with AsyncClient(api_key="sk-gw", base_url=fake.url) as bearer:
            with pytest.raises(Exception, match="api-key header"):
                await bearer.assistants.create(model="m")
        assert fake.requests[0].headers["api-key"] == "***"
    async with FakeAssistantsServer(auth="none") as open_server, open_server.client() as client:
        assert (await client.assistants.create(model="m")).model == "m"


# --- caller-owned sessions and copies -----------------------------------------------------


async def test_a_callers_session_is_used_and_left_open(fake: FakeAssistantsServer) -> None:
    started: list[str] = []

    async def on_start(_: Any, __: Any, params: aiohttp.TraceRequestStartParams) -> None:
        started.append(params.method)

    tracing = aiohttp.TraceConfig()
    tracing.on_request_start.append(on_start)
    async with aiohttp.ClientSession(trace_configs=[tracing]) as own:
        client = AsyncClient(api_key="sk-1", base_url=fake.url, session=own)
        await client.assistants.create(model="m")
        assert fake.requests[0].headers["Authorization"] == "Bearer ***"
        await client.close()
        assert client.is_closed
        assert not own.closed
        with pytest.raises(RuntimeError, match="closed"):
            await client.assistants.list()
        # The caller's session goes on working for its owner.
        async with own.get(f"{fake.url}/assistants") as response:
            assert response.status == 401  # our headers were per request, not on it
    assert started == ["POST", "GET"]


def test_a_session_must_be_an_aiohttp_session() -> None:
    with pytest.raises(TypeError, match=r"session must be an aiohttp\.ClientSession"):
        AsyncClient(api_key="sk-1", session=object())  # type: ignore[arg-type]


@contextlib.contextmanager
def peers(app: web.Application) -> Iterator[list[Any]]:
    seen: list[Any] = []

    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        assert request.transport is not None
        seen.append(request.transport.get_extra_info("peername"))
        response: web.StreamResponse = await handler(request)
        return response

    app.middlewares.append(record)
    yield seen


async def test_with_options_shares_one_pool() -> None:
    fake = FakeAssistantsServer()
    with peers(fake.app) as seen:
        async with fake:
            assert fake.url is not None
            original = AsyncClient(api_key="sk-1", base_url=fake.url, max_connections=1)
            copy = original.with_options(
                timeout=30, max_retries=0, default_headers={"X-Tenant": "t2"}
            )
            assert (copy.max_retries, copy.timeout.total) == (0, 30)
            asst = await original.assistants.create(model="m")
            # Concurrent calls from both clients through one connection.
            await asyncio.gather(
                *(c.assistants.retrieve(asst.id) for c in (original, copy) for _ in range(5))
            )
            await copy.close()  # closes only the copy
            await original.assistants.retrieve(asst.id)
            with pytest.raises(RuntimeError, match="closed"):
                await copy.assistants.retrieve(asst.id)
            tenants = [r.headers.get("X-Tenant") for r in fake.requests]
            assert tenants.count("t2") == 5
            assert tenants.count(None) == 7
            copy2 = original.with_options(default_query={"v": "2"})
            await copy2.assistants.retrieve(asst.id)
            assert fake.requests[-1].query == [("v", "2")]
            await original.close()  # ends the pool for every copy
            with pytest.raises(RuntimeError, match="closed"):
                await copy2.assistants.retrieve(asst.id)
    assert len(seen) == 13
    assert len(set(seen)) == 1  # one connection served both clients


async def test_the_blocking_client_takes_the_same_settings(
    proxy: CountingProxy, fake: FakeAssistantsServer
) -> None:
    url = fake.url

    def blocking() -> None:
        with Client(
            api_key="sk-1", base_url=url, proxy=proxy.url, default_query={"v": "1"}
        ) as client:
            copy = client.with_options(default_headers={"X-Copy": "1"})
            asst = copy.assistants.create(model="m")
            client.assistants.retrieve(asst.id)
            copy.close()
            client.assistants.retrieve(asst.id)

    await asyncio.to_thread(blocking)
    assert len(fake.requests) == 3
    assert [r.query for r in fake.requests] == [[("v", "1")]] * 3
    assert [r.headers.get("X-Copy") for r in fake.requests] == ["1", None, None]
    assert proxy.heads


async def test_the_fake_servers_client_is_not_carried_off_by_a_proxy_variable(
    proxy: CountingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    async with FakeAssistantsServer() as server, server.client() as client:
        await client.assistants.create(model="m")
    assert proxy.heads == []
    assert len(server.requests) == 1
