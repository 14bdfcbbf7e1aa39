"""What every resource shares: the client it calls through."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from .._pagination import AsyncPaginator
from .._transport import Headers, Timeout
from ._validate import check_choice, check_cursor, check_limit, check_max_items

if TYPE_CHECKING:
    from .._client import AsyncClient
    from ..models.pages import Page

T = TypeVar("T")

__all__ = ["AsyncResource", "JSONObject", "Timeout", "list_of"]

JSONObject: TypeAlias = Mapping[str, Any]


class AsyncResource:
    """A resource is declarative: a path, its parameters, and the model it returns."""

    __slots__ = ("_client",)

    def __init__(self, client: AsyncClient) -> None:
        self._client = client


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
    timeout: float | Timeout | None,
    extra_headers: Headers | None,
    extra_query: Mapping[str, Any] | None,
    **filters: Any,
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
        {"limit": limit, "order": order, "after": after, "before": before, **filters},
        max_items=max_items,
        timeout=timeout,
        extra_headers=extra_headers,
        extra_query=extra_query,
    )
