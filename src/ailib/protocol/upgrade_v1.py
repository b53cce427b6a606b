"""AI-Protocol v1 manifests as v2 ones, and the upstream readings both versions share.

:func:`upgrade_v1_to_v2` turns a v1 manifest into the equivalent v2 one (endpoint and
auth, ``parameter_mappings`` as wire-keyed parameters with an ``alias``, capability flags
as ``required`` / ``optional`` lists); :func:`infer_dialect` tells which wire dialect an
upstream manifest speaks. :mod:`ailib.protocol.upgrade` builds the ailib manifest on top
of these, with the chat-path, auth and capability readings kept here.

Example::

    v2 = upgrade_v1_to_v2(v1_data)    # a new dict, protocol_version "2.0"
    infer_dialect(v2)                 # 'anthropic_messages', 'openai_chat'...
"""

from __future__ import annotations

import copy
import logging
from typing import Any

log = logging.getLogger("ailib")

V2_SCHEMA = (
    "https://raw.githubusercontent.com/ailib-official/ai-protocol/main/schemas/v2/provider.json"
)
# fmt: off
_HINTS = (  # substring of an adapter / strategy / family / payload format -> dialect
    ("anthropic", "anthropic_messages"), ("gemini", "gemini_generate"),
    ("google", "gemini_generate"), ("generate_content", "gemini_generate"),
    ("cohere", "cohere_v2"), ("openai", "openai_chat"), ("chat_completions", "openai_chat"),
    ("messages", "anthropic_messages"),
)
_HOSTS = (("anthropic.com", "anthropic_messages"), ("googleapis.com", "gemini_generate"),
          ("cohere.com", "cohere_v2"), ("cohere.ai", "cohere_v2"))
# upstream standard parameter name -> ailib portable name
PORTABLE = {"stop_sequences": "stop", "stopSequences": "stop", "reasoning_effort": "reasoning",
            "response_format_mode": "response_format", "random_seed": "seed",
            "max_output_tokens": "max_tokens", "max_completion_tokens": "max_tokens"}
# ailib portable parameters and their types (AI-Protocol v1 spec.yaml standard parameters)
STANDARD: dict[str, dict[str, Any]] = {
    **{name: {"type": "float"} for name in ("temperature", "top_p", "frequency_penalty",
                                            "presence_penalty")},
    **{name: {"type": "integer"} for name in ("max_tokens", "top_k", "seed", "n", "top_logprobs")},
    **{name: {"type": "object"} for name in ("metadata", "logit_bias")},
    "stop": {"type": "string_or_array"}, "user": {"type": "string"},
    "logprobs": {"type": "boolean"}, "parallel_tool_calls": {"type": "boolean"},
    "response_format": {"type": "object", "encoder": "response_format"},
    "reasoning": {"type": "reasoning", "encoder": "reasoning"},
    "tool_choice": {"type": "tool_choice", "encoder": "tool_choice"},
}
NOT_PARAMETERS = {"stream", "tools", "messages", "model", "system_message", "system"}
# v1 capability names -> v2 names; the v2 "required" set of a chat provider; feature flags
_CAP_NAMES = {"chat": "text", "tool_call": "tools", "function_calling": "tools"}
_CORE_CAPS = ("text", "streaming", "tools")
_FLAGS = {"structured_output": "structured_output", "reasoning": "extended_thinking",
          "parallel_tools": "parallel_tool_calls"}
# fmt: on
_CHAT_FAMILIES = ("chat", "messages", "generate", "complet", "openai")


def upgrade_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """An AI-Protocol v1 manifest as the equivalent v2 manifest (a new dict)."""
    out = copy.deepcopy(data)
    out["$schema"] = V2_SCHEMA
    out["protocol_version"] = "2.0"
    endpoint = out["endpoint"] = dict(out.get("endpoint") or {})
    chat = _chat_path(out, infer_dialect(out))
    if chat and "chat" not in endpoint:
        endpoint["chat"] = chat
    legacy = out.pop("auth", None)
    if isinstance(legacy, dict) and "auth" not in endpoint:
        endpoint["auth"] = _v2_auth(legacy)
    elif isinstance(legacy, dict) and _auth_envs(legacy) != _auth_envs(endpoint["auth"]):
        old, new = (", ".join(_auth_envs(a)) or "-" for a in (legacy, endpoint["auth"]))
        log.warning("ailib: %s: top-level auth (env %s) is shadowed by endpoint.auth (env %s) "
                    "and ignored", out.get("id"), old, new)  # fmt: skip
    caps = _v2_capabilities(out.get("capabilities"), _has_chat(out))
    if "text" not in caps["required"]:  # not a chat API: say what it is instead
        families = out.get("api_families")
        extra = [str(f) for f in families] if isinstance(families, list) else []
        caps["optional"] = list(dict.fromkeys([*caps["optional"], *extra]))
    out["capabilities"] = caps
    params = _v2_parameters(out.pop("parameter_mappings", None) or {}, out.get("parameters"))
    if params:
        out["parameters"] = params
    return out


