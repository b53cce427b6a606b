"""Manifest loading and validation (ailib.protocol.loader); errors name file, line and key."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest

from ailib.errors import ManifestError, ProtocolError
from ailib.protocol.loader import load_manifest_file, load_manifest_text
from ailib.protocol.manifest import DEFAULT_RETRY, Manifest

ROOT = Path(__file__).resolve().parents[2]
PROVIDERS = ROOT / "manifests" / "providers"
BUILTIN = {
    "openai": "openai_chat",
    "anthropic": "anthropic_messages",
    "gemini": "gemini_generate",
    "mock": "openai_chat",
}

# A small valid manifest; the line numbers in the tests below refer to it.
GOOD = """\
id: demo
protocol_version: "2.0"
dialect: openai_chat
endpoint:
  base_url: http://127.0.0.1:9/v1
  chat: /chat/completions
retry_policy:
  max_retries: 2
  min_delay_ms: 10
streaming:
  event_map:
    - match: $.choices[0].delta.content
      emit: content
      fields: {text: "$.choices[0].delta.content"}
    - match: $.choices[0].finish_reason
      emit: finish
      fields: {reason: "$.choices[0].finish_reason"}
response:
  event_map:
    - match: $.id
      emit: meta
      fields: {id: $.id}
error_classification:
  error_code_paths: [$.error.code, $.error.type]
  error_message_path: $.error.message
