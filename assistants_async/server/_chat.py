"""Runs answered by an OpenAI-compatible Chat Completions endpoint.

Each turn of a run is one streamed ``POST /chat/completions``: the prompt is the run's
instructions, the thread's messages and, within the run, the assistant's tool calls and
the outputs submitted for them; the chunks come back as the engine's parts (text as
``str`` pieces, ``ToolCallDelta``, ``Usage``), and failures as ``Fail`` with the run's
error codes. The calls go through the client's own transport, so 429 and 5xx are retried
as the client retries them (``_retry``: ``Retry-After`` in each form, backoff); a
retried call never repeats a part already told, since nothing is retried once a 2xx
stream has begun.
"""

from __future__ import annotations

import argparse
import asyncio
import codecs
import json
import logging
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from .._client import AsyncClient
from .._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
)
from .._json import decode_json

try:  # a CPython dependency of the package
    from orjson import loads as _loads
except ImportError:  # pragma: no cover - another interpreter: the stdlib alone
    _loads = None  # type: ignore[assignment]
from .._response import OpenStream
from .._sse import SSEDecoder
from .._validators import Invalid
from ..models import Message
from ._responders import (
    Fail,
    Incomplete,
    Part,
    RunContext,
    Streamed,
    ToolCallDelta,
    Usage,
)
from ._store import JSON

__all__ = [
    "API_KEY_ENV",
    "ChatResponder",
    "ChatSettings",
    "add_model_arguments",
    "model_settings",
    "read_api_key",
]

log = logging.getLogger("assistants_async.server")

# Where the upstream's key is read from when no file names it.
API_KEY_ENV = "ASSISTANTS_MODEL_API_KEY"
# What a Chat Completions endpoint cannot do for a run.
_UNSERVABLE_TOOLS = ("code_interpreter", "file_search")


def read_api_key(key_file: Path | None, environ: Mapping[str, str] | None = None) -> str | None:
    """The upstream's API key: the file's first line, else ``API_KEY_ENV``, else none."""
    if key_file is not None:
        key = key_file.read_text(encoding="utf-8").strip().splitlines()
        if not key or not key[0].strip():
            raise ValueError(f"{key_file}: the model API key file is empty")
        return key[0].strip()
    value = (os.environ if environ is None else environ).get(API_KEY_ENV, "").strip()
    return value or None


@attrs.frozen
class ChatSettings:
    """Where the model is and how it is called.

    ``models`` maps an assistant's ``model`` to the upstream's name (others go as they
    are); ``timeout`` bounds each attempt and each silence of a stream; at most
    ``max_concurrent`` calls are in flight (other runs wait ``queued``); 429, 5xx and
    connection failures are retried up to ``max_retries`` times. What a model cannot
    serve is refused when a run is created, unless ``drop_unsupported`` (then it is left
    out of the call, and logged once per assistant)."""

    base_url: str
    api_key: str | None = attrs.field(default=None, repr=False)
    models: Mapping[str, str] = attrs.field(factory=dict)
    timeout: float = 600.0
    max_concurrent: int = 16
    max_retries: int = 2
    drop_unsupported: bool = False

    def __attrs_post_init__(self) -> None:
        # Named as the settings and as the command's options both.
        if not isinstance(self.base_url, str) or not self.base_url.startswith(
            ("http://", "https://")
        ):
            raise ValueError(
                f"base_url (--model-base-url) must be an http(s):// URL, not {self.base_url!r}"
            )
        if not self.timeout > 0:
            raise ValueError(
                f"timeout (--model-timeout) must be more than 0 seconds, not {self.timeout!r}"
            )
        if self.max_concurrent < 1:
            raise ValueError(
                "max_concurrent (--model-max-concurrent) must be at least 1, "
                f"not {self.max_concurrent!r}"
            )
        if self.max_retries < 0:
            raise ValueError(
                f"max_retries (--model-max-retries) must be 0 or more, not {self.max_retries!r}"
            )


