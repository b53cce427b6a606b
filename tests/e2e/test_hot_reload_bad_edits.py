"""Hot reload with parse-level bad edits (issue 6, item 11), sync and async.

A hot-reloaded manifest edited into something that cannot even be parsed (not UTF-8,
control characters, aliases that explode, nesting 100k deep, a bad YAML date) is
rejected: ``loader.errors`` holds a ManifestError naming the file, the error is logged,
and requests keep going to the last good manifest until the file is fixed.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ailib import AiClient, AsyncAiClient
from ailib.errors import ManifestError
from ailib.protocol.hot import ProtocolLoader
from ailib.testing import MockServer

LAUGHS = "lol0: &lol0 [a, a, a, a, a, a, a, a, a, a]\n" + "".join(
    f"lol{i}: &lol{i} [{', '.join([f'*lol{i - 1}'] * 10)}]\n" for i in range(1, 9)
)

#: name -> (file name, the bad bytes, what the error says)
BAD_EDITS: dict[str, tuple[str, bytes, str]] = {
    "not-utf8": ("openai.yaml", b"endpoint:\n  base_url: http://caf\xe9/v1\n", "not UTF-8"),
    "control-char": ("openai.yaml", b"endpoint:\n  base_url: a\x07b\n", "control character"),
    "nul-in-json": ("openai.json", b'{"endpoint": {"base_url": "\x00"}}', "control character"),
    "billion-laughs": ("openai.yaml", LAUGHS.encode(), "more than 100000 values"),
    "json-100k-deep": ("openai.json", b"[" * 100_000 + b"]" * 100_000, "nested more than"),
    "yaml-100k-deep": ("openai.yaml", b"x: " + b"{a: " * 100_000 + b"}" * 100_000, "nested"),
    "bad-date": ("openai.yaml", b"endpoint: {}\nwhen: 2024-13-45\n", "not valid YAML"),
}


@pytest.fixture(autouse=True)
def isolated_search_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AI_PROTOCOL_PATH", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


@pytest.fixture
def second_server() -> Iterator[MockServer]:
    with MockServer() as server:
        yield server


def write(path: Path, raw: bytes) -> Path:
    """Write and move the mtime forward so a poller always sees the edit."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_bytes(raw)
    stamp = max(before + 10_000_000, path.stat().st_mtime_ns)
    os.utime(path, ns=(stamp, stamp))
    return path


def good(name: str, base_url: str) -> bytes:
    if name.endswith(".json"):
        return json.dumps({"endpoint": {"base_url": base_url}}).encode()
    return f"endpoint:\n  base_url: {base_url}\n".encode()


def check_rejected(loader: ProtocolLoader, path: Path, message: str) -> None:
    error = loader.errors["openai"]
    assert isinstance(error, ManifestError)
    assert str(path) in str(error) and message in str(error)


