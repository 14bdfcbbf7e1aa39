"""Running the function calls a run asks for: concurrently, results JSON-encoded."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal, TypeAlias

from ._errors import ToolCallError
from .models.runs import RequiredActionFunctionToolCall, Run, ToolOutput

__all__ = ["ToolFunction", "encode_result", "run_tool_calls"]

ToolFunction: TypeAlias = Callable[..., Any] | Callable[..., Awaitable[Any]]


def encode_result(result: Any) -> str:
    """A tool's result as the output string: a string as it is, anything else as JSON."""
    if isinstance(result, str):
        return result
    return json.dumps(result, default=str, ensure_ascii=False)


async def _run_one(
    call: RequiredActionFunctionToolCall,
    functions: Mapping[str, Callable[..., Any]],
    on_error: Literal["report", "raise"],
    run: Run,
) -> ToolOutput:
    name = call.function.name
    try:
        function = functions.get(name)
        if function is None:
            known = ", ".join(sorted(functions)) or "none"
            raise LookupError(f"no function named {name!r} was given (known: {known})")
        try:
            arguments = json.loads(call.function.arguments or "{}")
        except ValueError as exc:
            raise ValueError(f"arguments are not valid JSON: {exc}") from None
        if not isinstance(arguments, dict):
            raise ValueError("arguments are not a JSON object")
        if inspect.iscoroutinefunction(function):
            result = await function(**arguments)
        else:
            result = await asyncio.to_thread(function, **arguments)
            if inspect.isawaitable(result):
                result = await result
        output = encode_result(result)
    except Exception as exc:
        if on_error == "raise":
            raise ToolCallError(
                f"tool call {call.id} ({name}) failed: {type(exc).__name__}: {exc}",
                name=name,
                call_id=call.id,
                run=run,
            ) from exc
        output = json.dumps({"error": f"{type(exc).__name__}: {exc}"})
    return ToolOutput(tool_call_id=call.id, output=output)


async def run_tool_calls(
    calls: Sequence[RequiredActionFunctionToolCall],
    functions: Mapping[str, Callable[..., Any]],
    *,
    on_error: Literal["report", "raise"],
    run: Run,
) -> list[ToolOutput]:
    """Run one turn's calls concurrently; outputs in the calls' order."""
    tasks = [asyncio.ensure_future(_run_one(c, functions, on_error, run)) for c in calls]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
