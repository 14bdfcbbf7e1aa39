"""assistants-async: an async-first client for the OpenAI Assistants API.

    from assistants_async import AsyncClient
    async with AsyncClient() as client:
        ...

The blocking client is ``assistants_async.sync.Client``; models live in
``assistants_async.models``.
"""

from ._client import APIResponse, AsyncClient
from ._deviations import Deviation, SpecDeviationWarning
from ._errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AssistantsError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    PollTimeoutError,
    RateLimitError,
    ResponseTooLargeError,
    ResponseValidationError,
    StreamError,
    ToolCallError,
    ToolLoopLimitError,
    UnprocessableEntityError,
)
from ._pagination import AsyncPaginator
from ._response import RawResponse
from ._timeout import Timeout
from ._types import NOT_GIVEN, NotGiven
from ._version import __version__

__all__ = [
    "NOT_GIVEN",
    "APIConnectionError",
    "APIResponse",
    "APIResponseValidationError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AssistantsError",
    "AsyncPaginator",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConflictError",
    "Deviation",
    "InternalServerError",
    "NotGiven",
    "NotFoundError",
    "PermissionDeniedError",
    "PollTimeoutError",
    "RateLimitError",
    "RawResponse",
    "ResponseTooLargeError",
    "ResponseValidationError",
    "SpecDeviationWarning",
    "StreamError",
    "Timeout",
    "ToolCallError",
    "ToolLoopLimitError",
    "UnprocessableEntityError",
    "__version__",
]
