"""Response JSON is parsed by orjson where it is installed (every CPython), and by the
stdlib otherwise. The two must give the same result, or the same refusal, on every input:
these tests hold the fast path to the stdlib's answers."""

from __future__ import annotations

import codecs
import json
import platform
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistants_async import ResponseValidationError
from assistants_async import _json as codec
from assistants_async._json import encode_body as _encode_body


def _stdlib(raw: bytes | str) -> tuple[str, Any]:
    with pytest.MonkeyPatch.context() as m:
        m.setattr(codec, "_fast_loads", None)
        return _outcome(raw)


def _outcome(raw: bytes | str) -> tuple[str, Any]:
    try:
        # repr tells 1 from 1.0 and -0.0 from 0.0, where == would not.
        return "ok", repr(codec.decode_json(raw))
    except ResponseValidationError:
        return "refused", None


def _same(raw: bytes | str) -> tuple[str, Any]:
    fast = _outcome(raw)
    assert fast == _stdlib(raw), raw
    return fast


def test_orjson_is_the_parser_on_cpython() -> None:
    if platform.python_implementation() != "CPython":  # pragma: no cover
        assert codec._fast_loads is None
        return
    import orjson

    assert codec._fast_loads is orjson.loads


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Integers beyond 64 bits stay exact (orjson would make floats of them).
        (b'{"a": 123456789012345678901234567890}', {"a": 123456789012345678901234567890}),
        (b'{"a": -9223372036854775809}', {"a": -9223372036854775809}),
        (b"[18446744073709551616]", [18446744073709551616]),
        (b"[9223372036854775807, -9223372036854775808]", [2**63 - 1, -(2**63)]),
        (b'{"id": "1234567890123456789012"}', {"id": "1234567890123456789012"}),
        # What the stdlib accepts and orjson does not.
        (codecs.BOM_UTF8 + b'{"a": 1}', {"a": 1}),
        ('{"a": 1}'.encode("utf-16"), {"a": 1}),
        ('{"a": 1}'.encode("utf-32-le"), {"a": 1}),
        (b'{"a": "\\ud800"}', {"a": "\ud800"}),
        (b'{"a": "\xed\xa0\x80"}', {"a": "\ud800"}),
        ('{"a": "\ud800"}', {"a": "\ud800"}),
        # The same on both sides.
        (b'{"a": 1, "a": 2}', {"a": 2}),
        (b"[-0.0, -0, 1.0, 1, 1E5]", [-0.0, 0, 1.0, 1, 100000.0]),
        (b'{"\\u0000": "caf\\u00e9 \xe2\x9c\x93"}', {"\x00": "café ✓"}),
    ],
)
def test_the_stdlibs_answer(raw: bytes | str, expected: Any) -> None:
    assert _same(raw) == ("ok", repr(expected))


@pytest.mark.parametrize(
    "raw",
    [
        b"NaN",
        b"[Infinity]",
        b"[-Infinity]",
        # A number no float holds: the stdlib would make it infinity, which JSON cannot
        # carry back.
        b"[1e400]",
        b"[-1e400]",
        b"",
        b"[1,]",
        b"{'a': 1}",
        b'{"a": 1}\x00',
        b'"\xff"',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a": 1} {"b": 2}',
    ],
)
def test_the_stdlibs_refusal(raw: bytes) -> None:
    assert _same(raw) == ("refused", None)


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(value=_json_values, ascii_only=st.booleans(), as_text=st.booleans())
def test_agrees_on_any_json_value(value: Any, ascii_only: bool, as_text: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    raw: bytes | str = text if as_text else text.encode("utf-8", "surrogatepass")
    assert _same(raw) == ("ok", repr(value))


@settings(max_examples=400, deadline=None)
@given(value=_json_values, cut=st.integers(min_value=0), junk=st.binary(max_size=4))
def test_agrees_on_damaged_json(value: Any, cut: int, junk: bytes) -> None:
    raw = json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    at = cut % (len(raw) + 1)
    _same(raw[:at] + junk + raw[at:])


# Request bodies go out through orjson where it is installed, else the stdlib: either way
# they must carry exactly the JSON the stdlib's encoder with the same settings writes (the
# same values, 1 and 1.0 told apart, in the same order; orjson may spell an exponent
# otherwise, "1e-7" for "1e-07"), and refuse what it refuses.


def _exactly(value: Any) -> str:
    return repr(json.loads(value, object_pairs_hook=list))


@settings(max_examples=300, deadline=None)
@given(value=_json_values)
def test_request_bodies_encode_as_the_stdlib_does(value: Any) -> None:
    expected = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    ours = _encode_body(value)
    assert _exactly(ours) == _exactly(expected)
    if not any(c in expected for c in ".eE"):  # no number written in two ways
        assert ours == expected.encode()


@settings(max_examples=300, deadline=None)
@given(value=_json_values)
def test_request_bodies_encode_the_same_without_orjson(value: Any) -> None:
    with pytest.MonkeyPatch.context() as m:
        m.setattr(codec, "_fast_dumps", None)
        stdlib = _encode_body(value)
    expected = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    assert stdlib == expected.encode()


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_request_bodies_refuse_what_json_cannot_carry(value: float) -> None:
    with pytest.raises(ValueError, match="NaN or Infinity"):
        _encode_body({"temperature": value})


def test_a_failed_encode_leaves_nothing_behind_for_the_next() -> None:
    # An encoder with circular-reference markers keeps the failed body's id among them,
    # and would then refuse that same body, mended, as "circular".
    body: dict[str, Any] = {"a": [1, 2], "b": object()}
    with pytest.raises(TypeError):
        _encode_body(body)
    del body["b"]
    assert _encode_body(body) == b'{"a":[1,2]}'
