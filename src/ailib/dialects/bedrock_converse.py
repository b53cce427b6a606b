"""AWS Bedrock Converse / ConverseStream request encoding.

The model id travels in the URL path (``/model/{model}/converse``), so the body holds
only ``messages``, ``system``, ``toolConfig`` and ``additionalModelRequestFields``;
``inferenceConfig`` (maxTokens, temperature, topP, stopSequences) is placed by the
manifest's ``wire:`` paths. Reasoning is model-specific on Bedrock and is sent in
``additionalModelRequestFields`` as the manifest declares per model family
(``dialect_options.model_families``: which ids belong, which constant fields, where the
effort or token budget goes); a new family is a manifest entry, not code.
"""

from __future__ import annotations

import copy
import fnmatch
import re
from typing import Any

from ailib.dialects import ChatRequest, reasoning_config, wants_reasoning
from ailib.dialects._blocks import REPLAY_BLOCKS, document_extension, text_only
from ailib.errors import ParameterError
from ailib.types.messages import ContentBlock, Message, MessageRole

#: Document formats Converse accepts (the ``format`` field's values).
DOCUMENT_FORMATS = ("pdf", "csv", "doc", "docx", "xls", "xlsx", "html", "txt", "md")
IMAGE_FORMATS = {"png": "png", "jpeg": "jpeg", "jpg": "jpeg", "gif": "gif", "webp": "webp"}
#: Room left for the answer when a family declares its budget inside max_tokens and
#: declares no ``answer_tokens`` of its own.
ANSWER_TOKENS = 4096


def _builtin_options() -> dict[str, Any]:
    """The built-in Bedrock manifest's ``dialect_options`` (families, profile prefixes)."""
    from ailib.protocol.loader import builtin_manifest

    options: dict[str, Any] = builtin_manifest("bedrock").get("dialect_options", {})
    return options


def _declared(options: dict[str, Any] | None, key: str) -> Any:
    """A declaration from the request's manifest, else from the built-in Bedrock manifest."""
    if options and key in options:
        return options[key]
    return _builtin_options().get(key, {} if key == "model_families" else [])


def _bare_name(model: str, options: dict[str, Any] | None) -> str:
    """The model id without its ARN path and inference profile prefix."""
    name = model.rsplit("/", 1)[-1]
    head, _, rest = name.partition(".")
    if rest and head in _declared(options, "inference_profile_prefixes"):
        return rest
    return name


def _specificity(pattern: str) -> int:
    return len(pattern.replace("*", "").replace("?", ""))


def _family_entry(model: str, options: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
    """(family name, its declaration) for a model id; ``("", {})`` when none matches.

    The family whose matching ``match`` pattern is longest (wildcards not counted) wins.
    """
    name = _bare_name(model, options)
    best: tuple[int, str, dict[str, Any]] = (-1, "", {})
    for family, entry in _declared(options, "model_families").items():
        for pattern in entry.get("match", ()):
            if fnmatch.fnmatchcase(name, pattern) and _specificity(pattern) > best[0]:
                best = (_specificity(pattern), family, entry)
    return best[1], best[2]


def model_family(model: str, options: dict[str, Any] | None = None) -> str:
    """The model family of a Bedrock model id, inference profile id or ARN.

    Families are declared in the manifest (``dialect_options.model_families``); ``options``
    are the request's dialect options (default: the built-in Bedrock manifest's). An id
    no family matches gives its provider segment.

    >>> model_family("us.anthropic.claude-sonnet-4-5-20250929-v1:0")
    'anthropic'
    >>> model_family("arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0")
    'amazon'
    """
    family, _ = _family_entry(model, options)
    return family or _bare_name(model, options).partition(".")[0]


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


def _put(fields: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``value`` at a dotted place in ``fields``, creating the mappings on the way."""
    *parents, last = dotted.split(".")
    node = fields
    for key in parents:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    node[last] = value


def _reasoning(req: ChatRequest, inference: dict[str, Any]) -> dict[str, Any]:
    """``additionalModelRequestFields`` asking the model to reason, as its family declares."""
    family, entry = _family_entry(req.model, req.options)
    how = entry.get("reasoning")
    if not how:
        known = f" (family {family!r} declares no reasoning)" if family else ""
        raise _error(
            f"ailib does not know how to ask Bedrock model {req.model!r} to reason{known}; "
            "pass .extra_body({'additionalModelRequestFields': {...}}) with the model's own "
            "fields, or declare its family under dialect_options.model_families in a "
            "bedrock manifest overlay"
        )
    if how.get("always"):
        return {}
    cfg = reasoning_config(req.params["reasoning"])
    fields: dict[str, Any] = copy.deepcopy(how.get("fields", {}))
    if "effort_at" in how:
        named = str(cfg.get("effort", "medium"))
        _put(fields, how["effort_at"], how.get("efforts", {}).get(named, named))
    if "budget_at" in how:
        budget = int(cfg["budget_tokens"])
        _put(fields, how["budget_at"], budget)
        if how.get("budget_within_max_tokens"):
            _budget_room(req, inference, budget, int(how.get("answer_tokens", ANSWER_TOKENS)))
    return fields


def _budget_room(req: ChatRequest, inference: dict[str, Any], budget: int, answer: int) -> None:
    """A budget counted inside max_tokens: below a given max_tokens, else room added."""
    max_tokens = req.params.get("max_tokens")
    if isinstance(max_tokens, int) and budget >= max_tokens:
        raise _error(
            f"the thinking budget ({budget} tokens) must be below max_tokens ({max_tokens}); "
            "raise max_tokens or lower the reasoning effort"
        )
    if max_tokens is None:
        inference["maxTokens"] = budget + answer


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
