"""AWS Bedrock Converse / ConverseStream request encoding.

The model id travels in the URL path (``/model/{model}/converse``), so the body holds
only ``messages``, ``system``, ``toolConfig`` and ``additionalModelRequestFields``;
``inferenceConfig`` (maxTokens, temperature, topP, stopSequences) is placed by the
manifest's ``wire:`` paths. Reasoning is model-specific on Bedrock and is sent in
``additionalModelRequestFields``: Anthropic Claude ``thinking`` with a token budget,
Amazon Nova ``reasoningConfig`` with an effort, OpenAI gpt-oss ``reasoning_effort``.
"""

from __future__ import annotations

import re
from typing import Any

from ailib.dialects import ChatRequest, reasoning_config, wants_reasoning
from ailib.dialects._blocks import REPLAY_BLOCKS, document_extension, text_only
from ailib.errors import ParameterError
from ailib.types.messages import ContentBlock, Message, MessageRole

#: Document formats Converse accepts (the ``format`` field's values).
DOCUMENT_FORMATS = ("pdf", "csv", "doc", "docx", "xls", "xlsx", "html", "txt", "md")
IMAGE_FORMATS = {"png": "png", "jpeg": "jpeg", "jpg": "jpeg", "gif": "gif", "webp": "webp"}
#: Room left for the answer when a thinking budget is set and max_tokens is not.
ANSWER_TOKENS = 4096
_GEO_PREFIXES = ("us", "eu", "apac", "global", "us-gov", "jp", "au", "ca", "apne")


def model_family(model: str) -> str:
    """The model provider of a Bedrock model id, inference profile id or ARN.

    >>> model_family("us.anthropic.claude-sonnet-4-5-20250929-v1:0")
    'anthropic'
    >>> model_family("arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0")
    'amazon'
    """
    name = model.rsplit("/", 1)[-1]
    head, _, rest = name.partition(".")
    if head in _GEO_PREFIXES and rest:
        head = rest.partition(".")[0]
    if head == name and "claude" in name:
        return "anthropic"
    return head


def _error(message: str) -> ParameterError:
    return ParameterError(message, code="E1001", provider="bedrock")


def _image(block: ContentBlock) -> dict[str, Any]:
    if block.url:
        if not block.url.startswith("s3://"):
            raise _error(
                "Bedrock Converse takes images as bytes or s3:// locations, not URLs; "
                "pass ContentBlock.image_base64(...)"
            )
        suffix = block.url.rsplit(".", 1)[-1].lower()
        fmt = IMAGE_FORMATS.get((block.media_type or "").rpartition("/")[2] or suffix)
        source: dict[str, Any] = {"s3Location": {"uri": block.url}}
    else:
        fmt = IMAGE_FORMATS.get((block.media_type or "image/png").rpartition("/")[2].lower())
        source = {"bytes": block.data or ""}
    if fmt is None:
        raise _error(f"Bedrock Converse images must be png, jpeg, gif or webp: {block.media_type}")
    return {"image": {"format": fmt, "source": source}}


def _block(block: ContentBlock) -> dict[str, Any] | None:
    if block.type == "text":
        return {"text": block.text_value} if block.text_value else None
    if block.type == "image":
        return _image(block)
    if block.type == "thinking":
        text: dict[str, Any] = {"text": block.text_value or ""}
        if block.signature:
            text["signature"] = block.signature
        return {"reasoningContent": {"reasoningText": text}}
    if block.type == "redacted_thinking":
        return {"reasoningContent": {"redactedContent": block.data or ""}}
    if block.type == "document":
        return _document(block)
    if block.is_audio_ref:  # another provider's spoken answer: its transcript
        return {"text": block.text_value} if block.text_value else None
    raise _error(f"Bedrock Converse cannot carry a {block.type!r} content block")


def _document(block: ContentBlock) -> dict[str, Any]:
    """A ``document`` block: bytes or an s3:// location, a format and a valid name."""
    fmt = document_extension(block.media_type)
    if fmt not in DOCUMENT_FORMATS:
        raise _error(
            f"Bedrock Converse documents must be one of {', '.join(DOCUMENT_FORMATS)}, "
            f"not {block.media_type!r}"
        )
    if block.data is not None:
        source: dict[str, Any] = {"bytes": block.data}
    elif str(block.url).startswith("s3://"):
        source = {"s3Location": {"uri": block.url}}
    else:
        raise _error(
            f"Bedrock Converse cannot fetch the document reference {block.url!r}: pass the "
            "bytes with ContentBlock.document(data, media_type) or an s3:// location"
        )
    return {"document": {"format": fmt, "name": document_name(block), "source": source}}


def document_name(block: ContentBlock) -> str:
    """A Converse document name from the block's title.

    Converse allows only letters, digits, single spaces, hyphens, parentheses and square
    brackets (1 to 200 characters): a file extension is dropped, other characters become
    hyphens.

    >>> document_name(ContentBlock.document(b"x", title="Q3 report_final.pdf"))
    'Q3 report-final'
    """
    title = block.text_value or "document"
    stem, dot, ext = title.rpartition(".")
    if dot and stem and ext.lower() in (*DOCUMENT_FORMATS, "htm", "markdown"):
        title = stem
    name = re.sub(r"[^\w\s()\[\]-]|_", "-", title, flags=re.ASCII)
    name = re.sub(r"\s+", " ", name).strip()[:200].strip()
    return name or "document"


