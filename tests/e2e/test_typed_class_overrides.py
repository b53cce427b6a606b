"""Typed provider classes made directly (``OpenAI()``) follow the manifest search path
(AI_PROTOCOL_PATH, the user config dir) as ``AiClient.create`` does; sync and async."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from ailib.errors import AiLibError
from ailib.providers.openai import SPEC, AsyncOpenAI, OpenAI
from ailib.testing import MockServer
from ailib.types.messages import Message


@pytest.fixture(scope="module")
def server() -> Any:
    with MockServer() as srv:
        yield srv


@pytest.fixture
def overlay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: MockServer) -> Path:
    (tmp_path / "openai.yaml").write_text(
        f"endpoint: {{base_url: '{server.base_url('openai')}'}}\n"
    )
    monkeypatch.setenv("AI_PROTOCOL_PATH", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))
    return tmp_path


@pytest.fixture
def no_overlay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AI_PROTOCOL_PATH", str(tmp_path))  # an empty directory
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))


def test_typed_class_follows_an_overlay_sync(overlay: Path, server: MockServer) -> None:
    with OpenAI(api_key="sk-test") as provider:
        assert provider.base_url == server.base_url("openai")
        assert provider.spec is not SPEC and not provider.spec.compiled
        resp = provider.chat(model="gpt-4o", messages=[Message.user("hi")])
    assert resp.content == "echo: hi"


def test_typed_class_follows_an_overlay_async(overlay: Path, server: MockServer) -> None:
    async def run() -> str:
        async with AsyncOpenAI(api_key="sk-test") as provider:
            assert provider.base_url == server.base_url("openai")
            resp = await provider.chat(model="gpt-4o", messages=[Message.user("hi")])
            return resp.content

    assert asyncio.run(run()) == "echo: hi"


def test_without_a_file_the_compiled_spec_is_used_sync(no_overlay: None) -> None:
    with OpenAI(api_key="sk-test") as provider:
        assert provider.spec is SPEC


def test_without_a_file_the_compiled_spec_is_used_async(no_overlay: None) -> None:
    async def run() -> None:
        async with AsyncOpenAI(api_key="sk-test") as provider:
            assert provider.spec is SPEC

    asyncio.run(run())


def test_a_broken_overlay_is_a_typed_error_naming_the_file_sync(overlay: Path) -> None:
    (overlay / "openai.yaml").write_text("endpoint: [unclosed\n")
    with pytest.raises(AiLibError) as info:
        OpenAI(api_key="sk-test")
    assert "openai.yaml" in str(info.value)


def test_a_broken_overlay_is_a_typed_error_naming_the_file_async(overlay: Path) -> None:
    (overlay / "openai.yaml").write_text("endpoint: [unclosed\n")
    with pytest.raises(AiLibError) as info:
        AsyncOpenAI(api_key="sk-test")
    assert "openai.yaml" in str(info.value)
