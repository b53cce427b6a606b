"""Trust model of the search path, and regions in host names (issue 6, items 13 and 15).

A file on the search path that redirects a built-in provider (base URL origin) or changes
its credential source (token_env, auth type/header/param) is logged at WARNING once, with
the file that did it. A region from the environment or a manifest is validated before it
becomes part of a host name.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from ailib import AiClient, AsyncAiClient
from ailib.errors import InvalidRequestError
from ailib.protocol.search import resolve

BEDROCK = "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AI_PROTOCOL_PATH", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-for-tests")
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_BEARER_TOKEN_BEDROCK", raising=False)


# --- item 13: regions --------------------------------------------------------------------

HOSTILE_REGIONS = ["evil.com/x?", "us-east-1.evil.com", "a@b", "US-EAST-1", "-x", "x" * 40, "a b"]


@pytest.mark.parametrize("region", HOSTILE_REGIONS)
def test_hostile_aws_region_is_refused_at_create_sync(
    region: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_REGION", region)
    with pytest.raises(InvalidRequestError) as caught:
        AiClient.create(BEDROCK)
    message = str(caught.value)
    assert caught.value.code == "E1001"
    assert "environment variable AWS_REGION" in message and repr(region) in message


@pytest.mark.parametrize("region", HOSTILE_REGIONS)
async def test_hostile_aws_region_is_refused_at_create_async(
    region: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_REGION", region)
    with pytest.raises(InvalidRequestError, match="environment variable AWS_REGION"):
        await AsyncAiClient.create(BEDROCK)


def test_default_region_variable_and_explicit_base_url_are_checked_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "evil.com/x?")
    with pytest.raises(InvalidRequestError, match="environment variable AWS_DEFAULT_REGION"):
        AiClient.create(BEDROCK)
    # the region also goes into the SigV4 scope when base_url has no {region}
    with pytest.raises(InvalidRequestError, match="AWS_DEFAULT_REGION"):
        AiClient.create(BEDROCK, base_url="http://127.0.0.1:9")


async def test_region_from_a_manifest_is_checked_and_named_async(tmp_path: Path) -> None:
    overlay = tmp_path / "bedrock.yaml"
    overlay.write_text("endpoint:\n  default_region: 'evil.com/x?'\n")
    with pytest.raises(InvalidRequestError) as caught:
        await AsyncAiClient.create(BEDROCK, manifest_paths=[tmp_path])
    assert "default_region" in str(caught.value) and str(overlay) in str(caught.value)


@pytest.mark.parametrize("region", ["us-east-1", "us-gov-west-1", "cn-north-1", "eu-west-3"])
def test_real_regions_fill_the_host_sync(region: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", region)
    with AiClient.create(BEDROCK) as client:
        assert client.provider.base_url == f"https://bedrock-runtime.{region}.amazonaws.com"


async def test_real_region_fills_the_host_async(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "ap-southeast-2")
    async with await AsyncAiClient.create(BEDROCK) as client:
        assert client.provider.base_url == "https://bedrock-runtime.ap-southeast-2.amazonaws.com"


# --- item 15: what an override may change is logged -----------------------------------


def trust_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name.startswith("ailib") and r.levelno == logging.WARNING and "built-in" in r.message
    ]


@pytest.fixture
def warnings_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.WARNING, logger="ailib")
    return caplog


def test_overlay_changing_the_host_is_warned_once_with_the_file(
    tmp_path: Path, warnings_log: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "openai.yaml"
    path.write_text("endpoint:\n  base_url: https://gateway.example.net/v1\n")
    resolve("openai", [tmp_path])
    resolve("openai", [tmp_path])  # the same file and change: not again
    records = trust_records(warnings_log)
    assert len(records) == 1
    message = records[0].getMessage()
    assert str(path) in message and "'openai'" in message
    assert "https://api.openai.com -> https://gateway.example.net" in message


@pytest.mark.parametrize(
    ("overlay", "field"),
    [
        ("endpoint:\n  auth:\n    token_env: STOLEN_KEY_VAR\n", "token_env"),
        ("endpoint:\n  auth:\n    token_env_fallbacks: [OTHER_SECRET]\n", "token_env"),
        ("endpoint:\n  auth:\n    type: query_param\n    param: key\n", "auth.type"),
        ("endpoint:\n  auth:\n    header: X-Leak\n", "auth.header"),
        ("endpoint:\n  base_url: http://api.openai.com:8080/v1\n", "base URL origin"),
    ],
)
def test_credential_source_changes_are_warned(
    tmp_path: Path, overlay: str, field: str, warnings_log: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "openai.yaml").write_text(overlay)
    resolve("openai", [tmp_path])
    records = trust_records(warnings_log)
    assert len(records) == 1 and field in records[0].getMessage()
    assert records[0].name.startswith("ailib")


def test_behaviour_only_overrides_are_not_warned(
    tmp_path: Path, warnings_log: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "openai.yaml").write_text(
        "retry_policy: {max_retries: 5}\nendpoint:\n  base_url: https://api.openai.com/v2\n"
    )
    resolve("openai", [tmp_path])  # a new path on the same origin is not a redirect
    # reading fewer of the built-in's own variables sends no other secret
    (tmp_path / "gemini.yaml").write_text("endpoint:\n  auth:\n    token_env_fallbacks: null\n")
    resolve("gemini", [tmp_path])
    assert trust_records(warnings_log) == []


def test_the_layer_that_made_the_change_is_named(
    tmp_path: Path, warnings_log: pytest.LogCaptureFixture
) -> None:
    low, high = tmp_path / "low", tmp_path / "high"
    low.mkdir()
    high.mkdir()
    (low / "anthropic.yaml").write_text("endpoint:\n  base_url: https://proxy.example.org\n")
    (high / "anthropic.yaml").write_text("retry_policy: {max_retries: 1}\n")
    resolve("anthropic", [high, low])
    records = trust_records(warnings_log)
    assert len(records) == 1
    assert str(low / "anthropic.yaml") in records[0].getMessage()
    assert str(high / "anthropic.yaml") not in records[0].getMessage()


def test_whole_manifest_replacing_a_builtin_is_warned(
    tmp_path: Path, warnings_log: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "openai.yaml"
    path.write_text(
        "id: openai\nprotocol_version: '2.0'\n"
        "endpoint:\n  base_url: https://elsewhere.example.com/v1\n"
        "  auth: {type: bearer, token_env: OPENAI_API_KEY}\n"
    )
    resolve("openai", [tmp_path])
    records = trust_records(warnings_log)
    assert len(records) == 1 and str(path) in records[0].getMessage()


def test_a_new_provider_is_not_a_redirect(
    tmp_path: Path, warnings_log: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "my-gateway.yaml").write_text(
        "id: my-gateway\nprotocol_version: '2.0'\n"
        "endpoint:\n  base_url: https://gw.example.com/v1\n  auth: {type: bearer}\n"
    )
    resolve("my-gateway", [tmp_path])
    assert trust_records(warnings_log) == []


def test_client_with_an_override_warns_sync(
    tmp_path: Path, warnings_log: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "openai.yaml"
    path.write_text("endpoint:\n  auth:\n    token_env: SOME_OTHER_KEY\n")
    with AiClient.create("openai/gpt-4o", api_key="k", manifest_paths=[tmp_path]):
        pass
    records = trust_records(warnings_log)
    assert len(records) == 1 and str(path) in records[0].getMessage()
    assert "OPENAI_API_KEY -> SOME_OTHER_KEY" in records[0].getMessage()


async def test_client_with_an_override_warns_async(
    tmp_path: Path, warnings_log: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "anthropic.yaml"
    path.write_text("endpoint:\n  base_url: https://relay.example.com\n")
    monkeypatch.setenv("AI_PROTOCOL_PATH", str(tmp_path))
    client = await AsyncAiClient.create("anthropic/claude-sonnet-4-5", api_key="k")
    await client.aclose()
    records = trust_records(warnings_log)
    assert len(records) == 1 and str(path) in records[0].getMessage()


def test_relative_search_entries_are_fixed_when_the_loader_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Relative AI_PROTOCOL_PATH entries resolve against the cwd at creation, then stay."""
    from ailib.protocol.hot import ProtocolLoader

    (tmp_path / "overrides").mkdir()
    (tmp_path / "overrides/openai.yaml").write_text(
        "endpoint:\n  base_url: http://127.0.0.1:9/v1\n"
    )
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AI_PROTOCOL_PATH", "overrides")
    loader = ProtocolLoader()
    assert tmp_path / "overrides" in loader.search_dirs
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert loader.get("openai").manifest.base_url == "http://127.0.0.1:9/v1"


def test_relative_xdg_config_home_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ailib.protocol.search import user_config_dir

    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/config")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert user_config_dir() == tmp_path / ".config/ailib/manifests"
