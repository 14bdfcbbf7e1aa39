"""What every resource shares: the client it calls through."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias, TypedDict, TypeVar

from .._config import CallOptions
from .._headers import Headers
from .._pagination import AsyncPaginator
from .._signatures import spelled_out
from .._streaming import AsyncAssistantStream
from .._timeout import Timeout
from .._types import NOT_GIVEN
from ..models.runs import Run
from ._validate import (
    check_choice,
    check_cursor,
    check_limit,
    check_max_items,
    path_id,
    request_body,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._client import AsyncClient
    from ..models.pages import Page

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

__all__ = [
    "OPTIONS",
    "AsyncResource",
    "CallOptions",
    "JSONObject",
    "ListOptions",
    "Timeout",
    "keywords",
    "list_of",
    "run_request",
]

# The per-call request options every method takes besides the spec's fields.
OPTIONS = tuple(CallOptions.__annotations__)


def keywords(
    fields: Any = None, *, options: Any = CallOptions, none: Collection[str] = ()
) -> Callable[[F], F]:
    """``_signatures.keywords``, the per-call options by default."""
    return spelled_out(fields, options=options, none=none)


class ListOptions(TypedDict, total=False):
    """The per-call options of a list method: ``CallOptions`` but ``extra_body``."""

    timeout: float | Timeout | None
    extra_headers: Headers | None
    extra_query: Mapping[str, Any] | None


JSONObject: TypeAlias = Mapping[str, Any]


class AsyncResource:
    """A resource is declarative: a path, its parameters, and the model it returns."""

    __slots__ = ("_client",)

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def _sleep(self, seconds: float) -> None:
        """The one way helpers wait: the transport's sleep, which close() cuts short."""
        await self._client._transport.sleep(seconds)

    def _stream(self, request: Mapping[str, Any]) -> AsyncAssistantStream:
        """A stream that sends ``request`` (``client.request`` arguments) when entered."""
        arguments = {k: v for k, v in request.items() if k != "cast_to"}
        return AsyncAssistantStream(
            lambda: self._client.open_stream(**arguments),
            self._client._reading,
            (arguments["method"], arguments["path"]),
        )


def run_request(
    operation: str,
    path: str,
    params: Mapping[str, Any],
    allowed: Mapping[str, Any],
    *,
    stream: bool,
    query: Any = None,
    not_body: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The ``client.request`` arguments of a run-starting POST, from its keyword arguments.

    ``allowed`` is the TypedDict of the operation's optional keywords: the helpers pass
    them through ``**params``, so an unknown one is refused here, as Python would.
    """
    unknown = set(params) - set(allowed) - {"assistant_id"}
    if unknown:
        raise TypeError(f"unexpected keyword argument(s): {', '.join(sorted(unknown))}")
    path_id("assistant_id", params.get("assistant_id"))
    params = {k: v for k, v in params.items() if v is not NOT_GIVEN}
    fields = {k: v for k, v in params.items() if k not in OPTIONS and k not in not_body}
    if stream:
        fields["stream"] = True
    return {
        "method": "POST",
        "path": path,
        "cast_to": Run,
        "query": query,
        "body": request_body(operation, **fields),
        **{name: params.get(name) for name in OPTIONS},
    }


def list_of(
    resource: AsyncResource,
    path: str,
    page_type: type[Page[T]],
    *,
    limit: int | None,
    order: str | None,
    after: str | None,
    before: str | None,
    max_items: int | None,
    filters: Mapping[str, Any] | None = None,
    **options: Unpack[ListOptions],
) -> AsyncPaginator[T]:
    """Check the list parameters every list operation shares; build its paginator."""
    check_limit(limit)
    check_choice("order", order, ("asc", "desc"))
    check_cursor("after", after)
    check_cursor("before", before)
    check_max_items(max_items)
    return AsyncPaginator(
        resource._client,
        path,
        page_type,
        {"limit": limit, "order": order, "after": after, "before": before, **(filters or {})},
        max_items=max_items,
        **options,
    )
