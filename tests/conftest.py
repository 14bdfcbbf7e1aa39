"""Shared fixtures: the spec, and a scriptable loopback HTTP server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from multidict import CIMultiDict

from assistants_async.server import Store

from .server.postgres import Cluster
from .stores import STORES, migrated_database, open_store

# A copy kept in the repo (see tests/spec/README.md), so a clone tests on its own.
SPEC_PATH = Path(__file__).resolve().parent / "spec" / "assistants-openapi.yaml"


PROXY_VARIABLES = tuple(
    name
    for base in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
    for name in (base, base.lower())
)


@pytest.fixture(autouse=True)
def _no_proxy_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clients honour proxy variables by default: tests talk to loopback directly."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def spec() -> dict[str, Any]:
    """The OpenAPI spec the client and the fake server are held to."""
    import yaml

    loaded: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return migrated_database(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """PostgreSQL for this session: installed if missing, never skipped (a test that
    needs it fails, saying why, when it cannot start)."""
    cluster = Cluster()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def postgres_url(postgres_cluster: Cluster) -> Iterator[str]:
    """The URL of a new empty database, dropped after the test."""
    name = postgres_cluster.create_database()
    try:
        yield postgres_cluster.url(name)
    finally:
        postgres_cluster.drop_database(name)


@pytest.fixture(params=STORES)
async def any_store(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> AsyncIterator[Store]:
    """Each store in turn (``[memory]``; ``[sqlite]``: a new file; ``[postgres]``: a new
    database), open, for a fake or a server."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    async with open_store(request.param, tmp_path, sqlite_template, url) as store:
        yield store


@attrs.define
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: CIMultiDict[str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Handler = Callable[[web.Request], Any]


@attrs.define
class ScriptedServer:
    """Answers each request with the next scripted reply, recording what it received.

    A reply is a ``web.Response`` or a callable taking the request; when the script runs
    out, the last reply repeats.
    """

    server: TestServer
    replies: list[web.StreamResponse | Handler] = attrs.field(factory=list)
    seen: list[Seen] = attrs.field(factory=list)

    @property
    def url(self) -> str:
        return str(self.server.make_url("/v1"))

    def reply(self, *replies: web.StreamResponse | Handler) -> None:
        self.replies.extend(replies)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(
            Seen(
                method=request.method,
                path=request.path,
                query=list(request.query.items()),
                headers=CIMultiDict(request.headers),
                body=await request.read(),
            )
        )
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, web.StreamResponse):
            # A Response object can be sent once; hand out a copy each time.
            if isinstance(reply, web.Response):
                return web.Response(status=reply.status, body=reply.body, headers=reply.headers)
            return reply
        result = reply(request)
        if hasattr(result, "__await__"):
            result = await result
        assert isinstance(result, web.StreamResponse)
        return result


def json_reply(
    status: int = 200, body: Any = None, *, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(body if body is not None else {}).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


@pytest.fixture
async def server() -> AsyncIterator[ScriptedServer]:
    app = web.Application()
    holder: list[ScriptedServer] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        return await holder[0].handle(request)

    app.router.add_route("*", "/{tail:.*}", handle)
    test_server = TestServer(app, host="127.0.0.1")
    await test_server.start_server()
    scripted = ScriptedServer(server=test_server)
    holder.append(scripted)
    try:
        yield scripted
    finally:
        await test_server.close()


# --- no silent gaps: a skipped test fails the run ----------------------------------------
# Every test must run on every supported interpreter; a skip would hide missing work.

_SKIPPED: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        _SKIPPED.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _SKIPPED and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _SKIPPED:
        terminalreporter.write_line(
            f"FAILED: {len(_SKIPPED)} test(s) skipped; no skip is expected: " + ", ".join(_SKIPPED),
            red=True,
        )
