"""A provider that was never compiled: AiClient interprets its manifest file at runtime."""

from __future__ import annotations

from pathlib import Path

import pytest

from ailib import AiClient, AsyncAiClient, ToolDefinition
from ailib.errors import AiLibError, ManifestError, ParameterError
from ailib.testing import MockServer, Scenario

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def local_manifest(tmp_path: Path) -> Path:
    text = (ROOT / "manifests/providers/mock.yaml").read_text()
    text = text.replace("id: mock\n", "id: local\n").replace("class_name: Mock\n", "")
    path = tmp_path / "local.yaml"
    path.write_text(text)
    return path


def test_interpreted_provider_sync(local_manifest: Path, mock_server: MockServer) -> None:
    tool = ToolDefinition.from_function(name="f", parameters={"type": "object", "properties": {}})
    mock_server.push(Scenario(tool_calls=[("f", {"x": 1})]))
    with AiClient.create(
        "local/echo", manifest=local_manifest, base_url=mock_server.base_url("mock")
    ) as client:
        assert client.provider.spec.compiled is False
        resp = client.chat().user("hi").tools([tool]).execute()
        assert resp.tool_calls[0].arguments == {"x": 1}
        with client.chat().user("stream me").stream() as stream:
            text = "".join(e.as_content_delta.content for e in stream if e.is_content_delta)
        assert text == "echo: stream me"
        with pytest.raises(ParameterError):
            client.chat().user("x").param("nope", 1).execute()


async def test_interpreted_provider_async(local_manifest: Path, mock_server: MockServer) -> None:
    client = await AsyncAiClient.create(
        "local/echo", manifest=local_manifest, base_url=mock_server.base_url("mock")
    )
    async with client:
        assert (await client.chat().user("hi").temperature(0.1).execute()).content == "echo: hi"
    assert mock_server.requests[-1].json()["temperature"] == 0.1


def test_manifest_id_must_match(local_manifest: Path) -> None:
    with pytest.raises(AiLibError, match="is for provider 'local'"):
        AiClient.create("other/echo", manifest=local_manifest)


def test_broken_manifest_names_file_line_key(tmp_path: Path) -> None:
    bad = tmp_path / "local.yaml"
    bad.write_text(
        (ROOT / "manifests/providers/openai.yaml")
        .read_text()
        .replace("id: openai\n", "id: local\n")
        .replace("max_retries: 2", "max_retries: -1")
    )
    with pytest.raises(ManifestError) as info:
        AiClient.create("local/echo", manifest=bad)
    line = next(n for n, t in enumerate(bad.read_text().splitlines(), 1) if "max_retries: -1" in t)
    assert f"local.yaml:{line}" in str(info.value)
    assert "retry_policy.max_retries" in str(info.value)


def test_extends_resolves_sibling_then_builtin(tmp_path: Path, mock_server: MockServer) -> None:
    # a partial manifest: everything but the identity and base URL comes from openai
    (tmp_path / "tiny.yaml").write_text(
        "id: tiny\nextends: openai\nprotocol_version: '2.0'\n"
        "endpoint: {base_url: 'http://127.0.0.1:1/v1', auth: {type: none}}\n"
    )
    with AiClient.create(
        "tiny/gpt-4o", manifest=tmp_path / "tiny.yaml", base_url=mock_server.base_url("openai")
    ) as client:
        assert client.chat().user("hi").max_tokens(5).execute().content == "echo: hi"
    assert mock_server.requests[-1].json()["max_completion_tokens"] == 5
    assert "authorization" not in mock_server.requests[-1].headers
