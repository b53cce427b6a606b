"""Turning a builder's settings into a client's pipeline (sync and async alike).

One place decides which layers a client gets and in which configuration; the layer
classes themselves come from the async modules or their generated sync twins. A client
without settings gets signals and retry (the manifest's policy), plus the rate limiter
and in-flight cap when ``AI_LIB_RPS`` / ``AI_LIB_MAX_INFLIGHT`` are set.

Example::

    pipeline = async_pipeline(client, builder)   # AsyncPipeline(per call: ...)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ailib.resilience.fallback import FallbackTarget
    from ailib.runtime._async_pipeline import AsyncPipeline
    from ailib.runtime._sync_pipeline import Pipeline
    from ailib.runtime.client_builder import ClientBuilderBase

#: the modules of each surface: (retry, fallback, breaker, gates, plugins, class prefix)
_MODULES = {
    True: (
        "_async_retry",
        "_async_fallback",
        "_async_breaker_layer",
        "_async_gates",
        "_async_layer",
        "Async",
    ),
    False: (
        "_sync_retry",
        "_sync_fallback",
        "_sync_breaker_layer",
        "_sync_gates",
        "_sync_layer",
        "",
    ),
}


def fallback_options(
    primary: dict[str, Any], target: FallbackTarget, primary_provider: str | None = None
) -> dict[str, Any]:
    """The ``create()`` options of a fallback: the shared ones of the primary, then its own.

    Another model of ``primary_provider`` at the primary's base URL (the target names no
    URL of its own) takes all of the primary's options, its key and headers included; a
    target with its own URL never gets the primary's credentials."""
    from ailib.resilience.fallback import SHARED_OPTIONS
    from ailib.runtime.create_args import check_model_arg
    from ailib.runtime.registry import split_model

    own_url = target.base_url is not None or "base_url" in target.options
    same = not own_url and split_model(check_model_arg(target.model))[0] == primary_provider
    options = {k: v for k, v in primary.items() if same or k in SHARED_OPTIONS}
    if target.api_key is not None:
        options["api_key"] = target.api_key
    if target.base_url is not None:
        options["base_url"] = target.base_url
    options.update(target.options)
    return options


def _layers(client: Any, settings: ClientBuilderBase | None, asynchronous: bool) -> list[Any]:
    from ailib.resilience.fallback import LiveTarget
    from ailib.resilience.preflight import PreflightChecker
    from ailib.resilience.state import store_from_env, store_from_url
    from ailib.runtime.client_builder import resolve_resilience

    retry_mod, fallback_mod, breaker_mod, gates_mod, plugin_mod, prefix = _MODULES[asynchronous]
    resilience_pkg = "ailib.resilience."
    retry = importlib.import_module(resilience_pkg + retry_mod)
    fallback = importlib.import_module(resilience_pkg + fallback_mod)
    stats = client.stats
    config = settings.resilience() if settings is not None else resolve_resilience()
    retry_config = config.retry
    layers: list[Any] = [
        getattr(fallback, prefix + "SignalsLayer")(stats),
        getattr(retry, prefix + "RetryLayer")(retry_config, stats=stats),
    ]
    client._layers = {"signals": layers[0], "retry": layers[1]}
    store: Any = None
    needs_store = config.circuit_breaker or config.rate_limiter or config.backpressure
    if needs_store:
        chosen = settings._state_store if settings is not None else None
        if isinstance(chosen, str):
            store = store_from_url(chosen)
        else:
            store = chosen if chosen is not None else store_from_env()
        client._store = store  # closed with the client
    if config.circuit_breaker is not None or config.rate_limiter or config.backpressure:
        gates = importlib.import_module(resilience_pkg + gates_mod)
        if config.rate_limiter is not None:
            layer = getattr(gates, prefix + "RateLimitLayer")(
                config.rate_limiter, stats=stats, store=store
            )
            layers.append(layer)
            client._layers["rate_limit"] = layer
        if config.backpressure is not None:
            layer = getattr(gates, prefix + "BackpressureLayer")(
                config.backpressure, stats=stats, store=store
            )
            layers.append(layer)
            client._layers["backpressure"] = layer
    breaker = None
    if config.circuit_breaker is not None:
        module = importlib.import_module(resilience_pkg + breaker_mod)
        breaker = getattr(module, prefix + "BreakerLayer")(
            config.circuit_breaker, store=store, stats=stats
        )
        layers.append(breaker)
        client._layers["breaker"] = breaker
    fallbacks = [LiveTarget(fb) for fb in client._fallback_clients]  # hot reloads followed
    if fallbacks:
        layers.append(getattr(fallback, prefix + "FallbackLayer")(fallbacks, stats=stats))
        layers.append(
            getattr(fallback, prefix + "PreflightLayer")(PreflightChecker(breaker=breaker))
        )
    if settings is not None and (
        settings._plugins or settings._registries or settings._middlewares or settings._hooks
    ):
        plugins = importlib.import_module("ailib.plugins." + plugin_mod)
        layer = getattr(plugins, prefix + "PluginLayer")(
            [*settings._registries, *settings._plugins], settings._middlewares, settings._hooks
        )
        layers.append(layer)
        client._layers["plugins"] = layer
    if settings is not None and settings._cache is not None:
        cache_mod = "ailib.cache." + ("_async_layer" if asynchronous else "_sync_layer")
        cache = importlib.import_module(cache_mod)
        layer = getattr(cache, prefix + "CacheLayer")(settings._cache)
        layers.append(layer)
        client._layers["cache"] = layer
    if settings is not None and settings._telemetry is not None:
        from ailib.telemetry.observer import Telemetry

        telemetry_mod = "ailib.telemetry." + ("_async_layers" if asynchronous else "_sync_layers")
        watch = importlib.import_module(telemetry_mod)
        telemetry = Telemetry(settings._telemetry, stats=stats)
        layer = getattr(watch, prefix + "TelemetryLayer")(telemetry)
        layers.append(layer)
        layers.append(getattr(watch, prefix + "TelemetryAttemptLayer")(telemetry))
        client._layers["telemetry"] = layer
    if settings is not None:
        stats.max_inflight = config.backpressure.max_inflight if config.backpressure else None
    return layers


def async_pipeline(client: Any, settings: ClientBuilderBase | None) -> AsyncPipeline:
    """The pipeline of an async client with ``settings`` (None: a plain client)."""
    from ailib.runtime._async_pipeline import AsyncPipeline

    return AsyncPipeline(_layers(client, settings, asynchronous=True))


def sync_pipeline(client: Any, settings: ClientBuilderBase | None) -> Pipeline:
    """The pipeline of a sync client with ``settings`` (None: a plain client)."""
    from ailib.runtime._sync_pipeline import Pipeline

    return Pipeline(_layers(client, settings, asynchronous=False))
