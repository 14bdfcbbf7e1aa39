"""The keyword arguments the clients and their calls take, each declared once: the
constructor's (``ClientOptions``, with ``CLIENT_DEFAULTS``), ``with_options``'s
(``ClientOverrides``), and every call's (``CallOptions``, ``RequestOptions``)."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypedDict, TypeVar

import aiohttp

from ._headers import Headers
from ._timeout import DEFAULT_TIMEOUT, Timeout

__all__ = [
    "CLIENT_DEFAULTS",
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RESPONSE_SIZE",
    "DEFAULT_MAX_RETRIES",
    "Auth",
    "CallOptions",
    "ClientOptions",
    "ClientOverrides",
    "Query",
    "RequestOptions",
    "client_signature",
]

Query = Mapping[str, Any] | Sequence[tuple[str, Any]]
Auth = Literal["bearer", "api-key", "none"]
_AUTH_CHOICES = ("bearer", "api-key", "none")
F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MAX_RETRIES = 2

# Bodies larger than this are refused (ResponseTooLargeError) unless the client says
# otherwise: far above any Assistants response (a full page of 100 messages of the
# largest size is about 25 MB), far below what hurts a service.
DEFAULT_MAX_RESPONSE_SIZE = 64 * 1024 * 1024


class CallOptions(TypedDict, total=False):
    """The per-call options every resource method takes besides the spec's fields (a
    list method takes all but ``extra_body``)."""

    timeout: float | Timeout | None
    extra_headers: Headers | None
    extra_query: Mapping[str, Any] | None
    extra_body: Mapping[str, Any] | None


class RequestOptions(CallOptions, total=False):
    """The keyword arguments of ``client.request`` besides ``cast_to``."""

    query: Query | None
    body: Mapping[str, Any] | None


class ClientOptions(TypedDict, total=False):
    """The keyword arguments of ``AsyncClient`` and ``Client`` (see README, "Configuration");
    the defaults are in ``CLIENT_DEFAULTS``."""

    api_key: str | None
    base_url: str | None
    organization: str | None
    project: str | None
    timeout: float | Timeout
    max_retries: int
    default_headers: Headers | None
    default_query: Mapping[str, str] | None
    auth: Auth
    proxy: str | None
    trust_env: bool
    max_connections: int
    max_connections_per_host: int | None
    max_response_size: int
    strict: bool


CLIENT_DEFAULTS: dict[str, Any] = {
    "api_key": None,
    "base_url": None,
    "organization": None,
    "project": None,
    "timeout": DEFAULT_TIMEOUT,
    "max_retries": DEFAULT_MAX_RETRIES,
    "default_headers": None,
    "default_query": None,
    "auth": "bearer",
    "proxy": None,
    "trust_env": True,
    "max_connections": 100,
    "max_connections_per_host": None,
    "max_response_size": DEFAULT_MAX_RESPONSE_SIZE,
    "strict": False,
}


def client_signature(init: F, *, session: bool) -> F:
    """``init``, a client's constructor taking ``**options: Unpack[ClientOptions]``, shown
    to ``inspect``, ``help()`` and ``get_type_hints`` with the keyword arguments
    ``ClientOptions`` declares (``session``, for ``AsyncClient`` only, where it always
    stood: after ``trust_env``)."""
    evaluated = typing.get_type_hints(ClientOptions)
    parameters = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    hints: dict[str, Any] = {}
    for name, default in CLIENT_DEFAULTS.items():
        declared = ClientOptions.__annotations__[name]
        text = getattr(declared, "__forward_arg__", declared)
        parameters.append(
            inspect.Parameter(
                name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=text
            )
        )
        hints[name] = evaluated[name]
        if name == "trust_env" and session:
            parameters.append(
                inspect.Parameter(
                    "session",
                    inspect.Parameter.KEYWORD_ONLY,
                    default=None,
                    annotation="aiohttp.ClientSession | None",
                )
            )
            hints["session"] = aiohttp.ClientSession | None
    init.__signature__ = inspect.Signature(parameters, return_annotation="None")  # type: ignore[attr-defined]
    init.__annotations__ = {**hints, "return": None}
    return init


class ClientOverrides(TypedDict, total=False):
    """What ``with_options`` may change (None: as it was)."""

    timeout: float | Timeout | None
    max_retries: int | None
    default_headers: Headers | None
    default_query: Mapping[str, str] | None
    strict: bool | None
