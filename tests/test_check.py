"""``python -m assistants_async check``: what it says of a faithful server, of servers with
one planted deviation each, and of the deviant server the tolerant-reading tests use.

A planted deviation must be reported by the check made to catch it and by no other: a
check that needs an operation found unusable earlier is skipped, naming that check.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import attrs
import jsonschema
import pytest
from aiohttp import web

from assistants_async._check import (
    CHECKS,
    SCHEMA_PATH,
    Report,
    _progress_printer,
    run_checks,
    selected,
)
from assistants_async._check._runs import INCLUDE
from assistants_async.testing import FakeAssistantsServer

from .cli import cli_server
from .deviant import DeviantServer
from .reliability.servers import serve
from .test_readme import TEXT as README_TEXT
from .test_readme import run_script

ALL_IDS = [check.id for check in CHECKS]
EVERY = 10_000  # times a fault recurs: every request of the run
RUN_IDS = {check.id for check in CHECKS if check.runs}


def url_of(server: FakeAssistantsServer) -> str:
    assert server.url is not None
    return server.url


def verdicts(report: Report) -> dict[str, str]:
    return {result.id: result.verdict for result in report.results}


def not_passing(report: Report) -> dict[str, str]:
    return {r.id: r.verdict for r in report.results if r.verdict != "pass"}


def validate(report: Report) -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(json.loads(json.dumps(report.to_json())))


# --- a faithful server ----------------------------------------------------------------


async def test_every_check_passes_against_the_fake_server(spec: dict[str, Any]) -> None:
    async with FakeAssistantsServer() as server:
        before = (len(server.store.objects("assistant")), len(server.store.objects("thread")))
        report = await run_checks(url_of(server), "sk-check")
        after = (len(server.store.objects("assistant")), len(server.store.objects("thread")))
        called = {r.operation for r in server.requests if r.status < 300}
        streamed = {
            r.operation
            for r in server.requests
            if isinstance(r.body, dict) and r.body.get("stream")
        }
        sent = [r.query for r in server.requests]
    operations = {op["operationId"] for path in spec["paths"].values() for op in path.values()}
    assert len(operations) == 23
    assert called == operations  # every operation, answered successfully
    assert streamed == {"createRun", "createThreadAndRun", "submitToolOuputsToRun"}
    assert any(("include[]", INCLUDE[0]) in query for query in sent)
    assert verdicts(report) == dict.fromkeys(ALL_IDS, "pass"), report.table(200)
    assert len(ALL_IDS) == 35
    assert report.exit_status == 0
    # Everything made was deleted again.
    assert after == before
    assert report.cleanup["left"] == []
    assert report.cleanup["deleted"]
    validate(report)


async def test_it_never_touches_what_it_did_not_make_and_keeps_on_request() -> None:
    async with FakeAssistantsServer() as server:
        async with server.client(api_key="sk-check") as client:
            theirs = await client.assistants.create(model="gpt-4o", name="theirs")
            thread = await client.threads.create(messages=[{"role": "user", "content": "mine"}])
            report = await run_checks(url_of(server), "sk-check", keep=True, only=["assistants"])
            assert (await client.assistants.retrieve(theirs.id)) == theirs
            assert (await client.threads.retrieve(thread.id)) == thread
            kept = report.cleanup["kept"]
            assert isinstance(kept, dict)
            assert len(kept["assistant"]) == 2  # the third was deleted by its check
            for made in kept["assistant"]:
                await client.assistants.retrieve(made)
            # Without --keep, what it made goes, and nothing else.
            await run_checks(url_of(server), "sk-check", only=["assistants"])
            left = {a.id async for a in client.assistants.list()}
        requests = [(r.method, r.path) for r in server.requests]
    assert left == {theirs.id, *kept["assistant"]}
    touched = {path for method, path in requests if method != "GET"}
    assert not any(theirs.id in path or thread.id in path for path in touched)
    assert verdicts(report) == {i: "pass" for i in ALL_IDS if i.startswith("assistants.")}


async def test_no_runs_skips_what_needs_a_model_and_says_why() -> None:
    async with FakeAssistantsServer() as server:
        report = await run_checks(url_of(server), "sk-check", runs=False)
        runs_made = [r for r in server.requests if r.path.endswith("/runs")]
    skipped = {r.id: r.why for r in report.results if r.verdict == "skipped"}
    assert set(skipped) == RUN_IDS
    assert all("--no-runs" in why for why in skipped.values())
    assert not_passing(report) == dict.fromkeys(RUN_IDS, "skipped")
    assert report.exit_status == 0
    assert not runs_made
    validate(report)


# --- one planted deviation at a time ----------------------------------------------------


@attrs.frozen
class Plant:
    """What a proxy in front of the fake server changes: the query of a request, or the
    status and body of an answer."""

    request: Callable[[str, str, dict[str, str]], dict[str, str]] | None = None
    response: Callable[[str, str, int, bytes], tuple[int, bytes]] | None = None
    body: Callable[[str, str, bytes], bytes] | None = None


@contextlib.asynccontextmanager
async def planted(upstream: str, plant: Plant) -> AsyncIterator[str]:
    session = aiohttp.ClientSession(auto_decompress=False)

    async def handle(request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        if plant.request is not None:
            query = plant.request(request.method, request.path, query)
        headers = {
            k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")
        }
        sent = await request.read()
        if plant.body is not None:
            sent = plant.body(request.method, request.path, sent)
        async with session.request(
            request.method,
            upstream.rsplit("/v1", 1)[0] + request.path,
            params=query,
            data=sent or None,
            headers=headers,
        ) as answer:
            status, body = answer.status, await answer.read()
            kind = answer.headers.get("Content-Type", "application/json")
        if plant.response is not None:
            status, body = plant.response(request.method, request.path, status, body)
        return web.Response(status=status, body=body, headers={"Content-Type": kind})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    try:
        async with serve(app) as url:
            yield url
    finally:
        await session.close()


def on_json(
    method: str, pattern: str, change: Callable[[dict[str, Any]], Any]
) -> Callable[[str, str, int, bytes], tuple[int, bytes]]:
    """Change the JSON answers of one operation (``pattern`` matches the whole path)."""

    def response(m: str, path: str, status: int, body: bytes) -> tuple[int, bytes]:
        if m == method and re.fullmatch(pattern, path) and status == 200:
            data = json.loads(body)
            change(data)  # in place
            return status, json.dumps(data).encode()
        return status, body

    return response


def _deleted_answers_403() -> Plant:
    deleted: set[str] = set()

    def response(method: str, path: str, status: int, body: bytes) -> tuple[int, bytes]:
        found = re.fullmatch(r"/v1/assistants/([^/]+)", path)
        if found and method == "DELETE" and status == 200:
            deleted.add(found.group(1))
        elif found and found.group(1) in deleted:
            error = {
                "error": {"message": "Forbidden", "type": "forbidden", "param": None, "code": None}
            }
            return 403, json.dumps(error).encode()
        return status, body

    return Plant(response=response)


class _AfterSkips:
    """Cursors that compare ids while the list is sorted by time: the item just after the
    cursor goes missing from every ``after`` page."""

    def __init__(self) -> None:
        self.after = False

    def request(self, method: str, path: str, query: dict[str, str]) -> dict[str, str]:
        self.after = path.endswith("/messages") and "after" in query
        return query

    def response(self, method: str, path: str, status: int, body: bytes) -> tuple[int, bytes]:
        if self.after and status == 200:
            page = json.loads(body)
            page["data"] = page["data"][1:]
            if page["data"]:
                page["first_id"] = page["data"][0]["id"]
            return status, json.dumps(page).encode()
        return status, body


def _after_skips() -> Plant:
    skips = _AfterSkips()
    return Plant(request=skips.request, response=skips.response)


def _no_done(method: str, path: str, status: int, body: bytes) -> tuple[int, bytes]:
    if (
        method == "POST"
        and re.fullmatch(r"/v1/threads/[^/]+/runs", path)
        and b"event: done" in body
    ):
        return status, body.split(b"event: done", 1)[0]
    return status, body


# POST /threads/{thread_id} (modifyThread), not POST /threads/runs.
THREAD = r"/v1/threads/(?!runs$)[^/]+"


PLANTS: dict[str, tuple[Plant, str, str]] = {
    # A backward cursor that answers the newest page.
    "before answers the newest page": (
        Plant(request=lambda m, p, q: {k: v for k, v in q.items() if k != "before"}),
        "paging.before",
        "deviates",
    ),
    "after skips an item": (_after_skips(), "paging.after", "deviates"),
    "order=desc not descending": (
        Plant(request=lambda m, p, q: {**q, "order": "asc"} if p == "/v1/assistants" else q),
        "assistants.list",
        "deviates",
    ),
    "a deleted assistant answers 403": (_deleted_answers_403(), "assistants.delete", "deviates"),
    "threads.update answers without metadata": (
        Plant(response=on_json("POST", THREAD, lambda d: d.pop("metadata"))),
        "threads.update",
        "deviates",
    ),
    "tools: null": (
        Plant(response=on_json("POST", "/v1/assistants", lambda d: d.update(tools=None))),
        "assistants.create",
        "deviates",
    ),
    "no usage on completed runs": (
        Plant(
            response=on_json(
                "GET",
                r"/v1/threads/[^/]+/runs/[^/]+",
                lambda d: d.update(usage=None) if d["status"] == "completed" else None,
            )
        ),
        "runs.usage",
        "deviates",
    ),
    "no done after requires_action": (Plant(response=_no_done), "stream.create_run", "deviates"),
}


def _lenient_threads(method: str, path: str, body: bytes) -> bytes:
    """A server that takes 17 metadata keys: the 17th dropped on the way in."""
    if method == "POST" and path == "/v1/threads" and body:
        sent = json.loads(body)
        if len(sent.get("metadata") or {}) > 16:
            sent["metadata"] = dict(list(sent["metadata"].items())[:16])
            return json.dumps(sent).encode()
    return body


def _unknown_event(method: str, path: str, status: int, body: bytes) -> tuple[int, bytes]:
    streamed = body.startswith(b"event: ")
    if method == "POST" and re.fullmatch(r"/v1/threads/[^/]+/runs", path) and streamed:
        return status, b'event: thread.run.paused\ndata: {"id": "run_x"}\n\n' + body
    return status, body


PLANTS["an invalid body accepted"] = (
    Plant(body=_lenient_threads),
    "errors.invalid_body",
    "deviates",
)
PLANTS["an event the spec does not define"] = (
    Plant(response=_unknown_event),
    "stream.create_run",
    "deviates",
)


@pytest.mark.parametrize("name", sorted(PLANTS))
async def test_a_planted_deviation_is_reported_by_its_check_alone(name: str) -> None:
    plant, check_id, verdict = PLANTS[name]
    async with FakeAssistantsServer() as server, planted(url_of(server), plant) as url:
        report = await run_checks(url, "sk-check")
        left = (server.store.objects("assistant"), server.store.objects("thread"))
    assert not_passing(report) == {check_id: verdict}, report.table(200)
    assert left == ({}, {})  # whatever the server made, wrongly or not, was deleted
    validate(report)
    finding = report.results[ALL_IDS.index(check_id)].findings[0]
    assert finding.exchange is not None
    assert finding.exchange.status is not None


async def test_integers_sent_as_floats_are_no_deviation() -> None:
    """``1796499558.0`` is an integer in the spec's dialect: nothing to report."""

    def floats(method: str, path: str, status: int, body: bytes) -> tuple[int, bytes]:
        if status == 200 and body.startswith(b"{"):
            return status, re.sub(
                rb'("(?:created_at|expires_at|started_at|completed_at)": )(\d+)', rb"\1\2.0", body
            )
        return status, body

    async with (
        FakeAssistantsServer() as server,
        planted(url_of(server), Plant(response=floats)) as url,
    ):
        report = await run_checks(url, "sk-check")
    assert not_passing(report) == {}, report.table(200)


