"""Cohere Chat v2 (``POST /v2/chat``) request encoding.

Wire facts this encoder follows (Cohere API reference, recorded exchanges):

* roles ``system``/``user``/``assistant``/``tool``; user content is a string or a list
  of ``text`` / ``image_url`` parts (no files: a document block raises before sending);
* an assistant turn that calls tools sends ``tool_calls`` (``arguments`` as a JSON
  string) and its text as ``tool_plan``; thinking goes back as ``thinking`` content
  parts;
* a tool result is a ``tool`` message with ``tool_call_id`` and ``content``;
* ``thinking: {type: enabled, token_budget}`` asks for reasoning (``disabled`` turns it
  off); ``tool_choice`` is ``REQUIRED`` or ``NONE``; structured output is
  ``response_format: {type: json_object, json_schema: <schema>}``;
* ``p``/``k``/``stop_sequences``/``max_tokens`` are placed by the manifest (``wire:``).

Example::

    encode(ChatRequest(model="command-a-03-2025", messages=[Message.user("Hi")]))
    # {"model": "command-a-03-2025", "messages": [{"role": "user", "content": "Hi"}],
    #  "stream": False}
"""

from __future__ import annotations

import json
from typing import Any

from ailib.dialects import ChatRequest, reasoning_config, reasoning_off, wants_reasoning
from ailib.dialects._blocks import REPLAY_BLOCKS, refused, text_only
from ailib.types.messages import ContentBlock, Message, MessageRole
from ailib.types.tools import ToolCall, ToolDefinition


def _part(block: ContentBlock) -> dict[str, Any] | None:
    if block.type == "text":
        return {"type": "text", "text": block.text_value or ""}
    if block.type == "image":
        image: dict[str, Any] = {"url": block.data_url}
        if block.detail:
            image["detail"] = block.detail
        return {"type": "image_url", "image_url": image}
    if block.type in REPLAY_BLOCKS:
        return None  # thinking goes back on assistant turns only
    if block.is_audio_ref:  # another provider's spoken answer: its transcript
        return {"type": "text", "text": block.text_value or ""}
    hint = ""
    if block.type == "document":
        hint = "Cohere chat takes text and images only; send the document's text as text"
    raise refused("Cohere chat", block, hint=hint)


def _user_content(msg: Message) -> str | list[dict[str, Any]]:
    if isinstance(msg.content, str):
        return msg.content
    parts = [p for p in (_part(b) for b in msg.content) if p is not None]
    if all(p["type"] == "text" for p in parts):
        return "".join(p["text"] for p in parts)
    return parts


def _arguments(call: ToolCall) -> str:
    """The call's JSON text: as received when there is one, else from ``arguments``."""
    if call.raw_arguments:
        return call.raw_arguments
    return json.dumps(call.arguments, ensure_ascii=False)


def _assistant(msg: Message) -> dict[str, Any]:
    entry: dict[str, Any] = {"role": "assistant"}
    thinking: list[dict[str, Any]] = []
    if not isinstance(msg.content, str):
        thinking = [
            {"type": "thinking", "thinking": b.text_value or ""}
            for b in msg.content
            if b.type == "thinking" and b.text_value
        ]
    text = text_only("Cohere chat", msg)
    if msg.tool_calls:
        if text:
            entry["tool_plan"] = text
        entry["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.function_name, "arguments": _arguments(call)},
            }
            for call in msg.tool_calls
        ]
        if thinking:
            entry["content"] = thinking
    elif thinking:
        entry["content"] = thinking + ([{"type": "text", "text": text}] if text else [])
    else:
        entry["content"] = text
    return entry


def encode_message(msg: Message) -> dict[str, Any]:
    if msg.role is MessageRole.ASSISTANT:
        return _assistant(msg)
    if msg.role is MessageRole.USER:
        return {"role": "user", "content": _user_content(msg)}
    text = text_only("Cohere chat", msg)
    if msg.role is MessageRole.TOOL:
        return {"role": "tool", "tool_call_id": msg.tool_call_id, "content": text}
    return {"role": msg.role.value, "content": text}


def _tool(tool: ToolDefinition) -> dict[str, Any]:
    fn: dict[str, Any] = {"name": tool.name, "parameters": tool.parameters}
    if tool.description:
        fn["description"] = tool.description
    return {"type": "function", "function": fn}


def _response_format(value: Any) -> Any:
    """OpenAI-style ``response_format`` → Cohere's (a Cohere-style one passes through)."""
    if not isinstance(value, dict):
        return value
    if value.get("type") == "json_schema":  # {"json_schema": {"name", "schema", ...}}
        schema = (value.get("json_schema") or {}).get("schema") or value.get("schema")
        return {"type": "json_object", **({"json_schema": schema} if schema else {})}
    if value.get("type") == "json_object" and "schema" in value:
        return {"type": "json_object", "json_schema": value["schema"]}
    return value


def encode(req: ChatRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": req.model,
        "messages": [encode_message(m) for m in req.messages],
        "stream": req.stream,
    }
    tools = list(req.tools)
    params = req.params
    choice = params.get("tool_choice")
    if isinstance(choice, dict):
        body["tool_choice"] = choice
    elif choice in ("none", "NONE"):
        body["tool_choice"] = "NONE"
    elif choice in ("required", "any", "REQUIRED"):
        body["tool_choice"] = "REQUIRED"
    elif choice not in (None, "auto"):
        # Cohere cannot name one function: require a call and offer only that one.
        body["tool_choice"] = "REQUIRED"
        tools = [t for t in tools if t.name == choice] or tools
    if tools:
        body["tools"] = [_tool(t) for t in tools]
    if "response_format" in params:
        body["response_format"] = _response_format(params["response_format"])
    if wants_reasoning(params):
        budget = int(reasoning_config(params["reasoning"])["budget_tokens"])
        body["thinking"] = {"type": "enabled", "token_budget": budget}
    elif reasoning_off(params.get("reasoning")):  # False or the effort "none"
        body["thinking"] = {"type": "disabled"}
    return body
