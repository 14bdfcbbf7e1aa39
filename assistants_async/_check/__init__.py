"""``python -m assistants_async check``: how compatible is this server?

It exercises a server through the public client, check by check (every operation, then
paging, errors, runs, streams, the beta header), and reports what conforms and what
does not. It judges as ``strict=True`` would (every departure from the spec is a
finding) but reads on tolerantly, so that one deviation does not hide the next. It
deletes what it made (unless told to keep it) and never touches anything else.
"""

from __future__ import annotations

import asyncio
import datetime
import sys
from collections.abc import Callable, Sequence
from typing import TextIO
from urllib.parse import urlsplit

import aiohttp

from .._client import AsyncClient
from .._deviations import Deviations, Reading
from .._errors import APIError
from .._version import __version__
from . import _operations, _runs, _semantics, _streams  # noqa: F401  (registers the checks)
from ._core import (
    CHECKS,
    Check,
    Context,
    Failed,
    Finding,
    Recorder,
    Result,
    Skipped,
    now,
    scrubbed,
)
from ._report import SCHEMA_PATH, Report

__all__ = ["CHECKS", "SCHEMA_PATH", "Report", "run_checks"]

# A check that sends more than this is stuck (a cursor that never ends, a run polled
# forever): it fails rather than run on.
MAX_REQUESTS = 400


def selected(only: Sequence[str]) -> list[Check]:
    """The checks whose id is, or starts with, one of ``only`` (all when empty), with
    the checks that make what they need, in the order of the run."""
    if not only:
        return list(CHECKS)

    def named(check: Check, name: str) -> bool:
        return check.id == name or check.id.startswith(f"{name}.")

    unknown = [o for o in only if not any(named(c, o) for c in CHECKS)]
    if unknown:
        raise ValueError(f"no check named {', '.join(map(repr, unknown))} (see --list)")
    needs = {c.id: c.needs for c in CHECKS}
    chosen: set[str] = set()
    waiting = [c.id for c in CHECKS if any(named(c, o) for o in only)]
    while waiting:
        name = waiting.pop()
        if name not in chosen:
            chosen.add(name)
            waiting.extend(needs[name])
    return [c for c in CHECKS if c.id in chosen]


async def _one(ctx: Context, check: Check, timeout: float) -> Result:
    ctx.findings = []
    ctx.current = check.id
    ctx.note = ""
    ctx.recorder.count = 0
    ctx.recorder.budget = MAX_REQUESTS
    ctx.recorder.last = None
    started = now()
    try:
        await asyncio.wait_for(check.run(ctx), timeout)
    except Skipped as skip:
        if skip.cause is not None:
            ctx.causes[check.id] = skip.cause
        return Result(
            check.id,
            check.title,
            "skipped",
            str(skip),
            ctx.findings,
            now() - started,
            ctx.recorder.count,
        )
    except Failed as failure:
        why = failure.why
        operation = ctx.operation(failure.exchange)
        ctx.findings.append(
            Finding(operation, "", "an answer the client can use", why, failure.exchange)
        )
    except asyncio.TimeoutError:
        last = ctx.recorder.last
        why = f"did not finish within {timeout:g} s (last request: {ctx.operation(last)})"
        ctx.findings.append(
            Finding(ctx.operation(last), "", f"an answer within {timeout:g} s", "none", last)
        )
    except Exception as exc:  # one check's surprise ends that check alone
        last = ctx.recorder.last
        why = f"{ctx.operation(last)}: {type(exc).__name__}: {exc}"
        ctx.findings.append(
            Finding(ctx.operation(last), "", "an answer the client can use", why, last)
        )
    else:
        seconds = now() - started
        if not ctx.findings:
            return Result(
                check.id,
                check.title,
                "pass",
                ctx.note or "as the spec says",
                [],
                seconds,
                ctx.recorder.count,
            )
        extra = len(ctx.findings) - 1
        why = ctx.findings[0].line() + (f" (and {extra} more)" if extra else "")
        return Result(
            check.id, check.title, "deviates", why, ctx.findings, seconds, ctx.recorder.count
        )
    ctx.causes[check.id] = check.id
    return Result(
        check.id, check.title, "fails", why, ctx.findings, now() - started, ctx.recorder.count
    )


async def _clean_up(ctx: Context, keep: bool) -> dict[str, object]:
    made = {kind: list(ids) for kind, ids in ctx.made.items()}
    if keep:
        return {"kept": made, "deleted": 0, "left": []}
    ctx.recorder.budget = 0
    deleted, left = 0, []
    deleters = {"thread": ctx.client.threads.delete, "assistant": ctx.client.assistants.delete}
    reachable = True
    for kind in ("thread", "assistant"):
        for object_id in made[kind]:
            if not reachable:  # one timeout: the server is gone, say what is left
                left.append(object_id)
                continue
            try:
                await asyncio.wait_for(deleters[kind](object_id), 30)
                deleted += 1
            except asyncio.TimeoutError:
                reachable = False
                left.append(object_id)
            except (APIError, OSError):
                left.append(object_id)
    return {"kept": {}, "deleted": deleted, "left": left}


async def run_checks(
    base_url: str,
    api_key: str,
    *,
    model: str = "gpt-4o",
    runs: bool = True,
    keep: bool = False,
    only: Sequence[str] = (),
    check_timeout: float = 60.0,
    request_timeout: float = 30.0,
    progress: Callable[[int, int, Check, Result | None], None] | None = None,
) -> Report:
    """Run the checks against ``base_url`` and return the report."""
    chosen = selected(only)
    recorder = Recorder(secrets=(api_key,))
    started_at = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    started = now()
    session = aiohttp.ClientSession(trace_configs=[recorder.trace_config()], trust_env=True)
    results: list[Result] = []
    cleanup: dict[str, object] = {}
    try:
        client = AsyncClient(
            base_url=base_url,
            api_key=api_key,
            session=session,
            max_retries=0,
            timeout=request_timeout,
        )
        # Judged here, each in its check: neither warned of nor logged on the way.
        client._reading = Reading(strict=False, deviations=Deviations(announce=False))
        ctx = Context(client, recorder, model=model, base_path=urlsplit(base_url).path)
        try:
            for number, check in enumerate(chosen, 1):
                if progress is not None:
                    progress(number, len(chosen), check, None)
                if check.runs and not runs:
                    result = Result(
                        check.id,
                        check.title,
                        "skipped",
                        "--no-runs: needs a run engine (a model) behind the server",
                    )
                else:
                    result = await _one(ctx, check, check_timeout)
                results.append(result)
                if progress is not None:
                    progress(number, len(chosen), check, result)
        finally:
            cleanup = await _clean_up(ctx, keep)
            await client.close()
    finally:
        await session.close()
    return Report(
        base_url=recorder.clean(base_url),
        model=model,
        version=__version__,
        started_at=started_at,
        seconds=now() - started,
        results=[scrubbed(result, recorder.clean) for result in results],
        cleanup=cleanup,
    )


def _progress_printer(
    stream: TextIO | None = None,
) -> Callable[[int, int, Check, Result | None], None]:
    out = stream if stream is not None else sys.stderr
    live = out.isatty()

    def show(number: int, total: int, check: Check, result: Result | None) -> None:
        head = f"[{number:>{len(str(total))}}/{total}] {check.id}"
        if result is None:
            if live:
                print(f"{head} ...", end="", file=out, flush=True)
            return
        line = f"{head}: {result.verdict} ({result.seconds:.1f} s)"
        print(f"\r\x1b[K{line}" if live else line, file=out, flush=True)

    return show
