"""OpenAI Responses API request encoding (``POST /v1/responses``; also DeepSeek's).

The conversation becomes ``input`` items: user/system messages (``input_text`` /
``input_image`` / ``input_file`` parts), the assistant's earlier turns (reasoning items,
its text, one ``function_call`` item per tool call) and ``function_call_output`` items
for tool results. Leading system messages become ``instructions``.

Reasoning round-trips statelessly: a thinking block whose signature holds the
``encrypted_content`` of a reasoning item is sent back as that reasoning item, and
``include: ["reasoning.encrypted_content"]`` is requested whenever reasoning is on and
``store`` is false (the manifest declares ``store`` with a default of false). A manifest
with ``dialect_options: {replay_reasoning: raw}`` (DeepSeek) gets its raw reasoning text
back instead.

Example::

    body = encode(ChatRequest(model="gpt-5", messages=[Message.user("Hi")]))
    body["input"]  # [{"role": "user", "content": "Hi"}]
"""

from __future__ import annotations

import json
from typing import Any

from ailib.dialects import ChatRequest, reasoning_config, reasoning_off, wants_reasoning
from ailib.dialects._blocks import REPLAY_BLOCKS, document_filename, refused, text_only
from ailib.types.messages import ContentBlock, Message, MessageRole
from ailib.types.tools import ToolCall, ToolDefinition

ENCRYPTED_REASONING = "reasoning.encrypted_content"
_REASONING_KEYS = ("effort", "summary", "generate_summary")


def _input_part(block: ContentBlock) -> dict[str, Any] | None:
    if block.type == "text":
        return {"type": "input_text", "text": block.text_value or ""}
    if block.type == "image":
        detail = block.detail or "auto"  # required by the API
        return {"type": "input_image", "image_url": block.data_url, "detail": detail}
    if block.type == "document":
        return _input_file(block)
    if block.type in REPLAY_BLOCKS:
        return None  # reasoning replays as reasoning items of assistant turns
    if block.is_audio_ref:  # a spoken answer from Chat Completions: its transcript
        return {"type": "input_text", "text": block.text_value or ""}
    raise refused("OpenAI Responses input", block)


def _input_file(block: ContentBlock) -> dict[str, Any]:
    """A document as an ``input_file`` part: inline ``file_data`` or a ``file_url``."""
    if block.data is not None:
        data_url = f"data:{block.media_type or 'application/pdf'};base64,{block.data}"
        return {"type": "input_file", "filename": document_filename(block), "file_data": data_url}
    if block.is_web_url:
        return {"type": "input_file", "file_url": block.url}
    raise refused("OpenAI Responses", block, hint="pass the bytes or an http(s) URL")


def _user_content(msg: Message) -> str | list[dict[str, Any]]:
    if isinstance(msg.content, str):
        return msg.content
    return [p for p in (_input_part(b) for b in msg.content) if p is not None]


def _arguments(call: ToolCall) -> str:
    """The call's JSON text: as received when there is one, else from ``arguments``."""
    if call.raw_arguments:
        return call.raw_arguments
    return json.dumps(call.arguments, ensure_ascii=False)


def _reasoning_item(block: ContentBlock, raw: bool) -> dict[str, Any] | None:
    """The reasoning input item that replays a thinking block, if it can be replayed.

    OpenAI (``raw`` false): the text is a summary the model never reads back; what counts
    is the ``encrypted_content`` kept as the block's signature, so unsigned blocks are
    not sent (with ``store`` false the server could not resolve them). DeepSeek (``raw``):
    the text is the model's own reasoning and goes back as ``reasoning_text`` content.
    """
    if block.type != "thinking" or not (block.signature or (raw and block.text_value)):
        return None
    item: dict[str, Any] = {"type": "reasoning", "summary": []}
    if block.text_value:
        part = {"type": "reasoning_text" if raw else "summary_text", "text": block.text_value}
        item["content" if raw else "summary"] = [part]
    if block.signature:
        item["encrypted_content"] = block.signature
    return item


