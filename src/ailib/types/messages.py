"""Chat messages and their content blocks."""

from __future__ import annotations

import base64
import enum
import json
import os
from collections.abc import Mapping
from typing import Any

import attrs

from ailib.errors import InvalidRequestError
from ailib.types import media
from ailib.types.message_dicts import content_from_parts, message_from_dict
from ailib.types.tools import ToolCall


def _optional_str(_block: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not isinstance(value, str):
        raise InvalidRequestError(
            f"content block {attribute.name} must be a str, got {type(value).__name__}"
        )


def _short(value: str | None) -> str:
    """The repr of inline data, cut: a megabyte of base64 is no use in a log line."""
    if value is None or len(value) <= 48:
        return repr(value)
    return f"{value[:32]!r}... ({len(value):,} chars)"


def _optional_int(_block: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise InvalidRequestError(
            f"content block {attribute.name} must be an int, got {type(value).__name__}"
        )


def _inline_media(data: Any, declared: str | None, kind: str) -> tuple[str, str]:
    """(base64 text, media type) of inline data; the type is read from the bytes.

    A declared type the bytes contradict raises MediaError; base64 text is sniffed from
    its first bytes only (documents: whole, to look inside ZIP containers).
    """
    text = _inline(data, kind)
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
    else:
        raw = media.decode_all(text, kind) if kind == "document" else media.decode_head(text)
    return text, media.resolve_media_type(raw, declared, kind)


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
    return media.plain_base64(data)


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
        ContentBlock.image_base64(data)                 # media type read from the bytes
        ContentBlock.image_url("https://example.com/cat.png")
        ContentBlock.image_file("photo.jpg")
        ContentBlock.audio_file("question.wav")         # or .audio(data, format="mp3")
        ContentBlock.document_file("report.pdf")

    Media types come from the bytes' signature, never from a file name; a declared type
    the bytes contradict raises :class:`~ailib.errors.MediaError` before sending.
    """

    type: str = attrs.field(validator=attrs.validators.instance_of(str))
    text_value: str | None = attrs.field(default=None, validator=_optional_str)
    url: str | None = attrs.field(default=None, validator=_optional_str)
    data: str | None = attrs.field(default=None, validator=_optional_str, repr=_short)
    media_type: str | None = attrs.field(default=None, validator=_optional_str)
    detail: str | None = attrs.field(default=None, validator=_optional_str)
    signature: str | None = attrs.field(default=None, validator=_optional_str)
    #: a model's audio answer: the provider's id for replaying it in the next turn
    id: str | None = attrs.field(default=None, validator=_optional_str)
    #: a model's audio answer: Unix time after which the provider forgets ``id``
    expires_at: int | None = attrs.field(default=None, validator=_optional_int)

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
            declared = head[5:].split(";")[0] or None
            media_type = media.resolve_media_type(media.decode_head(data), declared, "image")
            return cls("image", data=data, media_type=media_type, detail=detail)
        return cls("image", url=url, detail=detail)

    @classmethod
    def image_base64(
        cls, data: str | bytes, media_type: str | None = None, *, detail: str | None = None
    ) -> ContentBlock:
        """An inline image (bytes or base64 text); its type is read from the bytes."""
        text, media_type = _inline_media(data, media_type, "image")
        return cls("image", data=text, media_type=media_type, detail=detail)

    @classmethod
    def image_file(
        cls,
        path: str | os.PathLike[str],
        *,
        media_type: str | None = None,
        detail: str | None = None,
        max_bytes: int = media.MAX_FILE_BYTES,
    ) -> ContentBlock:
        """An image read from a local file (at most ``max_bytes``), typed by its bytes."""
        return cls.image_base64(
            media.read_file(path, "image", max_bytes), media_type, detail=detail
        )

    @classmethod
    def audio(
        cls, data: str | bytes, format: str | None = None, *, sample_rate: int | None = None
    ) -> ContentBlock:
        """An audio clip (bytes or base64 text); ``format`` is ``"wav"``, ``"mp3"``... or
        a media type, and is checked against the bytes (raw ``"pcm16"`` has no signature).

        Raw 16-bit mono PCM has no header to say its rate: pass ``sample_rate=`` (or a
        type like ``"audio/L16;rate=16000"``); without one it is taken as 24 kHz, the
        rate OpenAI and Gemini speak in, when it is wrapped as WAV for a provider.
        """
        declared = media.audio_media_type(format) if format is not None else None
        text, media_type = _inline_media(data, declared, "audio")
        rate = sample_rate if sample_rate is not None else media.sample_rate_of(format)
        if rate is not None:
            if isinstance(rate, bool) or not isinstance(rate, int) or not 1 <= rate <= 768_000:
                raise InvalidRequestError(f"sample_rate must be an int in Hz, got {rate!r}")
            if media_type not in media.RAW_AUDIO:
                raise InvalidRequestError(
                    f"sample_rate is for raw pcm16 audio; this clip is {media_type!r}, "
                    "whose header has its rate"
                )
            media_type = f"{media_type};rate={rate}"
        return cls("audio", data=text, media_type=media_type)

    @classmethod
    def audio_file(
        cls,
        path: str | os.PathLike[str],
        *,
        format: str | None = None,
        sample_rate: int | None = None,
        max_bytes: int = media.MAX_FILE_BYTES,
    ) -> ContentBlock:
        """An audio clip read from a local file (at most ``max_bytes``), typed by its bytes
        (``format`` and ``sample_rate`` as for :meth:`audio`)."""
        data = media.read_file(path, "audio", max_bytes)
        return cls.audio(data, format, sample_rate=sample_rate)

    @classmethod
    def audio_ref(
        cls, id: str, transcript: str | None = None, *, expires_at: int | None = None
    ) -> ContentBlock:
        """A model's earlier audio answer in the history: its provider id and transcript.

        OpenAI takes the id back (``{"audio": {"id": ...}}``) until ``expires_at``; other
        providers, and OpenAI after that time, get the transcript as text.
        """
        if not isinstance(id, str) or not id:
            raise InvalidRequestError(f"an audio answer's id must be a non-empty str, got {id!r}")
        return cls("audio", text_value=transcript, id=id, expires_at=expires_at)

    @classmethod
    def document(
        cls,
        data: str | bytes | None = None,
        media_type: str | None = None,
        *,
        url: str | None = None,
        title: str | None = None,
    ) -> ContentBlock:
        """A document (PDF, ...), inline (base64 or bytes) or by http(s) URL.

        Inline data is typed by its bytes (a PDF, an Office file; text without a declared
        type is ``text/plain``); a reference by URL is ``application/pdf`` unless declared.
        """
        if (data is None) == (url is None):
            raise InvalidRequestError("ContentBlock.document needs exactly one of data or url")
        if data is not None:
            data, media_type = _inline_media(data, media_type, "document")
        elif media_type is None:
            media_type = "application/pdf"
        return cls("document", text_value=title, url=url, data=data, media_type=media_type)

    @classmethod
    def document_file(
        cls,
        path: str | os.PathLike[str],
        *,
        media_type: str | None = None,
        title: str | None = None,
        max_bytes: int = media.MAX_FILE_BYTES,
    ) -> ContentBlock:
        """A document read from a local file; the title defaults to the file's name."""
        data = media.read_file(path, "document", max_bytes)
        name = title if title is not None else os.path.basename(os.fsdecode(os.fspath(path)))
        return cls.document(data, media_type, title=name or None)

    @classmethod
    def thinking(cls, text: str, signature: str | None = None) -> ContentBlock:
        if not isinstance(text, str):
            raise InvalidRequestError(f"thinking text must be a str, got {type(text).__name__}")
        return cls("thinking", text_value=text, signature=signature)

    @property
    def is_audio_ref(self) -> bool:
        """A model's earlier audio answer (id and transcript), not audio to send."""
        return self.type == "audio" and self.id is not None

    @property
    def audio_format(self) -> str | None:
        """``"wav"``, ``"mp3"``... of an audio block (from its media type)."""
        return media.audio_format(self.media_type) if self.type == "audio" else None

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
    if type(value) is MessageRole:  # the common case, first
        return value
    try:
        return MessageRole(value)
    except ValueError:
        valid = ", ".join(repr(r.value) for r in MessageRole)
        raise InvalidRequestError(f"message role must be one of {valid}, got {value!r}") from None


def _list_converter(value: Any) -> list[Any]:
    if type(value) is list:  # the common case, first (an ABC isinstance check is slow)
        return list(value)
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
        ``image_url`` / ``input_audio`` / ``file`` parts; assistant ``tool_calls``, an
        earlier audio answer (``audio: {"id": ...}``) and DeepSeek's ``reasoning_content``
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
        media_type: str | None = None,
    ) -> Message:
        """A user message with text and one image (by URL, or inline: typed by its bytes)."""
        if image_url is not None:
            image = ContentBlock.image_url(image_url)
        elif image_base64 is not None:
            image = ContentBlock.image_base64(image_base64, media_type)
        else:
            raise InvalidRequestError("user_with_image needs image_url or image_base64")
        return cls(MessageRole.USER, [ContentBlock.text(text), image])

    @property
    def text(self) -> str:
        """The text of the message: text blocks, and the transcripts of audio answers."""
        if isinstance(self.content, str):
            return self.content
        return "".join(
            b.text_value or "" for b in self.content if b.type == "text" or b.is_audio_ref
        )


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
