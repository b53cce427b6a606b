"""GenAI semantic conventions: attribute names and what a call contributes to them.

Names come from the ``opentelemetry-semantic-conventions`` package where it has them
(installed with ``ailib[otel]``); the literal here is used only when an older release
lacks one (a test checks every name against the package). No OpenTelemetry import is
needed to compute attributes: they are plain dicts.

Example::

    request_attributes(ctx)   # {"gen_ai.operation.name": "chat", "gen_ai.request.model": ...}
"""

from __future__ import annotations

import importlib
import json
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ailib.runtime.redact import mask_known

if TYPE_CHECKING:
    from ailib.runtime.context import CallContext
    from ailib.types.response import ChatResponse


def _module(name: str) -> Any:
    """A module of the semantic-conventions package, or None without the otel extra."""
    try:
        return importlib.import_module("opentelemetry.semconv." + name)
    except ImportError:  # pragma: no cover - without the otel extra
        return None


_gen_ai = _module("_incubating.attributes.gen_ai_attributes")
_gen_ai_metrics = _module("_incubating.metrics.gen_ai_metrics")
_error = _module("attributes.error_attributes")
_server = _module("attributes.server_attributes")


def _name(module: Any, constant: str, literal: str) -> str:
    return str(getattr(module, constant, literal))


OPERATION_NAME = _name(_gen_ai, "GEN_AI_OPERATION_NAME", "gen_ai.operation.name")
PROVIDER_NAME = _name(_gen_ai, "GEN_AI_PROVIDER_NAME", "gen_ai.provider.name")
REQUEST_MODEL = _name(_gen_ai, "GEN_AI_REQUEST_MODEL", "gen_ai.request.model")
REQUEST_TEMPERATURE = _name(_gen_ai, "GEN_AI_REQUEST_TEMPERATURE", "gen_ai.request.temperature")
REQUEST_MAX_TOKENS = _name(_gen_ai, "GEN_AI_REQUEST_MAX_TOKENS", "gen_ai.request.max_tokens")
REQUEST_TOP_P = _name(_gen_ai, "GEN_AI_REQUEST_TOP_P", "gen_ai.request.top_p")
REQUEST_TOP_K = _name(_gen_ai, "GEN_AI_REQUEST_TOP_K", "gen_ai.request.top_k")
REQUEST_STOP = _name(_gen_ai, "GEN_AI_REQUEST_STOP_SEQUENCES", "gen_ai.request.stop_sequences")
REQUEST_SEED = _name(_gen_ai, "GEN_AI_REQUEST_SEED", "gen_ai.request.seed")
REQUEST_FREQUENCY_PENALTY = _name(
    _gen_ai, "GEN_AI_REQUEST_FREQUENCY_PENALTY", "gen_ai.request.frequency_penalty"
)
REQUEST_PRESENCE_PENALTY = _name(
    _gen_ai, "GEN_AI_REQUEST_PRESENCE_PENALTY", "gen_ai.request.presence_penalty"
)
REQUEST_CHOICE_COUNT = _name(_gen_ai, "GEN_AI_REQUEST_CHOICE_COUNT", "gen_ai.request.choice.count")
REQUEST_STREAM = _name(_gen_ai, "GEN_AI_REQUEST_STREAM", "gen_ai.request.stream")
RESPONSE_MODEL = _name(_gen_ai, "GEN_AI_RESPONSE_MODEL", "gen_ai.response.model")
RESPONSE_ID = _name(_gen_ai, "GEN_AI_RESPONSE_ID", "gen_ai.response.id")
RESPONSE_FINISH_REASONS = _name(
    _gen_ai, "GEN_AI_RESPONSE_FINISH_REASONS", "gen_ai.response.finish_reasons"
)
RESPONSE_TTFC = _name(
    _gen_ai, "GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK", "gen_ai.response.time_to_first_chunk"
)
USAGE_INPUT_TOKENS = _name(_gen_ai, "GEN_AI_USAGE_INPUT_TOKENS", "gen_ai.usage.input_tokens")
USAGE_OUTPUT_TOKENS = _name(_gen_ai, "GEN_AI_USAGE_OUTPUT_TOKENS", "gen_ai.usage.output_tokens")
USAGE_CACHE_READ = _name(
    _gen_ai, "GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS", "gen_ai.usage.cache_read.input_tokens"
)
USAGE_REASONING = _name(
    _gen_ai, "GEN_AI_USAGE_REASONING_OUTPUT_TOKENS", "gen_ai.usage.reasoning.output_tokens"
)
TOKEN_TYPE = _name(_gen_ai, "GEN_AI_TOKEN_TYPE", "gen_ai.token.type")
INPUT_MESSAGES = _name(_gen_ai, "GEN_AI_INPUT_MESSAGES", "gen_ai.input.messages")
OUTPUT_MESSAGES = _name(_gen_ai, "GEN_AI_OUTPUT_MESSAGES", "gen_ai.output.messages")
SYSTEM_INSTRUCTIONS = _name(_gen_ai, "GEN_AI_SYSTEM_INSTRUCTIONS", "gen_ai.system_instructions")
SERVER_ADDRESS = _name(_server, "SERVER_ADDRESS", "server.address")
SERVER_PORT = _name(_server, "SERVER_PORT", "server.port")
ERROR_TYPE = _name(_error, "ERROR_TYPE", "error.type")

