"""End-to-end: ``client.batches`` (sync and async) against the mock server's batch APIs.

OpenAI (JSONL upload + /batches), Anthropic Message Batches and Gemini batch mode: create
from chat builders, poll to completion, results as ChatResponse values with content and
usage, a failed item as a typed error, cancel, and a malformed results line.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from ailib import AiClient, AsyncAiClient
from ailib.batches import AsyncBatches, Batches, BatchJob, BatchOutcome, BatchStatus
from ailib.errors import BatchJobError, CapabilityError, RemoteError
from ailib.testing import MockServer, Scenario
from ailib.types.response import ChatResponse

KEY = "sk-batch-test-key-123"
TARGETS = [
    ("openai", "gpt-4o-mini"),
    ("anthropic", "claude-sonnet-4-5"),
    ("gemini", "gemini-2.0-flash"),
]
IDS = [t[0] for t in TARGETS]


def sync_client(server: MockServer, provider: str, model: str) -> AiClient:
    return AiClient.create(f"{provider}/{model}", base_url=server.base_url(provider), api_key=KEY)


async def async_client(server: MockServer, provider: str, model: str) -> AsyncAiClient:
    url = server.base_url(provider)
    return await AsyncAiClient.create(f"{provider}/{model}", base_url=url, api_key=KEY)


def check_outcomes(outcomes: list[BatchOutcome]) -> None:
    """Item "q1" answered "four", "q2" failed with a classified 400, "request-2" echoed."""
    by_id = {o.custom_id: o.outcome for o in outcomes}
    assert set(by_id) == {"q1", "q2", "request-2"}
    answer = by_id["q1"]
    assert isinstance(answer, ChatResponse) and answer.content == "four"
    assert answer.usage.input_tokens > 0 and answer.usage.output_tokens > 0
    echoed = by_id["request-2"]
    assert isinstance(echoed, ChatResponse) and echoed.content == "echo: hello there"
    failed = by_id["q2"]
    assert isinstance(failed, RemoteError) and failed.code in ("E1001", "E1002")
    assert [o.ok for o in outcomes].count(True) == 2


def check_done(job: BatchJob, provider: str) -> None:
    assert job.status is BatchStatus.COMPLETED and job.done
    assert job.provider == provider
    assert job.counts.total == 3 and job.counts.succeeded == 2 and job.counts.failed == 1
    assert job.created_at is not None and job.ended_at is not None
    assert job.ended_at >= job.created_at


def check_wire(server: MockServer, provider: str) -> None:
    """Each item went up as the provider's own chat body (what execute() sends)."""
    sent = server.requests[0]
    if provider == "openai":
        assert sent.path == "/v1/files"
        assert sent.headers["content-type"].startswith("multipart/form-data; boundary=")
        assert b'name="purpose"\r\n\r\nbatch' in sent.body
        lines = sent.body.replace(b"\r\n", b"\n").split(b"\n")
        line = next(x for x in lines if x.startswith(b'{"custom_id":"q1"'))
        item = json.loads(line)
        assert item["url"] == "/v1/chat/completions" and item["method"] == "POST"
        assert item["body"]["model"] == "gpt-4o-mini"
        assert item["body"]["messages"] == [{"role": "user", "content": "what is 2+2?"}]
        assert server.requests[1].path == "/v1/batches"
    elif provider == "anthropic":
        payload = json.loads(sent.body)
        first = payload["requests"][0]
        assert first["custom_id"] == "q1"
        assert first["params"]["model"] == "claude-sonnet-4-5"
        assert first["params"]["max_tokens"] > 0
        assert sent.headers["anthropic-version"] == "2023-06-01"
    else:
        assert sent.path == "/v1beta/models/gemini-2.0-flash:batchGenerateContent"
        payload = json.loads(sent.body)
        first = payload["batch"]["inputConfig"]["requests"]["requests"][0]
        assert first["metadata"] == {"key": "q1"}
        assert first["request"]["contents"][0]["parts"] == [{"text": "what is 2+2?"}]
        assert sent.headers["x-goog-api-key"] == KEY


