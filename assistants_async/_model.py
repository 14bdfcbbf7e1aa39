"""Base of every model: frozen, slotted attrs classes with no I/O.

Two private fields make ``to_dict()`` give back exactly the JSON the API sent:

* ``_extra`` keeps fields this version does not know (the API grows);
* ``_absent`` names known fields the payload left out, so that an absent field and an
  explicit ``null`` stay distinct. It is ``None`` on models built in Python, where
  ``None`` in an optional field simply means "not sent".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType, UnionType
from typing import Any, TypeVar, Union, get_args, get_origin

import attrs

__all__ = [
    "Model",
    "Unknown",
    "not_in_spec",
    "nullable",
    "register_union",
    "required",
    "spec_required",
]

_EMPTY: Mapping[str, Any] = MappingProxyType({})
# Marks a field the spec requires but allows to be null: a model built in Python sends
# it as ``null`` rather than leaving it out.
REQUIRED_NULLABLE = "assistants_async.required_nullable"
# Marks a field the spec does not require but lets be null.
NULLABLE = "assistants_async.nullable"
# Marks a field the spec's schema does not have (a server sent it): whatever it holds
# is no deviation, and what does not fit is read as null.
NOT_IN_SPEC = "assistants_async.not_in_spec"
# Marks a field the spec requires that the model still gives a default, so that a
# response without it decodes (and the deviation is reported) rather than failing.
SPEC_REQUIRED = "assistants_async.spec_required"
# Marks a list field decoded without tolerance: an item that does not fit fails it.
NO_TOLERANCE = "assistants_async.no_tolerance"

M = TypeVar("M", bound="Model")


def nullable(*, required: bool = True) -> Any:
    """A field the spec lets be ``null`` (and requires, unless told otherwise); defaults
    to None. A field the spec does not let be null may still default to None, for
    responses without it, but a ``null`` in it is a deviation."""
    return attrs.field(default=None, metadata={REQUIRED_NULLABLE if required else NULLABLE: True})


def required(*, default: Any = None, factory: Callable[[], Any] | None = None) -> Any:
    """A field the spec requires, with the value a response without it decodes to."""
    if factory is not None:
        return attrs.field(factory=factory, metadata={SPEC_REQUIRED: True})
    return attrs.field(default=default, metadata={SPEC_REQUIRED: True})


def spec_required(field: attrs.Attribute[Any]) -> bool:
    """Whether the spec requires this field in a response: marked so, or without a
    default, or the ``object`` or ``type`` that names the kind of every object."""
    return (
        field.default is attrs.NOTHING
        or (field.name in ("object", "type") and isinstance(field.default, str))
        or bool(field.metadata.get(REQUIRED_NULLABLE) or field.metadata.get(SPEC_REQUIRED))
    )


def not_in_spec() -> Any:
    """A field the spec's schema does not have, modelled for what servers send in it."""
    return attrs.field(default=None, metadata={NOT_IN_SPEC: True})


def spec_nullable(field: attrs.Attribute[Any]) -> bool:
    """Whether the spec lets this field be ``null`` (any field it does not have may)."""
    meta = field.metadata
    return bool(meta.get(REQUIRED_NULLABLE) or meta.get(NULLABLE) or meta.get(NOT_IN_SPEC))


@attrs.frozen(kw_only=True)
class Model:
    """Base class of all API models."""

    _extra: Mapping[str, Any] = attrs.field(default=_EMPTY, alias="_extra", repr=False)
    _absent: frozenset[str] | None = attrs.field(
        default=None, alias="_absent", repr=False, eq=False
    )

    @property
    def model_extra(self) -> Mapping[str, Any]:
        """Fields the server sent that this version of the library does not model."""
        return self._extra

    def to_dict(self) -> dict[str, Any]:
        """The JSON object this model stands for (as the API sent it, for decoded ones)."""
        from ._decoding.converter import to_json_data

        result: dict[str, Any] = to_json_data(self)
        return result

    @classmethod
    def from_dict(cls: type[M], data: Mapping[str, Any]) -> M:
        """Decode a JSON object exactly as the spec defines it; anything else raises
        ``ResponseValidationError`` naming the field path."""
        from ._decoding.converter import structure

        return structure(data, cls)


@attrs.define(frozen=True)
class Unknown:
    """A variant this library does not know (a new tool, content or event kind).

    Decoding never fails on one: the raw JSON object stays reachable in ``raw``.
    """

    type: str
    raw: Mapping[str, Any] = attrs.field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.raw)


class UnionSpec:
    """How to decode one union: by its ``tag`` field, or (``tag`` None) as ``only``."""

    __slots__ = ("allows_str", "by_tag", "only", "tag")

    def __init__(
        self,
        tag: str | None,
        by_tag: dict[str, type[Model]],
        allows_str: bool,
        only: type[Model] | None,
    ) -> None:
        self.tag = tag
        self.by_tag = by_tag
        self.allows_str = allows_str
        self.only = only


# The ``_absent`` of a model that got every known field.
NOTHING_ABSENT: frozenset[str] = frozenset()

# Keyed by the frozenset of member types, so ``Union[...]`` and ``A | B`` spellings agree.
UNIONS: dict[frozenset[object], UnionSpec] = {}


def register_union(union: object, *members: type[Model], tag: str | None = "type") -> None:
    """Record how to decode ``union``; its string (``Literal``) members pass through as-is.

    With ``tag=None`` the union is "a string, or else this one model".
    """
    by_tag: dict[str, type[Model]] = {}
    if tag is not None:
        for member in members:
            default = attrs.fields_dict(member)[tag].default
            if not isinstance(default, str):  # pragma: no cover - a bug in a model
                raise TypeError(f"{member.__name__}.{tag} needs a literal default")
            by_tag[default] = member
    allows_str = any(
        getattr(arg, "__origin__", None) is not None or arg is str
        for arg in getattr(union, "__args__", ())
        if not (isinstance(arg, type) and issubclass(arg, Model | Unknown))
    )
    UNIONS[frozenset(getattr(union, "__args__", ()))] = UnionSpec(
        tag, by_tag, allows_str, members[0] if tag is None else None
    )


def optional_inner(tp: Any) -> Any:
    """``X`` for ``X | None`` (None for any other type)."""
    if get_origin(tp) not in (Union, UnionType):
        return None
    args = get_args(tp)
    if len(args) != 2 or type(None) not in args:
        return None
    return args[0] if args[1] is type(None) else args[1]


def union_spec(tp: Any) -> tuple[UnionSpec, bool] | None:
    """The registered union ``tp`` stands for, and whether it also admits None."""
    if get_origin(tp) not in (Union, UnionType):
        return None
    members = frozenset(get_args(tp))
    spec = UNIONS.get(members)
    if spec is not None:
        return spec, False
    spec = UNIONS.get(members - {type(None)})
    return (spec, True) if spec is not None else None
