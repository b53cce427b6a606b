"""Chat messages and their content blocks."""

from __future__ import annotations

import base64
import enum
import json
from collections.abc import Mapping
from typing import Any

import attrs

from ailib.errors import InvalidRequestError
from ailib.types.message_dicts import content_from_parts, message_from_dict
from ailib.types.tools import ToolCall


def _optional_str(_block: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not isinstance(value, str):
        raise InvalidRequestError(
            f"content block {attribute.name} must be a str, got {type(value).__name__}"
        )


def _inline(data: Any, where: str) -> str:
    """Inline data as base64 text: bytes-like values are encoded, a str is kept."""
    if isinstance(data, bytes | bytearray | memoryview):
        return base64.b64encode(data).decode("ascii")
    if not isinstance(data, str):
        raise InvalidRequestError(
            f"{where} data must be bytes or base64 text (a str), got {type(data).__name__}"
        )
    if data.startswith("data:"):
        raise InvalidRequestError(
            f"{where} data is a data: URL, not base64 text: pass the part after ';base64,'"
        )
    return data


class MessageRole(str, enum.Enum):
    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"


@attrs.frozen
class ContentBlock:
    """One part of a multimodal message.

    Example::

        ContentBlock.text("Describe this image:")
        ContentBlock.image_base64(data, "image/jpeg")
        ContentBlock.image_url("https://example.com/cat.png")
    """

    type: str = attrs.field(validator=attrs.validators.instance_of(str))
    text_value: str | None = attrs.field(default=None, validator=_optional_str)
    url: str | None = attrs.field(default=None, validator=_optional_str)
    data: str | None = attrs.field(default=None, validator=_optional_str)
    media_type: str | None = attrs.field(default=None, validator=_optional_str)
    detail: str | None = attrs.field(default=None, validator=_optional_str)
    signature: str | None = attrs.field(default=None, validator=_optional_str)

    @classmethod
    def text(cls, text: str) -> ContentBlock:
        if not isinstance(text, str):
            raise InvalidRequestError(f"text content must be a str, got {type(text).__name__}")
        return cls("text", text_value=text)

    @classmethod
    def image_url(cls, url: str, *, detail: str | None = None) -> ContentBlock:
        if not isinstance(url, str) or not url:
            raise InvalidRequestError(
                f"an image URL must be a non-empty str (http(s) or data: URL), got {url!r:.80}"
            )
        if url.startswith("data:") and ";base64," in url:
            head, data = url.split(",", 1)
            return cls("image", data=data, media_type=head[5:].split(";")[0], detail=detail)
        return cls("image", url=url, detail=detail)

    @classmethod
    def image_base64(
        cls, data: str | bytes, media_type: str = "image/png", *, detail: str | None = None
    ) -> ContentBlock:
        data = _inline(data, "image")
        return cls("image", data=data, media_type=media_type, detail=detail)

    @classmethod
    def document(
        cls,
        data: str | bytes | None = None,
        media_type: str = "application/pdf",
        *,
        url: str | None = None,
        title: str | None = None,
    ) -> ContentBlock:
        """A document (PDF, ...), inline (base64 or bytes) or by http(s) URL."""
        if (data is None) == (url is None):
            raise InvalidRequestError("ContentBlock.document needs exactly one of data or url")
        if data is not None:
            data = _inline(data, "document")
        return cls("document", text_value=title, url=url, data=data, media_type=media_type)

    @classmethod
    def thinking(cls, text: str, signature: str | None = None) -> ContentBlock:
        if not isinstance(text, str):
            raise InvalidRequestError(f"thinking text must be a str, got {type(text).__name__}")
        return cls("thinking", text_value=text, signature=signature)

    @property
    def is_web_url(self) -> bool:
        return bool(self.url) and str(self.url).startswith(("http://", "https://"))

    @property
    def data_url(self) -> str:
        """The image as a URL (``data:`` URL for inline images)."""
        if self.url:
            return self.url
        return f"data:{self.media_type or 'image/png'};base64,{self.data or ''}"


def _content_converter(value: str | list[ContentBlock] | None) -> str | list[ContentBlock]:
    if type(value) is str:  # the common case, first
        return value
    return content_from_parts(value, "message content")


def _role_converter(value: MessageRole | str) -> MessageRole:
    try:
        return MessageRole(value)
    except ValueError:
        valid = ", ".join(repr(r.value) for r in MessageRole)
        raise InvalidRequestError(f"message role must be one of {valid}, got {value!r}") from None


def _list_converter(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str | bytes | Mapping) or not hasattr(value, "__iter__"):
        raise InvalidRequestError(f"message tool_calls must be a list, got {type(value).__name__}")
    return list(value)


def _check_tool_calls(_m: Any, _a: Any, value: list[ToolCall]) -> None:
    for i, call in enumerate(value):
        if not isinstance(call, ToolCall):
            raise InvalidRequestError(
                f"message tool_calls[{i}] must be a ToolCall, got {type(call).__name__}"
            )


def _check_optional_str(_m: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not isinstance(value, str):
        raise InvalidRequestError(
            f"message {attribute.name} must be a str, got {type(value).__name__}"
        )


@attrs.frozen
class Message:
    """A chat message.

    Example::

        messages = [Message.system("You are a Python expert."), Message.user("Hi")]
        Message.user_with_image("What's in this image?", image_url="https://x/y.jpg")
        Message.tool(call.id, {"temperature": 21})
    """

    role: MessageRole = attrs.field(converter=_role_converter)
    content: str | list[ContentBlock] = attrs.field(default="", converter=_content_converter)
    tool_calls: list[ToolCall] = attrs.field(
        factory=list, converter=_list_converter, validator=_check_tool_calls
    )
    tool_call_id: str | None = attrs.field(default=None, validator=_check_optional_str)
    name: str | None = attrs.field(default=None, validator=_check_optional_str)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Message:
        """Convert an OpenAI Chat Completions message dict (as pasted from other code).

        Roles system/developer/user/assistant/tool; content a str or a list of ``text`` /
        ``image_url`` parts; assistant ``tool_calls`` and DeepSeek's ``reasoning_content``
        (a thinking block); tool ``tool_call_id``::

            Message.from_dict({"role": "user", "content": "hi"})
        """
        if not isinstance(data, Mapping):
            raise InvalidRequestError(f"a message dict must be a dict, not {type(data).__name__}")
        return message_from_dict(data)

    @classmethod
    def system(cls, content: str) -> Message:
        return cls(MessageRole.SYSTEM, _given(content, "system"))

    @classmethod
    def user(cls, content: str | list[ContentBlock]) -> Message:
        return cls(MessageRole.USER, _given(content, "user"))

    @classmethod
    def assistant(
        cls, content: str | list[ContentBlock] = "", tool_calls: list[ToolCall] | None = None
    ) -> Message:
        return cls(MessageRole.ASSISTANT, content, list(tool_calls or []))

    @classmethod
    def tool(cls, tool_call_id: str, content: Any, *, name: str | None = None) -> Message:
        """A tool result; non-string content is sent as JSON."""
        if not isinstance(tool_call_id, str) or not tool_call_id:
            raise InvalidRequestError(
                f"Message.tool needs the id of the call it answers (a non-empty str, "
                f"call.id), got {tool_call_id!r:.80}"
            )
        text = content if isinstance(content, str) else _json_text(content)
        return cls(MessageRole.TOOL, text, tool_call_id=tool_call_id, name=name)

    @classmethod
    def user_with_image(
        cls,
        text: str,
        *,
        image_url: str | None = None,
        image_base64: str | bytes | None = None,
        media_type: str = "image/jpeg",
    ) -> Message:
        if image_url is not None:
            image = ContentBlock.image_url(image_url)
        elif image_base64 is not None:
            image = ContentBlock.image_base64(image_base64, media_type)
        else:
            raise InvalidRequestError("user_with_image needs image_url or image_base64")
        return cls(MessageRole.USER, [ContentBlock.text(text), image])

    @property
    def text(self) -> str:
        """The text of the message (text blocks joined)."""
        if isinstance(self.content, str):
            return self.content
        return "".join(b.text_value or "" for b in self.content if b.type == "text")


def _given(content: Any, role: str) -> Any:
    if content is None:
        raise InvalidRequestError(f"{role} content must be a str or a list of content blocks")
    return content


def _json_text(content: Any) -> str:
    """A tool result as JSON text; a value with no JSON form is refused, typed."""
    try:
        return json.dumps(content, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidRequestError(
            f"a tool result must be a str or a JSON value (dict, list, number...): {exc}; "
            "convert it first, e.g. Message.tool(call.id, str(result))"
        ) from None
