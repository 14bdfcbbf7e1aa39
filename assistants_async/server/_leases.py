"""Runs moved by one process at a time, among several on one database.

``LeasedEngine`` is the run engine for a store that keeps leases (``Leasing``: the
PostgreSQL store). Before this process moves a run (on its timer, or in a stream) it
claims the run's lease in the database; while it moves it, ``keep()`` renews the lease
every third of its length; a run taken over by another process meanwhile (this one
hung past its lease) is stopped here. Every process also claims the moving runs whose
lease lapsed (their process died) and takes them up as a restart would
(``RunEngine.recover``). A run at rest is held by nobody, so whichever process takes
its tool outputs moves it on.

Across processes it also carries what runs say and cancels (``Relaying``: the
PostgreSQL store). A stream answered here for a run another process moves (``relay``)
asks for the run's events (NOTIFY on ``WATCHES``, again after each quiet second); the
process moving the run, which keeps what each run on its timer says in memory, writes
the events to the database (all said so far, then each as it comes, in batches, in
order) and announces them on the run's channel; the stream relays them to its client,
from the run's version it had in hand, until the run rests. A run nobody asks for
writes nothing. A cancel is announced on a channel every process listens to, and the
process moving the run stops its turn at once (``RunEngine.abort``), not at its next
step.

What it does not give: a process that hangs past its lease and then wakes may finish
the step it was in while another has taken the run over (the run's versioned writes
keep the record whole, but the responder may have been asked twice). A run's events
said by a process that died before writing them are lost to a stream relaying them:
it goes on with what the process that takes the run over says, and ends with the
run's resting event.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import secrets
import socket
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from ._codec import dump
from ._engine import MOVING, Emit, RunEngine
from ._store import JSON, NotFound, RunRecord, Store

__all__ = [
    "CANCELS",
    "RESTING_EVENTS",
    "WATCHES",
    "LeasedEngine",
    "Leasing",
    "Relaying",
    "events_channel",
    "process_name",
]

# Where a cancel is announced (its payload: the run id), for the process moving the run.
CANCELS = "assistants_run_cancels"
# Where a stream asks for what a run moving in another process says (its payload: the
# run id and the version the stream has, "run_... 4"), for the process moving the run.
WATCHES = "assistants_run_watches"
# The events that say a run came to rest: a stream relaying the run ends with one.
RESTING_EVENTS = frozenset(
    f"thread.run.{status}"
    for status in ("requires_action", "completed", "failed", "cancelled", "expired", "incomplete")
)


def events_channel(run_id: str) -> str:
    """The channel on which a run's new events are announced (a name of at most 63
    bytes, as PostgreSQL takes: an id longer than the service's goes by its digest)."""
    name = f"assistants_events_{run_id}"
    if len(name.encode()) > 63:
        name = f"assistants_events_{hashlib.sha256(run_id.encode()).hexdigest()[:40]}"
    return name


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


@runtime_checkable
class Relaying(Protocol):
    """A store that carries what runs say and cancels between processes (``PostgresStore``)."""

    async def publish_events(
        self, run_id: str, phase: int, events: Sequence[tuple[str, bytes]]
    ) -> None: ...
    async def run_events(
        self, run_id: str, phase: int, after: int
    ) -> list[tuple[int, str, JSON]]: ...
    async def forget_events(self, older_than: float) -> int: ...
    async def notify(self, channel: str, payload: str) -> None: ...
    async def listen(self, channel: str, heard: Callable[[str], None]) -> None: ...
    async def unlisten(self, channel: str, heard: Callable[[str], None]) -> None: ...
    async def keep_listening(self) -> None: ...


