"""Client configuration: every setting checked once, before anything is sent.

``build_config`` turns the constructor's keyword arguments (``ClientOptions``) into a
``ClientConfig``; ``AsyncClient``, the blocking ``Client`` and ``with_options`` all go
through it. Nothing here does I/O.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import aiohttp
import attrs
from yarl import URL

from ._headers import Headers, check_header_value, override_headers
from ._options import (
    _AUTH_CHOICES,
    CLIENT_DEFAULTS,
    DEFAULT_BASE_URL,
    DEFAULT_MAX_RESPONSE_SIZE,
    DEFAULT_MAX_RETRIES,
    Auth,
    CallOptions,
    ClientOptions,
    ClientOverrides,
    Query,
    RequestOptions,
    client_signature,
)
from ._timeout import DEFAULT_TIMEOUT, Timeout, check_seconds, coerce_timeout
from ._version import __version__

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RESPONSE_SIZE",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "Auth",
    "ClientConfig",
    "CallOptions",
    "ClientOptions",
    "ClientOverrides",
    "ClientSettings",
    "Query",
    "RequestOptions",
    "Timeout",
    "build_config",
    "client_signature",
    "check_seconds",
    "coerce_timeout",
    "masked_url",
    "resolve_proxy",
    "split_base_url",
]

USER_AGENT = (
    f"assistants-async/{__version__} "
    f"Python/{sys.version_info[0]}.{sys.version_info[1]}.{sys.version_info[2]} "
    f"aiohttp/{aiohttp.__version__}"
)


def split_base_url(base_url: str) -> tuple[str, list[tuple[str, str]]]:
    """``base_url`` without its query (no trailing slash), and that query's items.

    A gateway's ``?api-version=...`` belongs after the path of every call, not before it.
    """
    parts = urlsplit(base_url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    bare = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
    return bare, query


def resolve_proxy(
    proxy: str | None, trust_env: bool, base_url: str
) -> tuple[str | None, dict[str, str] | None]:
    """The proxy for calls to ``base_url`` and its ``Proxy-Authorization`` header, if any.

    Resolved once per client: the client talks to one host, so the environment
    (``HTTP_PROXY``, ``HTTPS_PROXY``, ``NO_PROXY``) is read at construction, not on every
    call (aiohttp's own ``trust_env`` costs two thread hops a request and would also send
    ``~/.netrc`` credentials, clashing with the API key's ``Authorization``).
    """
    url: URL | None = None
    auth: str | None = None
    if proxy is not None:
        if not isinstance(proxy, str):
            raise TypeError(f"proxy must be a URL string, not {type(proxy).__name__}")
        try:
            url = URL(proxy)
        except ValueError:
            url = None
        if url is None or url.scheme not in ("http", "https") or not url.host:
            raise ValueError("proxy must be an http(s) URL with a host, e.g. http://proxy:3128")
    elif trust_env:
        from aiohttp.helpers import get_env_proxy_for_url

        try:
            url, basic = get_env_proxy_for_url(URL(base_url))
        except LookupError:
            return None, None
        if basic is not None:
            auth = aiohttp.encode_basic_auth(basic.login, basic.password)
    if url is None:
        return None, None
    if url.user is not None:
        auth = aiohttp.encode_basic_auth(url.user, url.password or "")
        url = url.with_user(None)
    return str(url), ({"Proxy-Authorization": auth} if auth else None)


def masked_url(url: str) -> str:
    """``url`` with its query's values masked: a gateway may take its key there
    (``?code=...``), and a URL is shown in reprs and errors."""
    head, mark, query = url.partition("?")
    if not mark:
        return url
    masked = "&".join(
        f"{name}=***" if sep else name
        for name, sep, _ in (p.partition("=") for p in query.split("&"))
    )
    return f"{head}?{masked}"


@attrs.frozen(kw_only=True)
class ClientConfig:
    """A client's settings, checked: what its transport and its ``with_options`` copies
    are made from."""

    base_url: str  # as given, without a trailing slash
    bare_url: str  # without its query, which goes in url_query
    url_query: list[tuple[str, str]]
    organization: str | None
    project: str | None
    timeout: Timeout
    max_retries: int
    auth: Auth
    trust_env: bool
    headers: dict[str, str]
    default_query: list[tuple[str, str]]
    proxy: str | None
    proxy_headers: dict[str, str] | None
    max_connections: int
    max_connections_per_host: int | None
    max_response_size: int
    strict: bool

    @property
    def query(self) -> list[tuple[str, str]]:
        """What every call's query starts with: the base URL's, then the defaults."""
        return [*self.url_query, *self.default_query]

    def with_options(self, **overrides: Unpack[ClientOverrides]) -> ClientConfig:
        """These settings with others: headers and query merged over these."""
        unknown = set(overrides) - ClientOverrides.__annotations__.keys()
        if unknown:
            raise TypeError(f"unexpected keyword argument(s): {', '.join(sorted(unknown))}")
        timeout = overrides.get("timeout")
        max_retries = overrides.get("max_retries")
        strict = overrides.get("strict")
        merged = dict(self.default_query)
        merged.update(_check_default_query(overrides.get("default_query")))
        return attrs.evolve(
            self,
            timeout=self.timeout if timeout is None else coerce_timeout(timeout),
            max_retries=(
                self.max_retries if max_retries is None else _check_max_retries(max_retries)
            ),
            headers=override_headers(
                dict(self.headers), overrides.get("default_headers"), "default_headers"
            ),
            default_query=list(merged.items()),
            strict=self.strict if strict is None else _check_strict(strict),
        )


class ClientSettings:
    """The settings both clients show, read from their ``ClientConfig``."""

    _config: ClientConfig

    @property
    def base_url(self) -> str:
        return self._config.base_url

    @property
    def organization(self) -> str | None:
        return self._config.organization

    @property
    def project(self) -> str | None:
        return self._config.project

    @property
    def timeout(self) -> Timeout:
        return self._config.timeout

    @property
    def max_retries(self) -> int:
        return self._config.max_retries

    @property
    def auth(self) -> Auth:
        return self._config.auth

    @property
    def trust_env(self) -> bool:
        return self._config.trust_env

    @property
    def strict(self) -> bool:
        """Whether a response that departs from the spec raises (else it is decoded where
        its meaning is clear, and the deviation reported)."""
        return self._config.strict


def build_config(**options: Unpack[ClientOptions]) -> ClientConfig:
    """Check the constructor's keyword arguments, fill in the environment's and the
    defaults; a bad one raises ``TypeError`` or ``ValueError`` naming it."""
    unknown = set(options) - CLIENT_DEFAULTS.keys()
    if unknown:
        raise TypeError(f"unexpected keyword argument(s): {', '.join(sorted(unknown))}")
    given: dict[str, Any] = {**CLIENT_DEFAULTS, **options}
    auth = given["auth"]
    if auth not in _AUTH_CHOICES:
        raise ValueError(f"auth must be 'bearer', 'api-key' or 'none', not {auth!r}")
    api_key = _api_key(auth, given["api_key"])
    base_url = _base_url(given["base_url"])
    organization = given["organization"]
    if organization is None:
        organization = os.environ.get("OPENAI_ORG_ID") or None
    project = given["project"]
    if project is None:
        project = os.environ.get("OPENAI_PROJECT_ID") or None
    max_connections_per_host = given["max_connections_per_host"]
    _check_count("max_connections", given["max_connections"])
    if max_connections_per_host is not None:
        _check_count("max_connections_per_host", max_connections_per_host)
    max_response_size = given["max_response_size"]
    if (
        isinstance(max_response_size, bool)
        or not isinstance(max_response_size, int)
        or max_response_size < 1
    ):
        raise ValueError(
            f"max_response_size must be a whole number of bytes >= 1, not {max_response_size!r}"
        )
    trust_env = given["trust_env"]
    if not isinstance(trust_env, bool):
        raise TypeError(f"trust_env must be True or False, not {type(trust_env).__name__}")
    bare_url, url_query = split_base_url(base_url)
    proxy, proxy_headers = resolve_proxy(given["proxy"], trust_env, bare_url)
    return ClientConfig(
        base_url=base_url.rstrip("/"),
        bare_url=bare_url,
        url_query=url_query,
        organization=organization,
        project=project,
        timeout=coerce_timeout(given["timeout"]),
        max_retries=_check_max_retries(given["max_retries"]),
        auth=auth,
        trust_env=trust_env,
        headers=_default_headers(auth, api_key, organization, project, given["default_headers"]),
        default_query=_check_default_query(given["default_query"]),
        proxy=proxy,
        proxy_headers=proxy_headers,
        max_connections=given["max_connections"],
        max_connections_per_host=max_connections_per_host,
        max_response_size=max_response_size,
        strict=_check_strict(given["strict"]),
    )


def _api_key(auth: Auth, api_key: object) -> str | None:
    if auth == "none":
        if api_key is not None:
            raise ValueError("auth='none' sends no key: do not pass api_key with it")
        return None
    if api_key is None:
        api_key = os.environ.get("OPENAI_API_KEY")
    if not api_key:
        raise ValueError(
            "no API key: pass api_key=... to the client or set the OPENAI_API_KEY "
            "environment variable (for a server that needs no key, pass auth='none')"
        )
    if not isinstance(api_key, str):
        raise TypeError(f"api_key must be a string, not {type(api_key).__name__}")
    check_header_value("api_key", api_key)
    return api_key


def _base_url(base_url: object) -> str:
    if base_url is None:
        base_url = os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
    if not isinstance(base_url, str):
        raise TypeError(f"base_url must be a string, not {type(base_url).__name__}")
    parts = urlsplit(base_url)
    if parts.username is not None or parts.password is not None:
        # Never echoed: the error would show the password.
        raise ValueError(
            "base_url must not hold credentials (user:password@); pass the key as "
            "api_key=..., or other auth through default_headers"
        )
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"base_url must be an http(s) URL with a host, not {masked_url(base_url)!r}"
        )
    return base_url


def _default_headers(
    auth: Auth,
    api_key: str | None,
    organization: str | None,
    project: str | None,
    overrides: Headers | None,
) -> dict[str, str]:
    headers = {
        "OpenAI-Beta": "assistants=v2",
        "User-Agent": USER_AGENT,
        "Accept": "application/json",
    }
    if auth == "bearer":
        headers["Authorization"] = f"Bearer {api_key}"
    elif auth == "api-key":
        headers["api-key"] = f"{api_key}"
    if organization:
        check_header_value("organization", organization)
        headers["OpenAI-Organization"] = organization
    if project:
        check_header_value("project", project)
        headers["OpenAI-Project"] = project
    return override_headers(headers, overrides, "default_headers")


def _check_count(name: str, limit: object) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"{name} must be a whole number >= 1, not {limit!r}")


def _check_max_retries(max_retries: object) -> int:
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ValueError(f"max_retries must be a whole number >= 0, not {max_retries!r}")
    return max_retries


def _check_strict(strict: object) -> bool:
    if not isinstance(strict, bool):
        raise TypeError(f"strict must be True or False, not {type(strict).__name__}")
    return strict


def _check_default_query(query: Mapping[str, str] | None) -> list[tuple[str, str]]:
    if query is None:
        return []
    if not isinstance(query, Mapping):
        raise TypeError(f"default_query must be a mapping, not {type(query).__name__}")
    for name, value in query.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError(f"default_query[{name!r}] must map a string to a string")
    return list(query.items())
