"""The resilience configs: defaults, checks with clear errors, and the environment."""

from __future__ import annotations

import math

import pytest

from ailib.errors import ConfigurationError
from ailib.resilience import (
    BackpressureConfig,
    CircuitBreakerConfig,
    RateLimiterConfig,
    ResilienceConfig,
    RetryConfig,
)
from ailib.resilience.config import env_timeout


def test_breaker_defaults_match_the_seed_table() -> None:
    config = CircuitBreakerConfig()
    assert (config.failure_threshold, config.cooldown_seconds) == (5, 30.0)
    assert config.failure_ratio is None
    assert (config.window_seconds, config.min_calls) == (60.0, 10)
    assert (config.half_open_max_calls, config.success_threshold) == (1, 1)


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"failure_threshold": 0}, "failure_threshold"),
        ({"failure_threshold": 2.5}, "failure_threshold"),
        ({"failure_threshold": True}, "failure_threshold"),
        ({"cooldown_seconds": 0}, "cooldown_seconds"),
        ({"cooldown_seconds": -1}, "cooldown_seconds"),
        ({"cooldown_seconds": math.inf}, "cooldown_seconds"),
        ({"cooldown_seconds": "30"}, "cooldown_seconds"),
        ({"failure_ratio": 0}, "failure_ratio"),
        ({"failure_ratio": 1.5}, "failure_ratio"),
        ({"failure_ratio": math.nan}, "failure_ratio"),
        ({"window_seconds": 0}, "window_seconds"),
        ({"min_calls": 0}, "min_calls"),
        ({"half_open_max_calls": 0}, "half_open_max_calls"),
        ({"success_threshold": -2}, "success_threshold"),
    ],
)
def test_bad_breaker_values_name_the_field(fields: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigurationError, match=rf"CircuitBreakerConfig\.{named}"):
        CircuitBreakerConfig(**fields)  # type: ignore[arg-type]


def test_breaker_from_env_reads_both_variables_and_explicit_values_win() -> None:
    env = {"AI_LIB_BREAKER_FAILURE_THRESHOLD": "7", "AI_LIB_BREAKER_COOLDOWN_SECS": "12.5"}
    config = CircuitBreakerConfig.from_env(env)
    assert (config.failure_threshold, config.cooldown_seconds) == (7, 12.5)
    explicit = CircuitBreakerConfig.from_env(env, failure_threshold=2)
    assert (explicit.failure_threshold, explicit.cooldown_seconds) == (2, 12.5)
    assert CircuitBreakerConfig.from_env({}) == CircuitBreakerConfig()
    assert CircuitBreakerConfig.from_env({"AI_LIB_BREAKER_FAILURE_THRESHOLD": "  "}) == (
        CircuitBreakerConfig()
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AI_LIB_BREAKER_FAILURE_THRESHOLD", "five"),
        ("AI_LIB_BREAKER_FAILURE_THRESHOLD", "0"),
        ("AI_LIB_BREAKER_FAILURE_THRESHOLD", "2.5"),
        ("AI_LIB_BREAKER_COOLDOWN_SECS", "soon"),
        ("AI_LIB_BREAKER_COOLDOWN_SECS", "-3"),
        ("AI_LIB_BREAKER_COOLDOWN_SECS", "nan"),
    ],
)
def test_malformed_breaker_env_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=name) as info:
        CircuitBreakerConfig.from_env({name: value})
    assert repr(value) in str(info.value)


def test_from_env_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AI_LIB_BREAKER_FAILURE_THRESHOLD", "9")
    monkeypatch.setenv("AI_LIB_MAX_INFLIGHT", "3")
    monkeypatch.setenv("AI_LIB_RPS", "4")
    monkeypatch.setenv("AI_HTTP_TIMEOUT_SECS", "15")
    assert CircuitBreakerConfig.from_env().failure_threshold == 9
    assert BackpressureConfig.from_env().max_inflight == 3
    limiter = RateLimiterConfig.from_env()
    assert limiter is not None and limiter.requests_per_second == 4
    assert env_timeout() == 15.0