FAULTS: dict[str, tuple[Callable[[FakeAssistantsServer], None], str, set[str]]] = {
    "message delete not implemented (405)": (
        lambda s: s.faults.fail_next("deleteMessage", times=EVERY, status=405),
        "messages.delete",
        set(),
    ),
    "POST /threads/runs misrouted (404)": (
        lambda s: s.faults.fail_next("createThreadAndRun", times=EVERY, status=404),
        "threads.create_and_run",
        {"stream.create_thread_and_run"},
    ),
    "a run answers 500": (
        lambda s: s.faults.fail_next("createRun", times=EVERY, status=500),
        "runs.create",
        {
            "runs.retrieve",
            "runs.update",
            "runs.list",
            "runs.submit_tool_outputs",
            "runs.cancel",
            "steps.list",
            "steps.retrieve",
            "runs.one_active",
            "runs.usage",
            "stream.create_run",
            "stream.submit_tool_outputs",
        },
    ),
    "a streamed thread and run cut after its thread": (
        lambda s: s.faults.cut_stream("createThreadAndRun", after_events=1, times=EVERY),
        "stream.create_thread_and_run",
        set(),
    ),
    "a streamed submit cut short": (
        lambda s: s.faults.cut_stream("submitToolOuputsToRun", after_events=1, times=EVERY),
        "stream.submit_tool_outputs",
        set(),
    ),
}


