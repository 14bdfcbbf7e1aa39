"""The spec's request bodies as one table of validators, with the API's error wording.

The client checks what a method was given against it before sending; the fake server
checks what it receives, and answers 400 as the service did. The shapes mirror the
spec's request schemas (all ``additionalProperties: false``); a test compares these
declarations with the spec (``tests/spec``) so the two cannot drift.
"""

from __future__ import annotations

from typing import Any

from ._validators import (
    AnyObj,
    Arr,
    Bool,
    Either,
    Invalid,
    Metadata,
    Nullable,
    Num,
    Obj,
    Req,
    Str,
    Tagged,
    V,
    typed,
)

__all__ = ["REQUEST_BODIES", "Invalid", "validate"]


# --- the request bodies ----------------------------------------------------------------

RANKING = Obj(
    {"ranker": Str(enum=["auto", "default_2024_08_21"]), "score_threshold": Num(0, 1)},
    required=["score_threshold"],
)
FUNCTION = Obj(
    {
        "name": Str(max_len=64),
        "description": Str(),
        "parameters": AnyObj(),
        "strict": Nullable(Bool()),
    },
    required=["name"],
)
TOOL = Tagged(
    {
        "code_interpreter": typed("code_interpreter"),
        "file_search": typed(
            "file_search",
            file_search=Obj(
                {"max_num_results": Num(1, 50, integer=True), "ranking_options": RANKING}
            ),
        ),
        "function": typed("function", function=Req(FUNCTION)),
    }
)
ATTACHMENT_TOOL = Tagged(
    {"code_interpreter": typed("code_interpreter"), "file_search": typed("file_search")}
)


def _tool_resources(*, creating: bool) -> Nullable:
    """Tool resources; only an assistant or a thread being created may make vector
    stores on the fly (``vector_stores``): the spec has only ``vector_store_ids``
    elsewhere."""
    file_search: dict[str, V] = {"vector_store_ids": Arr(Str(), max_items=1)}
    if creating:
        file_search["vector_stores"] = Arr(AnyObj(), max_items=1)
    return Nullable(
        Obj(
            {
                "code_interpreter": Obj({"file_ids": Arr(Str(), max_items=20)}),
                "file_search": Obj(file_search),
            }
        )
    )


TOOL_RESOURCES = _tool_resources(creating=True)
TOOL_RESOURCE_IDS = _tool_resources(creating=False)
RESPONSE_FORMAT = Nullable(
    Either(
        Str(enum=["auto"]),
        Tagged(
            {
                "text": typed("text"),
                "json_object": typed("json_object"),
                "json_schema": typed(
                    "json_schema",
                    json_schema=Req(
                        Obj(
                            {
                                "name": Str(max_len=64),
                                "description": Str(),
                                "schema": AnyObj(),
                                "strict": Nullable(Bool()),
                            },
                            required=["name"],
                        )
                    ),
                ),
            }
        ),
    )
)
REASONING_EFFORT = Nullable(Str(enum=["none", "minimal", "low", "medium", "high", "xhigh", "max"]))
IMAGE_DETAIL = Str(enum=["auto", "low", "high"])
CONTENT_PART = Tagged(
    {
        "image_file": typed(
            "image_file",
            image_file=Req(Obj({"file_id": Str(), "detail": IMAGE_DETAIL}, ["file_id"])),
        ),
        "image_url": typed(
            "image_url", image_url=Req(Obj({"url": Str(), "detail": IMAGE_DETAIL}, ["url"]))
        ),
        "text": typed("text", text=Req(Str())),
    }
)
MESSAGE = Obj(
    {
        "role": Str(enum=["user", "assistant"]),
        "content": Either(Str(), Arr(CONTENT_PART, min_items=1)),
        "attachments": Nullable(Arr(Obj({"file_id": Str(), "tools": Arr(ATTACHMENT_TOOL)}))),
        "metadata": Metadata(),
    },
    required=["role", "content"],
)
TRUNCATION = Nullable(
    Obj(
        {
            "type": Str(enum=["auto", "last_messages"]),
            "last_messages": Nullable(Num(1, None, integer=True)),
        },
        required=["type"],
    )
)
TOOL_CHOICE = Nullable(
    Either(
        Str(enum=["none", "auto", "required"]),
        Obj(
            {
                "type": Str(enum=["function", "code_interpreter", "file_search"]),
                "function": Obj({"name": Str()}, ["name"]),
            },
            required=["type"],
        ),
    )
)
TOKENS = Nullable(Num(256, None, integer=True))
TEMPERATURE = Nullable(Num(0, 2))
TOP_P = Nullable(Num(0, 1))

