"""OpenAI-shaped message dicts (as pasted from other SDKs' code) converted to Message.

Example::

    message_from_dict({"role": "user", "content": "hi"})  # == Message.user("hi")
    message_from_dict({"role": "user", "content": [{"type": "text", "text": "hi"}]})
    message_from_dict({"role": "user", "content": [
        {"type": "input_audio", "input_audio": {"data": "<base64>", "format": "wav"}}]})

Anything that cannot be converted raises InvalidRequestError naming the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ailib.errors import InvalidRequestError

if TYPE_CHECKING:
    from ailib.types.messages import ContentBlock, Message
    from ailib.types.tools import ToolCall

# "developer" is OpenAI's newer name for the system role
_ROLES = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "assistant": "assistant",
    "tool": "tool",
}
_KEYS = {"role", "content", "name", "tool_calls", "tool_call_id", "reasoning_content", "audio"}


def _fail(where: str, message: str) -> InvalidRequestError:
    return InvalidRequestError(f"{where}: {message}")


def message_from_dict(data: Mapping[str, Any], where: str = "message") -> Message:
    """Convert one OpenAI Chat Completions message dict; ``where`` prefixes errors."""
    from ailib.types.messages import ContentBlock, Message, MessageRole

    role = data.get("role")
    if role not in _ROLES:
        valid = ", ".join(repr(r) for r in _ROLES)
        raise _fail(f"{where}['role']", f"must be one of {valid}, got {role!r}")
    for key, value in data.items():
        if key not in _KEYS and value not in (None, [], {}, ""):  # response-only keys, empty
            raise _fail(f"{where}[{key!r}]", f"unsupported key for a {role} message")
    name = data.get("name")
    if name is not None and not isinstance(name, str):
        raise _fail(f"{where}['name']", f"must be a str, got {type(name).__name__}")
    audio = data.get("audio")
    if audio is not None and role != "assistant":
        raise _fail(f"{where}['audio']", "only assistant messages carry an earlier audio answer")
    if data.get("content") is None and not (
        role == "assistant" and (data.get("tool_calls") or audio is not None)
    ):
        raise _fail(f"{where}['content']", f"a {role} message needs its content (a str)")
    content = content_from_parts(data.get("content"), f"{where}['content']")
    if role == "tool":
        call_id = data.get("tool_call_id")
        if not isinstance(call_id, str) or not call_id:
            raise _fail(f"{where}['tool_call_id']", "a tool message needs the call's id (a str)")
        text = content if isinstance(content, str) else "".join(b.text_value or "" for b in content)
        return Message(MessageRole.TOOL, text, tool_call_id=call_id, name=name)
    calls = data.get("tool_calls") or []
    if calls and role != "assistant":
        raise _fail(f"{where}['tool_calls']", "only assistant messages carry tool calls")
    if not isinstance(calls, list):
        raise _fail(f"{where}['tool_calls']", f"must be a list, got {type(calls).__name__}")
    tool_calls = [_tool_call(c, i, f"{where}['tool_calls'][{i}]") for i, c in enumerate(calls)]
    reasoning = data.get("reasoning_content")
    if reasoning not in (None, ""):  # DeepSeek-style histories: the turn's thinking text
        if role != "assistant" or not isinstance(reasoning, str):
            raise _fail(
                f"{where}['reasoning_content']", "only assistant messages carry it, as a str"
            )
        content = [ContentBlock.thinking(reasoning), *_blocks(content)]
    if audio is not None:  # OpenAI's reference to an audio answer: {"id": "audio_..."}
        content = [*_blocks(content), _audio_ref(audio, f"{where}['audio']")]
    return Message(MessageRole(_ROLES[role]), content, tool_calls, name=name)


def _audio_ref(audio: Any, where: str) -> ContentBlock:
    from ailib.types.messages import ContentBlock

    if not isinstance(audio, Mapping) or not isinstance(audio.get("id"), str):
        raise _fail(where, "needs {'id': '<the audio answer's id>'}")
    transcript = audio.get("transcript")
    expires = audio.get("expires_at")
    return ContentBlock.audio_ref(
        audio["id"],
        transcript if isinstance(transcript, str) else None,
        expires_at=expires if isinstance(expires, int) and not isinstance(expires, bool) else None,
    )


def _blocks(content: str | list[ContentBlock]) -> list[ContentBlock]:
    from ailib.types.messages import ContentBlock

    if isinstance(content, str):
        return [ContentBlock.text(content)] if content else []
    return content


def content_from_parts(value: Any, where: str) -> str | list[ContentBlock]:
    """Message content: a str, None, or a list of ContentBlock / OpenAI content part dicts."""
    from ailib.types.messages import ContentBlock

    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if not isinstance(value, list | tuple):
        raise _fail(where, f"must be a str or a list of content parts, got {type(value).__name__}")
    blocks: list[ContentBlock] = []
    for i, part in enumerate(value):
        if isinstance(part, ContentBlock):
            blocks.append(part)
        elif isinstance(part, Mapping):
            blocks.append(_part(part, f"{where}[{i}]"))
        else:
            raise _fail(
                f"{where}[{i}]",
                f"must be a ContentBlock or a content part dict, got {type(part).__name__}",
            )
    return blocks


def _part(part: Mapping[str, Any], where: str) -> ContentBlock:
    from ailib.types.messages import ContentBlock

    kind = part.get("type")
    if kind == "text" and isinstance(part.get("text"), str):
        return ContentBlock.text(part["text"])
    if kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, Mapping) else image
        detail = image.get("detail") if isinstance(image, Mapping) else None
        if isinstance(url, str) and url and (detail is None or isinstance(detail, str)):
            return ContentBlock.image_url(url, detail=detail)
        raise _fail(f"{where}['image_url']", "needs {'url': '<http(s) or data: URL>'}")
    if kind == "file":
        return _file_part(part.get("file"), f"{where}['file']")
    if kind == "text":
        raise _fail(f"{where}['text']", "a text part needs a str 'text'")
    if kind == "input_audio":
        return _audio_part(part.get("input_audio"), f"{where}['input_audio']")
    raise _fail(
        f"{where}['type']",
        f"unsupported content part type {kind!r} (use 'text', 'image_url', 'input_audio' or "
        "'file', or ContentBlock)",
    )


def _audio_part(audio: Any, where: str) -> ContentBlock:
    """An OpenAI ``input_audio`` part: ``{"data": <base64>, "format": "wav" | "mp3"}``."""
    from ailib.types.messages import ContentBlock

    data = audio.get("data") if isinstance(audio, Mapping) else None
    fmt = audio.get("format") if isinstance(audio, Mapping) else None
    if not isinstance(data, str) or not data or (fmt is not None and not isinstance(fmt, str)):
        raise _fail(where, "needs {'data': '<base64>', 'format': 'wav' | 'mp3'}")
    return ContentBlock.audio(data, fmt)


def _file_part(file: Any, where: str) -> ContentBlock:
    """An OpenAI ``file`` part with inline ``file_data`` (a base64 data: URL): a document."""
    from ailib.types.messages import ContentBlock

    data = file.get("file_data") if isinstance(file, Mapping) else None
    if not isinstance(data, str) or not data.startswith("data:") or ";base64," not in data:
        raise _fail(
            where,
            "needs {'file_data': 'data:<media type>;base64,...'} (uploaded file_id "
            "references cannot be sent to other providers)",
        )
    head, payload = data.split(",", 1)
    title = file.get("filename")
    block = ContentBlock.document(payload, head[5:].split(";")[0] or "application/pdf")
    return ContentBlock(
        "document",
        text_value=title if isinstance(title, str) else None,
        data=block.data,
        media_type=block.media_type,
    )


def _tool_call(call: Any, index: int, where: str) -> ToolCall:
    from ailib.types.tools import ToolCall

    if isinstance(call, ToolCall):
        return call
    if not isinstance(call, Mapping):
        raise _fail(where, f"must be a dict or a ToolCall, got {type(call).__name__}")
    function = call.get("function")
    if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
        raise _fail(f"{where}['function']", "needs {'name': str, 'arguments': str}")
    call_id = call.get("id")
    if not isinstance(call_id, str) or not call_id:
        raise _fail(f"{where}['id']", "a tool call needs its id (a str)")
    arguments = function.get("arguments")
    if arguments is not None and not isinstance(arguments, str | dict):
        raise _fail(f"{where}['function']['arguments']", "must be JSON text or a dict")
    return ToolCall.from_raw(call_id, function["name"], arguments, index=index)
