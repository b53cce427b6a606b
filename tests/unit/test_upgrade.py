"""AI-Protocol upstream manifests (v1, v2) become ailib manifests (ailib.protocol.upgrade).

The upstream data is read from ``$AI_PROTOCOL_DIR`` (default ``<repo>/../shared/ai-protocol``);
the tests that need it are skipped when it is absent. Every upstream provider manifest must
load, upgrade, validate and serve a chat through the interpreted runtime against the mock
server, sync and async.
"""

from __future__ import annotations

import copy
import logging
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from ailib import AiClient, AsyncAiClient
from ailib.dialects import ChatRequest
from ailib.errors import CapabilityError, ManifestError
from ailib.protocol import upgrade
from ailib.protocol.loader import builtin_manifest, load_manifest_file, parse_text, validate
from ailib.protocol.manifest import Manifest, resolve_extends
from ailib.protocol.upgrade import (
    class_name,
    infer_dialect,
    is_upstream,
    to_ailib,
    upgrade_v1_to_v2,
)
from ailib.runtime._async_engine import AsyncEngine
from ailib.runtime._sync_engine import SyncEngine
from ailib.runtime.request import prepare
from ailib.runtime.spec import ProviderSpec
from ailib.testing import MockServer, routes
from ailib.testing.routes import Route
from ailib.types.messages import Message

ROOT = Path(__file__).resolve().parents[2]
UPSTREAM = Path(os.environ.get("AI_PROTOCOL_DIR") or ROOT.parent / "shared" / "ai-protocol")
MANIFESTS = sorted(UPSTREAM.glob("v1/providers/*.yaml")) + sorted(
    UPSTREAM.glob("v2/providers/*.yaml")
)
needs_upstream = pytest.mark.skipif(
    not MANIFESTS, reason=f"no AI-Protocol manifests under {UPSTREAM} (set AI_PROTOCOL_DIR)"
)
MOCK_ROUTE = {  # wire dialect -> the mock server's route family
    "openai_chat": "openai",
    "anthropic_messages": "anthropic",
    "gemini_generate": "gemini",
    "cohere_v2": "cohere",
}

V1: dict[str, Any] = {
    "$schema": "https://raw.githubusercontent.com/ailib-official/ai-protocol/main/schemas/v1.json",
    "id": "acme-ai",
    "protocol_version": "1.5",
    "name": "Acme",
    "endpoint": {"base_url": "https://api.acme.example/v1", "timeout_ms": 10000},
    "auth": {"type": "bearer", "token_env": "ACME_TOKEN"},
    "endpoints": {"chat": {"path": "/chat/completions", "method": "POST", "adapter": "openai"}},
    "parameter_mappings": {
        "temperature": "temperature",
        "max_tokens": "max_new_tokens",
        "stop_sequences": "stop",
        "tool_choice": "tool_choice",
        "reasoning_effort": "reasoning_effort",
        "stream": "stream",
        "tools": "tools",
        "prompt": "input.prompt",
    },
    "capabilities": {"streaming": True, "tools": True, "vision": False, "reasoning": True},
    "termination": {"source_field": "finish_reason", "mapping": {"stop": "end_turn"}},
    "rate_limit_headers": {"requests_limit": "x-ratelimit-limit-requests", "retry_after": None},
    "streaming": {
        "decoder": {"format": "sse", "done_signal": "[DONE]"},
        "event_map": [{"match": "$.x", "emit": "FinalCandidate", "fields": {"a": "$.x"}}],
    },
    "future_field": {"kept": True},
}


def _v2_gemini() -> dict[str, Any]:
    return {
        "id": "gem",
        "protocol_version": "2.0",
        "endpoint": {
            "base_url": "https://generativelanguage.googleapis.com/v1beta",
            "chat": "/models/{model}:generateContent",
            "auth": {"type": "query_param", "param_name": "key", "token_env": "GEM_KEY"},
        },
        "capabilities": {"required": ["text"], "optional": ["streaming"]},
        "parameters": {
            "temperature": {"type": "float", "range": [0, 2], "default": 1},
            "maxOutputTokens": {"type": "integer", "min": 1, "alias": "max_tokens"},
            "safetySettings": {"type": "array", "alias": "safety_settings"},
        },
        "streaming": {"decoder": {"format": "gemini_sse", "strategy": "gemini_generate"}},
        "termination": {"mapping": {"STOP": "end_turn", "MAX_TOKENS": "max_tokens"}},
    }


