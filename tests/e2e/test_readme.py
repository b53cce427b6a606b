"""The README's examples run as shown, against the mock server.

An overlay on the manifest search path points the providers the examples use at the
loopback mock server (the README's own override mechanism), so the code is executed
unchanged.
"""

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
    for provider in ("openai", "anthropic", "gemini"):
        (tmp_path / f"{provider}.yaml").write_text(
            f"endpoint:\n  base_url: {mock_server.base_url(provider)}\n"
        )
    monkeypatch.setenv("AI_PROTOCOL_PATH", str(tmp_path))
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    return mock_server


def test_use_it_example_runs_as_shown(
    pointed_at_mock: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    pointed_at_mock.set_default(Scenario(text="once upon a time"))
    namespace: dict[str, object] = {}
    exec(compile(_block("## Use it"), "README.md", "exec"), namespace)
    assert "once upon a time" in capsys.readouterr().out
    paths = [r.path for r in pointed_at_mock.requests]
    assert paths == ["/v1/chat/completions"] * 2 + ["/v1/messages"] * 2
    assert pointed_at_mock.requests[0].headers["authorization"] == "Bearer ..."


def test_tools_example_runs_as_shown(pointed_at_mock: MockServer) -> None:
    from ailib import AiClient, Message, ToolDefinition

    pointed_at_mock.push(Scenario(tool_calls=[("get_weather", {"location": "Tokyo"})]))
    namespace: dict[str, object] = {
        "Message": Message,
        "ToolDefinition": ToolDefinition,
    }  # the README's imports
    with AiClient.create("openai/gpt-4o", api_key="k") as client:
        namespace["client"] = client
        exec(compile(_block("### Tools, multi-turn"), "README.md", "exec"), namespace)
    assert namespace["call"].arguments == {"location": "Tokyo"}  # type: ignore[attr-defined]
    last = pointed_at_mock.requests[-1].json()["messages"][-1]
    assert last["role"] == "tool" and last["content"] == '{"temp": 21}'


def _as_coroutine(block: str) -> str:
    """A README block written with top-level ``await``, as the body of ``async def main()``."""
    body = "".join(f"    {line}\n" if line.strip() else "\n" for line in block.splitlines())
    return f"async def main():\n{body}    return locals()\n"


def test_production_example_runs_as_shown(
    pointed_at_mock: MockServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-test")
    monkeypatch.setenv("GEMINI_API_KEY", "gemini-test-key")
    pointed_at_mock.push(Scenario(status=401))  # E1002: not retried, falls back to anthropic
    namespace: dict[str, object] = {}
    exec(compile(_block("## Production: one request pipeline"), "README.md", "exec"), namespace)
    shown = capsys.readouterr().out
    assert shown.startswith("Pipeline(per call: signals -> fallback[anthropic/")
    assert "rate_limit(10/s" in shown and "circuit_breaker(threshold=5" in shown
    assert namespace["resp"].served_by == "anthropic/claude-sonnet-4-5"  # type: ignore[attr-defined]
    stats = namespace["client"].get_resilience_stats()  # type: ignore[attr-defined]
    assert stats.fallbacks == 1 and stats.successes == 1
    namespace["client"].close()  # type: ignore[attr-defined]


def test_cancellation_example_runs_as_shown(
    pointed_at_mock: MockServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-test")
    pointed_at_mock.set_default(Scenario(text="a long story indeed"))
    namespace: dict[str, object] = {}
    exec(compile(_block("### Stream cancellation"), "README.md", "exec"), namespace)
    asyncio.run(namespace["cancellable_stream"]())  # type: ignore[operator]
    assert "a long story indeed" in capsys.readouterr().out.replace("echo: ", "")


def test_plugin_example_runs_as_shown(
    pointed_at_mock: MockServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-test")
    namespace: dict[str, object] = {}
    block = _as_coroutine(_block("### Plugins, hooks and middleware"))
    exec(compile(block, "README.md", "exec"), namespace)
    found = asyncio.run(namespace["main"]())  # type: ignore[operator]
    client = found["client"]

    async def call() -> str:
        async with client:
            return str((await client.chat().user("hello").execute()).content)

    assert asyncio.run(call()) == "echo: hello"
    out = capsys.readouterr().out
    assert "Request to gpt-4o" in out and "Starting gpt-4o" in out  # the manual trigger
    assert "Response received" in out  # the plugin ran around the client's call


def test_batch_example_runs_as_shown(
    pointed_at_mock: MockServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import asyncio

    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-test")
    monkeypatch.chdir(tmp_path)  # the example's checkpoint file lands here
    pointed_at_mock.set_default(
        lambda body: Scenario(status=429) if body["messages"][-1]["content"] == "q3" else Scenario()
    )
    namespace: dict[str, object] = {}
    exec(compile(_block("## Batch\n"), "README.md", "exec"), namespace)
    questions = [f"q{i}" for i in range(5)]
    answers = asyncio.run(namespace["answer_all"](questions))  # type: ignore[operator]
    assert answers == ["echo: q0", "echo: q1", "echo: q2", None, "echo: q4"]
    shown = capsys.readouterr().out.splitlines()
    assert shown[0] == "4 answered, 1 failed" and shown[1].startswith("3 E2001 [E2001")
    sent = len(pointed_at_mock.requests)
    assert asyncio.run(namespace["answer_all"](questions)) == answers  # type: ignore[operator]
    assert len(pointed_at_mock.requests) == sent  # resumed from answers.jsonl: nothing sent
