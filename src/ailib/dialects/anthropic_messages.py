"""Anthropic Messages request encoding."""

from __future__ import annotations

import base64
from typing import Any

from ailib.dialects import ChatRequest, reasoning_config, wants_reasoning
from ailib.dialects._blocks import REPLAY_BLOCKS, refused, text_only
from ailib.errors import ParameterError, ProtocolError
from ailib.types.messages import ContentBlock, Message, MessageRole


def _block(block: ContentBlock) -> dict[str, Any] | None:
    if block.type == "text":
        return {"type": "text", "text": block.text_value or ""}
    if block.type == "image":
        if block.url:
            return {"type": "image", "source": {"type": "url", "url": block.url}}
        source = {
            "type": "base64",
            "media_type": block.media_type or "image/png",
            "data": block.data,
        }
        return {"type": "image", "source": source}
    if block.type == "thinking":
        if not block.signature:  # another provider's reasoning text: Anthropic refuses it
            return None
        return {
            "type": "thinking",
            "thinking": block.text_value or "",
            "signature": block.signature or "",
        }
    if block.type == "redacted_thinking":
        return {"type": "redacted_thinking", "data": block.data}
    if block.type == "document":
        return _document(block)
    if block.is_audio_ref:  # another provider's spoken answer: its transcript
        return {"type": "text", "text": block.text_value} if block.text_value else None
    raise refused("Anthropic messages", block)


def _document(block: ContentBlock) -> dict[str, Any]:
    """A document block: PDF as base64, plain text as text, or a URL; the title kept."""
    src: dict[str, Any]
    if block.data is not None and (block.media_type or "").startswith("text/plain"):
        try:
            text = base64.b64decode(block.data, validate=True).decode("utf-8")
        except ValueError:
            raise ProtocolError("the text/plain document is not base64 of UTF-8 text") from None
        src = {"type": "text", "media_type": "text/plain", "data": text}
    elif block.data is not None:
        src = {"type": "base64", "media_type": block.media_type, "data": block.data}
    elif block.is_web_url:
        src = {"type": "url", "url": block.url}
    else:
        raise ProtocolError(f"Anthropic cannot fetch the document reference {block.url!r}")
    out: dict[str, Any] = {"type": "document", "source": src}
    if block.text_value:
        out["title"] = block.text_value
    return out


def _content(msg: Message) -> list[dict[str, Any]]:
    if isinstance(msg.content, str):
        return [{"type": "text", "text": msg.content}] if msg.content else []
    return [b for b in (_block(x) for x in msg.content) if b is not None]


def _tool_result_content(msg: Message) -> str | list[dict[str, Any]]:
    """A tool result's text, or its blocks when it holds images or documents (both allowed)."""
    if isinstance(msg.content, str) or all(
        b.type == "text" or b.type in REPLAY_BLOCKS for b in msg.content
    ):
        return msg.text
    blocks = [_block(b) for b in msg.content if b.type not in REPLAY_BLOCKS]
    return [b for b in blocks if b is not None]


def encode_messages(messages: list[Message]) -> tuple[str | None, list[dict[str, Any]]]:
    """System text and the alternating user/assistant turns (tool results merged into user)."""
    system: list[str] = []
    turns: list[dict[str, Any]] = []

    def add(role: str, blocks: list[dict[str, Any]]) -> None:
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})

    for msg in messages:
        if msg.role is MessageRole.SYSTEM:
            system.append(text_only("Anthropic", msg))
        elif msg.role is MessageRole.TOOL:
            result: dict[str, Any] = {"type": "tool_result", "tool_use_id": msg.tool_call_id}
            result["content"] = _tool_result_content(msg)
            add("user", [result])
        elif msg.role is MessageRole.ASSISTANT:
            blocks = _content(msg)
            for call in msg.tool_calls:
                use: dict[str, Any] = {"type": "tool_use", "id": call.id}
                use["name"] = call.function_name
                use["input"] = call.replay_arguments()
                blocks.append(use)
            add("assistant", blocks)
        else:
            add("user", _content(msg))
    for turn in turns:  # a plain single text block is sent as a string, like the docs show
        content = turn["content"]
        if len(content) == 1 and content[0]["type"] == "text":
            turn["content"] = content[0]["text"]
    return ("\n\n".join(system) if system else None), turns


def _tool_choice(value: Any) -> Any:
    if isinstance(value, dict):
        return value
    if value in ("auto", "none"):
        return {"type": value}
    if value in ("required", "any"):
        return {"type": "any"}
    return {"type": "tool", "name": value}


def encode(req: ChatRequest) -> dict[str, Any]:
    system, turns = encode_messages(req.messages)
    body: dict[str, Any] = {"model": req.model, "messages": turns}
    if system is not None:
        body["system"] = system
    if req.tools:
        body["tools"] = [
            {"name": t.name, "description": t.description, "input_schema": t.parameters}
            for t in req.tools
        ]
    params = req.params
    if "tool_choice" in params:
        body["tool_choice"] = _tool_choice(params["tool_choice"])
    if wants_reasoning(params):
        budget = int(reasoning_config(params["reasoning"])["budget_tokens"])
        max_tokens = params.get("max_tokens")
        if isinstance(max_tokens, int) and budget >= max_tokens:
            raise ParameterError(
                f"the thinking budget ({budget} tokens) must be below max_tokens ({max_tokens}); "
                "raise max_tokens or lower the reasoning effort",
                code="E1001",
                provider="anthropic",
            )
        body["thinking"] = {"type": "enabled", "budget_tokens": budget}
    return body
