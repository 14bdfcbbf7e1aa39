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