METRIC_OPERATION_DURATION = _name(
    _gen_ai_metrics, "GEN_AI_CLIENT_OPERATION_DURATION", "gen_ai.client.operation.duration"
)
METRIC_TOKEN_USAGE = _name(
    _gen_ai_metrics, "GEN_AI_CLIENT_TOKEN_USAGE", "gen_ai.client.token.usage"
)
METRIC_TIME_TO_FIRST_CHUNK = _name(
    _gen_ai_metrics,
    "GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK",
    "gen_ai.client.operation.time_to_first_chunk",
)
METRIC_TIME_PER_OUTPUT_CHUNK = _name(
    _gen_ai_metrics,
    "GEN_AI_CLIENT_OPERATION_TIME_PER_OUTPUT_CHUNK",
    "gen_ai.client.operation.time_per_output_chunk",
)

#: the conventions' recommended bucket boundaries
DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48,
                    40.96, 81.92)  # fmt: skip
TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304,
                 16777216, 67108864)  # fmt: skip

#: ailib provider ids whose well-known ``gen_ai.provider.name`` differs
PROVIDER_NAMES = {
    "gemini": "gcp.gemini",
    "google": "gcp.gen_ai",
    "bedrock": "aws.bedrock",
    "mistral": "mistral_ai",
    "xai": "x_ai",
    "azure-openai": "azure.ai.openai",
    "openai-responses": "openai",
    "deepseek-responses": "deepseek",
}

#: request parameters and the attribute each is recorded as
_PARAMS = (
    ("temperature", REQUEST_TEMPERATURE),
    ("max_tokens", REQUEST_MAX_TOKENS),
    ("top_p", REQUEST_TOP_P),
    ("top_k", REQUEST_TOP_K),
    ("seed", REQUEST_SEED),
    ("frequency_penalty", REQUEST_FREQUENCY_PENALTY),
    ("presence_penalty", REQUEST_PRESENCE_PENALTY),
    ("n", REQUEST_CHOICE_COUNT),
)


def provider_name(provider_id: str) -> str:
    """The ``gen_ai.provider.name`` of an ailib provider id."""
    return PROVIDER_NAMES.get(provider_id, provider_id)


@lru_cache(maxsize=256)
def server_of(base_url: str) -> tuple[str, int | None]:
    """``(server.address, server.port)`` of a base URL (the port from the scheme if unsaid)."""
    try:
        parts = urlsplit(base_url)
        port = parts.port
    except ValueError:
        return "", None
    if port is None:
        port = {"https": 443, "http": 80}.get(parts.scheme)
    return parts.hostname or "", port


def operation_of(ctx: CallContext) -> str:
    """``gen_ai.operation.name``: chat and stream calls are both ``chat``; a post or get
    is its endpoint (``embeddings``, ``count_tokens``, ``list_models``)."""
    if ctx.operation in ("chat", "stream"):
        return "chat"
    return str(ctx.metadata.get("endpoint") or ctx.operation)


