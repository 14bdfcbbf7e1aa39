"""The run operations and run steps: a run's life through ``requires_action`` (a function
call forced with ``tool_choice``, so that a real model makes it), the tool outputs,
completion, cancel, and the steps it leaves."""

from __future__ import annotations

import json
from typing import Any

from ..models import FunctionToolCall, MessageCreationStepDetails, ToolCallsStepDetails
from ._core import MARK, RESTING, Context, check
from ._operations import FORCED, FUNCTION_NAME, QUESTION

INCLUDE = ["step_details.tool_calls[*].file_search.results[*].content"]
OUTPUT = json.dumps({"city": "Paris", "temperature_c": 21, "conditions": "sunny"})
ACTIVE = frozenset({"queued", "in_progress", "requires_action", "cancelling"})


async def new_thread(ctx: Context, content: str = QUESTION) -> Any:
    thread = await ctx.call(
        ctx.client.threads.create, messages=[{"role": "user", "content": content}], metadata=MARK
    )
    ctx.keep("thread", thread.id)
    return thread


def forced_calls(ctx: Context, run: Any) -> list[Any]:
    """The tool calls of a run that must now be ``requires_action`` with the forced one."""
    if not ctx.expect_equal("status", "requires_action", run.status):
        return []
    action = run.required_action
    if not ctx.expect(action is not None, "required_action", "submit_tool_outputs", None):
        return []
    calls = list(action.submit_tool_outputs.tool_calls)
    names = [call.function.name for call in calls]
    ctx.expect(
        FUNCTION_NAME in names,
        "required_action...tool_calls[*].function.name",
        repr(FUNCTION_NAME),
        names,
    )
    for call in calls:
        try:
            json.loads(call.function.arguments)
        except ValueError:
            ctx.expect(False, "...function.arguments", "a JSON string", call.function.arguments)
    return calls


def outputs_for(calls: list[Any]) -> list[dict[str, str]]:
    return [{"tool_call_id": call.id, "output": OUTPUT} for call in calls]


async def forced_run(ctx: Context, **extra: Any) -> tuple[Any, Any]:
    """A new thread, and a run on it made to call the function: (thread, run)."""
    assistant = ctx.need("assistant", "assistants.create")
    thread = await new_thread(ctx)
    run = await ctx.call(
        ctx.client.runs.create, thread.id, assistant_id=assistant.id, tool_choice=FORCED, **extra
    )
    return thread, run


async def resting_run(ctx: Context) -> tuple[Any, Any, list[Any]]:
    """A new thread and a run made to call the function, now resting: (thread, run, its
    calls)."""
    thread, run = await forced_run(ctx)
    rested = await ctx.wait_run(thread.id, run.id, until=RESTING)
    return thread, rested, forced_calls(ctx, rested)


@check(
    "runs.create",
    "createRun: a forced function call, on an assistant with null instructions",
    runs=True,
    needs=("assistants.create",),
)
async def runs_create(ctx: Context) -> None:
    assistant = ctx.need("assistant", "assistants.create")
    thread, run = await forced_run(ctx, metadata=MARK)
    ctx.expect(run.status in ACTIVE, "status", "queued or in_progress", run.status)
    ctx.expect_equal("assistant_id", assistant.id, run.assistant_id)
    ctx.expect_equal("thread_id", thread.id, run.thread_id)
    ctx.expect_equal("metadata", MARK, run.metadata)
    ctx.expect_equal("tools[*].type", ["function"], [t.type for t in run.tools])
    ctx.fixtures["run_made"] = (thread, run)


@check(
    "runs.retrieve",
    "getRun: polled until it rests in requires_action with the forced call",
    runs=True,
    needs=("runs.create",),
)
async def runs_retrieve(ctx: Context) -> None:
    thread, run = ctx.need("run_made", "runs.create")
    rested = await ctx.wait_run(thread.id, run.id, until=RESTING)
    ctx.expect_equal("id", run.id, rested.id)
    calls = forced_calls(ctx, rested)
    if calls:
        ctx.fixtures["run"] = (thread, rested, calls)


@check("runs.update", "modifyRun: metadata set", runs=True, needs=("runs.create",))
async def runs_update(ctx: Context) -> None:
    thread, run = ctx.need("run_made", "runs.create")
    changed = {**MARK, "round": "1"}
    got = await ctx.call(ctx.client.runs.update, thread.id, run.id, metadata=changed)
    ctx.expect_equal("metadata", changed, got.metadata)
    ctx.expect_equal("id", run.id, got.id)


@check("runs.list", "listRuns: the thread's run", runs=True, needs=("runs.create",))
async def runs_list(ctx: Context) -> None:
    thread, run = ctx.need("run_made", "runs.create")
    page = await ctx.call(ctx.client.runs.list, thread.id)
    ctx.expect_equal("data[*].id", [run.id], [r.id for r in page.data])
    ctx.expect_equal("has_more", False, page.has_more)