@pytest.mark.parametrize(("provider", "model"), TARGETS, ids=IDS)
def test_create_poll_results_sync(mock_server: MockServer, provider: str, model: str) -> None:
    mock_server.batches.polls_to_complete = 3  # done on the third poll
    mock_server.push(Scenario(text="four"), Scenario(status=400))
    with sync_client(mock_server, provider, model) as client:
        assert isinstance(client.batches, Batches)
        job = client.batches.create(
            [
                ("q1", client.chat().user("what is 2+2?").max_tokens(50)),
                ("q2", client.chat().user("this one fails")),
                client.chat().user("hello there"),
            ]
        )
        assert job.status in (BatchStatus.VALIDATING, BatchStatus.IN_PROGRESS)
        assert job.counts.total == 3
        polled = client.batches.status(job.id)
        assert polled.id == job.id and not polled.done
        with pytest.raises(BatchJobError) as early:  # no results before it is done
            list(client.batches.results(job.id))
        assert early.value.code == "E1001"
        done = client.batches.wait(job.id, poll_interval=0.01, timeout=30)
        check_done(done, provider)
        check_outcomes(list(client.batches.results(job.id)))
    check_wire(mock_server, provider)


@pytest.mark.parametrize(("provider", "model"), TARGETS, ids=IDS)
async def test_create_poll_results_async(
    mock_server: MockServer, provider: str, model: str
) -> None:
    mock_server.push(Scenario(text="four"), Scenario(status=400))
    async with await async_client(mock_server, provider, model) as client:
        assert isinstance(client.batches, AsyncBatches)
        job = await client.batches.create(
            {
                "q1": client.chat().user("what is 2+2?").max_tokens(50),
                "q2": client.chat().user("this one fails"),
                "request-2": client.chat().user("hello there"),
            }
        )
        assert job.counts.total == 3
        polled = await client.batches.retrieve(job.id)
        assert polled.id == job.id and not polled.done
        done = await client.batches.wait(job.id, poll_interval=0.01, timeout=30)
        check_done(done, provider)
        outcomes = [outcome async for outcome in client.batches.results(job.id)]
        check_outcomes(outcomes)
    check_wire(mock_server, provider)


def cancelled_outcomes(outcomes: list[BatchOutcome]) -> None:
    assert len(outcomes) == 2
    for outcome in outcomes:
        assert not outcome.ok and isinstance(outcome.outcome, Exception)


@pytest.mark.parametrize(("provider", "model"), TARGETS, ids=IDS)
def test_cancel_sync(mock_server: MockServer, provider: str, model: str) -> None:
    mock_server.batches.polls_to_complete = 5
    with sync_client(mock_server, provider, model) as client:
        job = client.batches.create([client.chat().user("a"), client.chat().user("b")])
        cancelled = client.batches.cancel(job.id)
        assert cancelled.id == job.id
        # Gemini answers a cancel with {}: the job is read again (one more poll)
        assert cancelled.status in (BatchStatus.CANCELLING, BatchStatus.CANCELLED)
        done = client.batches.wait(job.id, poll_interval=0.01, timeout=30)
        # Anthropic reports an ended batch as completed; its items come back cancelled
        assert done.status in (BatchStatus.CANCELLED, BatchStatus.COMPLETED)
        outcomes = list(client.batches.results(job.id))
    cancelled_outcomes(outcomes)
    if provider == "anthropic":
        assert all(getattr(o.outcome, "code", "") == "E4002" for o in outcomes)


@pytest.mark.parametrize(("provider", "model"), TARGETS, ids=IDS)
async def test_cancel_async(mock_server: MockServer, provider: str, model: str) -> None:
    mock_server.batches.polls_to_complete = 5
    async with await async_client(mock_server, provider, model) as client:
        job = await client.batches.create([client.chat().user("a"), client.chat().user("b")])
        cancelled = await client.batches.cancel(job.id)
        assert cancelled.id == job.id
        done = await client.batches.wait(job.id, poll_interval=0.01, timeout=30)
        assert done.status in (BatchStatus.CANCELLED, BatchStatus.COMPLETED)
        outcomes = [o async for o in client.batches.results(job.id)]
    cancelled_outcomes(outcomes)


FILE_TARGETS = TARGETS[:2]  # the providers whose results are a JSONL file