_ASSISTANT_FIELDS: dict[str, V] = {
    "model": Str(),
    "reasoning_effort": REASONING_EFFORT,
    "name": Nullable(Str(max_len=256)),
    "description": Nullable(Str(max_len=512)),
    "instructions": Nullable(Str(max_len=256_000)),
    "tools": Arr(TOOL, max_items=128),
    "tool_resources": TOOL_RESOURCES,
    "metadata": Metadata(),
    "temperature": TEMPERATURE,
    "top_p": TOP_P,
    "response_format": RESPONSE_FORMAT,
}
_THREAD = Obj({"messages": Arr(MESSAGE), "tool_resources": TOOL_RESOURCES, "metadata": Metadata()})
_RUN_FIELDS: dict[str, V] = {
    "assistant_id": Str(),
    "model": Nullable(Str()),
    "instructions": Nullable(Str()),
    "tools": Nullable(Arr(TOOL, max_items=20)),
    "metadata": Metadata(),
    "temperature": TEMPERATURE,
    "top_p": TOP_P,
    "stream": Nullable(Bool()),
    "max_prompt_tokens": TOKENS,
    "max_completion_tokens": TOKENS,
    "truncation_strategy": TRUNCATION,
    "tool_choice": TOOL_CHOICE,
    "parallel_tool_calls": Bool(),
    "response_format": RESPONSE_FORMAT,
}

# operationId -> (spec schema name, validator)
REQUEST_BODIES: dict[str, tuple[str, Obj]] = {
    "createAssistant": ("CreateAssistantRequest", Obj(_ASSISTANT_FIELDS, required=["model"])),
    "modifyAssistant": (
        "ModifyAssistantRequest",
        Obj({**_ASSISTANT_FIELDS, "tool_resources": TOOL_RESOURCE_IDS}),
    ),
    "createThread": ("CreateThreadRequest", _THREAD),
    "modifyThread": (
        "ModifyThreadRequest",
        Obj({"tool_resources": TOOL_RESOURCE_IDS, "metadata": Metadata()}),
    ),
    "createMessage": ("CreateMessageRequest", MESSAGE),
    "modifyMessage": ("ModifyMessageRequest", Obj({"metadata": Metadata()})),
    "createRun": (
        "CreateRunRequest",
        Obj(
            {
                **_RUN_FIELDS,
                "reasoning_effort": REASONING_EFFORT,
                "additional_instructions": Nullable(Str()),
                "additional_messages": Nullable(Arr(MESSAGE)),
            },
            required=["assistant_id"],
        ),
    ),
    "modifyRun": ("ModifyRunRequest", Obj({"metadata": Metadata()})),
    "createThreadAndRun": (
        "CreateThreadAndRunRequest",
        Obj(
            {**_RUN_FIELDS, "thread": _THREAD, "tool_resources": TOOL_RESOURCE_IDS},
            required=["assistant_id"],
        ),
    ),
    "submitToolOuputsToRun": (
        "SubmitToolOutputsRunRequest",
        Obj(
            {
                "tool_outputs": Arr(Obj({"tool_call_id": Str(), "output": Str()})),
                "stream": Nullable(Bool()),
            },
            required=["tool_outputs"],
        ),
    ),
}


def validate(operation: str, body: Any) -> None:
    """Raise ``Invalid`` if ``body`` is not a valid request body for ``operation``."""
    entry = REQUEST_BODIES.get(operation)
    if entry is not None:
        entry[1].check(body, "")