@pytest.mark.parametrize("case", sorted(BAD_EDITS))
def test_bad_edit_keeps_the_last_good_manifest_sync(
    case: str,
    tmp_path: Path,
    mock_server: MockServer,
    second_server: MockServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    name, raw, message = BAD_EDITS[case]
    path = write(tmp_path / name, good(name, mock_server.base_url("openai")))
    loader = ProtocolLoader([tmp_path], hot_reload=True, poll_interval=0)
    with AiClient.create("openai/gpt-4o", api_key="k", loader=loader) as client:
        assert client.chat().user("one").execute().content == "echo: one"
        write(path, raw)
        with caplog.at_level(logging.ERROR, logger="ailib"):
            assert client.chat().user("two").execute().content == "echo: two"
        assert client.chat().user("three").execute().content == "echo: three"
        check_rejected(loader, path, message)
        assert any("rejected manifest change" in r.getMessage() for r in caplog.records)
        assert len(second_server.requests) == 0
        # a fixed file takes effect again
        write(path, good(name, second_server.base_url("openai")))
        assert client.chat().user("four").execute().content == "echo: four"
        assert len(second_server.requests) == 1 and "openai" not in loader.errors


@pytest.mark.parametrize("case", sorted(BAD_EDITS))
async def test_bad_edit_keeps_the_last_good_manifest_async(
    case: str, tmp_path: Path, mock_server: MockServer, second_server: MockServer
) -> None:
    name, raw, message = BAD_EDITS[case]
    path = write(tmp_path / name, good(name, mock_server.base_url("openai")))
    loader = ProtocolLoader([tmp_path], hot_reload=True, poll_interval=0)
    client = await AsyncAiClient.create("openai/gpt-4o", api_key="k", loader=loader)
    async with client:
        assert (await client.chat().user("one").execute()).content == "echo: one"
        write(path, raw)
        assert (await client.chat().user("two").execute()).content == "echo: two"
        stream = client.chat().user("three").stream()
        async with stream:
            async for _ in stream:
                pass
        check_rejected(loader, path, message)
        assert len(second_server.requests) == 0
        write(path, good(name, second_server.base_url("openai")))
        assert (await client.chat().user("four").execute()).content == "echo: four"
        assert len(second_server.requests) == 1 and "openai" not in loader.errors


def test_an_unforeseen_error_while_reloading_is_kept_typed(
    tmp_path: Path, mock_server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever a reload raises, requests go on and loader.errors holds a ManifestError."""
    from ailib.protocol import hot

    path = write(tmp_path / "openai.yaml", good("openai.yaml", mock_server.base_url("openai")))
    loader = ProtocolLoader([tmp_path], hot_reload=True, poll_interval=0)
    with AiClient.create("openai/gpt-4o", api_key="k", loader=loader) as client:
        client.chat().user("one").execute()

        def boom(*args: object, **kwargs: object) -> object:
            raise RecursionError("maximum recursion depth exceeded")

        monkeypatch.setattr(hot, "resolve", boom)
        write(path, good("openai.yaml", mock_server.base_url("openai") + "/"))
        assert client.chat().user("two").execute().content == "echo: two"
        error = loader.errors["openai"]
        assert isinstance(error, ManifestError) and "RecursionError" in str(error)
        assert str(path) in str(error)


#: edits that parse but cannot configure an engine: refused when the client adopts them
UNUSABLE_URLS = {
    "no-scheme": "example.com/v1",
    "ftp": "ftp://example.com/v1",
    "plain-http-remote": "http://example.com/v1",  # the key would travel in clear text
}


@pytest.mark.parametrize("case", sorted(UNUSABLE_URLS))
def test_an_unusable_base_url_keeps_the_last_good_engine_sync(
    case: str, tmp_path: Path, mock_server: MockServer, second_server: MockServer
) -> None:
    path = write(tmp_path / "openai.yaml", good("openai.yaml", mock_server.base_url("openai")))
    loader = ProtocolLoader([tmp_path], hot_reload=True, poll_interval=0)
    with AiClient.create("openai/gpt-4o", api_key="k", loader=loader) as client:
        assert client.chat().user("one").execute().content == "echo: one"
        write(path, good("openai.yaml", UNUSABLE_URLS[case]))
        assert client.chat().user("two").execute().content == "echo: two"
        assert client.chat().user("three").execute().content == "echo: three"
        error = loader.errors["openai"]
        assert error.code == "E1001" and "example.com" in str(error)
        write(path, good("openai.yaml", second_server.base_url("openai")))
        assert client.chat().user("four").execute().content == "echo: four"
        assert len(second_server.requests) == 1


@pytest.mark.parametrize("case", sorted(UNUSABLE_URLS))
async def test_an_unusable_base_url_keeps_the_last_good_engine_async(
    case: str, tmp_path: Path, mock_server: MockServer, second_server: MockServer
) -> None:
    path = write(tmp_path / "openai.yaml", good("openai.yaml", mock_server.base_url("openai")))
    loader = ProtocolLoader([tmp_path], hot_reload=True, poll_interval=0)
    client = await AsyncAiClient.create("openai/gpt-4o", api_key="k", loader=loader)
    async with client:
        assert (await client.chat().user("one").execute()).content == "echo: one"
        write(path, good("openai.yaml", UNUSABLE_URLS[case]))
        assert (await client.chat().user("two").execute()).content == "echo: two"
        assert loader.errors["openai"].code == "E1001"
        write(path, good("openai.yaml", second_server.base_url("openai")))
        assert (await client.chat().user("four").execute()).content == "echo: four"
        assert len(second_server.requests) == 1
