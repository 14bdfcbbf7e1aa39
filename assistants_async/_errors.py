"""The error tree, and the pure function that builds an error from a response.

Nothing here does I/O, so every mapping is unit-testable from (status, headers, body).
Class names match the official SDK so that ``except`` clauses port unchanged
(``APIResponseValidationError`` is the SDK's name for ``ResponseValidationError``).

AssistantsError
├── ClientClosedError            also a RuntimeError
├── PollTimeoutError             run: the last state seen
├── ToolCallError                name, call_id, run
├── ToolLoopLimitError           run, max_turns
└── APIError                     message
    ├── APIStatusError           status_code, request_id, type, param, code, body, headers
    │   ├── BadRequestError              400
    │   ├── AuthenticationError          401
    │   ├── PermissionDeniedError        403
    │   ├── NotFoundError                404
    │   ├── ConflictError                409
    │   ├── UnprocessableEntityError     422
    │   ├── RateLimitError               429
    │   └── InternalServerError          5xx
    ├── APIConnectionError       method, url
    │   └── APITimeoutError
    ├── ResponseValidationError  path, body, status_code, request_id
    ├── ResponseTooLargeError    limit
    └── StreamError              type, code, param: an ``error`` event mid-stream
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from multidict import CIMultiDict, CIMultiDictProxy

from ._error_body import decode_body, readable_text

__all__ = [
    "APIConnectionError",
    "APIResponseValidationError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AssistantsError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "PollTimeoutError",
    "RateLimitError",
    "ClientClosedError",
    "ResponseTooLargeError",
    "ResponseValidationError",
    "StreamError",
    "ToolCallError",
    "ToolLoopLimitError",
    "UnprocessableEntityError",
    "error_from_response",
]


class AssistantsError(Exception):
    """Base of every error this library raises on purpose."""


class APIError(AssistantsError):
    """Something went wrong talking to the API (status, connection or decoding)."""

    message: str

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class APIStatusError(APIError):
    """The server answered with a non-2xx status."""

    status_code: int
    request_id: str | None
    type: str | None
    param: str | None
    code: str | None
    body: object
    headers: Mapping[str, str]
    retry_after: float | None

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        headers: Mapping[str, str] | None = None,
        body: object = None,
        type: str | None = None,
        param: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.headers = _ci(headers or {})
        self.request_id = self.headers.get("x-request-id")
        self.body = body
        self.type = type
        self.param = param
        self.code = code
        # Set when the server asked for a wait longer than the client will sleep.
        self.retry_after = retry_after

    def __str__(self) -> str:
        parts = [f"{self.status_code}: {self.message}"]
        detail = ", ".join(
            f"{name}={value}"
            for name, value in (("type", self.type), ("param", self.param), ("code", self.code))
            if value is not None
        )
        if detail:
            parts.append(f"[{detail}]")
        if self.retry_after is not None:
            parts.append(f"(retry after {self.retry_after:g} s)")
        if self.request_id:
            parts.append(f"(request_id={self.request_id})")
        return " ".join(parts)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code}, message={self.message!r}, "
            f"type={self.type!r}, param={self.param!r}, code={self.code!r}, "
            f"request_id={self.request_id!r})"
        )


class BadRequestError(APIStatusError):
    """400."""


class AuthenticationError(APIStatusError):
    """401."""


class PermissionDeniedError(APIStatusError):
    """403."""


class NotFoundError(APIStatusError):
    """404."""


class ConflictError(APIStatusError):
    """409."""


class UnprocessableEntityError(APIStatusError):
    """422."""


class RateLimitError(APIStatusError):
    """429."""


class InternalServerError(APIStatusError):
    """Any 5xx."""


class APIConnectionError(APIError):
    """No usable response: the connection failed, was reset, or the body was cut off."""

    def __init__(self, message: str = "Connection error.", *, method: str = "", url: str = ""):
        super().__init__(message)
        self.method = method
        self.url = url

    def __str__(self) -> str:
        where = f" ({self.method} {self.url})" if self.method else ""
        return f"{self.message}{where}"


class APITimeoutError(APIConnectionError):
    """The request did not complete within its timeout."""

    def __init__(self, message: str = "Request timed out.", *, method: str = "", url: str = ""):
        super().__init__(message, method=method, url=url)


class ResponseValidationError(APIError):
    """A response body did not match the shape the API promises.

    ``path`` names the offending field (``data[3].created_at``); ``body`` is what was
    received, when there is one.
    """

    request_id: str | None
    status_code: int | None

    def __init__(self, message: str, *, path: str = "", body: object = None) -> None:
        super().__init__(message)
        self.path = path
        self.body = body
        self.request_id = None
        self.status_code = None
        self.response: Any = None

    def of(self, response: Any) -> ResponseValidationError:
        """This error, told which response it came from (a ``RawResponse``, or a stream
        being read): its status, request id, and its body as text where it was not JSON."""
        self.response = response
        self.status_code = getattr(response, "status_code", None)
        self.request_id = response.request_id
        content = getattr(response, "content", None)
        if self.body is None and isinstance(content, bytes):
            self.body = content.decode("utf-8", "replace")
        return self

    def __str__(self) -> str:
        text = f"{self.message} (at {self.path})" if self.path else self.message
        return f"{text} [request id {self.request_id}]" if self.request_id else text


# The official SDK's name, so that its ``except`` clauses port unchanged.
APIResponseValidationError = ResponseValidationError


class ResponseTooLargeError(APIError):
    """A response body, or one event of a stream, passed the client's size limit."""

    def __init__(self, what: str, limit: int) -> None:
        super().__init__(
            f"{what} is larger than the client's max_response_size of {limit:,} bytes; "
            "if the server is right to send that much, raise the limit: "
            "AsyncClient(max_response_size=...)"
        )
        self.limit = limit


