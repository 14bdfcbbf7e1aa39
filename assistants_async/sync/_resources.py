"""Blocking resources: each method is derived from its async twin, never rewritten."""

from __future__ import annotations

from ..resources import AsyncAssistants, AsyncMessages, AsyncRuns, AsyncSteps, AsyncThreads
from ._derive import SyncResource, blocking, paginated, streaming

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
    create_and_run_poll = blocking(AsyncThreads.create_and_run_poll)
    create_and_run_stream = streaming(AsyncThreads.create_and_run_stream)


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
    poll = blocking(AsyncRuns.poll)
    create_and_poll = blocking(AsyncRuns.create_and_poll)
    submit_tool_outputs_and_poll = blocking(AsyncRuns.submit_tool_outputs_and_poll)
    create_and_run_tools = blocking(AsyncRuns.create_and_run_tools)
    stream = streaming(AsyncRuns.stream)
    submit_tool_outputs_stream = streaming(AsyncRuns.submit_tool_outputs_stream)
    list = paginated(AsyncRuns.list)


class Steps(SyncResource[AsyncSteps]):
    retrieve = blocking(AsyncSteps.retrieve)
    list = paginated(AsyncSteps.list)