def _unique_names(turns: list[dict[str, Any]]) -> None:
    """Number repeated document names (Converse rejects duplicates in one request)."""
    seen: dict[str, int] = {}
    for turn in turns:
        for item in turn["content"]:
            doc = item.get("document") if isinstance(item, dict) else None
            if doc is None:
                continue
            count = seen[doc["name"]] = seen.get(doc["name"], 0) + 1
            if count > 1:
                doc["name"] = f"{doc['name'][:194]} ({count})"


def _content(msg: Message) -> list[dict[str, Any]]:
    if isinstance(msg.content, str):
        return [{"text": msg.content}] if msg.content else []
    return [b for b in (_block(x) for x in msg.content) if b is not None]


def _tool_result_content(msg: Message) -> list[dict[str, Any]]:
    """A toolResult's content: its text, images and documents (Converse takes all three)."""
    if isinstance(msg.content, str):
        return [{"text": msg.content}]
    blocks = [_block(b) for b in msg.content if b.type not in REPLAY_BLOCKS]
    return [b for b in blocks if b is not None] or [{"text": ""}]


def encode_messages(messages: list[Message]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(system blocks, alternating user/assistant turns); tool results go in user turns."""
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []

    def add(role: str, blocks: list[dict[str, Any]]) -> None:
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})

    for msg in messages:
        if msg.role is MessageRole.SYSTEM:  # system blocks are text only on Converse
            text = text_only("Bedrock Converse", msg)
            system.extend([{"text": text}] if text else [])
        elif msg.role is MessageRole.TOOL:
            result = {"toolUseId": msg.tool_call_id or "", "content": _tool_result_content(msg)}
            add("user", [{"toolResult": result}])
        elif msg.role is MessageRole.ASSISTANT:
            blocks = _content(msg)
            for call in msg.tool_calls:
                use = {
                    "toolUseId": call.id,
                    "name": call.function_name,
                    "input": call.replay_arguments(),
                }
                blocks.append({"toolUse": use})
            add("assistant", blocks)
        else:
            add("user", _content(msg))
    _unique_names(turns)
    return system, turns


def _tool_choice(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if value == "auto":
        return {"auto": {}}
    if value in ("required", "any"):
        return {"any": {}}
    if value == "none":
        raise _error(
            "Bedrock Converse has no 'none' tool choice; leave the tools out of the request"
        )
    return {"tool": {"name": value}}


def _reasoning(req: ChatRequest, inference: dict[str, Any]) -> dict[str, Any]:
    """``additionalModelRequestFields`` asking the model to reason."""
    cfg = reasoning_config(req.params["reasoning"])
    named = str(cfg.get("effort", "medium"))
    effort = {"minimal": "low", "xhigh": "high"}.get(named, named)  # Nova, gpt-oss: low..high
    family = model_family(req.model)
    if family == "anthropic":
        budget = int(cfg["budget_tokens"])
        max_tokens = req.params.get("max_tokens")
        if isinstance(max_tokens, int) and budget >= max_tokens:
            raise _error(
                f"the thinking budget ({budget} tokens) must be below max_tokens ({max_tokens}); "
                "raise max_tokens or lower the reasoning effort"
            )
        if max_tokens is None:
            inference["maxTokens"] = budget + ANSWER_TOKENS
        return {"thinking": {"type": "enabled", "budget_tokens": budget}}
    if family == "amazon":
        return {"reasoningConfig": {"type": "enabled", "maxReasoningEffort": effort}}
    if family == "openai":
        return {"reasoning_effort": effort}
    if family == "deepseek":
        return {}  # DeepSeek-R1 always reasons
    raise _error(
        f"ailib does not know how to ask Bedrock model {req.model!r} to reason; pass "
        ".extra_body({'additionalModelRequestFields': {...}}) with the model's own fields"
    )


def encode(req: ChatRequest) -> dict[str, Any]:
    system, turns = encode_messages(req.messages)
    body: dict[str, Any] = {"messages": turns}
    if system:
        body["system"] = system
    params = req.params
    if req.tools:
        tools = []
        for tool in req.tools:
            spec: dict[str, Any] = {"name": tool.name}
            if tool.description:
                spec["description"] = tool.description
            spec["inputSchema"] = {"json": tool.parameters}
            tools.append({"toolSpec": spec})
        body["toolConfig"] = {"tools": tools}
        if "tool_choice" in params:
            body["toolConfig"]["toolChoice"] = _tool_choice(params["tool_choice"])
    elif "tool_choice" in params:
        raise _error("Bedrock Converse needs tools in the request to apply a tool choice")
    if wants_reasoning(params):
        inference: dict[str, Any] = {}
        fields = _reasoning(req, inference)
        if fields:
            body["additionalModelRequestFields"] = fields
        if inference:
            body["inferenceConfig"] = inference
    return body
