"""Straight-line decoders generated per model: the hot path of every response.

The reader (``reader.py``) stays the reference: it gives the field path of a failure,
and tolerates what a tolerant client may. These decoders accept only what the spec
allows, agree with the reader on it, and raise (anything) on everything else;
``structure`` then reruns the reader, which decides. Where a type has no fast form
here, the converter's hook (the reader, strictly) is called.

Why: decoding an ``Assistant`` through cattrs cost 2 to 3 times ``json.loads`` of it,
which bounded listing and added most of the client's per-request overhead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeVar, get_args, get_origin

import attrs

from .._model import (
    _EMPTY,
    NOTHING_ABSENT,
    Model,
    UnionSpec,
    Unknown,
    optional_inner,
    spec_nullable,
    spec_required,
    union_spec,
)
from .codegen import generate, slot_constructor
from .reader import build_once
from .rules import EXACT, as_integer

__all__ = ["event_decoder", "fast_decoder"]

Decoder = Callable[[Any], Any]

_CACHE: dict[Any, Decoder] = {}
_BUILDING: dict[Any, Decoder] = {}
# Types checked inline by exact type: the table the converter's hooks are made from.
_EXACT: dict[Any, tuple[type, ...]] = {tp: accepted for tp, (accepted, _) in EXACT.items()}


class _Reject(Exception):
    """The input is not what the type wants; the reader will say why."""


def _integer(value: Any) -> int:
    """An integral number that is not an ``int`` (``1796499558.0``) as the ``int``."""
    number = as_integer(value)
    if number is None:
        raise _Reject
    return number


def fast_decoder(tp: Any) -> Decoder:
    """A one-argument decoder for ``tp``, built on first use and cached."""
    decoder = _CACHE.get(tp)
    if decoder is None:
        decoder = build_once(_CACHE, _BUILDING, tp, _build, lambda: fast_decoder(tp))
    return decoder


def event_decoder(cls: type[Model]) -> Decoder:
    """A decoder from a stream event's ``data`` to the event: what the model's decoder
    gives for ``{"event": <its name>, "data": data}``, without building that dict (built
    anew on each call: the converter module keeps them)."""
    names = [a.name for a in attrs.fields(cls) if not a.name.startswith("_")]
    if sorted(names) != ["data", "event"]:
        raise TypeError(f"{cls.__name__} is not an event model")
    decode_data = fast_decoder(_field_types(cls, cls)["data"])
    name = attrs.fields_dict(cls)["event"].default
    build = slot_constructor(cls)

    def decode_event(data: Any) -> Any:
        return build(_extra=_EMPTY, _absent=NOTHING_ABSENT, data=decode_data(data), event=name)

    return decode_event


def _exact_types(tp: Any) -> tuple[type, ...] | None:
    """The accepted exact types when ``tp`` is checked by type alone (None: not so)."""
    found = _EXACT.get(tp)
    if found is not None:
        return found
    if get_origin(tp) is Literal:
        base = type(get_args(tp)[0])
        if base is str or base is int:
            return (base,)
    return None


def _build(tp: Any) -> Decoder:
    if tp is Any:
        return _identity
    exact = _exact_types(tp)
    if exact is not None:
        return _check_exact(exact)
    origin = get_origin(tp) or tp
    if isinstance(origin, type) and issubclass(origin, Model):
        return _build_model(tp, origin)
    union = union_spec(tp)
    if union is not None:
        return _build_union(*union)
    inner = optional_inner(tp)
    if inner is not None:
        decode_inner = fast_decoder(inner)

        def optional(value: Any) -> Any:
            return None if value is None else decode_inner(value)

        return optional
    if origin is list:
        return _build_list(get_args(tp)[0])
    if origin is dict:
        return _build_dict(tp)
    return _converter_hook(tp)


def _converter_hook(tp: Any) -> Decoder:
    """No fast form: the converter's own hook, so the result is the same."""
    from .converter import converter

    hook: Callable[[Any, Any], Any] | None = None

    def convert(value: Any) -> Any:
        nonlocal hook
        if hook is None:  # looked up on first use: request-only types may have none
            hook = converter.get_structure_hook(tp)
        return hook(value, tp)

    return convert


def _identity(value: Any) -> Any:
    return value


def _check_exact(types: tuple[type, ...]) -> Decoder:
    if types == (int,):

        def integer(value: Any) -> Any:
            return value if type(value) is int else _integer(value)

        return integer

    def exact(value: Any) -> Any:
        if type(value) not in types:
            raise _Reject
        return value

    return exact


