"""``client.threads``: createThread, getThread, modifyThread, deleteThread,
createThreadAndRun."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._streaming import AsyncAssistantStream
from .._types import NOT_GIVEN, NotGiven
from ..models.messages import MessageParam
from ..models.runs import Run
from ..models.shared import (
    ToolResources,
)
from ..models.threads import Thread, ThreadDeleted, ThreadParam
from ._base import (
    AsyncResource,
    CallOptions,
    JSONObject,
    keywords,
    run_request,
)
from ._validate import path_id, request_body
from .runs import RunFields

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["AsyncThreads"]


class ThreadCreateAndRunParams(RunFields, total=False):
    """The keyword arguments of ``threads.create_and_run`` other than ``assistant_id``."""

    thread: ThreadParam | JSONObject
    tool_resources: ToolResources | JSONObject | None


class AsyncThreads(AsyncResource):
    @keywords()
    async def create(
        self,
        *,
        messages: Sequence[MessageParam | JSONObject] | NotGiven = NOT_GIVEN,
        tool_resources: ToolResources | JSONObject | NotGiven | None = NOT_GIVEN,
        metadata: Mapping[str, str] | NotGiven | None = NOT_GIVEN,
        **options: Unpack[CallOptions],
    ) -> Thread:
        """Create a thread (POST /threads)."""
        return await self._client.request(
            "POST",
            "/threads",
            cast_to=Thread,
            body=request_body(
                "createThread", messages=messages, tool_resources=tool_resources, metadata=metadata
            ),
            **options,
        )

    @keywords()
    async def retrieve(
        self,
        thread_id: str,
        **options: Unpack[CallOptions],
    ) -> Thread:
        """Get a thread (GET /threads/{thread_id})."""
        return await self._client.request(
            "GET",
            f"/threads/{path_id('thread_id', thread_id)}",
            cast_to=Thread,
            **options,
        )

    @keywords()
    async def update(
        self,
        thread_id: str,
        *,
        tool_resources: ToolResources | JSONObject | NotGiven | None = NOT_GIVEN,
        metadata: Mapping[str, str] | NotGiven | None = NOT_GIVEN,
        **options: Unpack[CallOptions],
    ) -> Thread:
        """Modify a thread (POST /threads/{thread_id})."""
        path = f"/threads/{path_id('thread_id', thread_id)}"
        return await self._client.request(
            "POST",
            path,
            cast_to=Thread,
            body=request_body("modifyThread", tool_resources=tool_resources, metadata=metadata),
            **options,
        )

    @keywords()
    async def delete(
        self,
        thread_id: str,
        **options: Unpack[CallOptions],
    ) -> ThreadDeleted:
        """Delete a thread, its messages and runs (DELETE /threads/{thread_id})."""
        return await self._client.request(
            "DELETE",
            f"/threads/{path_id('thread_id', thread_id)}",
            cast_to=ThreadDeleted,
            **options,
        )

    @keywords(ThreadCreateAndRunParams)
    async def create_and_run(
        self, *, assistant_id: str, **params: Unpack[ThreadCreateAndRunParams]
    ) -> Run:
        """Create a thread and run it in one request (POST /threads/runs)."""
        arguments: dict[str, Any] = {"assistant_id": assistant_id, **params}
        run: Run = await self._client.request(**_create_and_run_request(arguments))
        return run

    @keywords(ThreadCreateAndRunParams)
    async def create_and_run_poll(
        self,
        *,
        assistant_id: str,
        poll_interval: float | None = None,
        poll_timeout: float | None = None,
        **params: Unpack[ThreadCreateAndRunParams],
    ) -> Run:
        """``create_and_run``, then poll the run until it rests (see ``runs.poll``)."""
        run = await self.create_and_run(assistant_id=assistant_id, **params)
        return await self._client.runs.poll(
            run.thread_id,
            run.id,
            interval=poll_interval,
            timeout=poll_timeout,
        )

    @keywords(ThreadCreateAndRunParams)
    def create_and_run_stream(
        self,
        *,
        assistant_id: str,
        **params: Unpack[ThreadCreateAndRunParams],
    ) -> AsyncAssistantStream:
        """Create a thread, run it, and stream the events (``thread.created`` first)."""
        arguments: dict[str, Any] = {"assistant_id": assistant_id, **params}
        return self._stream(_create_and_run_request(arguments, stream=True))


def _create_and_run_request(params: Mapping[str, Any], *, stream: bool = False) -> dict[str, Any]:
    """The checked arguments of ``client.request`` for createThreadAndRun."""
    return run_request(
        "createThreadAndRun",
        "/threads/runs",
        params,
        ThreadCreateAndRunParams.__annotations__,
        stream=stream,
    )
