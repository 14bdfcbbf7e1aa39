"""A page of a cursor-paginated list."""

from __future__ import annotations

from typing import Generic, TypeVar

import attrs

from .._model import NO_TOLERANCE, Model, nullable

__all__ = ["Page"]

T = TypeVar("T")


@attrs.frozen(kw_only=True)
class Page(Model, Generic[T]):
    """One page of a list: ``data``, its cursors and whether more pages follow."""

    # An item that cannot be decoded fails the page: a walk must not skip objects.
    data: list[T] = attrs.field(metadata={NO_TOLERANCE: True})
    has_more: bool
    # A string the spec does not pin down (every server sends "list").
    object: str = "list"
    # Strings in the spec's schema; the service sent null on an empty page.
    first_id: str | None = nullable()
    last_id: str | None = nullable()