@check(
    "runs.submit_tool_outputs",
    "submitToolOuputsToRun: the run completes; a second submission is refused",
    runs=True,
    needs=("runs.retrieve",),
)
async def runs_submit_tool_outputs(ctx: Context) -> None:
    thread, run, calls = ctx.need("run", "runs.retrieve")
    submit = ctx.client.runs.submit_tool_outputs
    answer = await ctx.call(submit, thread.id, run.id, tool_outputs=outputs_for(calls))
    ctx.expect(
        answer.status in ACTIVE | RESTING - {"requires_action"},
        "status",
        "queued, in_progress or a final status",
        answer.status,
    )
    ctx.expect_equal("required_action", None, answer.required_action)
    done = await ctx.wait_run(thread.id, run.id, until=RESTING - {"requires_action"})
    ctx.expect_equal("status", "completed", done.status)
    await ctx.refused(400, submit, thread.id, run.id, tool_outputs=outputs_for(calls))
    if done.status == "completed":
        ctx.fixtures["completed"] = (thread, done, calls)


@check(
    "runs.cancel", "cancelRun: cancelling, then cancelled", runs=True, needs=("assistants.create",)
)
async def runs_cancel(ctx: Context) -> None:
    thread, run = await forced_run(ctx)
    answer = await ctx.call(ctx.client.runs.cancel, thread.id, run.id)
    ctx.expect(
        answer.status in ("cancelling", "cancelled"),
        "status",
        "cancelling or cancelled",
        answer.status,
    )
    final = await ctx.wait_run(thread.id, run.id, until=frozenset())
    ctx.expect_equal("status", "cancelled", final.status)
    ctx.expect(final.cancelled_at is not None, "cancelled_at", "a time", None)


@check(
    "threads.create_and_run",
    "createThreadAndRun: a new thread and its run",
    runs=True,
    needs=("assistants.create",),
)
async def threads_create_and_run(ctx: Context) -> None:
    assistant = ctx.need("assistant", "assistants.create")
    run = await ctx.call(
        ctx.client.threads.create_and_run,
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": QUESTION}], "metadata": MARK},
        tool_choice=FORCED,
    )
    ctx.keep("thread", run.thread_id)
    ctx.expect(run.status in ACTIVE, "status", "queued or in_progress", run.status)
    ctx.expect_equal("assistant_id", assistant.id, run.assistant_id)
    rested = await ctx.wait_run(run.thread_id, run.id, until=RESTING)
    forced_calls(ctx, rested)
    thread = await ctx.call(ctx.client.threads.retrieve, run.thread_id)
    ctx.expect_equal("metadata", MARK, thread.metadata)
    if rested.status in ACTIVE:
        await ctx.call(ctx.client.runs.cancel, run.thread_id, run.id)


@check(
    "steps.list",
    "listRunSteps: the tool-call step and the message step, with include[]",
    runs=True,
    needs=("runs.submit_tool_outputs",),
)
async def steps_list(ctx: Context) -> None:
    thread, run, calls = ctx.need("completed", "runs.submit_tool_outputs")
    page = await ctx.call(ctx.client.steps.list, thread.id, run.id, order="asc", include=INCLUDE)
    types = [step.type for step in page.data]
    ctx.expect_equal("data[*].type", ["tool_calls", "message_creation"], types)
    for step in page.data:
        ctx.expect_equal("data[*].run_id", run.id, step.run_id)
        ctx.expect_equal("data[*].status", "completed", step.status)
        details = step.step_details
        if isinstance(details, ToolCallsStepDetails):
            outputs = [
                c.function.output for c in details.tool_calls if isinstance(c, FunctionToolCall)
            ]
            ctx.expect_equal(
                "step_details.tool_calls[*].function.output", [OUTPUT] * len(calls), outputs
            )
        elif isinstance(details, MessageCreationStepDetails):
            message = await ctx.call(
                ctx.client.messages.retrieve, thread.id, details.message_creation.message_id
            )
            ctx.expect_equal("role", "assistant", message.role)
            ctx.expect_equal("run_id", run.id, message.run_id)
    ctx.fixtures["steps"] = (thread, run, page.data)


@check("steps.retrieve", "getRunStep: each step, with include[]", runs=True, needs=("steps.list",))
async def steps_retrieve(ctx: Context) -> None:
    thread, run, steps = ctx.need("steps", "steps.list")
    for step in steps:
        got = await ctx.call(ctx.client.steps.retrieve, thread.id, run.id, step.id, include=INCLUDE)
        ctx.expect_equal("id", step.id, got.id)
        ctx.expect_equal("type", step.type, got.type)
        ctx.expect_equal("status", step.status, got.status)
