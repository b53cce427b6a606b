"""Error classification (ailib.runtime.classify) and the engine's retry policy."""

from __future__ import annotations

import email.utils
import json
import random
from collections.abc import Iterator
from typing import Any

import attrs
import httpx
import pytest

from ailib.errors import AiLibError, RemoteError, TransportError
from ailib.pipeline.assemble import Assembler
from ailib.protocol.manifest import Manifest
from ailib.providers import anthropic, gemini, openai
from ailib.resilience import _sync_retry
from ailib.resilience import retry_policy as retry_policy_module
from ailib.runtime import _sync_engine
from ailib.runtime.classify import classify, parse_retry_after, stream_error
from ailib.runtime.spec import ProviderSpec, error_tables

OPENAI = openai.SPEC.errors
ANTHROPIC = anthropic.SPEC.errors
GEMINI = gemini.SPEC.errors


def oai_body(code: str | None = None, message: str = "boom", type_: str | None = None) -> Any:
    return {"error": {"code": code, "type": type_, "message": message}}


def custom_tables(**errors: Any) -> Any:
    manifest = Manifest.from_dict(
        {"id": "custom", "endpoint": {"base_url": "http://h"}, "error_classification": errors}
    )
    return error_tables(manifest)


# ---- classification order ---------------------------------------------------------------


def test_provider_body_code_beats_http_status() -> None:
    err = classify(OPENAI, status=400, body=oai_body("rate_limit_exceeded"))
    assert err.code == "E2001"
    assert err.provider_code == "rate_limit_exceeded"
    assert err.status == 400
    assert err.provider == "openai"
    assert err.retryable and err.fallbackable


def test_provider_http_override_beats_standard_http_map() -> None:
    tables = custom_tables(by_http_status={"400": "quota_exhausted"})
    assert classify(tables, status=400, body=oai_body()).code == "E2002"
    # without the override the standard map applies
    assert classify(custom_tables(), status=400, body=oai_body()).code == "E1001"


def test_unknown_body_code_falls_through_to_the_http_maps() -> None:
    err = classify(OPENAI, status=503, body=oai_body("something_new"))
    assert err.code == "E3002"
    assert err.provider_code == "something_new"


def test_standard_http_map_beats_message_pattern() -> None:
    err = classify(OPENAI, status=429, body=oai_body(message="You exceeded your current quota"))
    assert err.code == "E2001"


def test_message_pattern_used_when_no_status_mapping() -> None:
    err = classify(OPENAI, status=418, body=oai_body(message="You exceeded your current quota"))
    assert err.code == "E2002"
    assert not err.retryable


def test_message_pattern_on_raw_text_when_body_is_not_json() -> None:
    err = classify(ANTHROPIC, status=418, body=None, text="prompt is too long: 300000 tokens")
    assert err.code == "E1005"
    assert err.message == "prompt is too long: 300000 tokens"


def test_unmatched_error_is_e9999() -> None:
    err = classify(OPENAI, status=418, body=oai_body(message="teapot"))
    assert err.code == "E9999"
    assert err.name == "unknown"
    assert not err.retryable and not err.fallbackable


@pytest.mark.parametrize("status", [501, 505, 599])
def test_unknown_5xx_is_server_error(status: int) -> None:
    err = classify(OPENAI, status=status, body=None)
    assert err.code == "E3001"
    assert err.message == f"HTTP {status}"
    assert err.retryable


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (401, "E1002"),
        (403, "E1003"),
        (404, "E1004"),
        (408, "E3003"),
        (409, "E4001"),
        (413, "E1005"),
        (422, "E1001"),
        (502, "E3001"),
        (504, "E3003"),
        (529, "E3002"),
    ],
)
def test_standard_http_map(status: int, code: str) -> None:
    assert classify(custom_tables(), status=status, body={}).code == code


def test_gemini_detail_reason_comes_first() -> None:
    body = {
        "error": {
            "code": 400,
            "status": "INVALID_ARGUMENT",
            "message": "API key not valid.",
            "details": [{"reason": "API_KEY_INVALID"}],
        }
    }
    err = classify(GEMINI, status=400, body=body)
    assert err.code == "E1002"
    assert err.provider_code == "API_KEY_INVALID"
    assert err.message == "API key not valid."


def test_gemini_error_wrapped_in_a_list() -> None:
    body = [{"error": {"status": "RESOURCE_EXHAUSTED", "message": "slow down"}}]
    err = classify(GEMINI, status=400, body=body)
    assert err.code == "E2001"
    assert err.provider_code == "RESOURCE_EXHAUSTED"


