"""AI-Protocol upstream manifests (v1 and v2) turned into ailib manifests, in memory.

:func:`to_ailib` keeps the upstream's identity, endpoint, auth, parameters (keyed by wire
name with an ``alias`` in v2, a ``parameter_mappings`` table in v1), error rules, retry
policy, capabilities and metadata; it infers the wire ``dialect`` and takes the event maps
(and the error rules it does not override) from the built-in manifest of that dialect, so
responses decode like the built-in providers. Unknown fields pass through; the original
version, schema and streaming section stay under ``upstream``. The inheritance is resolved
here, not written as ``extends``: an upstream ``openai.yaml`` would extend itself, and a
sibling upstream ``openai.yaml`` would shadow the built-in base. The v1 -> v2 step and the
dialect inference live in :mod:`ailib.protocol.upgrade_v1` (importable from here too).

Example::

    data = parse_text(text, "v2/providers/groq.yaml")[0]
    if is_upstream(data):
        data = to_ailib(data, "v2/providers/groq.yaml")
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

from ailib.errors import STANDARD_CODES, ManifestError, ProtocolError
from ailib.protocol.upgrade_v1 import (
    _CAP_NAMES,
    NOT_PARAMETERS,
    PORTABLE,
    STANDARD,
    V2_SCHEMA,
    _auth_envs,
    _chat_path,
    _endpoint_path,
    _v2_auth,
    _v2_capabilities,
    infer_dialect,
    upgrade_v1_to_v2,
)

__all__ = [
    "NOT_PARAMETERS",
    "PORTABLE",
    "STANDARD",
    "V2_SCHEMA",
    "infer_dialect",
    "is_upstream",
    "to_ailib",
    "upgrade_v1_to_v2",
]

log = logging.getLogger("ailib")

AILIB_KEYS = ("dialect", "extends", "class_name", "response", "request_id_headers", "upstream")
AILIB_ERROR_KEYS = ("error_code_paths", "error_message_path", "by_error_message")
# fmt: off
# wire dialect -> the built-in provider whose event maps and error rules it inherits
DIALECT_BASES = {"openai_chat": "openai", "anthropic_messages": "anthropic",
                 "gemini_generate": "gemini", "cohere_v2": "cohere"}
_TYPES = {"float": "float", "double": "float", "number": "number", "integer": "integer",
          "int": "integer", "boolean": "boolean", "bool": "boolean", "string": "string",
          "object": "object", "array": "array", "string_or_array": "string_or_array"}
_SPEC_KEYS = ("range", "min", "max", "default", "required", "description", "enum")
# Gemini request fields that are not generation settings (those go to generationConfig.*)
GEMINI_TOP_LEVEL = {"contents", "tools", "toolConfig", "safetySettings", "systemInstruction",
                    "generationConfig", "cachedContent", "labels"}
# upstream normalized finish reasons -> ailib finish reasons
FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length",
          "tool_use": "tool_calls", "refusal": "content_filter", "pause_turn": "pause"}
# sections that must be mappings when present
_SECTIONS = ("endpoint", "auth", "parameters", "parameter_mappings", "error_classification",
             "streaming", "termination", "retry_policy", "rate_limit_headers", "endpoints")
# fmt: on
_SSE_FORMATS = {"sse", "anthropic_sse", "gemini_sse", "openai_sse"}
_FORMATS = _SSE_FORMATS | {"ndjson", "jsonl", "json_array", "aws_eventstream"}


def is_upstream(data: Any) -> bool:
    """True for AI-Protocol v1 manifests and for v2 ones without ailib's ``dialect``.

    A manifest that uses an ailib extension (``extends``, ``response``, a parameter
    ``wire`` or ``encoder``, ``error_code_paths``, ...) is ailib's own even without ``dialect``.
    """
    if not isinstance(data, dict) or any(key in data for key in AILIB_KEYS):
        return False
    params = data.get("parameters")
    specs = params.values() if isinstance(params, dict) else ()
    if any(isinstance(p, dict) and ("wire" in p or "encoder" in p) for p in specs):
        return False
    errors = data.get("error_classification")
    if isinstance(errors, dict) and any(k in errors for k in AILIB_ERROR_KEYS):
        return False
    version = str(data.get("protocol_version", ""))
    if version.startswith(("1", "2")):
        return True
    return "ai-protocol" in str(data.get("$schema", ""))


# ---- v2 -> ailib ----------------------------------------------------------------------


def _builtin_base(dialect: str) -> tuple[str | None, dict[str, Any]]:
    base_id = DIALECT_BASES.get(dialect)
    if base_id is None:
        return None, {}
    from ailib.protocol.loader import builtin_manifest

    try:
        return base_id, copy.deepcopy(builtin_manifest(base_id))
    except (ManifestError, ImportError, AttributeError):  # that built-in is not in this build
        return None, {}


def to_ailib(data: dict[str, Any], source: str) -> dict[str, Any]:
    """An upstream (v1 or v2) manifest as an ailib manifest; validate the result as usual."""
    for key in _SECTIONS:  # wrong is an error: say where, not an AttributeError later
        if data.get(key) is not None and not isinstance(data[key], dict):
            raise ManifestError(f"{key} must be a mapping", path=source, key=key)
    version = str(data.get("protocol_version", ""))
    v1 = version.startswith("1") or str(data.get("$schema", "")).endswith("/v1.json")
    up = upgrade_v1_to_v2(data) if v1 else copy.deepcopy(data)
    core = up.pop("core", None)  # some v2 manifests group the protocol core under "core:"
    if isinstance(core, dict):
        up = {**core, **up}
    check_capability_profile(up, source)
    dialect = infer_dialect(up)
    base_id, base = _builtin_base(dialect)
    pid = str(up.get("id", ""))
    out: dict[str, Any] = {k: v for k, v in up.items() if v is not None}
    out.pop("$schema", None)
    out.pop("auth", None)  # shadowed by endpoint.auth (warned about by the v1 upgrade)
    out.update(protocol_version="2.0", dialect=dialect, name=str(up.get("name") or pid))
    if pid:
        out["class_name"] = class_name(pid)
    if "version" in out:
        out["version"] = str(out["version"])
    out["endpoint"] = _endpoint(up, dialect, base)
    out["capabilities"] = _capabilities(up.get("capabilities"))
    out["parameters"] = _parameters(up.get("parameters") or {}, dialect, base)
    out["error_classification"] = _errors(up, base)
    if isinstance(up.get("retry_policy"), dict):
        out["retry_policy"] = {k: v for k, v in up["retry_policy"].items() if v is not None}
    headers = up.get("rate_limit_headers")
    if isinstance(headers, dict):
        out["rate_limit_headers"] = {k: v for k, v in headers.items() if isinstance(v, str)}
    out["termination"] = _termination(up.get("termination"), base)
    out["streaming"], out["response"] = _maps(up, base)
    if base.get("request_id_headers") and "request_id_headers" not in out:
        out["request_id_headers"] = base["request_id_headers"]
    out["upstream"] = {
        "protocol_version": version,
        "schema": data.get("$schema"),
        "source": source,
        "inherits": base_id,
        "streaming": up.get("streaming"),
    }
    return out


def class_name(provider_id: str) -> str:
    """``google_ios`` -> ``GoogleIos`` (the generated-class naming rule)."""
    name = "".join(part[:1].upper() + part[1:] for part in re.split(r"[-_.]+", provider_id))
    return name if name[:1].isalpha() else f"P{name}"


def _endpoint(up: dict[str, Any], dialect: str, base: dict[str, Any]) -> dict[str, Any]:
    endpoint = {k: v for k, v in (up.get("endpoint") or {}).items() if v is not None}
    base_ep = base.get("endpoint") or {}
    chat = _chat_path(up, dialect) or base_ep.get("chat")
    if chat:
        endpoint["chat"] = chat
    stream = _endpoint_path(up, "stream_chat") or _endpoint_path(up, "chat_stream")
    if stream is None and dialect == "gemini_generate" and chat:
        stream = chat.replace(":generateContent", ":streamGenerateContent")
    fmt = ((up.get("streaming") or {}).get("decoder") or {}).get("format", "sse")
    if stream and dialect == "gemini_generate" and fmt in _SSE_FORMATS and "alt=" not in stream:
        stream += ("&" if "?" in stream else "?") + "alt=sse"
    if stream and stream != chat:
        endpoint["chat_stream"] = stream
    endpoint["auth"] = _auth(up, base_ep.get("auth") or {}, dialect)
    return endpoint


def _auth(up: dict[str, Any], base_auth: dict[str, Any], dialect: str) -> dict[str, Any]:
    auth = _v2_auth(dict((up.get("endpoint") or {}).get("auth") or {}))
    kind = str(auth.get("type", "bearer"))
    out: dict[str, Any] = {k: v for k, v in auth.items() if k != "param_name" and v is not None}
    param = str(auth.get("param_name") or auth.get("param") or "key")
    if kind == "query_param" and dialect == "gemini_generate" and param == "key":
        # Gemini takes the key as a header too: a ?key= URL ends up in HTTP logs
        out.pop("param", None)
        kind = out["type"] = "custom_header"
        out["header"] = "x-goog-api-key"
    if kind == "bearer":
        out.setdefault("header", "Authorization")
        out.setdefault("prefix", "Bearer")
    elif kind == "query_param":
        out["param"] = param
    elif kind in ("none", "no_auth"):
        out["type"] = "none"
    else:
        out["type"] = kind if kind in ("custom_header", "header", "api_key") else "custom_header"
        out.setdefault("header", "x-api-key")
    pid = str(up.get("id", "provider"))
    conventional = f"{pid.upper().replace('-', '_')}_API_KEY"
    envs = _auth_envs(auth) or [conventional]
    out["token_env"] = envs[0] if len(envs) == 1 else envs
    out["token_env_fallbacks"] = [conventional] if conventional not in envs else []
    if "extra_headers" not in out and base_auth.get("extra_headers"):
        out["extra_headers"] = base_auth["extra_headers"]  # e.g. anthropic-version
    return out


def _capabilities(caps: Any) -> dict[str, Any]:
    if isinstance(caps, list) or (isinstance(caps, dict) and "required" not in caps):
        caps = _v2_capabilities(caps, True)
    out = dict(caps) if isinstance(caps, dict) else {}
    for key in ("required", "optional"):
        names = out.get(key) or []
        out[key] = list(dict.fromkeys(_CAP_NAMES.get(str(n), str(n)) for n in names))
    return out


def _parameters(params: dict[str, Any], dialect: str, base: dict[str, Any]) -> dict[str, Any]:
    """Upstream parameters (key = wire name, ``alias`` = portable) keyed by portable name."""
    base_params = base.get("parameters") or {}
    out: dict[str, Any] = {}
    for wire, spec in params.items():
        spec = spec if isinstance(spec, dict) else {}
        name = str(spec.get("alias") or PORTABLE.get(wire.rsplit(".", 1)[-1], wire))
        name = PORTABLE.get(name, name)
        if name in NOT_PARAMETERS:
            continue
        standard = STANDARD.get(name, {})
        fixed = "encoder" in standard or name == "stop"  # ailib's own value types
        kind = standard.get("type") if fixed else None
        kind = kind or _TYPES.get(str(spec.get("type"))) or standard.get("type")
        if kind is None:
            continue  # not a chat parameter ailib can type (e.g. an image API's prompt)
        mine: dict[str, Any] = {"type": kind}
        mine.update({k: spec[k] for k in _SPEC_KEYS if k in spec})
        if "encoder" in standard:
            mine["encoder"] = standard["encoder"]
            mine.pop("default", None)  # an encoder default would switch the feature on
        else:
            gemini = dialect == "gemini_generate" and "." not in wire
            mine["wire"] = (
                f"generationConfig.{wire}" if gemini and wire not in GEMINI_TOP_LEVEL else wire
            )
            if name == "stop" and dialect != "openai_chat":
                mine["encoder"] = "stop_list"
        merged = {**(base_params.get(name) or {}), **mine}
        if "encoder" in standard:
            merged.pop("wire", None)
        out[name] = merged
    return out


def _errors(up: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """Upstream error rules over the dialect's; standard names are codes of their own."""
    mine = {k: v for k, v in (up.get("error_classification") or {}).items() if v is not None}
    inherited = base.get("error_classification") or {}
    out = {**inherited, **mine}
    for key in ("by_http_status", "by_error_code"):
        out[key] = {**(inherited.get(key) or {}), **(mine.get(key) or {})}
        out[key] = {str(k): str(v) for k, v in out[key].items() if v is not None}
    for std in STANDARD_CODES.values():  # AI-Protocol: a standard name used as provider code
        if std.name != "unknown":
            out["by_error_code"].setdefault(std.name, std.name)
    mapping = ((up.get("features") or {}).get("response_mapping") or {}).get("error") or {}
    paths = [f"$.{mapping[k]}" for k in ("code_path", "type_path") if mapping.get(k)]
    if paths:
        rest = [p for p in inherited.get("error_code_paths", []) if p not in paths]
        out["error_code_paths"] = paths + rest
    if mapping.get("message_path"):
        out["error_message_path"] = f"$.{mapping['message_path']}"
    return out


