"""Checks on tool definitions before sending (issue 6, item 6): JSON Schema against the
meta-schema, object schemas, provider name rules from the manifests, duplicate names, a
``tool_choice`` naming a missing tool, caching, and the lazy ``jsonschema`` import."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from ailib.dialects import ChatRequest
from ailib.errors import InvalidRequestError, ManifestError, ProtocolError, ToolDefinitionError
from ailib.protocol.manifest import Manifest
from ailib.providers import anthropic, bedrock, gemini, mock, openai, openai_responses
from ailib.runtime import tool_check
from ailib.runtime.request import prepare
from ailib.runtime.spec import ProviderSpec
from ailib.runtime.tool_check import check_tools, chosen_tool_names
from ailib.types import Message, ToolDefinition

ROOT = Path(__file__).resolve().parents[2]

# ---- checks before sending ----------------------------------------------------------------


def prep(spec: ProviderSpec, tools: list[Any], **params: Any) -> Any:
    req = ChatRequest(model="m", messages=[Message.user("hi")], tools=tools, params=params)
    return prepare(spec, req, base_url="http://127.0.0.1:9/v1", query={})


def test_the_error_type() -> None:
    err = ToolDefinitionError("x", tool="t")
    assert isinstance(err, InvalidRequestError) and isinstance(err, ProtocolError)
    assert (err.code, err.name, err.retryable, err.tool) == ("E1001", "invalid_request", False, "t")


# provider -> (names its rule accepts, names it refuses)
NAMES = {
    "openai": (openai.SPEC, ["a" * 64, "get-weather_2"], ["get weather", "a" * 65, "ns.tool"]),
    "responses": (openai_responses.SPEC, ["get_weather"], ["get.weather", "a" * 65]),
    "anthropic": (anthropic.SPEC, ["a" * 128], ["a" * 129, "get.weather"]),
    "gemini": (gemini.SPEC, ["ns.tool:v1-x", "_x", "a" * 64], ["1tool", "-tool", "a" * 65]),
    "bedrock": (bedrock.SPEC, ["get-weather_2", "a" * 64], ["get weather", "a" * 65]),
    "mock": (mock.SPEC, ["a" * 64], ["get weather"]),  # the OpenAI rule, through `extends`
}


@pytest.mark.parametrize("provider", sorted(NAMES))
def test_provider_name_rules(provider: str) -> None:
    spec, good, bad = NAMES[provider]
    for name in good:
        assert prep(spec, [ToolDefinition(name)]).payload
    for name in bad:
        with pytest.raises(ToolDefinitionError, match="tool name rule") as info:
            prep(spec, [ToolDefinition(name)])
        assert info.value.tool == name and info.value.provider == spec.id


def test_name_rules_are_manifest_data() -> None:
    for spec in (openai.SPEC, anthropic.SPEC, gemini.SPEC, bedrock.SPEC, openai_responses.SPEC):
        assert spec.manifest.data["tool_name_pattern"].startswith("^")
    loose = Manifest.from_dict({"id": "x"})
    check_tools(loose, [ToolDefinition("any name at all.")])  # no rule: only non-empty
    strict = Manifest.from_dict({"id": "x", "tool_name_pattern": "^[a-z]{1,3}$"})
    with pytest.raises(ToolDefinitionError, match=r"'abcd' does not follow .*\^\[a-z\]\{1,3\}\$"):
        check_tools(strict, [ToolDefinition("abcd")])
    with pytest.raises(ToolDefinitionError, match="non-empty str"):
        check_tools(loose, [ToolDefinition("")])
    broken = Manifest.from_dict({"id": "x", "tool_name_pattern": "["}, source="x.yaml")
    with pytest.raises(ManifestError, match=r"x\.yaml at 'tool_name_pattern'"):
        check_tools(broken, [ToolDefinition("a")])


def test_the_manifest_schema_accepts_the_rule_and_refuses_a_bad_regex() -> None:
    for path in (
        "manifests/schema/provider.schema.json",
        "src/ailib/protocol/provider.schema.json",
    ):
        schema = json.loads((ROOT / path).read_text())
        validator = jsonschema.Draft202012Validator(
            schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
        )
        prop = schema["properties"]["tool_name_pattern"]
        assert prop["type"] == "string" and prop["format"] == "regex"
        errors = [e.message for e in validator.iter_errors({"tool_name_pattern": "(["})]
        assert any("regex" in m for m in errors)
        assert "tool_name_pattern" in (ROOT / "manifests/schema/README.md").read_text()


def test_duplicate_names() -> None:
    with pytest.raises(ToolDefinitionError, match="'get_time' is defined twice") as info:
        prep(
            openai.SPEC,
            [ToolDefinition("get_time"), ToolDefinition("x"), ToolDefinition("get_time")],
        )
    assert info.value.tool == "get_time"


BAD_SCHEMAS = [
    ({"type": "object", "properties": {"n": {"type": "integr"}}}, r"\$\.properties\.n\.type"),
    ({"type": "object", "properties": {"s": {"pattern": "(["}}}, r"\$\.properties\.s\.pattern"),
    ({"type": "object", "required": "n"}, r"\$\.required"),
    ({"type": "object", "properties": []}, r"\$\.properties"),
    ({"type": "string"}, "object schema .* type 'string'"),
    ({"properties": {}}, "object schema .* no 'type'"),
    ({"type": "object", "default": float("nan")}, "not JSON"),
    ({"type": "object", "default": {1, 2}}, "not JSON"),
    (["not", "a", "dict"], "must be a JSON Schema dict"),
    (functools.reduce(lambda s, _: {"not": s}, range(100_000), {"type": "object"}), "too deep"),
]


@pytest.mark.parametrize(("schema", "problem"), BAD_SCHEMAS)
def test_schemas_are_checked_against_the_meta_schema(schema: Any, problem: str) -> None:
    with pytest.raises(ToolDefinitionError, match=f"tool 'f': .*{problem}") as info:
        prep(anthropic.SPEC, [ToolDefinition("f", "", schema)])
    assert info.value.tool == "f" and info.value.code == "E1001"


def test_the_schema_names_its_dialect() -> None:
    draft7 = {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"}
    prep(openai.SPEC, [ToolDefinition("f", "", {**draft7, "items": [{"type": "string"}]})])
    with pytest.raises(ToolDefinitionError, match="not a valid JSON Schema"):
        prep(openai.SPEC, [ToolDefinition("f", "", {**draft7, "dependencies": 3})])


CHOICES_OK = [
    "auto", "none", "required", "any", "AUTO", "NONE", "REQUIRED", "find",
    {"type": "function", "function": {"name": "find"}},
    {"type": "function", "name": "find"},
    {"type": "tool", "name": "find"},
    {"type": "auto"}, {"type": "any"},
    {"tool": {"name": "find"}}, {"auto": {}},
    {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["find"]}},
]  # fmt: skip
CHOICES_BAD = [
    "lookup",
    {"type": "function", "function": {"name": "lookup"}},
    {"type": "function", "name": "lookup"},
    {"type": "tool", "name": "lookup"},
    {"tool": {"name": "lookup"}},
    {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["find", "lookup"]}},
    {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": "lookup"}},
]


def test_tool_choice_modes_and_present_names_pass() -> None:
    for choice in CHOICES_OK:
        check_tools(openai.SPEC.manifest, [ToolDefinition("find")], choice)
        with pytest.raises(ToolDefinitionError, match="not one of the request's tools"):
            check_tools(openai.SPEC.manifest, [ToolDefinition("find")], "lookup")


@pytest.mark.parametrize("choice", CHOICES_BAD, ids=str)
def test_tool_choice_naming_a_missing_tool_is_refused(choice: Any) -> None:
    assert "lookup" in chosen_tool_names(choice)
    with pytest.raises(ToolDefinitionError, match=r"tool_choice names 'lookup'.*'find'") as info:
        check_tools(openai.SPEC.manifest, [ToolDefinition("find")], choice)
    assert info.value.tool == "lookup"


def test_tool_choice_through_prepare() -> None:
    with pytest.raises(ToolDefinitionError, match=r"names 'lookup'.*\(no tools\)"):
        prep(openai.SPEC, [], tool_choice="lookup")
    with pytest.raises(ToolDefinitionError, match="names 'lookup'"):
        prep(
            anthropic.SPEC, [ToolDefinition("find")], tool_choice={"type": "tool", "name": "lookup"}
        )
    body = prep(anthropic.SPEC, [ToolDefinition("find")], tool_choice="find").payload
    assert body["tool_choice"] == {"type": "tool", "name": "find"}


def test_a_dict_tool_is_a_typed_error() -> None:
    with pytest.raises(ToolDefinitionError, match=r"tools\[1\] is a dict.*from_dict"):
        prep(openai.SPEC, [ToolDefinition("a"), {"name": "b"}])


def test_long_names_are_shortened_in_messages() -> None:
    with pytest.raises(ToolDefinitionError) as info:
        prep(openai.SPEC, [ToolDefinition("x" * 5000)])
    assert len(str(info.value)) < 300 and info.value.tool == "x" * 5000


def test_schema_checks_are_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    real = tool_check._find_schema_problem
    monkeypatch.setattr(tool_check, "_schema_problems", {})
    monkeypatch.setattr(tool_check, "_find_schema_problem", lambda s: calls.append(s) or real(s))
    tools = [
        ToolDefinition(f"t{i}", "", {"type": "object", "properties": {"i": {"const": i}}})
        for i in range(5)
    ]
    for _ in range(1000):
        prep(openai.SPEC, tools)
    assert len(calls) == 5  # one meta-schema check per distinct schema
    copy = [ToolDefinition(t.name, "", json.loads(json.dumps(t.parameters))) for t in tools]
    prep(openai.SPEC, copy)  # equal schemas in new objects hit the cache too
    assert len(calls) == 5
    bad = {"type": "object", "properties": {"n": {"type": "integr"}}}
    for _ in range(2):
        with pytest.raises(ToolDefinitionError):
            prep(openai.SPEC, [ToolDefinition("f", "", bad)])
    assert len(calls) == 6  # a bad schema's problem is cached as well


def test_jsonschema_is_imported_only_when_tools_are_checked() -> None:
    code = (
        "import sys, ailib\n"
        "from ailib.dialects import ChatRequest\n"
        "from ailib.errors import ToolDefinitionError\n"
        "from ailib.providers import openai\n"
        "from ailib.runtime.request import prepare\n"
        "from ailib.types import Message, ToolDefinition\n"
        "assert 'jsonschema' not in sys.modules, 'import ailib loaded jsonschema'\n"
        "req = ChatRequest(model='m', messages=[Message.user('hi')])\n"
        "prepare(openai.SPEC, req, base_url='http://127.0.0.1:9', query={})\n"
        "assert 'jsonschema' not in sys.modules, 'a request without tools loaded jsonschema'\n"
        "bad = ToolDefinition('f', '', {'type': 'object', 'properties': {'x': {'type': 1}}})\n"
        "try:\n"
        "    prepare(openai.SPEC, ChatRequest(model='m', messages=[Message.user('hi')],\n"
        "            tools=[bad]), base_url='http://127.0.0.1:9', query={})\n"
        "except ToolDefinitionError:\n"
        "    print('refused')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "refused"
