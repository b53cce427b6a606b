"""Bedrock per-model behaviour is data: model families live in the manifest.

The Bedrock dialect knows no family names: which model ids form a family and how that
family is asked to reason are ``dialect_options.model_families`` in the Bedrock manifest.
A new family declared only in an overlay file on the manifest search path gets its
declared request fields (sync and async, against the mock server); a bad declaration is
a :class:`~ailib.errors.ManifestError` naming the file, the line and the key.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from ailib import AiClient, AsyncAiClient, Message
from ailib.dialects import ChatRequest, bedrock_converse
from ailib.dialects.bedrock_converse import encode, model_family
from ailib.errors import ManifestError, ParameterError
from ailib.protocol.loader import builtin_manifest
from ailib.testing import MockServer, Scenario

ACME = "us.acme.thinker-v1:0"
CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
OVERLAY = """\
# a model family ailib has never heard of, declared in data only
dialect_options:
  model_families:
    acme:
      match: ["acme.thinker-*"]
      reasoning:
        fields: {deliberation: {mode: deep}}
        effort_at: deliberation.level
        efforts: {xhigh: max}
        budget_at: deliberation.tokens
        budget_within_max_tokens: true
        answer_tokens: 1000
"""
EXPECTED_ACME = {"deliberation": {"mode": "deep", "level": "max", "tokens": 32768}}


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    for name in ("AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AI_PROTOCOL_PATH", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent-ailib-config")


def _overlay(folder: Path, text: str = OVERLAY) -> Path:
    path = folder / "bedrock.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _sent(server: MockServer) -> dict[str, Any]:
    body: dict[str, Any] = server.requests[-1].json()
    return body


# ---- the manifest holds the facts; the dialect holds none ------------------------------------


def test_the_builtin_manifest_declares_the_families() -> None:
    families = builtin_manifest("bedrock")["dialect_options"]["model_families"]
    assert {"anthropic", "amazon", "openai", "deepseek"} <= set(families)
    tree = ast.parse(Path(bedrock_converse.__file__).read_text(encoding="utf-8"))
    docstrings = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    texts = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        if id(node) not in docstrings
    ]
    for family in families:  # no family name in the code (docstring examples aside)
        assert not [text for text in texts if family in text], family


def test_options_carried_by_the_request_decide() -> None:
    options = {"model_families": {"acme": {"match": ["acme.*"], "reasoning": {"always": True}}}}
    req = ChatRequest(ACME, [Message.user("x")], params={"reasoning": "low"}, options=options)
    assert "additionalModelRequestFields" not in encode(req)
    assert model_family(ACME, options) == "acme"
    # the built-in families are not consulted when the request carries its own
    assert model_family(CLAUDE, options) == "anthropic"  # the provider segment, no match
    claude = ChatRequest(CLAUDE, [Message.user("x")], params={"reasoning": "low"}, options=options)
    with pytest.raises(ParameterError, match="model_families"):
        encode(claude)


def test_the_longest_matching_pattern_wins() -> None:
    options = {
        "model_families": {
            "broad": {"match": ["*"], "reasoning": {"always": True}},
            "narrow": {"match": ["acme.thinker-*"], "reasoning": {"effort_at": "effort"}},
        }
    }
    req = ChatRequest(ACME, [Message.user("x")], params={"reasoning": "low"}, options=options)
    assert encode(req)["additionalModelRequestFields"] == {"effort": "low"}
    assert model_family("us.other.model-v1", options) == "broad"


# ---- a family declared only in an overlay ----------------------------------------------------


def test_overlay_family_sync(mock_server: MockServer, tmp_path: Path) -> None:
    _overlay(tmp_path)
    base = mock_server.base_url("bedrock")
    mock_server.push(Scenario(text="ok"), Scenario(text="ok"), Scenario(text="ok"))
    with AiClient.create(
        f"bedrock/{ACME}", base_url=base, manifest_paths=[tmp_path], max_retries=0
    ) as client:
        assert client.chat().user("think").reasoning("xhigh").execute().content == "ok"
        body = _sent(mock_server)
        assert body["additionalModelRequestFields"] == EXPECTED_ACME
        assert body["inferenceConfig"] == {"maxTokens": 32768 + 1000}
        with pytest.raises(ParameterError, match=r"below max_tokens \(2000\)"):
            client.chat().user("think").reasoning(4096).max_tokens(2000).execute()
        with client.chat().user("think").reasoning("low").stream() as stream:
            assert stream.final_response().content == "ok"
        assert _sent(mock_server)["additionalModelRequestFields"]["deliberation"] == {
            "mode": "deep",
            "level": "low",
            "tokens": 1024,
        }
    # the built-in families still apply under the overlay
    with AiClient.create(
        f"bedrock/{CLAUDE}", base_url=base, manifest_paths=[tmp_path], max_retries=0
    ) as claude:
        claude.chat().user("think").reasoning(2048).max_tokens(4000).execute()
    assert _sent(mock_server)["additionalModelRequestFields"] == {
        "thinking": {"type": "enabled", "budget_tokens": 2048}
    }


async def test_overlay_family_async(mock_server: MockServer, tmp_path: Path) -> None:
    _overlay(tmp_path)
    base = mock_server.base_url("bedrock")
    mock_server.push(Scenario(text="ok"), Scenario(text="ok"), Scenario(text="ok"))
    client = await AsyncAiClient.create(
        f"bedrock/{ACME}", base_url=base, manifest_paths=[tmp_path], max_retries=0
    )
    async with client:
        resp = await client.chat().user("think").reasoning("xhigh").execute()
        assert resp.content == "ok"
        body = _sent(mock_server)
        assert body["additionalModelRequestFields"] == EXPECTED_ACME
        assert body["inferenceConfig"] == {"maxTokens": 32768 + 1000}
        with pytest.raises(ParameterError, match=r"below max_tokens \(2000\)"):
            await client.chat().user("think").reasoning(4096).max_tokens(2000).execute()
        async with client.chat().user("think").reasoning("low").stream() as stream:
            assert (await stream.final_response()).content == "ok"
        assert _sent(mock_server)["additionalModelRequestFields"]["deliberation"]["level"] == "low"
    claude = await AsyncAiClient.create(
        f"bedrock/{CLAUDE}", base_url=base, manifest_paths=[tmp_path], max_retries=0
    )
    async with claude:
        await claude.chat().user("think").reasoning(2048).max_tokens(4000).execute()
    assert _sent(mock_server)["additionalModelRequestFields"] == {
        "thinking": {"type": "enabled", "budget_tokens": 2048}
    }


def test_without_the_overlay_the_family_is_unknown_sync(mock_server: MockServer) -> None:
    base = mock_server.base_url("bedrock")
    with (
        AiClient.create(f"bedrock/{ACME}", base_url=base, max_retries=0) as client,
        pytest.raises(ParameterError, match=r"dialect_options\.model_families"),
    ):
        client.chat().user("think").reasoning("low").execute()
    assert mock_server.requests == []


async def test_without_the_overlay_the_family_is_unknown_async(mock_server: MockServer) -> None:
    base = mock_server.base_url("bedrock")
    client = await AsyncAiClient.create(f"bedrock/{ACME}", base_url=base, max_retries=0)
    async with client:
        with pytest.raises(ParameterError, match=r"dialect_options\.model_families"):
            await client.chat().user("think").reasoning("low").execute()
    assert mock_server.requests == []


# ---- a bad declaration is a manifest error naming file, line and key -------------------------

REASONING_LINE, EFFORT_LINE = 6, 8  # in OVERLAY: the lines of "reasoning:" and "effort_at:"
BAD = [
    # (the replaced effort_at line, the key named, its line, a phrase of the message)
    ("        efort_at: deliberation.level", "dialect_options.model_families.acme.reasoning", REASONING_LINE, "'efort_at' was unexpected"),
    ("        effort_at: 3", "dialect_options.model_families.acme.reasoning.effort_at", EFFORT_LINE, "not of type 'string'"),
    ("        effort_at: deliberation..level", "dialect_options.model_families.acme.reasoning.effort_at", EFFORT_LINE, "does not match"),
]  # fmt: skip


def _bad_overlay(folder: Path, line: str) -> Path:
    lines = OVERLAY.splitlines()
    assert lines[REASONING_LINE - 1].strip() == "reasoning:"
    assert lines[EFFORT_LINE - 1].strip().startswith("effort_at:")
    lines[EFFORT_LINE - 1] = line
    return _overlay(folder, "\n".join(lines) + "\n")


def _check(err: ManifestError, path: Path, line: int, key: str, phrase: str) -> None:
    assert (err.path, err.line, err.key) == (str(path), line, key)
    assert phrase in str(err) and f"{path}:{line} at '{key}'" in str(err)


@pytest.mark.parametrize(("line", "key", "lineno", "phrase"), BAD)
def test_bad_declaration_sync(
    tmp_path: Path, line: str, key: str, lineno: int, phrase: str
) -> None:
    path = _bad_overlay(tmp_path, line)
    with pytest.raises(ManifestError) as caught:
        AiClient.create(f"bedrock/{ACME}", manifest_paths=[tmp_path])
    _check(caught.value, path, lineno, key, phrase)


@pytest.mark.parametrize(("line", "key", "lineno", "phrase"), BAD)
async def test_bad_declaration_async(
    tmp_path: Path, line: str, key: str, lineno: int, phrase: str
) -> None:
    path = _bad_overlay(tmp_path, line)
    with pytest.raises(ManifestError) as caught:
        await AsyncAiClient.create(f"bedrock/{ACME}", manifest_paths=[tmp_path])
    _check(caught.value, path, lineno, key, phrase)


def test_a_family_without_patterns_is_refused(tmp_path: Path) -> None:
    path = _overlay(tmp_path, "dialect_options:\n  model_families:\n    acme: {match: []}\n")
    with pytest.raises(ManifestError) as caught:
        AiClient.create(f"bedrock/{ACME}", manifest_paths=[tmp_path])
    assert caught.value.path == str(path) and caught.value.line == 3
    assert caught.value.key == "dialect_options.model_families.acme.match"
