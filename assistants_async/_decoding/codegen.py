"""Code generation, in one place: the straight-line decoders (``fast.py``) and slot-by-slot
constructors are built here, as cattrs builds its own hooks."""

from __future__ import annotations

import linecache
from collections.abc import Callable
from typing import Any, TypeVar

import attrs

__all__ = ["generate", "slot_constructor"]

A = TypeVar("A", bound=attrs.AttrsInstance)


def generate(source: str, filename: str, namespace: dict[str, Any]) -> dict[str, Any]:
    """Run generated ``source`` in ``namespace`` and return it. The source is registered
    as cattrs registers its generated code: a traceback through it shows its lines."""
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102
    return namespace


def slot_constructor(cls: type[A]) -> Callable[..., A]:
    """A function building a frozen slotted ``cls`` from every field's value (positional,
    in field order, or by name), slot by slot: about a third cheaper than ``__init__``,
    which goes through ``object.__setattr__`` for each field, for objects made per
    response or per streamed event. No defaults, no checks: every field is given."""
    names = [a.name for a in attrs.fields(cls)]
    namespace: dict[str, Any] = {"new": cls.__new__, "cls": cls}
    lines = [f"def build({', '.join(names)}):", "    o = new(cls)"]
    for i, name in enumerate(names):
        namespace[f"set_{i}"] = getattr(cls, name).__set__
        lines.append(f"    set_{i}(o, {name})")
    lines.append("    return o")
    source = "\n".join(lines) + "\n"
    filename = f"<slot constructor for {cls.__module__}.{cls.__qualname__}>"
    build: Callable[..., A] = generate(source, filename, namespace)["build"]
    return build