def _build_list(item_type: Any) -> Decoder:
    exact = _exact_types(item_type)
    if item_type is Any:

        def any_list(value: Any) -> Any:
            if type(value) is not list:
                raise _Reject
            return list(value)

        return any_list
    if exact is not None:

        def exact_list(value: Any) -> Any:
            if type(value) is not list:
                raise _Reject
            for item in value:
                if type(item) not in exact:
                    if exact == (int,):  # integral numbers, made ints
                        return [i if type(i) is int else _integer(i) for i in value]
                    raise _Reject
            return list(value)

        return exact_list
    decode_item = fast_decoder(item_type)

    def model_list(value: Any) -> Any:
        if type(value) is not list:
            raise _Reject
        return [decode_item(item) for item in value]

    return model_list


def _build_dict(tp: Any) -> Decoder:
    key_type, item_type = get_args(tp)
    key_exact = _exact_types(key_type)
    item_exact = _exact_types(item_type)
    if (key_exact is None and key_type is not Any) or (item_exact is None and item_type is not Any):
        return _converter_hook(tp)  # no model-valued mappings in the API

    if item_exact is None:

        def keyed_dict(value: Any) -> Any:
            if type(value) is not dict:
                raise _Reject
            if key_exact is not None:
                for key in value:
                    if type(key) not in key_exact:
                        raise _Reject
            return dict(value)

        return keyed_dict

    def plain_dict(value: Any) -> Any:
        if type(value) is not dict:
            raise _Reject
        for key, item in value.items():
            if type(item) not in item_exact or (
                key_exact is not None and type(key) not in key_exact
            ):
                raise _Reject
        return dict(value)

    return plain_dict


def _build_union(spec: UnionSpec, optional: bool) -> Decoder:
    tag, by_tag, allows_str, only = spec.tag, spec.by_tag, spec.allows_str, spec.only
    decoders: dict[str, Decoder] = {}

    def union(value: Any) -> Any:
        if type(value) is dict:
            if only is not None:
                decode = decoders.get("")
                if decode is None:  # resolved on first use: ``only`` may still be building
                    decode = decoders[""] = fast_decoder(only)
                return decode(value)
            kind = value.get(tag)
            decode = decoders.get(kind) if type(kind) is str else None
            if decode is None:
                if type(kind) is not str:
                    raise _Reject
                cls = by_tag.get(kind)
                if cls is None:
                    return Unknown(type=kind, raw=value)
                decode = decoders[kind] = fast_decoder(cls)
            return decode(value)
        if value is None and optional:
            return None
        if allows_str and type(value) is str:
            return value
        raise _Reject

    return union


def _field_types(tp: Any, cls: type[Model]) -> dict[str, Any]:
    """Each field's resolved type, with a generic model's type variables filled in."""
    attrs.resolve_types(cls)
    params = getattr(cls, "__parameters__", ())
    bound = dict(zip(params, get_args(tp), strict=False)) if params else {}

    def fill(ftype: Any) -> Any:
        if isinstance(ftype, TypeVar):
            return bound.get(ftype, Any)
        inner: tuple[Any, ...] = getattr(ftype, "__parameters__", ())
        if bound and inner:
            return ftype[tuple(bound.get(p, Any) for p in inner)]
        return ftype

    return {a.name: fill(a.type) for a in attrs.fields(cls)}


