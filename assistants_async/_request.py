"""A call's arguments made ready to send: its method and path checked, its extra query
and body merged in, its body turned into JSON data, its timeout into a ``Timeout``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ._config import Query
from ._decoding.converter import to_json_data
from ._timeout import Timeout, coerce_timeout

__all__ = ["prepare"]

_METHOD = re.compile(r"[A-Za-z]+")
_UPPER_METHODS = frozenset({"GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS"})


def _normal_method(method: object) -> str:
    if not isinstance(method, str) or not _METHOD.fullmatch(method):
        raise ValueError(f"method must be an HTTP method name such as 'POST', not {method!r}")
    return method.upper()


# A segment that is "." or ".." however spelled: yarl resolves those, and "%2e%2e"
# is decoded first by some servers.
_DOT_SEGMENT = re.compile(r"(?:^|/)(?:\.|%2e){1,2}(?:/|$)", re.IGNORECASE)


def _check_path(path: object) -> None:
    """Refuse a path that would not stay under ``base_url`` once joined to it."""
    if (
        type(path) is str
        and path[:1] == "/"
        and "." not in path
        and "%" not in path
        and "\\" not in path
        and " " not in path
        and path.isprintable()
    ):
        return  # the common case: nothing that could climb or leave
    if not isinstance(path, str):
        raise TypeError(f"path must be a string, not {type(path).__name__}")
    if not path.startswith("/"):
        raise ValueError(f"path must start with '/': it is joined to base_url ({path!r})")
    route = path.split("?", 1)[0]
    if (
        "\\" in route
        or " " in path
        or not path.isprintable()
        or _DOT_SEGMENT.search(route) is not None
    ):
        raise ValueError(
            "path must stay under base_url: no '.' or '..' segments (percent-encoded "
            f"either), backslashes, spaces or control characters ({path!r})"
        )


def prepare(
    method: str,
    path: str,
    query: Query | None,
    body: Mapping[str, Any] | None,
    timeout: float | Timeout | None,
    extra_query: Mapping[str, Any] | None,
    extra_body: Mapping[str, Any] | None,
) -> tuple[str, Query | None, Any, Timeout | None]:
    """The method (upper case), query, JSON data and timeout of a call to ``path``, which
    must stay under ``base_url``."""
    _check_path(path)
    if method not in _UPPER_METHODS:
        # "post" must be a POST everywhere: its idempotency key, its retries.
        method = _normal_method(method)
    call_timeout = None if timeout is None else coerce_timeout(timeout)
    if extra_query:
        query = [*_query_items(query), *extra_query.items()]
    if extra_body:
        body = {**(body or {}), **extra_body}
    # No body means none is sent (no JSON content type either): an operation without a
    # request body, such as cancelRun, gets exactly that.
    data: Any = to_json_data(body) if body is not None else None
    return method, query, data, call_timeout


def _query_items(query: Query | None) -> list[tuple[str, Any]]:
    if query is None:
        return []
    if isinstance(query, Mapping):
        return list(query.items())
    return list(query)
