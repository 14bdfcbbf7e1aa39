"""The one cattrs converter that (de)serialises every model.

* Primitives are checked, never coerced: ``"12"`` is not an int, ``1.5`` is not a str.
* ``Literal`` enums accept any string, so a new enum value never breaks decoding.
* Unions are tagged by ``type``; an unknown tag decodes to ``Unknown`` holding the raw dict.
* Unknown fields are kept on the model and written back by ``to_dict()``.
* Hooks are generated on first use of a class, so importing costs nothing per model.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any, Literal, TypeVar, get_args, get_origin

import attrs
import cattrs
from cattrs.cols import list_structure_factory, mapping_structure_factory
from cattrs.gen import make_dict_structure_fn, override

from .._errors import ResponseValidationError
from .._model import (
    NOTHING_ABSENT,
    REQUIRED_NULLABLE,
    Model,
    Unknown,
    optional_inner,
    union_spec,
)
from .rules import EXACT, json_kind

__all__ = ["JSONData", "converter", "decode", "decoder_for", "structure", "structure_event"]

T = TypeVar("T")

converter = cattrs.Converter(detailed_validation=True)


# --- primitives: validate, do not coerce -------------------------------------------


def _exact(name: str, *types: type) -> Callable[[Any, Any], Any]:
    """A hook accepting only values whose type is exactly one of ``types`` (no bool for int)."""

    def structure_exact(value: Any, _: Any) -> Any:
        if type(value) in types:
            return value
        raise TypeError(f"expected {name}, got {_json_type(value)}")

    return structure_exact


_structure_str = _exact(EXACT[str][1], *EXACT[str][0])
_structure_int = _exact(EXACT[int][1], *EXACT[int][0])


def _structure_any(value: Any, _: Any) -> Any:
    return value


_json_type = json_kind

for _type, (_accepted, _name) in EXACT.items():
    converter.register_structure_hook(_type, _exact(_name, *_accepted))
# A predicate, not a type: singledispatch on 3.10 refuses typing.Any ("not a class").
converter.register_structure_hook_func(lambda tp: tp is Any, _structure_any)


def _is_literal(tp: Any) -> bool:
    return get_origin(tp) is Literal


def _make_literal_hook(tp: Any) -> Callable[[Any, Any], Any]:
    # Enum values are open-ended: the API adds statuses and kinds over time.
    base = type(get_args(tp)[0])
    if base is str:
        return _structure_str
    if base is int:
        return _structure_int
    return _structure_any


converter.register_structure_hook_factory(_is_literal, _make_literal_hook)


def _strict_container(
    expected: type, make: Callable[[Any, cattrs.Converter], Callable[[Any, Any], Any]]
) -> Callable[[Any], Callable[[Any, Any], Any]]:
    """Wrap cattrs' own list/dict hook so a wrong JSON type fails instead of iterating."""

    def factory(tp: Any) -> Callable[[Any, Any], Any]:
        inner = make(tp, converter)

        def structure_container(value: Any, cl: Any) -> Any:
            if type(value) is not expected:
                want = "an array" if expected is list else "an object"
                raise TypeError(f"expected {want}, got {_json_type(value)}")
            return inner(value, cl)

        return structure_container

    return factory


def _origin_is(kind: type) -> Callable[[Any], bool]:
    def predicate(tp: Any) -> bool:
        origin: object = get_origin(tp)
        return origin is kind

    return predicate


converter.register_structure_hook_factory(
    _origin_is(list), _strict_container(list, list_structure_factory)
)
converter.register_structure_hook_factory(
    _origin_is(dict), _strict_container(dict, mapping_structure_factory)
)


# --- models ------------------------------------------------------------------------


def _model_class(tp: Any) -> type[Model] | None:
    origin = get_origin(tp) or tp
    if isinstance(origin, type) and issubclass(origin, Model):
        return origin
    return None


def _make_model_structure(tp: Any) -> Callable[[Any, Any], Any]:
    cls = _model_class(tp)
    assert cls is not None
    base = make_dict_structure_fn(
        tp, converter, _extra=override(omit=True), _absent=override(omit=True)
    )
    known = frozenset(a.name for a in attrs.fields(cls) if not a.name.startswith("_"))
    n_known = len(known)
    setattr_ = object.__setattr__

    def structure_model(value: Any, _: Any) -> Any:
        if type(value) is not dict:
            raise TypeError(f"expected an object, got {_json_type(value)}")
        obj = base(value, tp)
        keys = value.keys()
        if len(value) == n_known and keys <= known:
            # Every known field and nothing else: the common case, one set check.
            setattr_(obj, "_absent", NOTHING_ABSENT)
            return obj
        if not keys <= known:
            setattr_(obj, "_extra", {k: value[k] for k in keys - known})
        setattr_(obj, "_absent", known.difference(keys) if not keys >= known else NOTHING_ABSENT)
        return obj

    return structure_model