@pytest.mark.parametrize("name", sorted(FAULTS))
async def test_an_unusable_operation_fails_its_check_and_the_run_goes_on(name: str) -> None:
    fault, check_id, skipped = FAULTS[name]
    async with FakeAssistantsServer() as server:
        fault(server)
        report = await run_checks(url_of(server), "sk-check")
        left = (server.store.objects("assistant"), server.store.objects("thread"))
    assert left == ({}, {})
    expected = {check_id: "fails", **dict.fromkeys(skipped, "skipped")}
    assert not_passing(report) == expected, report.table(200)
    assert [r.id for r in report.results] == ALL_IDS  # every check after it still ran
    for result in report.results:
        if result.verdict == "skipped":
            assert check_id in result.why, result.why
    assert report.exit_status == 1
    validate(report)


async def test_the_beta_header_switch_is_reported_by_its_check_alone() -> None:
    async with FakeAssistantsServer(require_beta_header=False) as server:
        report = await run_checks(url_of(server), "sk-check")
    assert not_passing(report) == {"beta_header": "deviates"}
    assert "OpenAI-Beta: (none)" in report.results[ALL_IDS.index("beta_header")].why


# --- the deviant server of the tolerant-reading tests ------------------------------------


async def test_the_deviant_servers_deviations_are_each_reported_once() -> None:
    server = DeviantServer()
    url = await server.start()
    try:
        report = await run_checks(url, "sk-check", check_timeout=10)
    finally:
        await server.close()
    validate(report)
    where: dict[tuple[str, str], list[str]] = {}
    for result in report.results:
        for finding in result.findings:
            where.setdefault((finding.operation, finding.path), []).append(result.id)
    planted_at = {
        ("POST /assistants", "Assistant.tools"): "assistants.create",
        ("POST /threads", "Thread.metadata"): "threads.create",
        ("POST /threads/{thread_id}/messages", "Message.status"): "messages.create",
        ("POST /threads/{thread_id}/runs", "Run.parallel_tool_calls"): "runs.create",
        ("POST /threads/{thread_id}/runs", "stream"): "stream.create_run",
    }
    for key, check_id in planted_at.items():
        assert where.get(key) == [check_id], (key, where.get(key))
    assert report.exit_status == 1
    assert {r.verdict for r in report.results} <= {"pass", "deviates", "fails", "skipped"}


