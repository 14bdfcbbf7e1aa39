"""The reference decoder: strict or tolerant, and naming the path of whatever it meets.

Responses first go through the generated decoders (``fast.py``), which accept only what
the spec allows. What they refuse comes here. In strict mode the first departure from
the spec raises, naming its path. In tolerant mode a departure with a clear meaning is
decoded and recorded (the caller reports it); one without fails as in strict mode:

* a field with a default (null, an empty array or map, its one kind), holding a value
  that does not fit, or null where the spec allows none: that default;
* an array or map item that does not fit is left out (a page's ``data`` excepted: a
  page with a bad item fails);
* a member of a tagged union whose known ``type`` does not fit: kept as ``Unknown``;
* a field the spec requires but the model can do without: its default;
* a required field without a default (``id``, ``created_at``, a run's ``status``), or
  an ``object`` naming another kind of object: no meaning, so it fails.

Unknown fields are kept on the model and unknown enum values and union tags are kept
as they came, in both modes: the spec allows them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Literal, get_args, get_origin

import attrs

from .._deviations import shown
from .._model import (
    _EMPTY,
    NO_TOLERANCE,
    NOT_IN_SPEC,
    NOTHING_ABSENT,
    Model,
    Unknown,
    optional_inner,
    spec_nullable,
    spec_required,
    union_spec,
)
from .rules import EXACT, as_integer, json_kind

__all__ = ["Pass", "Unfit", "build_once", "format_path", "reader_for"]


class Unfit(Exception):
    """A value the spec does not allow where it is."""

    def __init__(self, path: tuple[str | int, ...], expected: str, got: str) -> None:
        super().__init__(f"expected {expected}, got {got}")
        self.path = path
        self.expected = expected
        self.got = got


class Pass:
    """The state of one decode: its mode, where it is, and what it tolerated."""

    __slots__ = ("found", "path", "strict")

    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.path: list[str | int] = []
        self.found: list[Unfit] = []

    def unfit(self, expected: str, value: object) -> Unfit:
        return Unfit(tuple(self.path), expected, json_kind(value))

    def tolerate(self, problem: Unfit) -> None:
        """Record ``problem`` as tolerated; in strict mode raise it."""
        if self.strict:
            raise problem
        self.found.append(problem)


Reader = Callable[[Any, Pass], Any]
_REQUIRED = "a value (the field is required)"
_MISSING = "no such field"
_READERS: dict[Any, Reader] = {}


def reader_for(tp: Any) -> Reader:
    reader = _READERS.get(tp)
    if reader is None:
        reader = build_once(_READERS, _BUILDING, tp, _build, lambda: reader_for(tp))
    return reader


# Builds happen under one lock: another thread must never meet a type half built. A
# type that contains itself meets its own stand-in, which waits for the finished one.
_LOCK = threading.RLock()
_BUILDING: dict[Any, Any] = {}


def build_once(
    cache: dict[Any, Any],
    building: dict[Any, Any],
    tp: Any,
    build: Callable[[Any], Any],
    finished: Callable[[], Any],
) -> Any:
    """``cache[tp]``, built by ``build(tp)`` the first time, under the builders' lock;
    while it builds, ``building[tp]`` stands in for it (calling ``finished()``)."""
    with _LOCK:
        made = cache.get(tp) or building.get(tp)
        if made is not None:
            return made
        building[tp] = lambda *args: finished()(*args)
        try:
            made = build(tp)
        finally:
            del building[tp]
        cache[tp] = made
        return made


def format_path(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith("["):  # a map key, already quoted
            out += part
        else:
            out += f".{part}" if out else part
    return out


def _build(tp: Any) -> Reader:
    if tp is Any:
        return _any
    if tp in EXACT:
        return _scalar(tp)
    if get_origin(tp) is Literal:
        base = type(get_args(tp)[0])
        return _scalar(base) if base in EXACT else _any
    origin = get_origin(tp) or tp
    if isinstance(origin, type) and issubclass(origin, Model):
        return _model(tp, origin)
    union = union_spec(tp)
    if union is not None:
        return _union(*union)
    inner = optional_inner(tp)
    if inner is not None:
        return _optional(reader_for(inner))
    if origin is list:
        return _list(reader_for(get_args(tp)[0]), tolerant=True)
    if origin is dict:
        key, item = get_args(tp)
        return _dict(reader_for(key), reader_for(item))
    raise TypeError(f"no decoder for {tp!r}")


def _any(value: Any, _: Pass) -> Any:
    return value


def _scalar(tp: type) -> Reader:
    accepted, name = EXACT[tp]
    if tp is int:

        def read_int(value: Any, p: Pass) -> Any:
            if type(value) is int:
                return value
            number = as_integer(value)
            if number is None:
                raise p.unfit(name, value)
            return number

        return read_int

    def read_scalar(value: Any, p: Pass) -> Any:
        if type(value) in accepted:
            return value
        raise p.unfit(name, value)

    return read_scalar


def _optional(inner: Reader) -> Reader:
    # A value that does not fit is tolerated where the field is: it takes its default.
    def read_optional(value: Any, p: Pass) -> Any:
        return None if value is None else inner(value, p)

    return read_optional


def _list(item: Reader, *, tolerant: bool) -> Reader:
    def read_list(value: Any, p: Pass) -> Any:
        if type(value) is not list:
            problem = p.unfit("an array", value)
            if not tolerant:
                raise problem
            p.tolerate(problem)
            return []
        out = []
        path = p.path
        for i, element in enumerate(value):
            path.append(i)
            try:
                out.append(item(element, p))
            except Unfit as problem:
                if not tolerant:
                    raise
                p.tolerate(problem)  # the item is left out
            finally:
                path.pop()
        return out

    return read_list


def _dict(key: Reader, item: Reader) -> Reader:
    def read_dict(value: Any, p: Pass) -> Any:
        if type(value) is not dict:
            problem = p.unfit("an object", value)
            p.tolerate(problem)
            return {}
        out = {}
        path = p.path
        for k, v in value.items():
            path.append(f"[{(k if len(k) <= 80 else k[:80] + '...')!r}]")
            try:
                out[key(k, p)] = item(v, p)
            except Unfit as problem:
                p.tolerate(problem)  # the pair is left out
            finally:
                path.pop()
        return out

    return read_dict


def _union(spec: Any, optional: bool) -> Reader:
    tag, by_tag, allows_str, only = spec.tag, spec.by_tag, spec.allows_str, spec.only

    def read_union(value: Any, p: Pass) -> Any:
        if value is None and optional:
            return None
        if type(value) is dict:
            if only is not None:
                return reader_for(only)(value, p)
            kind = value.get(tag)
            if type(kind) is not str:
                p.path.append(tag)
                problem = p.unfit("a string naming the kind of object", kind)
                p.path.pop()
                raise problem
            cls = by_tag.get(kind)
            if cls is None:
                return Unknown(type=kind, raw=value)
            try:
                return reader_for(cls)(value, p)
            except Unfit as problem:
                p.tolerate(problem)  # a known kind that does not fit: kept as it came
                return Unknown(type=kind, raw=value)
        if allows_str and type(value) is str:
            return value
        raise p.unfit("an object", value)

    return read_union


def _aside(path: list[str | int]) -> Pass:
    """A tolerant pass at ``path`` whose findings nobody reads."""
    aside = Pass(strict=False)
    aside.path = path
    return aside


def _admits_none(tp: Any) -> bool:
    found = union_spec(tp)
    return found[1] if found is not None else optional_inner(tp) is not None


def _not_null(inner: Reader) -> Reader:
    """A field whose type admits None, which the spec does not let be null: a null is a
    deviation (tolerated as None)."""

    def read_not_null(value: Any, p: Pass) -> Any:
        if value is None:
            p.tolerate(p.unfit("a value other than null", value))
            return None
        return inner(value, p)

    return read_not_null


def _model(tp: Any, cls: type[Model]) -> Reader:
    from .fast import _field_types

    types = _field_types(tp, cls)
    fields = []
    for a in attrs.fields(cls):
        if a.name.startswith("_"):
            continue
        reader = reader_for(types[a.name])
        if a.metadata.get(NO_TOLERANCE):
            reader = _list(reader_for(get_args(types[a.name])[0]), tolerant=False)
        default = a.default
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            make: Callable[[], Any] | None = default.factory
        elif default is attrs.NOTHING:
            make = None
        else:
            make = lambda default=default: default  # noqa: E731
        # ``object`` names the kind: another kind is not this object at all.
        tag = default if a.name == "object" and get_origin(types[a.name]) is Literal else None
        if not spec_nullable(a) and _admits_none(types[a.name]):
            reader = _not_null(reader)
        outside = bool(a.metadata.get(NOT_IN_SPEC))
        fields.append((a.name, reader, make, spec_required(a), tag, outside))
    # The kind first: a body that is another object fails as that, not as a missing field.
    fields.sort(key=lambda field: field[4] is None)
    known = frozenset(name for name, *_ in fields)
    build = cls.__new__
    setters = {name: getattr(cls, name).__set__ for name in known}
    set_extra = getattr(cls, "_extra").__set__  # noqa: B009 - a slot descriptor
    set_absent = getattr(cls, "_absent").__set__  # noqa: B009

    def read_model(value: Any, p: Pass) -> Any:
        if type(value) is not dict:
            raise p.unfit("an object", value)
        obj = build(cls)
        absent = []
        path = p.path
        for name, reader, make, required, tag, outside in fields:
            path.append(name)
            try:
                if name in value:
                    v = value[name]
                    if tag is not None and v != tag:
                        got = shown(repr(v)) if type(v) is str else json_kind(v)
                        raise Unfit(tuple(path), repr(tag), got)
                    if make is None:
                        setters[name](obj, reader(v, p))
                        continue
                    # What the spec does not define cannot deviate: read it aside.
                    q = _aside(path) if outside else p
                    try:
                        setters[name](obj, reader(v, q))
                    except Unfit as problem:
                        q.tolerate(problem)  # a field with a default takes it
                        setters[name](obj, make())
                    continue
                if make is None:
                    raise Unfit(tuple(path), _REQUIRED, _MISSING)
                if required:
                    p.tolerate(Unfit(tuple(path), _REQUIRED, _MISSING))
                absent.append(name)
                setters[name](obj, make())
            finally:
                path.pop()
        set_absent(obj, frozenset(absent) if absent else NOTHING_ABSENT)
        extra = value.keys() - known
        set_extra(obj, {k: value[k] for k in extra} if extra else _EMPTY)
        return obj

    return read_model