def _termination(term: Any, base: dict[str, Any]) -> dict[str, Any]:
    out = dict(term) if isinstance(term, dict) else {}
    mapping = dict((base.get("termination") or {}).get("mapping") or {})
    for raw, reason in (out.get("mapping") or {}).items():
        if isinstance(reason, str):
            mapping[str(raw)] = FINISH.get(reason, reason)
    out["mapping"] = mapping
    return out


def _maps(up: dict[str, Any], base: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Streaming and response sections: the dialect's own, or the upstream's usable rules."""
    mine: dict[str, Any] = up["streaming"] if isinstance(up.get("streaming"), dict) else {}
    decoder = {k: v for k, v in (mine.get("decoder") or {}).items() if isinstance(v, str) and v}
    if decoder.get("format") not in _FORMATS:
        decoder.pop("format", None)
    if base:  # the dialect's framing (format, done signal) wins; upstream-only keys stay
        streaming = base.get("streaming") or {}
        streaming["decoder"] = {**decoder, **(streaming.get("decoder") or {})}
        flags = (up.get("capabilities") or {}).get("feature_flags") or {}
        request = streaming.get("request") or {}
        if flags.get("streaming_usage") is False and "stream_options" in request:
            streaming["request"] = {k: v for k, v in request.items() if k != "stream_options"}
        return streaming, base.get("response") or {}
    streaming = {"decoder": decoder, "request": {"stream": True}}
    streaming["event_map"] = _usable_rules(mine.get("event_map") or [])
    if isinstance(mine.get("candidate"), dict):
        streaming["candidate"] = mine["candidate"]
    return streaming, {}


def _usable_rules(rules: list[Any]) -> list[dict[str, Any]]:
    """Upstream event-map rules that ailib can interpret (others are dropped, with a note)."""
    from ailib.protocol.interpret import Rule

    out = []
    for rule in rules:
        keep = {k: rule[k] for k in ("match", "emit", "fields", "extract", "for_each") if k in rule}
        try:
            Rule.from_config(keep)
        except (ProtocolError, KeyError, TypeError) as exc:
            log.debug("ailib: upstream event-map rule dropped (%s): %r", exc, rule)
            continue
        out.append(keep)
    return out


# ---- capability_profile (AI-Protocol schemas/v2/capability-profile.json) -------------------

_PROFILE_PARTS = {"ios_v1": ("inputs", "outcomes", "systems"), "iospc_v1": ("process", "contract")}


def check_capability_profile(data: dict[str, Any], source: str) -> None:
    """Reject a ``capability_profile`` that breaks its staged IOS / IOSPC rules."""
    if "capability_profile" not in data:
        return
    profile = data["capability_profile"]

    def fail(message: str) -> ManifestError:
        return ManifestError(message, path=source, key="capability_profile")

    if not isinstance(profile, dict):
        raise fail("capability_profile must be object")
    phase = profile.get("phase", "ios_v1")
    allowed = {"phase", "future_reserved", *_PROFILE_PARTS["ios_v1"]}
    if phase == "iospc_v1":
        allowed |= set(_PROFILE_PARTS["iospc_v1"])
    elif phase != "ios_v1":
        raise fail(f"capability_profile.phase must be one of ios_v1, iospc_v1, got {phase!r}")
    extra = sorted(set(profile) - allowed)
    if extra:
        raise fail(f"must NOT have additional properties: {', '.join(extra)} (phase {phase})")
    if not any(part in profile for part in _PROFILE_PARTS["ios_v1"]):
        raise fail("must match at least one schema in anyOf: inputs, outcomes or systems")
    if phase == "iospc_v1" and not any(part in profile for part in _PROFILE_PARTS["iospc_v1"]):
        raise fail("iospc_v1 requires process or contract")
