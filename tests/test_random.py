"""Random bytes read ahead from the system (``_random.py``): ids and idempotency keys."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from assistants_async._random import random_bytes

_FORKED = """
import os
from assistants_async._random import random_bytes
from assistants_async.server._ids import random_ids

random_ids("msg")  # the parent has bytes read ahead
reading, writing = os.pipe()
pid = os.fork()
if pid == 0:
    os.write(writing, (random_ids("msg") + random_bytes(16).hex()).encode())
    os._exit(0)
os.close(writing)
with os.fdopen(reading) as pipe:
    childs = pipe.read()
os.waitpid(pid, 0)
print(childs, random_ids("msg") + random_bytes(16).hex())
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_a_forked_child_does_not_repeat_its_parents_ids() -> None:
    """What the parent read ahead is not the child's: a server process forked after
    making an id (as a pre-forking runner does) makes ids of its own. (In a fresh
    interpreter: forking this one, with threads, is deprecated.)"""
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", _FORKED],
        capture_output=True,
        text=True,
        check=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    childs, parents = done.stdout.split()
    assert len(childs) == len(parents) == len("msg_") + 24 + 32
    assert childs != parents


def test_threads_at_once_get_bytes_of_their_own() -> None:
    """The sync client's loop thread and the caller's threads may take bytes at once:
    no two ever get the same ones."""
    taken: list[bytes] = []
    start = threading.Barrier(8)

    def take() -> None:
        start.wait()
        mine = [random_bytes(16) for _ in range(2000)]
        taken.extend(mine)

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads switch as often as they can
    try:
        threads = [threading.Thread(target=take) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switch)
    assert len(taken) == 16000
    assert len(set(taken)) == 16000


def test_random_bytes_are_as_many_as_asked() -> None:
    assert [len(random_bytes(n)) for n in (1, 16, 32, 4096)] == [1, 16, 32, 4096]
