"""Makes ``fixtures/schema-0001.sqlite3``: a database as schema version 1 left it.

It is written with plain ``sqlite3`` and the SQL of ``0001_initial.sql`` alone, not with
the store, so that the committed file stays what version 1 made even after the store
moves on; ``test_sqlite.py`` opens a copy with the current code and reads every row
back. Run it again only to remake that same file (``python tests/server/make_fixture.py``).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FIXTURE = HERE / "fixtures" / "schema-0001.sqlite3"
SCHEMA = HERE.parents[1] / "assistants_async" / "server" / "migrations" / "0001_initial.sql"

TENANT = "key:sk-fixture"
OTHER = "project:proj_other"
T0 = 1_767_225_600  # 2026-01-01

ASSISTANTS: list[tuple[str, dict[str, Any]]] = [
    (
        TENANT,
        {
            "id": "asst_fixture1",
            "object": "assistant",
            "created_at": T0,
            "name": "Weather",
            "description": None,
            "model": "gpt-4o",
            "instructions": "Answer briefly.",
            "tools": [{"type": "code_interpreter"}],
            "metadata": {"team": "é ✓"},
            "temperature": 1.0,
            "top_p": 1.0,
            "response_format": "auto",
        },
    ),
    (
        OTHER,
        {
            "id": "asst_fixture2",
            "object": "assistant",
            "created_at": T0,
            "name": None,
            "model": "gpt-4o-mini",
            "tools": [],
            "metadata": {},
        },
    ),
]

THREADS: list[tuple[str, dict[str, Any]]] = [
    (TENANT, {"id": "thread_fixture1", "object": "thread", "created_at": T0 + 1, "metadata": {}}),
    (OTHER, {"id": "thread_fixture2", "object": "thread", "created_at": T0 + 2, "metadata": {}}),
]


def _message(n: int, thread_id: str, role: str, text: str, run_id: str | None) -> dict[str, Any]:
    return {
        "id": f"msg_fixture{n}",
        "object": "thread.message",
        "created_at": T0 + 10,  # all in one second: their order is their seq
        "thread_id": thread_id,
        "status": "completed",
        "role": role,
        "content": [{"type": "text", "text": {"value": text, "annotations": []}}],
        "assistant_id": "asst_fixture1" if run_id else None,
        "run_id": run_id,
        "attachments": [],
        "metadata": {},
    }


MESSAGES: list[tuple[str, dict[str, Any]]] = [
    (TENANT, _message(1, "thread_fixture1", "user", "What's the weather?", None)),
    (TENANT, _message(2, "thread_fixture1", "assistant", "Sunny.", "run_fixture1")),
    (TENANT, _message(3, "thread_fixture1", "user", "And tomorrow?", None)),
    (OTHER, _message(4, "thread_fixture2", "user", "Hello", None)),
]

# (tenant, obj, state, version)
RUNS: list[tuple[str, dict[str, Any], dict[str, Any], int]] = [
    (
        TENANT,
        {
            "id": "run_fixture1",
            "object": "thread.run",
            "created_at": T0 + 10,
            "thread_id": "thread_fixture1",
            "assistant_id": "asst_fixture1",
            "status": "completed",
            "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
        },
        {"open_calls": {}, "outputs": []},
        4,
    ),
    (
        TENANT,
        {
            "id": "run_fixture2",
            "object": "thread.run",
            "created_at": T0 + 20,
            "thread_id": "thread_fixture1",
            "assistant_id": "asst_fixture1",
            "status": "requires_action",
            "required_action": {
                "type": "submit_tool_outputs",
                "submit_tool_outputs": {
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "weather", "arguments": '{"day": 2}'},
                        }
                    ]
                },
            },
        },
        {"open_calls": {"call_1": ["weather", '{"day": 2}']}, "outputs": []},
        2,
    ),
]

STEPS: list[tuple[str, dict[str, Any]]] = [
    (
        TENANT,
        {
            "id": f"step_fixture{n}",
            "object": "thread.run.step",
            "created_at": T0 + 10,
            "thread_id": "thread_fixture1",
            "run_id": "run_fixture1",
            "assistant_id": "asst_fixture1",
            "type": "message_creation",
            "status": "completed",
            "step_details": {
                "type": "message_creation",
                "message_creation": {"message_id": "msg_fixture2"},
            },
        },
    )
    for n in (1, 2)
]

# (tenant, key, status, body, content_type, request, expires_at)
REPLIES: list[tuple[str, str, int, bytes, str, str, float]] = [
    (
        TENANT,
        "idem-1",
        200,
        b'{"id":"run_fixture1"}',
        "application/json",
        "POST /v1/threads/thread_fixture1/runs 9f86d081",
        4_102_444_800.0,  # 2100: never expires in a test
    ),
]


# As version 1 numbers rows: the shared sequence, bumped by a trigger after each insert.
NEXT = "(SELECT n + 1 FROM sequence)"


def _text(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def make(path: Path) -> None:
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA page_size = 1024")  # a small file to commit
        db.executescript(SCHEMA.read_text(encoding="utf-8"))
        db.execute("BEGIN")
        for tenant, obj in ASSISTANTS:
            db.execute(
                "INSERT INTO assistants (seq, id, tenant, created_at, obj)"
                f" VALUES ({NEXT}, ?, ?, ?, ?)",
                (obj["id"], tenant, obj["created_at"], _text(obj)),
            )
        for tenant, obj in THREADS:
            db.execute(
                "INSERT INTO threads (seq, id, tenant, created_at, obj)"
                f" VALUES ({NEXT}, ?, ?, ?, ?)",
                (obj["id"], tenant, obj["created_at"], _text(obj)),
            )
        for tenant, obj in MESSAGES:
            db.execute(
                "INSERT INTO messages (seq, id, tenant, thread_id, run_id, created_at, obj)"
                f" VALUES ({NEXT}, ?, ?, ?, ?, ?, ?)",
                (obj["id"], tenant, obj["thread_id"], obj["run_id"], obj["created_at"], _text(obj)),
            )
        for tenant, obj, state, version in RUNS:
            db.execute(
                "INSERT INTO runs (seq, id, tenant, thread_id, created_at, status, version, obj,"
                f" state) VALUES ({NEXT}, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    obj["id"],
                    tenant,
                    obj["thread_id"],
                    obj["created_at"],
                    obj["status"],
                    version,
                    _text(obj),
                    _text(state),
                ),
            )
        for tenant, obj in STEPS:
            db.execute(
                "INSERT INTO steps (seq, id, tenant, thread_id, run_id, created_at, obj)"
                f" VALUES ({NEXT}, ?, ?, ?, ?, ?, ?)",
                (obj["id"], tenant, obj["thread_id"], obj["run_id"], obj["created_at"], _text(obj)),
            )
        db.executemany(
            "INSERT INTO replies (tenant, key, status, body, content_type, request, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            REPLIES,
        )
        db.execute("PRAGMA user_version = 1")
        db.execute("COMMIT")
        db.execute("VACUUM")
    finally:
        db.close()


if __name__ == "__main__":
    make(FIXTURE)
    print(f"wrote {FIXTURE} ({FIXTURE.stat().st_size} bytes)")
