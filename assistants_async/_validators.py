"""The validators the request-body table (``_schema``) is made of: JSON Schema's
shapes, each raising ``Invalid`` with the API's own error wording."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ._decoding.rules import json_kind

__all__ = [
    "AnyObj",
    "Arr",
    "Bool",
    "Either",
    "Invalid",
    "Metadata",
    "Nullable",
    "Num",
    "Obj",
    "Req",
    "Str",
    "Tagged",
    "V",
    "typed",
]


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


def typed(tag: str, **fields: V) -> Obj:
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
