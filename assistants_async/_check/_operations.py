"""One check per operation of the spec (all 23), with the request variants that matter.

Each check calls its operation first in the run, so a deviation in an operation's answer
is reported by that operation's check; the semantic checks come after.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ..models import TextContentBlock
from ._core import MARK, Context, check

FUNCTION_NAME = "get_weather"
FUNCTION_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": FUNCTION_NAME,
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
FORCED = {"type": "function", "function": {"name": FUNCTION_NAME}}
QUESTION = "What is the weather in Paris?"
PARTS_TEXT = "Parts: one text part."
IMAGE_URL = "https://example.com/check.png"
TOOL_TYPES = ["code_interpreter", "file_search", "function"]


def texts(message: Any) -> list[str]:
    return [p.text.value for p in message.content if isinstance(p, TextContentBlock)]


def metadata_cleared(value: object) -> bool:
    return value in ({}, None)


# --- assistants ---------------------------------------------------------------------


@check("assistants.create", "createAssistant: each tool type, metadata, null instructions")
async def assistants_create(ctx: Context) -> None:
    create = ctx.client.assistants.create
    tools: list[Any] = [{"type": t} for t in TOOL_TYPES[:2]] + [FUNCTION_TOOL]
    full = await ctx.call(
        create,
        model=ctx.model,
        name="check: every tool",
        description="made by assistants-async check",
        instructions="You answer briefly.",
        tools=tools,
        metadata=MARK,
        temperature=0.5,
    )
    ctx.keep("assistant", full.id)
    ctx.expect_equal("tools[*].type", TOOL_TYPES, [t.type for t in full.tools])
    ctx.expect_equal("name", "check: every tool", full.name)
    ctx.expect_equal("metadata", MARK, full.metadata)
    ctx.expect_equal("model", ctx.model, full.model)
    ctx.expect_equal("instructions", "You answer briefly.", full.instructions)
    ctx.fixtures["assistant_full"] = full

    # The runs' assistant: a function tool and no instructions (null), the ordinary case.
    runner = await ctx.call(
        create, model=ctx.model, name="check: runs", tools=[FUNCTION_TOOL], metadata=MARK
    )
    ctx.keep("assistant", runner.id)
    ctx.expect_equal("instructions", None, runner.instructions)
    ctx.fixtures["assistant"] = runner

    plain = await ctx.call(create, model=ctx.model, metadata=MARK)
    ctx.keep("assistant", plain.id)
    ctx.expect_equal("tools", [], [t.type for t in plain.tools])
    ctx.fixtures["assistant_plain"] = plain


async def same_object(
    ctx: Context, retrieve: Callable[..., Awaitable[Any]], made: Any, *within: str
) -> Any:
    """Retrieve ``made`` (inside ``within``, a thread or a run): the same id and time."""
    got = await ctx.call(retrieve, *within, made.id)
    ctx.expect_equal("id", made.id, got.id)
    ctx.expect_equal("created_at", made.created_at, got.created_at)
    return got


@check("assistants.retrieve", "getAssistant: the object as created", needs=("assistants.create",))
async def assistants_retrieve(ctx: Context) -> None:
    made = ctx.need("assistant_full", "assistants.create")
    got = await same_object(ctx, ctx.client.assistants.retrieve, made)
    ctx.expect_equal("tools[*].type", TOOL_TYPES, [t.type for t in got.tools])
    ctx.expect_equal("metadata", MARK, got.metadata)


@check(
    "assistants.update",
    "modifyAssistant: name, metadata set, then cleared with null",
    needs=("assistants.create",),
)
async def assistants_update(ctx: Context) -> None:
    made = ctx.need("assistant_full", "assistants.create")
    update = ctx.client.assistants.update
    changed = {**MARK, "round": "1"}
    got = await ctx.call(update, made.id, name="check: renamed", metadata=changed)
    ctx.expect_equal("name", "check: renamed", got.name)
    ctx.expect_equal("metadata", changed, got.metadata)
    ctx.expect_equal("tools[*].type", TOOL_TYPES, [t.type for t in got.tools])
    again = await ctx.call(ctx.client.assistants.retrieve, made.id)
    ctx.expect_equal("metadata", changed, again.metadata)
    cleared = await ctx.call(update, made.id, metadata=None)
    ctx.expect(metadata_cleared(cleared.metadata), "metadata", "{} (cleared)", cleared.metadata)
    ctx.expect_equal("name", "check: renamed", cleared.name)


@check(
    "assistants.list",
    "listAssistants: the assistants made, in both orders",
    needs=("assistants.create",),
)
async def assistants_list(ctx: Context) -> None:
    made = ("assistant_full", "assistant", "assistant_plain")
    ours = {ctx.need(name, "assistants.create").id for name in made}
    seen: dict[str, list[Any]] = {}
    for order in ("asc", "desc"):
        found: list[Any] = []
        after: str | None = None
        for _ in range(50):  # bounded: a server may hold many assistants
            page = await ctx.call(ctx.client.assistants.list, limit=100, order=order, after=after)
            found += [a for a in page.data if a.id in ours]
            if not page.has_more or not page.data or len(found) >= len(ours):
                break
            after = page.data[-1].id
        ids = [a.id for a in found]
        ctx.expect(set(ids) == ours, f"data (order={order})", "the 3 assistants made", ids)
        stamps = [a.created_at for a in found]
        ctx.expect_equal(
            f"data[*].created_at (order={order})", sorted(stamps, reverse=order == "desc"), stamps
        )
        seen[order] = ids
    ctx.expect_equal("data (order=desc)", seen["asc"][::-1], seen["desc"])


@check(
    "assistants.delete",
    "deleteAssistant: the answer, then 404 for the deleted one",
    needs=("assistants.create",),
)
async def assistants_delete(ctx: Context) -> None:
    plain = ctx.need("assistant_plain", "assistants.create")
    assistants = ctx.client.assistants
    await deleted(ctx, "assistant", assistants.delete, plain.id, assistants.retrieve)
    await ctx.refused(404, assistants.delete, plain.id)


async def deleted(
    ctx: Context,
    kind: str,
    delete: Callable[..., Awaitable[Any]],
    object_id: str,
    retrieve: Callable[..., Awaitable[Any]],
) -> None:
    """Delete: the answer names the object and says so; the object is then not found."""
    answer = await ctx.call(delete, object_id)
    ctx.forget(kind, object_id)
    ctx.expect_equal("id", object_id, answer.id)
    ctx.expect_equal("deleted", True, answer.deleted)
    await ctx.refused(404, retrieve, object_id)


# --- threads ------------------------------------------------------------------------


@check("threads.create", "createThread: empty, and with messages (a string, parts) and metadata")
async def threads_create(ctx: Context) -> None:
    create = ctx.client.threads.create
    empty = await ctx.call(create)
    ctx.keep("thread", empty.id)
    ctx.expect_equal("metadata", {}, empty.metadata)
    thread = await ctx.call(
        create,
        messages=[
            {"role": "user", "content": QUESTION},
            {"role": "user", "content": [{"type": "text", "text": PARTS_TEXT}]},
        ],
        metadata=MARK,
    )
    ctx.keep("thread", thread.id)
    ctx.expect_equal("metadata", MARK, thread.metadata)
    ctx.fixtures["thread"] = thread
    ctx.fixtures["thread_empty"] = empty


@check("threads.retrieve", "getThread: the thread as created", needs=("threads.create",))
async def threads_retrieve(ctx: Context) -> None:
    made = ctx.need("thread", "threads.create")
    got = await same_object(ctx, ctx.client.threads.retrieve, made)
    ctx.expect_equal("metadata", MARK, got.metadata)


@check(
    "threads.update",
    "modifyThread: metadata set, then cleared with null",
    needs=("threads.create",),
)
async def threads_update(ctx: Context) -> None:
    made = ctx.need("thread_empty", "threads.create")
    changed = {**MARK, "round": "1"}
    got = await ctx.call(ctx.client.threads.update, made.id, metadata=changed)
    ctx.expect_equal("metadata", changed, got.metadata)
    again = await ctx.call(ctx.client.threads.retrieve, made.id)
    ctx.expect_equal("metadata", changed, again.metadata)
    cleared = await ctx.call(ctx.client.threads.update, made.id, metadata=None)
    ctx.expect(metadata_cleared(cleared.metadata), "metadata", "{} (cleared)", cleared.metadata)


@check("threads.delete", "deleteThread: the answer, then 404 for the thread and its messages")
async def threads_delete(ctx: Context) -> None:
    thread = await ctx.call(
        ctx.client.threads.create, messages=[{"role": "user", "content": "bye"}], metadata=MARK
    )
    ctx.keep("thread", thread.id)
    await deleted(ctx, "thread", ctx.client.threads.delete, thread.id, ctx.client.threads.retrieve)
    await ctx.refused(404, ctx.client.messages.list, thread.id)


# --- messages -----------------------------------------------------------------------


@check(
    "messages.create",
    "createMessage: content as a string and as parts, metadata",
    needs=("threads.create",),
)
async def messages_create(ctx: Context) -> None:
    thread = ctx.need("thread_empty", "threads.create")
    create = ctx.client.messages.create
    text = await ctx.call(create, thread.id, role="user", content=QUESTION, metadata=MARK)
    ctx.expect_equal("content[*].text.value", [QUESTION], texts(text))
    ctx.expect_equal("role", "user", text.role)
    ctx.expect_equal("thread_id", thread.id, text.thread_id)
    ctx.expect_equal("metadata", MARK, text.metadata)
    parts = await ctx.call(
        create,
        thread.id,
        role="user",
        content=[
            {"type": "text", "text": PARTS_TEXT},
            {"type": "image_url", "image_url": {"url": IMAGE_URL, "detail": "low"}},
        ],
    )
    ctx.expect_equal("content[*].type", ["text", "image_url"], [p.type for p in parts.content])
    ctx.expect_equal("content[0].text.value", [PARTS_TEXT], texts(parts))
    ctx.fixtures["messages"] = (thread.id, [text, parts])


@check(
    "messages.list",
    "listMessages: the messages of a thread, in both orders",
    needs=("threads.create",),
)
async def messages_list(ctx: Context) -> None:
    thread = ctx.need("thread", "threads.create")
    asc = await ctx.call(ctx.client.messages.list, thread.id, order="asc")
    ctx.expect_equal(
        "data[*].content (order=asc)", [[QUESTION], [PARTS_TEXT]], [texts(m) for m in asc.data]
    )
    desc = await ctx.call(ctx.client.messages.list, thread.id, order="desc")
    ctx.expect_equal(
        "data[*].id (order=desc)", [m.id for m in asc.data][::-1], [m.id for m in desc.data]
    )
    ctx.expect_equal("has_more", False, desc.has_more)


@check("messages.retrieve", "getMessage: the message as created", needs=("messages.create",))
async def messages_retrieve(ctx: Context) -> None:
    thread_id, made = ctx.need("messages", "messages.create")
    got = await ctx.call(ctx.client.messages.retrieve, thread_id, made[0].id)
    ctx.expect_equal("id", made[0].id, got.id)
    ctx.expect_equal("content[*].text.value", texts(made[0]), texts(got))


@check(
    "messages.update",
    "modifyMessage: metadata set, then cleared with null",
    needs=("messages.create",),
)
async def messages_update(ctx: Context) -> None:
    thread_id, made = ctx.need("messages", "messages.create")
    changed = {**MARK, "round": "1"}
    got = await ctx.call(ctx.client.messages.update, thread_id, made[0].id, metadata=changed)
    ctx.expect_equal("metadata", changed, got.metadata)
    ctx.expect_equal("content[*].text.value", texts(made[0]), texts(got))
    cleared = await ctx.call(ctx.client.messages.update, thread_id, made[0].id, metadata=None)
    ctx.expect(metadata_cleared(cleared.metadata), "metadata", "{} (cleared)", cleared.metadata)


@check(
    "messages.delete",
    "deleteMessage: the answer, then 404, and gone from the list",
    needs=("messages.create",),
)
async def messages_delete(ctx: Context) -> None:
    thread_id, made = ctx.need("messages", "messages.create")
    gone = made[1]
    answer = await ctx.call(ctx.client.messages.delete, thread_id, gone.id)
    ctx.expect_equal("id", gone.id, answer.id)
    ctx.expect_equal("deleted", True, answer.deleted)
    await ctx.refused(404, ctx.client.messages.retrieve, thread_id, gone.id)
    page = await ctx.call(ctx.client.messages.list, thread_id, limit=100)
    ctx.expect(
        gone.id not in [m.id for m in page.data], "data[*].id", "no deleted message", gone.id
    )
