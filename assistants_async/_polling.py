"""Helpers built on the run operations: polling until a run rests, and the tool loop.

Resources stay declarative; the waiting lives here, over one seam: the resource's
``_sleep`` (the transport's backoff sleep, which the client's close() cuts short). The
helpers use the resource they are given and import none (see README, "Architecture").
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

import attrs

from ._errors import APITimeoutError, PollTimeoutError, ToolLoopLimitError
from ._timeout import check_seconds
from ._tools import ToolFunction, run_tool_calls
from .models.runs import Run

if TYPE_CHECKING:
    from ._headers import Headers
    from .resources.runs import AsyncRuns

__all__ = ["poll_after", "poll_run", "run_tools"]


def poll_after(headers: Mapping[str, str]) -> float:
    """The server's ``openai-poll-after-ms`` in seconds; 1 s when absent or unusable."""
    raw = headers.get("openai-poll-after-ms")
    try:
        value = float(raw) / 1000.0 if raw is not None else 1.0
    except ValueError:
        return 1.0
    return value if 0 <= value < 3600 else 1.0


async def poll_run(
    runs: AsyncRuns,
    path: str,
    run_id: str,
    *,
    interval: float | None = None,
    timeout: float | None = None,
    extra_headers: Headers | None = None,
    extra_query: Mapping[str, Any] | None = None,
) -> Run:
    """``runs.poll``: retrieve the run at ``path`` until it rests, within ``timeout`` if
    given."""
    check_seconds("interval", interval, allow_none=True)
    check_seconds("timeout", timeout, allow_none=True)
    client = runs._client
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    last: Run | None = None
    while True:
        limits = None
        if deadline is not None:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise PollTimeoutError(last, timeout or 0.0, run_id=run_id)
            # Each look, its retries included, ends by the poll's deadline.
            limits = attrs.evolve(client.timeout, deadline=remaining)
        try:
            raw = await client.request_raw(
                "GET", path, timeout=limits, extra_headers=extra_headers, extra_query=extra_query
            )
        except APITimeoutError as exc:
            if deadline is not None:  # cut short by the poll's own deadline
                raise PollTimeoutError(last, timeout or 0.0, run_id=run_id) from exc
            raise
        run = client._parse(raw, Run, "GET", path)
        last = run
        if run.is_resting:
            return run
        delay = interval if interval is not None else poll_after(raw.headers)
        if deadline is not None:
            left = deadline - loop.time()
            if left <= delay:
                # The next look would come past the deadline: a request made then
                # would only time out, so wait out the deadline and say so.
                if left > 0:
                    await runs._sleep(left)
                raise PollTimeoutError(run, timeout or 0.0)
        await runs._sleep(delay)


async def run_tools(
    runs: AsyncRuns,
    thread_id: str,
    *,
    assistant_id: str,
    functions: Mapping[str, ToolFunction],
    on_error: Literal["report", "raise"],
    max_turns: int,
    poll_interval: float | None,
    poll_timeout: float | None,
    params: Mapping[str, Any],
) -> Run:
    """``runs.create_and_run_tools``: start a run, answer its tool calls until it ends."""
    if isinstance(max_turns, bool) or not isinstance(max_turns, int) or max_turns < 1:
        raise ValueError(f"max_turns must be a whole number >= 1, not {max_turns!r}")
    if not isinstance(functions, Mapping):
        raise TypeError("functions must map tool names to callables")
    run = await runs.create(thread_id, assistant_id=assistant_id, **params)
    run = await runs.poll(thread_id, run.id, interval=poll_interval, timeout=poll_timeout)
    turns = 0
    while run.status == "requires_action" and run.required_action is not None:
        if turns == max_turns:
            raise ToolLoopLimitError(run, max_turns)
        turns += 1
        calls = run.required_action.submit_tool_outputs.tool_calls
        outputs = await run_tool_calls(calls, functions, on_error=on_error, run=run)
        run = await runs.submit_tool_outputs(thread_id, run.id, tool_outputs=outputs)
        run = await runs.poll(thread_id, run.id, interval=poll_interval, timeout=poll_timeout)
    return run
