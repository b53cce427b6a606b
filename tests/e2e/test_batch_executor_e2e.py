"""Batches of chats through AiClient / AsyncAiClient against the loopback mock server.

The clients carry a pipeline (retry, max_inflight); the server answers each prompt by
its number: some fail for good (400), some once (429, then retried), one hangs past the
batch's per-item timeout. Requests are counted on the server, so a resumed run shows
that no finished item was sent again. The seed README's batch example runs as written.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from ailib import AiClient, AsyncAiClient
from ailib.batch import AsyncBatchExecutor, BatchExecutor, BatchResult
from ailib.errors import AiLibError, BatchTimeoutError
from ailib.resilience import RetryConfig
from ailib.testing import MockServer, Scenario
from ailib.types.response import ChatResponse

RETRY = RetryConfig(max_retries=2, min_delay_ms=1, max_delay_ms=5)
PROMPTS = [f"prompt {i}" for i in range(24)]
FAILS = {3, 11}  # 400: E1001, not retried
FLAKY = {5, 17}  # 429 once, then answered: the client's retry
HANGS = 20  # answers after the batch's per-item timeout


def scripted(server: MockServer) -> Counter[str]:
    """Answers by prompt number; the returned counter counts requests per prompt."""
    sent: Counter[str] = Counter()
    lock = threading.Lock()

    def answer(body: dict[str, Any]) -> Scenario:
        prompt = str(body["messages"][-1]["content"])
        number = int(prompt.split()[-1])
        with lock:
            sent[prompt] += 1
            first = sent[prompt] == 1
        if number in FAILS:
            return Scenario(status=400)
        if number in FLAKY and first:
            return Scenario(status=429, retry_after=0.01)
        if number == HANGS:
            return Scenario(delay=5.0)
        return Scenario()

    server.set_default(answer)
    return sent


def sync_client(server: MockServer) -> AiClient:
    return (
        AiClient.builder()
        .model("openai/gpt-4o")
        .api_key("sk-test")
        .base_url(server.base_url("openai"))
        .with_retry(RETRY)
        .max_inflight(4)
        .build()
    )


async def async_client(server: MockServer) -> AsyncAiClient:
    return await (
        AsyncAiClient.builder()
        .model("openai/gpt-4o")
        .api_key("sk-test")
        .base_url(server.base_url("openai"))
        .with_retry(RETRY)
        .max_inflight(4)
        .build()
    )


def check(result: BatchResult[Any], sent: Counter[str]) -> None:
    for index, prompt in enumerate(PROMPTS):
        value = result.results[index]
        if index in FAILS or index == HANGS:
            assert value is None
        else:
            content = value.content if isinstance(value, ChatResponse) else value
            assert content == f"echo: {prompt}", index
    errors = dict(result.get_errors())
    assert set(errors) == {*FAILS, HANGS}
    for index in FAILS:
        assert isinstance(errors[index], AiLibError) and errors[index].code == "E1001"
        assert errors[index].status == 400  # type: ignore[attr-defined]
        assert sent[PROMPTS[index]] == 1  # not retried
    timed_out = errors[HANGS]
    assert isinstance(timed_out, AiLibError) and timed_out.code == "E3003"
    for index in FLAKY:
        assert sent[PROMPTS[index]] == 2  # retried once by the client's pipeline
    assert (result.successful_count, result.failed_count) == (21, 3)


def test_sync_batch_of_chats_through_the_pipeline(mock_server: MockServer) -> None:
    sent = scripted(mock_server)
    with sync_client(mock_server) as client:

        def ask(prompt: str) -> str:
            return client.chat().user(prompt).execute().content

        result = BatchExecutor(ask, max_concurrent=8, timeout=2.0).execute(PROMPTS)
        stats = client.get_resilience_stats()
    check(result, sent)
    assert stats.retries >= 2


async def test_async_batch_of_chats_through_the_pipeline(mock_server: MockServer) -> None:
    sent = scripted(mock_server)
    async with await async_client(mock_server) as client:

        async def ask(prompt: str) -> str:
            return (await client.chat().user(prompt).execute()).content

        result = await AsyncBatchExecutor(ask, max_concurrent=8, timeout=2.0).execute(PROMPTS)
        assert client.get_resilience_stats().retries >= 2
    check(result, sent)
    assert isinstance(result.errors[HANGS], BatchTimeoutError | AiLibError)


def test_sync_resume_sends_no_finished_chat_again(mock_server: MockServer, tmp_path: Path) -> None:
    sent = scripted(mock_server)
    book = tmp_path / "chats.jsonl"
    with sync_client(mock_server) as client:

        def ask(prompt: str) -> ChatResponse:
            return client.chat().user(prompt).execute()

        first = BatchExecutor(ask, max_concurrent=6, timeout=2.0, checkpoint=book)
        first.execute(PROMPTS[:12])
        before = Counter(sent)
        result = BatchExecutor(ask, max_concurrent=6, timeout=2.0, checkpoint=book).execute(PROMPTS)
    assert result.restored == 12
    for prompt in PROMPTS[:12]:
        assert sent[prompt] == before[prompt]  # the server never saw it again
    check(result, sent)
    assert result.errors[3].code == "E1001"  # type: ignore[union-attr]  # restored, typed


async def test_async_resume_sends_no_finished_chat_again(
    mock_server: MockServer, tmp_path: Path
) -> None:
    sent = scripted(mock_server)
    book = tmp_path / "chats.jsonl"
    async with await async_client(mock_server) as client:

        async def ask(prompt: str) -> ChatResponse:
            return await client.chat().user(prompt).execute()

        await AsyncBatchExecutor(ask, checkpoint=book, timeout=2.0).execute(PROMPTS[:12])
        before = Counter(sent)
        again = AsyncBatchExecutor(ask, max_concurrent=6, timeout=2.0, checkpoint=book)
        result = await again.execute(PROMPTS)
    assert result.restored == 12
    assert all(sent[p] == before[p] for p in PROMPTS[:12])
    check(result, sent)


# ---- the seed README's example, with ailib names ------------------------------------------------

SEED_README = Path(__file__).parents[3] / "shared" / "seed" / "ai-lib-python-README.md"
#: the seed's names -> ours (async-only seed classes take our Async* names)
RENAMES: list[tuple[str, str]] = [
    (r"\bai_lib_python\b", "ailib"),
    (r"\bBatchExecutor\b", "AsyncBatchExecutor"),
    (r"\bAiClient\b", "AsyncAiClient"),
]


def seed_block(heading: str) -> str:
    if not SEED_README.exists():
        pytest.skip(f"the seed README is not at {SEED_README}")
    section = SEED_README.read_text(encoding="utf-8").split(heading, 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, heading
    code = match.group(1)
    for pattern, name in RENAMES:
        code = re.sub(pattern, name, code)
    return code


def as_coroutine(block: str) -> str:
    body = "".join(f"    {line}\n" if line.strip() else "\n" for line in block.splitlines())
    return f"async def main():\n{body}    return locals()\n"


@pytest.fixture
def openai_at_mock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mock_server: MockServer
) -> MockServer:
    (tmp_path / "openai.yaml").write_text(
        f"endpoint:\n  base_url: {mock_server.base_url('openai')}\n"
    )
    monkeypatch.setenv("AI_PROTOCOL_PATH", str(tmp_path))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-test")
    return mock_server


def test_the_seed_batch_example_runs_as_written(
    openai_at_mock: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code = seed_block("### Batch Processing")
    assert "from ailib.batch import AsyncBatchExecutor, BatchConfig" in code
    namespace: dict[str, Any] = {"AsyncAiClient": AsyncAiClient}  # the seed's earlier import
    exec(compile(as_coroutine(code), "seed-README.md", "exec"), namespace)
    found = asyncio.run(namespace["main"]())
    shown = capsys.readouterr().out.splitlines()
    assert shown == [
        "Successful: 3",
        "Failed: 0",
        "echo: What is AI?",
        "echo: What is Python?",
        "echo: What is async?",
    ]
    assert found["result"].successful_count == 3
    assert len(openai_at_mock.requests) == 3


def test_the_seed_batch_example_has_a_sync_analogue(openai_at_mock: MockServer) -> None:
    from ailib.batch import BatchExecutor as SyncBatchExecutor

    def process_question(question: str) -> str:
        with AiClient.create("openai/gpt-4o") as client:
            return client.chat().user(question).execute().content

    questions = ["What is AI?", "What is Python?", "What is async?"]
    result = SyncBatchExecutor(process_question, max_concurrent=5).execute(questions)
    assert (result.successful_count, result.failed_count) == (3, 0)
    assert result.get_successful_results() == [f"echo: {q}" for q in questions]
