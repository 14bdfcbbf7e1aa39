"""Messages, their content parts and annotations, and message deltas."""

from __future__ import annotations

from typing import Literal, TypeAlias

import attrs

from .._model import Model, Unknown, nullable, register_union, required
from .shared import CodeInterpreterTool, FileSearchTool, Metadata

__all__ = [
    "Annotation",
    "AnnotationDelta",
    "Attachment",
    "AttachmentTool",
    "FileCitation",
    "FileCitationAnnotation",
    "FileCitationDelta",
    "FileCitationDeltaAnnotation",
    "FilePath",
    "FilePathAnnotation",
    "FilePathDelta",
    "FilePathDeltaAnnotation",
    "ImageFile",
    "ImageFileContentBlock",
    "ImageFileDelta",
    "ImageFileDeltaBlock",
    "ImageURL",
    "ImageURLContentBlock",
    "ImageURLDelta",
    "ImageURLDeltaBlock",
    "Message",
    "MessageContent",
    "MessageContentDelta",
    "MessageContentPartParam",
    "MessageDelta",
    "MessageDeltaEvent",
    "MessageDeleted",
    "MessageIncompleteDetails",
    "MessageParam",
    "MessageRole",
    "MessageStatus",
    "RefusalContentBlock",
    "RefusalDeltaBlock",
    "Text",
    "TextContentBlock",
    "TextContentBlockParam",
    "TextDelta",
    "TextDeltaBlock",
]


ImageDetail: TypeAlias = Literal["auto", "low", "high"]
MessageRole: TypeAlias = Literal["user", "assistant"]
MessageStatus: TypeAlias = Literal["in_progress", "incomplete", "completed"]


# --- annotations --------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class FileCitation(Model):
    file_id: str


@attrs.frozen(kw_only=True)
class FileCitationAnnotation(Model):
    text: str
    file_citation: FileCitation
    start_index: int
    end_index: int
    type: Literal["file_citation"] = "file_citation"


@attrs.frozen(kw_only=True)
class FilePath(Model):
    file_id: str


@attrs.frozen(kw_only=True)
class FilePathAnnotation(Model):
    text: str
    file_path: FilePath
    start_index: int
    end_index: int
    type: Literal["file_path"] = "file_path"


Annotation: TypeAlias = FileCitationAnnotation | FilePathAnnotation | Unknown
register_union(Annotation, FileCitationAnnotation, FilePathAnnotation)


# --- content parts ------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Text(Model):
    value: str
    annotations: list[Annotation] = required(factory=list)


@attrs.frozen(kw_only=True)
class TextContentBlock(Model):
    text: Text
    type: Literal["text"] = "text"


@attrs.frozen(kw_only=True)
class ImageFile(Model):
    file_id: str
    detail: ImageDetail | None = None


@attrs.frozen(kw_only=True)
class ImageFileContentBlock(Model):
    image_file: ImageFile
    type: Literal["image_file"] = "image_file"


@attrs.frozen(kw_only=True)
class ImageURL(Model):
    url: str
    detail: ImageDetail | None = None


@attrs.frozen(kw_only=True)
class ImageURLContentBlock(Model):
    image_url: ImageURL
    type: Literal["image_url"] = "image_url"


@attrs.frozen(kw_only=True)
class RefusalContentBlock(Model):
    refusal: str
    type: Literal["refusal"] = "refusal"


MessageContent: TypeAlias = (
    ImageFileContentBlock | ImageURLContentBlock | TextContentBlock | RefusalContentBlock | Unknown
)
register_union(
    MessageContent,
    ImageFileContentBlock,
    ImageURLContentBlock,
    TextContentBlock,
    RefusalContentBlock,
)


@attrs.frozen(kw_only=True)
class TextContentBlockParam(Model):
    """A text part of a message you send (its ``text`` is a plain string)."""

    text: str
    type: Literal["text"] = "text"


MessageContentPartParam: TypeAlias = (
    ImageFileContentBlock | ImageURLContentBlock | TextContentBlockParam | Unknown
)
register_union(
    MessageContentPartParam, ImageFileContentBlock, ImageURLContentBlock, TextContentBlockParam
)

# --- messages -----------------------------------------------------------------------

AttachmentTool: TypeAlias = CodeInterpreterTool | FileSearchTool | Unknown
register_union(AttachmentTool, CodeInterpreterTool, FileSearchTool)


