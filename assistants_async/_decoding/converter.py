"""The one cattrs converter that (de)serialises every model, and the decoding entry points.

* Responses decode through generated straight-line decoders (``fast.py``), which accept
  only what the spec allows; what they refuse goes to the reference reader
  (``reader.py``), which names the failing field and, for a tolerant client, decodes
  what has a clear meaning and reports the deviation.
* Primitives are checked, never coerced (an integral ``1.0`` is an integer, as in the
  spec's JSON Schema dialect); ``Literal`` enums accept any string.
* Unions are tagged by ``type``; an unknown tag decodes to ``Unknown`` holding the raw dict.
* Unknown fields are kept on the model and written back by ``to_dict()``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any, TypeVar, get_args, get_origin

import attrs
import cattrs
from cattrs.errors import StructureHandlerNotFoundError

from .._deviations import Deviation, Reading, operation_of
from .._errors import ResponseValidationError
from .._json import decode_json
from .._model import REQUIRED_NULLABLE, Model, Unknown
from .reader import Pass, Unfit, format_path, reader_for
from .rules import EXACT

__all__ = [
    "JSONData",
    "converter",
    "decode",
    "decode_json",
    "decoder_for",
    "read",
    "structure",
    "structure_event",
]

T = TypeVar("T")
# The operation a response answers: its name, or (method, path) to name it from when a
# deviation is reported (a string built on every call would cost the fast path).
Operation = str | tuple[str, str]

converter = cattrs.Converter()


# --- decoding: the reference reader behind the converter -----------------------------


def _make_structure(tp: Any) -> Callable[[Any, Any], Any]:
    """``converter.structure``: the reader in strict mode (responses go through
    ``structure`` below, which also tolerates and reports)."""
    try:
        read = reader_for(tp)
    except TypeError as exc:
        raise StructureHandlerNotFoundError(str(exc), tp) from None

    def structure_strictly(value: Any, _: Any) -> Any:
        return read(value, Pass(strict=True))

    return structure_strictly


for _type in EXACT:
    converter.register_structure_hook(_type, _make_structure(_type))
converter.register_structure_hook_factory(lambda tp: True, _make_structure)


# --- encoding ----------------------------------------------------------------------


def _model_class(tp: Any) -> type[Model] | None:
    origin = get_origin(tp) or tp
    if isinstance(origin, type) and issubclass(origin, Model):
        return origin
    return None


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


converter.register_unstructure_hook_factory(
    lambda tp: _model_class(tp) is not None, _make_model_unstructure
)
converter.register_unstructure_hook(Unknown, lambda obj: dict(obj.raw))


# --- entry points ----------------------------------------------------------------------


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
    saying why, where ``structure`` would fall back to the reader and name the field."""
    decoder = _READY.get(cls)
    if decoder is None:
        decoder = _READY[cls] = _generated().fast_decoder(cls)
    return decoder


def type_name(cls: Any) -> str:
    """``Page[Assistant]``, ``Run``: how a deviation or an error names a type."""
    origin = get_origin(cls)
    if origin is not None and isinstance(origin, type):
        args = ", ".join(type_name(arg) for arg in get_args(cls))
        return f"{origin.__name__}[{args}]"
    return str(getattr(cls, "__name__", cls))


def read(
    data: Any,
    cls: type[T] | Any,
    reading: Reading | None = None,
    operation: Operation = "",
    *,
    prefix: tuple[str | int, ...] = (),
    name: str | None = None,
) -> T:
    """Decode with the reference reader: strictly (``reading`` None or strict), or
    tolerantly, reporting each deviation to ``reading``. ``prefix`` and ``name`` place
    a part (an item of a page) within the response it came in."""
    strict = reading is None or reading.strict
    p = Pass(strict)
    p.path.extend(prefix)
    name = name or type_name(cls)
    try:
        result: T = reader_for(cls)(data, p)
    except RecursionError:
        raise ResponseValidationError(
            f"could not decode {name}: nested too deeply", body=None
        ) from None
    except Unfit as problem:
        path = format_path(problem.path)
        raise ResponseValidationError(
            f"could not decode {name}: {problem}", path=path, body=data
        ) from None
    if p.found and reading is not None:
        where = operation if isinstance(operation, str) else operation_of(*operation)
        reading.report(
            Deviation(where, name, format_path(u.path), u.expected, u.got) for u in p.found
        )
    return result


def structure(
    data: Any, cls: type[T] | Any, reading: Reading | None = None, operation: Operation = ""
) -> T:
    """Decode plain JSON data into ``cls``; what cannot be decoded raises
    ``ResponseValidationError``. Strict unless ``reading`` says otherwise."""
    try:
        fast: T = decoder_for(cls)(data)
    except Exception as exc:  # the reader below decides, and names the field
        if cls not in _FELL_BACK:
            _FELL_BACK.add(cls)
            log.debug("fast decoder for %s fell back to the reader: %r", cls, exc)
    else:
        return fast
    slow: T = read(data, cls, reading, operation)
    return slow


def decode(
    raw: bytes | str, cls: type[T] | Any, reading: Reading | None = None, operation: Operation = ""
) -> T:
    """Parse a JSON body and decode it into ``cls`` (strictly unless ``reading`` says)."""
    data = decode_json(raw)
    fast = _READY.get(cls)
    if fast is not None:  # every response after a type's first: one lookup, one call
        try:
            result: T = fast(data)
        except Exception:  # noqa: S110 - structure() decides, and names the field
            pass
        else:
            return result
    slow: T = structure(data, cls, reading, operation)
    return slow


def structure_event(
    cls: type[Model],
    name: str,
    data: Any,
    reading: Reading | None = None,
    operation: Operation = "",
) -> Any:
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
    return read({"event": name, "data": data}, cls, reading, operation)


_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})


class JSONData(dict[str, Any]):
    """A request body already made of plain JSON values (``request_body`` builds these):
    turning it into JSON data again would only walk it a second time."""

    __slots__ = ()


def to_json_data(value: Any) -> Any:
    """Turn a model, or plain data holding models anywhere inside, into JSON data."""
    if type(value) in _JSON_SCALARS or type(value) is JSONData:
        return value
    try:
        return _json_data(value)
    except RecursionError:
        raise ValueError("the value is nested too deeply to turn into JSON") from None


def _json_data(value: Any) -> Any:
    if type(value) in _JSON_SCALARS or type(value) is JSONData:
        return value
    if isinstance(value, Model | Unknown):
        return converter.unstructure(value)
    if isinstance(value, Mapping):
        return {k: _json_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_data(v) for v in value]
    return value