@pytest.mark.parametrize(("provider", "model"), FILE_TARGETS, ids=IDS[:2])
def test_malformed_results_line_sync(mock_server: MockServer, provider: str, model: str) -> None:
    mock_server.batches.polls_to_complete = 1
    mock_server.batches.corrupt_lines = [b'{"custom_id": "x", "resu', b"[" * 10_000]
    with sync_client(mock_server, provider, model) as client:
        job = client.batches.create([("good", client.chat().user("fine"))])
        client.batches.wait(job.id, poll_interval=0.01, timeout=30)
        outcomes = list(client.batches.results(job.id))
    check_malformed(outcomes)


@pytest.mark.parametrize(("provider", "model"), FILE_TARGETS, ids=IDS[:2])
async def test_malformed_results_line_async(
    mock_server: MockServer, provider: str, model: str
) -> None:
    mock_server.batches.polls_to_complete = 1
    mock_server.batches.corrupt_lines = [b'{"custom_id": "x", "resu', b"[" * 10_000]
    async with await async_client(mock_server, provider, model) as client:
        job = await client.batches.create([("good", client.chat().user("fine"))])
        await client.batches.wait(job.id, poll_interval=0.01, timeout=30)
        outcomes = [o async for o in client.batches.results(job.id)]
    check_malformed(outcomes)


def check_malformed(outcomes: list[BatchOutcome]) -> None:
    good = [o for o in outcomes if o.ok]
    assert [o.custom_id for o in good] == ["good"]
    bad = [o.outcome for o in outcomes if not o.ok]
    assert len(bad) == 2 and all(isinstance(e, BatchJobError) for e in bad)
    lines = [e.line for e in bad if isinstance(e, BatchJobError)]
    assert lines == [2, 3]  # the good answer is line 1
    assert "not valid JSON" in str(bad[0]) and "nested too deep" in str(bad[1])


def test_no_batch_api_is_a_capability_error_sync(mock_server: MockServer) -> None:
    url = mock_server.base_url("openai")
    with (
        AiClient.create("groq/llama-3.3-70b-versatile", base_url=url, api_key=KEY) as client,
        pytest.raises(CapabilityError) as caught,
    ):
        client.batches  # noqa: B018
    assert caught.value.code == "E1005" and "groq" in str(caught.value)


async def test_no_batch_api_is_a_capability_error_async(mock_server: MockServer) -> None:
    url = mock_server.base_url("openai")
    client = await AsyncAiClient.create("mock/echo", base_url=url)
    async with client:
        with pytest.raises(CapabilityError) as caught:
            client.batches  # noqa: B018
    assert "mock" in str(caught.value)


@pytest.mark.parametrize("bad", ["../../x", "abc?x=1", "abc#f", "a/b", "a b", "", "..", "é"])
def test_bad_ids_refused_before_sending_sync(mock_server: MockServer, bad: str) -> None:
    with sync_client(mock_server, "openai", "gpt-4o-mini") as client:
        for call in (client.batches.retrieve, client.batches.cancel, client.batches.wait):
            with pytest.raises(BatchJobError) as caught:
                call(bad)
            assert caught.value.code == "E1001"
    assert mock_server.requests == []


async def test_bad_ids_refused_before_sending_async(mock_server: MockServer) -> None:
    client = await async_client(mock_server, "anthropic", "claude-sonnet-4-5")
    async with client:
        for bad in ("../../x", "msgbatch_1/../../v1/models", "x%2F..", "id?q"):
            with pytest.raises(BatchJobError):
                await client.batches.retrieve(bad)
            with pytest.raises(BatchJobError):
                _ = [o async for o in client.batches.results(bad)]
    assert mock_server.requests == []


def test_wait_timeout_sync(mock_server: MockServer) -> None:
    mock_server.batches.polls_to_complete = 1000
    with sync_client(mock_server, "anthropic", "claude-sonnet-4-5") as client:
        job = client.batches.create([client.chat().user("slow")])
        with pytest.raises(BatchJobError) as caught:
            client.batches.wait(job.id, poll_interval=0.01, timeout=0.05)
    assert caught.value.code == "E3003" and job.id in str(caught.value)


