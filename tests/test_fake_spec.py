"""The fake server against the spec itself: response shapes and request-body rules, on
each store (``any_store``)."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from assistants_async._schema import REQUEST_BODIES
from assistants_async.server import Store
from assistants_async.testing import (
    FakeAssistantsServer,
    ToolCall,
    call_tools_then_answer,
)

AUTH = {"Authorization": "Bearer sk-fake", "OpenAI-Beta": "assistants=v2"}
BASE = "urn:assistants-spec"


def to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0/3.1 mix to JSON Schema 2020-12: ``nullable`` becomes a null branch."""
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    nullable = node.get("nullable", False)
    if "allOf" in node and {"nullable": True} in node["allOf"]:  # allOf [X, {nullable: true}]
        nullable = True
        node = {**node, "allOf": [m for m in node["allOf"] if m != {"nullable": True}]}
    node = {
        k: to_json_schema(v) for k, v in node.items() if not k.startswith("x-") and k != "nullable"
    }
    if nullable:
        return {"anyOf": [node, {"type": "null"}]}
    return node


@pytest.fixture(scope="module")
def validators(spec: dict[str, Any]) -> dict[str, Draft202012Validator]:
    converted = to_json_schema(spec)
    registry: Registry[Any] = Registry().with_resource(BASE, Resource.opaque(converted))
    found = {}
    for path_item in spec["paths"].values():
        for op in path_item.values():
            if not isinstance(op, dict) or "operationId" not in op:
                continue
            schema = op["responses"]["200"]["content"]["application/json"]["schema"]
            ref = schema["$ref"].removeprefix("#")
            found[op["operationId"]] = Draft202012Validator(
                {"$ref": f"{BASE}#{ref}"}, registry=registry
            )
    return found


@pytest.fixture
async def traffic(any_store: Store) -> list[tuple[str, Any]]:
    """Every (operationId, response body) of a scenario touching all 23 operations."""
    seen: list[tuple[str, Any]] = []
    server = FakeAssistantsServer(
        responder=call_tools_then_answer([ToolCall("get_weather", {"city": "Paris"})], "{outputs}"),
        store=any_store,
    )
    async with server, aiohttp.ClientSession(headers=AUTH) as http:

        async def send(op: str, method: str, path: str, body: Any = None) -> Any:
            async with http.request(method, f"{server.url}{path}", json=body) as resp:
                assert resp.status == 200, (op, await resp.text())
                data = await resp.json()
            seen.append((op, data))
            return data

        asst = await send(
            "createAssistant",
            "POST",
            "/assistants",
            {
                "model": "gpt-4o",
                "name": "W",
                "tools": [
                    {"type": "function", "function": {"name": "get_weather"}},
                    {"type": "code_interpreter"},
                    {"type": "file_search"},
                ],
                "tool_resources": {"code_interpreter": {"file_ids": ["file_1"]}},
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "x", "schema": {}},
                },
            },
        )
        a = asst["id"]
        await send("getAssistant", "GET", f"/assistants/{a}")
        await send(
            "modifyAssistant", "POST", f"/assistants/{a}", {"name": "W2", "metadata": {"k": "v"}}
        )
        await send("listAssistants", "GET", "/assistants")
        thread = await send(
            "createThread",
            "POST",
            "/threads",
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": "Weather?"},
                            {
                                "type": "image_url",
                                "image_url": {"url": "https://example.invalid/a.png"},
                            },
                        ],
                        "attachments": [{"file_id": "file_1", "tools": [{"type": "file_search"}]}],
                    }
                ]
            },
        )
        t = thread["id"]
        await send("getThread", "GET", f"/threads/{t}")
        await send("modifyThread", "POST", f"/threads/{t}", {"metadata": {"a": "b"}})
        msg = await send(
            "createMessage",
            "POST",
            f"/threads/{t}/messages",
            {"role": "user", "content": "In Paris"},
        )
        m = msg["id"]
        await send("getMessage", "GET", f"/threads/{t}/messages/{m}")
        await send("modifyMessage", "POST", f"/threads/{t}/messages/{m}", {"metadata": {"x": "y"}})
        run = await send("createRun", "POST", f"/threads/{t}/runs", {"assistant_id": a})
        r = run["id"]
        run = await send("getRun", "GET", f"/threads/{t}/runs/{r}")
        call_id = run["required_action"]["submit_tool_outputs"]["tool_calls"][0]["id"]
        steps = await send("listRunSteps", "GET", f"/threads/{t}/runs/{r}/steps")
        await send("getRunStep", "GET", f"/threads/{t}/runs/{r}/steps/{steps['data'][0]['id']}")
        await send(
            "submitToolOuputsToRun",
            "POST",
            f"/threads/{t}/runs/{r}/submit_tool_outputs",
            {"tool_outputs": [{"tool_call_id": call_id, "output": "21C"}]},
        )
        await send("getRun", "GET", f"/threads/{t}/runs/{r}")
        await send("listRunSteps", "GET", f"/threads/{t}/runs/{r}/steps")
        await send("modifyRun", "POST", f"/threads/{t}/runs/{r}", {"metadata": {"done": "1"}})
        await send("listMessages", "GET", f"/threads/{t}/messages")
        await send("listRuns", "GET", f"/threads/{t}/runs")
        other = await send("createThreadAndRun", "POST", "/threads/runs", {"assistant_id": a})
        await send("cancelRun", "POST", f"/threads/{other['thread_id']}/runs/{other['id']}/cancel")
        await send("deleteMessage", "DELETE", f"/threads/{t}/messages/{m}")
        await send("deleteThread", "DELETE", f"/threads/{t}")
        await send("deleteAssistant", "DELETE", f"/assistants/{a}")
    return seen


async def test_every_response_matches_the_spec_schema(
    traffic: list[tuple[str, Any]], validators: dict[str, Draft202012Validator]
) -> None:
    assert {op for op, _ in traffic} == set(validators)
    for op, body in traffic:
        errors = sorted(validators[op].iter_errors(body), key=lambda e: list(e.path))
        assert not errors, f"{op}: {[(list(e.path), e.message[:200]) for e in errors]}"


async def test_every_response_decodes_into_our_models(traffic: list[tuple[str, Any]]) -> None:
    from assistants_async._decoding.converter import structure

    from .test_models import RESPONSE_MODEL

    for op, body in traffic:
        model = structure(body, RESPONSE_MODEL[op])
        assert model.model_extra == {}, op  # no field the models do not know
        assert model.to_dict() == body, op


def test_the_schema_conversion_keeps_nullable_refs(
    validators: dict[str, Draft202012Validator], traffic: list[tuple[str, Any]]
) -> None:
    run = next(body for op, body in traffic if op == "getRun")
    assert not list(validators["getRun"].iter_errors({**run, "truncation_strategy": None}))
    assert list(validators["getRun"].iter_errors({**run, "truncation_strategy": 5}))
    assert list(validators["getRun"].iter_errors({k: v for k, v in run.items() if k != "usage"}))


def test_request_body_rules_match_the_spec(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    for name, validator in REQUEST_BODIES.values():
        schema = schemas[name]
        assert set(validator.fields) == set(schema["properties"]), name
        assert set(validator.required) == set(schema.get("required", [])), name
        assert schema.get("additionalProperties") is False, name
    bodies = {
        op["operationId"]
        for item in spec["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "requestBody" in op
    }
    assert bodies == set(REQUEST_BODIES)
