"""What the two serving commands share: ``python -m assistants_async.server`` and the
fake's ``python -m assistants_async.testing`` take the same options for where to listen
and how runs go, checked the same way, and stop the same way."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import math
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._script import Script

__all__ = [
    "add_listen_options",
    "add_run_options",
    "at_least",
    "is_loopback",
    "load_script",
    "until_stopped",
]


def _port(text: str) -> int:
    port = _whole(text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 to 65535, not {port}")
    return port


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a whole number, not {text!r}") from None


def at_least(low: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``low``."""

    def check(text: str) -> int:
        value = _whole(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"at least {low}, not {value}")
        return value

    return check


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a number of seconds, not {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"a number of seconds above 0, not {text}")
    return value


def add_listen_options(parser: argparse.ArgumentParser) -> None:
    """``--host`` and ``--port``."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=_port, default=8000, help="port (default 8000; 0: any free port)"
    )


def add_run_options(parser: argparse.ArgumentParser, *, timer_interval: float) -> None:
    """How runs go: ``--script``, ``--run-ttl``, ``--timer-interval``,
    ``--poll-after-ms``, and ``--no-beta-header``, which the same suites need."""
    parser.add_argument(
        "--script",
        type=Path,
        metavar="FILE",
        help='a JSON file of scripted replies and rules for runs: {"replies": [...], '
        '"rules": [...]}',
    )
    parser.add_argument(
        "--run-ttl",
        type=at_least(1),
        default=600,
        help="seconds before a run expires (default 600)",
    )
    parser.add_argument(
        "--timer-interval",
        type=_seconds,
        default=timer_interval,
        metavar="SECONDS",
        help=f"the pause between two steps of a run moving on a timer (default {timer_interval})",
    )
    parser.add_argument(
        "--poll-after-ms",
        type=at_least(0),
        default=100,
        help="the openai-poll-after-ms header on runs still moving (default 100)",
    )
    parser.add_argument(
        "--no-beta-header",
        action="store_true",
        help="accept requests without 'OpenAI-Beta: assistants=v2' (by default a 400, as "
        "the service answered)",
    )


def load_script(path: Path | None, script: Script) -> None:
    """Load the ``--script`` file (if any) into ``script``; ValueError or OSError says
    what is wrong with it."""
    if path is None:
        return
    data: Any = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a script is a JSON object")
    script.load(data)


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (an address, or ``localhost``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything


async def until_stopped() -> None:
    """Return at Ctrl-C or SIGTERM, whatever the loop is doing at that moment (a
    KeyboardInterrupt raised inside one of aiohttp's callbacks could hang the exit)."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stopping.set)
    await stopping.wait()
