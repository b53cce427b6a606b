"""OpenAI Chat Completions request encoding (also every OpenAI-compatible endpoint)."""

from __future__ import annotations

import json
from typing import Any

from ailib.dialects import ChatRequest, reasoning_config, reasoning_off, wants_reasoning
from ailib.dialects._blocks import document_filename, live_audio_ref, text_blocks, text_only
from ailib.errors import ParameterError, ProtocolError
from ailib.types.messages import ContentBlock, Message, MessageRole
from ailib.types.tools import ToolCall


def _part(block: ContentBlock) -> dict[str, Any]:
    if block.type == "image":
        image: dict[str, Any] = {"url": block.data_url}
        if block.detail:
            image["detail"] = block.detail
        return {"type": "image_url", "image_url": image}
    if block.type == "document":
        if block.data is None:
            raise ProtocolError(
                f"OpenAI chat takes documents inline only, not {block.url!r}: pass the bytes"
            )
        name = document_filename(block)
        return {"type": "file", "file": {"filename": name, "file_data": block.data_url}}
    if block.type == "text":
        return {"type": "text", "text": block.text_value or ""}
    if block.is_audio_ref:  # a model's earlier spoken answer, outside an assistant turn
        return {"type": "text", "text": block.text_value or ""}
    if block.type == "audio" and block.data is not None:
        audio = {"data": block.data, "format": block.audio_format or "wav"}
        return {"type": "input_audio", "input_audio": audio}
    raise ProtocolError(f"OpenAI chat messages cannot carry a {block.type!r} content block")


def _arguments(call: ToolCall) -> str:
    """The call's JSON text: as received when there is one, else from ``arguments``."""
    if call.raw_arguments:
        return call.raw_arguments
    return json.dumps(call.arguments, ensure_ascii=False)


def encode_message(msg: Message, options: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"role": msg.role._value_}  # .value: a property, slower
    if isinstance(msg.content, str):
        out["content"] = msg.content
    else:
        if msg.role is MessageRole.ASSISTANT:
            text = text_only("OpenAI chat", msg)
            ref = live_audio_ref(msg)
            if ref is not None:  # the spoken answer goes back by id (its text is implied)
                out["audio"] = {"id": ref.id}
                text = text_blocks(msg)
            out["content"] = text or None
        else:
            if msg.role in (MessageRole.SYSTEM, MessageRole.TOOL):
                text_only("OpenAI chat", msg)  # their content parts are text parts only
            # thinking blocks are other providers' replay data: not sent on this wire
            out["content"] = [_part(b) for b in msg.content if not b.type.endswith("thinking")]
    if msg.role is MessageRole.TOOL:
        out["tool_call_id"] = msg.tool_call_id
    if msg.tool_calls:
        out["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.function_name, "arguments": _arguments(call)},
            }
            for call in msg.tool_calls
        ]
        if out.get("content") == "":
            out["content"] = None
    replay = (options or {}).get("replay_reasoning")
    if replay and msg.role is MessageRole.ASSISTANT:
        # DeepSeek-style thinking models want their reasoning back on tool-call turns
        blocks = [] if isinstance(msg.content, str) else msg.content
        thinking = "".join(b.text_value or "" for b in blocks if b.type == "thinking")
        if thinking or msg.tool_calls:
            out[str(replay)] = thinking
    if msg.name and msg.role is not MessageRole.TOOL:
        out["name"] = msg.name
    return out


def _tool_choice(value: Any) -> Any:
    if isinstance(value, str) and value not in ("auto", "none", "required"):
        if value == "any":
            return "required"
        return {"type": "function", "function": {"name": value}}
    return value


def encode(req: ChatRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": req.model,
        "messages": [encode_message(m, req.options) for m in req.messages],
    }
    if req.tools:
        body["tools"] = []
        for tool in req.tools:
            fn: dict[str, Any] = {"name": tool.name, "parameters": tool.parameters}
            if tool.description:
                fn["description"] = tool.description
            if tool.strict is not None:
                fn["strict"] = tool.strict
            body["tools"].append({"type": "function", "function": fn})
    params = req.params
    if not params:  # nothing below applies
        return body
    if "tool_choice" in params:
        body["tool_choice"] = _tool_choice(params["tool_choice"])
    if "response_format" in params:
        body["response_format"] = params["response_format"]
    _check_audio_output(params)
    if wants_reasoning(params) or _effort_none(params.get("reasoning")):  # "none": as asked
        effort = reasoning_config(params["reasoning"]).get("effort")
        if effort:
            body["reasoning_effort"] = effort
    return body


def _check_audio_output(params: dict[str, Any]) -> None:
    """``modalities`` with "audio" (in a list or tuple, any case) needs ``audio`` (voice
    and format), as the API does."""
    modalities = params.get("modalities")
    if isinstance(modalities, list | tuple) and any(str(m).lower() == "audio" for m in modalities):
        audio = params.get("audio")
        if not isinstance(audio, dict) or not audio.get("voice") or not audio.get("format"):
            raise ParameterError(
                "modalities asks for audio: also pass "
                ".param('audio', {'voice': 'alloy', 'format': 'wav'})",
                code="E1001",
            )


def _effort_none(value: Any) -> bool:
    """The effort "none" (not ``False``): OpenAI-style wires send it as asked."""
    return value is not False and reasoning_off(value)
