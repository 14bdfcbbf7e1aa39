"""A page of a cursor-paginated list."""

from __future__ import annotations

from typing import Generic, Literal, TypeVar

import attrs

from .._model import Model, nullable

__all__ = ["Page"]

T = TypeVar("T")


@attrs.frozen(kw_only=True)
class Page(Model, Generic[T]):
    """One page of a list: ``data``, its cursors and whether more pages follow."""

    data: list[T]
    has_more: bool
    object: Literal["list"] = "list"
    # The spec says strings; servers send null for an empty page.
    first_id: str | None = nullable()
    last_id: str | None = nullable()
