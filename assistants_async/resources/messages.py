"""``client.messages``: createMessage, getMessage, modifyMessage, listMessages,
deleteMessage."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal

from .._pagination import AsyncPaginator
from .._types import NOT_GIVEN, NotGiven
from ..models.messages import Attachment, Message, MessageContentPartParam, MessageDeleted
from ..models.pages import Page
from ._base import AsyncResource, CallOptions, JSONObject, ListOptions, keywords, list_of
from ._validate import check_cursor, path_id, request_body

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["AsyncMessages"]


class AsyncMessages(AsyncResource):
    @keywords()
    async def create(
        self,
        thread_id: str,
        *,
        role: Literal["user", "assistant"],
        content: str | Sequence[MessageContentPartParam | JSONObject],
        attachments: Sequence[Attachment | JSONObject] | NotGiven | None = NOT_GIVEN,
        metadata: Mapping[str, str] | NotGiven | None = NOT_GIVEN,
        **options: Unpack[CallOptions],
    ) -> Message:
        """Add a message to a thread (POST /threads/{thread_id}/messages)."""
        path = f"/threads/{path_id('thread_id', thread_id)}/messages"
        return await self._client.request(
            "POST",
            path,
            cast_to=Message,
            body=request_body(
                "createMessage",
                role=role,
                content=content,
                attachments=attachments,
                metadata=metadata,
            ),
            **options,
        )

    @keywords()
    async def retrieve(
        self,
        thread_id: str,
        message_id: str,
        **options: Unpack[CallOptions],
    ) -> Message:
        """Get a message (GET /threads/{thread_id}/messages/{message_id})."""
        return await self._client.request(
            "GET",
            _message_path(thread_id, message_id),
            cast_to=Message,
            **options,
        )

    @keywords()
    async def update(
        self,
        thread_id: str,
        message_id: str,
        *,
        metadata: Mapping[str, str] | NotGiven | None = NOT_GIVEN,
        **options: Unpack[CallOptions],
    ) -> Message:
        """Modify a message (POST /threads/{thread_id}/messages/{message_id})."""
        path = _message_path(thread_id, message_id)
        return await self._client.request(
            "POST",
            path,
            cast_to=Message,
            body=request_body("modifyMessage", metadata=metadata),
            **options,
        )

    @keywords()
    async def delete(
        self,
        thread_id: str,
        message_id: str,
        **options: Unpack[CallOptions],
    ) -> MessageDeleted:
        """Delete a message (DELETE /threads/{thread_id}/messages/{message_id})."""
        return await self._client.request(
            "DELETE",
            _message_path(thread_id, message_id),
            cast_to=MessageDeleted,
            **options,
        )

    @keywords(options=ListOptions)
    def list(
        self,
        thread_id: str,
        *,
        limit: int | None = None,
        order: Literal["asc", "desc"] | None = None,
        after: str | None = None,
        before: str | None = None,
        run_id: str | None = None,
        max_items: int | None = None,
        **options: Unpack[ListOptions],
    ) -> AsyncPaginator[Message]:
        """List a thread's messages (GET /threads/{thread_id}/messages)."""
        path = f"/threads/{path_id('thread_id', thread_id)}/messages"
        check_cursor("run_id", run_id)
        return list_of(
            self,
            path,
            Page[Message],
            limit=limit,
            order=order,
            after=after,
            before=before,
            max_items=max_items,
            filters={"run_id": run_id},
            **options,
        )


def _message_path(thread_id: str, message_id: str) -> str:
    return (
        f"/threads/{path_id('thread_id', thread_id)}/messages/{path_id('message_id', message_id)}"
    )