def _finish(data: dict[str, Any], source: str = "<test>") -> dict[str, Any]:
    """What the loader does after the upgrade: resolve ``extends`` (none left), validate."""
    out = resolve_extends(data, builtin_manifest)
    validate(out, None, source)
    return out


def _spec(data: dict[str, Any]) -> ProviderSpec:
    return ProviderSpec.interpreted(Manifest.from_dict(_finish(to_ailib(data, "<test>"))))


# ---- detection ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"id": "x", "protocol_version": "1.5", "endpoint": {}}, True),
        ({"id": "x", "protocol_version": "2.0", "endpoint": {}}, True),
        ({"$schema": "https://x/ai-protocol/main/schemas/v1.json", "id": "x"}, True),
        ({"id": "x", "protocol_version": "2.0", "dialect": "openai_chat"}, False),
        ({"id": "x", "protocol_version": "2.0", "extends": "openai"}, False),
        ({"endpoint": {"base_url": "http://x/v1"}}, False),  # an ailib overlay
        # ailib manifests that leave dialect at its default still use ailib extensions
        ({"id": "x", "protocol_version": "2.0", "parameters": {"m": {"wire": "x"}}}, False),
        ({"id": "x", "protocol_version": "2.0", "parameters": {"r": {"encoder": "x"}}}, False),
        ({"id": "x", "protocol_version": "2.0", "response": {}}, False),
        (
            {
                "id": "x",
                "protocol_version": "2.0",
                "error_classification": {"error_code_paths": []},
            },
            False,
        ),
        ({"name": "no version at all"}, False),
        ([1, 2], False),
    ],
)
def test_is_upstream(data: Any, expected: bool) -> None:
    assert is_upstream(data) is expected


@pytest.mark.parametrize("path", sorted((ROOT / "manifests/providers").glob("*.yaml")))
def test_ailib_manifests_are_not_upstream(path: Path) -> None:
    assert not is_upstream(parse_text(path.read_text(encoding="utf-8"), str(path))[0])


def test_upgraded_manifest_is_not_upstream_any_more() -> None:
    assert not is_upstream(to_ailib(V1, "<test>"))  # the loader may run the hook twice


@pytest.mark.parametrize(
    ("data", "dialect"),
    [
        ({"endpoints": {"chat": {"adapter": "anthropic"}}}, "anthropic_messages"),
        ({"streaming": {"decoder": {"strategy": "gemini_generate"}}}, "gemini_generate"),
        ({"streaming": {"decoder": {"format": "anthropic_sse"}}}, "anthropic_messages"),
        ({"streaming": {"decoder": {"strategy": "cohere_v2"}}}, "cohere_v2"),
        ({"api_families": {"chat": {"request_format": "anthropic"}}}, "anthropic_messages"),
        ({"api_families": ["generate_content"]}, "gemini_generate"),
        (
            {"endpoint": {"base_url": "https://generativelanguage.googleapis.com/v1"}},
            "gemini_generate",
        ),
        ({"endpoint": {"base_url": "https://api.cohere.com/v2"}}, "cohere_v2"),
        ({"endpoints": {"chat": {"adapter": "ai21_chat"}}, "payload_format": "x"}, "openai_chat"),
        ({}, "openai_chat"),
    ],
)
def test_infer_dialect(data: dict[str, Any], dialect: str) -> None:
    assert infer_dialect(data) == dialect


# ---- v1 -> v2 -------------------------------------------------------------------------------


def test_v1_to_v2_moves_auth_capabilities_and_parameters() -> None:
    v2 = upgrade_v1_to_v2(V1)
    assert V1["protocol_version"] == "1.5" and "auth" in V1  # the input is left alone
    assert v2["protocol_version"] == "2.0" and "auth" not in v2
    assert v2["endpoint"]["chat"] == "/chat/completions"
    assert v2["endpoint"]["auth"] == {"type": "bearer", "token_env": "ACME_TOKEN"}
    assert v2["capabilities"] == {
        "required": ["text", "streaming", "tools"],
        "optional": ["reasoning"],
        "feature_flags": {"extended_thinking": True},
    }
    params = v2["parameters"]
    assert "parameter_mappings" not in v2 and "stream" not in params and "tools" not in params
    assert params["max_new_tokens"] == {"type": "integer", "alias": "max_tokens"}
    assert params["stop"] == {"type": "string_or_array", "alias": "stop_sequences"}
    assert params["input.prompt"] == {"alias": "prompt"}  # not a typed chat parameter
    assert v2["future_field"] == {"kept": True}