def test_rate_limiter_constructors_and_checks() -> None:
    assert RateLimiterConfig.from_rps(10).requests_per_second == 10
    assert RateLimiterConfig.from_rpm(600).requests_per_minute == 600
    config = RateLimiterConfig.from_rps(5, tokens_per_minute=90_000, max_wait_seconds=2)
    assert (config.tokens_per_minute, config.max_wait_seconds, config.adaptive) == (
        90_000,
        2,
        True,
    )
    with pytest.raises(ConfigurationError, match="requests_per_second"):
        RateLimiterConfig.from_rps(0)
    with pytest.raises(ConfigurationError, match="requests_per_minute"):
        RateLimiterConfig.from_rpm(-1)
    with pytest.raises(ConfigurationError, match="max_wait_seconds"):
        RateLimiterConfig(max_wait_seconds=-0.5)
    with pytest.raises(ConfigurationError, match="adaptive"):
        RateLimiterConfig(adaptive="yes")  # type: ignore[arg-type]


def test_rate_limiter_from_env_is_none_unless_rps_is_set() -> None:
    assert RateLimiterConfig.from_env({}) is None
    config = RateLimiterConfig.from_env({"AI_LIB_RPS": "2.5"})
    assert config == RateLimiterConfig(requests_per_second=2.5)
    with pytest.raises(ConfigurationError, match="AI_LIB_RPS"):
        RateLimiterConfig.from_env({"AI_LIB_RPS": "lots"})


def test_backpressure_defaults_env_and_checks() -> None:
    assert BackpressureConfig() == BackpressureConfig(max_inflight=10, queue_timeout_seconds=30.0)
    assert BackpressureConfig.from_env({"AI_LIB_MAX_INFLIGHT": "20"}).max_inflight == 20
    assert (
        BackpressureConfig.from_env({"AI_LIB_MAX_INFLIGHT": "20"}, max_inflight=4).max_inflight == 4
    )
    with pytest.raises(ConfigurationError, match="AI_LIB_MAX_INFLIGHT"):
        BackpressureConfig.from_env({"AI_LIB_MAX_INFLIGHT": "-1"})
    with pytest.raises(ConfigurationError, match="max_inflight"):
        BackpressureConfig(max_inflight=0)
    with pytest.raises(ConfigurationError, match="queue_timeout_seconds"):
        BackpressureConfig(queue_timeout_seconds=-1)


def test_env_timeout() -> None:
    assert env_timeout({}) is None
    assert env_timeout({"AI_HTTP_TIMEOUT_SECS": "60"}) == 60.0
    assert env_timeout({"AI_HTTP_TIMEOUT_SECS": "0.5"}) == 0.5
    with pytest.raises(ConfigurationError, match="AI_HTTP_TIMEOUT_SECS"):
        env_timeout({"AI_HTTP_TIMEOUT_SECS": "sixty"})
    with pytest.raises(ConfigurationError, match="AI_HTTP_TIMEOUT_SECS"):
        env_timeout({"AI_HTTP_TIMEOUT_SECS": "0"})


def test_production_ready_defaults() -> None:
    config = ResilienceConfig.production_ready({})
    assert config.retry == RetryConfig()  # the manifest's policy
    assert config.circuit_breaker == CircuitBreakerConfig(failure_threshold=5, cooldown_seconds=30)
    assert config.rate_limiter is None
    assert config.backpressure == BackpressureConfig(max_inflight=10)


def test_production_ready_follows_the_environment() -> None:
    env = {
        "AI_LIB_RPS": "10",
        "AI_LIB_MAX_INFLIGHT": "20",
        "AI_LIB_BREAKER_FAILURE_THRESHOLD": "3",
        "AI_LIB_BREAKER_COOLDOWN_SECS": "5",
    }
    config = ResilienceConfig.production_ready(env)
    assert config.rate_limiter == RateLimiterConfig.from_rps(10)
    assert config.backpressure is not None and config.backpressure.max_inflight == 20
    assert config.circuit_breaker == CircuitBreakerConfig(failure_threshold=3, cooldown_seconds=5)


