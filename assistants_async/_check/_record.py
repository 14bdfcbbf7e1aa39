"""The record a check run keeps: each request as it went on the wire, what came back
(trimmed), the findings and the results, and the key scrubbed out of all of them."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, Literal
from urllib.parse import urlsplit

import aiohttp
import attrs

__all__ = [
    "BODY_SHOWN",
    "Exchange",
    "Finding",
    "Recorder",
    "Result",
    "TooManyRequests",
    "Verdict",
    "as_text",
    "scrubbed",
    "shown",
    "trimmed",
]

Verdict = Literal["pass", "deviates", "fails", "skipped"]

# What a report keeps of one body: enough to see the fault, never a whole page of data.
BODY_SHOWN = 2000


def trimmed(text: str, limit: int = BODY_SHOWN) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit:,} more characters)"


def as_text(body: object) -> str | None:
    """A body as a report shows it: bytes decoded, JSON values written out."""
    if body is None:
        return None
    if isinstance(body, (bytes, bytearray)):
        return trimmed(bytes(body).decode("utf-8", errors="replace"))
    if isinstance(body, str):
        return trimmed(body)
    try:
        return trimmed(json.dumps(body, ensure_ascii=False, default=repr))
    except (TypeError, ValueError):  # pragma: no cover - default=repr writes anything
        return trimmed(repr(body))


@attrs.frozen
class Exchange:
    """One request as it went on the wire and what came back (both trimmed)."""

    method: str
    url: str
    request_body: str | None
    status: int | None = None
    response_body: str | None = None

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    def answered(self, status: int | None, body: object) -> Exchange:
        return attrs.evolve(self, status=status, response_body=as_text(body))

    def to_json(self) -> dict[str, Any]:
        return {
            "request": {"method": self.method, "url": self.url, "body": self.request_body},
            "response": {"status": self.status, "body": self.response_body},
        }


@attrs.frozen
class Finding:
    """One departure: which operation, where in the spec's terms, expected and got."""

    operation: str
    path: str
    expected: str
    got: str
    exchange: Exchange | None = None

    def line(self) -> str:
        where = f" {self.path}" if self.path else ""
        return f"{self.operation}{where}: expected {self.expected}, got {self.got}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "operation": self.operation,
            "path": self.path,
            "expected": self.expected,
            "got": self.got,
        }
        if self.exchange is not None:
            out.update(self.exchange.to_json())
        return out


@attrs.define
class Result:
    id: str
    title: str
    verdict: Verdict
    why: str
    findings: list[Finding] = attrs.Factory(list)
    seconds: float = 0.0
    requests: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "verdict": self.verdict,
            "why": self.why,
            "seconds": round(self.seconds, 3),
            "requests": self.requests,
            "findings": [finding.to_json() for finding in self.findings],
        }


def scrubbed(result: Result, clean: Callable[[str], str]) -> Result:
    """``result`` with ``clean`` applied to every text a server could have put the key in
    (an error that echoes the ``Authorization`` header)."""

    def exchange(e: Exchange | None) -> Exchange | None:
        if e is None:
            return None
        return attrs.evolve(
            e,
            url=clean(e.url),
            request_body=None if e.request_body is None else clean(e.request_body),
            response_body=None if e.response_body is None else clean(e.response_body),
        )

    findings = [
        attrs.evolve(
            f,
            path=clean(f.path),
            expected=clean(f.expected),
            got=clean(f.got),
            exchange=exchange(f.exchange),
        )
        for f in result.findings
    ]
    return attrs.evolve(result, why=clean(result.why), findings=findings)


class TooManyRequests(Exception):
    """A check went past its request budget (a server whose cursors never end)."""


class Recorder:
    """Every request this run sends, as it went on the wire (aiohttp's tracing), counted
    against the running check's budget."""

    def __init__(self, secrets: tuple[str, ...]) -> None:
        self.last: Exchange | None = None
        self.count = 0
        self.budget = 0
        self._secrets = tuple(s for s in secrets if s)

    def trace_config(self) -> aiohttp.TraceConfig:
        config = aiohttp.TraceConfig()
        config.on_request_start.append(self._start)
        config.on_request_chunk_sent.append(self._chunk)
        return config

    def clean(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    async def _start(
        self,
        session: aiohttp.ClientSession,
        context: SimpleNamespace,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        self.count += 1
        if self.budget and self.count > self.budget:
            raise TooManyRequests(f"more than {self.budget} requests")
        context.sent = bytearray()
        self.last = Exchange(params.method, self.clean(str(params.url)), None)
        context.exchange_url = self.last.url

    async def _chunk(
        self,
        session: aiohttp.ClientSession,
        context: SimpleNamespace,
        params: aiohttp.TraceRequestChunkSentParams,
    ) -> None:
        sent: bytearray = context.sent
        if len(sent) <= BODY_SHOWN:
            sent += params.chunk
        last = self.last
        if last is not None and last.url == context.exchange_url:
            body = self.clean(as_text(bytes(sent)) or "")
            self.last = attrs.evolve(last, request_body=body)


def shown(value: object) -> str:
    """A value as findings write it: short, one line."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=repr)
    except (TypeError, ValueError):  # pragma: no cover
        text = repr(value)
    return trimmed(text, 200)
