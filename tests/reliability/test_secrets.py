"""The API key never appears in a log line (at DEBUG), an error, a repr or the request
log, over either store (``any_store``: SQLite logs each statement at DEBUG)."""

from __future__ import annotations

import logging

import pytest

from assistants_async import APIStatusError, AsyncClient
from assistants_async.server import Store
from assistants_async.testing import FakeAssistantsServer, Text, scripted

KEY = "sk-proj-Secret0123456789abcdefSECRET"


async def test_the_key_never_leaks(caplog: pytest.LogCaptureFixture, any_store: Store) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: ours, aiohttp's, asyncio's
    texts: list[str] = []
    server = FakeAssistantsServer(responder=scripted([Text("hi there")]), store=any_store)
    async with server, AsyncClient(api_key=KEY, base_url=server.url or "") as client:
        texts.append(repr(client))
        server.faults.fail_next("createAssistant", status=503, retry_after_ms=1)
        asst = await client.assistants.create(model="gpt-4o")
        for bad in (
            client.assistants.retrieve("asst_missing"),
            client.assistants.create(model="m", metadata={"k": "v" * 600}),
        ):
            try:
                await bad
            except Exception as exc:  # every kind of failure, typed or not
                texts += [str(exc), repr(exc)]
                if isinstance(exc, APIStatusError):
                    texts += [str(exc.body), str(dict(exc.headers))]
        async with client.runs.stream(
            (await client.threads.create()).id, assistant_id=asst.id
        ) as stream:
            await stream.until_done()
        raw = await client.with_raw_response(client.assistants.retrieve, asst.id)
        texts.append(repr(raw))
    texts += [r.getMessage() for r in caplog.records]
    texts += [repr(r) for r in server.requests]
    assert any("retrying POST /assistants" in t for t in texts)  # the logs were captured
    leaks = [t for t in texts if KEY in t or KEY[8:] in t]
    assert leaks == []
    assert all(r.headers["Authorization"] == "Bearer ***" for r in server.requests)