async def test_wait_timeout_async(mock_server: MockServer) -> None:
    mock_server.batches.polls_to_complete = 1000
    async with await async_client(mock_server, "gemini", "gemini-2.0-flash") as client:
        job = await client.batches.create([client.chat().user("slow")])
        with pytest.raises(BatchJobError) as caught:
            await client.batches.wait(job.id, poll_interval=0.01, timeout=0.05)
    assert caught.value.code == "E3003"


def test_gemini_accepts_the_operation_name_sync(mock_server: MockServer) -> None:
    with sync_client(mock_server, "gemini", "gemini-2.0-flash") as client:
        job = client.batches.create([client.chat().user("hi")])
        assert "/" not in job.id
        assert client.batches.retrieve(f"batches/{job.id}").id == job.id


def test_unknown_batch_is_a_typed_remote_error_sync(mock_server: MockServer) -> None:
    with (
        sync_client(mock_server, "openai", "gpt-4o-mini") as client,
        pytest.raises(RemoteError) as caught,
    ):
        client.batches.retrieve("batch_nope")
    assert caught.value.code == "E1004" and caught.value.status == 404


def test_bad_custom_ids_refused_before_sending(mock_server: MockServer) -> None:
    with sync_client(mock_server, "anthropic", "claude-sonnet-4-5") as client:
        chat = client.chat().user("x")
        cases: list[Any] = [
            [("same", chat), ("same", chat)],  # twice
            [("has space", chat)],  # Anthropic: letters, digits, _ and - only
            [("x" * 65, chat)],
            [],
            "not a list",
            [42],
        ]
        for requests in cases:
            with pytest.raises(BatchJobError) as caught:
                client.batches.create(requests)
            assert caught.value.code == "E1001"
    assert mock_server.requests == []


async def test_gemini_accepts_the_operation_name_async(mock_server: MockServer) -> None:
    async with await async_client(mock_server, "gemini", "gemini-2.0-flash") as client:
        job = await client.batches.create([client.chat().user("hi")], display_name="nightly")
        assert (await client.batches.status(f"batches/{job.id}")).id == job.id
    assert mock_server.batches.jobs[job.id].display_name == "nightly"


async def test_unknown_batch_is_a_typed_remote_error_async(mock_server: MockServer) -> None:
    async with await async_client(mock_server, "anthropic", "claude-sonnet-4-5") as client:
        with pytest.raises(RemoteError) as caught:
            await client.batches.cancel("msgbatch_nope")
    assert caught.value.code == "E1004"


async def test_bad_custom_ids_refused_before_sending_async(mock_server: MockServer) -> None:
    async with await async_client(mock_server, "gemini", "gemini-2.0-flash") as client:
        chat = client.chat().user("x")
        other_model = client.chat().user("y").build()
        other_model = type(other_model)(model="gemini-2.5-pro", messages=other_model.messages)
        for requests in ([("a", chat), ("a", chat)], [("ctl\x01", chat)], [chat, other_model]):
            with pytest.raises(BatchJobError) as caught:
                await client.batches.create(requests)
            assert caught.value.code == "E1001"
    assert mock_server.requests == []


def test_readme_provider_batch_example_runs_as_shown(
    mock_server: MockServer,
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The README's "Provider batch APIs" block, unchanged, against the mock server (an
    overlay manifest points Anthropic at it, the README's own override mechanism)."""
    import re
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Provider batch APIs\n", 1)[1]
    block = re.search(r"```python\n(.*?)```", section, re.S)
    assert block is not None
    (tmp_path / "anthropic.yaml").write_text(
        f"endpoint:\n  base_url: {mock_server.base_url('anthropic')}\n"
    )
    monkeypatch.setenv("AI_PROTOCOL_PATH", str(tmp_path))
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    mock_server.batches.polls_to_complete = 1  # done at the first poll: no 60 s wait
    mock_server.push(Scenario(text="Paris"), Scenario(status=400))
    exec(compile(block.group(1), "README.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("msgbatch_") and out[0].endswith("in_progress")
    assert out[1] == "1 of 2"
    assert "capital Paris 1" in out and "haiku E1001 " in " ".join(out)