# --- the command line, as the README shows it -------------------------------------------

README_BLOCK = re.compile(
    r"<!-- check-report: produced by tests/test_check.py -->\n```text\n(?P<report>.*?)```",
    re.S,
)


def _rewrite_readme(text: str) -> None:
    (Path(__file__).resolve().parents[1] / "README.md").write_text(text, encoding="utf-8")


def normalised(table: str) -> str:
    """The table without what timing decides: its seconds, and how many of the messages
    made at once fell within one clock second."""
    table = re.sub(r"in \d+\.\d s", "in 0.0 s", table.strip())
    return re.sub(r"\d+ of them within one second", "N of them within one second", table)


async def test_the_readme_check_section_runs_as_written(tmp_path: Path) -> None:
    section = README_TEXT.split("## Checking a server", 1)[1].split("\n## ", 1)[0]
    assert "python -m assistants_async check --base-url http://127.0.0.1:8000/v1" in section
    async with cli_server() as root:
        report_file = tmp_path / "report.json"
        env = {**os.environ, "OPENAI_API_KEY": "sk-readme"}
        args = ["-m", "assistants_async", "check", "--base-url", f"{root}/v1"]
        code, out, err = await run_script([*args, "--json", str(report_file)], env)
    assert code == 0, out + err
    assert "[35/35] stream.submit_tool_outputs: pass" in err  # progress, on standard error
    data = json.loads(report_file.read_text(encoding="utf-8"))
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(data)
    assert data["summary"] == {"pass": 35, "deviates": 0, "fails": 0, "skipped": 0}
    table = out.split(f"report: {report_file}")[0]
    found = README_BLOCK.search(section)
    assert found is not None, "the README shows the report this command prints"
    if os.environ.get("UPDATE_README"):  # pragma: no cover - regenerates the example
        start = README_TEXT.index(section) + found.start("report")
        end = README_TEXT.index(section) + found.end("report")
        _rewrite_readme(README_TEXT[:start] + table.strip() + "\n" + README_TEXT[end:])
        return
    assert normalised(found.group("report")) == normalised(table)


