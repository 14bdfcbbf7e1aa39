"""JSON in and out, strictly: request bodies written, response bodies parsed.

Both refuse what JSON cannot carry (NaN, Infinity, numbers no float holds). orjson (a
dependency on CPython) does the work where it can; the stdlib decides the rest, so
every result is exactly what the stdlib alone would give (see benchmarks/README.md for
what orjson saves).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from ._errors import ResponseValidationError

__all__ = ["STRICT_JSON", "decode_json", "encode_body"]

_fast_loads: Callable[[bytes], Any] | None
_fast_dumps: Callable[[Any], bytes] | None
try:  # a CPython dependency of the package
    import orjson

    _fast_loads, _fast_dumps = orjson.loads, orjson.dumps
except ImportError:  # pragma: no cover - another interpreter: the stdlib alone
    _fast_loads = _fast_dumps = None

# NaN and Infinity are refused: they are not JSON, and a strict server would reject the
# body. No circular-reference markers: bodies are fresh copies (to_json_data) anyway.
_ENCODER = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, allow_nan=False, check_circular=False
)


def encode_body(body: Any) -> bytes:
    """A request body as compact UTF-8 JSON; ``ValueError`` for what JSON cannot carry."""
    if _fast_dumps is not None:
        try:
            data = _fast_dumps(body)
        except TypeError:  # orjson refuses it (a big integer, deep nesting): the stdlib decides
            pass
        else:
            # orjson writes NaN and Infinity as null: where a null is, the stdlib checks.
            if b"null" not in data:
                return data
    try:
        return _ENCODER.encode(body).encode()
    except ValueError as exc:
        if "Out of range float" in str(exc):
            raise ValueError(
                "the request body holds NaN or Infinity, which JSON cannot carry"
            ) from None
        raise
    except RecursionError:
        raise ValueError("the request body is nested too deeply to send as JSON") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):  # 1e400: a JSON number no float can hold
        raise ValueError(f"{text[:40]} is beyond what a number can hold")
    return number


# The stdlib's parser, refusing what JSON cannot carry back: NaN, Infinity, and numbers
# no float holds (which it would make infinity). A ``ValueError`` says which.
STRICT_JSON = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite)


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
        # NaN, Infinity and numbers no float holds are refused: nobody could send them back.
        return STRICT_JSON.decode(raw)  # type: ignore[arg-type]
    except ValueError as exc:
        raise ResponseValidationError(f"response is not valid JSON: {exc}") from None
    except RecursionError:
        raise ResponseValidationError("response JSON is nested too deeply to decode") from None