class _Outbox:
    """What a run says while it moves on this process's timer, kept for a stream that
    another process answers: written to the database once such a stream asks for it
    (``watched``), everything said so far first, then each event as it comes, in order,
    in batches (what is said while one batch is written goes in the next), without
    holding up the run. Nobody asks for most runs: they write nothing."""

    def __init__(self, relaying: Relaying, run_id: str, phase: int) -> None:
        self.relaying = relaying
        self.run_id = run_id
        self.phase = phase
        self.rested = False  # the last event said the run came to rest
        self._said: list[tuple[str, bytes]] = []
        self._written = 0  # how many of _said are written, or being written
        self._watched = False
        self._writing: asyncio.Task[None] | None = None

    async def emit(self, name: str, data: JSON) -> None:
        self._said.append((name, dump(data)))  # as it is now: data may change later
        self.rested = name in RESTING_EVENTS
        self._kick()

    def watched(self) -> None:
        """A stream elsewhere relays the run: write what it said, and will say."""
        self._watched = True
        self._kick()

    def _kick(self) -> None:
        if self._watched and self._writing is None and self._written < len(self._said):
            self._writing = asyncio.get_running_loop().create_task(self._write())

    async def _write(self) -> None:
        try:
            while self._written < len(self._said):
                batch = self._said[self._written :]
                self._written = len(self._said)
                try:
                    await self.relaying.publish_events(self.run_id, self.phase, batch)
                except Exception:  # a stream relaying it still ends with the run's end
                    log.exception("writing the events of run %s failed", self.run_id)
        finally:
            self._writing = None

    async def close(self) -> None:
        """Once every event said is written (if asked for)."""
        writing = self._writing
        if writing is not None:
            await writing

    def abandon(self) -> None:
        """The run moves on elsewhere (taken over, or this process stops)."""
        self._said.clear()
        self._written = 0
        if self._writing is not None:
            self._writing.cancel()