def _assistant_items(msg: Message, raw: bool) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if isinstance(msg.content, str):
        text = msg.content
    else:
        items.extend(i for i in (_reasoning_item(b, raw) for b in msg.content) if i is not None)
        text = text_only("OpenAI Responses", msg)
    if text:
        items.append({"role": "assistant", "content": text})
    for call in msg.tool_calls:
        items.append(
            {
                "type": "function_call",
                "call_id": call.id,
                "name": call.function_name,
                "arguments": _arguments(call),
            }
        )
    return items


def encode_input(
    messages: list[Message], *, raw_reasoning: bool = False
) -> tuple[str | None, list[dict[str, Any]]]:
    """``instructions`` (the leading system messages) and the ``input`` items."""
    system: list[str] = []
    items: list[dict[str, Any]] = []
    for msg in messages:
        if msg.role is MessageRole.SYSTEM:
            text = text_only("OpenAI Responses", msg)
            if items:  # a later system message stays in place
                items.append({"role": "system", "content": text})
            else:
                system.append(text)
        elif msg.role is MessageRole.TOOL:
            output = text_only("OpenAI Responses", msg)
            items.append(
                {"type": "function_call_output", "call_id": msg.tool_call_id, "output": output}
            )
        elif msg.role is MessageRole.ASSISTANT:
            items.extend(_assistant_items(msg, raw_reasoning))
        else:
            items.append({"role": "user", "content": _user_content(msg)})
    return ("\n\n".join(system) if system else None), items


def _tool_choice(value: Any) -> Any:
    if isinstance(value, dict):
        fn = value.get("function")
        if value.get("type") == "function" and isinstance(fn, dict):  # Chat Completions shape
            return {"type": "function", "name": fn.get("name")}
        return value
    if value == "any":
        return "required"
    if value in ("auto", "none", "required"):
        return value
    return {"type": "function", "name": value}


def _text_format(value: dict[str, Any]) -> dict[str, Any]:
    """Chat Completions ``response_format`` → Responses ``text.format`` (flattened schema)."""
    if value.get("type") == "json_schema" and isinstance(value.get("json_schema"), dict):
        return {"type": "json_schema", **value["json_schema"]}
    return dict(value)


def _tool(tool: ToolDefinition) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "function", "name": tool.name}
    if tool.description:
        out["description"] = tool.description
    out["parameters"] = tool.parameters
    # Omitted, `strict` makes the Responses API normalize the schema into strict mode;
    # an explicit false keeps the best-effort behaviour of Chat Completions.
    out["strict"] = bool(tool.strict)
    return out


def _reasoning(value: Any) -> dict[str, Any]:
    cfg = reasoning_config(value)
    return {k: cfg[k] for k in _REASONING_KEYS if cfg.get(k) is not None}


def encode(req: ChatRequest) -> dict[str, Any]:
    params = req.params
    # DeepSeek keeps nothing server-side and returns raw reasoning text; OpenAI returns
    # summaries plus encrypted reasoning (the manifest's dialect_options say which).
    raw = req.options.get("replay_reasoning") == "raw"
    instructions, items = encode_input(req.messages, raw_reasoning=raw)
    body: dict[str, Any] = {"model": req.model, "input": items}
    if instructions is not None:
        body["instructions"] = instructions
    if req.tools:
        body["tools"] = [_tool(t) for t in req.tools]
    if "tool_choice" in params:
        body["tool_choice"] = _tool_choice(params["tool_choice"])
    if isinstance(params.get("response_format"), dict):
        body["text"] = {"format": _text_format(params["response_format"])}
    if wants_reasoning(params):
        body["reasoning"] = _reasoning(params["reasoning"])
        if params.get("store") is False:
            body["include"] = [ENCRYPTED_REASONING]
    elif params.get("reasoning") is not False and reasoning_off(params.get("reasoning")):
        body["reasoning"] = {"effort": "none"}  # the documented effort, sent as asked
    return body
