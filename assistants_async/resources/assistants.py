"""``client.assistants``: createAssistant, getAssistant, modifyAssistant, listAssistants,
deleteAssistant."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal

from .._pagination import AsyncPaginator
from .._types import NOT_GIVEN, NotGiven
from ..models.assistants import Assistant, AssistantDeleted
from ..models.pages import Page
from ..models.shared import AssistantTool, ReasoningEffort, ResponseFormat, ToolResources
from ._base import AsyncResource, CallOptions, JSONObject, ListOptions, keywords, list_of
from ._validate import path_id, request_body

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["AsyncAssistants"]


class AsyncAssistants(AsyncResource):
    @keywords()
    async def create(
        self,
        *,
        model: str,
        name: str | NotGiven | None = NOT_GIVEN,
        description: str | NotGiven | None = NOT_GIVEN,
        instructions: str | NotGiven | None = NOT_GIVEN,
        reasoning_effort: ReasoningEffort | NotGiven | None = NOT_GIVEN,
        tools: Sequence[AssistantTool | JSONObject] | NotGiven = NOT_GIVEN,
        tool_resources: ToolResources | JSONObject | NotGiven | None = NOT_GIVEN,
        metadata: Mapping[str, str] | NotGiven | None = NOT_GIVEN,
        temperature: float | NotGiven | None = NOT_GIVEN,
        top_p: float | NotGiven | None = NOT_GIVEN,
        response_format: ResponseFormat | JSONObject | NotGiven | None = NOT_GIVEN,
        **options: Unpack[CallOptions],
    ) -> Assistant:
        """Create an assistant (POST /assistants)."""
        if model == "":  # the spec's schema allows it; no service has such a model
            raise ValueError("model must be a non-empty string")
        return await self._client.request(
            "POST",
            "/assistants",
            cast_to=Assistant,
            body=request_body(
                "createAssistant",
                model=model,
                name=name,
                description=description,
                instructions=instructions,
                reasoning_effort=reasoning_effort,
                tools=tools,
                tool_resources=tool_resources,
                metadata=metadata,
                temperature=temperature,
                top_p=top_p,
                response_format=response_format,
            ),
            **options,
        )

    @keywords()
    async def retrieve(
        self,
        assistant_id: str,
        **options: Unpack[CallOptions],
    ) -> Assistant:
        """Get an assistant (GET /assistants/{assistant_id})."""
        return await self._client.request(
            "GET",
            f"/assistants/{path_id('assistant_id', assistant_id)}",
            cast_to=Assistant,
            **options,
        )

    @keywords()
    async def update(
        self,
        assistant_id: str,
        *,
        model: str | NotGiven = NOT_GIVEN,
        reasoning_effort: ReasoningEffort | NotGiven | None = NOT_GIVEN,
        name: str | NotGiven | None = NOT_GIVEN,
        description: str | NotGiven | None = NOT_GIVEN,
        instructions: str | NotGiven | None = NOT_GIVEN,
        tools: Sequence[AssistantTool | JSONObject] | NotGiven = NOT_GIVEN,
        tool_resources: ToolResources | JSONObject | NotGiven | None = NOT_GIVEN,
        metadata: Mapping[str, str] | NotGiven | None = NOT_GIVEN,
        temperature: float | NotGiven | None = NOT_GIVEN,
        top_p: float | NotGiven | None = NOT_GIVEN,
        response_format: ResponseFormat | JSONObject | NotGiven | None = NOT_GIVEN,
        **options: Unpack[CallOptions],
    ) -> Assistant:
        """Modify an assistant (POST /assistants/{assistant_id})."""
        path = f"/assistants/{path_id('assistant_id', assistant_id)}"
        return await self._client.request(
            "POST",
            path,
            cast_to=Assistant,
            body=request_body(
                "modifyAssistant",
                model=model,
                reasoning_effort=reasoning_effort,
                name=name,
                description=description,
                instructions=instructions,
                tools=tools,
                tool_resources=tool_resources,
                metadata=metadata,
                temperature=temperature,
                top_p=top_p,
                response_format=response_format,
            ),
            **options,
        )

    @keywords()
    async def delete(
        self,
        assistant_id: str,
        **options: Unpack[CallOptions],
    ) -> AssistantDeleted:
        """Delete an assistant (DELETE /assistants/{assistant_id})."""
        return await self._client.request(
            "DELETE",
            f"/assistants/{path_id('assistant_id', assistant_id)}",
            cast_to=AssistantDeleted,
            **options,
        )

    @keywords(options=ListOptions)
    def list(
        self,
        *,
        limit: int | None = None,
        order: Literal["asc", "desc"] | None = None,
        after: str | None = None,
        before: str | None = None,
        max_items: int | None = None,
        **options: Unpack[ListOptions],
    ) -> AsyncPaginator[Assistant]:
        """List assistants (GET /assistants); see ``AsyncPaginator``."""
        return list_of(
            self,
            "/assistants",
            Page[Assistant],
            limit=limit,
            order=order,
            after=after,
            before=before,
            max_items=max_items,
            **options,
        )
