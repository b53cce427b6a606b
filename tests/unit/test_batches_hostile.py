"""client.batches against a hostile or broken server (respx, no socket): ids unfit for a
URL path, unknown statuses, oversized results, malformed results lines; sync and async."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

respx = pytest.importorskip("respx", reason="respx is a dev dependency")

from ailib import AiClient, AsyncAiClient  # noqa: E402
from ailib.batches import BatchOutcome, BatchStatus  # noqa: E402
from ailib.errors import BatchJobError, RemoteError, ResponseTooLargeError  # noqa: E402
from ailib.runtime.limits import Limits  # noqa: E402
from ailib.types.response import ChatResponse  # noqa: E402

BASE = "http://127.0.0.1:9/v1"
KEY = "sk-ant-hostile-test-key-0123456789"


def anthropic_job(status: str = "ended", **extra: Any) -> dict[str, Any]:
    job = {
        "id": "msgbatch_01",
        "type": "message_batch",
        "processing_status": status,
        "request_counts": {"processing": 0, "succeeded": 1, "errored": 0, "canceled": 0,
                           "expired": 0},
        "created_at": "2026-12-07T10:00:00.123456789Z",
        "ended_at": "2026-12-07T11:00:00Z",
        "results_url": "https://evil.example/steal",
    }  # fmt: skip
    job.update(extra)
    return job


MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5",
    "content": [{"type": "text", "text": "fine"}],
    "stop_reason": "end_turn",
    "usage": {"input_tokens": 3, "output_tokens": 1},
}


def line(obj: Any) -> bytes:
    return json.dumps(obj).encode()


RESULTS = b"\n".join(
    [
        line({"custom_id": "ok", "result": {"type": "succeeded", "message": MESSAGE}}),
        b'{"custom_id": "cut", "res',  # 2: not JSON
        line(["not", "an", "object"]),  # 3
        line({"result": {"type": "succeeded", "message": MESSAGE}}),  # 4: no custom_id
        line({"custom_id": "odd", "result": {"type": "exploded"}}),  # 5: unknown type
        b"[" * 5000,  # 6: nested too deep
        b"",  # blank: skipped
        line({"custom_id": "gone", "result": {"type": "expired"}}),  # 8
        line({"custom_id": "stop", "result": {"type": "canceled"}}),  # 9
        line(
            {
                "custom_id": "busy",
                "result": {
                    "type": "errored",
                    "error": {
                        "type": "error",
                        "error": {"type": "rate_limit_error", "message": f"slow down {KEY}"},
                    },
                },
            }
        ),  # 10
        line({"custom_id": "last", "result": {"type": "succeeded", "message": MESSAGE}}),
    ]
)


def check_results(outcomes: list[BatchOutcome]) -> None:
    by_line = {
        o.outcome.line: o
        for o in outcomes
        if isinstance(o.outcome, BatchJobError) and o.outcome.line
    }
    assert sorted(by_line) == [2, 3, 4, 5, 6]
    assert "not valid JSON" in str(by_line[2].outcome)
    assert "nested too deep" in str(by_line[6].outcome)
    assert by_line[5].custom_id == "odd" and "exploded" in str(by_line[5].outcome)
    named = {o.custom_id: o.outcome for o in outcomes if o.custom_id}
    assert isinstance(named["ok"], ChatResponse) and named["ok"].content == "fine"
    assert isinstance(named["last"], ChatResponse)  # lines after the bad ones still come
    assert getattr(named["gone"], "code", None) == "E3003"
    assert getattr(named["stop"], "code", None) == "E4002"
    busy = named["busy"]
    assert isinstance(busy, RemoteError) and busy.code == "E2001"
    assert KEY not in str(busy) and KEY not in repr(busy.body)


def routes(router: Any, job: dict[str, Any], results: bytes = RESULTS) -> dict[str, Any]:
    return {
        "job": router.get("/messages/batches/msgbatch_01").respond(json=job),
        "results": router.get("/messages/batches/msgbatch_01/results").respond(content=results),
        "evil": respx.get("https://evil.example/steal").respond(content=b""),
    }


def test_malformed_lines_are_typed_errors_and_the_rest_come_sync() -> None:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        called = routes(router, anthropic_job())
        with AiClient.create("anthropic/claude-sonnet-4-5", base_url=BASE, api_key=KEY) as client:
            outcomes = list(client.batches.results("msgbatch_01"))
    check_results(outcomes)
    assert called["results"].called and not called["evil"].called  # results_url ignored


async def test_malformed_lines_are_typed_errors_and_the_rest_come_async() -> None:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        called = routes(router, anthropic_job())
        client = await AsyncAiClient.create(
            "anthropic/claude-sonnet-4-5", base_url=BASE, api_key=KEY
        )
        async with client:
            outcomes = [o async for o in client.batches.results("msgbatch_01")]
    check_results(outcomes)
    assert not called["evil"].called


def test_huge_results_are_bounded_by_limits_sync() -> None:
    limits = Limits(max_body_bytes=4096)
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        routes(router, anthropic_job(), results=b"x" * 100_000)
        with (
            AiClient.create(
                "anthropic/claude-sonnet-4-5", base_url=BASE, api_key=KEY, limits=limits
            ) as client,
            pytest.raises(ResponseTooLargeError) as caught,
        ):
            list(client.batches.results("msgbatch_01"))
    assert caught.value.limit == 4096


async def test_huge_results_are_bounded_by_limits_async() -> None:
    limits = Limits(max_body_bytes=4096)
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        routes(router, anthropic_job(), results=b"x" * 100_000)
        client = await AsyncAiClient.create(
            "anthropic/claude-sonnet-4-5", base_url=BASE, api_key=KEY, limits=limits
        )
        async with client:
            with pytest.raises(ResponseTooLargeError):
                _ = [o async for o in client.batches.results("msgbatch_01")]


def test_a_line_over_max_line_bytes_is_one_error_sync() -> None:
    limits = Limits(max_line_bytes=2048)
    long_line = line({"custom_id": "big", "result": {"type": "expired", "pad": "y" * 4000}})
    ok = line({"custom_id": "ok", "result": {"type": "succeeded", "message": MESSAGE}})
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        routes(router, anthropic_job(), results=long_line + b"\n" + ok)
        with AiClient.create(
            "anthropic/claude-sonnet-4-5", base_url=BASE, api_key=KEY, limits=limits
        ) as client:
            outcomes = list(client.batches.results("msgbatch_01"))
    first, second = outcomes
    assert isinstance(first.outcome, BatchJobError) and first.outcome.line == 1
    assert "max_line_bytes" in str(first.outcome)
    assert second.ok


def test_unknown_status_is_a_clear_error_sync() -> None:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        routes(router, anthropic_job(status="teleporting"))
        with (
            AiClient.create("anthropic/claude-sonnet-4-5", base_url=BASE, api_key=KEY) as client,
            pytest.raises(BatchJobError) as caught,
        ):
            client.batches.retrieve("msgbatch_01")
    assert "teleporting" in str(caught.value) and "anthropic" in str(caught.value)
    assert caught.value.code == "E9999"


async def test_unknown_status_is_a_clear_error_async() -> None:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        routes(router, anthropic_job(status=None))
        client = await AsyncAiClient.create(
            "anthropic/claude-sonnet-4-5", base_url=BASE, api_key=KEY
        )
        async with client:
            with pytest.raises(BatchJobError) as caught:
                await client.batches.wait("msgbatch_01", poll_interval=0)
    assert "None" in str(caught.value)


HOSTILE_IDS = ["../../admin", "batch_1?x=1", "batch_1#frag", "a/b", "batch 1", "%2e%2e", ""]


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
def test_a_server_id_unfit_for_a_path_is_refused_sync(hostile: str) -> None:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        upload = router.post("/files").respond(json={"id": hostile, "object": "file"})
        create = router.post("/batches").respond(json={})
        with (
            AiClient.create("openai/gpt-4o-mini", base_url=BASE, api_key="sk-x") as client,
            pytest.raises(BatchJobError) as caught,
        ):
            client.batches.create([client.chat().user("hi")])
    assert upload.called and not create.called  # refused before it reached a URL or body
    assert caught.value.code == "E1001"


@pytest.mark.parametrize("hostile", HOSTILE_IDS[:4])
async def test_a_server_file_id_unfit_for_a_path_is_refused_async(hostile: str) -> None:
    job = {"id": "batch_1", "status": "completed", "created_at": 1, "output_file_id": hostile,
           "request_counts": {"total": 1, "completed": 1, "failed": 0}}  # fmt: skip
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.get("/batches/batch_1").respond(json=job)
        content = router.route(method="GET", path__regex=r"/files/").respond(content=b"")
        client = await AsyncAiClient.create("openai/gpt-4o-mini", base_url=BASE, api_key="sk-x")
        async with client:
            with pytest.raises(BatchJobError) as caught:
                _ = [o async for o in client.batches.results("batch_1")]
    assert not content.called and caught.value.code == "E1001"


def test_a_job_body_that_is_not_an_object_is_refused_sync() -> None:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.get("/batches/batch_1").respond(json=["batch_1"])
        with (
            AiClient.create("openai/gpt-4o-mini", base_url=BASE, api_key="sk-x") as client,
            pytest.raises(BatchJobError),
        ):
            client.batches.retrieve("batch_1")


def test_gemini_counts_and_times_as_sent_sync() -> None:
    operation = {
        "name": "batches/abc123",
        "metadata": {
            "state": "BATCH_STATE_RUNNING",
            "createTime": "2026-12-07T10:00:00.123456789Z",
            "batchStats": {"requestCount": "5", "successfulRequestCount": "2",
                           "failedRequestCount": "x", "pendingRequestCount": "3"},
        },
    }  # fmt: skip
    base = "http://127.0.0.1:9/v1beta"
    with respx.mock(base_url=base, assert_all_called=False) as router:
        router.get("/batches/abc123").respond(json=operation)
        with AiClient.create("gemini/gemini-2.0-flash", base_url=base, api_key="g") as client:
            job = client.batches.retrieve("batches/abc123")
    assert job.id == "abc123" and job.status is BatchStatus.IN_PROGRESS
    assert (job.counts.total, job.counts.succeeded, job.counts.failed) == (5, 2, 0)
    assert job.counts.processing == 3
    assert job.created_at is not None and job.created_at.microsecond == 123456
    assert job.ended_at is None


def test_openai_item_errors_are_classified_sync() -> None:
    job = {"id": "batch_1", "status": "completed", "created_at": 1, "output_file_id": None,
           "error_file_id": "file-err1", "request_counts": {"total": 2, "completed": 0,
                                                            "failed": 2}}  # fmt: skip
    errors = b"\n".join(
        [
            line(
                {
                    "custom_id": "a",
                    "response": {
                        "status_code": 429,
                        "body": {
                            "error": {
                                "type": "requests",
                                "code": "rate_limit_exceeded",
                                "message": "slow",
                            }
                        },
                    },
                    "error": None,
                }
            ),
            line(
                {
                    "custom_id": "b",
                    "response": None,
                    "error": {"code": "batch_expired", "message": "expired"},
                }
            ),
        ]
    )
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.get("/batches/batch_1").respond(json=job)
        router.get("/files/file-err1/content").respond(content=errors)
        with AiClient.create("openai/gpt-4o-mini", base_url=BASE, api_key="sk-x") as client:
            outcomes = list(client.batches.results("batch_1"))
    first, second = outcomes
    assert first.custom_id == "a" and isinstance(first.outcome, RemoteError)
    assert first.outcome.code == "E2001" and first.outcome.status == 429
    assert second.custom_id == "b" and isinstance(second.outcome, RemoteError)
    assert not first.ok and not second.ok


def test_results_of_an_unfinished_job_are_refused_sync() -> None:
    job = {"id": "batch_1", "status": "in_progress", "created_at": 1}
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.get("/batches/batch_1").respond(json=job)
        with (
            AiClient.create("openai/gpt-4o-mini", base_url=BASE, api_key="sk-x") as client,
            pytest.raises(BatchJobError) as caught,
        ):
            list(client.batches.results("batch_1"))
    assert "in_progress" in str(caught.value)


def test_retry_applies_to_polls_sync() -> None:
    job = {"id": "batch_1", "status": "completed", "created_at": 1}
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        route = router.get("/batches/batch_1")
        route.side_effect = [httpx.Response(503, json={"error": {"message": "busy"}}),
                             httpx.Response(200, json=job)]  # fmt: skip
        with AiClient.create(
            "openai/gpt-4o-mini",
            base_url=BASE,
            api_key="sk-x",
            retry_policy={"min_delay_ms": 1, "max_delay_ms": 2},
        ) as client:
            assert client.batches.retrieve("batch_1").status is BatchStatus.COMPLETED
    assert route.call_count == 2


def test_batch_calls_never_fall_back_to_another_provider_sync() -> None:
    with respx.mock(assert_all_called=False) as router:
        failing = router.post(f"{BASE}/messages/batches").respond(
            529, json={"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}
        )
        other = router.route(host="api.openai.com").respond(json={})
        client = (
            AiClient.builder()
            .model("anthropic/claude-sonnet-4-5")
            .api_key(KEY)
            .base_url(BASE)
            .option("max_retries", 0)
            .with_fallbacks(["openai/gpt-4o-mini"])
            .build()
        )
        with client, pytest.raises(RemoteError) as caught:
            client.batches.create([client.chat().user("hi")])
    assert caught.value.code == "E3002" and failing.called and not other.called


# ---- async twins ----------------------------------------------------------------------------


async def openai_async(**options: Any) -> AsyncAiClient:
    return await AsyncAiClient.create(
        "openai/gpt-4o-mini", base_url=BASE, api_key="sk-x", **options
    )


async def test_a_job_body_that_is_not_an_object_is_refused_async() -> None:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.get("/batches/batch_1").respond(json=["batch_1"])
        async with await openai_async() as client:
            with pytest.raises(BatchJobError):
                await client.batches.retrieve("batch_1")


async def test_gemini_counts_and_times_as_sent_async() -> None:
    operation = {
        "name": "batches/abc123",
        "metadata": {
            "state": "BATCH_STATE_SUCCEEDED",
            "endTime": "2026-12-07T10:00:00+02:00",
            "batchStats": {"requestCount": 2, "successfulRequestCount": "2"},
        },
        "response": {"inlinedResponses": {"inlinedResponses": "not a list"}},
    }
    base = "http://127.0.0.1:9/v1beta"
    with respx.mock(base_url=base, assert_all_called=False) as router:
        router.get("/batches/abc123").respond(json=operation)
        client = await AsyncAiClient.create("gemini/gemini-2.0-flash", base_url=base, api_key="g")
        async with client:
            job = await client.batches.retrieve("abc123")
            with pytest.raises(BatchJobError) as caught:
                _ = [o async for o in client.batches.results("batches/abc123")]
    assert job.status is BatchStatus.COMPLETED and job.counts.total == 2
    assert job.ended_at is not None and job.ended_at.utcoffset() is not None
    assert job.ended_at.hour == 10
    assert "not a list" in str(caught.value)


async def test_openai_item_errors_are_classified_async() -> None:
    job = {"id": "batch_1", "status": "expired", "created_at": 1, "output_file_id": "file-o",
           "error_file_id": None}  # fmt: skip
    answer = {"id": "c", "model": "gpt-4o-mini", "choices": [{"index": 0, "finish_reason": "stop",
              "message": {"role": "assistant", "content": "hi"}}],
              "usage": {"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3}}  # fmt: skip
    data = (
        line(
            {
                "custom_id": "a",
                "response": {"status_code": 200, "request_id": "req_9", "body": answer},
            }
        )
        + b"\n"
        + line({"custom_id": "b", "response": {"status_code": 500, "body": "oops"}})
    )
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.get("/batches/batch_1").respond(json=job)
        router.get("/files/file-o/content").respond(content=data)
        async with await openai_async() as client:
            outcomes = [o async for o in client.batches.results("batch_1")]
    first, second = outcomes
    assert isinstance(first.outcome, ChatResponse) and first.outcome.content == "hi"
    assert first.outcome.request_id == "req_9" and first.outcome.usage.total_tokens == 3
    assert isinstance(second.outcome, RemoteError) and second.outcome.code == "E3001"


async def test_results_of_an_unfinished_job_are_refused_async() -> None:
    job = {"id": "batch_1", "status": "validating", "created_at": 1}
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.get("/batches/batch_1").respond(json=job)
        async with await openai_async() as client:
            with pytest.raises(BatchJobError) as caught:
                _ = [o async for o in client.batches.results("batch_1")]
    assert "validating" in str(caught.value)


async def test_retry_applies_to_polls_async() -> None:
    job = {"id": "batch_1", "status": "cancelled", "created_at": 1}
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        route = router.get("/batches/batch_1")
        route.side_effect = [httpx.Response(503, json={"error": {"message": "busy"}}),
                             httpx.Response(200, json=job)]  # fmt: skip
        policy = {"min_delay_ms": 1, "max_delay_ms": 2}
        async with await openai_async(retry_policy=policy) as client:
            done = await client.batches.wait("batch_1", poll_interval=0)
    assert done.status is BatchStatus.CANCELLED and route.call_count == 2


async def test_batch_calls_never_fall_back_to_another_provider_async() -> None:
    with respx.mock(assert_all_called=False) as router:
        failing = router.post(f"{BASE}/messages/batches").respond(
            529, json={"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}
        )
        other = router.route(host="api.openai.com").respond(json={})
        client = await (
            AsyncAiClient.builder()
            .model("anthropic/claude-sonnet-4-5")
            .api_key(KEY)
            .base_url(BASE)
            .option("max_retries", 0)
            .with_fallbacks(["openai/gpt-4o-mini"])
            .build()
        )
        async with client:
            with pytest.raises(RemoteError):
                await client.batches.create([client.chat().user("hi")])
    assert failing.called and not other.called


async def test_a_line_over_max_line_bytes_is_one_error_async() -> None:
    limits = Limits(max_line_bytes=2048)
    long_line = line({"custom_id": "big", "result": {"type": "expired", "pad": "y" * 4000}})
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        routes(router, anthropic_job(), results=b"\n\n" + long_line)
        client = await AsyncAiClient.create(
            "anthropic/claude-sonnet-4-5", base_url=BASE, api_key=KEY, limits=limits
        )
        async with client:
            outcomes = [o async for o in client.batches.results("msgbatch_01")]
    (only,) = outcomes
    assert isinstance(only.outcome, BatchJobError) and only.outcome.line == 3
