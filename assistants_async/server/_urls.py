"""What ``--db`` names, read without importing a database driver."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

__all__ = ["is_postgres_url", "redacted"]


def is_postgres_url(text: str) -> bool:
    """Whether a ``--db`` value names a PostgreSQL database rather than a file."""
    return text.startswith(("postgresql://", "postgres://"))


def redacted(url: str) -> str:
    """The URL without its password, to print or log."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))