def test_interpreted_and_compiled_tables_agree() -> None:
    interpreted = error_tables(gemini.SPEC.manifest)
    body = {"error": {"status": "UNAVAILABLE", "details": [{"reason": "X"}, {"reason": "Y"}]}}
    assert interpreted.codes_of(body) == GEMINI.codes_of(body) == ["X", "Y", "UNAVAILABLE"]
    a = classify(interpreted, status=500, body=body)
    b = classify(GEMINI, status=500, body=body)
    assert (a.code, a.provider_code) == (b.code, b.provider_code) == ("E3002", "X")


def test_message_falls_back_to_text_then_status() -> None:
    assert classify(OPENAI, status=500, body={"x": 1}, text="oops").message == "oops"
    assert classify(OPENAI, status=500, body={"x": 1}).message == "HTTP 500"
    assert classify(OPENAI, status=None, body=None).message == "provider error"
    assert len(classify(OPENAI, status=500, body=None, text="x" * 2000).message) == 500


def test_error_keeps_the_body() -> None:
    body = oai_body("invalid_api_key", "bad key")
    err = classify(OPENAI, status=401, body=body)
    assert err.body is body
    assert err.code == "E1002"
    assert "[E1002 authentication] openai: bad key" in str(err)
    assert "status=401" in str(err)


# ---- Retry-After -----------------------------------------------------------------------


NOW = 1_700_000_000.0


@pytest.fixture
def frozen_time(monkeypatch: pytest.MonkeyPatch) -> float:
    monkeypatch.setattr("ailib.runtime.classify.time.time", lambda: NOW)
    return NOW


def test_retry_after_seconds() -> None:
    headers = httpx.Headers({"Retry-After": "7"})
    assert classify(OPENAI, status=429, body=None, headers=headers).retry_after == 7.0
    assert parse_retry_after({"retry-after": "1.5"}, OPENAI) == 1.5
    assert parse_retry_after({"retry-after": "-3"}, OPENAI) == 0.0
    assert parse_retry_after({}, OPENAI) is None
    assert parse_retry_after({"retry-after": ""}, OPENAI) is None


def test_retry_after_http_date(frozen_time: float) -> None:
    future = email.utils.formatdate(frozen_time + 42, usegmt=True)
    past = email.utils.formatdate(frozen_time - 42, usegmt=True)
    assert parse_retry_after({"retry-after": future}, OPENAI) == pytest.approx(42.0)
    assert parse_retry_after({"retry-after": past}, OPENAI) == 0.0
    assert parse_retry_after({"retry-after": "tomorrow-ish"}, OPENAI) is None


def test_retry_after_ms_takes_precedence() -> None:
    headers = httpx.Headers({"retry-after": "9", "retry-after-ms": "1500"})
    assert classify(OPENAI, status=429, body=None, headers=headers).retry_after == 1.5


def test_bad_retry_after_ms_falls_back_to_retry_after() -> None:
    assert parse_retry_after({"retry-after-ms": "soon", "retry-after": "9"}, OPENAI) == 9.0


def test_retry_after_header_names_come_from_the_manifest() -> None:
    manifest = Manifest.from_dict(
        {
            "id": "custom",
            "endpoint": {"base_url": "http://h"},
            "rate_limit_headers": {"retry_after": "x-wait", "retry_after_ms": "x-wait-ms"},
        }
    )
    tables = error_tables(manifest)
    assert parse_retry_after({"retry-after": "3"}, tables) is None
    assert parse_retry_after({"x-wait": "3"}, tables) == 3.0
    assert parse_retry_after({"x-wait": "3", "x-wait-ms": "250"}, tables) == 0.25


# ---- request id -------------------------------------------------------------------------


def test_request_id_from_headers() -> None:
    err = classify(OPENAI, status=500, body=None, headers={"x-request-id": "req_1"})
    assert err.request_id == "req_1"
    # Anthropic lists request-id first
    headers = {"request-id": "req_a", "x-request-id": "req_b"}
    assert classify(ANTHROPIC, status=500, body=None, headers=headers).request_id == "req_a"
    headers = {"x-request-id": "req_b"}
    assert classify(ANTHROPIC, status=500, body=None, headers=headers).request_id == "req_b"


def test_request_id_from_anthropic_body() -> None:
    body = {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
        "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy",
    }
    err = classify(ANTHROPIC, status=529, body=body)
    assert err.request_id == "req_011CSHoEeqs5C35K2UUqR7Fy"
    assert err.code == "E3002"
    assert err.provider_code == "overloaded_error"
    # a header wins over the body
    err = classify(ANTHROPIC, status=529, body=body, headers={"request-id": "req_hdr"})
    assert err.request_id == "req_hdr"


def test_no_request_id() -> None:
    body = {"request_id": 12}
    assert classify(ANTHROPIC, status=500, body=body).request_id is None


# ---- errors inside a stream -------------------------------------------------------------


