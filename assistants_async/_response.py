"""What comes back: a call's raw response, an open stream being read, and ``APIResponse``
(a result with the raw response it was decoded from). Nothing here decides retries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import aiohttp
import attrs
from multidict import CIMultiDictProxy

from ._errors import (
    APIConnectionError,
    APITimeoutError,
    ClientClosedError,
    ResponseTooLargeError,
    ResponseValidationError,
)
from ._json import decode_json

if TYPE_CHECKING:
    from ._transport import Transport

__all__ = ["RAW_CAPTURE", "APIResponse", "OpenStream", "RawResponse", "read_body"]

T = TypeVar("T")


# Set by AsyncClient.with_raw_response: successful responses of the calls made in this
# context are appended here. A context variable keeps concurrent tasks apart.
RAW_CAPTURE: ContextVar[list[RawResponse] | None] = ContextVar("RAW_CAPTURE", default=None)


@attrs.frozen(slots=True)
class RawResponse:
    """What came back for one call: status, headers and the body bytes."""

    status_code: int
    headers: CIMultiDictProxy[str] = attrs.field(repr=False)
    content: bytes = attrs.field(repr=False)
    method: str
    url: str
    retries: int = 0
    elapsed: float = 0.0

    @property
    def request_id(self) -> str | None:
        return self.headers.get("x-request-id")

    def json(self) -> Any:
        return decode_json(self.content)


class OpenStream:
    """A 2xx response being read as it arrives. Close it when done (or on leaving early)."""

    def __init__(
        self, response: aiohttp.ClientResponse, method: str, url: str, transport: Transport
    ) -> None:
        self._response = response
        self._transport = transport
        transport.streams.add(self)
        self.status_code = response.status
        self.headers = response.headers
        self.method = method
        self.url = url
        self.max_event_size = transport.max_response_size

    @property
    def request_id(self) -> str | None:
        return self.headers.get("x-request-id")

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body's bytes as they come; a failure mid-body is ``APIConnectionError``."""
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
            if self._transport.closed:  # the client's close() dropped the connection
                raise ClientClosedError("the client was closed while this stream was being read")
        except asyncio.TimeoutError:
            raise APITimeoutError(
                "Stream read timed out.", method=self.method, url=self.url
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            if self._transport.closed:
                raise ClientClosedError(
                    "the client was closed while this stream was being read"
                ) from None
            raise APIConnectionError(
                f"Connection lost mid-stream: {describe(exc)}", method=self.method, url=self.url
            ) from scrubbed(exc)

    def close(self) -> None:
        """Drop the connection: an unread body cannot be reused."""
        self._response.close()

    @property
    def closed(self) -> bool:
        return self._response.closed


async def read_body(resp: aiohttp.ClientResponse, limit: int, *, fail: bool) -> bytes:
    """The (decompressed) body, holding at most about ``limit`` bytes.

    Past the limit: ``ResponseTooLargeError`` if ``fail``, else the body cut at the limit
    (an error's body, whose start says all). Either way the connection is dropped.
    """
    length = resp.content_length
    if length is not None and length <= limit and "Content-Encoding" not in resp.headers:
        return await resp.read()  # the common case: the parser stops at the length
    if length is not None and length > limit and fail:
        resp.close()
        raise ResponseTooLargeError("the response body", limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_any():
        size += len(chunk)
        if size > limit:
            resp.close()
            if fail:
                raise ResponseTooLargeError("the response body", limit)
            chunks.append(chunk[: limit - (size - len(chunk))])
            break
        chunks.append(chunk)
    return b"".join(chunks)


def scrubbed(exc: BaseException) -> BaseException:
    """``exc`` and what it chains, without tracebacks: their frames' locals hold our
    headers, the API key among them, and tools that print locals would show it."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        item = stack.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        item.__traceback__ = None
        stack.extend((item.__cause__, item.__context__))
    return exc


def describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@attrs.frozen
class APIResponse(Generic[T]):
    """A call's raw response, and its result decoded from it.

    The raw response is there even when its body cannot be decoded: then reading
    ``parsed`` (or calling ``parse()``) raises the ``ResponseValidationError``.
    """

    _parsed: T | None = attrs.field(alias="parsed", repr=False)
    raw: RawResponse
    _error: ResponseValidationError | None = attrs.field(default=None, alias="error")

    @property
    def parsed(self) -> T:
        if self._error is not None:
            raise self._error
        return self._parsed  # type: ignore[return-value]

    def parse(self) -> T:
        """The decoded result (as ``parsed``), or the error decoding it raised."""
        return self.parsed

    @property
    def status_code(self) -> int:
        return self.raw.status_code

    @property
    def headers(self) -> CIMultiDictProxy[str]:
        return self.raw.headers

    @property
    def request_id(self) -> str | None:
        return self.raw.request_id
