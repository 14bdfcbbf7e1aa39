"""The benchmark command runs and reports every metric (speed is judged there, not here)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

RUN = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"


def run_benchmark(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """``benchmarks/run.py args`` in a session of its own: on a timeout the whole session
    (its server too) is killed, and the test says so instead of leaving a process."""
    proc = subprocess.Popen(
        [sys.executable, str(RUN), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"the benchmark ran past {timeout} s:\n{err[-2000:]}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_a_killed_benchmark_leaves_no_server_behind(tmp_path: Path) -> None:
    """The server reads its stdin until the run ends: kill -9 the run, the server goes."""
    proc = subprocess.Popen(
        [sys.executable, str(RUN.parent / "server.py"), "--port", "0"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("ready")
    assert proc.stdin is not None
    proc.stdin.close()  # what the parent's death does to the pipe
    assert proc.wait(timeout=60) == 0
    proc.stdout.close()


@pytest.mark.slow
@pytest.mark.timeout(660)  # past its own 600 s limit, which kills the benchmark's session
def test_the_benchmark_command_reports_every_metric_and_target(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    done = run_benchmark(["--rounds", "1", "--quick", "--out", str(out)], timeout=600)
    assert done.returncode == 0, done.stderr
    results = json.loads(out.read_text())
    four = {"ours", "bare", "sdk", "sdk_aio"}
    for op in ("retrieve", "create"):
        for level in (1, 16, 256, 1024):
            assert set(results[f"{op}_c{level}"]) == four, (op, level)
    for metric in ("list_10k", "stream_1k", "stream_5k"):
        assert set(results[metric]) == four, metric
    for metric in ("list_100k", "stream_50k"):
        assert set(results[metric]) == {"ours", "bare"}, metric
    assert set(results["sync"]) == {"ours", "sdk"}
    assert results["list_10k"]["ours"]["items"] == results["list_10k"]["bare"]["items"] == 10_000
    assert results["list_100k"]["ours"]["items"] == 100_000
    for metric in ("stream_1k", "stream_5k", "stream_50k"):
        assert results[metric]["ours"]["items"] == results[metric]["bare"]["items"], metric
    assert results["stream_1k"]["ours"]["items"] == 1_006
    assert results["memory"]["items"] == 100_000
    assert len(results["targets"]) == 19
    for target in results["targets"]:
        low, high = target["range"]
        assert low <= target["ratio"] <= high, target
    assert "pinned" in results["machine"]
    assert "target" in done.stdout


@pytest.mark.slow
@pytest.mark.timeout(600)  # several commands, each with its own 120 s limit
def test_the_fake_benchmark_runs_in_process_served_and_compared() -> None:
    fake = RUN.parent / "fake.py"
    root = str(RUN.parents[1])
    small = ["--flows", "5", "--warmup", "2"]
    runs = [
        ([*small, "--rounds", "1"], "requests/s"),
        ([*small, "--pairs", "1", "--compare", root], "CPU per flow in process, this /"),
    ]
    if sys.platform.startswith("linux"):  # a served fake's CPU is read from /proc
        runs.append(
            ([*small, "--pairs", "1", "--served", "--compare", root], "server CPU per flow, this /")
        )
    for args, expected in runs:
        done = subprocess.run(
            [sys.executable, str(fake), *args], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        assert expected in done.stdout, done.stdout


DURABLE_TARGETS = {
    *(
        f"{op}: {db} SQLite / memory, req/s"
        for op in ("create message", "retrieve run", "list 100 messages")
        for db in ("empty", "large")
    ),
    *(
        f"paging {way}: {what}"
        for way in ("after", "before")
        for what in ("last tenth / first tenth", "slowest tenth / fastest tenth")
    ),
    "start-up of the large database, s",
    "start-up, large / empty",
    "RSS at start, large / empty",
    "RSS after the requests, large / empty",
    "RSS after paging too, large / empty",
    "runs completed / started",
    "distinct run ids / runs",
    "threads whose lists are wrong",
}


@pytest.mark.slow
@pytest.mark.timeout(360)  # past its own 300 s limit
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RSS and CPU from /proc")
def test_the_durable_server_benchmark_reports_every_target_small(tmp_path: Path) -> None:
    """benchmarks/durable.py at a small size: the database made under --cache, every
    figure printed beside its target, and the runs all accounted for (not a timing)."""
    out = tmp_path / "durable.json"
    args = ["--db-mb", "4", "--messages", "1000", "--requests", "100", "--rounds", "1"]
    args += ["--runs", "30", "--starts", "1", "--walks", "1", "--cache", str(tmp_path / "cache")]
    done = subprocess.run(
        [sys.executable, str(RUN.parent / "durable.py"), *args, "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert list((tmp_path / "cache").glob("durable-*-4mb-1000.sqlite3")), "no cached database"
    report = json.loads(out.read_text())
    targets = {t["name"]: t for t in report["targets"]}
    assert set(targets) == DURABLE_TARGETS
    for name, target in targets.items():
        verdict = "PASS" if target["met"] else "FAIL"
        assert any(name in line and verdict in line for line in done.stdout.splitlines()), name
    for name in ("runs completed / started", "distinct run ids / runs"):
        assert targets[name]["met"], report["runs"]
    assert targets["threads whose lists are wrong"]["value"] == 0, report["runs"]["problems"]
    assert report["runs"]["completed"] == report["runs"]["distinct_threads"] == 30
    for way in ("after", "before"):
        assert report["paging"][way]["pages"] == 10
    assert report["machine"]["db_mb"] >= 4
    ops = {"create message", "retrieve run", "list 100 messages"}
    assert set(report["cpu_ratio"]) == set(report["server_cpu_us"]) == ops
    assert all(value > 0 for value in report["rss_mb"]["start"].values())


CHAT_TARGETS = {
    "latency p50, 1 stream, ms",
    "latency p50, 4 streams, ms",
    "relayed / straight deltas/s, 1 streams",
    "relayed / straight deltas/s, 4 streams",
    "tool-calling runs with something lost or wrong",
    "server CPU/token, 4 at once / 1 at a time",
}


@pytest.mark.slow
@pytest.mark.timeout(360)  # past its own 300 s limit
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="CPU from /proc")
def test_the_chat_relay_benchmark_reports_every_target_small(tmp_path: Path) -> None:
    """benchmarks/chat.py at a small size: the upstream, the server and the client in
    three processes, every figure beside its target, every tool-calling run whole (not a
    timing)."""
    out = tmp_path / "chat.json"
    args = ["--streams", "4", "--tokens", "200", "--tokens-each", "50", "--paced-tokens", "5"]
    args += ["--pace-ms", "5", "--tool-runs", "4", "--tool-tokens", "10", "--rounds", "1"]
    done = subprocess.run(
        [sys.executable, str(RUN.parent / "chat.py"), *args, "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    targets = {t["name"]: t for t in report["targets"]}
    assert set(targets) == CHAT_TARGETS
    for name, target in targets.items():
        verdict = "PASS" if target["met"] else "FAIL"
        assert any(name in line and verdict in line for line in done.stdout.splitlines()), name
    assert targets["tool-calling runs with something lost or wrong"]["value"] == 0
    runs = report["tool_runs"]
    # 10 answer deltas and 20 argument deltas (2 heads, 18 pieces) a run.
    assert runs["one_at_a_time"]["deltas"] == runs["at_once"]["deltas"] == 4 * 30
    assert {"relayed_1", "straight_1", "relayed_4", "straight_4"} <= set(report["latency_p50_ms"])
    assert all(value > 0 for value in report["deltas_per_s"].values())
    # The same rounds read through a relay that only copies bytes: every delta arrives.
    assert {"byte_relay_1", "byte_relay_4"} <= set(report["deltas_per_s"])
    assert set(report["byte_relay_over_straight"]) == {"1_streams", "4_streams"}
    assert all(value > 0 for value in report["byte_relay_over_straight"].values())
    assert "a relay that only copies bytes" in done.stdout
    assert {"relayed_text_1", "relayed_text_4"} <= set(report["deltas_per_s"])
    assert set(report["relayed_text_over_straight"]) == {"1_streams", "4_streams"}


@pytest.mark.slow
def test_the_postgres_benchmark_reports_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "postgres.json"
    script = RUN.parent / "postgres.py"
    args = ["--requests", "40", "--rounds", "1", "--processes", "1,2", "--json", str(out)]
    proc = subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(out.read_text())
    operations = {"create message", "retrieve run", "list 100 messages"}
    assert set(results["one_process"]) == operations
    for figures in results["one_process"].values():
        assert figures["postgres_rps"] > 0
        assert figures["sqlite_rps"] > 0
        assert figures["ratio"] == pytest.approx(figures["postgres_rps"] / figures["sqlite_rps"])
    assert set(results["processes"]) == {"1", "2"}
    for by_operation in results["processes"].values():
        assert set(by_operation) == operations
        for figures in by_operation.values():
            assert figures["rps"] > 0
            assert set(figures["cpu_us_per_request"]) == {"servers", "postgres", "client"}
    assert "ratio" in proc.stdout