"""


def write(tmp_path: Path, text: str, name: str = "bad.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(path: Path) -> ManifestError:
    with pytest.raises(ManifestError) as info:
        load_manifest_file(path)
    return info.value


def assert_names(err: ManifestError, path: Path, line: int | None, key: str) -> None:
    assert err.path == str(path)
    assert err.line == line
    assert err.key == key
    where = str(path) + (f":{line}" if line is not None else "") + (f" at '{key}'" if key else "")
    assert err.message.startswith(where + ": "), err.message


# ---- built-in manifests -----------------------------------------------------------------


@pytest.mark.parametrize(("provider", "dialect"), sorted(BUILTIN.items()))
def test_builtin_manifests_load(provider: str, dialect: str) -> None:
    path = PROVIDERS / f"{provider}.yaml"
    manifest = load_manifest_file(path)
    assert isinstance(manifest, Manifest)
    assert manifest.id == provider
    assert manifest.dialect == dialect
    assert manifest.source == str(path)
    assert manifest.base_url.startswith("http")
    assert not manifest.base_url.endswith("/")
    assert {"text", "streaming", "tools"} <= manifest.capabilities
    assert manifest.declared_parameters
    assert manifest.streaming["event_map"]
    assert manifest.response["event_map"]
    assert manifest.termination


@pytest.mark.parametrize("provider", sorted(BUILTIN))
def test_builtin_manifest_data_matches_the_generated_module(provider: str) -> None:
    module = importlib.import_module(f"ailib.providers.{provider}")
    assert load_manifest_file(PROVIDERS / f"{provider}.yaml").data == module.MANIFEST


def test_builtin_manifest_accessors() -> None:
    gemini = load_manifest_file(PROVIDERS / "gemini.yaml")
    assert gemini.chat_path(stream=False) == "/models/{model}:generateContent"
    assert gemini.chat_path(stream=True) == "/models/{model}:streamGenerateContent?alt=sse"
    assert gemini.token_env == ["GEMINI_API_KEY", "GOOGLE_API_KEY"]
    assert gemini.termination["MAX_TOKENS"] == "length"
    assert "gemini-2.5-pro" in gemini.models
    # the YAML anchor is expanded: response reuses the streaming event map
    assert gemini.response["event_map"] == gemini.streaming["event_map"]

    openai = load_manifest_file(PROVIDERS / "openai.yaml")
    assert openai.chat_path(stream=True) == openai.chat_path(stream=False) == "/chat/completions"
    assert openai.retry_policy["max_retries"] == 2
    assert openai.request_id_headers == ["x-request-id"]

    anthropic = load_manifest_file(PROVIDERS / "anthropic.yaml")
    assert anthropic.auth["type"] == "custom_header"
    assert anthropic.declared_parameters["max_tokens"]["default"] == 4096


def test_minimal_manifest_defaults() -> None:
    manifest = Manifest.from_dict({"id": "my-llm", "endpoint": {"base_url": "http://h/"}})
    assert manifest.dialect == "openai_chat"
    assert manifest.name == "my-llm"
    assert manifest.base_url == "http://h"
    assert manifest.chat_path(stream=True) == "/chat/completions"
    assert manifest.token_env == ["MY_LLM_API_KEY"]
    assert manifest.retry_policy == DEFAULT_RETRY
    assert manifest.request_id_headers == ["x-request-id", "request-id"]
    assert manifest.capabilities == set()


def test_capabilities_as_list_and_overrides() -> None:
    manifest = Manifest.from_dict(
        {"id": "x", "capabilities": ["text"], "retry_policy": {"max_retries": 5}}
    )
    assert manifest.capabilities == {"text"}
    assert manifest.retry_policy["max_retries"] == 5
    assert manifest.retry_policy["min_delay_ms"] == DEFAULT_RETRY["min_delay_ms"]
    merged = manifest.with_overrides({"retry_policy": {"jitter": "none"}}, "user.yaml")
    assert merged.retry_policy["max_retries"] == 5
    assert merged.retry_policy["jitter"] == "none"
    assert merged.source == "<builtin> + user.yaml"
    assert manifest.data["retry_policy"] == {"max_retries": 5}  # the base is not mutated


def test_good_fixture_manifest_loads(tmp_path: Path) -> None:
    manifest = load_manifest_file(write(tmp_path, GOOD, "demo.yaml"))
    assert manifest.id == "demo"
    assert manifest.retry_policy["min_delay_ms"] == 10


# ---- schema violations ------------------------------------------------------------------


def test_negative_max_retries_names_file_line_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("max_retries: 2", "max_retries: -1"))
    err = load_error(path)
    assert_names(err, path, 8, "retry_policy.max_retries")
    assert "-1 is less than the minimum of 0" in err.message
    assert isinstance(err, ProtocolError)
    assert err.code == "E1001"


def test_unknown_dialect(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("dialect: openai_chat", "dialect: cohere_chat"))
    err = load_error(path)
    assert_names(err, path, 3, "dialect")
    assert "'cohere_chat' is not one of" in err.message


def test_missing_base_url_points_at_the_endpoint(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("  base_url: http://127.0.0.1:9/v1\n", ""))
    err = load_error(path)
    assert_names(err, path, 4, "endpoint")
    assert "'base_url' is a required property" in err.message


def test_missing_top_level_required_key(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('protocol_version: "2.0"\n', ""))
    err = load_error(path)
    assert err.key == ""
    assert "'protocol_version' is a required property" in err.message


def test_bad_chat_path_pattern(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("chat: /chat/completions", "chat: chat/completions"))
    err = load_error(path)
    assert_names(err, path, 6, "endpoint.chat")


def test_unknown_key_inside_an_event_map_rule(tmp_path: Path) -> None:
    path = write(
        tmp_path, GOOD.replace("      emit: finish\n", "      emit: finish\n      when: x\n")
    )
    err = load_error(path)
    assert_names(err, path, 15, "streaming.event_map.1")
    assert "'when'" in err.message


def test_schema_error_in_a_nested_list_item(tmp_path: Path) -> None:
    path = write(
        tmp_path, GOOD.replace("[$.error.code, $.error.type]", "[$.error.code, error.type]")
    )
    err = load_error(path)
    assert_names(err, path, 24, "error_classification.error_code_paths.1")


def test_first_error_in_key_order_is_reported(tmp_path: Path) -> None:
    text = GOOD.replace("dialect: openai_chat", "dialect: nope").replace(
        "max_retries: 2", "max_retries: -1"
    )
    err = load_error(write(tmp_path, text))
    assert err.key == "dialect"


# ---- YAML syntax errors -----------------------------------------------------------------


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    text = GOOD.replace("  chat: /chat/completions", "  chat: [/chat/completions")
    path = write(tmp_path, text)
    err = load_error(path)
    assert err.path == str(path)
    assert err.line == 7
    assert err.message.startswith(f"{path}:7: ")


def test_yaml_tab_indentation_error(tmp_path: Path) -> None:
    path = write(tmp_path, "id: x\n\tendpoint: {}\n")
    err = load_error(path)
    assert err.line == 2
    assert "'\\t'" in err.message


def test_yaml_duplicate_key_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "id: other\n")
    err = load_error(path)
    assert err.line == 26
    assert 'duplicate key "id"' in err.message


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just a string\n"])
def test_non_mapping_documents(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    err = load_error(path)
    assert_names(err, path, 1, "")
    assert "a manifest must be a mapping" in err.message


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.yaml"
    err = load_error(path)
    assert_names(err, path, None, "")
    assert "cannot read manifest" in err.message


# ---- expressions compiled at load time --------------------------------------------------


def test_bad_predicate_in_a_streaming_rule(tmp_path: Path) -> None:
    text = GOOD.replace("match: $.choices[0].finish_reason", 'match: "$.type =="')
    path = write(tmp_path, text)
    err = load_error(path)
    assert_names(err, path, 15, "streaming.event_map.1")
    assert "bad predicate '$.type =='" in err.message


def test_bad_predicate_in_a_response_rule(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("match: $.id", 'match: "$.id && ("'))
    err = load_error(path)
    assert_names(err, path, 20, "response.event_map.0")


def test_unknown_emission_in_a_rule(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("emit: finish", "emit: Finished"))
    err = load_error(path)
    assert_names(err, path, 15, "streaming.event_map.1")
    assert "unknown event-map emission 'Finished'" in err.message


def test_for_each_without_wildcard(tmp_path: Path) -> None:
    text = GOOD.replace("    - match: $.id\n", "    - match: $.id\n      for_each: $.content\n")
    path = write(tmp_path, text)
    err = load_error(path)
    assert_names(err, path, 20, "response.event_map.0")
    assert "needs a [*]" in err.message


def test_bad_field_path_in_rule_fields(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("fields: {id: $.id}", "fields: {id: '$.id['}"))
    err = load_error(path)
    assert_names(err, path, 20, "response.event_map.0")
    assert "bad field path '$.id['" in err.message


def test_bad_error_code_path(tmp_path: Path) -> None:
    path = write(
        tmp_path, GOOD.replace("[$.error.code, $.error.type]", "[$.error.code, '$.a[*].b[*]']")
    )
    err = load_error(path)
    assert_names(err, path, 24, "error_classification.error_code_paths.1")
    assert "more than one [*]" in err.message


def test_bad_error_code_path_in_block_list(tmp_path: Path) -> None:
    text = GOOD.replace(
        "  error_code_paths: [$.error.code, $.error.type]\n",
        "  error_code_paths:\n    - $.error.code\n    - $.error[\n",
    )
    path = write(tmp_path, text)
    err = load_error(path)
    assert_names(err, path, 26, "error_classification.error_code_paths.1")


# ---- JSON manifests ---------------------------------------------------------------------


def good_dict() -> dict[str, Any]:
    return load_manifest_text(GOOD, "good.yaml")


def test_json_manifest_loads(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps(good_dict(), indent=2), "demo.json")
    manifest = load_manifest_file(path)
    assert manifest.id == "demo"
    assert manifest.data == good_dict()


def test_json_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, '{\n  "id": "x",\n  "endpoint": {,}\n}\n', "bad.json")
    err = load_error(path)
    assert err.path == str(path)
    assert err.line == 3
    assert err.message.startswith(f"{path}:3: ")


def test_json_non_mapping(tmp_path: Path) -> None:
    err = load_error(write(tmp_path, "[1, 2]", "list.json"))
    assert err.line == 1
    assert "must be a mapping" in err.message


def test_json_schema_violation_names_file_and_key(tmp_path: Path) -> None:
    data = good_dict()
    data["retry_policy"]["max_retries"] = -1
    path = write(tmp_path, json.dumps(data, indent=2), "bad.json")
    err = load_error(path)
    assert err.path == str(path)
    assert err.key == "retry_policy.max_retries"
    assert "-1 is less than the minimum of 0" in err.message


def test_json_schema_violation_names_the_line(tmp_path: Path) -> None:
    data = good_dict()
    data["retry_policy"]["max_retries"] = -1
    text = json.dumps(data, indent=2)
    path = write(tmp_path, text, "bad.json")
    expected = next(n for n, ln in enumerate(text.splitlines(), 1) if '"max_retries"' in ln)
    err = load_error(path)
    assert err.line == expected


def test_json_bad_predicate_names_file_and_key(tmp_path: Path) -> None:
    data = good_dict()
    data["streaming"]["event_map"][1]["match"] = "$.a ||"
    path = write(tmp_path, json.dumps(data), "bad.json")
    err = load_error(path)
    assert err.key == "streaming.event_map.1"
    assert "bad predicate '$.a ||'" in err.message


# ---- text entry point -------------------------------------------------------------------


def test_partial_overlay_is_not_validated() -> None:
    data = load_manifest_text("retry_policy:\n  max_retries: 7\n", "overlay.yaml", partial=True)
    assert data == {"retry_policy": {"max_retries": 7}}
    with pytest.raises(ManifestError, match="'id' is a required property"):
        load_manifest_text("retry_policy:\n  max_retries: 7\n", "overlay.yaml")


def test_yaml_floats_that_are_whole_numbers_stay_as_written() -> None:
    data = load_manifest_text(GOOD + "x_ratio: 1.0\nx_count: 3\n", "demo.yaml")
    assert data["x_count"] == 3 and type(data["x_count"]) is int
    assert data["x_ratio"] == 1.0
