"""Generate the sync twin of an async source file (an unasync-style token pass).

One source, two surfaces: the async engine and client are written once; their sync
versions are rendered from them and checked for freshness like every generated file.
Lines marked ``# unasync: skip`` exist only in the async version.
"""

from __future__ import annotations

import re

UNASYNC_FILES = [
    ("src/ailib/runtime/_async_engine.py", "src/ailib/runtime/_sync_engine.py"),
    ("src/ailib/runtime/_async_client.py", "src/ailib/runtime/_sync_client.py"),
    ("src/ailib/embeddings/_async.py", "src/ailib/embeddings/_sync.py"),
    ("src/ailib/runtime/_async_body.py", "src/ailib/runtime/_sync_body.py"),
    ("src/ailib/runtime/_async_pipeline.py", "src/ailib/runtime/_sync_pipeline.py"),
    ("src/ailib/runtime/_async_stream.py", "src/ailib/runtime/_sync_stream.py"),
    ("src/ailib/resilience/_async_fallback.py", "src/ailib/resilience/_sync_fallback.py"),
    ("src/ailib/tokens/_async_endpoints.py", "src/ailib/tokens/_sync_endpoints.py"),
    ("src/ailib/resilience/_async_retry.py", "src/ailib/resilience/_sync_retry.py"),
    ("src/ailib/resilience/_async_state.py", "src/ailib/resilience/_sync_state.py"),
    (
        "src/ailib/resilience/_async_breaker_layer.py",
        "src/ailib/resilience/_sync_breaker_layer.py",
    ),
    ("src/ailib/plugins/_async_layer.py", "src/ailib/plugins/_sync_layer.py"),
    ("src/ailib/resilience/_async_gates.py", "src/ailib/resilience/_sync_gates.py"),
    (
        "src/ailib/resilience/_async_shared_gates.py",
        "src/ailib/resilience/_sync_shared_gates.py",
    ),
    ("src/ailib/telemetry/_async_layers.py", "src/ailib/telemetry/_sync_layers.py"),
    ("src/ailib/cache/_async_layer.py", "src/ailib/cache/_sync_layer.py"),
    ("src/ailib/routing/_async_array.py", "src/ailib/routing/_sync_array.py"),
    ("src/ailib/batches/_async_batches.py", "src/ailib/batches/_sync_batches.py"),
]

# Whole-word replacements, applied in order.
NAMES = [
    ("AsyncEngine", "SyncEngine"),
    ("AsyncModelArray", "ModelArray"),
    ("AsyncPipeline", "Pipeline"),
    ("AsyncLayer", "Layer"),
    ("AsyncNext", "Next"),
    ("AsyncRetryLayer", "RetryLayer"),
    ("AsyncPluginLayer", "PluginLayer"),
    ("afinish", "finish"),
    ("wait_async", "wait"),
    ("anext_within", "next_within"),
    ("asettle", "settle"),
    ("_async_pipeline", "_sync_pipeline"),
    ("_async_stream", "_sync_stream"),
    ("_async_fallback", "_sync_fallback"),
    ("AsyncSignalsLayer", "SignalsLayer"),
    ("AsyncFallbackLayer", "FallbackLayer"),
    ("AsyncPreflightLayer", "PreflightLayer"),
    ("AsyncClientBuilder", "ClientBuilder"),
    ("async_pipeline", "sync_pipeline"),
    ("_async_endpoints", "_sync_endpoints"),
    ("acount_tokens", "count_tokens"),
    ("alist_models", "list_models"),
    ("_async_retry", "_sync_retry"),
    ("AsyncBreakerLayer", "BreakerLayer"),
    ("AsyncStateBackend", "SyncStateBackend"),
    ("AsyncMemoryBackend", "SyncMemoryBackend"),
    ("AsyncRedisBackend", "SyncRedisBackend"),
    ("_async_state", "_sync_state"),
    ("_async_breaker_layer", "_sync_breaker_layer"),
    ("AsyncRateLimitLayer", "RateLimitLayer"),
    ("AsyncRateLimiter", "RateLimiter"),
    ("AsyncLocalBudget", "LocalBudget"),
    ("AsyncSharedBudget", "SharedBudget"),
    ("AsyncBackpressureLayer", "BackpressureLayer"),
    ("AsyncBackpressure", "Backpressure"),
    ("AsyncLocalSlots", "LocalSlots"),
    ("AsyncRedisSlots", "RedisSlots"),
    ("AsyncTicker", "Ticker"),
    ("_async_shared_gates", "_sync_shared_gates"),
    ("_async_gates", "_sync_gates"),
    ("AsyncTelemetryLayer", "TelemetryLayer"),
    ("AsyncTelemetryAttemptLayer", "TelemetryAttemptLayer"),
    ("_async_layers", "_sync_layers"),
    ("AsyncCacheLayer", "CacheLayer"),
    ("AsyncCacheAccess", "SyncCacheAccess"),
    ("AsyncChatStream", "ChatStream"),
    ("AsyncChatBuilder", "ChatBuilder"),
    ("AsyncAiClient", "AiClient"),
    ("AsyncEmbeddingClient", "EmbeddingClient"),
    ("AsyncBatches", "Batches"),
    ("_async_batches", "_sync_batches"),
    ("AsyncRetrying", "Retrying"),
    ("AsyncIterator", "Iterator"),
    ("AsyncClient", "Client"),
    ("AsyncHttpClient", "HttpClient"),
    ("__aenter__", "__enter__"),
    ("__aexit__", "__exit__"),
    ("__aiter__", "__iter__"),
    ("__anext__", "__next__"),
    ("StopAsyncIteration", "StopIteration"),
    ("aiter_bytes", "iter_bytes"),
    ("aiter_raw", "iter_raw"),
    ("aiter_body", "iter_body"),
    ("aread_body", "read_body"),
    ("arun_within", "run_within"),
    ("aread", "read"),
    ("aclose", "close"),
    ("_async_engine", "_sync_engine"),
    ("_async_client", "_sync_client"),
    ("_async_body", "_sync_body"),
    ("asyncio", "time"),
]
PATTERNS = [
    (re.compile(r"\basync def\b"), "def"),
    (re.compile(r"\basync for\b"), "for"),
    (re.compile(r"\basync with\b"), "with"),
    (re.compile(r"\bawait "), ""),
    (re.compile(r"\(async\)"), "(sync)"),
    (re.compile(r"\basynchronous=True\b"), "asynchronous=False"),
]


def unasync(source: str, source_name: str) -> str:
    lines = [line for line in source.splitlines() if not line.rstrip().endswith("# unasync: skip")]
    text = "\n".join(lines) + "\n"
    for pattern, repl in PATTERNS:
        text = pattern.sub(repl, text)
    for old, new in NAMES:
        text = re.sub(rf"\b{re.escape(old)}\b", new, text)
    header = f"# GENERATED by `python -m codegen` from {source_name} (unasync); do not edit.\n"
    return header + text