def process_name() -> str:
    """This process among all that share the database: host, pid and a random part (a
    pid is reused after a restart)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class LeasedEngine(RunEngine):
    """``RunEngine`` over a ``Leasing`` store: ``owner`` names this process, ``lease``
    is how long a claim holds without renewal (seconds)."""

    # How long a relaying stream waits for news before it reads the run itself (a
    # notification may be lost with its connection; a run may rest with nobody to say so).
    relay_poll = 1.0

    def __init__(self, store: Store, *, owner: str, lease: float, **kwargs: Any) -> None:
        if not isinstance(store, Leasing):
            raise TypeError(f"{type(store).__name__} keeps no leases")
        if not isinstance(store, Relaying):
            raise TypeError(f"{type(store).__name__} relays no events")
        if not lease > 0:
            raise ValueError(f"lease must be a number of seconds above 0, not {lease!r}")
        super().__init__(store, **kwargs)
        self.leases: Leasing = store
        self.relaying: Relaying = store
        self.owner = owner
        self.lease = lease
        # run id -> thread id: the runs this process claimed and may still move.
        self.held: dict[str, str] = {}
        self._claims: set[asyncio.Task[None]] = set()
        # Set once this process hears the cancels and watches announced by the others.
        self.listening = asyncio.Event()
        # run id -> what it says on this process's timer (kept a while after it rests:
        # a stream elsewhere may ask for it just after).
        self._outboxes: dict[str, _Outbox] = {}
        # run id -> the version a stream elsewhere asked from, for a run not moving here.
        self._asked: dict[str, int] = {}

    def moves_here(self, run_id: str) -> bool:
        """Whether this process holds the run's lease (else another moves it)."""
        return run_id in self.held

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
            if await self.claim(run) and run.id not in self._timers:
                task = asyncio.get_running_loop().create_task(self._tick_told(tenant, run))
                self._timers[run.id] = (run.thread_id, task)
        except Exception:  # the sweep takes it up once its lease lapses
            log.exception("claiming run %s failed", run.id)

    async def _tick_told(self, tenant: str, run: RunRecord) -> None:
        """The run moved on a timer, what it says written for a stream elsewhere; at
        rest, its resting event said if its last step said none (it expired, say)."""
        outbox = self._outboxes[run.id] = _Outbox(self.relaying, run.id, run.version)
        asked = self._asked.get(run.id)
        if asked is not None and run.version >= asked:  # asked just before it moved here
            outbox.watched()
        try:
            await self._tick(tenant, run, outbox.emit)
            if not outbox.rested:
                with contextlib.suppress(NotFound):
                    now = await self.store.run(tenant, run.thread_id, run.id)
                    if now.obj["status"] not in MOVING:
                        await outbox.emit(f"thread.run.{now.obj['status']}", now.obj)
        except asyncio.CancelledError:
            outbox.abandon()
            self._forget_outbox(outbox)
            raise
        except Exception:  # a stream relaying it ends once it sees the run at rest
            log.exception("telling how run %s ended failed", run.id)
        asyncio.get_running_loop().call_later(self.lease, self._forget_outbox, outbox)
        await outbox.close()

    def _forget_outbox(self, outbox: _Outbox) -> None:
        if self._outboxes.get(outbox.run_id) is outbox:
            del self._outboxes[outbox.run_id]

    def _heard_watch(self, payload: str) -> None:
        """A stream elsewhere relays a run: if it moves (or just moved) here, in the
        phase the stream has or a later one, write what it says."""
        run_id, _, version = payload.partition(" ")
        if not version.isdigit():
            return
        outbox = self._outboxes.get(run_id)
        if outbox is not None and outbox.phase >= int(version):
            outbox.watched()
            return
        # The run may be about to move here (claimed, its timer not yet begun): the
        # ask holds for a second, as long as the stream waits before asking again.
        self._asked[run_id] = int(version)
        asyncio.get_running_loop().call_later(self.relay_poll, self._asked.pop, run_id, None)

    async def settle(
        self, tenant: str, run: RunRecord, emit: Emit | None = None, *, written: bool = False
    ) -> RunRecord:
        """Move the run until it rests, here if its lease is this process's; else relay
        to ``emit`` what the process that holds it says (or just wait, without one)."""
        if run.obj["status"] not in MOVING or await self.claim(run):
            return await super().settle(tenant, run, emit, written=written)
        if emit is not None:
            log.info("run %s moves in another process: its stream relays what it says", run.id)
            return await self.relay(tenant, run, emit)
        while run.obj["status"] in MOVING:
            await asyncio.sleep(self.timer_interval)
            changed = await self.store.run_if_changed(tenant, run.thread_id, run.id, run.version)
            run = changed or run
        return run

    async def relay(self, tenant: str, run: RunRecord, emit: Emit) -> RunRecord:
        """Tell ``emit`` each event the run says while other processes move it, from
        the version of ``run`` on, once each and in order, until one says it rests (or
        it rests with nobody to say so: then its resting event, as it stands)."""
        woken = asyncio.Event()

        def heard(payload: str) -> None:
            woken.set()

        channel = events_channel(run.id)
        await self.relaying.listen(channel, heard)  # before reading: nothing falls between
        try:
            after = 0
            seen_resting = False
            ask = True
            while True:
                if ask:  # again after each quiet wait: the run may move elsewhere by then
                    await self.relaying.notify(WATCHES, f"{run.id} {run.version}")
                    ask = False
                woken.clear()
                for seq, name, data in await self.relaying.run_events(run.id, run.version, after):
                    after = seq
                    await emit(name, data)
                    if name in RESTING_EVENTS:
                        return await self._fresh(tenant, run)
                try:
                    await asyncio.wait_for(woken.wait(), self.relay_poll)
                    continue
                except asyncio.TimeoutError:
                    ask = True
                now = await self._fresh(tenant, run)
                if now.obj["status"] in MOVING:
                    seen_resting = False
                elif seen_resting:  # at rest for a whole wait, and nobody said so
                    await emit(f"thread.run.{now.obj['status']}", now.obj)
                    return now
                else:  # its last events may still be on their way
                    seen_resting = True
        finally:
            await self.relaying.unlisten(channel, heard)

    async def cancel(self, tenant: str, run: RunRecord) -> RunRecord:
        """Ask the run to stop, and tell the process moving it (this one or another) to
        stop its turn now."""
        run = await super().cancel(tenant, run)
        try:
            await self.relaying.notify(CANCELS, run.id)
        except Exception:  # written all the same: its next step stops it
            log.exception("announcing the cancel of run %s failed", run.id)
        return run

    async def listen(self) -> None:
        """Hear the cancels and watches announced by every process (this one's too)."""
        if not self.listening.is_set():
            await self.relaying.listen(CANCELS, self.abort)
            await self.relaying.listen(WATCHES, self._heard_watch)
            self.listening.set()

    async def unlisten(self) -> None:
        if self.listening.is_set():
            self.listening.clear()
            await self.relaying.unlisten(CANCELS, self.abort)
            await self.relaying.unlisten(WATCHES, self._heard_watch)

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
        """Hear cancels; renew and take over, every third of the lease; forget events
        older than a run's time to live; until cancelled."""
        try:
            await self._keep()
        finally:
            with contextlib.suppress(Exception):  # its connection closes with the store
                await self.unlisten()

    async def _keep(self) -> None:
        with contextlib.suppress(Exception):  # else the next round tries again
            await self.listen()
        while True:
            await asyncio.sleep(self.lease / 3)
            try:
                await self.relaying.keep_listening()
                await self.listen()
                await self.relaying.forget_events(self.run_ttl)
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
