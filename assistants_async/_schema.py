"""The spec's request bodies as one table of validators, with the API's error wording.

The client checks what a method was given against it before sending; the fake server
checks what it receives, and answers 400 as the service did. The shapes mirror the
spec's request schemas (all ``additionalProperties: false``); a test compares these
declarations with the spec (``tests/spec``) so the two cannot drift.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ._decoding.rules import json_kind

__all__ = ["REQUEST_BODIES", "Invalid", "validate"]


class Invalid(Exception):
    """A request the API refuses: the status and error-envelope fields it answers with
    (400 for a body that breaks the schema; the fake server raises it for every refusal)."""

    def __init__(
        self,
        message: str,
        param: str | None = None,
        code: str | None = None,
        *,
        status: int = 400,
        kind: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code
        self.status = status
        self.kind = kind


def _type_error(path: str, expected: str, value: object) -> Invalid:
    got = json_kind(value, api=True)
    return Invalid(
        f"Invalid type for '{path}': expected {expected}, but got {got} instead.",
        path,
        "invalid_type",
    )


class V:
    expected = "a value"

    def check(self, value: Any, path: str) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class Str(V):
    expected = "a string"

    def __init__(self, enum: Sequence[str] | None = None, max_len: int | None = None) -> None:
        self.enum = enum
        self.max_len = max_len

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, str):
            raise _type_error(path, self.expected, value)
        if self.enum is not None and value not in self.enum:
            supported = ", ".join(f"'{e}'" for e in self.enum)
            raise Invalid(
                f"Invalid value: '{value}'. Supported values are: {supported}.",
                path,
                "invalid_value",
            )
        if self.max_len is not None and len(value) > self.max_len:
            raise Invalid(
                f"Invalid '{path}': string too long. Expected a string with maximum length "
                f"{self.max_len}, but got a string with length {len(value)} instead.",
                path,
                "string_above_max_length",
            )


class Num(V):
    def __init__(
        self, low: float | None = None, high: float | None = None, integer: bool = False
    ) -> None:
        self.low, self.high, self.integer = low, high, integer
        self.expected = "an integer" if integer else "a decimal"

    def check(self, value: Any, path: str) -> None:
        ok = isinstance(value, int) if self.integer else isinstance(value, int | float)
        if isinstance(value, bool) or not ok:
            raise _type_error(path, self.expected, value)
        if isinstance(value, float) and not math.isfinite(value):
            raise _type_error(path, self.expected, value)
        kind = "integer" if self.integer else "decimal"
        if self.low is not None and value < self.low:
            raise Invalid(
                f"Invalid '{path}': {kind} below minimum value. Expected a value >= "
                f"{self.low:g}, but got {value:g} instead.",
                path,
                f"{kind}_below_min_value",
            )
        if self.high is not None and value > self.high:
            raise Invalid(
                f"Invalid '{path}': {kind} above maximum value. Expected a value <= "
                f"{self.high:g}, but got {value:g} instead.",
                path,
                f"{kind}_above_max_value",
            )


class Bool(V):
    expected = "a boolean"

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, bool):
            raise _type_error(path, self.expected, value)


class Nullable(V):
    def __init__(self, inner: V) -> None:
        self.inner = inner
        self.expected = inner.expected

    def check(self, value: Any, path: str) -> None:
        if value is not None:
            self.inner.check(value, path)


class Arr(V):
    expected = "an array"

    def __init__(self, item: V, max_items: int | None = None, min_items: int = 0) -> None:
        self.item, self.max_items, self.min_items = item, max_items, min_items

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, list):
            raise _type_error(path, self.expected, value)
        if self.max_items is not None and len(value) > self.max_items:
            raise Invalid(
                f"Invalid '{path}': array too long. Expected an array with maximum length "
                f"{self.max_items}, but got an array with length {len(value)} instead.",
                path,
                "array_above_max_length",
            )
        if len(value) < self.min_items:
            raise Invalid(
                f"Invalid '{path}': empty array. Expected an array with minimum length "
                f"{self.min_items}, but got an empty array instead.",
                path,
                "empty_array",
            )
        for index, item in enumerate(value):
            self.item.check(item, f"{path}[{index}]")


class AnyObj(V):
    expected = "an object"

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise _type_error(path, self.expected, value)


class Obj(V):
    expected = "an object"

    def __init__(self, fields: Mapping[str, V], required: Sequence[str] = ()) -> None:
        self.fields = dict(fields)
        self.required = tuple(required)

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise _type_error(path or "body", self.expected, value)
        prefix = f"{path}." if path else ""
        for name in value:
            if name not in self.fields:
                raise Invalid(
                    f"Unknown parameter: '{prefix}{name}'.", f"{prefix}{name}", "unknown_parameter"
                )
        for name in self.required:
            if name not in value:
                raise Invalid(
                    f"Missing required parameter: '{prefix}{name}'.",
                    f"{prefix}{name}",
                    "missing_required_parameter",
                )
        for name, item in value.items():
            self.fields[name].check(item, f"{prefix}{name}")


class Tagged(V):
    """A oneOf told apart by its ``type`` field."""

    expected = "an object"

    def __init__(self, variants: Mapping[str, V]) -> None:
        self.variants = dict(variants)

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise _type_error(path, self.expected, value)
        if "type" not in value:
            raise Invalid(
                f"Missing required parameter: '{path}.type'.",
                f"{path}.type",
                "missing_required_parameter",
            )
        Str(enum=list(self.variants)).check(value["type"], f"{path}.type")
        self.variants[value["type"]].check(value, path)


class Either(V):
    """A string form or an object/array form, told apart by JSON type."""

    def __init__(self, text: V, other: V) -> None:
        self.text, self.other = text, other
        self.expected = f"{text.expected} or {other.expected}"

    def check(self, value: Any, path: str) -> None:
        if isinstance(value, str):
            self.text.check(value, path)
        elif isinstance(value, dict | list):
            self.other.check(value, path)
        else:
            raise _type_error(path, self.expected, value)


class Metadata(V):
    expected = "an object"

    def check(self, value: Any, path: str) -> None:
        if value is None:
            return
        if not isinstance(value, dict):
            raise _type_error(path, self.expected, value)
        if len(value) > 16:
            raise Invalid(
                f"Invalid '{path}': too many properties. Expected an object with at most 16 "
                f"properties, but got an object with {len(value)} properties instead.",
                path,
                "object_above_max_properties",
            )
        for key, item in value.items():
            if not isinstance(key, str):
                raise _type_error(f"{path} key", "a string", key)
            if len(key) > 64:
                raise Invalid(
                    f"Invalid '{path}': metadata key too long ({len(key)} > 64).",
                    f"{path}.{key}",
                    "string_above_max_length",
                )
            Str(max_len=512).check(item, f"{path}.{key}")


def _typed(tag: str, **fields: V) -> Obj:
    return Obj({"type": Str(enum=[tag]), **fields}, required=["type", *fields_required(fields)])


def fields_required(fields: Mapping[str, V]) -> list[str]:
    return [name for name, v in fields.items() if getattr(v, "required_marker", False)]


class Req(V):
    """Marks a field of ``_typed`` as required."""

    required_marker = True

    def __init__(self, inner: V) -> None:
        self.inner = inner
        self.expected = inner.expected

    def check(self, value: Any, path: str) -> None:
        self.inner.check(value, path)


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
        "code_interpreter": _typed("code_interpreter"),
        "file_search": _typed(
            "file_search",
            file_search=Obj(
                {"max_num_results": Num(1, 50, integer=True), "ranking_options": RANKING}
            ),
        ),
        "function": _typed("function", function=Req(FUNCTION)),
    }
)
ATTACHMENT_TOOL = Tagged(
    {"code_interpreter": _typed("code_interpreter"), "file_search": _typed("file_search")}
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
                "text": _typed("text"),
                "json_object": _typed("json_object"),
                "json_schema": _typed(
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
        "image_file": _typed(
            "image_file",
            image_file=Req(Obj({"file_id": Str(), "detail": IMAGE_DETAIL}, ["file_id"])),
        ),
        "image_url": _typed(
            "image_url", image_url=Req(Obj({"url": Str(), "detail": IMAGE_DETAIL}, ["url"]))
        ),
        "text": _typed("text", text=Req(Str())),
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