def _build_model(tp: Any, cls: type[Model]) -> Decoder:
    types = _field_types(tp, cls)
    fields = [a for a in attrs.fields(cls) if not a.name.startswith("_")]
    known = frozenset(a.name for a in fields)
    ns: dict[str, Any] = {
        "new": cls.__new__,
        "cls": cls,
        "Reject": _Reject,
        "known": known,
        "EMPTY_ABSENT": NOTHING_ABSENT,
        "EMPTY_EXTRA": _EMPTY,
        "set_extra": getattr(cls, "_extra").__set__,  # noqa: B009 - a slot descriptor
        "set_absent": getattr(cls, "_absent").__set__,  # noqa: B009
        "integer": _integer,
    }
    ns["absent_info"], ns["absent_seen"] = _absent_info([a.name for a in fields])
    lines = [
        "def decode_model(d):",
        "    if type(d) is not dict:",
        "        raise Reject",
        "    o = new(cls)",
        # A bit per absent field: no allocation, so decoding feeds the GC less.
        "    m = 0",
    ]
    # Fields the spec requires though the model has a default: absent, the reader reports.
    required_mask = 0
    for i, field in enumerate(fields):
        name = field.name
        ns[f"set_{i}"] = getattr(cls, name).__set__
        check = [f"    {line}" for line in _inline_check(types[name], i, ns, spec_nullable(field))]
        if name == "object" and get_origin(types[name]) is Literal:
            # The kind of object: another kind is not this object at all.
            check = [f"    if v != {field.default!r}:", "        raise Reject"]
        default = field.default
        if default is not attrs.NOTHING and spec_required(field):
            required_mask |= 1 << i
        if default is attrs.NOTHING:
            lines += [f"    v = d[{name!r}]", *check, f"    set_{i}(o, v)"]
            continue
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            ns[f"factory_{i}"] = default.factory
            absent_value = f"factory_{i}()"
        elif default is None or type(default) in (str, int, bool):
            absent_value = repr(default)
        else:
            ns[f"default_{i}"] = default
            absent_value = f"default_{i}"
        lines += [
            f"    if {name!r} in d:",
            f"        v = d[{name!r}]",
            *(f"    {line}" for line in check),
            f"        set_{i}(o, v)",
            "    else:",
            f"        set_{i}(o, {absent_value})",
            f"        m |= {1 << i}",
        ]
    # Every known field that was present is counted in len(d): more keys are unknown ones.
    lines += [
        "    if m:",
        *(
            [f"        if m & {required_mask}:", "            raise Reject"]
            if required_mask
            else []
        ),
        "        info = absent_seen(m)",  # a dict lookup: each mask is computed once
        "        if info is None:",
        "            info = absent_info(m)",
        "        set_absent(o, info[0])",
        f"        extra = len(d) != {len(known)} - info[1]",
        "    else:",
        "        set_absent(o, EMPTY_ABSENT)",
        f"        extra = len(d) != {len(known)}",
        "    set_extra(o, {k: d[k] for k in d.keys() - known} if extra else EMPTY_EXTRA)",
        "    return o",
    ]
    shared_empty = not required_mask and all(
        field.default is None or type(field.default) in (str, int, bool) for field in fields
    )
    if shared_empty:
        # An empty object (``"tool_resources": {}`` on most assistants) decodes to one
        # shared instance: the model is frozen and holds nothing mutable.
        lines[3:3] = ["    if not d and EMPTY_MODEL is not None:", "        return EMPTY_MODEL"]
        ns["EMPTY_MODEL"] = None
    source = "\n".join(lines) + "\n"
    filename = f"<fast decoder for {cls.__module__}.{cls.__qualname__}>"
    decoder: Decoder = generate(source, filename, ns)["decode_model"]
    if shared_empty:
        ns["EMPTY_MODEL"] = decoder({})
    return decoder


def _absent_info(
    names: list[str],
) -> tuple[
    Callable[[int], tuple[frozenset[str], int]], Callable[[int], tuple[frozenset[str], int] | None]
]:
    """For a bit mask, the absent field names and how many: computed by the first
    function, once per mask; the second (a dict's ``get``) finds those already made."""
    cache: dict[int, tuple[frozenset[str], int]] = {}

    def absent_info(mask: int) -> tuple[frozenset[str], int]:
        absent = frozenset(name for i, name in enumerate(names) if mask >> i & 1)
        info = cache[mask] = (absent, len(absent))
        return info

    return absent_info, cache.get


def _inline_check(ftype: Any, i: int, ns: dict[str, Any], null_ok: bool) -> list[str]:
    """Source lines that check (and convert) ``v`` for one field. ``null_ok``: the spec
    lets the field be null (else a null is refused, for the reader to report)."""
    if ftype is Any:
        return []
    nullable = False
    inner = ftype
    union = union_spec(ftype)
    if union is None:
        opt = optional_inner(ftype)
        if opt is not None:
            nullable, inner = null_ok, opt
    elif union[1] and not null_ok:
        ns[f"decode_{i}"] = fast_decoder(ftype)
        return ["if v is None:", "    raise Reject", f"v = decode_{i}(v)"]
    exact = _exact_types(inner)
    if exact is not None:
        # Builtin names: the check stays a plain identity test.
        test = " and ".join(f"type(v) is not {t.__name__}" for t in exact)
        if nullable:
            test = f"v is not None and {test}" if len(exact) == 1 else f"v is not None and ({test})"
        if exact == (int,):  # an integral number of another type is made an int
            return [f"if {test}:", "    v = integer(v)"]
        return [f"if {test}:", "    raise Reject"]
    ns[f"decode_{i}"] = fast_decoder(inner)
    if nullable:
        return ["if v is not None:", f"    v = decode_{i}(v)"]
    return [f"v = decode_{i}(v)"]