@pytest.mark.parametrize(
    ("caps", "required", "optional"),
    [
        (["chat", "streaming", "tools", "reasoning", "mcp_client"], ["text", "streaming", "tools"],
         ["reasoning", "mcp_client"]),
        ({"streaming": False, "tools": True, "vision": True}, ["text", "tools"], ["vision"]),
        ({"required": ["text"], "optional": ["vision"]}, ["text"], ["vision"]),
    ],
)  # fmt: skip
def test_v1_capabilities(caps: Any, required: list[str], optional: list[str]) -> None:
    v2 = upgrade_v1_to_v2({**V1, "capabilities": caps})
    assert v2["capabilities"]["required"] == required
    assert v2["capabilities"]["optional"] == optional


def test_v1_without_a_chat_api_does_not_claim_text() -> None:
    data = {**V1, "endpoints": {"rerank": {"path": "/rerank"}}, "api_families": ["rerank"]}
    assert "text" not in upgrade_v1_to_v2(data)["capabilities"]["required"]


def test_v1_api_key_auth_and_shadowed_legacy_auth(caplog: pytest.LogCaptureFixture) -> None:
    legacy = {"type": "api_key", "key_env": "LEGACY_KEY", "header_name": "X-Key"}
    v2 = upgrade_v1_to_v2({**V1, "auth": legacy})
    assert v2["endpoint"]["auth"] == {"type": "custom_header", "token_env": "LEGACY_KEY",
                                      "header": "X-Key"}  # fmt: skip
    endpoint = {**V1["endpoint"], "auth": {"type": "bearer", "token_env": "NEW_TOKEN"}}
    with caplog.at_level(logging.WARNING, logger="ailib"):
        v2 = upgrade_v1_to_v2({**V1, "endpoint": endpoint, "auth": legacy})
    assert v2["endpoint"]["auth"] == {"type": "bearer", "token_env": "NEW_TOKEN"}
    assert "LEGACY_KEY" in caplog.text and "shadowed" in caplog.text


# ---- v2 -> ailib ----------------------------------------------------------------------------


def test_to_ailib_openai_compatible_v1() -> None:
    data = _finish(to_ailib(V1, "acme.yaml"))
    assert data["dialect"] == "openai_chat" and "extends" not in data
    assert data["class_name"] == "AcmeAi" and data["protocol_version"] == "2.0"
    assert data["upstream"]["protocol_version"] == "1.5"
    assert data["upstream"]["inherits"] == "openai" and data["upstream"]["source"] == "acme.yaml"
    auth = data["endpoint"]["auth"]
    assert auth["token_env"] == "ACME_TOKEN" and auth["token_env_fallbacks"] == ["ACME_AI_API_KEY"]
    params = data["parameters"]
    assert sorted(params) == ["max_tokens", "reasoning", "stop", "temperature", "tool_choice"]
    assert params["max_tokens"]["wire"] == "max_new_tokens"  # not the base's max_completion_tokens
    assert params["reasoning"] == {"type": "reasoning", "encoder": "reasoning"}
    assert params["stop"] == {"type": "string_or_array", "wire": "stop"}
    assert data["termination"]["mapping"]["stop"] == "stop"  # upstream end_turn -> ailib stop
    assert data["rate_limit_headers"] == {"requests_limit": "x-ratelimit-limit-requests"}
    # event maps are the built-in dialect's; the upstream's stay for reference
    openai = builtin_manifest("openai")
    assert data["streaming"]["event_map"] == openai["streaming"]["event_map"]
    assert data["response"] == openai["response"]
    assert data["upstream"]["streaming"] == V1["streaming"]
    assert data["future_field"] == {"kept": True}


def test_to_ailib_does_not_touch_its_input_or_the_builtin() -> None:
    before, builtin = copy.deepcopy(V1), copy.deepcopy(builtin_manifest("openai"))
    to_ailib(V1, "<test>")["streaming"]["event_map"].clear()
    assert before == V1 and builtin_manifest("openai") == builtin