def _endpoint_path(data: dict[str, Any], name: str) -> str | None:
    entries = data.get("endpoints")
    entry = entries.get(name) if isinstance(entries, dict) else None
    path = entry.get("path") if isinstance(entry, dict) else None
    if not isinstance(path, str) or not path.startswith("/"):
        return None
    return path.replace("{model_id}", "{model}")


def _dialect_of(hint: Any) -> str | None:
    for part, dialect in _HINTS:
        if isinstance(hint, str) and part in hint.lower():
            return dialect
    return None


def _chat_path(data: dict[str, Any], dialect: str) -> str | None:
    """The chat path: ``endpoint.chat``, else the ``endpoints`` entry that speaks ``dialect``."""
    if (data.get("endpoint") or {}).get("chat"):
        return str(data["endpoint"]["chat"])
    entries: dict[str, Any] = data["endpoints"] if isinstance(data.get("endpoints"), dict) else {}
    chat_like = sorted((name != "chat", name) for name in entries if "chat" in str(name))
    for _, name in chat_like:  # "chat" first, then e.g. "openai_chat"
        adapter = entries[name].get("adapter") if isinstance(entries[name], dict) else None
        if adapter is None or _dialect_of(adapter) == dialect:
            path = _endpoint_path(data, str(name))
            if path and "stream" not in str(name):
                return path
    return _endpoint_path(data, "chat")  # a path the dialect may not speak; still the declared one


def _auth_envs(auth: dict[str, Any]) -> list[str]:
    env = auth.get("token_env") or auth.get("key_env") or []
    return [env] if isinstance(env, str) else [str(e) for e in env]


def _v2_auth(auth: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in auth.items() if k not in ("key_env", "header_name")}
    if "key_env" in auth and "token_env" not in auth:
        out["token_env"] = auth["key_env"]
    if "header_name" in auth:
        out["header"] = auth["header_name"]
        if auth.get("type") == "api_key":
            out["type"] = "custom_header"
    return out


def _has_chat(data: dict[str, Any]) -> bool:
    if (data.get("endpoint") or {}).get("chat") or _endpoint_path(data, "chat"):
        return True
    families = data.get("api_families")
    if not families:
        return True  # a v1 manifest that names no API family describes a chat API
    names = list(families) if isinstance(families, (list, dict)) else [families]
    return any(part in str(name) for name in names for part in _CHAT_FAMILIES)


def _v2_capabilities(caps: Any, chat: bool) -> dict[str, Any]:
    """v1 capabilities (boolean flags or a list) as v2 ``required``/``optional``/flags."""
    if isinstance(caps, dict) and "required" in caps:
        return dict(caps)
    names = [k for k, v in caps.items() if v is True] if isinstance(caps, dict) else caps or []
    names = [_CAP_NAMES.get(str(n), str(n)) for n in names]
    if chat and "text" not in names:
        names.insert(0, "text")
    required = [c for c in _CORE_CAPS if c in names]
    optional = [c for c in dict.fromkeys(names) if c not in required]
    flags = {flag: True for cap, flag in _FLAGS.items() if cap in names}
    out: dict[str, Any] = {"required": required, "optional": optional}
    return {**out, "feature_flags": flags} if flags else out


def _v2_parameters(mappings: dict[str, Any], typed: Any) -> dict[str, Any]:
    """v1 ``parameter_mappings`` (standard -> wire) and typed ``parameters``, keyed by wire."""
    typed = dict(typed) if isinstance(typed, dict) else {}
    out: dict[str, Any] = {}
    for standard, wire in mappings.items():
        if not isinstance(wire, str) or standard in NOT_PARAMETERS:
            continue
        spec = dict(typed.pop(standard, None) or {})
        if "type" not in spec:
            known = STANDARD.get(PORTABLE.get(standard, standard))
            if known is not None:
                spec["type"] = known["type"]
        if wire != standard:
            spec["alias"] = standard
        out[wire] = spec
    out.update(typed)
    return out


def infer_dialect(data: dict[str, Any]) -> str:
    """The wire dialect an upstream manifest speaks (default: OpenAI Chat Completions)."""
    chat = (data.get("endpoints") or {}).get("chat")
    decoder = (data.get("streaming") or {}).get("decoder") or {}
    families = data.get("api_families")
    if isinstance(families, dict):
        chat_family = families.get("chat") or {}
        families = [chat_family.get("request_format", "")] if isinstance(chat_family, dict) else []
    hints: list[Any] = [
        chat.get("adapter") if isinstance(chat, dict) else None,
        decoder.get("strategy"),
        decoder.get("format"),
        *(families if isinstance(families, list) else [families]),
        data.get("payload_format"),
    ]
    for hint in hints:
        found = _dialect_of(hint)
        if found is not None:
            return found
    base_url = str((data.get("endpoint") or {}).get("base_url", "")).lower()
    for host, dialect in _HOSTS:
        if host in base_url:
            return dialect
    return "openai_chat"
