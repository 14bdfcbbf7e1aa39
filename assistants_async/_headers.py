"""Headers: the checks every header passes, and how overrides and a call's own headers
are merged (names case-insensitive; a None value removes one)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from ._random import random_bytes

__all__ = [
    "NON_IDEMPOTENT",
    "Headers",
    "call_headers",
    "check_header",
    "check_header_value",
    "override_headers",
]

# A header mapping where a None value removes the header.
Headers = Mapping[str, str | None]
# Methods that may change state: each call gets its own Idempotency-Key.
NON_IDEMPOTENT = frozenset({"POST", "PATCH"})

# RFC 9110 token characters: anything else in a name (":", spaces, line breaks) would
# let a header smuggle another, or fail on the wire.
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def _one_line(value: str) -> bool:
    # A line break or NUL in a header value would let it inject other headers.
    return not any(ch in value for ch in "\r\n\0")


def check_header(name: object, value: object, what: str) -> None:
    """Refuse a header that is not a token name with a single-line string value."""
    if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
        raise ValueError(f"{what}: {name!r} is not a valid header name")
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{what}[{name!r}] must be a string or None, not {type(value).__name__}")
    if value is not None and not _one_line(value):
        raise ValueError(f"{what}[{name!r}] contains a line break or NUL")


def override_headers(
    headers: dict[str, str], overrides: Headers | None, what: str
) -> dict[str, str]:
    """``headers`` (changed in place) with ``overrides`` applied: a name given in any case
    replaces the old one, a None value removes it. Each override is checked first."""
    if overrides:
        lowered = {k.lower(): k for k in headers}
        for name, value in overrides.items():
            check_header(name, value, what)
            existing = lowered.pop(name.lower(), None)
            if existing is not None:
                del headers[existing]
            if value is not None:
                headers[name] = value
                lowered[name.lower()] = name
    return headers


def check_header_value(name: str, value: str) -> None:
    if not _one_line(value):
        raise ValueError(f"{name} contains a line break or NUL, which a header cannot hold")


def call_headers(headers: dict[str, str], method: str, extra: Headers | None) -> dict[str, str]:
    """``headers`` (changed in place) with what one call adds: its idempotency key, if
    it may change state, and its own ``extra`` headers."""
    if method in NON_IDEMPOTENT:
        # One key per call, reused by its retries: a retried create cannot run twice.
        # 128 random bits, as uuid4 has, without building a UUID object.
        headers["Idempotency-Key"] = random_bytes(16).hex()
    return override_headers(headers, extra, "extra_headers")