def test_stream_error_uses_code_first() -> None:
    err = stream_error(OPENAI, {"code": "rate_limit_exceeded", "type": "requests", "message": "m"})
    assert isinstance(err, RemoteError)
    assert err.code == "E2001"
    assert err.provider_code == "rate_limit_exceeded"
    assert err.status is None
    assert err.message == "m"
    assert err.provider == "openai"


def test_stream_error_falls_back_to_type() -> None:
    err = stream_error(OPENAI, {"code": None, "type": "server_error", "message": "m"})
    assert err.code == "E3001"
    assert err.provider_code == "server_error"
    err = stream_error(OPENAI, {"code": "unknown_code", "type": "insufficient_quota"})
    assert err.code == "E2002"
    assert err.provider_code == "unknown_code"


def test_stream_error_message_pattern_and_default() -> None:
    err = stream_error(OPENAI, {"message": "This model's maximum context length is 8192"})
    assert err.code == "E1005"
    err = stream_error(OPENAI, {})
    assert err.code == "E9999"
    assert err.message == "error in stream"
    assert err.body == {}


def test_stream_error_raised_through_the_assembler() -> None:
    frame = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    asm = Assembler(on_error=lambda f: stream_error(ANTHROPIC, f))
    with pytest.raises(RemoteError) as info:
        asm.feed(anthropic.SPEC.map_stream(frame))
    assert info.value.code == "E3002"
    assert info.value.message == "Overloaded"


# ---- retry policy: delay and should_retry ----------------------------------------------


def make_engine(overrides: dict[str, Any] | None = None, spec: ProviderSpec | None = None) -> Any:
    spec = spec or openai.SPEC
    if overrides:
        spec = attrs.evolve(spec, manifest=spec.manifest.with_overrides(overrides, "test"))
    return openai.OpenAI(api_key="k", base_url="http://127.0.0.1:9/v1", spec=spec)


@pytest.fixture
def engine() -> Iterator[Any]:
    eng = make_engine()
    yield eng
    eng.close()


def wait(engine: Any, retry: int, exc: BaseException | None) -> float:
    """The wait before retry number ``retry`` (attempt ``retry + 1``) after ``exc``."""
    return float(engine.retry_policy.delay(exc, retry + 1))


def remote(status: int | None, retry_after: float | None = None, code: str = "E2001") -> Any:
    return RemoteError("x", code=code, status=status, retry_after=retry_after)


def test_engine_is_a_sync_engine(engine: Any) -> None:
    assert isinstance(engine, _sync_engine.SyncEngine)
    assert engine.max_retries == 2


def test_wait_honours_retry_after(engine: Any) -> None:
    assert wait(engine, 1, remote(429, retry_after=5)) == 5.0
    assert wait(engine, 3, remote(429, retry_after=0.25)) == 0.25
    assert wait(engine, 1, remote(429, retry_after=0)) == 0.0


def test_wait_caps_retry_after_at_max_delay(engine: Any) -> None:
    assert wait(engine, 1, remote(429, retry_after=3600)) == 30.0
    small = make_engine({"retry_policy": {"max_delay_ms": 2000}})
    try:
        assert wait(small, 1, remote(429, retry_after=10)) == 2.0
    finally:
        small.close()


@pytest.mark.parametrize("attempt", [1, 2, 3, 4, 5, 6, 7, 8, 12])
def test_wait_without_retry_after_stays_within_the_exponential_bound(
    engine: Any, attempt: int
) -> None:
    bound = min(30.0, 0.5 * 2**attempt)  # full jitter: up to twice the backoff
    for exc in (remote(503, code="E3002"), TransportError("reset"), None):
        for _ in range(50):
            assert 0.0 <= wait(engine, attempt, exc) <= bound


@pytest.mark.parametrize(("attempt", "bound"), [(1, 1.0), (2, 2.0), (3, 4.0), (5, 16.0), (6, 30.0)])
def test_full_jitter_draws_from_the_minimum_to_the_bound(
    engine: Any, monkeypatch: pytest.MonkeyPatch, attempt: int, bound: float
) -> None:
    calls: list[tuple[float, float]] = []

    def fake_uniform(a: float, b: float) -> float:
        calls.append((a, b))
        return b

    monkeypatch.setattr(retry_policy_module.random, "uniform", fake_uniform)
    assert wait(engine, attempt, remote(503, code="E3002")) == bound
    assert calls == [(0.5, bound)]  # never below the policy's min_delay_ms (500 ms here)


def test_no_jitter_is_exact_and_capped() -> None:
    eng = make_engine(
        {"retry_policy": {"jitter": "none", "min_delay_ms": 100, "max_delay_ms": 1000}}
    )
    try:
        waits = [wait(eng, n, TransportError("x")) for n in range(1, 7)]
        assert waits == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    finally:
        eng.close()


