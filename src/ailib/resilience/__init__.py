"""Production resilience as layers of the request pipeline (sync and async).

Example::

    from ailib import AiClient
    from ailib.resilience import RetryConfig, RateLimiterConfig, CircuitBreakerConfig

    client = (AiClient.builder().model("openai/gpt-4o")
              .with_retry(RetryConfig(max_retries=5, min_delay_ms=500, max_delay_ms=30_000))
              .with_rate_limit(RateLimiterConfig.from_rps(10))
              .with_circuit_breaker(CircuitBreakerConfig(failure_threshold=5, cooldown_seconds=30))
              .max_inflight(20)
              .build())

Names load lazily: ``import ailib.resilience`` imports nothing else.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "RetryConfig": "ailib.resilience.retry_policy",
    "RetryPolicy": "ailib.resilience.retry_policy",
    "RateLimiterConfig": "ailib.resilience.config",
    "CircuitBreakerConfig": "ailib.resilience.config",
    "BackpressureConfig": "ailib.resilience.config",
    "ResilienceConfig": "ailib.resilience.config",
    "CircuitBreaker": "ailib.resilience.breaker",
    "CircuitState": "ailib.resilience.breaker",
    "RateLimiter": "ailib.resilience.limiter",
    "AsyncRateLimiter": "ailib.resilience.limiter",
    "Backpressure": "ailib.resilience.backpressure",
    "AsyncBackpressure": "ailib.resilience.backpressure",
    "PreflightChecker": "ailib.resilience.preflight",
    "SignalsSnapshot": "ailib.resilience.signals",
    "ResilienceStats": "ailib.resilience.signals",
    "StateStore": "ailib.resilience.state",
    "MemoryStore": "ailib.resilience.state",
    "RedisStore": "ailib.resilience.state",
    "store_from_url": "ailib.resilience.state",
    "FallbackTarget": "ailib.resilience.fallback",
    "FallbackChain": "ailib.resilience.chain",
    "AsyncFallbackChain": "ailib.resilience.chain",
    "CancelReason": "ailib.resilience.cancel",
    "CancelToken": "ailib.resilience.cancel",
    "CancelHandle": "ailib.resilience.cancel",
    "CancellableStream": "ailib.resilience.cancel",
    "create_cancel_pair": "ailib.resilience.cancel",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ailib.resilience' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return __all__
