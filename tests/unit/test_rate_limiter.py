"""The rate limiter's budgets, estimates and header reading (no waiting, no I/O)."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest

from ailib.dialects import ChatRequest
from ailib.errors import ConfigurationError, RateLimitExceededError
from ailib.resilience import RateLimiterConfig
from ailib.resilience.limiter import (
    PROVIDER_LIMIT,
    Grant,
    LocalRateBudget,
    RateWindow,
    Refusal,
    estimate_tokens,
    rate_windows,
    refusal_error,
    used_tokens,
)
from ailib.resilience.rate_headers import parse_reset, provider_wait
from ailib.runtime.context import CallContext, Target
from ailib.types.messages import ContentBlock, Message
from ailib.types.response import Usage

OPENAI_HEADERS = {
    "requests_limit": "x-ratelimit-limit-requests",
    "requests_remaining": "x-ratelimit-remaining-requests",
    "tokens_limit": "x-ratelimit-limit-tokens",
    "tokens_remaining": "x-ratelimit-remaining-tokens",
    "retry_after": "retry-after",
    "retry_after_ms": "retry-after-ms",
}
GROQ_HEADERS = {
    **OPENAI_HEADERS,
    "requests_reset": "x-ratelimit-reset-requests",
    "tokens_reset": "x-ratelimit-reset-tokens",
}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def ctx_for(request: ChatRequest | None = None, payload: dict | None = None) -> CallContext:
    engine = SimpleNamespace(spec=SimpleNamespace(id="openai"), base_url="http://127.0.0.1:9/v1")
    op = "chat" if request is not None else "post"
    return CallContext(op, Target(engine, "gpt-4o"), request=request, payload=payload)


# ---- budgets from a config ----------------------------------------------------------------


def test_windows_are_whole_numbers_per_window() -> None:
    windows = rate_windows(
        RateLimiterConfig(requests_per_second=2.5, requests_per_minute=0.5, tokens_per_minute=9e4)
    )
    assert windows == (
        RateWindow("requests_per_second", 5, 2),
        RateWindow("requests_per_minute", 1, 120),
        RateWindow("tokens_per_minute", 90_000, 60, tokens=True),
    )
    assert [w.describe() for w in windows] == ["5/2s", "1/120s", "90000 tokens/min"]
    assert rate_windows(RateLimiterConfig.from_rps(10))[0].describe() == "10/s"
    assert rate_windows(RateLimiterConfig.from_rps(0.2))[0] == RateWindow(
        "requests_per_second", 1, 5
    )
    assert rate_windows(RateLimiterConfig()) == ()


def test_a_token_charge_never_exceeds_the_whole_budget() -> None:
    window = RateWindow("tokens_per_minute", 100, 60, tokens=True)
    assert window.cost(40) == 40
    assert window.cost(5000) == 100
    assert window.cost(-3) == 0
    assert RateWindow("requests_per_second", 1, 1).cost(5000) == 1


# ---- the local budget: exact sliding windows ----------------------------------------------


def test_local_budget_allows_exactly_the_rate_in_any_window() -> None:
    clock = Clock()
    budget = LocalRateBudget(rate_windows(RateLimiterConfig.from_rps(2)), clock)
    assert isinstance(budget.try_take("a", 0), Grant)
    clock.now += 0.5
    assert isinstance(budget.try_take("a", 0), Grant)
    refused = budget.try_take("a", 0)
    assert refused == Refusal("requests_per_second", pytest.approx(0.5))
    assert isinstance(budget.try_take("b", 0), Grant)  # another target has its own budget
    clock.now += 0.5  # the first call left the window
    assert isinstance(budget.try_take("a", 0), Grant)
    assert isinstance(budget.try_take("a", 0), Refusal)


def test_local_budget_reports_the_longest_wait_of_its_windows() -> None:
    clock = Clock()
    budget = LocalRateBudget(
        rate_windows(RateLimiterConfig(requests_per_second=10, requests_per_minute=2)), clock
    )
    budget.try_take("k", 0)
    budget.try_take("k", 0)
    refusal = budget.try_take("k", 0)
    assert isinstance(refusal, Refusal)
    assert refusal.limit == "requests_per_minute"
    assert refusal.wait == pytest.approx(60.0)


def test_tokens_are_charged_and_corrected_from_usage() -> None:
    clock = Clock()
    budget = LocalRateBudget(rate_windows(RateLimiterConfig(tokens_per_minute=1000)), clock)
    first = budget.try_take("k", 600)
    assert isinstance(first, Grant)
    refused = budget.try_take("k", 600)
    assert isinstance(refused, Refusal)
    assert refused.limit == "tokens_per_minute"
    budget.adjust(first, 150)  # it used far fewer than estimated: refunded
    assert isinstance(budget.try_take("k", 600), Grant)  # 150 + 600 <= 1000
    third = budget.try_take("k", 200)
    assert isinstance(third, Grant)  # 950
    budget.adjust(third, 900)  # it used more: charged, the window is over budget now
    refusal = budget.try_take("k", 1)
    assert isinstance(refusal, Refusal)
    assert refusal.wait == pytest.approx(60.0)


def test_an_estimate_above_the_whole_budget_goes_out_alone() -> None:
    budget = LocalRateBudget(rate_windows(RateLimiterConfig(tokens_per_minute=100)), Clock())
    assert isinstance(budget.try_take("k", 10_000), Grant)
    assert isinstance(budget.try_take("k", 1), Refusal)


def test_a_provider_hold_blocks_the_target_until_it_ends() -> None:
    clock = Clock()
    budget = LocalRateBudget((), clock)
    budget.block("k", 2.0, "x-ratelimit-remaining-requests = 0")
    budget.block("k", 1.0, "shorter: ignored")
    refusal = budget.try_take("k", 0)
    assert refusal == Refusal(PROVIDER_LIMIT, 2.0, "x-ratelimit-remaining-requests = 0")
    assert isinstance(budget.try_take("other", 0), Grant)
    clock.now += 2.0
    assert isinstance(budget.try_take("k", 0), Grant)


def test_refusal_error_names_the_limit_and_the_wait() -> None:
    err = refusal_error(Refusal("requests_per_minute", 41.5), "openai|u|gpt-4o", 3.0, 30.0)
    assert isinstance(err, RateLimitExceededError)
    assert err.code == "E2001"
    assert (err.retryable, err.fallbackable) == (False, True)
    assert err.retry_after == 41.5
    assert err.limit == "requests_per_minute"
    assert err.key == "openai|u|gpt-4o"
    assert "requests_per_minute" in str(err)
    assert "41.5s" in str(err)
    assert "max_wait_seconds=30" in str(err)


# ---- token estimates ----------------------------------------------------------------------


def test_estimate_is_characters_over_four_plus_max_tokens() -> None:
    request = ChatRequest(
        "gpt-4o",
        [Message.system("x" * 40), Message.user([ContentBlock.text("y" * 20)])],
        params={"max_tokens": 100},
    )
    assert estimate_tokens(ctx_for(request)) == 15 + 100
    without = ChatRequest("gpt-4o", [Message.user("z" * 9)])
    assert estimate_tokens(ctx_for(without)) == 3
    assert estimate_tokens(ctx_for(payload={"input": ["a" * 8, "b" * 8], "model": "e"})) == 5


def test_used_tokens_reads_usage_objects_and_dicts() -> None:
    assert used_tokens(Usage(input_tokens=3, output_tokens=4, total_tokens=7)) == 7
    assert used_tokens(Usage(input_tokens=3, output_tokens=4)) == 7
    assert used_tokens(Usage()) is None
    assert used_tokens({"prompt_tokens": 5, "total_tokens": 5}) == 5
    assert used_tokens({"prompt_tokens": 5}) == 5
    assert used_tokens({}) is None
    assert used_tokens(None) is None


# ---- the provider's rate-limit headers ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("20", 20.0),
        ("0.5", 0.5),
        ("1s", 1.0),
        ("6m0s", 360.0),
        ("20ms", 0.02),
        ("1h2m3.5s", 3723.5),
        ("1000000030", 30.0),  # Unix seconds
        ("1000000030500", 30.5),  # Unix milliseconds
        ("2001-09-09T01:47:10Z", 30.0),
        ("Sun, 09 Sep 2001 01:47:10 GMT", 30.0),
        ("2001-09-09T01:46:00Z", 0.0),  # in the past: no wait
    ],
)
def test_parse_reset_reads_what_providers_send(text: str, seconds: float) -> None:
    assert parse_reset(text, now=1_000_000_000.0) == pytest.approx(seconds)


@pytest.mark.parametrize("text", [None, "", "soon", "-", "x" * 100, "nan", "inf"])
def test_parse_reset_gives_none_for_what_it_cannot_read(text: str | None) -> None:
    assert parse_reset(text, now=1_000_000_000.0) is None


def test_provider_wait_holds_back_when_nothing_remains_until_the_reset() -> None:
    headers = {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1.5s"}
    wait = provider_wait(headers, GROQ_HEADERS)
    assert wait is not None
    assert wait[0] == pytest.approx(1.5)
    assert "x-ratelimit-remaining-requests = 0" in wait[1]
    tokens = {
        "x-ratelimit-remaining-requests": "3",
        "x-ratelimit-remaining-tokens": "0",
        "x-ratelimit-reset-tokens": "7s",
    }
    found = provider_wait(tokens, GROQ_HEADERS)
    assert found is not None
    assert found[0] == 7.0
    assert "x-ratelimit-remaining-tokens = 0, x-ratelimit-reset-tokens" in found[1]


def test_provider_wait_uses_retry_after_when_no_reset_is_declared() -> None:
    headers = {"x-ratelimit-remaining-requests": "0", "retry-after": "4"}
    assert provider_wait(headers, OPENAI_HEADERS)[0] == 4.0  # type: ignore[index]
    ms = {"x-ratelimit-remaining-tokens": "0", "retry-after-ms": "250"}
    assert provider_wait(ms, OPENAI_HEADERS)[0] == 0.25  # type: ignore[index]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-ratelimit-remaining-requests": "12", "x-ratelimit-reset-requests": "1s"},
        {"x-ratelimit-remaining-requests": "0"},  # no reset known: nothing to follow
        {"x-ratelimit-remaining-requests": "lots", "x-ratelimit-reset-requests": "1s"},
    ],
)
def test_provider_wait_ignores_headers_that_say_nothing(headers: dict[str, str]) -> None:
    assert provider_wait(headers, GROQ_HEADERS) is None
    assert provider_wait(headers, {}) is None


# ---- the optional package ----------------------------------------------------------------


def test_a_shared_budget_without_limits_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from ailib.resilience._sync_shared_gates import SharedBudget

    monkeypatch.setitem(sys.modules, "limits", None)
    with pytest.raises(ConfigurationError, match=r"ailib\[ratelimit\]"):
        SharedBudget(rate_windows(RateLimiterConfig.from_rps(1)), "memory://")


def test_the_local_limiter_needs_no_optional_package(monkeypatch: pytest.MonkeyPatch) -> None:
    from ailib.resilience.limiter import RateLimiter

    monkeypatch.setitem(sys.modules, "limits", None)
    limiter = RateLimiter(RateLimiterConfig.from_rps(1, max_wait_seconds=0))
    limiter.acquire("k")
    with pytest.raises(RateLimitExceededError):
        limiter.acquire("k")


# ---- the real manifests' headers, and hostile ones -----------------------------------------


def manifest_headers(provider: str) -> dict[str, str]:
    from ailib.runtime.registry import provider_class

    names: dict[str, str] = provider_class(provider, asynchronous=False).spec.manifest.data[
        "rate_limit_headers"
    ]
    return names


def test_openai_and_anthropic_headers_hold_back_with_their_manifests() -> None:
    # the manifests name the remaining headers; the reset headers follow the same naming
    openai = {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1.5s"}
    found = provider_wait(openai, manifest_headers("openai"))
    assert found is not None
    assert found[0] == pytest.approx(1.5)
    assert "x-ratelimit-reset-requests" in found[1]
    tokens = {"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "6m0s"}
    assert provider_wait(tokens, manifest_headers("openai"))[0] == 360.0  # type: ignore[index]
    anthropic = {
        "anthropic-ratelimit-tokens-remaining": "0",
        "anthropic-ratelimit-tokens-reset": "2001-09-09T01:47:10Z",
    }
    found = provider_wait(anthropic, manifest_headers("anthropic"), now=1_000_000_000.0)
    assert found is not None
    assert found[0] == pytest.approx(30.0)
    assert "anthropic-ratelimit-tokens-reset" in found[1]


def test_a_provider_hold_is_capped_at_a_day() -> None:
    far = {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "9999999999"}
    found = provider_wait(far, GROQ_HEADERS, now=1_000_000_000.0)
    assert found is not None
    assert found[0] == 86400.0
    hours = {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "99999999h"}
    assert provider_wait(hours, GROQ_HEADERS)[0] == 86400.0  # type: ignore[index]


@pytest.mark.parametrize(
    "names",
    [
        {"requests_remaining": "x-ratelimit-remaining-requests", "retry_after": None},
        {"requests_remaining": "x-ratelimit-remaining-requests", "requests_reset": 5},
        {"requests_remaining": 7, "retry_after": "retry-after"},
        {"requests_remaining": None},
    ],
)
def test_header_names_that_are_not_strings_are_ignored(names: dict[str, object]) -> None:
    import httpx

    headers = httpx.Headers({"x-ratelimit-remaining-requests": "0", "retry-after": "2"})
    found = provider_wait(headers, names)  # type: ignore[arg-type]
    assert found is None or found[0] == 2.0


def test_plain_header_dicts_are_read_whatever_their_case() -> None:
    headers = {"X-RateLimit-Remaining-Requests": "0", "X-RateLimit-Reset-Requests": "3s"}
    assert provider_wait(headers, GROQ_HEADERS)[0] == 3.0  # type: ignore[index]


def test_used_tokens_tolerates_missing_usage_fields() -> None:
    usage = SimpleNamespace(total_tokens=None, input_tokens=None, output_tokens=5)
    assert used_tokens(usage) == 5
    assert used_tokens(SimpleNamespace()) is None


def test_budgets_of_keys_no_longer_used_are_forgotten() -> None:
    # a limiter keyed per end user sees many keys: their expired logs must not pile up
    clock = Clock()
    config = RateLimiterConfig(requests_per_second=5, tokens_per_minute=10_000)
    budget = LocalRateBudget(rate_windows(config), clock)
    for batch in range(20):
        for n in range(2_000):
            assert isinstance(budget.try_take(f"user-{batch}-{n}", 10), Grant)
        budget.block(f"user-{batch}-0", 1.0, "test")
        clock.now += 61  # every earlier charge has left its window
    assert len(budget._logs) <= 3 * 2 * 2_000  # about the live keys, not all 40,000
    assert len(budget._blocked) <= 2
    assert isinstance(budget.try_take("user-0-0", 10), Grant)  # a returning key starts afresh
