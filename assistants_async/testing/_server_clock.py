"""Moving the fake server's clock, from Python or over HTTP."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ._store import FakeClock

if TYPE_CHECKING:
    from ._server import FakeAssistantsServer

__all__ = ["advance_clock"]


def advance_clock(server: FakeAssistantsServer, seconds: int) -> int:
    """Move the server's clock forward; a wall clock becomes a fake one from now on."""
    if not isinstance(server.clock, FakeClock):
        server.clock = FakeClock(int(time.time()))
    server.clock.advance(seconds)
    return server.clock()
