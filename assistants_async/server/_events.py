"""The pieces a run's events are made of: text parts, deltas as streamed, usage."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ._store import JSON


def _tool_call_deltas(calls: list[JSON]) -> Iterator[JSON]:
    """A call's deltas as the service sent them: its id, type and name with empty
    arguments first, then the arguments in several pieces (so "tool call delta" handlers
    fire, and code that assembles partial arguments can be tested)."""
    for index, call in enumerate(calls):
        function = call["function"]
        yield {
            "index": index,
            "id": call["id"],
            "type": "function",
            "function": {"name": function["name"], "arguments": "", "output": None},
        }
        arguments = function["arguments"]
        size = max(1, -(-len(arguments) // 4))  # about four pieces, whatever the length
        for start in range(0, len(arguments), size):
            piece = arguments[start : start + size]
            yield {"index": index, "type": "function", "function": {"arguments": piece}}


def _pieces(text: str) -> list[str]:
    """Text in the small pieces a stream would carry (a word and its space each)."""
    return re.findall(r"\S+\s*|\s+", text) or [text]


async def _silent(name: str, data: JSON) -> None:
    """The emitter when nobody listens (not streaming)."""


def _given(body: JSON, name: str, default: Any) -> Any:
    value = body.get(name)
    return default if value is None else value


def _text_part(text: str) -> JSON:
    return {"type": "text", "text": {"value": text, "annotations": []}}


def _words(part: JSON) -> int:
    return len(part["text"]["value"].split()) if part.get("type") == "text" else 0


def _usage(prompt: int, completion: int) -> JSON:
    prompt, completion = max(prompt, 1), max(completion, 1)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
