"""Semantics, not shapes: paging under same-second ties, errors, one active run per thread,
usage, the beta header."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from typing import Any

from .._errors import APIError
from ..models import Run
from ._core import MARK, Context, check
from ._runs import ACTIVE, resting_run

TIES = 30  # made at once: more than 25 within one second on any local server
PAGE = 7  # pages of 7 over 30 items: a short last page, cursors in the middle of ties


def ids(items: list[Any]) -> list[str]:
    return [item.id for item in items]


async def _messages_made_at_once(ctx: Context) -> tuple[str, list[str]]:
    cached = ctx.fixtures.get("ties")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    thread = await ctx.call(ctx.client.threads.create, metadata=MARK)
    ctx.keep("thread", thread.id)
    made = await asyncio.gather(
        *(
            ctx.call(ctx.client.messages.create, thread.id, role="user", content=f"tie {i}")
            for i in range(TIES)
        ),
        return_exceptions=True,  # all settle before the check goes on, whatever came
    )
    for outcome in made:
        if isinstance(outcome, BaseException):
            raise outcome
    full = await ctx.call(ctx.client.messages.list, thread.id, order="asc", limit=100)
    order = ids(full.data)
    ctx.expect(
        sorted(order) == sorted(m.id for m in made if not isinstance(m, BaseException)),
        "data (limit=100)",
        f"the {TIES} messages made, each once",
        f"{len(order)} items, {len(set(order))} distinct",
    )
    ctx.fixtures["ties"] = (thread.id, order)
    return thread.id, order


@check(
    "paging.ties", f"listMessages: {TIES} messages made at once, sorted, desc the reverse of asc"
)
async def paging_ties(ctx: Context) -> None:
    thread_id, asc = await _messages_made_at_once(ctx)
    full = await ctx.call(ctx.client.messages.list, thread_id, order="asc", limit=100)
    stamps = [m.created_at for m in full.data]
    ctx.expect_equal("data[*].created_at (order=asc)", sorted(stamps), stamps)
    tied = max(Counter(stamps).values(), default=0)
    ctx.note = f"{len(stamps)} made at once, {tied} of them within one second"
    desc = await ctx.call(ctx.client.messages.list, thread_id, order="desc", limit=100)
    ctx.expect_equal("data[*].id (order=desc)", asc[::-1], ids(desc.data))
    ctx.expect_equal("has_more (limit=100)", False, desc.has_more)
    again = await ctx.call(ctx.client.messages.list, thread_id, order="asc", limit=100)
    ctx.expect_equal("data[*].id (the same list twice)", asc, ids(again.data))


async def _walk(
    ctx: Context, thread_id: str, order: str, cursor: str, start: str | None, want: list[str]
) -> None:
    """Walk pages of PAGE with ``after`` (forward) or ``before`` (backward) and compare
    each page with the slice of the full list it must be."""
    got: list[str] = []
    position = None if start is None else want.index(start)
    if cursor == "before":
        want = want[:position]  # what a backward walk from ``start`` must yield
    label = f"{cursor} (order={order}, limit={PAGE})"
    for _ in range(len(want) + 2):  # bounded: a cursor that never ends is a finding
        page = await ctx.call(
            ctx.client.messages.list,
            thread_id,
            order=order,
            limit=PAGE,
            **{cursor: start} if start is not None else {},
        )
        items = ids(page.data)
        if cursor == "after":
            begin = 0 if position is None else position + 1
            expected = want[begin : begin + PAGE]
            more = begin + PAGE < len(want)
        else:
            end = len(want) if position is None else position
            expected = want[max(0, end - PAGE) : end]
            more = end - PAGE > 0
        if not ctx.expect_equal(f"data[*].id, {label} {start}", expected, items):
            return
        ctx.expect_equal(f"has_more, {label} {start}", more, page.has_more)
        if items:
            ctx.expect_equal(f"first_id, {label}", items[0], page.first_id)
            ctx.expect_equal(f"last_id, {label}", items[-1], page.last_id)
        got = items + got if cursor == "before" else got + items
        if not page.has_more or not items:
            break
        start = items[-1] if cursor == "after" else items[0]
        position = want.index(start)
    ctx.expect(got == want, f"every item once, {label}", f"{len(want)} items", f"{len(got)}")


@check("paging.after", "after: forward walks in both orders, every item once, has_more")
async def paging_after(ctx: Context) -> None:
    thread_id, asc = await _messages_made_at_once(ctx)
    await _walk(ctx, thread_id, "asc", "after", None, asc)
    await _walk(ctx, thread_id, "desc", "after", None, asc[::-1])


@check("paging.before", "before: backward walks in both orders, the page just before the cursor")
async def paging_before(ctx: Context) -> None:
    thread_id, asc = await _messages_made_at_once(ctx)
    # From the last item backward: each page is the PAGE items just before the cursor.
    await _walk(ctx, thread_id, "asc", "before", asc[-1], asc)
    await _walk(ctx, thread_id, "desc", "before", asc[0], asc[::-1])


@check("paging.limit", "limit: 1 and 100 accepted, 0 and 101 refused with 400 naming it")
async def paging_limit(ctx: Context) -> None:
    thread_id, asc = await _messages_made_at_once(ctx)
    one = await ctx.call(ctx.client.messages.list, thread_id, order="asc", limit=1)
    ctx.expect_equal("data[*].id (limit=1)", asc[:1], ids(one.data))
    ctx.expect_equal("has_more (limit=1)", True, one.has_more)
    default = await ctx.call(ctx.client.messages.list, thread_id, order="asc")
    ctx.expect_equal("data[*].id (no limit: 20)", asc[:20], ids(default.data))
    path = f"/threads/{thread_id}/messages"
    for bad in (0, 101):
        # Sent raw: the client itself refuses these before sending.
        await ctx.refused(400, ctx.client.request, "GET", path, query={"limit": bad}, param="limit")


@check("errors.not_found", "unknown ids: 404 with the error envelope, for every kind of object")
async def errors_not_found(ctx: Context) -> None:
    client = ctx.client
    thread = ctx.fixtures.get("thread")
    thread_id = thread.id if thread is not None else "thread_checkmissing"
    cases: list[tuple[Any, tuple[str, ...]]] = [
        (client.assistants.retrieve, ("asst_checkmissing",)),
        (client.threads.retrieve, ("thread_checkmissing",)),
        (client.messages.retrieve, (thread_id, "msg_checkmissing")),
        (client.runs.retrieve, (thread_id, "run_checkmissing")),
        (client.steps.retrieve, (thread_id, "run_checkmissing", "step_checkmissing")),
        (client.assistants.update, ("asst_checkmissing",)),
        (client.threads.delete, ("thread_checkmissing",)),
    ]
    for method, args in cases:
        await ctx.refused(404, method, *args, envelope=True)


@check("errors.invalid_body", "invalid bodies: 400 with the envelope and param naming the field")
async def errors_invalid_body(ctx: Context) -> None:
    request = ctx.client.request
    thread = ctx.fixtures.get("thread_empty")
    # Sent raw: the client refuses each of these before sending.
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("/assistants", {"name": "no model"}, "model"),
        ("/assistants", {"model": 5}, "model"),
        ("/assistants", {"model": "m", "temperature": 3}, "temperature"),
        ("/assistants", {"model": "m", "tools": [{"type": "shell"}]}, "tools[0].type"),
        ("/threads", {"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
    ]
    if thread is not None:
        messages = f"/threads/{thread.id}/messages"
        cases += [
            (messages, {"role": "system", "content": "x"}, "role"),
            (messages, {"role": "user"}, "content"),
        ]
    for path, body, param in cases:
        error = await ctx.refused(400, request, "POST", path, body=body, envelope=True)
        if error is not None and error.status_code == 400:
            ctx.expect(
                error.param is not None and error.param.startswith(param.split("[")[0]),
                "error.param",
                repr(param),
                error.param,
            )


@check(
    "runs.one_active",
    "one active run per thread: a second run is refused with 400",
    runs=True,
    needs=("assistants.create",),
)
async def runs_one_active(ctx: Context) -> None:
    assistant = ctx.need("assistant", "assistants.create")
    thread, run, _ = await resting_run(ctx)
    ctx.expect(run.status in ACTIVE, "status", "an active run to test with", run.status)
    await ctx.refused(400, ctx.client.runs.create, thread.id, assistant_id=assistant.id)
    if isinstance(ctx.accepted, Run):  # a second run after all: stop it, if it stops
        with contextlib.suppress(APIError):
            await ctx.client.runs.cancel(thread.id, ctx.accepted.id)
    if run.status in ACTIVE:
        await ctx.call(ctx.client.runs.cancel, thread.id, run.id)


@check(
    "runs.usage",
    "usage on a completed run and its steps, its total the sum of its parts",
    runs=True,
    needs=("runs.submit_tool_outputs",),
)
async def runs_usage(ctx: Context) -> None:
    thread, done, _ = ctx.need("completed", "runs.submit_tool_outputs")
    run = await ctx.call(ctx.client.runs.retrieve, thread.id, done.id)
    usage = run.usage
    ctx.expect(usage is not None, "usage", "an object on a completed run", None)
    if usage is not None:
        total = usage.prompt_tokens + usage.completion_tokens
        ctx.expect_equal("usage.total_tokens", total, usage.total_tokens)
    page = await ctx.call(ctx.client.steps.list, thread.id, run.id)
    for step in page.data:
        ctx.expect(
            step.usage is not None, f"step {step.type}.usage", "an object on a completed step", None
        )


@check("beta_header", "OpenAI-Beta: assistants=v2 required, as the service required it")
async def beta_header(ctx: Context) -> None:
    list_ = ctx.client.assistants.list
    for value in (None, "assistants=v1"):
        # The service refused both: a server that does not lets a client's slip through.
        await ctx.refused(
            400,
            list_,
            limit=1,
            extra_headers={"OpenAI-Beta": value},
            label=f"OpenAI-Beta: {value or '(none)'}",
        )