def test_to_ailib_gemini_parameters_go_to_generation_config() -> None:
    data = _finish(to_ailib(_v2_gemini(), "<test>"))
    assert data["dialect"] == "gemini_generate"
    params = data["parameters"]
    assert params["max_tokens"]["wire"] == "generationConfig.maxOutputTokens"
    assert params["temperature"]["wire"] == "generationConfig.temperature"
    assert params["safety_settings"]["wire"] == "safetySettings"  # a top-level Gemini field
    assert data["endpoint"]["chat_stream"] == "/models/{model}:streamGenerateContent?alt=sse"
    # the upstream ?key= becomes Gemini's header: a key in the URL lands in HTTP logs
    assert data["endpoint"]["auth"]["type"] == "custom_header"
    assert data["endpoint"]["auth"]["header"] == "x-goog-api-key"
    assert "param" not in data["endpoint"]["auth"]
    assert data["termination"]["mapping"]["MAX_TOKENS"] == "length"
    spec = ProviderSpec.interpreted(Manifest.from_dict(data))
    req = ChatRequest("gemini-2.5-flash", [Message.user("hi")], {"max_tokens": 7}, stream=True)
    prepared = prepare(spec, req, base_url="http://h/v1beta", query={"key": "k"})
    assert prepared.payload["generationConfig"] == {"maxOutputTokens": 7}
    assert prepared.url == (
        "http://h/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&key=k"
    )


def test_to_ailib_anthropic_keeps_the_dialect_defaults() -> None:
    data = {
        "id": "claude-proxy",
        "protocol_version": "2.0",
        "endpoint": {"base_url": "https://api.anthropic.com/v1", "chat": "/messages"},
        "capabilities": {"required": ["text"]},
        "parameters": {
            "max_tokens": {"type": "integer", "required": True},
            "stop_sequences": {"type": "array"},
        },
    }
    out = _finish(to_ailib(data, "<test>"))
    assert out["dialect"] == "anthropic_messages"
    assert out["parameters"]["max_tokens"]["default"] == 4096  # from the built-in anthropic
    assert out["parameters"]["stop"]["encoder"] == "stop_list"
    assert out["endpoint"]["auth"]["extra_headers"][0]["name"] == "anthropic-version"
    spec = ProviderSpec.interpreted(Manifest.from_dict(out))
    req = ChatRequest("claude", [Message.user("hi")], {"stop": "END"})
    body = prepare(spec, req, base_url="http://h/v1", query={}).payload
    assert body["max_tokens"] == 4096 and body["stop_sequences"] == ["END"]


def test_to_ailib_only_the_upstream_parameters_are_declared() -> None:
    spec = _spec({"id": "tiny", "protocol_version": "2.0",
                  "endpoint": {"base_url": "http://h/v1"}})  # fmt: skip
    assert spec.manifest.declared_parameters == {}
    assert spec.manifest.capabilities == set()
    with pytest.raises(ManifestError):  # no base URL: nothing is inherited for the endpoint
        _finish(to_ailib({"id": "broken", "protocol_version": "2.0", "endpoint": {}}, "<t>"))


def test_to_ailib_errors_inherit_the_dialect_and_know_standard_names() -> None:
    data = {**_v2_gemini(), "error_classification": {"by_http_status": {"429": "quota_exhausted"}}}
    errors = _finish(to_ailib(data, "<test>"))["error_classification"]
    assert errors["by_http_status"]["429"] == "quota_exhausted"  # the upstream's wins
    assert errors["by_http_status"]["503"] == "overloaded"  # the dialect's fills in
    assert errors["by_error_code"]["RESOURCE_EXHAUSTED"] == "rate_limited"
    assert errors["by_error_code"]["overloaded"] == "overloaded"
    mapping = {"features": {"response_mapping": {"error": {"code_path": "err.kind",
                                                           "message_path": "err.text"}}}}  # fmt: skip
    errors = _finish(to_ailib({**V1, **mapping}, "<test>"))["error_classification"]
    assert errors["error_code_paths"][0] == "$.err.kind"
    assert errors["error_message_path"] == "$.err.text"


def test_to_ailib_flattens_core_and_drops_stream_options_without_streaming_usage() -> None:
    data = {
        "id": "ringed",
        "protocol_version": "2.0",
        "core": {"endpoint": {"base_url": "http://h/v1"}},
        "capabilities": {"required": ["text"], "feature_flags": {"streaming_usage": False}},
    }
    out = _finish(to_ailib(data, "<test>"))
    assert out["endpoint"]["base_url"] == "http://h/v1" and "core" not in out
    assert out["streaming"]["request"] == {"stream": True}


