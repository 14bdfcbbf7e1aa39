"""pytest plugin (registered through the ``pytest11`` entry point).

Fixtures, function-scoped and needing pytest-asyncio:

* ``fake_assistants_server``: a started ``FakeAssistantsServer`` on 127.0.0.1 (echo
  responder, immediate progress); configure it in the test (``server.responder = ...``).
* ``fake_assistants_client``: an ``AsyncClient`` connected to it, closed afterwards.
"""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator

from .._client import AsyncClient
from ._server import FakeAssistantsServer

# The fixtures are async: without pytest-asyncio the plugin offers none.
if importlib.util.find_spec("pytest_asyncio") is not None:
    import pytest_asyncio

    @pytest_asyncio.fixture
    async def fake_assistants_server() -> AsyncIterator[FakeAssistantsServer]:
        async with FakeAssistantsServer() as server:
            yield server

    @pytest_asyncio.fixture
    async def fake_assistants_client(
        fake_assistants_server: FakeAssistantsServer,
    ) -> AsyncIterator[AsyncClient]:
        async with fake_assistants_server.client() as client:
            yield client
