"""Search path, overrides (whole and partial) and hot reload, sync and async."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ailib import AiClient, AsyncAiClient
from ailib.errors import ManifestError
from ailib.protocol.hot import ProtocolLoader
from ailib.protocol.search import BUILTIN, resolve
from ailib.testing import MockServer, Scenario

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def second_server() -> Iterator[MockServer]:
    with MockServer() as server:
        yield server


@pytest.fixture(autouse=True)
def isolated_search_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AI_PROTOCOL_PATH", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


def write(path: Path, text: str) -> Path:
    """Write and move the mtime forward so a poller always sees the edit."""
    path.parent.mkdir(parents=True, exist_ok=True)
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    stamp = max(before + 10_000_000, path.stat().st_mtime_ns)
    os.utime(path, ns=(stamp, stamp))
    return path


def overlay(base_url: str, extra: str = "") -> str:
    return f"endpoint:\n  base_url: {base_url}\n{extra}"


def test_search_order_and_layouts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    explicit, env_dir, user = (
        tmp_path / "explicit",
        tmp_path / "env",
        tmp_path / "xdg/ailib/manifests",
    )
    write(user / "openai.yaml", overlay("http://user.invalid/v1"))
    assert resolve("openai").manifest.base_url == "http://user.invalid/v1"
    write(env_dir / "v2/providers/openai.yaml", overlay("http://env.invalid/v1"))
    monkeypatch.setenv("AI_PROTOCOL_PATH", os.pathsep.join(["/nonexistent", str(env_dir)]))
    found = resolve("openai")
    assert found.manifest.base_url == "http://env.invalid/v1"
    assert found.winner.endswith("v2/providers/openai.yaml")
    write(
        explicit / "dist/v2/providers/openai.json",
        json.dumps({"endpoint": {"base_url": "http://x.invalid/v1"}}),
    )
    found = resolve("openai", [explicit])
    assert found.manifest.base_url == "http://x.invalid/v1"
    # overlays stack onto the built-in, lowest first, each reporting what it set
    assert found.layers[0][0] == BUILTIN
    assert found.layers[-1] == (
        str(explicit / "dist/v2/providers/openai.json"),
        ["endpoint.base_url"],
    )
    assert len(found.layers) == 4
    # untouched parts still come from the built-in
    assert found.manifest.auth["token_env"] == "OPENAI_API_KEY"


def test_whole_manifest_replaces_lower_layers(tmp_path: Path) -> None:
    whole = (
        (ROOT / "manifests/providers/openai.yaml")
        .read_text()
        .replace("https://api.openai.com/v1", "http://whole.invalid/v1")
    )
    write(tmp_path / "low/openai.yaml", overlay("http://low.invalid/v1"))
    write(tmp_path / "high/openai.yaml", whole)
    found = resolve("openai", [tmp_path / "high", tmp_path / "low"])
    assert found.manifest.base_url == "http://whole.invalid/v1"
    assert [src for src, _ in found.layers] == [str(tmp_path / "high/openai.yaml")]
    assert not found.builtin


def test_unknown_provider_and_overlay_without_base(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="no manifest for provider 'nope'"):
        resolve("nope", [tmp_path])
    write(tmp_path / "nope.yaml", overlay("http://x/v1"))
    with pytest.raises(ManifestError, match="has no base manifest"):
        resolve("nope", [tmp_path])


def test_behaviour_override_runs_interpreted_with_same_results_sync(
    tmp_path: Path, mock_server: MockServer
) -> None:
    write(tmp_path / "openai.yaml", overlay(mock_server.base_url("openai")))
    mock_server.push(
        Scenario(text="same answer", usage=(3, 2)), Scenario(text="same answer", usage=(3, 2))
    )
    with AiClient.create("openai/gpt-4o", api_key="k", manifest_paths=[tmp_path]) as client:
        assert client.provider.spec.compiled is False
        interpreted = client.chat().user("hi").execute()
    with AiClient.create(
        "openai/gpt-4o", api_key="k", base_url=mock_server.base_url("openai")
    ) as client:
        assert client.provider.spec.compiled is True
        compiled = client.chat().user("hi").execute()
    assert interpreted.content == compiled.content == "same answer"
    assert (
        interpreted.usage == compiled.usage and interpreted.finish_reason == compiled.finish_reason
    )
    assert mock_server.requests[0].json() == mock_server.requests[1].json()


async def test_env_override_applies_without_arguments_async(
    tmp_path: Path, mock_server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "anthropic.yaml", overlay(mock_server.base_url("anthropic")))
    monkeypatch.setenv("AI_PROTOCOL_PATH", str(tmp_path))
    client = await AsyncAiClient.create("anthropic/claude-sonnet-4-5", api_key="k")
    async with client:
        assert (await client.chat().user("hi").execute()).content == "echo: hi"


def test_shape_change_warns_and_works_through_param(
    tmp_path: Path, mock_server: MockServer
) -> None:
    extra = "parameters:\n  verbosity: {type: string}\n"
    write(tmp_path / "openai.yaml", overlay(mock_server.base_url("openai"), extra))
    with pytest.warns(UserWarning, match=r"new parameters \['verbosity'\].*nox -s codegen"):
        client = AiClient.create("openai/gpt-4o", api_key="k", manifest_paths=[tmp_path])
    with client:
        client.chat().user("hi").param("verbosity", "low").execute()
    assert mock_server.requests[-1].json()["verbosity"] == "low"


def _hot(tmp_path: Path) -> ProtocolLoader:
    return ProtocolLoader([tmp_path], hot_reload=True, poll_interval=0)


def test_hot_reload_next_request_in_flight_and_invalid_sync(
    tmp_path: Path, mock_server: MockServer, second_server: MockServer
) -> None:
    path = write(tmp_path / "openai.yaml", overlay(mock_server.base_url("openai")))
    loader = _hot(tmp_path)
    with AiClient.create("openai/gpt-4o", api_key="k", loader=loader) as client:
        assert client.chat().user("one").execute().content == "echo: one"
        # a stream in flight on the first manifest...
        mock_server.push(Scenario(text="a b c d", chunk_delay=0.01))
        with client.chat().user("x").stream() as stream:
            events = iter(stream)
            first = next(events)
            # ...while the manifest changes: the next request goes to the new server
            write(path, overlay(second_server.base_url("openai")))
            assert client.chat().user("two").execute().content == "echo: two"
            rest = list(events)
        text = first.as_content_delta.content + "".join(
            e.as_content_delta.content for e in rest if e.is_content_delta
        )
        assert text == "a b c d"  # finished on the manifest it started with
        assert len(second_server.requests) == 1 and loader.reloads == 1
        # an invalid edit is rejected; the last good manifest stays in force
        write(path, "endpoint:\n  base_url: 42\n")
        assert client.chat().user("three").execute().content == "echo: three"
        assert len(second_server.requests) == 2
        error = loader.errors["openai"]
        assert isinstance(error, ManifestError) and "openai.yaml:2 at 'endpoint.base_url'" in str(
            error
        )
        # fixing it takes effect again
        write(path, overlay(mock_server.base_url("openai")))
        client.chat().user("four").execute()
        assert mock_server.requests[-1].json()["messages"][-1]["content"] == "four"
        assert "openai" not in loader.errors


async def test_hot_reload_async(
    tmp_path: Path, mock_server: MockServer, second_server: MockServer
) -> None:
    path = write(tmp_path / "gemini.yaml", overlay(mock_server.base_url("gemini")))
    client = await AsyncAiClient.create(
        "gemini/gemini-2.5-flash", api_key="k", loader=_hot(tmp_path)
    )
    async with client:
        await client.chat().user("one").execute()
        write(path, overlay(second_server.base_url("gemini"), "retry_policy: {max_retries: -5}\n"))
        await client.chat().user("two").execute()  # invalid (max_retries < 0): kept the old one
        assert len(second_server.requests) == 0
        write(path, overlay(second_server.base_url("gemini")))
        assert (await client.chat().user("three").execute()).content == "echo: three"
        assert len(second_server.requests) == 1


def test_cli_manifest_commands(tmp_path: Path) -> None:
    write(tmp_path / "openai.yaml", overlay("http://cli.invalid/v1"))
    bad = write(tmp_path / "bad/broken.yaml", "id: broken\nprotocol_version: '2.0'\nendpoint: {}\n")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ailib.cli", *args], capture_output=True, text=True, timeout=60
        )

    shown = run("manifest", "show", "openai", "--manifest-path", str(tmp_path))
    assert shown.returncode == 0
    assert f"{tmp_path / 'openai.yaml'}: endpoint.base_url" in shown.stdout
    assert '"base_url": "http://cli.invalid/v1"' in shown.stdout
    ok = run("manifest", "validate", str(ROOT / "manifests/providers/gemini.yaml"))
    assert ok.returncode == 0 and "provider 'gemini'" in ok.stdout
    broken = run("manifest", "validate", str(bad))
    assert (
        broken.returncode == 1 and "broken.yaml:3" in broken.stderr and "base_url" in broken.stderr
    )
    listing = run("providers", "--manifest-path", str(tmp_path / "bad"))
    assert "openai" in listing.stdout and str(bad) in listing.stdout
    models = run("models", "anthropic")
    assert (
        models.returncode == 0
        and "claude-sonnet-4-5" in models.stdout
        and "$3/$15" in models.stdout
    )


def test_watchdog_notices_an_edit_before_the_poll_interval(
    tmp_path: Path, mock_server: MockServer, second_server: MockServer
) -> None:
    pytest.importorskip("watchdog")
    import time

    path = write(tmp_path / "openai.yaml", overlay(mock_server.base_url("openai")))
    loader = ProtocolLoader([tmp_path], hot_reload=True, poll_interval=3600)  # polling is off
    try:
        assert loader._observer is not None
        first = loader.get("openai")
        write(path, overlay(second_server.base_url("openai")))
        deadline = time.monotonic() + 10
        while loader.get("openai") is first and time.monotonic() < deadline:
            time.sleep(0.02)  # the observer thread reports the change
        assert loader.get("openai").manifest.base_url == second_server.base_url("openai")
    finally:
        loader.close()
