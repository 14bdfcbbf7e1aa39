"""An in-memory fake of the Assistants API, for tests and offline demos.

    from assistants_async.testing import FakeAssistantsServer, call_tools_then_answer, ToolCall

    async with FakeAssistantsServer(responder=echo()) as server:
        async with server.client() as client:
            ...

It serves all 23 operations under ``/v1`` with the spec's shapes and the service's rules
(cursor pagination, one active run per thread, error envelopes, idempotency keys), runs
that move through their statuses as a responder decides, fault injection
(``server.faults``), a request log (``server.requests``) and ``server.reset()``.
``python -m assistants_async.testing --port 8000`` serves it for any client; the pytest
plugin gives the fixtures ``fake_assistants_server`` and ``fake_assistants_client``.
"""

from ..server._log import LoggedRequest, RequestLog
from ._faults import Faults
from ._ids import FakeClock, SequentialIds, random_ids
from ._responders import (
    CallTools,
    Fail,
    Incomplete,
    Reply,
    Responder,
    RunContext,
    Streamed,
    SubmittedOutput,
    Text,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    call_tools_then_answer,
    echo,
    scripted,
)
from ._server import FakeAssistantsServer, Progress

__all__ = [
    "CallTools",
    "Fail",
    "FakeAssistantsServer",
    "FakeClock",
    "Faults",
    "Incomplete",
    "LoggedRequest",
    "RequestLog",
    "Progress",
    "Reply",
    "Responder",
    "RunContext",
    "SequentialIds",
    "Streamed",
    "SubmittedOutput",
    "Text",
    "TextDelta",
    "ToolCall",
    "ToolCallDelta",
    "Usage",
    "call_tools_then_answer",
    "echo",
    "random_ids",
    "scripted",
]
