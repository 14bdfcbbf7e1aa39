"""The "not given" sentinel: an argument left out, as opposed to one given as None."""

from __future__ import annotations

from typing import Final, Literal

__all__ = ["NOT_GIVEN", "NotGiven"]


class NotGiven:
    """The default of every optional request field: the field is not sent at all.

    ``None``, where the spec allows it, is sent as JSON ``null`` (which clears a field
    on update). ``NOT_GIVEN`` is the one instance; it is falsy and prints as its name.
    """

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __reduce__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()