async def test_the_command_exits_1_and_says_what_deviates() -> None:
    async with cli_server("--no-beta-header") as root:
        args = ["-m", "assistants_async", "check", "--base-url", f"{root}/v1", "--quiet"]
        code, out, err = await run_script(
            [*args, "--only", "beta_header", "--json", "-"], {**os.environ}
        )
    assert code == 1, out + err
    # JSON alone on standard output (for a pipe), the table on standard error.
    report = json.loads(out)
    assert "beta_header  deviates" in err
    assert report["checks"][0]["findings"][0]["response"]["status"] == 200


async def test_the_command_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    check = ["-m", "assistants_async", "check"]
    nowhere = ["--base-url", "http://127.0.0.1:9/v1"]
    refusals = {
        (): "--base-url is required",
        ("--base-url", "notaurl"): "--base-url must be an http(s) URL",
        ("--base-url", "ftp://127.0.0.1/v1"): "--base-url must be an http(s) URL",
        (*nowhere, "--only", "nope"): "no check named 'nope'",
        (*nowhere, "--timeout", "-1"): "must be more than 0 seconds",
        (*nowhere, "--check-timeout", "0"): "must be more than 0 seconds",
        (*nowhere, "--json", str(tmp_path / "no" / "such" / "dir.json")): "check: --json",
    }
    for options, said in refusals.items():
        code, out, err = await run_script([*check, *options], {**os.environ})
        assert code != 0, options
        assert said in err, (options, err)
        assert "Traceback" not in err
        assert "/35]" not in err  # refused before any check ran
    code, out, _ = await run_script([*check, "--list"], {**os.environ})
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == ALL_IDS
    code, out, _ = await run_script([*check, "--help"], {**os.environ})
    for option in ("--base-url", "--api-key", "--model", "--no-runs", "--keep", "--json", "--only"):
        assert option in out


def test_only_brings_the_checks_that_make_what_it_needs() -> None:
    assert [c.id for c in selected(["stream"])] == [
        "assistants.create",
        "stream.create_run",
        "stream.create_thread_and_run",
        "stream.submit_tool_outputs",
    ]
    assert [c.id for c in selected(["steps.retrieve"])] == [
        "assistants.create",
        "runs.create",
        "runs.retrieve",
        "runs.submit_tool_outputs",
        "steps.list",
        "steps.retrieve",
    ]
    for check in CHECKS:  # each alone passes against a faithful server: nothing missing
        assert set(check.needs) <= {c.id for c in selected([check.id])}


