"""An error body made readable: JSON parsed where it is JSON, an HTML error page (a
proxy's 502) cut down to its title or text, and anything else to one short line."""

from __future__ import annotations

import html
import json
import re

__all__ = ["decode_body", "readable_text"]

# An HTML error page can be large; a message is meant to be one readable line.
_MAX_MESSAGE = 300

# Only this much of an error body is scanned for its message: a hostile or broken
# server's megabytes never cost more than this, and the scan below is linear in it.
_SCAN_LIMIT = 64 * 1024
_SPACE = re.compile(r"\s+")
_SKIPPED_ELEMENTS = ("script", "style")


def _title(text: str, lower: str) -> str | None:
    start = lower.find("<title")
    if start < 0:
        return None
    open_end = lower.find(">", start)
    if open_end < 0:
        return None
    close = lower.find("</title", open_end)
    return text[open_end + 1 : close] if close >= 0 else None


def _strip_tags(text: str, lower: str) -> str:
    """The text outside tags, script and style elements dropped; one pass, every search
    starting where the last one ended (so no input can make it quadratic)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        lt = text.find("<", i)
        if lt < 0:
            out.append(text[i:])
            break
        out.append(text[i:lt])
        out.append(" ")
        skipped = next(
            (
                name
                for name in _SKIPPED_ELEMENTS
                if lower.startswith(name, lt + 1)
                and not lower[lt + 1 + len(name) : lt + 2 + len(name)].isalnum()
            ),
            None,
        )
        if skipped is not None:
            close = lower.find(f"</{skipped}", lt)
            if close < 0:
                break  # an unclosed script runs to the end: nothing readable after it
            lt = close
        gt = text.find(">", lt)
        if gt < 0:
            break  # an unclosed tag runs to the end
        i = gt + 1
    return "".join(out)


def readable_text(text: str) -> str:
    """One line of human text from a body that may be HTML, JSON or anything."""
    text = text[:_SCAN_LIMIT]
    if "<" in text:
        lower = text.lower()
        title = _title(text, lower)
        text = title if title is not None and title.strip() else _strip_tags(text, lower)
    text = _SPACE.sub(" ", html.unescape(text)).strip()
    if len(text) > _MAX_MESSAGE:
        text = text[: _MAX_MESSAGE - 1] + "…"
    return text


def decode_body(raw: bytes | str | object) -> object:
    if isinstance(raw, bytes | bytearray):
        raw = bytes(raw).decode("utf-8", errors="replace")
    if isinstance(raw, str):
        stripped = raw.strip()
        if stripped[:1] in ("{", "["):
            try:
                return json.loads(stripped)
            except (ValueError, RecursionError):
                # Not JSON, or nested beyond what the parser takes: kept as text.
                return raw
        return raw
    return raw
