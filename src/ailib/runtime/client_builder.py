"""The client builder's settings, shared by ``AiClient.builder()`` and its async twin.

Collects the model, the ``create()`` options and the resilience, fallback, plugin and
state-store settings; ``build()`` (in the sync and async client modules) turns them into
a client whose pipeline holds one layer per setting. No I/O here.

Example::

    client = (AiClient.builder()
              .model("openai/gpt-4o")
              .production_ready()
              .with_fallbacks(["anthropic/claude-sonnet-4-5"])
              .build())
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from ailib.errors import ConfigurationError

if TYPE_CHECKING:
    from ailib.resilience.config import (
        BackpressureConfig,
        CircuitBreakerConfig,
        RateLimiterConfig,
        ResilienceConfig,
    )
    from ailib.resilience.fallback import FallbackTarget
    from ailib.resilience.retry_policy import RetryConfig

_B = TypeVar("_B", bound="ClientBuilderBase")

#: create() options a builder may set with a method of the same name or ``option()``
CREATE_OPTIONS = frozenset(
    {
        "api_key",
        "base_url",
        "timeout",
        "max_retries",
        "retry_policy",
        "http_client",
        "drop_unsupported",
        "default_headers",
        "manifest",
        "manifest_paths",
        "hot_reload",
        "loader",
        "limits",
        "allow_insecure_http",
        "stream_idle_timeout",
        "stream_timeout",
        "transport",
        "pool",
    }
)


class ClientBuilderBase:
    """Settings of a client to build; every method returns the builder."""

    def __init__(self) -> None:
        self._model: str | None = None
        self._options: dict[str, Any] = {}
        self._production = False
        self._retry: RetryConfig | None = None
        self._breaker: CircuitBreakerConfig | None = None
        self._limiter: RateLimiterConfig | None = None
        self._backpressure: BackpressureConfig | None = None
        self._fallbacks: list[FallbackTarget] = []
        self._plugins: list[Any] = []
        self._middlewares: list[Any] = []
        self._registries: list[Any] = []
        self._hooks: list[Any] = []
        self._state_store: Any = None
        self._cache: Any = None  # a CacheManager (ailib.cache)
        self._telemetry: Any = None  # a TelemetryOptions (ailib.telemetry)

    def __repr__(self) -> str:
        """The settings by name; option values (keys, headers) are never shown."""
        shown = [f"model={self._model!r}", f"options={sorted(self._options)}"]
        if self._production:
            shown.append("production_ready")
        if self._fallbacks:
            shown.append(f"fallbacks={[fb.model for fb in self._fallbacks]}")
        return f"{type(self).__name__}({', '.join(shown)})"

    # ---- what to call and how ----------------------------------------------------------

    def model(self: _B, model: str) -> _B:
        """``provider/model-id``, e.g. ``"openai/gpt-4o"``."""
        self._model = model
        return self

    def option(self: _B, name: str, value: Any) -> _B:
        """Any ``create()`` option by name (``api_key``, ``base_url``, ``limits``...)."""
        if name not in CREATE_OPTIONS:
            raise ConfigurationError(
                f"unknown client option {name!r}; expected one of {sorted(CREATE_OPTIONS)}"
            )
        self._options[name] = value
        return self

    def api_key(self: _B, key: str) -> _B:
        return self.option("api_key", key)

    def base_url(self: _B, url: str) -> _B:
        return self.option("base_url", url)

    def timeout(self: _B, seconds: float) -> _B:
        return self.option("timeout", seconds)

    def transport(self: _B, name: str) -> _B:
        """The HTTP backend: ``"httpx"`` (default), ``"httpx2"`` or ``"aiohttp"`` (async)."""
        from ailib.transport.backends import resolve_transport

        return self.option("transport", resolve_transport(name))  # unknown/missing: here

    def pool(self: _B, pool: Any) -> _B:
        """Share the connections of an ``ailib.transport.ConnectionPool``."""
        from ailib.transport.pool import ConnectionPool

        if not isinstance(pool, ConnectionPool):
            raise ConfigurationError(
                f"pool() takes an ailib.transport.ConnectionPool, got {type(pool).__name__}"
            )
        return self.option("pool", pool)

    def stream_timeouts(self: _B, *, idle: float | None = None, total: float | None = None) -> _B:
        """A stream fails (E3003, with its partial) after ``idle`` seconds without content
        or ``total`` seconds in all."""
        self.option("stream_idle_timeout", idle)
        return self.option("stream_timeout", total)

    # ---- resilience ----------------------------------------------------------------------

    def production_ready(self: _B) -> _B:
        """Retry (the manifest's policy), a circuit breaker, backpressure and, with
        ``AI_LIB_RPS`` set, a rate limiter; explicit ``with_*`` settings win."""
        self._production = True
        return self

    def with_retry(self: _B, config: RetryConfig | None = None) -> _B:
        from ailib.resilience.retry_policy import RetryConfig

        self._retry = config if config is not None else RetryConfig()
        return self

    def with_rate_limit(self: _B, config: RateLimiterConfig) -> _B:
        self._limiter = config
        return self

    def with_circuit_breaker(self: _B, config: CircuitBreakerConfig | None = None) -> _B:
        from ailib.resilience.config import CircuitBreakerConfig

        self._breaker = config if config is not None else CircuitBreakerConfig.from_env()
        return self

    def max_inflight(self: _B, limit: int, *, queue_timeout_seconds: float | None = None) -> _B:
        """At most ``limit`` calls in flight; the next waits up to the queue timeout."""
        from ailib.resilience.config import BackpressureConfig

        fields: dict[str, Any] = {"max_inflight": limit}
        if queue_timeout_seconds is not None:
            fields["queue_timeout_seconds"] = queue_timeout_seconds
        self._backpressure = BackpressureConfig(**fields)
        return self

    def with_backpressure(self: _B, config: BackpressureConfig) -> _B:
        self._backpressure = config
        return self

    def with_fallbacks(self: _B, targets: Iterable[str | FallbackTarget]) -> _B:
        """Targets tried in order after a fallbackable error (``"provider/model"`` or a
        :class:`~ailib.resilience.fallback.FallbackTarget` with its own key or URL)."""
        from ailib.resilience.fallback import FallbackTarget

        if isinstance(targets, str | bytes):
            raise ConfigurationError("with_fallbacks() takes a list of 'provider/model' strings")
        for target in targets:
            if isinstance(target, str):
                target = FallbackTarget(target)
            if not isinstance(target, FallbackTarget):
                raise ConfigurationError(
                    f"a fallback is a 'provider/model' string or a FallbackTarget, got {target!r}"
                )
            self._fallbacks.append(target)
        return self

    def with_state_store(self: _B, store: Any) -> _B:
        """Share breaker, limiter and in-flight state: ``"redis://127.0.0.1:6379/0"``,
        ``"memory://"`` or a StateStore. Default: ``AI_LIB_STATE_URL``, else memory."""
        from ailib.resilience.state import StateStore, store_from_url

        if isinstance(store, str):
            store_from_url(store)  # a malformed URL (or a missing extra) is refused here
        elif store is not None and not isinstance(store, StateStore):
            raise ConfigurationError(
                "with_state_store() takes a URL ('redis://127.0.0.1:6379/0', 'memory://') "
                f"or a StateStore, got {type(store).__name__}"
            )
        self._state_store = store
        return self

    # ---- response cache ------------------------------------------------------------------

    def with_cache(self: _B, cache: Any) -> _B:
        """Answer repeated requests from ``cache`` (an ``ailib.cache.CacheManager``) without
        calling the provider; streams are stored once complete and replayed as events."""
        from ailib.cache.manager import CacheManager

        if not isinstance(cache, CacheManager):
            raise ConfigurationError(
                f"with_cache() takes an ailib.cache.CacheManager, got {type(cache).__name__}"
            )
        self._cache = cache
        return self

    # ---- telemetry -------------------------------------------------------------------------

    def with_telemetry(
        self: _B,
        metrics: Any = None,
        tracing: bool = False,
        tracer_provider: Any = None,
        *,
        meter_provider: Any = None,
        otel_metrics: bool | None = None,
        logs: bool = True,
        log_content: bool = False,
        capture_content: bool = False,
    ) -> _B:
        """Watch every call: ``metrics`` (an ``ailib.telemetry.MetricsCollector``),
        OpenTelemetry GenAI spans with ``tracing=True`` (``ailib[otel]``; the global
        provider or ``tracer_provider``), the GenAI client metrics (``otel_metrics``,
        default: with tracing), one log record per call and per failed attempt on the
        ``ailib.telemetry`` logger (``logs``). Prompts and completions go into log records /
        spans only with ``log_content`` / ``capture_content``."""
        from ailib.telemetry.metrics import MetricsCollector
        from ailib.telemetry.observer import TelemetryOptions

        if metrics is not None and not isinstance(metrics, MetricsCollector):
            raise ConfigurationError(
                f"with_telemetry(metrics=) takes a MetricsCollector, got {type(metrics).__name__}"
            )
        if tracing or otel_metrics:
            from ailib.telemetry.tracing import require_otel

            require_otel("with_telemetry(tracing=True)")  # here, not at the first call
        self._telemetry = TelemetryOptions(
            metrics=metrics,
            tracing=bool(tracing),
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
            otel_metrics=otel_metrics,
            logs=bool(logs),
            log_content=bool(log_content),
            capture_content=bool(capture_content),
        )
        return self

    # ---- plugins ---------------------------------------------------------------------------

    def with_plugin(self: _B, plugin: Any) -> _B:
        self._plugins.append(plugin)
        return self

    def with_plugins(self: _B, registry: Any) -> _B:
        """Plugins of a ``PluginRegistry`` shared by several clients."""
        self._registries.append(registry)
        return self

    def with_middleware(self: _B, middleware: Any) -> _B:
        self._middlewares.append(middleware)
        return self

    def with_hooks(self: _B, hooks: Any) -> _B:
        """A ``HookManager`` whose hooks run around each call."""
        self._hooks.append(hooks)
        return self

    # ---- resolution ------------------------------------------------------------------------

    def _checked_model(self) -> str:
        if self._model is None:
            raise ConfigurationError("builder: call .model('provider/model') before .build()")
        return self._model

    def resilience(self, env: Mapping[str, str] | None = None) -> ResilienceConfig:
        """The resilience settings in force: explicit, then production defaults, then the
        ``AI_LIB_*`` environment (which alone turns on the limiter and backpressure)."""
        return resolve_resilience(
            production=self._production,
            retry=self._retry,
            breaker=self._breaker,
            limiter=self._limiter,
            backpressure=self._backpressure,
            env=env,
        )


def resolve_resilience(
    *,
    production: bool = False,
    retry: RetryConfig | None = None,
    breaker: CircuitBreakerConfig | None = None,
    limiter: RateLimiterConfig | None = None,
    backpressure: BackpressureConfig | None = None,
    env: Mapping[str, str] | None = None,
) -> ResilienceConfig:
    """Explicit settings win; ``production`` fills the gaps with defaults; a set
    ``AI_LIB_RPS`` / ``AI_LIB_MAX_INFLIGHT`` adds the limiter / backpressure anyway."""
    from ailib.resilience.config import (
        BackpressureConfig,
        RateLimiterConfig,
        ResilienceConfig,
    )

    env = os.environ if env is None else env
    base = ResilienceConfig.production_ready(env) if production else ResilienceConfig()
    if limiter is None and base.rate_limiter is None and env.get("AI_LIB_RPS", "").strip():
        limiter = RateLimiterConfig.from_env(env)
    if (
        backpressure is None
        and base.backpressure is None
        and env.get("AI_LIB_MAX_INFLIGHT", "").strip()
    ):
        backpressure = BackpressureConfig.from_env(env)
    return ResilienceConfig(
        retry=retry or base.retry,
        circuit_breaker=breaker or base.circuit_breaker,
        rate_limiter=limiter or base.rate_limiter,
        backpressure=backpressure or base.backpressure,
    )