def _make_model_unstructure(tp: Any) -> Callable[[Any], Any]:
    cls = _model_class(tp)
    assert cls is not None
    # (name, default, omitted when None on a model built in Python). A factory default
    # is compared by value: an absent list decodes to a fresh empty one.
    fields = tuple(
        (
            a.name,
            a.default.factory() if isinstance(a.default, attrs.Factory) else a.default,  # type: ignore[arg-type]
            not a.metadata.get(REQUIRED_NULLABLE, False),
        )
        for a in attrs.fields(cls)
        if not a.name.startswith("_")
    )
    plain = (str, int, float, bool)
    unstructure = converter.unstructure

    def unstructure_model(obj: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        absent = obj._absent
        for name, default, optional in fields:
            value = getattr(obj, name)
            if absent is None:
                if value is None and optional:
                    continue
            elif name in absent and (value is default or value == default):
                continue
            out[name] = value if value is None or type(value) in plain else unstructure(value)
        if obj._extra:
            out.update(obj._extra)
        return out

    return unstructure_model


converter.register_structure_hook_factory(
    lambda tp: _model_class(tp) is not None, _make_model_structure
)
converter.register_unstructure_hook_factory(
    lambda tp: _model_class(tp) is not None, _make_model_unstructure
)
converter.register_unstructure_hook(Unknown, lambda obj: dict(obj.raw))


# --- tagged unions -------------------------------------------------------------------


def _make_union_structure(tp: Any) -> Callable[[Any, Any], Any]:
    found = union_spec(tp)
    assert found is not None
    spec, optional = found
    tag, by_tag, allows_str, only = spec.tag, spec.by_tag, spec.allows_str, spec.only
    hooks: dict[str | None, Callable[[Any, Any], Any]] = {}

    def structure_union(value: Any, _: Any) -> Any:
        if value is None and optional:
            return None
        if type(value) is dict:
            if only is not None:
                hook = hooks.get(None)
                if hook is None:
                    hook = hooks[None] = converter.get_structure_hook(only)
                return hook(value, only)
            kind = value.get(tag)
            cls = by_tag.get(kind) if type(kind) is str else None
            if cls is None:
                if type(kind) is not str:
                    raise ValueError(f"missing or non-string discriminator {tag!r}")
                return Unknown(type=kind, raw=value)
            hook = hooks.get(kind)
            if hook is None:
                hook = hooks[kind] = converter.get_structure_hook(cls)
            return hook(value, cls)
        if allows_str and type(value) is str:
            return value
        raise TypeError(f"expected an object, got {_json_type(value)}")

    return structure_union


converter.register_structure_hook_factory(
    lambda tp: union_spec(tp) is not None, _make_union_structure
)


# --- optional values -----------------------------------------------------------------
# cattrs' own Optional handling looks the inner hook up on every call; a hot path in
# decoding (most fields are optional), so resolve it once per type instead.

# The primitives checked by one exact type (float also takes int: not one of these).
_PRIMITIVES = {tp: name for tp, (accepted, name) in EXACT.items() if accepted == (tp,)}


def _make_optional_structure(tp: Any) -> Callable[[Any, Any], Any]:
    inner_type = optional_inner(tp)
    name = _PRIMITIVES.get(inner_type)
    if name is not None:
        exact = inner_type

        def structure_optional_primitive(value: Any, _: Any) -> Any:
            if value is None or type(value) is exact:
                return value
            raise TypeError(f"expected {name} or null, got {_json_type(value)}")

        return structure_optional_primitive
    inner = converter.get_structure_hook(inner_type)

    def structure_optional(value: Any, _: Any) -> Any:
        return None if value is None else inner(value, inner_type)

    return structure_optional


converter.register_structure_hook_factory(
    lambda tp: optional_inner(tp) is not None and not _is_registered_union(tp),
    _make_optional_structure,
)


def _is_registered_union(tp: Any) -> bool:
    return union_spec(tp) is not None


# --- entry points ----------------------------------------------------------------------


def _format_exception(exc: BaseException, _: Any) -> str:
    if isinstance(exc, KeyError):
        return "required field missing"
    return str(exc) or type(exc).__name__


def _error_path(exc: BaseException) -> tuple[str, str]:
    """The first failure in a cattrs error tree, as (message, dotted path)."""
    messages = cattrs.transform_error(
        exc,
        path="$",
        format_exception=_format_exception,
    )
    first = messages[0] if messages else str(exc)
    message, _, path = first.partition(" @ ")
    path = path.removeprefix("$").removeprefix(".")
    return message, path


def _generated() -> ModuleType:
    # The generator loads on the first decode of a type, not with the package.
    from . import fast

    return fast


# The types whose first fallback was logged (once each: a hostile server can make every
# decode fall back, and the log must not grow with it).
_FELL_BACK: set[Any] = set()
log = logging.getLogger("assistants_async")
# The generated decoder of each type met so far, and of each stream event class.
_READY: dict[Any, Callable[[Any], Any]] = {}
_EVENTS: dict[Any, Callable[[Any], Any]] = {}


def decoder_for(cls: type[T] | Any) -> Callable[[Any], T]:
    """The generated decoder for ``cls``: it refuses bad input (raising anything) without
    saying why, where ``structure`` would fall back to the converter and name the field."""
    decoder = _READY.get(cls)
    if decoder is None:
        decoder = _READY[cls] = _generated().fast_decoder(cls)
    return decoder


def structure(data: Any, cls: type[T] | Any) -> T:
    """Decode plain JSON data into ``cls``; failures become ``ResponseValidationError``."""
    try:
        fast: T = decoder_for(cls)(data)
    except Exception as exc:  # the converter below decides, and names the field
        if cls not in _FELL_BACK:
            _FELL_BACK.add(cls)
            log.debug("fast decoder for %s fell back to the converter: %r", cls, exc)
    else:
        return fast
    try:
        result: T = converter.structure(data, cls)
    except RecursionError:
        raise ResponseValidationError(
            f"could not decode {getattr(cls, '__name__', cls)}: nested too deeply", body=None
        ) from None
    except (cattrs.BaseValidationError, TypeError, ValueError, KeyError) as exc:
        message, path = (
            _error_path(exc)
            if isinstance(exc, cattrs.BaseValidationError)
            else (str(exc) or type(exc).__name__, "")
        )
        name = getattr(cls, "__name__", str(cls))
        raise ResponseValidationError(
            f"could not decode {name}: {message}", path=path, body=data
        ) from None
    return result


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# NaN and Infinity are not JSON: refused, not turned into floats nobody can send back.
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


_fast_loads: Callable[[bytes], Any] | None
try:  # a CPython dependency of the package: 2 to 4 times the stdlib's speed
    import orjson

    _fast_loads = orjson.loads
except ImportError:  # pragma: no cover - another interpreter: the stdlib alone
    _fast_loads = None

# orjson turns an integer beyond 64 bits into a float, where the stdlib keeps it exact. A
# run of 19 digits or more anywhere (numbers, or strings: cheaper than telling which)
# sends the text to the stdlib. The run is found by mapping each digit to "0" and
# everything else to " ": one pass in C, then a substring search.
_DIGITS_ONLY = bytes(0x30 if 0x30 <= i <= 0x39 else 0x20 for i in range(256))
_LONG_RUN = b"0" * 19


def decode_json(raw: bytes | str) -> Any:
    """Parse JSON text; malformed input becomes ``ResponseValidationError``.

    orjson parses first; anything it refuses (or might change) goes to the stdlib, which
    decides and says why, so the result is exactly the stdlib's on every input.
    """
    if _fast_loads is not None:
        text: Any = raw.encode("utf-8", "surrogatepass") if type(raw) is str else raw
        if type(text) is bytes and _LONG_RUN not in text.translate(_DIGITS_ONLY):
            try:
                return _fast_loads(text)
            except Exception:  # noqa: S110 - orjson's refusals are decided below
                pass
    try:
        if type(raw) is bytes:
            raw = raw.decode(json.detect_encoding(raw), "surrogatepass")
        return _DECODER.decode(raw)  # type: ignore[arg-type]
    except ValueError as exc:
        raise ResponseValidationError(f"response is not valid JSON: {exc}") from None
    except RecursionError:
        raise ResponseValidationError("response JSON is nested too deeply to decode") from None


def decode(raw: bytes | str, cls: type[T] | Any) -> T:
    """Parse a JSON body and decode it into ``cls``."""
    data = decode_json(raw)
    fast = _READY.get(cls)
    if fast is not None:  # every response after a type's first: one lookup, one call
        try:
            result: T = fast(data)
        except Exception:  # noqa: S110 - structure() decides, and names the field
            pass
        else:
            return result
    slow: T = structure(data, cls)
    return slow


def structure_event(cls: type[Model], name: str, data: Any) -> Any:
    """A stream event of class ``cls`` (named ``name``) from its ``data``: straight into
    the class, or, where the generated decoder refuses, as ``structure`` decodes
    ``{"event": name, "data": data}``."""
    decoder = _EVENTS.get(cls)
    try:
        if decoder is None:
            decoder = _EVENTS[cls] = _generated().event_decoder(cls)
        event = decoder(data)
    except Exception:  # noqa: S110 - structure() decides, and names the field
        pass
    else:
        return event
    return structure({"event": name, "data": data}, cls)


_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})


class JSONData(dict[str, Any]):
    """A request body already made of plain JSON values (``request_body`` builds these):
    turning it into JSON data again would only walk it a second time."""

    __slots__ = ()


def to_json_data(value: Any) -> Any:
    """Turn a model, or plain data holding models anywhere inside, into JSON data."""
    if type(value) in _JSON_SCALARS or type(value) is JSONData:
        return value
    if isinstance(value, Model | Unknown):
        return converter.unstructure(value)
    if isinstance(value, Mapping):
        return {k: to_json_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_data(v) for v in value]
    return value
