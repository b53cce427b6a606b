"""Response caching: identical requests answered from a cache, without a request.

Backends: :class:`MemoryCache` (LRU + TTL, in process), :class:`DiskCache` (a directory
shared safely by several processes; ``pip install 'ailib[cache]'``), :class:`RedisCache`
(shared by hosts; ``pip install 'ailib[redis]'``) and :class:`NullCache` (stores nothing).
Entries are JSON written with cattrs, never pickle. Names load on first use.

Example::

    from ailib import AiClient
    from ailib.cache import CacheManager, CacheConfig, DiskCache

    client = (AiClient.builder().model("openai/gpt-4o")
              .with_cache(CacheManager(config=CacheConfig(default_ttl_seconds=3600),
                                       backend=DiskCache("~/.cache/myapp")))
              .build())
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ailib.cache._async_layer import AsyncCacheLayer
    from ailib.cache._sync_layer import CacheLayer
    from ailib.cache.backends import CacheBackend, MemoryCache, NullCache
    from ailib.cache.codec import CacheEntry
    from ailib.cache.config import CacheConfig, CacheStats
    from ailib.cache.disk import DiskCache
    from ailib.cache.key import VOLATILE_PARAMS, CacheKeyGenerator
    from ailib.cache.manager import CacheManager
    from ailib.cache.redis_backend import RedisCache

_WHERE = {
    "AsyncCacheLayer": "ailib.cache._async_layer",
    "CacheLayer": "ailib.cache._sync_layer",
    "CacheBackend": "ailib.cache.backends",
    "MemoryCache": "ailib.cache.backends",
    "NullCache": "ailib.cache.backends",
    "CacheEntry": "ailib.cache.codec",
    "CacheConfig": "ailib.cache.config",
    "CacheStats": "ailib.cache.config",
    "DiskCache": "ailib.cache.disk",
    "CacheKeyGenerator": "ailib.cache.key",
    "VOLATILE_PARAMS": "ailib.cache.key",
    "CacheManager": "ailib.cache.manager",
    "RedisCache": "ailib.cache.redis_backend",
}

__all__ = [
    "VOLATILE_PARAMS",
    "AsyncCacheLayer",
    "CacheBackend",
    "CacheConfig",
    "CacheEntry",
    "CacheKeyGenerator",
    "CacheLayer",
    "CacheManager",
    "CacheStats",
    "DiskCache",
    "MemoryCache",
    "NullCache",
    "RedisCache",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'ailib.cache' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})