class ChatResponder:
    """A responder (``_responders``) that asks a Chat Completions endpoint. Close it
    with ``aclose()`` when the server stops."""

    def __init__(self, settings: ChatSettings) -> None:
        self.settings = settings
        # The engine holds a run queued until one of these is free.
        self.slots = asyncio.Semaphore(settings.max_concurrent)
        self._client: AsyncClient | None = None
        # (assistant id, what was dropped): each logged once.
        self._dropped: set[tuple[str, str]] = set()

    @property
    def client(self) -> AsyncClient:
        """The client the calls go through, made on first use (in the serving loop)."""
        if self._client is None:
            key = self.settings.api_key
            self._client = AsyncClient(
                base_url=self.settings.base_url,
                api_key=key,
                auth="bearer" if key else "none",
                max_retries=self.settings.max_retries,
                timeout=self.settings.timeout,
                # The Assistants beta header means nothing to a Chat Completions server.
                default_headers={"OpenAI-Beta": None},
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()

    # --- the engine's hooks -----------------------------------------------------------

    def check_run(self, run: JSON, messages: Sequence[JSON]) -> None:
        """Refuse, as the run is created, what a Chat Completions call cannot carry."""
        if self.settings.drop_unsupported:
            return
        for index, tool in enumerate(run["tools"] or []):
            if tool.get("type") in _UNSERVABLE_TOOLS:
                raise Invalid(
                    f"The tool {tool['type']!r} is not available on this server: its runs "
                    "are answered by a Chat Completions model, which has only function tools.",
                    param=f"tools[{index}]",
                    code="unsupported_tool",
                )
        for message in messages:
            for part in message["content"]:
                if part.get("type") == "image_file":
                    raise Invalid(
                        f"Message {message['id']} has an image_file part, which this server "
                        "cannot send to its model: give the image as an image_url.",
                        param="content",
                        code="unsupported_content",
                    )
            if message.get("attachments"):
                raise Invalid(
                    f"Message {message['id']} has attachments, which need file_search or "
                    "code_interpreter: this server's model has neither.",
                    param="attachments",
                    code="unsupported_content",
                )

    async def __call__(self, ctx: RunContext) -> Streamed:
        if self.settings.drop_unsupported:
            self._log_dropped(ctx)
        body = request_body(ctx, self.settings.models)
        if body is None:
            return _ended(Incomplete("max_prompt_tokens"))
        return self._answer(body, ctx.run.id)

    def _log_dropped(self, ctx: RunContext) -> None:
        """Say what the call leaves out, once per assistant and kind."""
        found = {tool.type for tool in ctx.run.tools if tool.type in _UNSERVABLE_TOOLS}
        for message in ctx.messages:
            found.update(
                "image_file parts" for part in message.content if part.type == "image_file"
            )
            if message.attachments:
                found.add("attachments")
        for kind in sorted(found):
            key = (ctx.assistant.id, kind)
            if key not in self._dropped:
                self._dropped.add(key)
                log.warning(
                    "assistant %s: %s left out of its model calls (the model cannot serve "
                    "them; --model-drop-unsupported is on)",
                    ctx.assistant.id,
                    kind,
                )

    # --- one call ---------------------------------------------------------------------

    async def _answer(self, body: JSON, run_id: str) -> AsyncIterator[Part | list[Part | str]]:
        opened = await self._open(body, run_id)
        if isinstance(opened, Fail):
            yield opened  # the engine reads no further
        else:
            try:
                async for parts in _parts(opened.chunks(), opened.max_event_size):
                    yield parts
            except APIConnectionError as exc:  # cut or stalled mid-stream
                _logged(run_id, exc)
                yield Fail("server_error", "The model server stopped answering mid-stream.")
            finally:
                opened.close()

    async def _open(self, body: JSON, run_id: str) -> OpenStream | Fail:
        """The call's stream, open, or how it failed (after the client's retries).

        The run's last_error is the tenant's to read: it says what happened, and the
        details (the model server's address, its own words) go to the operator's log."""
        try:
            return await self.client.open_stream("POST", "/chat/completions", body=body)
        except RateLimitError as exc:
            _logged(run_id, exc)
            return Fail("rate_limit_exceeded", "The model server is rate limited: try later.")
        except (AuthenticationError, PermissionDeniedError) as exc:
            _logged(run_id, exc)  # the operator's key, not the tenant's prompt
            return Fail("server_error", "The model server refused this server's API key.")
        except APIStatusError as exc:
            _logged(run_id, exc)
            if exc.status_code < 500 and exc.status_code not in (408, 409):
                # The prompt's fault (too long, a bad schema): its own words help.
                return Fail("invalid_prompt", exc.message)
            return Fail("server_error", f"The model server failed (HTTP {exc.status_code}).")
        except APITimeoutError as exc:
            _logged(run_id, exc)
            return Fail("server_error", "The model server did not answer in time.")
        except APIConnectionError as exc:
            _logged(run_id, exc)
            return Fail("server_error", "The model server could not be reached.")


async def _ended(part: Part) -> AsyncIterator[Part | list[Part | str]]:
    yield part


def _logged(run_id: str, exc: Exception) -> None:
    log.warning("run %s: the model call failed: %s", run_id, exc)


async def _parts(chunks: AsyncIterator[bytes], max_size: int) -> AsyncIterator[list[Part | str]]:
    """The parts a Chat Completions stream says, a list per read (told together), each
    piece of text a ``str``; a ``Fail`` when it ends before its end."""
    decoder = SSEDecoder(max_size)
    # A character's bytes may come in two reads: decoded across them, never per read.
    text = codecs.getincrementaldecoder("utf-8")(errors="replace")
    finish: str | None = None
    done = False
    async for raw in chunks:
        parts: list[Part | str] = []
        for _, data, _, _ in decoder.events(text.decode(raw)):
            if not data:
                continue
            if data == "[DONE]":
                done = True
                break
            try:
                chunk = _chunk(data)
            except ResponseValidationError:
                log.warning("the model server sent a chunk that is not JSON: %r", data[:200])
                parts.append(
                    Fail("server_error", "The model server sent a chunk that is not JSON.")
                )
                yield parts
                return
            if type(chunk) is not dict:
                continue
            if isinstance(chunk.get("error"), dict):  # some servers report errors in-stream
                log.warning("the model server said in its stream: %s", chunk["error"])
                parts.append(Fail("server_error", "The model server failed mid-stream."))
                yield parts
                return
            usage = chunk.get("usage")
            if isinstance(usage, dict):
                parts.append(
                    Usage(
                        int(usage.get("prompt_tokens") or 0),
                        int(usage.get("completion_tokens") or 0),
                    )
                )
            for choice in chunk.get("choices") or ():
                if choice.get("index", 0) != 0:
                    continue
                delta = choice.get("delta") or {}
                content = delta.get("content")
                if content:
                    parts.append(content if type(content) is str else _content_text(content))
                calls = delta.get("tool_calls")
                if calls:
                    parts += map(_call_delta, calls)
                if choice.get("finish_reason"):
                    finish = choice["finish_reason"]
        if parts:
            yield parts
        if done:
            break
    if not done:
        decoder.check()  # an event too large, after the parts before it
    if not done and finish is None:
        yield [Fail("server_error", "The model server ended its answer before it was complete.")]
    elif finish == "length":
        yield [Incomplete("max_completion_tokens")]


def _chunk(data: str) -> Any:
    """A chunk's JSON. Only strings and small counts are read from it, so orjson's one
    difference from the stdlib (a float for a huge integer) changes nothing here."""
    if _loads is not None:
        try:
            return _loads(data)
        except ValueError:
            pass  # the stdlib decides (and may take what orjson refused)
    return decode_json(data)


def _content_text(content: Any) -> str:
    """The text of a delta whose content is not a string: a list of parts, as some
    servers send (their text pieces, joined), or a value as JSON would write it."""
    if isinstance(content, list):
        return "".join(
            str(part.get("text") or "")
            for part in content
            if isinstance(part, dict) and part.get("type", "text") == "text"
        )
    return json.dumps(content) if not isinstance(content, str) else content


def _call_delta(call: Any) -> ToolCallDelta:
    function = call.get("function") or {}
    return ToolCallDelta(
        int(call.get("index", 0)), function.get("name") or "", function.get("arguments") or ""
    )


# --- the request ----------------------------------------------------------------------


def request_body(ctx: RunContext, models: Mapping[str, str]) -> JSON | None:
    """The Chat Completions request for the run's turn (None: the prompt cannot fit in
    what is left of ``max_prompt_tokens``)."""
    run = ctx.run.to_dict()
    messages = prompt(ctx, run)
    if messages is None:
        return None
    body: JSON = {
        "model": models.get(run["model"], run["model"]),
        "messages": messages,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    tools = [
        {"type": "function", "function": tool["function"]}
        for tool in run.get("tools") or []
        if tool.get("type") == "function"
    ]
    if tools:
        body["tools"] = tools
        choice = run.get("tool_choice")
        if choice is not None:
            body["tool_choice"] = choice
        if run.get("parallel_tool_calls") is not None:
            body["parallel_tool_calls"] = run["parallel_tool_calls"]
    for name in ("temperature", "top_p"):
        if run.get(name) is not None:
            body[name] = run[name]
    if ctx.options.get("reasoning_effort") is not None:
        body["reasoning_effort"] = ctx.options["reasoning_effort"]
    response_format = run.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") != "text":
        body["response_format"] = response_format
    limit = run.get("max_completion_tokens")
    if limit is not None:
        # The run's bound covers all its turns: this call gets what is left of it.
        used = (run.get("usage") or {}).get("completion_tokens", 0)
        body["max_completion_tokens"] = max(1, limit - used)
    return body


def prompt(ctx: RunContext, run: JSON) -> list[JSON] | None:
    """The chat messages: instructions, the thread, then this run's calls and outputs;
    None when they cannot fit in what is left of ``max_prompt_tokens``."""
    head: list[JSON] = []
    if run.get("instructions"):
        head.append({"role": "system", "content": run["instructions"]})
    thread = [_chat_message(m) for m in ctx.messages if m.run_id != ctx.run.id]
    strategy = run.get("truncation_strategy") or {}
    last = strategy.get("last_messages")
    if strategy.get("type") == "last_messages" and last is not None:
        thread = thread[-last:] if last else []
    tail = _run_history(ctx)
    limit = run.get("max_prompt_tokens")
    if limit is None:
        return [*head, *thread, *tail]
    # The bound covers all the run's turns: this one gets what is left of it.
    budget = limit - (run.get("usage") or {}).get("prompt_tokens", 0)
    size = sum(map(estimate_tokens, [*head, *thread, *tail]))
    if strategy.get("type", "auto") == "auto":
        # The oldest messages go first; the newest always stays.
        while size > budget and len(thread) > 1:
            size -= estimate_tokens(thread.pop(0))
    if size > budget:
        return None
    return [*head, *thread, *tail]


def estimate_tokens(message: JSON) -> int:
    """About how many tokens a chat message takes (no tokenizer here: four characters a
    token, as English text averages, and a few for the message's framing)."""
    return 4 + len(json.dumps(message["content"], ensure_ascii=False)) // 4


def _run_history(ctx: RunContext) -> list[JSON]:
    """This run's turns so far: each the assistant's calls with all it said in that
    turn, then the outputs submitted for them.

    A chat message cannot put text after its calls, so a turn's text (before its calls
    and, rarely, after them) goes as one content, in the order said: what the model's
    own message held."""
    said: list[JSON] = []
    own = {m.id: m for m in ctx.messages if m.run_id == ctx.run.id}
    turns: dict[int, list[Any]] = {}
    for output in ctx.tool_outputs:
        turns.setdefault(output.turn, []).append(output)
    for outputs in turns.values():
        first = outputs[0]
        # Outputs kept before the turn's messages were all recorded name its first only.
        ids = first.message_ids or ((first.message_id,) if first.message_id else ())
        text = "".join(_text(own[i]) for i in ids if i in own)
        said.append(
            {
                "role": "assistant",
                "content": text or None,
                "tool_calls": [
                    {
                        "id": o.call_id,
                        "type": "function",
                        "function": {"name": o.name, "arguments": o.arguments},
                    }
                    for o in outputs
                ],
            }
        )
        said += [{"role": "tool", "tool_call_id": o.call_id, "content": o.output} for o in outputs]
    return said


def _text(message: Message) -> str:
    return _text_of(message.to_dict()["content"])


def _text_of(parts: list[JSON]) -> str:
    return "".join(part["text"]["value"] for part in parts if part["type"] == "text")


def _chat_message(message: Message) -> JSON:
    """A thread message as a chat message: plain text as a string (every server takes
    that), with images as a list of parts."""
    parts = message.to_dict()["content"]
    if all(part["type"] == "text" for part in parts):
        return {"role": message.role, "content": _text_of(parts)}  # converted once
    content: list[JSON] = []
    for part in parts:
        if part["type"] == "text":
            content.append({"type": "text", "text": part["text"]["value"]})
        elif part["type"] == "image_url":
            content.append({"type": "image_url", "image_url": part["image_url"]})
    return {"role": message.role, "content": content}


# --- the command's options ------------------------------------------------------------


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """The serve command's options for the model behind runs."""
    group = parser.add_argument_group(
        "the model behind runs (an OpenAI-compatible Chat Completions endpoint)"
    )
    group.add_argument(
        "--model-base-url",
        metavar="URL",
        help="answer runs with this endpoint's /chat/completions, e.g. "
        "http://127.0.0.1:11434/v1 (default: no model; see Runs below)",
    )
    group.add_argument(
        "--model-api-key-file",
        type=Path,
        metavar="FILE",
        help=f"the endpoint's API key, on the file's first line (else {API_KEY_ENV}; "
        "else none is sent); never logged",
    )
    group.add_argument(
        "--model-map",
        action="append",
        default=[],
        metavar="NAME=UPSTREAM",
        help="call the endpoint's model UPSTREAM for runs of model NAME (repeatable; "
        "other names go as they are)",
    )
    group.add_argument(
        "--model-timeout",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="the longest wait for a call to answer, or between two chunks (default 600)",
    )
    group.add_argument(
        "--model-max-concurrent",
        type=int,
        default=16,
        metavar="N",
        help="calls in flight at most; other runs wait queued (default 16)",
    )
    group.add_argument(
        "--model-max-retries",
        type=int,
        default=2,
        metavar="N",
        help="retries of a 429, 5xx or failed connection, honouring Retry-After (default 2)",
    )
    group.add_argument(
        "--model-drop-unsupported",
        action="store_true",
        help="leave code_interpreter and file_search tools, image_file parts and "
        "attachments out of model calls, logged once per assistant (default: a run "
        "with any is refused with a 400)",
    )


def model_settings(args: argparse.Namespace) -> ChatSettings | None:
    """The settings the options give (None without ``--model-base-url``); a bad one
    raises ``ValueError`` naming it."""
    if not args.model_base_url:
        return None
    models: dict[str, str] = {}
    for pair in args.model_map:
        name, sep, upstream = pair.partition("=")
        if not sep or not name.strip() or not upstream.strip():
            raise ValueError(f"--model-map takes NAME=UPSTREAM, not {pair!r}")
        models[name.strip()] = upstream.strip()
    return ChatSettings(
        args.model_base_url,
        api_key=read_api_key(args.model_api_key_file),
        models=models,
        timeout=args.model_timeout,
        max_concurrent=args.model_max_concurrent,
        max_retries=args.model_max_retries,
        drop_unsupported=args.model_drop_unsupported,
    )
