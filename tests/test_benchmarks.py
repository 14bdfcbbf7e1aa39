"""The benchmark command runs and reports every metric (speed is judged there, not here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

RUN = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"


@pytest.mark.slow
def test_the_benchmark_command_reports_every_metric_and_target(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, str(RUN), "--rounds", "1", "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
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
