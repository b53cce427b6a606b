"""Wire dialect operators: turn a unified chat request into a provider request body.

A provider that speaks a known dialect needs only a manifest; the dialect is named by
the manifest's ``dialect`` key. Response decoding is not here: it is driven by the
manifest's event maps (see ``ailib.protocol.interpret`` and the generated modules).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import attrs

from ailib.errors import ProtocolError
from ailib.types.messages import Message
from ailib.types.tools import ToolDefinition


@attrs.frozen
class ChatRequest:
    """A provider-neutral chat request (model id without the provider prefix)."""

    model: str
    messages: list[Message]
    params: dict[str, Any] = attrs.field(factory=dict)
    tools: list[ToolDefinition] = attrs.field(factory=list)
    stream: bool = False
    extra_body: dict[str, Any] = attrs.field(factory=dict)
    # the manifest's ``dialect_options``: provider variations of one wire dialect
    options: dict[str, Any] = attrs.field(factory=dict)


Encoder = Callable[[ChatRequest], dict[str, Any]]

#: OpenAI's documented reasoning efforts, with the token budget each means on wires that
#: take a budget (Anthropic, Gemini, Cohere, Bedrock Claude); "none" turns reasoning off
EFFORT_BUDGETS = {
    "none": 0,
    "minimal": 512,
    "low": 1024,
    "medium": 4096,
    "high": 16384,
    "xhigh": 32768,
}


def wants_reasoning(params: dict[str, Any]) -> bool:
    """Whether the request asks for reasoning (``False`` or the effort "none" means not)."""
    value = params.get("reasoning")
    return value not in (None, False) and not reasoning_off(value)


def reasoning_off(value: Any) -> bool:
    """Whether ``reasoning`` explicitly turns reasoning off: ``False`` or effort "none"."""
    if isinstance(value, dict):
        value = value.get("effort")
    return value is False or value == "none"


def reasoning_config(value: Any) -> dict[str, Any]:
    """Normalize ``.reasoning(...)``: an effort string, a token budget or a dict."""
    if isinstance(value, str):
        return {"effort": value, "budget_tokens": EFFORT_BUDGETS.get(value, 4096)}
    if isinstance(value, int) and not isinstance(value, bool):
        return {"budget_tokens": value, "effort": _effort_for(value)}
    if isinstance(value, dict):
        cfg = dict(value)
        if "effort" not in cfg and "budget_tokens" in cfg:
            cfg["effort"] = _effort_for(int(cfg["budget_tokens"]))
        cfg.setdefault("budget_tokens", EFFORT_BUDGETS.get(str(cfg.get("effort")), 4096))
        return cfg
    if value is True:
        return {"effort": "medium", "budget_tokens": EFFORT_BUDGETS["medium"]}
    raise ProtocolError(f"reasoning must be an effort string, a token budget or a dict: {value!r}")


def _effort_for(budget: int) -> str:
    for effort, limit in (("low", 2048), ("medium", 8192)):
        if budget <= limit:
            return effort
    return "high"


# Wire dialect name -> module (each defines ``encode(req: ChatRequest) -> dict``).
DIALECT_MODULES = {
    "openai_chat": "ailib.dialects.openai_chat",
    "anthropic_messages": "ailib.dialects.anthropic_messages",
    "gemini_generate": "ailib.dialects.gemini_generate",
    "ollama_chat": "ailib.dialects.ollama_chat",
    "cohere_v2": "ailib.dialects.cohere_v2",
    "bedrock_converse": "ailib.dialects.bedrock_converse",
    "openai_responses": "ailib.dialects.openai_responses",
}
_ENCODERS: dict[str, Encoder] = {}


def get_dialect(name: str) -> Encoder:
    """The request encoder of a wire dialect (its module is imported on first use)."""
    encoder = _ENCODERS.get(name)
    if encoder is None:
        module = DIALECT_MODULES.get(name)
        if module is None:
            known = ", ".join(sorted(DIALECT_MODULES))
            raise ProtocolError(f"unknown wire dialect {name!r}; known: {known}")
        encoder = _ENCODERS[name] = importlib.import_module(module).encode
    return encoder
