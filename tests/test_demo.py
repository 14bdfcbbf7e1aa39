"""The README's first command runs offline and shows the flow."""

from __future__ import annotations

import os
import subprocess
import sys


def test_the_demo_runs_offline_and_prints_the_transcript() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    done = subprocess.run(
        [sys.executable, "-W", "error", "-m", "assistants_async", "demo"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "client: retrying POST /assistants in 0.25 s (retry 1 of 2) after status 429" in out
    assert "-> asst_demo1 'Weather', model gpt-4o, tool get_weather" in out
    assert "-> equal to the created one: True" in out
    assert "NotFoundError: 404: No assistant found with id 'asst_demo1'." in out
    # the retried create reused its idempotency key
    keys = [
        line.split("Idempotency-Key ")[1][:8]
        for line in out.splitlines()
        if "Idempotency-Key" in line
    ]
    assert len(keys) == 2
    assert keys[0] == keys[1]
    assert out.rstrip().endswith("Done.")
