"""Ollama native chat (``POST /api/chat``) request encoding.

Wire facts this encoder follows (Ollama API docs, recorded exchanges):

* ``stream`` defaults to *true* on the server, so it is always sent explicitly;
* message ``content`` is one string; images travel apart as a list of raw base64
  strings (no ``data:`` prefix) in ``images``; remote image URLs and documents are not
  accepted (they raise before sending);
* assistant ``tool_calls`` carry ``arguments`` as a JSON *object*, not a string;
* a tool result is a ``tool`` message naming the function in ``tool_name`` (the native
  API has no call ids, so the name is looked up from the assistant call it answers);
* sampling options (temperature, ``num_predict`` …) live under ``options``: the manifest
  places them with ``wire:`` paths, this module handles ``format`` and ``think``.

Example::

    encode(ChatRequest(model="llama3.1", messages=[Message.user("Hi")]))
    # {"model": "llama3.1", "messages": [{"role": "user", "content": "Hi"}], "stream": False}
"""

from __future__ import annotations

from typing import Any

from ailib.dialects import ChatRequest, reasoning_config, reasoning_off
from ailib.dialects._blocks import REPLAY_BLOCKS, refused
from ailib.errors import ProtocolError
from ailib.types.messages import Message, MessageRole

# Models whose ``think`` takes a level instead of a boolean (Ollama docs: GPT-OSS).
_LEVEL_MODELS = ("gpt-oss",)
_LEVELS = {"minimal": "low", "low": "low", "medium": "medium", "high": "high", "xhigh": "high"}


def _images(msg: Message) -> list[str]:
    if isinstance(msg.content, str):
        return []
    images = []
    for block in msg.content:
        if block.type in ("text", *REPLAY_BLOCKS) or block.is_audio_ref:
            continue  # text and transcripts join the content; thinking goes back too
        if block.type != "image":
            hint = "Ollama's chat API takes text and inline images only"
            raise refused("Ollama chat", block, hint=hint)
        if block.data is None:
            raise ProtocolError(
                f"Ollama's native API takes inline images only, not the URL {block.url!r}: "
                "pass the bytes with ContentBlock.image_base64(...) or a data: URL",
                provider="ollama",
            )
        images.append(block.data)
    return images


def _thinking(msg: Message) -> str:
    if isinstance(msg.content, str):
        return ""
    return "".join(b.text_value or "" for b in msg.content if b.type == "thinking")


def encode_messages(messages: list[Message]) -> list[dict[str, Any]]:
    """Ollama ``messages``; tool results name the function they answer (``tool_name``)."""
    names: dict[str, str] = {}  # call id -> function name, latest assistant turn wins
    out: list[dict[str, Any]] = []
    for msg in messages:
        entry: dict[str, Any] = {"role": msg.role.value, "content": msg.text}
        images = _images(msg)
        if images:
            entry["images"] = images
        if msg.role is MessageRole.ASSISTANT:
            thinking = _thinking(msg)
            if thinking:
                entry["thinking"] = thinking
            if msg.tool_calls:
                entry["tool_calls"] = [
                    {"function": {"name": call.function_name, "arguments": call.replay_arguments()}}
                    for call in msg.tool_calls
                ]
                names.update({call.id: call.function_name for call in msg.tool_calls})
        elif msg.role is MessageRole.TOOL:
            name = msg.name or names.get(msg.tool_call_id or "")
            if name:
                entry["tool_name"] = name
        out.append(entry)
    return out


def _format(value: Any) -> Any:
    """``response_format`` → Ollama ``format``: ``"json"`` or a JSON schema (None: omit).

    Accepts the OpenAI shapes (``json_object``, ``json_schema`` with ``schema``), ``text``
    and a bare JSON schema.
    """
    if not isinstance(value, dict):
        return value
    kind = value.get("type")
    if kind == "text":
        return None  # Ollama's default
    if kind in ("json_object", "json_schema", "json"):
        wrapped = value.get("json_schema")
        nested = wrapped.get("schema") if isinstance(wrapped, dict) else None
        return nested or value.get("schema") or "json"
    return value  # a bare JSON schema


def _think(value: Any, model: str) -> bool | str:
    """``reasoning`` → ``think``: a level for models that take one, else a boolean."""
    if isinstance(value, dict) and "think" in value:
        think: bool | str = value["think"]
        return think
    if reasoning_off(value):  # False or the effort "none"
        return False
    if model.split(":", 1)[0].split("/")[-1].startswith(_LEVEL_MODELS):
        return _LEVELS.get(str(reasoning_config(value).get("effort")), "medium")
    return True


def encode(req: ChatRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": req.model,
        "messages": encode_messages(req.messages),
        "stream": req.stream,
    }
    if req.tools:
        body["tools"] = []
        for tool in req.tools:
            fn: dict[str, Any] = {"name": tool.name, "parameters": tool.parameters}
            if tool.description:
                fn["description"] = tool.description
            body["tools"].append({"type": "function", "function": fn})
    params = req.params
    if "response_format" in params:
        fmt = _format(params["response_format"])
        if fmt is not None:
            body["format"] = fmt
    if params.get("reasoning") is not None:
        body["think"] = _think(params["reasoning"], req.model)
    return body
