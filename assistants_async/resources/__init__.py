"""Resource classes: thin declarations of path, parameters and returned model."""

from .assistants import AsyncAssistants
from .messages import AsyncMessages
from .runs import AsyncRuns
from .steps import AsyncSteps
from .threads import AsyncThreads

__all__ = ["AsyncAssistants", "AsyncMessages", "AsyncRuns", "AsyncSteps", "AsyncThreads"]