def target_attributes(ctx: CallContext) -> dict[str, Any]:
    """Provider, model and server of the context's current target."""
    target = ctx.target
    address, port = server_of(str(getattr(target.engine, "base_url", "")))
    attrs: dict[str, Any] = {
        OPERATION_NAME: operation_of(ctx),
        PROVIDER_NAME: provider_name(target.provider),
        REQUEST_MODEL: target.model,
    }
    if address:
        attrs[SERVER_ADDRESS] = address
    if port is not None:
        attrs[SERVER_PORT] = port
    return attrs


def request_attributes(ctx: CallContext) -> dict[str, Any]:
    """The attributes known before the call: target, server and request parameters."""
    attrs = target_attributes(ctx)
    request = ctx.request
    if request is not None:
        params = request.params
        for name, key in _PARAMS:
            value = params.get(name)
            if isinstance(value, int | float) and not isinstance(value, bool):
                attrs[key] = value
        stop = params.get("stop")
        if isinstance(stop, str):
            attrs[REQUEST_STOP] = [stop]
        elif isinstance(stop, list) and all(isinstance(s, str) for s in stop):
            attrs[REQUEST_STOP] = list(stop)
    if ctx.operation == "stream":
        attrs[REQUEST_STREAM] = True
    return attrs


def response_attributes(response: ChatResponse) -> dict[str, Any]:
    """The attributes a response adds: model, id, finish reasons and usage."""
    attrs: dict[str, Any] = {}
    if response.model:
        attrs[RESPONSE_MODEL] = response.model
    if response.id:
        attrs[RESPONSE_ID] = response.id
    reasons = [c.finish_reason for c in response.candidates if c.finish_reason]
    if not reasons and response.finish_reason:
        reasons = [response.finish_reason]
    if reasons:
        attrs[RESPONSE_FINISH_REASONS] = reasons
    usage = response.usage
    if usage.input_tokens or usage.output_tokens:
        attrs[USAGE_INPUT_TOKENS] = usage.input_tokens
        attrs[USAGE_OUTPUT_TOKENS] = usage.output_tokens
    if usage.cached_tokens:
        attrs[USAGE_CACHE_READ] = usage.cached_tokens
    if usage.reasoning_tokens:
        attrs[USAGE_REASONING] = usage.reasoning_tokens
    return attrs


def error_type(error: BaseException) -> str:
    """``error.type``: the standard code of an ailib error, else the exception's class."""
    code = getattr(error, "code", None)
    if isinstance(code, str) and code.startswith("E"):
        return code
    return type(error).__qualname__


# ---- content (only when the user opts in) --------------------------------------------------


def _parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "content": content}] if content else []
    parts: list[dict[str, Any]] = []
    for block in content:
        if block.type == "text":
            parts.append({"type": "text", "content": block.text_value or ""})
        else:
            parts.append({"type": block.type})  # media bytes never go into a trace
    return parts


def content_attributes(ctx: CallContext) -> dict[str, str]:
    """The prompt as ``gen_ai.input.messages`` / ``gen_ai.system_instructions`` (JSON)."""
    request = ctx.request
    if request is None:
        return {}
    system: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    for message in request.messages:
        role = message.role.value
        parts = _parts(message.content)
        for call in message.tool_calls:
            parts.append(
                {"type": "tool_call", "id": call.id, "name": call.name, "arguments": call.arguments}
            )
        if message.tool_call_id:
            parts = [{"type": "tool_call_response", "id": message.tool_call_id, "response": parts}]
        if role == "system":
            system.extend(parts)
        else:
            messages.append({"role": role, "parts": parts})
    out = {INPUT_MESSAGES: _json(messages)}
    if system:
        out[SYSTEM_INSTRUCTIONS] = _json(system)
    return out


def output_attributes(response: ChatResponse) -> dict[str, str]:
    """The answer as ``gen_ai.output.messages`` (JSON)."""
    parts: list[dict[str, Any]] = []
    if response.content:
        parts.append({"type": "text", "content": response.content})
    for call in response.tool_calls:
        parts.append(
            {"type": "tool_call", "id": call.id, "name": call.name, "arguments": call.arguments}
        )
    message = {"role": "assistant", "parts": parts, "finish_reason": response.finish_reason or ""}
    return {OUTPUT_MESSAGES: _json([message])}


def _json(value: Any) -> str:
    return mask_known(json.dumps(value, ensure_ascii=False, default=str))