async def test_only_one_check_runs_what_it_needs_and_passes() -> None:
    async with FakeAssistantsServer() as server:
        report = await run_checks(url_of(server), "sk-check", only=["steps.retrieve"])
    assert verdicts(report) == dict.fromkeys([c.id for c in selected(["steps.retrieve"])], "pass")


async def _hostile(request: web.Request) -> web.Response:
    """Echoes the key and a terminal escape in its error, as careless servers do."""
    said = f"Incorrect API key provided: {request.headers.get('Authorization')} \x1b]0;owned\x07"
    error = {
        "error": {"message": said, "type": "invalid_request_error", "param": None, "code": None}
    }
    return web.json_response(error, status=401)


async def test_a_server_that_echoes_the_key_does_not_get_it_into_the_report() -> None:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", _hostile)
    async with serve(app) as url:
        report = await run_checks(url, "sk-SECRET-0123456789")
    text = json.dumps(report.to_json()) + report.table()
    assert "SECRET" not in text
    assert "Bearer ***" in text
    table = report.table(width=400)
    assert "\x1b" not in table  # the escape is shown, not sent to the terminal
    assert "\\x1b]0;owned\\x07" in table
    assert verdicts(report)["assistants.create"] == "fails"


async def test_a_server_that_is_not_there_fails_every_check_in_bounded_time() -> None:
    report = await run_checks(
        "http://127.0.0.1:9/v1", "sk-check", check_timeout=5, request_timeout=2
    )
    assert set(verdicts(report).values()) <= {"fails", "skipped"}
    assert verdicts(report)["assistants.create"] == "fails"
    assert report.exit_status == 1
    validate(report)


async def test_ctrl_c_stops_the_run_and_leaves_nothing_behind() -> None:
    """Interrupted while a run it made waits (runs here never move on their own), the
    command deletes what it made and exits 130, without a traceback."""
    async with FakeAssistantsServer(progress="timer", timer_interval=3600) as server:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "assistants_async",
            "check",
            "--base-url",
            url_of(server),
            "--api-key",
            "sk-interrupted",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            # A terminal's Ctrl-C: SIGINT, with the default handler (not inherited ignored).
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        assert proc.stderr is not None
        seen: list[str] = []
        while not any("runs.create: pass" in line for line in seen):
            line = (await asyncio.wait_for(proc.stderr.readline(), 60)).decode()
            assert line, "".join(seen)
            seen.append(line)
        proc.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(proc.communicate(), 60)
        async with server.client(api_key="sk-interrupted") as client:
            assistants = [a.id async for a in client.assistants.list()]
            made = [
                r.path for r in server.requests if r.method == "POST" and r.path == "/v1/threads"
            ]
            threads = list(server.store.objects("thread"))
    assert proc.returncode == 130, err
    assert "check: interrupted" in err.decode()
    assert "Traceback" not in err.decode()
    assert made  # it had made threads, and assistants
    assert assistants == []
    assert threads == []


async def test_the_table_fits_its_width_and_progress_says_each_check() -> None:
    shown = io.StringIO()
    async with FakeAssistantsServer(require_beta_header=False) as server:
        report = await run_checks(url_of(server), "sk-check", progress=_progress_printer(shown))
    table = report.table(width=72).splitlines()
    rows = {line.split()[0]: line for line in table[2:-2]}
    assert list(rows) == ALL_IDS
    assert all(len(line) <= 72 for line in table)
    assert rows["beta_header"].split()[1] == "deviates"
    assert rows["beta_header"].endswith("...")  # its why is longer than the room left
    assert re.fullmatch(r"35 checks in \d+\.\d s: 34 pass, 1 deviates", table[-1])
    # Not a terminal: one line per finished check, in order.
    lines = shown.getvalue().splitlines()
    assert lines[0] == f"[ 1/35] {ALL_IDS[0]}: pass ({report.results[0].seconds:.1f} s)"
    assert [line.split("] ")[1].split(":")[0] for line in lines] == ALL_IDS