def test_to_ailib_without_a_builtin_base_keeps_usable_upstream_rules(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(upgrade, "DIALECT_BASES", {})
    rules = [
        {"match": "$.choices[0].delta.content", "emit": "PartialContentDelta",
         "extract": {"content": "$.choices[0].delta.content"}},
        {"match": "$.x", "emit": "FinalCandidate", "fields": {"a": "$.x"}},  # unknown emit
    ]  # fmt: skip
    data = {**V1, "streaming": {"decoder": {"format": "sse"}, "event_map": rules}}
    out = _finish(to_ailib(data, "<test>"))
    assert out["upstream"]["inherits"] is None
    assert out["streaming"]["event_map"] == rules[:1]
    spec = ProviderSpec.interpreted(Manifest.from_dict(out))
    assert spec.map_stream({"choices": [{"delta": {"content": "Hi"}}]}) == [
        ("content", 0, {"content": "Hi"})
    ]


@pytest.mark.parametrize(
    ("profile", "message"),
    [
        ("ios_v1", "capability_profile must be object"),
        ({"phase": "ios_v1", "inputs": {}, "process": {}}, "must NOT have additional properties"),
        ({"phase": "ios_v1", "future_reserved": []}, "must match at least one schema in anyOf"),
        ({"phase": "iospc_v1", "inputs": {}}, "iospc_v1 requires process or contract"),
        ({"phase": "ios_v9", "inputs": {}}, "phase must be one of"),
    ],
)
def test_capability_profile_rules(profile: Any, message: str) -> None:
    data = {**_v2_gemini(), "capability_profile": profile}
    with pytest.raises(ManifestError, match=message) as info:
        to_ailib(data, "gem.yaml")
    assert info.value.key == "capability_profile" and info.value.path == "gem.yaml"


def test_capability_profile_valid_phases() -> None:
    for profile in (
        {"phase": "ios_v1", "outcomes": {"types": ["structured_json"]}},
        {"phase": "iospc_v1", "systems": {}, "contract": {"sla_tier": "standard"}},
    ):
        assert _finish(to_ailib({**_v2_gemini(), "capability_profile": profile}, "<t>"))


@pytest.mark.parametrize(
    ("pid", "name"),
    [("google_ios", "GoogleIos"), ("azure-openai", "AzureOpenai"), ("01ai", "P01ai")],
)
def test_class_name(pid: str, name: str) -> None:
    assert class_name(pid) == name


# ---- every upstream manifest: upgrade, validate, chat -----------------------------------------


def _load(path: Path) -> Manifest:
    """The upgrade path the brief names, and the loader's own hook, must agree."""
    data = parse_text(path.read_text(encoding="utf-8"), str(path))[0]
    assert is_upstream(data)
    manual = _finish(to_ailib(data, str(path)), str(path))
    loaded = load_manifest_file(path)
    assert loaded.data == manual
    return loaded


def _chat_request(stream: bool) -> ChatRequest:
    return ChatRequest("mock-model", [Message.user("hi")], stream=stream)


@pytest.fixture
def serve_path() -> Iterator[Callable[[str], None]]:
    """Let the mock answer an OpenAI-compatible chat at a vendor's own path."""
    added: list[Route] = []

    def serve(path: str) -> None:
        if not path.endswith("/chat/completions"):  # the mock's built-in OpenAI route
            added.append(Route("POST", f"^{re.escape(path)}$", dialect="openai"))
            routes.ROUTES.insert(0, added[-1])

    yield serve
    for route in added:
        routes.ROUTES.remove(route)


def _refuses_chat(manifest: Manifest) -> bool:
    """A provider that declares capabilities but not ``text`` (e.g. rerank only)."""
    return bool(manifest.capabilities) and "text" not in manifest.capabilities


@needs_upstream
@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: f"{p.parent.parent.name}/{p.stem}")
def test_upstream_manifest_chats_sync(
    path: Path, mock_server: MockServer, serve_path: Callable[[str], None]
) -> None:
    manifest = _load(path)
    spec = ProviderSpec.interpreted(manifest)
    base_url = mock_server.base_url(MOCK_ROUTE[manifest.dialect])
    with SyncEngine(api_key="k", base_url=base_url, spec=spec) as engine:
        if _refuses_chat(manifest):
            with pytest.raises(CapabilityError):
                engine.execute(_chat_request(False))
            assert mock_server.requests == []
            return
        if manifest.dialect == "openai_chat":
            serve_path(urlsplit(engine.prepare(_chat_request(False)).url).path)
        resp = engine.execute(_chat_request(False))
        assert (resp.content, resp.finish_reason) == ("echo: hi", "stop")
        if "streaming" in manifest.capabilities:
            with engine.stream(_chat_request(True)) as stream:
                text = "".join(e.as_content_delta.content for e in stream if e.is_content_delta)
            assert text == "echo: hi"
            assert stream.final_response().finish_reason == "stop"


