"""Stream deltas merged into snapshots: pure functions over the events' JSON.

Strings append (kept in pieces, joined once when read), indexed lists merge by index
(found in constant time): every delta costs the same however long the answer grows.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["accumulate_delta", "append_text", "plain"]

# Keys whose string values are identities, never pieces to concatenate.
_REPLACE = frozenset({"index", "type", "id"})


class _Pieces:
    """A string growing delta by delta: each piece appended in constant time, the whole
    joined once, when a snapshot is read (re-joining on every delta is quadratic)."""

    __slots__ = ("parts",)

    def __init__(self, *parts: str) -> None:
        self.parts = list(parts)

    def __str__(self) -> str:
        return "".join(self.parts)


_SCALARS = (str, int, float, bool, type(None))


def accumulate_delta(acc: dict[str, Any], delta: dict[str, Any]) -> dict[str, Any]:
    """Merge a streamed delta into a snapshot: strings append, indexed lists merge by index.

    Appended strings are kept in pieces; ``plain(snapshot)`` gives the JSON with them
    joined.
    """
    for key, value in delta.items():
        current = acc.get(key)
        if current is None or key in _REPLACE:
            acc[key] = value if type(value) in _SCALARS else copy.deepcopy(value)
        elif type(value) is str and type(current) is _Pieces:
            current.parts.append(value)
        elif type(value) is str and type(current) is str:
            acc[key] = _Pieces(current, value)
        elif isinstance(current, dict) and isinstance(value, dict):
            accumulate_delta(current, value)
        elif isinstance(current, list) and isinstance(value, list):
            items = current if type(current) is _Items else _Items.held(acc, key, current)
            for item in value:
                index = item.get("index") if isinstance(item, dict) else None
                target = items.find(index)
                if target is None:
                    items.add(copy.deepcopy(item))
                else:
                    accumulate_delta(target, item)
                    items.note(index, target)
        else:
            acc[key] = value if type(value) in _SCALARS else copy.deepcopy(value)
    return acc


def append_text(snapshot: dict[str, Any], delta: dict[str, Any]) -> bool:
    """Merge the commonest delta, one piece of a message's text, without the general walk.

    Only where the result is exactly ``accumulate_delta``'s; False (nothing changed)
    otherwise, for the general merge to do. It earns its place: about half the general
    merge's cost a delta (benchmarks/README.md, "Fast paths"); a property test holds the
    two to the same snapshots.
    """
    content = delta.get("content")
    if len(delta) != 1 or type(content) is not list or len(content) != 1:
        return False
    part = content[0]
    held_content = snapshot.get("content")
    if type(part) is not dict or len(part) != 3 or not isinstance(held_content, list):
        return False
    text = part.get("text")
    if part.get("type") != "text" or type(text) is not dict:
        return False
    value = text.get("value")
    if type(value) is not str or not (
        len(text) == 1 or (len(text) == 2 and text.get("annotations") == [])
    ):
        return False
    index = part.get("index")
    items = (
        held_content
        if type(held_content) is _Items
        else _Items.held(snapshot, "content", held_content)
    )
    target = items.find(index)
    if target is None or target.get("type") != "text":
        return False
    held = target.get("text")
    if type(held) is not dict or (len(text) == 2 and type(held.get("annotations")) is not list):
        return False
    pieces = held.get("value")
    if type(pieces) is _Pieces:
        pieces.parts.append(value)
    elif type(pieces) is str:
        held["value"] = _Pieces(pieces, value)
    else:
        return False
    if "index" not in target:  # as the general merge leaves it
        target["index"] = index
        items.note(index, target)
    return True


def plain(value: Any) -> Any:
    """A snapshot as JSON: pieces joined, the deltas' ``index`` keys dropped."""
    if type(value) is _Pieces:
        return str(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if k != "index"}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


class _Items(list[Any]):
    """A snapshot's list that deltas merge into by ``index``, with the items found by
    index in constant time (a scan per delta is quadratic in the number of items)."""

    __slots__ = ("by_index",)

    def __init__(self, items: list[Any]) -> None:
        super().__init__(items)
        self.by_index: dict[int, dict[str, Any]] = {}
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("index"), int):
                self.by_index.setdefault(item["index"], item)

    @classmethod
    def held(cls, parent: dict[str, Any], key: str, items: list[Any]) -> _Items:
        """``items`` as one of these, put in its place in ``parent``."""
        found = parent[key] = cls(items)
        return found

    def find(self, index: Any) -> dict[str, Any] | None:
        """The item a delta with this ``index`` updates: the one carrying that index, else
        the one at that position (a snapshot from a created event carries no indexes)."""
        if type(index) is not int:
            return None
        item = self.by_index.get(index)
        if item is not None:
            return item
        if 0 <= index < len(self):
            item = self[index]
            if isinstance(item, dict) and "index" not in item:
                return item
        return None

    def add(self, item: Any) -> None:
        self.append(item)
        if isinstance(item, dict):
            self.note(item.get("index"), item)

    def note(self, index: Any, item: dict[str, Any]) -> None:
        """Record that ``item`` now carries ``index`` (a merge gives it one)."""
        if type(index) is int and item.get("index") == index:
            self.by_index.setdefault(index, item)
