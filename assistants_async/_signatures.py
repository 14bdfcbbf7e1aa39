"""Signatures spelled out: a method typed for mypy with ``**kwargs: Unpack[SomeTypedDict]``
shows ``inspect``, ``help()`` and ``get_type_hints`` the keyword parameters the TypedDict
declares, each declared once."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Collection
from typing import Any, TypeVar, Union

from ._types import NOT_GIVEN, NotGiven

__all__ = ["spelled_out"]

F = TypeVar("F", bound=Callable[..., Any])


def spelled_out(
    fields: Any = None, *, options: Any = None, none: Collection[str] = ()
) -> Callable[[F], F]:
    """Spell out a method's ``**kwargs`` (typed for mypy as ``Unpack`` of a TypedDict) as
    the keyword parameters they stand for, for ``inspect``, ``help()`` and
    ``get_type_hints``: those of ``fields`` (defaulting to NOT_GIVEN, or to None for
    the names in ``none``), then those of ``options`` (defaulting to None). The method
    itself is left as it is: nothing is added to a call."""

    def spell_out(method: F) -> F:
        signature = inspect.signature(method)
        kept = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
        spelled = {p.name for p in kept} | {"return"}
        hints = {k: v for k, v in method.__annotations__.items() if k in spelled}
        added: list[inspect.Parameter] = []
        sources = [(s, opt) for s, opt in ((fields, False), (options, True)) if s is not None]
        for source, is_option in sources:
            evaluated = typing.get_type_hints(source)
            for name, declared in source.__annotations__.items():
                if not is_option and options is not None and name in options.__annotations__:
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
