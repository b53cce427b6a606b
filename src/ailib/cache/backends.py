"""Where cached entries live: the backend interface, :class:`MemoryCache`, :class:`NullCache`.

A backend stores opaque bytes (entries the manager encoded) under string keys with an
optional TTL. Every method has an async twin with an ``a`` prefix; backends without
I/O to wait for (memory, null) answer those directly. The persistent backends are
:class:`~ailib.cache.DiskCache` (``ailib[cache]``) and :class:`~ailib.cache.RedisCache`
(``ailib[redis]``).

Example::

    backend = MemoryCache(max_size=1000, max_bytes=64 * 1024 * 1024)
    backend.set("k", b"...", ttl=60)
    backend.get("k")  # b"..." for 60 seconds, then None
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable

from ailib.errors import ConfigurationError


class CacheBackend(ABC):
    """Bytes by key with a TTL; the async methods (``aget``...) are the async side.

    ``shared`` says whether other processes see the same entries.
    """

    shared = False

    @abstractmethod
    def get(self, key: str) -> bytes | None:
        """The bytes stored under ``key``, or None (missing or expired)."""

    @abstractmethod
    def set(self, key: str, value: bytes, ttl: float | None) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds (None: until evicted)."""

    @abstractmethod
    def delete(self, key: str) -> bool:
        """Remove ``key``; whether it was there."""

    @abstractmethod
    def clear(self) -> None:
        """Remove every entry of this cache (and nothing else)."""

    @abstractmethod
    def size(self) -> int:
        """How many entries are stored now."""

    def close(self) -> None:
        """Release the sync side's resources (the entries stay)."""
        return None

    async def aget(self, key: str) -> bytes | None:
        return self.get(key)

    async def aset(self, key: str, value: bytes, ttl: float | None) -> None:
        self.set(key, value, ttl)

    async def adelete(self, key: str) -> bool:
        return self.delete(key)

    async def aclear(self) -> None:
        self.clear()

    async def asize(self) -> int:
        return self.size()

    async def aclose(self) -> None:
        """Release the async side's resources on the running event loop."""
        return None

    def describe(self) -> str:
        return type(self).__name__.lower().removesuffix("cache") or "cache"

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class NullCache(CacheBackend):
    """Stores nothing: every lookup misses (caching switched off, same code path).

    Example::

        CacheManager(backend=NullCache())
    """

    def get(self, key: str) -> bytes | None:
        return None

    def set(self, key: str, value: bytes, ttl: float | None) -> None:
        return None

    def delete(self, key: str) -> bool:
        return False

    def clear(self) -> None:
        return None

    def size(self) -> int:
        return 0


class MemoryCache(CacheBackend):
    """An in-process LRU cache with per-entry TTL, bounded by entries and by bytes.

    Thread-safe; the least recently used entries go first when a bound is reached.

    Example::

        MemoryCache(max_size=1000)                       # at most 1000 entries
        MemoryCache(max_size=10_000, max_bytes=50 << 20)  # and at most 50 MiB of entries
    """

    def __init__(
        self,
        max_size: int = 1000,
        *,
        max_bytes: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1:
            raise ConfigurationError(f"MemoryCache max_size must be an int >= 1, got {max_size!r}")
        if max_bytes is not None and (
            isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1
        ):
            raise ConfigurationError(
                f"MemoryCache max_bytes must be an int >= 1 or None, got {max_bytes!r}"
            )
        self.max_size = max_size
        self.max_bytes = max_bytes
        self.evictions = 0
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[bytes, float | None]] = OrderedDict()
        self._bytes = 0

    def get(self, key: str) -> bytes | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            value, expires = found
            if expires is not None and self._clock() >= expires:
                self._drop(key)
                return None
            self._entries.move_to_end(key)
            return value

    def set(self, key: str, value: bytes, ttl: float | None) -> None:
        if self.max_bytes is not None and len(value) > self.max_bytes:
            return  # could never fit; storing it would only empty the cache
        expires = None if ttl is None else self._clock() + ttl
        with self._lock:
            if key in self._entries:
                self._drop(key)
            self._entries[key] = (value, expires)
            self._bytes += len(value)
            while len(self._entries) > self.max_size or (
                self.max_bytes is not None and self._bytes > self.max_bytes
            ):
                oldest = next(iter(self._entries))
                self._drop(oldest)
                self.evictions += 1

    def delete(self, key: str) -> bool:
        with self._lock:
            if key not in self._entries:
                return False
            self._drop(key)
            return True

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def size(self) -> int:
        with self._lock:
            now = self._clock()
            expired = [k for k, (_, exp) in self._entries.items() if exp is not None and now >= exp]
            for key in expired:
                self._drop(key)
            return len(self._entries)

    @property
    def bytes_used(self) -> int:
        """Bytes of the entries held now."""
        return self._bytes

    def _drop(self, key: str) -> None:
        value, _ = self._entries.pop(key)
        self._bytes -= len(value)

    def describe(self) -> str:
        bound = f", max_bytes={self.max_bytes}" if self.max_bytes is not None else ""
        return f"memory(max_size={self.max_size}{bound})"

    def __repr__(self) -> str:
        return f"MemoryCache(max_size={self.max_size}, max_bytes={self.max_bytes})"
