"""Settings of the resilience layers: circuit breaker, rate limiter, backpressure.

Frozen attrs classes, checked when built: a bad value raises
:class:`~ailib.errors.ConfigurationError` naming the field. ``from_env()`` reads the
seed README's variables (``AI_LIB_BREAKER_FAILURE_THRESHOLD``,
``AI_LIB_BREAKER_COOLDOWN_SECS``, ``AI_LIB_RPS``, ``AI_LIB_MAX_INFLIGHT``,
``AI_HTTP_TIMEOUT_SECS``); an explicit configuration always wins over them, and a
malformed value raises ``ConfigurationError`` naming the variable. No I/O here.

Example::

    from ailib.resilience import CircuitBreakerConfig, RateLimiterConfig, ResilienceConfig

    CircuitBreakerConfig(failure_threshold=5, cooldown_seconds=30)
    RateLimiterConfig.from_rps(10)
    ResilienceConfig.production_ready()   # retry + breaker + backpressure (+ limiter)
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import attrs

from ailib.errors import ConfigurationError
from ailib.resilience.retry_policy import MAX_SECONDS, RetryConfig

ENV_BREAKER_THRESHOLD = "AI_LIB_BREAKER_FAILURE_THRESHOLD"
ENV_BREAKER_COOLDOWN = "AI_LIB_BREAKER_COOLDOWN_SECS"
ENV_RPS = "AI_LIB_RPS"
ENV_MAX_INFLIGHT = "AI_LIB_MAX_INFLIGHT"
ENV_HTTP_TIMEOUT = "AI_HTTP_TIMEOUT_SECS"

#: the largest rate a budget takes (per second or per minute)
MAX_RATE = 1e12
#: the shortest failure-ratio window (seconds)
MIN_WINDOW_SECONDS = 0.001


# ---- checks -------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and not math.isnan(value)
        and not math.isinf(value)
    )


def _positive_int(owner: str, name: str) -> Any:
    def check(_inst: Any, _attr: Any, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigurationError(f"{owner}.{name} must be an int >= 1, got {value!r}")

    return check


def _number(
    owner: str,
    name: str,
    *,
    positive: bool,
    optional: bool = False,
    minimum: float | None = None,
    maximum: float = MAX_SECONDS,
) -> Any:
    """A check that a field is a finite number within its bounds (``maximum`` included)."""
    if minimum is not None:
        bound = f"in [{minimum:g}, {maximum:g}]"
    else:
        bound = f"{'> 0' if positive else '>= 0'} and <= {maximum:g}"

    def check(_inst: Any, _attr: Any, value: Any) -> None:
        if value is None and optional:
            return
        ok = _is_number(value) and (value > 0 if positive else value >= 0) and value <= maximum
        if ok and minimum is not None:
            ok = value >= minimum
        if not ok:
            raise ConfigurationError(f"{owner}.{name} must be a number {bound}, got {value!r}")

    return check


def _rate(owner: str, name: str, seconds: int) -> Any:
    """A rate per ``seconds``: at least one call in ``MAX_SECONDS``, at most ``MAX_RATE``."""
    return _number(
        owner,
        name,
        positive=True,
        optional=True,
        minimum=seconds / MAX_SECONDS,
        maximum=MAX_RATE,
    )


# ---- environment ------------------------------------------------------------------------------


def _env_value(env: Mapping[str, str] | None, name: str) -> str | None:
    value = (os.environ if env is None else env).get(name)
    if value is None or not value.strip():
        return None
    return value.strip()


def _env_int(env: Mapping[str, str] | None, name: str) -> int | None:
    raw = _env_value(env, name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigurationError(
            f"environment variable {name} must be an integer >= 1, got {raw!r}"
        )
    return value


def _env_float(env: Mapping[str, str] | None, name: str, minimum: float = 0.0) -> float | None:
    raw = _env_value(env, name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not _is_number(value) or value <= 0 or value < minimum or value > MAX_SECONDS:
        bound = f">= {minimum:g}" if minimum else "> 0"
        raise ConfigurationError(
            f"environment variable {name} must be a number {bound} and <= {MAX_SECONDS:g}, "
            f"got {raw!r}"
        )
    return value


def env_timeout(env: Mapping[str, str] | None = None) -> float | None:
    """``AI_HTTP_TIMEOUT_SECS`` as seconds, or None when unset (an explicit timeout wins).

    Example::

        timeout = explicit_timeout if explicit_timeout is not None else env_timeout()
    """
    return _env_float(env, ENV_HTTP_TIMEOUT)


# ---- configs ---------------------------------------------------------------------------------


@attrs.frozen
class CircuitBreakerConfig:
    """When a circuit breaker opens, and how it recovers.

    * ``failure_threshold``: consecutive retryable failures that open it;
    * ``cooldown_seconds``: how long it stays open before letting probe calls through;
    * ``failure_ratio`` (optional): also open when this share of the calls in the last
      ``window_seconds`` failed, once at least ``min_calls`` were made in it;
    * ``half_open_max_calls``: probe calls let through at once while half-open;
    * ``success_threshold``: successful probes needed to close it again.

    Example::

        CircuitBreakerConfig(failure_threshold=5, cooldown_seconds=30)
        CircuitBreakerConfig(failure_ratio=0.5, window_seconds=60, min_calls=20)
    """

    failure_threshold: int = attrs.field(
        default=5, validator=_positive_int("CircuitBreakerConfig", "failure_threshold")
    )
    cooldown_seconds: float = attrs.field(
        default=30.0,
        validator=_number("CircuitBreakerConfig", "cooldown_seconds", positive=True),
    )
    failure_ratio: float | None = attrs.field(default=None)
    window_seconds: float = attrs.field(
        default=60.0,
        validator=_number(
            "CircuitBreakerConfig", "window_seconds", positive=True, minimum=MIN_WINDOW_SECONDS
        ),
    )
    min_calls: int = attrs.field(
        default=10, validator=_positive_int("CircuitBreakerConfig", "min_calls")
    )
    half_open_max_calls: int = attrs.field(
        default=1, validator=_positive_int("CircuitBreakerConfig", "half_open_max_calls")
    )
    success_threshold: int = attrs.field(
        default=1, validator=_positive_int("CircuitBreakerConfig", "success_threshold")
    )

    @failure_ratio.validator
    def _check_ratio(self, _attr: Any, value: Any) -> None:
        if value is not None and not (_is_number(value) and 0 < value <= 1):
            raise ConfigurationError(
                f"CircuitBreakerConfig.failure_ratio must be None or a number in (0, 1], "
                f"got {value!r}"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **fields: Any) -> CircuitBreakerConfig:
        """Defaults, then ``AI_LIB_BREAKER_FAILURE_THRESHOLD`` / ``..._COOLDOWN_SECS``,
        then ``fields`` (explicit values win)."""
        values: dict[str, Any] = {}
        threshold = _env_int(env, ENV_BREAKER_THRESHOLD)
        if threshold is not None:
            values["failure_threshold"] = threshold
        cooldown = _env_float(env, ENV_BREAKER_COOLDOWN)
        if cooldown is not None:
            values["cooldown_seconds"] = cooldown
        return cls(**{**values, **fields})


@attrs.frozen
class RateLimiterConfig:
    """How many requests (and tokens) may go out, and how long a call waits for room.

    ``requests_per_second`` / ``requests_per_minute`` / ``tokens_per_minute``: the
    budgets (None: no such budget); ``max_wait_seconds``: the longest a call waits for
    room before a typed error; ``adaptive``: also follow the provider's rate-limit headers.

    Example::

        RateLimiterConfig.from_rps(10)
        RateLimiterConfig(requests_per_minute=500, tokens_per_minute=90_000)
    """

    requests_per_second: float | None = attrs.field(
        default=None, validator=_rate("RateLimiterConfig", "requests_per_second", 1)
    )
    requests_per_minute: float | None = attrs.field(
        default=None, validator=_rate("RateLimiterConfig", "requests_per_minute", 60)
    )
    tokens_per_minute: float | None = attrs.field(
        default=None, validator=_rate("RateLimiterConfig", "tokens_per_minute", 60)
    )
    max_wait_seconds: float = attrs.field(
        default=30.0, validator=_number("RateLimiterConfig", "max_wait_seconds", positive=False)
    )
    adaptive: bool = attrs.field(default=True)

    @adaptive.validator
    def _check_adaptive(self, _attr: Any, value: Any) -> None:
        if not isinstance(value, bool):
            raise ConfigurationError(f"RateLimiterConfig.adaptive must be a bool, got {value!r}")

    @classmethod
    def from_rps(cls, requests_per_second: float, **fields: Any) -> RateLimiterConfig:
        """At most ``requests_per_second`` requests a second."""
        return cls(requests_per_second=requests_per_second, **fields)

    @classmethod
    def from_rpm(cls, requests_per_minute: float, **fields: Any) -> RateLimiterConfig:
        """At most ``requests_per_minute`` requests a minute."""
        return cls(requests_per_minute=requests_per_minute, **fields)

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, **fields: Any
    ) -> RateLimiterConfig | None:
        """``from_rps(AI_LIB_RPS)`` (``fields`` on top), or None when ``AI_LIB_RPS`` is unset."""
        rps = _env_float(env, ENV_RPS, minimum=1 / MAX_SECONDS)
        if rps is None:
            return cls(**fields) if fields else None
        return cls(**{"requests_per_second": rps, **fields})


@attrs.frozen
class BackpressureConfig:
    """At most ``max_inflight`` calls at once; the next waits up to ``queue_timeout_seconds``.

    Example::

        BackpressureConfig(max_inflight=20, queue_timeout_seconds=5)
    """

    max_inflight: int = attrs.field(
        default=10, validator=_positive_int("BackpressureConfig", "max_inflight")
    )
    queue_timeout_seconds: float = attrs.field(
        default=30.0,
        validator=_number("BackpressureConfig", "queue_timeout_seconds", positive=False),
    )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **fields: Any) -> BackpressureConfig:
        """``max_inflight`` from ``AI_LIB_MAX_INFLIGHT`` (default 10); ``fields`` win."""
        values: dict[str, Any] = {}
        limit = _env_int(env, ENV_MAX_INFLIGHT)
        if limit is not None:
            values["max_inflight"] = limit
        return cls(**{**values, **fields})


def _optional(kind: type[Any], name: str) -> Any:
    def check(_inst: Any, _attr: Any, value: Any) -> None:
        if value is not None and not isinstance(value, kind):
            raise ConfigurationError(
                f"ResilienceConfig.{name} must be a {kind.__name__} or None, got {value!r}"
            )

    return check


@attrs.frozen
class ResilienceConfig:
    """All resilience settings of a client at once; None leaves a layer out.

    ``retry=RetryConfig()`` means the provider manifest's retry policy.

    Example::

        config = ResilienceConfig.production_ready()
        config.circuit_breaker.failure_threshold   # 5, or AI_LIB_BREAKER_FAILURE_THRESHOLD
    """

    retry: RetryConfig | None = attrs.field(default=None, validator=_optional(RetryConfig, "retry"))
    circuit_breaker: CircuitBreakerConfig | None = attrs.field(
        default=None, validator=_optional(CircuitBreakerConfig, "circuit_breaker")
    )
    rate_limiter: RateLimiterConfig | None = attrs.field(
        default=None, validator=_optional(RateLimiterConfig, "rate_limiter")
    )
    backpressure: BackpressureConfig | None = attrs.field(
        default=None, validator=_optional(BackpressureConfig, "backpressure")
    )

    @classmethod
    def production_ready(cls, env: Mapping[str, str] | None = None) -> ResilienceConfig:
        """Sane defaults: the manifest's retry policy, a breaker (5 failures, 30 s cooldown,
        or the ``AI_LIB_BREAKER_*`` variables), a rate limiter only when ``AI_LIB_RPS`` is
        set, and backpressure at ``AI_LIB_MAX_INFLIGHT`` (default 10) calls in flight."""
        return cls(
            retry=RetryConfig(),
            circuit_breaker=CircuitBreakerConfig.from_env(env),
            rate_limiter=RateLimiterConfig.from_env(env),
            backpressure=BackpressureConfig.from_env(env),
        )