class ClientClosedError(AssistantsError, RuntimeError):
    """The client was closed: before this call, or while it was in flight."""

    def __init__(self, message: str = "the client was closed; create a new one") -> None:
        super().__init__(message)


class StreamError(APIError):
    """The server sent an ``error`` event in the middle of a stream."""

    def __init__(
        self,
        message: str,
        *,
        type: str | None = None,
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.type, self.code, self.param = type, code, param

    def __str__(self) -> str:
        detail = ", ".join(
            f"{k}={v}" for k, v in (("type", self.type), ("code", self.code)) if v is not None
        )
        return f"{self.message} [{detail}]" if detail else self.message


class PollTimeoutError(AssistantsError):
    """Polling a run passed its overall deadline; ``run`` is the last state seen (None if
    no look at the run succeeded in time)."""

    def __init__(self, run: Any, timeout: float, *, run_id: str = "") -> None:
        if run is not None:
            message = f"run {run.id} was still {run.status} after polling for {timeout:g} s"
        else:
            message = f"no look at run {run_id} succeeded within the {timeout:g} s of polling"
        super().__init__(message)
        self.run = run
        self.timeout = timeout


class ToolCallError(AssistantsError):
    """A tool the run asked for could not be run (unknown, bad arguments, or it raised)."""

    def __init__(self, message: str, *, name: str, call_id: str, run: Any) -> None:
        super().__init__(message)
        self.name, self.call_id, self.run = name, call_id, run


class ToolLoopLimitError(AssistantsError):
    """The run still wanted tools after ``max_turns`` rounds; ``run`` is its last state."""

    def __init__(self, run: Any, max_turns: int) -> None:
        super().__init__(f"run {run.id} still requires action after {max_turns} tool turns")
        self.run = run
        self.max_turns = max_turns


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}

_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    409: "Conflict",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def _ci(headers: Mapping[str, str]) -> CIMultiDictProxy[str]:
    if isinstance(headers, CIMultiDictProxy):
        return headers
    return CIMultiDictProxy(CIMultiDict(headers))


def status_error_class(status: int) -> type[APIStatusError]:
    if status in _STATUS_CLASSES:
        return _STATUS_CLASSES[status]
    if status >= 500:
        return InternalServerError
    return APIStatusError


def _str_or_none(value: object) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def error_from_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes | str | object,
    *,
    retry_after: float | None = None,
) -> APIStatusError:
    """Build the typed error for a non-2xx response. Pure: no I/O, never raises.

    ``body`` may be the raw bytes, text, or already-decoded JSON.
    """
    decoded = decode_body(body)
    err_type = param = code = None
    message = ""
    envelope: object = decoded.get("error") if isinstance(decoded, dict) else None
    if isinstance(envelope, dict):
        message = _str_or_none(envelope.get("message")) or ""
        err_type = _str_or_none(envelope.get("type"))
        param = _str_or_none(envelope.get("param"))
        code = _str_or_none(envelope.get("code"))
    elif isinstance(envelope, str):
        message = envelope
    elif isinstance(decoded, dict) and isinstance(decoded.get("message"), str):
        message = decoded["message"]
    elif isinstance(decoded, str):
        message = readable_text(decoded)
    elif decoded is not None:
        message = readable_text(json.dumps(decoded))
    if not message:
        message = _REASONS.get(status, "HTTP error")
    cls = status_error_class(status)
    return cls(
        message,
        status_code=status,
        headers=headers,
        body=decoded,
        type=err_type,
        param=param,
        code=code,
        retry_after=retry_after,
    )
