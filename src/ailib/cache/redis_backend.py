"""RedisCache: cached responses in Redis, shared by every process and host using it.

Needs ``pip install 'ailib[redis]'`` (imported when a RedisCache is made). Entries are
namespaced (``ailib:cache:<key>``) and expire with Redis's own TTL; ``clear()`` and
``size()`` touch only the namespace's keys (SCAN, never FLUSHDB). The async side uses
``redis.asyncio``, one connection pool per event loop.

Example::

    backend = RedisCache("redis://127.0.0.1:6379/0", namespace="myapp:cache")
    cache = CacheManager(backend=backend)
"""

from __future__ import annotations

import asyncio
import re
import threading
import weakref
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ailib.cache.backends import CacheBackend
from ailib.errors import ConfigurationError

#: keys deleted per UNLINK when clearing a namespace
_BATCH = 500


def _import_redis() -> Any:
    try:
        import redis
    except ImportError as exc:
        raise ConfigurationError(
            "RedisCache needs the optional 'redis' package: pip install 'ailib[redis]'"
        ) from exc
    return redis


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = (parts.hostname or "") + (f":{parts.port}" if parts.port is not None else "")
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


class RedisCache(CacheBackend):
    """Entries in Redis under ``namespace``; ``socket_timeout`` bounds each command.

    Example::

        RedisCache("redis://127.0.0.1:6379/0")
        RedisCache("rediss://user:secret@cache.example:6380/2", namespace="app:llm")
    """

    shared = True

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        namespace: str = "ailib:cache",
        socket_timeout: float = 5.0,
    ) -> None:
        if not isinstance(url, str) or urlsplit(url).scheme not in ("redis", "rediss", "unix"):
            raise ConfigurationError(
                f"a RedisCache URL must start with redis://, rediss:// or unix://, got {url!r:.80}"
            )
        if not isinstance(namespace, str) or not namespace:
            raise ConfigurationError("a RedisCache namespace must be a non-empty str")
        self._redis = _import_redis()
        self.url = url
        self.namespace = namespace
        self.socket_timeout = socket_timeout
        self._pattern = re.sub(r"([*?\[\]\\])", r"\\\1", namespace) + ":*"
        self._lock = threading.Lock()
        self._sync_client: Any = None
        self._async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary()
        )

    @property
    def label(self) -> str:
        """The URL without its password."""
        return _redacted(self.url)

    def _key(self, key: str) -> str:
        return f"{self.namespace}:{key}"

    def _options(self) -> dict[str, Any]:
        return {
            "socket_timeout": self.socket_timeout,
            "socket_connect_timeout": self.socket_timeout,
        }

    def _client(self) -> Any:
        with self._lock:
            if self._sync_client is None:
                self._sync_client = self._redis.Redis.from_url(self.url, **self._options())
            return self._sync_client

    def _aclient(self) -> Any:
        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._async_clients.get(loop)
            if client is None:
                import redis.asyncio

                client = redis.asyncio.Redis.from_url(self.url, **self._options())
                self._async_clients[loop] = client
            return client

    @staticmethod
    def _px(ttl: float | None) -> int | None:
        return None if ttl is None else max(1, int(ttl * 1000))

    def get(self, key: str) -> bytes | None:
        value: bytes | None = self._client().get(self._key(key))
        return value

    def set(self, key: str, value: bytes, ttl: float | None) -> None:
        self._client().set(self._key(key), value, px=self._px(ttl))

    def delete(self, key: str) -> bool:
        return bool(self._client().delete(self._key(key)))

    def clear(self) -> None:
        client = self._client()
        batch: list[Any] = []
        for name in client.scan_iter(match=self._pattern, count=_BATCH):
            batch.append(name)
            if len(batch) >= _BATCH:
                client.unlink(*batch)
                batch = []
        if batch:
            client.unlink(*batch)

    def size(self) -> int:
        return sum(1 for _ in self._client().scan_iter(match=self._pattern, count=_BATCH))

    def close(self) -> None:
        with self._lock:
            client, self._sync_client = self._sync_client, None
        if client is not None:
            client.close()

    async def aget(self, key: str) -> bytes | None:
        value: bytes | None = await self._aclient().get(self._key(key))
        return value

    async def aset(self, key: str, value: bytes, ttl: float | None) -> None:
        await self._aclient().set(self._key(key), value, px=self._px(ttl))

    async def adelete(self, key: str) -> bool:
        return bool(await self._aclient().delete(self._key(key)))

    async def aclear(self) -> None:
        client = self._aclient()
        batch: list[Any] = []
        async for name in client.scan_iter(match=self._pattern, count=_BATCH):
            batch.append(name)
            if len(batch) >= _BATCH:
                await client.unlink(*batch)
                batch = []
        if batch:
            await client.unlink(*batch)

    async def asize(self) -> int:
        count = 0
        async for _ in self._aclient().scan_iter(match=self._pattern, count=_BATCH):
            count += 1
        return count

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._async_clients.pop(loop, None)
        if client is not None:
            await client.aclose()

    def describe(self) -> str:
        return f"redis({self.label}, {self.namespace})"

    def __repr__(self) -> str:
        return f"RedisCache({self.label!r}, namespace={self.namespace!r})"