@attrs.frozen(kw_only=True)
class Attachment(Model):
    file_id: str | None = None
    tools: list[AttachmentTool] | None = None


@attrs.frozen(kw_only=True)
class MessageIncompleteDetails(Model):
    reason: Literal["content_filter", "max_tokens", "run_cancelled", "run_expired", "run_failed"]


@attrs.frozen(kw_only=True)
class Message(Model):
    id: str
    created_at: int
    thread_id: str
    role: MessageRole
    content: list[MessageContent] = required(factory=list)
    object: Literal["thread.message"] = "thread.message"
    status: MessageStatus | None = required()
    incomplete_details: MessageIncompleteDetails | None = nullable()
    completed_at: int | None = nullable()
    incomplete_at: int | None = nullable()
    assistant_id: str | None = nullable()
    run_id: str | None = nullable()
    attachments: list[Attachment] | None = nullable()
    metadata: Metadata | None = nullable()


@attrs.frozen(kw_only=True)
class MessageDeleted(Model):
    id: str
    deleted: bool
    object: Literal["thread.message.deleted"] = "thread.message.deleted"


@attrs.frozen(kw_only=True)
class MessageParam(Model):
    """A message to send: to ``threads.create(messages=...)`` or a run's
    ``additional_messages``. A plain dict of the same shape works too."""

    role: MessageRole
    content: str | list[MessageContentPartParam]
    attachments: list[Attachment] | None = None
    metadata: Metadata | None = None


# --- deltas (streaming) ---------------------------------------------------------------


@attrs.frozen(kw_only=True)
class FileCitationDelta(Model):
    file_id: str | None = None
    quote: str | None = None


@attrs.frozen(kw_only=True)
class FileCitationDeltaAnnotation(Model):
    index: int
    type: Literal["file_citation"] = "file_citation"
    text: str | None = None
    file_citation: FileCitationDelta | None = None
    start_index: int | None = None
    end_index: int | None = None


@attrs.frozen(kw_only=True)
class FilePathDelta(Model):
    file_id: str | None = None


@attrs.frozen(kw_only=True)
class FilePathDeltaAnnotation(Model):
    index: int
    type: Literal["file_path"] = "file_path"
    text: str | None = None
    file_path: FilePathDelta | None = None
    start_index: int | None = None
    end_index: int | None = None


AnnotationDelta: TypeAlias = FileCitationDeltaAnnotation | FilePathDeltaAnnotation | Unknown
register_union(AnnotationDelta, FileCitationDeltaAnnotation, FilePathDeltaAnnotation)


@attrs.frozen(kw_only=True)
class TextDelta(Model):
    value: str | None = None
    annotations: list[AnnotationDelta] | None = None


@attrs.frozen(kw_only=True)
class TextDeltaBlock(Model):
    index: int
    type: Literal["text"] = "text"
    text: TextDelta | None = None


@attrs.frozen(kw_only=True)
class ImageFileDelta(Model):
    file_id: str | None = None
    detail: ImageDetail | None = None


@attrs.frozen(kw_only=True)
class ImageFileDeltaBlock(Model):
    index: int
    type: Literal["image_file"] = "image_file"
    image_file: ImageFileDelta | None = None


@attrs.frozen(kw_only=True)
class ImageURLDelta(Model):
    url: str | None = None
    detail: ImageDetail | None = None


@attrs.frozen(kw_only=True)
class ImageURLDeltaBlock(Model):
    index: int
    type: Literal["image_url"] = "image_url"
    image_url: ImageURLDelta | None = None


@attrs.frozen(kw_only=True)
class RefusalDeltaBlock(Model):
    index: int
    type: Literal["refusal"] = "refusal"
    refusal: str | None = None


MessageContentDelta: TypeAlias = (
    ImageFileDeltaBlock | TextDeltaBlock | RefusalDeltaBlock | ImageURLDeltaBlock | Unknown
)
register_union(
    MessageContentDelta, ImageFileDeltaBlock, TextDeltaBlock, RefusalDeltaBlock, ImageURLDeltaBlock
)


@attrs.frozen(kw_only=True)
class MessageDelta(Model):
    role: MessageRole | None = None
    content: list[MessageContentDelta] | None = None


@attrs.frozen(kw_only=True)
class MessageDeltaEvent(Model):
    """The data of a ``thread.message.delta`` stream event."""

    id: str
    delta: MessageDelta
    object: Literal["thread.message.delta"] = "thread.message.delta"