def test_resilience_config_checks_its_parts() -> None:
    with pytest.raises(ConfigurationError, match=r"ResilienceConfig\.circuit_breaker"):
        ResilienceConfig(circuit_breaker={"failure_threshold": 5})  # type: ignore[arg-type]
    assert ResilienceConfig().circuit_breaker is None


def test_configs_are_frozen() -> None:
    config = CircuitBreakerConfig()
    with pytest.raises(AttributeError):
        config.failure_threshold = 1  # type: ignore[misc]


# ---- hostile values: refused by name, never an overflow at the first call --------------------


@pytest.mark.parametrize(
    ("kind", "fields", "named"),
    [
        (CircuitBreakerConfig, {"cooldown_seconds": 1e308}, "cooldown_seconds"),
        (CircuitBreakerConfig, {"window_seconds": 1e308}, "window_seconds"),
        (CircuitBreakerConfig, {"window_seconds": 1e-300}, "window_seconds"),
        (RateLimiterConfig, {"requests_per_second": 1e-300}, "requests_per_second"),
        (RateLimiterConfig, {"requests_per_second": 1e300}, "requests_per_second"),
        (RateLimiterConfig, {"requests_per_minute": 1e-300}, "requests_per_minute"),
        (RateLimiterConfig, {"tokens_per_minute": 1e300}, "tokens_per_minute"),
        (RateLimiterConfig, {"max_wait_seconds": 1e308}, "max_wait_seconds"),
        (BackpressureConfig, {"queue_timeout_seconds": 1e308}, "queue_timeout_seconds"),
        (BackpressureConfig, {"queue_timeout_seconds": math.inf}, "queue_timeout_seconds"),
    ],
)
def test_absurd_values_are_refused_naming_the_field(
    kind: type, fields: dict[str, float], named: str
) -> None:
    with pytest.raises(ConfigurationError, match=rf"{kind.__name__}\.{named}"):
        kind(**fields)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AI_LIB_BREAKER_COOLDOWN_SECS", "1e308"),
        ("AI_HTTP_TIMEOUT_SECS", "1e308"),
        ("AI_LIB_RPS", "1e-300"),
    ],
)
def test_absurd_environment_values_name_the_variable(name: str, value: str) -> None:
    read = {
        "AI_LIB_BREAKER_COOLDOWN_SECS": CircuitBreakerConfig.from_env,
        "AI_HTTP_TIMEOUT_SECS": env_timeout,
        "AI_LIB_RPS": RateLimiterConfig.from_env,
    }[name]
    with pytest.raises(ConfigurationError, match=name):
        read({name: value})


def test_the_largest_accepted_values_work_end_to_end() -> None:
    from ailib.resilience.breaker import CircuitBreaker, Outcome
    from ailib.resilience.limiter import LocalRateBudget, rate_windows
    from ailib.resilience.retry_policy import MAX_SECONDS
    from ailib.resilience.state import MemoryStore

    config = CircuitBreakerConfig(
        failure_threshold=1,
        cooldown_seconds=MAX_SECONDS,
        failure_ratio=0.5,
        window_seconds=0.001,
        min_calls=1,
    )
    breaker = CircuitBreaker(config)
    backend = MemoryStore().backend(asynchronous=False)
    admission = backend.update("b", lambda rec: breaker.admit(rec, "k"), ttl=breaker.ttl)
    assert admission.permit is not None

    def fail(rec: dict | None) -> tuple[dict | None, object]:
        new, change = breaker.settle(rec, admission.permit, Outcome.FAILURE)
        return new, change

    assert backend.update("b", fail, ttl=breaker.ttl)[1] == "open"
    slow = RateLimiterConfig(requests_per_second=1 / MAX_SECONDS, max_wait_seconds=MAX_SECONDS)
    budget = LocalRateBudget(rate_windows(slow))
    budget.try_take("k", 0)
    assert budget.try_take("k", 0).wait <= MAX_SECONDS  # type: ignore[union-attr]
