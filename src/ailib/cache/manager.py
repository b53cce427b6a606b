"""CacheManager: keys, entries, stats and per-call choices around one cache backend.

Used by hand (the seed README's way) or as a client's pipeline layer
(``.with_cache(CacheManager(...))``): a hit then returns without any request, a
streamed call is stored once complete and replayed as the same events. A backend that
fails, or an entry that cannot be read, is a logged miss (logger ``"ailib"``): a cache
never fails a call.

Example::

    cache = CacheManager(config=CacheConfig(default_ttl_seconds=3600),
                         backend=MemoryCache(max_size=1000))
    key = cache.generate_key(model="gpt-4o", messages=messages)
    cached = await cache.get(key)           # cache.get_sync(key) in sync code
    if cached is None:
        response = await client.chat().messages(messages).execute()
        await cache.set(key, response)
    print(f"Hit ratio: {cache.stats().hit_ratio:.2%}")
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

from ailib.cache.backends import CacheBackend, MemoryCache
from ailib.cache.codec import CacheEntry, CacheEntryError, decode_entry, encode_entry
from ailib.cache.config import CacheConfig, CacheStats
from ailib.cache.key import CacheKeyGenerator, UncacheableRequest
from ailib.errors import ConfigurationError, InvalidRequestError

if TYPE_CHECKING:
    from ailib.runtime.context import CallContext
    from ailib.types.events import StreamEvent
    from ailib.types.messages import Message
    from ailib.types.response import ChatResponse
    from ailib.types.tools import ToolDefinition

log = logging.getLogger("ailib")

#: what a call does with the cache: read and write, skip it, or write without reading
Mode = Literal["use", "bypass", "refresh"]
#: ``ctx.metadata[METADATA_KEY]`` chooses the mode of one call (a plugin may set it)
METADATA_KEY = "cache"
_MODES: dict[Any, Mode] = {
    True: "use",
    "use": "use",
    False: "bypass",
    None: "bypass",
    "bypass": "bypass",
    "off": "bypass",
    "refresh": "refresh",
}
_mode_var: contextvars.ContextVar[Mode] = contextvars.ContextVar("ailib_cache_mode", default="use")


class CacheManager:
    """A response cache: a backend, a key generator, a default TTL and counters.

    ``get``/``set``/``delete``/``clear`` are async (the seed README's use); sync code
    calls ``get_sync``/``set_sync``/``delete_sync``/``clear_sync``. ``bypass()`` skips
    the cache for the calls made inside it. One manager may serve several clients; the
    clients do not close it (``close()``/``aclose()`` release the backend).

    Example::

        cache = CacheManager(backend=DiskCache("~/.cache/myapp"))
        client = AiClient.builder().model("openai/gpt-4o").with_cache(cache).build()
        client.chat().user("Hi").execute()      # asks the provider, stores the answer
        client.chat().user("Hi").execute()      # answered from the cache, no request
        with cache.bypass():
            client.chat().user("Hi").execute()  # asks the provider again
    """

    def __init__(
        self,
        config: CacheConfig | None = None,
        backend: CacheBackend | None = None,
        *,
        key_generator: CacheKeyGenerator | None = None,
    ) -> None:
        if config is not None and not isinstance(config, CacheConfig):
            raise ConfigurationError(f"config must be a CacheConfig, got {type(config).__name__}")
        if backend is not None and not isinstance(backend, CacheBackend):
            raise ConfigurationError(
                "backend must be a CacheBackend (MemoryCache, DiskCache, RedisCache, "
                f"NullCache), got {type(backend).__name__}"
            )
        self.config = config if config is not None else CacheConfig()
        self.backend = backend if backend is not None else MemoryCache()
        self.keys = key_generator or CacheKeyGenerator(self.config.ignored_params)
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(("hits", "misses", "stores", "errors", "bypassed"), 0)

    # ---- keys ----------------------------------------------------------------------------

    def generate_key(
        self,
        model: str,
        messages: Iterable[Message | Mapping[str, Any]],
        *,
        tools: Iterable[ToolDefinition | Mapping[str, Any]] | None = None,
        provider: str | None = None,
        base_url: str | None = None,
        **params: Any,
    ) -> str:
        """The key of a request (messages and tools may be OpenAI-style dicts)."""
        try:
            return self.keys.generate(
                model, messages, tools=tools, provider=provider, base_url=base_url, **params
            )
        except UncacheableRequest as exc:
            raise InvalidRequestError(f"cannot make a cache key: {exc}") from None

    def key_for(self, ctx: CallContext) -> str | None:
        """The key of a pipeline call (None: the request cannot be keyed, so not cached)."""
        if ctx.request is None:
            return None
        target = ctx.target
        try:
            return self.keys.for_request(
                ctx.request,
                provider=target.provider,
                base_url=target.engine.base_url,
                model=target.model,
            )
        except (UncacheableRequest, RecursionError, ValueError) as exc:
            log.debug("ailib cache: request not cached: %s", exc)
            return None

    def mode_for(self, ctx: CallContext) -> Mode:
        """``"use"``, ``"bypass"`` or ``"refresh"`` for this call: the config, then
        ``ctx.metadata["cache"]``, then an enclosing ``bypass()`` block."""
        if not self.config.enabled or (ctx.stream and not self.config.cache_streams):
            return "bypass"
        if METADATA_KEY in ctx.metadata:
            chosen = ctx.metadata[METADATA_KEY]
            mode = _MODES.get(chosen) if isinstance(chosen, bool | str | None) else None
            if mode is None:
                raise InvalidRequestError(
                    f"ctx.metadata[{METADATA_KEY!r}] must be True, False, 'use', 'bypass' or "
                    f"'refresh', got {chosen!r:.60}"
                )
            return mode
        return _mode_var.get()

    @contextlib.contextmanager
    def bypass(self, *, refresh: bool = False) -> Iterator[None]:
        """Calls made in this block (this thread or task) skip the cache; with
        ``refresh=True`` they skip reading it but store their fresh answers."""
        token = _mode_var.set("refresh" if refresh else "bypass")
        try:
            yield
        finally:
            _mode_var.reset(token)

    # ---- the seed README's manual use ---------------------------------------------------

    async def get(self, key: str) -> ChatResponse | None:
        """The cached response for ``key``, or None (counted as a hit or a miss)."""
        entry = await self.access(asynchronous=True).lookup(key)
        return entry.response if entry is not None else None

    async def set(self, key: str, response: ChatResponse, ttl: float | None = None) -> None:
        """Store ``response`` under ``key`` for ``ttl`` seconds (default: the config's)."""
        _check_response(response)
        await self.access(asynchronous=True).store(key, response, ttl=ttl)

    async def delete(self, key: str) -> bool:
        return await self.backend.adelete(key)

    async def clear(self) -> None:
        await self.backend.aclear()

    def get_sync(self, key: str) -> ChatResponse | None:
        entry = self.access(asynchronous=False).lookup(key)
        return entry.response if entry is not None else None

    def set_sync(self, key: str, response: ChatResponse, ttl: float | None = None) -> None:
        _check_response(response)
        self.access(asynchronous=False).store(key, response, ttl=ttl)

    def delete_sync(self, key: str) -> bool:
        return self.backend.delete(key)

    def clear_sync(self) -> None:
        self.backend.clear()

    # ---- stats and lifecycle ------------------------------------------------------------

    def count(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1

    def stats(self) -> CacheStats:
        """Hits, misses, stores, errors and bypassed calls of this manager; the size now."""
        try:
            size = self.backend.size()
        except Exception as exc:
            log.warning("ailib cache: %s size unknown: %s", self.backend.describe(), _short(exc))
            size = 0
        with self._lock:
            return CacheStats(size=size, **self._counts)

    async def astats(self) -> CacheStats:
        """``stats()`` without blocking the event loop on the backend."""
        try:
            size = await self.backend.asize()
        except Exception as exc:
            log.warning("ailib cache: %s size unknown: %s", self.backend.describe(), _short(exc))
            size = 0
        with self._lock:
            return CacheStats(size=size, **self._counts)

    def close(self) -> None:
        self.backend.close()

    async def aclose(self) -> None:
        await self.backend.aclose()

    def describe(self) -> str:
        ttl = self.config.default_ttl_seconds
        return f"cache({self.backend.describe()}, ttl={'none' if ttl is None else f'{ttl:g}s'})"

    def __repr__(self) -> str:
        return f"CacheManager({self.backend!r}, {self.config!r})"

    # ---- entries (the layer's side) -----------------------------------------------------

    @overload
    def access(self, *, asynchronous: Literal[True]) -> AsyncCacheAccess: ...
    @overload
    def access(self, *, asynchronous: Literal[False]) -> SyncCacheAccess: ...

    def access(self, *, asynchronous: bool) -> AsyncCacheAccess | SyncCacheAccess:
        """Entry lookups and stores for async (``True``) or sync code."""
        return AsyncCacheAccess(self) if asynchronous else SyncCacheAccess(self)

    def read(self, key: str, raw: bytes | None) -> CacheEntry | None:
        """Bytes a backend returned, as an entry (None: a miss; bad bytes are logged)."""
        if raw is None:
            self.count("misses")
            return None
        try:
            entry = decode_entry(raw, key, max_bytes=self.config.max_entry_bytes)
        except CacheEntryError as exc:
            log.warning("ailib cache: unreadable entry %s… treated as a miss: %s", key[:12], exc)
            self.count("errors")
            self.count("misses")
            return None
        self.count("hits")
        return entry

    def encode(
        self, key: str, response: ChatResponse, events: Sequence[StreamEvent] | None
    ) -> bytes | None:
        """An entry's bytes, or None when it cannot or should not be stored."""
        try:
            data = encode_entry(
                CacheEntry(
                    key, response, tuple(events) if events is not None else None, time.time()
                )
            )
        except Exception as exc:  # a value with no JSON form (e.g. an odd raw event)
            log.warning("ailib cache: response not stored: %s", _short(exc))
            self.count("errors")
            return None
        if len(data) > self.config.max_entry_bytes:
            log.debug("ailib cache: response not stored: %d bytes is over the limit", len(data))
            return None
        return data

    def ttl(self, ttl: float | None) -> float | None:
        if ttl is None:
            return self.config.default_ttl_seconds
        if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not ttl > 0:
            raise ConfigurationError(f"a cache TTL must be a number of seconds > 0, got {ttl!r}")
        return float(ttl)

    def failed(self, action: str, exc: BaseException) -> None:
        log.warning(
            "ailib cache: %s failed on %s, carrying on without it: %s",
            action,
            self.backend.describe(),
            _short(exc),
        )
        self.count("errors")


def _check_response(response: Any) -> None:
    from ailib.types.response import ChatResponse

    if not isinstance(response, ChatResponse):
        raise InvalidRequestError(
            f"a cache stores ChatResponse objects, got {type(response).__name__}"
        )


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class AsyncCacheAccess:
    """Lookups and stores of one manager for async code (backend failures: logged misses)."""

    def __init__(self, manager: CacheManager) -> None:
        self.manager = manager

    async def lookup(self, key: str) -> CacheEntry | None:
        manager = self.manager
        try:
            raw = await manager.backend.aget(key)
        except Exception as exc:
            manager.failed("lookup", exc)
            manager.count("misses")
            return None
        return manager.read(key, raw)

    async def store(
        self,
        key: str,
        response: ChatResponse,
        events: Sequence[StreamEvent] | None = None,
        *,
        ttl: float | None = None,
    ) -> None:
        manager = self.manager
        seconds = manager.ttl(ttl)
        data = manager.encode(key, response, events)
        if data is None:
            return
        try:
            await manager.backend.aset(key, data, seconds)
        except Exception as exc:
            manager.failed("store", exc)
            return
        manager.count("stores")


class SyncCacheAccess:
    """Lookups and stores of one manager for sync code (backend failures: logged misses)."""

    def __init__(self, manager: CacheManager) -> None:
        self.manager = manager

    def lookup(self, key: str) -> CacheEntry | None:
        manager = self.manager
        try:
            raw = manager.backend.get(key)
        except Exception as exc:
            manager.failed("lookup", exc)
            manager.count("misses")
            return None
        return manager.read(key, raw)

    def store(
        self,
        key: str,
        response: ChatResponse,
        events: Sequence[StreamEvent] | None = None,
        *,
        ttl: float | None = None,
    ) -> None:
        manager = self.manager
        seconds = manager.ttl(ttl)
        data = manager.encode(key, response, events)
        if data is None:
            return
        try:
            manager.backend.set(key, data, seconds)
        except Exception as exc:
            manager.failed("store", exc)
            return
        manager.count("stores")