@needs_upstream
@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: f"{p.parent.parent.name}/{p.stem}")
async def test_upstream_manifest_chats_async(
    path: Path, mock_server: MockServer, serve_path: Callable[[str], None]
) -> None:
    manifest = _load(path)
    spec = ProviderSpec.interpreted(manifest)
    base_url = mock_server.base_url(MOCK_ROUTE[manifest.dialect])
    async with AsyncEngine(api_key="k", base_url=base_url, spec=spec) as engine:
        if _refuses_chat(manifest):
            with pytest.raises(CapabilityError):
                await engine.execute(_chat_request(False))
            assert mock_server.requests == []
            return
        if manifest.dialect == "openai_chat":
            serve_path(urlsplit(engine.prepare(_chat_request(False)).url).path)
        resp = await engine.execute(_chat_request(False))
        assert (resp.content, resp.finish_reason) == ("echo: hi", "stop")
        if "streaming" in manifest.capabilities:
            async with engine.stream(_chat_request(True)) as stream:
                parts = [e.as_content_delta.content async for e in stream if e.is_content_delta]
            assert "".join(parts) == "echo: hi"
            assert (await stream.final_response()).finish_reason == "stop"


SEARCH_PATH_CASES = [("deepseek", "openai"), ("anthropic", "anthropic"), ("gemini", "gemini")]


def _sent_temperature(mock_server: MockServer) -> Any:
    body = mock_server.requests[-1].json()
    return body.get("temperature", body.get("generationConfig", {}).get("temperature"))


@needs_upstream
@pytest.mark.parametrize(("provider", "route"), SEARCH_PATH_CASES)
def test_client_serves_an_upstream_manifest_from_the_search_path_sync(
    provider: str, route: str, mock_server: MockServer
) -> None:
    with AiClient.create(
        f"{provider}/mock-model",
        api_key="k",
        manifest_paths=[UPSTREAM],
        base_url=mock_server.base_url(route),
    ) as client:
        resp = client.chat().user("hi").temperature(0.5).execute()
        manifest = client.provider.spec.manifest
    assert resp.content == "echo: hi" and not client.provider.spec.compiled
    assert manifest.data["upstream"]["source"].endswith(f"v2/providers/{provider}.yaml")
    assert _sent_temperature(mock_server) == 0.5


@needs_upstream
@pytest.mark.parametrize(("provider", "route"), SEARCH_PATH_CASES)
async def test_client_serves_an_upstream_manifest_from_the_search_path_async(
    provider: str, route: str, mock_server: MockServer
) -> None:
    client = await AsyncAiClient.create(
        f"{provider}/mock-model",
        api_key="k",
        manifest_paths=[UPSTREAM],
        base_url=mock_server.base_url(route),
    )
    async with client:
        resp = await client.chat().user("hi").temperature(0.5).execute()
        manifest = client.provider.spec.manifest
    assert resp.content == "echo: hi" and not client.provider.spec.compiled
    assert manifest.data["upstream"]["source"].endswith(f"v2/providers/{provider}.yaml")
    assert _sent_temperature(mock_server) == 0.5


@needs_upstream
def test_upstream_manifests_are_all_covered() -> None:
    versions = {p.parent.parent.name for p in MANIFESTS}
    assert versions == {"v1", "v2"} and len(MANIFESTS) >= 50


@pytest.mark.parametrize("key", ["endpoint", "parameters", "streaming", "error_classification"])
def test_a_section_of_the_wrong_shape_is_named(key: str) -> None:
    with pytest.raises(ManifestError, match=f"{key} must be a mapping") as info:
        to_ailib({**V1, key: ["not", "a", "mapping"]}, "bad.yaml")
    assert info.value.key == key and info.value.path == "bad.yaml"
