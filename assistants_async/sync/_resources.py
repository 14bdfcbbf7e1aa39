"""Blocking resources: each method is derived from its async twin, never rewritten."""

from __future__ import annotations

from ..resources import AsyncAssistants, AsyncMessages, AsyncRuns, AsyncSteps, AsyncThreads
from ._derive import SyncResource, blocking, paginated

__all__ = ["Assistants", "Messages", "Runs", "Steps", "Threads"]


class Assistants(SyncResource[AsyncAssistants]):
    create = blocking(AsyncAssistants.create)
    retrieve = blocking(AsyncAssistants.retrieve)
    update = blocking(AsyncAssistants.update)
    delete = blocking(AsyncAssistants.delete)
    list = paginated(AsyncAssistants.list)


class Threads(SyncResource[AsyncThreads]):
    create = blocking(AsyncThreads.create)
    retrieve = blocking(AsyncThreads.retrieve)
    update = blocking(AsyncThreads.update)
    delete = blocking(AsyncThreads.delete)
    create_and_run = blocking(AsyncThreads.create_and_run)


class Messages(SyncResource[AsyncMessages]):
    create = blocking(AsyncMessages.create)
    retrieve = blocking(AsyncMessages.retrieve)
    update = blocking(AsyncMessages.update)
    delete = blocking(AsyncMessages.delete)
    list = paginated(AsyncMessages.list)


class Runs(SyncResource[AsyncRuns]):
    create = blocking(AsyncRuns.create)
    retrieve = blocking(AsyncRuns.retrieve)
    update = blocking(AsyncRuns.update)
    cancel = blocking(AsyncRuns.cancel)
    submit_tool_outputs = blocking(AsyncRuns.submit_tool_outputs)
    list = paginated(AsyncRuns.list)


class Steps(SyncResource[AsyncSteps]):
    retrieve = blocking(AsyncSteps.retrieve)
    list = paginated(AsyncSteps.list)
