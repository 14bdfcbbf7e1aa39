"""Runs moved by one process at a time, among several on one database.

``LeasedEngine`` is the run engine for a store that keeps leases (``Leasing``: the
PostgreSQL store). Before this process moves a run (on its timer, or in a stream) it
claims the run's lease in the database; while it moves it, ``keep()`` renews the lease
every third of its length; a run taken over by another process meanwhile (this one
hung past its lease) is stopped here. Every process also claims the moving runs whose
lease lapsed (their process died) and takes them up as a restart would
(``RunEngine.recover``). A run at rest is held by nobody, so whichever process takes
its tool outputs moves it on.

What it does not give: a process that hangs past its lease and then wakes may finish
the step it was in while another has taken the run over (the run's versioned writes
keep the record whole, but the responder may have been asked twice); a stream whose
run another process holds sees only how the run ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from ._engine import MOVING, Emit, RunEngine
from ._store import NotFound, RunRecord, Store

__all__ = ["LeasedEngine", "Leasing", "process_name"]

log = logging.getLogger("assistants_async.server")


@runtime_checkable
class Leasing(Protocol):
    """A store that keeps leases on moving runs (``PostgresStore``)."""

    async def claim_runs(
        self, owner: str, *, lease: float, limit: int
    ) -> list[tuple[str, RunRecord]]: ...
    async def claim_run(self, owner: str, run_id: str, *, lease: float) -> bool: ...
    async def renew_leases(
        self, owner: str, run_ids: Sequence[str], *, lease: float
    ) -> set[str]: ...
    async def release_run(self, owner: str, run_id: str) -> None: ...


def process_name() -> str:
    """This process among all that share the database: host, pid and a random part (a
    pid is reused after a restart)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class LeasedEngine(RunEngine):
    """``RunEngine`` over a ``Leasing`` store: ``owner`` names this process, ``lease``
    is how long a claim holds without renewal (seconds)."""

    def __init__(self, store: Store, *, owner: str, lease: float, **kwargs: Any) -> None:
        if not isinstance(store, Leasing):
            raise TypeError(f"{type(store).__name__} keeps no leases")
        if not lease > 0:
            raise ValueError(f"lease must be a number of seconds above 0, not {lease!r}")
        super().__init__(store, **kwargs)
        self.leases: Leasing = store
        self.owner = owner
        self.lease = lease
        # run id -> thread id: the runs this process claimed and may still move.
        self.held: dict[str, str] = {}
        self._claims: set[asyncio.Task[None]] = set()

    # --- claiming before moving -------------------------------------------------------

    async def claim(self, run: RunRecord) -> bool:
        """Hold ``run`` (or keep holding it): False when another process does."""
        if await self.leases.claim_run(self.owner, run.id, lease=self.lease):
            self.held[run.id] = run.thread_id
            return True
        return False

    def start_timer(self, tenant: str, run: RunRecord) -> None:
        """Move the run on a timer here, once its lease is this process's."""
        if run.id in self._timers:
            return
        task = asyncio.get_running_loop().create_task(self._claim_then_move(tenant, run))
        self._claims.add(task)
        task.add_done_callback(self._claims.discard)

    async def _claim_then_move(self, tenant: str, run: RunRecord) -> None:
        try:
            if await self.claim(run):
                super().start_timer(tenant, run)
        except Exception:  # the sweep takes it up once its lease lapses
            log.exception("claiming run %s failed", run.id)

    async def settle(self, tenant: str, run: RunRecord, emit: Emit | None = None) -> RunRecord:
        """Move the run until it rests, here if its lease is this process's; else wait
        for the process that holds it, and tell how it ended."""
        if run.obj["status"] not in MOVING or await self.claim(run):
            return await super().settle(tenant, run, emit)
        while run.obj["status"] in MOVING:
            await asyncio.sleep(self.timer_interval)
            changed = await self.store.run_if_changed(tenant, run.thread_id, run.id, run.version)
            run = changed or run
        if emit is not None:
            await emit(f"thread.run.{run.obj['status']}", run.obj)
        return run

    # --- keeping leases, taking up lapsed ones ----------------------------------------

    async def renew(self) -> None:
        """Renew the leases held; stop moving a run another process took over."""
        if not self.held:
            return
        kept = await self.leases.renew_leases(self.owner, list(self.held), lease=self.lease)
        for run_id, thread_id in list(self.held.items()):
            if run_id in kept:
                continue
            del self.held[run_id]  # at rest (held by nobody), or taken over
            if run_id in self._timers:
                # Still moving here, so still active: the thread has no other active
                # run whose timer this could stop.
                log.warning("run %s was taken over by another process", run_id)
                self.stop_timers(thread_id)

    async def take_over(self, limit: int = 100) -> dict[str, int]:
        """Claim the moving runs whose lease lapsed and take each up as a restart does:
        how many ``resumed``, ``retaken``, ``expired`` and ``waiting``."""
        counts = dict.fromkeys(("resumed", "retaken", "expired", "waiting"), 0)
        while True:
            found = await self.leases.claim_runs(self.owner, lease=self.lease, limit=limit)
            for tenant, run in found:
                self.held[run.id] = run.thread_id
                with contextlib.suppress(NotFound):  # its thread went meanwhile
                    counts[await self.recover(tenant, run)] += 1
            if len(found) < limit:
                return counts

    async def keep(self) -> None:
        """Renew and take over, every third of the lease, until cancelled."""
        while True:
            await asyncio.sleep(self.lease / 3)
            try:
                await self.renew()
                taken = await self.take_over()
                if any(taken.values()):
                    log.info(
                        "runs taken over from stopped processes: %(resumed)d resumed, "
                        "%(retaken)d retaken, %(expired)d expired",
                        taken,
                    )
            except Exception:  # the next round tries again; the server goes on
                log.exception("keeping run leases failed")

    async def release(self) -> None:
        """At a stop, once the timers are stopped: hand every held run to the others."""
        for task in list(self._claims):
            task.cancel()
        for run_id in list(self.held):
            with contextlib.suppress(Exception):  # it lapses anyway
                await self.leases.release_run(self.owner, run_id)
        self.held.clear()
