"""DiskCache: cached responses in a directory, shared safely by several processes.

Built on the ``diskcache`` library (``pip install 'ailib[cache]'``): SQLite in WAL mode
plus files for large values, with atomic writes, expiry and size-bounded eviction that
several processes (and threads) can use at once. ailib stores only the bytes it encoded
itself; a restricted :class:`diskcache.Disk` refuses pickled keys and values (diskcache
pickles by default) and file names outside the cache directory, so a tampered cache
can neither run code nor make ailib read or delete other files.

Example::

    backend = DiskCache("~/.cache/myapp", size_limit_bytes=512 << 20)
    cache = CacheManager(backend=backend)
"""

from __future__ import annotations

import asyncio
import functools
import os
from typing import Any

from ailib.cache.backends import CacheBackend
from ailib.errors import ConfigurationError

EVICTION_POLICIES = ("least-recently-stored", "least-recently-used", "least-frequently-used")


class UnsafeCacheEntry(ValueError):
    """A stored row ailib did not write: pickled data, or a file outside the cache."""


def default_directory() -> str:
    """``$XDG_CACHE_HOME/ailib/responses``, else ``~/.cache/ailib/responses``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "ailib", "responses")


def _import_diskcache() -> Any:
    try:
        import diskcache
    except ImportError as exc:
        raise ConfigurationError(
            "DiskCache needs the optional 'diskcache' package: pip install 'ailib[cache]'"
        ) from exc
    return diskcache


@functools.cache
def _restricted_disk() -> type:
    """A ``diskcache.Disk`` that keeps str keys and bytes values and never unpickles."""
    diskcache = _import_diskcache()
    core = diskcache.core
    base: Any = diskcache.Disk

    class RestrictedDisk(base):  # type: ignore[misc]
        def __init__(
            self, directory: str, min_file_size: int = 0, pickle_protocol: int = 0, **_: Any
        ) -> None:  # settings a tampered database adds are ignored, not fatal
            super().__init__(directory, min_file_size=min_file_size)
            self._root = os.path.realpath(directory)

        def put(self, key: Any) -> tuple[Any, bool]:
            if type(key) is not str:
                raise TypeError("DiskCache keys are str")
            return key, True

        def get(self, key: Any, raw: bool) -> Any:
            if not raw:
                raise UnsafeCacheEntry("a pickled key in the cache database")
            return key

        def store(self, value: Any, read: bool, key: Any = core.UNKNOWN) -> Any:
            if type(value) is not bytes:
                raise TypeError("DiskCache values are bytes")
            return super().store(value, read, key=key)

        def fetch(self, mode: int, filename: str | None, value: Any, read: bool) -> Any:
            if mode == core.MODE_RAW:
                return bytes(value) if isinstance(value, bytes | memoryview) else value
            if mode == core.MODE_BINARY and not read:
                self._inside(filename)
                return super().fetch(mode, filename, value, read)
            raise UnsafeCacheEntry(f"a cache row in mode {mode!r}, which ailib never writes")

        def remove(self, file_path: str) -> None:
            try:
                self._inside(file_path)
            except UnsafeCacheEntry:
                return  # never delete a file outside the cache directory
            super().remove(file_path)

        def _inside(self, filename: str | None) -> None:
            if not isinstance(filename, str) or os.path.isabs(filename):
                raise UnsafeCacheEntry("a cache file name outside the cache directory")
            full = os.path.realpath(os.path.join(self._root, filename))
            if not full.startswith(self._root + os.sep):
                raise UnsafeCacheEntry("a cache file name outside the cache directory")

    return RestrictedDisk


class DiskCache(CacheBackend):
    """A persistent cache directory (``diskcache``), safe for several processes at once.

    ``size_limit_bytes`` bounds the directory (entries are evicted by
    ``eviction_policy`` beyond it); the directory is created private to the user.

    Example::

        DiskCache("~/.cache/myapp")                    # 1 GiB, least recently stored first
        DiskCache("/var/cache/app", size_limit_bytes=4 << 30,
                  eviction_policy="least-recently-used")
    """

    shared = True

    def __init__(
        self,
        directory: str | os.PathLike[str] | None = None,
        *,
        size_limit_bytes: int = 1 << 30,
        eviction_policy: str = "least-recently-stored",
        timeout: float = 60.0,
    ) -> None:
        diskcache = _import_diskcache()
        if eviction_policy not in EVICTION_POLICIES:
            raise ConfigurationError(
                f"DiskCache eviction_policy must be one of {EVICTION_POLICIES}, "
                f"got {eviction_policy!r}"
            )
        if isinstance(size_limit_bytes, bool) or not isinstance(size_limit_bytes, int):
            raise ConfigurationError("DiskCache size_limit_bytes must be an int")
        if size_limit_bytes < 1:
            raise ConfigurationError("DiskCache size_limit_bytes must be >= 1")
        path = os.path.expanduser(
            os.fspath(directory if directory is not None else default_directory())
        )
        self.directory = os.path.abspath(path)
        settings = dict(diskcache.DEFAULT_SETTINGS)  # explicit: a database's own settings
        settings.update(  # never override ours
            size_limit=size_limit_bytes,
            eviction_policy=eviction_policy,
            disk_min_file_size=32 * 1024,
            disk_pickle_protocol=0,
        )
        try:
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
            self._cache = diskcache.Cache(
                self.directory, timeout=timeout, disk=_restricted_disk(), **settings
            )
        except Exception as exc:
            raise ConfigurationError(
                f"DiskCache cannot open {self.directory!r}: {type(exc).__name__}: {exc}"
            ) from None

    def get(self, key: str) -> bytes | None:
        value = self._cache.get(key, default=None, retry=True)
        if value is not None and not isinstance(value, bytes):
            raise UnsafeCacheEntry(f"a cache row holding a {type(value).__name__}")
        return value

    def set(self, key: str, value: bytes, ttl: float | None) -> None:
        self._cache.set(key, value, expire=ttl, retry=True)

    def delete(self, key: str) -> bool:
        return bool(self._cache.delete(key, retry=True))

    def clear(self) -> None:
        self._cache.clear(retry=True)

    def size(self) -> int:
        self._cache.expire(retry=True)
        return len(self._cache)

    def close(self) -> None:
        self._cache.close()

    # SQLite and file I/O would block the event loop: the async side runs in a thread.

    async def aget(self, key: str) -> bytes | None:
        return await asyncio.to_thread(self.get, key)

    async def aset(self, key: str, value: bytes, ttl: float | None) -> None:
        await asyncio.to_thread(self.set, key, value, ttl)

    async def adelete(self, key: str) -> bool:
        return await asyncio.to_thread(self.delete, key)

    async def aclear(self) -> None:
        await asyncio.to_thread(self.clear)

    async def asize(self) -> int:
        return await asyncio.to_thread(self.size)

    async def aclose(self) -> None:
        self.close()

    def describe(self) -> str:
        return f"disk({self.directory})"

    def __repr__(self) -> str:
        return f"DiskCache({self.directory!r})"