def test_equal_jitter_stays_in_the_upper_half() -> None:
    eng = make_engine({"retry_policy": {"jitter": "equal", "min_delay_ms": 1000}})
    rng_state = random.getstate()
    try:
        for _ in range(100):
            assert 4.0 <= wait(eng, 3, TransportError("x")) <= 8.0
    finally:
        random.setstate(rng_state)
        eng.close()


def test_should_retry_respects_retry_on_http_status(engine: Any) -> None:
    allowed = engine.spec.manifest.retry_policy["retry_on_http_status"]
    assert 429 in allowed and 529 not in allowed
    assert engine.retry_policy.should_retry(classify(OPENAI, status=429, body=None)) is True
    assert engine.retry_policy.should_retry(classify(OPENAI, status=503, body=None)) is True
    # 529 is a retryable code (overloaded) but OpenAI does not list the status
    overloaded = classify(OPENAI, status=529, body=None)
    assert overloaded.retryable
    assert engine.retry_policy.should_retry(overloaded) is False


def test_should_retry_uses_each_providers_list() -> None:
    eng = make_engine(spec=anthropic.SPEC)
    try:
        assert eng.retry_policy.should_retry(classify(ANTHROPIC, status=529, body=None)) is True
    finally:
        eng.close()
    eng = make_engine({"retry_policy": {"retry_on_http_status": [503]}})
    try:
        assert eng.retry_policy.should_retry(classify(OPENAI, status=429, body=None)) is False
        assert eng.retry_policy.should_retry(classify(OPENAI, status=503, body=None)) is True
    finally:
        eng.close()


def test_should_retry_rejects_non_retryable_codes(engine: Any) -> None:
    assert engine.retry_policy.should_retry(classify(OPENAI, status=400, body=None)) is False
    quota = classify(OPENAI, status=429, body=oai_body("insufficient_quota"))
    assert quota.code == "E2002"
    assert engine.retry_policy.should_retry(quota) is False


def test_should_retry_stream_errors_and_transport_errors(engine: Any) -> None:
    assert engine.retry_policy.should_retry(stream_error(OPENAI, {"type": "server_error"})) is True
    assert (
        engine.retry_policy.should_retry(stream_error(OPENAI, {"type": "invalid_api_key"})) is False
    )
    assert engine.retry_policy.should_retry(TransportError("timed out")) is True
    assert engine.retry_policy.should_retry(TransportError("bad", code="E1001")) is False
    assert engine.retry_policy.should_retry(AiLibError("generic")) is False
    assert engine.retry_policy.should_retry(ValueError("x")) is False


def test_send_retries_with_retry_after_then_succeeds(monkeypatch: pytest.MonkeyPatch) -> None:
    statuses = iter([429, 200])
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        status = next(statuses)
        if status == 429:
            return httpx.Response(
                429,
                headers={"retry-after-ms": "20", "x-request-id": "req_1"},
                json=oai_body("rate_limit_exceeded", "slow down"),
            )
        body = {
            "id": "chatcmpl-1",
            "model": "gpt-4o",
            "choices": [{"index": 0, "message": {"content": "ok"}, "finish_reason": "stop"}],
        }
        return httpx.Response(200, headers={"x-request-id": "req_2"}, json=body)

    sleeps: list[float] = []
    monkeypatch.setattr(_sync_retry.time, "sleep", sleeps.append)
    client = httpx.Client(transport=httpx.MockTransport(handler))
    eng = openai.OpenAI(api_key="k", base_url="http://127.0.0.1:9/v1", http_client=client)
    try:
        from ailib.types import Message

        resp = eng.chat(model="gpt-4o", messages=[Message.user("hi")])
    finally:
        client.close()
    assert resp.content == "ok"
    assert resp.request_id == "req_2"
    assert sleeps == [0.02]
    assert len(seen) == 2
    assert json.loads(seen[0].content)["messages"] == [{"role": "user", "content": "hi"}]


def test_send_gives_up_after_max_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(503, json=oai_body(message="busy"))

    sleeps: list[float] = []
    monkeypatch.setattr(_sync_retry.time, "sleep", sleeps.append)
    client = httpx.Client(transport=httpx.MockTransport(handler))
    eng = openai.OpenAI(
        api_key="k", base_url="http://127.0.0.1:9/v1", http_client=client, max_retries=3
    )
    try:
        from ailib.types import Message

        with pytest.raises(RemoteError) as info:
            eng.chat(model="gpt-4o", messages=[Message.user("hi")])
    finally:
        client.close()
    assert info.value.code == "E3002"
    assert calls == 4
    assert len(sleeps) == 3
    assert all(0.5 <= s <= min(30.0, 0.5 * 2**n) for n, s in enumerate(sleeps, 1))
