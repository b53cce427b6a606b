"""The cache examples run as written: the README's "Response cache" block and the seed
README's "Response Caching" example (ailib names), against the loopback mock server."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ailib.testing import MockServer, Scenario

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")


def _block(after_heading: str) -> str:
    section = README.split(after_heading, 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, f"no python block after {after_heading!r}"
    return match.group(1)


@pytest.fixture
def pointed_at_mock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mock_server: MockServer
) -> MockServer:
    overlay = tmp_path / "manifests"
    overlay.mkdir()
    (overlay / "openai.yaml").write_text(
        f"endpoint:\n  base_url: {mock_server.base_url('openai')}\n"
    )
    monkeypatch.setenv("AI_PROTOCOL_PATH", str(overlay))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-readme-test")
    monkeypatch.setenv("HOME", str(tmp_path))  # DiskCache("~/.cache/myapp") lands here
    return mock_server


def test_the_readme_cache_example_runs_as_shown(
    pointed_at_mock: MockServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pointed_at_mock.set_default(Scenario(text="Paris."))
    namespace: dict[str, object] = {}
    exec(compile(_block("### Response cache"), "README.md", "exec"), namespace)
    assert capsys.readouterr().out.strip() == "1 hit(s), 2 miss(es), hit ratio 33%"
    asked = [r.json()["messages"][-1]["content"] for r in pointed_at_mock.requests]
    assert asked == ["Capital of France?", "Tell me a story", "Capital of France?"]
    assert namespace["story"]  # the streamed events
    assert (tmp_path / ".cache" / "myapp" / "cache.db").exists()
    namespace["client"].close()  # type: ignore[attr-defined]
    namespace["cache"].close()  # type: ignore[attr-defined]


async def test_the_seed_readme_example_runs_as_written(pointed_at_mock: MockServer) -> None:
    from ailib import AsyncAiClient
    from ailib.types.messages import Message

    pointed_at_mock.set_default(Scenario(text="Hi there"))
    client = await AsyncAiClient.create("openai/gpt-4o")
    messages = [Message.user("Hello")]
    printed: list[str] = []

    # --- the seed README's "Response Caching" block, with ailib names -------------------
    from ailib.cache import CacheConfig, CacheManager, MemoryCache

    # Create cache manager
    cache = CacheManager(
        config=CacheConfig(default_ttl_seconds=3600), backend=MemoryCache(max_size=1000)
    )

    for _ in range(2):  # (run twice: the second time it is a hit)
        # Cache responses
        key = cache.generate_key(model="gpt-4o", messages=messages)

        # Check cache first
        cached = await cache.get(key)
        if cached:
            printed.append("Cache hit!")
            response = cached
        else:
            response = await client.chat().messages(messages).execute()
            await cache.set(key, response)

    # Get cache statistics
    stats = cache.stats()
    printed.append(f"Hit ratio: {stats.hit_ratio:.2%}")
    # --------------------------------------------------------------------------------------

    await client.aclose()
    assert response.content == "Hi there"
    assert printed == ["Cache hit!", "Hit ratio: 50.00%"]
    assert len(pointed_at_mock.requests) == 1
