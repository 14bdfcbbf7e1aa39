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
    for metric in ("retrieve_c1", "retrieve_c64", "create_c1", "create_c64", "list", "stream"):
        assert set(results[metric]) == {"ours", "bare", "sdk"}, metric
    assert set(results["sync"]) == {"ours", "sdk"}
    assert results["list"]["ours"]["items"] == results["list"]["bare"]["items"] == 10_000
    assert results["stream"]["ours"]["items"] == results["stream"]["bare"]["items"]
    assert results["memory"]["items"] == 100_000
    assert len(results["targets"]) == 14
    assert "target" in done.stdout
