"""What every resource shares: the client it calls through."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias, TypedDict, TypeVar, Union

from .._config import CallOptions
from .._headers import Headers
from .._pagination import AsyncPaginator
from .._streaming import AsyncAssistantStream
from .._timeout import Timeout
from .._types import NOT_GIVEN, NotGiven
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


class ListOptions(TypedDict, total=False):
    """The per-call options of a list method: ``CallOptions`` but ``extra_body``."""

    timeout: float | Timeout | None
    extra_headers: Headers | None
    extra_query: Mapping[str, Any] | None


def keywords(
    fields: Any = None, *, options: Any = CallOptions, none: Collection[str] = ()
) -> Callable[[F], F]:
    """Spell out a method's ``**kwargs`` (typed for mypy as ``Unpack`` of a TypedDict) as
    the keyword parameters they stand for, for ``inspect``, ``help()`` and
    ``get_type_hints``: those of ``fields`` (defaulting to NOT_GIVEN, or to None for
    the names in ``none``), then the per-call ``options`` (defaulting to None). The
    method itself is left as it is: nothing is added to a call."""

    def spell_out(method: F) -> F:
        signature = inspect.signature(method)
        kept = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
        spelled = {p.name for p in kept} | {"return"}
        hints = {k: v for k, v in method.__annotations__.items() if k in spelled}
        added: list[inspect.Parameter] = []
        sources = [(fields, False), (options, True)] if fields is not None else [(options, True)]
        for source, is_option in sources:
            evaluated = typing.get_type_hints(source)
            for name, declared in source.__annotations__.items():
                if not is_option and name in OPTIONS:
                    continue  # the options come last, as every method has them
                text = getattr(declared, "__forward_arg__", str(declared))
                hint = evaluated[name]
                default: Any = None
                if not is_option and name not in none:
                    default = NOT_GIVEN
                    nullable = text.endswith(" | None")
                    text = f"{text.removesuffix(' | None')} | NotGiven" + (
                        " | None" if nullable else ""
                    )
                    hint = Union[hint, NotGiven]  # noqa: UP007 - hint may be a typing form
                added.append(
                    inspect.Parameter(
                        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=text
                    )
                )
                hints[name] = hint
        method.__signature__ = signature.replace(parameters=[*kept, *added])  # type: ignore[attr-defined]
        method.__annotations__ = hints
        return method

    return spell_out


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
