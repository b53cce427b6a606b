"""Google Gemini generateContent request encoding."""

from __future__ import annotations

import json
from typing import Any

from ailib.dialects import ChatRequest, reasoning_config, reasoning_off, wants_reasoning
from ailib.dialects._blocks import text_only
from ailib.errors import ParameterError, ProtocolError
from ailib.types.messages import ContentBlock, Message, MessageRole

#: Audio media types under the names Gemini's documentation lists (others as they are).
GEMINI_AUDIO_TYPES = {"audio/mpeg": "audio/mp3"}


def _part(block: ContentBlock) -> dict[str, Any] | None:
    if block.type == "text":
        return {"text": block.text_value or ""}
    if block.type == "image":
        if block.url:
            mime = block.media_type or _guess_mime(block.url)
            return {"fileData": {"mimeType": mime, "fileUri": block.url}}
        return {"inlineData": {"mimeType": block.media_type or "image/png", "data": block.data}}
    if block.type == "document":
        if block.data is not None:
            return {"inlineData": {"mimeType": block.media_type, "data": block.data}}
        if block.is_web_url or str(block.url).startswith("gs://"):
            return {"fileData": {"mimeType": block.media_type, "fileUri": block.url}}
        raise ProtocolError(f"Gemini cannot fetch the document reference {block.url!r}")
    if block.type in ("thinking", "redacted_thinking"):
        return None  # Gemini replays thoughts through signatures, not text
    if block.is_audio_ref:  # a model's earlier spoken answer: its transcript
        return {"text": block.text_value} if block.text_value else None
    if block.type == "audio" and block.data is not None:
        media_type = block.media_type or "audio/wav"
        mime = GEMINI_AUDIO_TYPES.get(media_type, media_type)
        return {"inlineData": {"mimeType": mime, "data": block.data}}
    raise ProtocolError(f"Gemini cannot carry a {block.type!r} content block")


def _guess_mime(url: str) -> str:
    lower = url.lower().split("?")[0]
    for ext, mime in ((".png", "image/png"), (".webp", "image/webp"), (".gif", "image/gif")):
        if lower.endswith(ext):
            return mime
    return "image/jpeg"


def _parts(msg: Message) -> list[dict[str, Any]]:
    if isinstance(msg.content, str):
        return [{"text": msg.content}] if msg.content else []
    return [p for p in (_part(b) for b in msg.content) if p is not None]


def encode_messages(messages: list[Message]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    names: dict[str, str] = {}

    def add(role: str, parts: list[dict[str, Any]]) -> None:
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})

    for msg in messages:
        if msg.role is MessageRole.SYSTEM:
            system.extend(_parts(msg))
        elif msg.role is MessageRole.ASSISTANT:
            parts = _parts(msg)
            for call in msg.tool_calls:
                names[call.id] = call.function_name
                fc: dict[str, Any] = {"name": call.function_name, "args": call.replay_arguments()}
                part: dict[str, Any] = {"functionCall": fc}
                if call.extra.get("thought_signature"):
                    part["thoughtSignature"] = call.extra["thought_signature"]
                parts.append(part)
            add("model", parts)
        elif msg.role is MessageRole.TOOL:
            name = msg.name or names.get(msg.tool_call_id or "", msg.tool_call_id or "tool")
            text = text_only("Gemini", msg)
            try:
                result = json.loads(text)
            except json.JSONDecodeError:
                result = text
            response = result if isinstance(result, dict) else {"result": result}
            add("user", [{"functionResponse": {"name": name, "response": response}}])
        else:
            add("user", _parts(msg))
    return ({"parts": system} if system else None), contents


def _tool_choice(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    modes = {"auto": "AUTO", "none": "NONE", "required": "ANY", "any": "ANY"}
    if value in modes:
        return {"functionCallingConfig": {"mode": modes[value]}}
    return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [value]}}


def encode(req: ChatRequest) -> dict[str, Any]:
    system, contents = encode_messages(req.messages)
    body: dict[str, Any] = {"contents": contents}
    if system is not None:
        body["systemInstruction"] = system
    if req.tools:
        decls = []
        for tool in req.tools:
            decl: dict[str, Any] = {"name": tool.name, "parametersJsonSchema": tool.parameters}
            if tool.description:
                decl["description"] = tool.description
            decls.append(decl)
        body["tools"] = [{"functionDeclarations": decls}]
    params = req.params
    gen: dict[str, Any] = {}
    if "tool_choice" in params:
        body["toolConfig"] = _tool_choice(params["tool_choice"])
    if "response_format" in params:
        fmt = params["response_format"]
        if fmt.get("type") in ("json_object", "json_schema"):
            gen["responseMimeType"] = "application/json"
        schema = (fmt.get("json_schema") or {}).get("schema") or fmt.get("schema")
        if schema:
            gen["responseJsonSchema"] = schema
    if wants_reasoning(params):
        cfg = reasoning_config(params["reasoning"])
        thinking = {"thinkingBudget": int(cfg["budget_tokens"])}
        thinking["includeThoughts"] = bool(cfg.get("include_thoughts", True))
        gen["thinkingConfig"] = thinking
    elif params.get("reasoning") is not False and reasoning_off(params.get("reasoning")):
        gen["thinkingConfig"] = {"thinkingBudget": 0}  # the effort "none": thinking off
    _audio_output(params, gen)
    if gen:
        body["generationConfig"] = gen
    return body


def _audio_output(params: dict[str, Any], gen: dict[str, Any]) -> None:
    """``modalities`` / ``audio`` (OpenAI's names) as ``responseModalities`` and a voice.

    Gemini speech models answer with audio only, so a list holding "audio" asks for
    ``["AUDIO"]``; ``audio.voice`` names a prebuilt voice (``Kore``, ``Puck``...).
    """
    modalities = params.get("modalities")
    if isinstance(modalities, list | tuple):
        names = [str(m).upper() for m in modalities]
        gen["responseModalities"] = ["AUDIO"] if "AUDIO" in names else names
    audio = params.get("audio")
    if audio is None:
        return
    if not isinstance(audio, dict):
        raise ParameterError("audio must be a dict such as {'voice': 'Kore'}", code="E1001")
    voice = audio.get("voice")
    if voice is not None:
        prebuilt = {"prebuiltVoiceConfig": {"voiceName": str(voice)}}
        gen["speechConfig"] = {"voiceConfig": prebuilt}
