"""Where the resilience layers keep shared state: in memory, or in Redis across processes.

A :class:`StateStore` is chosen by URL (``store_from_url("memory://")``,
``store_from_url("redis://127.0.0.1:6379/0")``, or ``AI_LIB_STATE_URL`` through
:func:`store_from_env`). The circuit breaker, the rate limiter and the in-flight counter
of every client (and every process) given the same store share one budget. The store
hands each layer a backend for its side: ``store.backend(asynchronous=True)`` is an
:class:`~ailib.resilience._async_state.AsyncStateBackend`, ``asynchronous=False`` a
:class:`~ailib.resilience._sync_state.SyncStateBackend`, both over the same data. They
offer a few atomic operations: JSON records with a TTL, compare-and-set and
``update()`` (a compare-and-set loop), counters with ``incr``/``decr``.

Keys are namespaced: ``backend.set("breaker:k", ...)`` writes ``ailib:breaker:k``.
Redis needs the optional extra ``ailib[redis]`` (imported only when a RedisStore is
made); its async side uses ``redis.asyncio``, one connection pool per event loop.

Example::

    store = store_from_url("redis://127.0.0.1:6379/0")
    backend = store.backend(asynchronous=False)
    backend.incr("inflight:openai", ttl=60)
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
import time
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload
from urllib.parse import urlsplit

from ailib.errors import ConfigurationError, StateStoreError

if TYPE_CHECKING:
    from ailib.resilience._async_state import AsyncStateBackend
    from ailib.resilience._sync_state import SyncStateBackend

T = TypeVar("T")
Record = dict[str, Any]
#: ``change(current) -> (new, result)``; return ``current`` itself to write nothing,
#: None to delete the record
Change = Callable[[Record | None], tuple[Record | None, T]]

ENV_STATE_URL = "AI_LIB_STATE_URL"
MAX_UPDATE_TRIES = 100


def encode(record: Record) -> str:
    """The canonical JSON text of a record (compare-and-set compares these texts)."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), allow_nan=False)


def decode(raw: str | bytes | None, key: str, label: str) -> Record | None:
    """The record stored as ``raw`` (None when missing); StateStoreError when not a record."""
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise StateStoreError(f"state store {label}: key {key!r} does not hold a JSON record")
    return value


#: the longest TTL sent to Redis (ms): an endless one is clamped, not an overflow
MAX_TTL_MS = 2**62


def ttl_ms(ttl: float | None) -> int:
    """A TTL in whole milliseconds for Redis (0: no expiry; at most ``MAX_TTL_MS``)."""
    if ttl is None:
        return 0
    if not ttl > 0:
        raise ConfigurationError(f"a state store TTL must be > 0 seconds, got {ttl!r}")
    if ttl * 1000 >= MAX_TTL_MS:
        return MAX_TTL_MS
    return max(1, int(ttl * 1000))


# Redis scripts: each runs atomically on the server. ARGV[.. ttl] is milliseconds, 0 = none.
LUA_INCR = """
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if tonumber(ARGV[2]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return value
"""
LUA_DECR = """
local value = redis.call('DECRBY', KEYS[1], ARGV[1])
if value < 0 then
  redis.call('SET', KEYS[1], 0, 'KEEPTTL')
  value = 0
end
if tonumber(ARGV[2]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return value
"""
# ARGV: expected text ('' = missing), new text ('' = delete), ttl ms
LUA_CAS = """
local current = redis.call('GET', KEYS[1])
if current == false then current = '' end
if current ~= ARGV[1] then return 0 end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
elseif tonumber(ARGV[3]) > 0 then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[2])
end
return 1
"""


class MemoryCore:
    """The data of a :class:`MemoryStore`: a dict with expiry, behind one lock (no I/O).

    Like Redis, it keeps text (records as JSON, counters as digits); ``clock``
    (monotonic seconds) decides expiry.
    """

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, label: str = "memory://"
    ) -> None:
        self._clock = clock
        self.label = label
        self._lock = threading.Lock()
        self._data: dict[str, tuple[str, float | None]] = {}
        self._writes = 0

    def _live(self, key: str) -> str | None:
        found = self._data.get(key)
        if found is None:
            return None
        value, expires = found
        if expires is not None and self._clock() >= expires:
            del self._data[key]
            return None
        return value

    def _put(self, key: str, value: str, ttl: float | None) -> None:
        expires = None if ttl is None else self._clock() + ttl
        self._data[key] = (value, expires)
        self._writes += 1
        if self._writes % 1024 == 0:  # drop what expired now and then
            now = self._clock()
            for k in [k for k, (_, exp) in self._data.items() if exp is not None and now >= exp]:
                del self._data[k]

    def _int(self, key: str, value: str | None) -> int:
        try:
            return 0 if value is None else int(value)
        except ValueError:
            raise StateStoreError(
                f"state store {self.label}: {key!r} does not hold a counter"
            ) from None

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._live(key)

    def counter(self, key: str) -> int:
        with self._lock:
            return self._int(key, self._live(key))

    def set(self, key: str, raw: str, ttl: float | None) -> None:
        with self._lock:
            self._put(key, raw, ttl)

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    def add(self, key: str, amount: int, ttl: float | None, floor: int | None) -> int:
        with self._lock:
            value = self._int(key, self._live(key)) + amount
            if floor is not None and value < floor:
                value = floor
            if ttl is None and key in self._data:  # keep the expiry it had
                self._data[key] = (str(value), self._data[key][1])
            else:
                self._put(key, str(value), ttl)
            return value

    def compare_and_set(
        self, key: str, expected: str | None, new: str | None, ttl: float | None
    ) -> bool:
        with self._lock:
            if self._live(key) != expected:
                return False
            if new is None:
                self._data.pop(key, None)
            else:
                self._put(key, new, ttl)
            return True

    def update(self, key: str, change: Change[T], ttl: float | None) -> T:
        with self._lock:
            current = decode(self._live(key), key, self.label)
            new, result = change(current)
            if new is not current:
                if new is None:
                    self._data.pop(key, None)
                else:
                    self._put(key, encode(new), ttl)
            return result


#: query parameters that carry a password (``redis://host/0?password=...``)
_SECRET_PARAMS = frozenset({"password", "pass", "passwd", "pwd"})
_USERINFO_PASSWORD = re.compile(r"(?<=://)([^:@/?#]*):.*@")  # greedy: a password may hold @
_QUERY_PASSWORD = re.compile(r"(?i)([?&](?:password|pass|passwd|pwd)=)[^&#]*")


def _redacted(url: str) -> str:
    """``url`` with any password (``user:pw@`` or ``?password=``) replaced by ``***``.

    Never raises: a URL too malformed to parse is masked by pattern instead.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        masked = _USERINFO_PASSWORD.sub(r"\1:***@", url)
        return _QUERY_PASSWORD.sub(r"\1***", masked)
    shown = url
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if at and ":" in userinfo:
        masked = f"{userinfo.split(':', 1)[0]}:***@{hostport}"
        shown = shown.replace(parts.netloc, masked, 1)
    if parts.query:
        query = "&".join(
            f"{name}=***" if eq and name.lower() in _SECRET_PARAMS else f"{name}{eq}{value}"
            for name, eq, value in (piece.partition("=") for piece in parts.query.split("&"))
        )
        shown = shown.replace("?" + parts.query, "?" + query, 1)
    return shown


def _checked_redis_url(url: Any) -> str:
    """``url`` if it is a Redis URL one can connect with; else ConfigurationError (the
    message shows the URL without its password)."""
    shown = _redacted(url) if isinstance(url, str) else repr(url)
    if not isinstance(url, str):
        raise ConfigurationError(f"a Redis store URL must be a str, got {shown}")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port raises on a bad one
    except ValueError:  # not echoed: what looks like a port may be a password
        scheme = url.split("://", 1)[0][:16] if "://" in url else "?"
        raise ConfigurationError(
            f"malformed Redis store URL ({scheme}://...): the port must be a number "
            f"0-65535 and an IPv6 host needs its brackets, as in redis://[::1]:6379/0"
        ) from None
    if parts.scheme.lower() not in ("redis", "rediss", "unix"):
        raise ConfigurationError(
            f"a Redis store URL must start with redis://, rediss:// or unix://, got {shown!r}"
        )
    return url


class StateStore(ABC):
    """Where the resilience layers keep state; hands out a sync and an async backend.

    Example::

        store = store_from_url("memory://")
        await store.backend(asynchronous=True).incr("inflight:x")
    """

    url: str
    namespace: str

    def __init__(self, namespace: str = "ailib") -> None:
        if not isinstance(namespace, str) or not namespace:
            raise ConfigurationError(
                f"a state store namespace must be a non-empty str, got {namespace!r}"
            )
        self.namespace = namespace
        self._lock = threading.Lock()
        self._backends: dict[bool, Any] = {}

    @property
    def label(self) -> str:
        """The store's URL without a password."""
        return _redacted(self.url)

    @property
    def shared(self) -> bool:
        """Whether other processes can see this store's state."""
        return False

    @overload
    def backend(self, *, asynchronous: Literal[True]) -> AsyncStateBackend: ...
    @overload
    def backend(self, *, asynchronous: Literal[False]) -> SyncStateBackend: ...

    def backend(self, *, asynchronous: bool) -> AsyncStateBackend | SyncStateBackend:
        """The backend for async (``True``) or sync code; made once, then shared."""
        with self._lock:
            found = self._backends.get(asynchronous)
            if found is None:
                found = self._backends[asynchronous] = self._make_backend(asynchronous)
            return found  # type: ignore[no-any-return]

    @abstractmethod
    def _make_backend(self, asynchronous: bool) -> Any: ...

    @abstractmethod
    def close(self) -> None:
        """Release the sync side's connections (a store can be used again afterwards)."""

    @abstractmethod
    async def aclose(self) -> None:
        """Release the async side's connections on the running event loop."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.label!r}, namespace={self.namespace!r})"


class MemoryStore(StateStore):
    """State in this process's memory (the default); thread-safe, for sync and async code.

    Example::

        store = MemoryStore()
        layer = AsyncBreakerLayer(CircuitBreakerConfig(), store=store, stats=stats)
    """

    url = "memory://"

    def __init__(
        self, *, namespace: str = "ailib", clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(namespace)
        self.core = MemoryCore(clock, self.url)

    def _make_backend(self, asynchronous: bool) -> Any:
        if asynchronous:
            from ailib.resilience._async_state import AsyncMemoryBackend

            return AsyncMemoryBackend(self.core, self.namespace, self.label)
        from ailib.resilience._sync_state import SyncMemoryBackend

        return SyncMemoryBackend(self.core, self.namespace, self.label)

    def close(self) -> None:
        """Nothing to release: the data stays while the store is referenced."""

    async def aclose(self) -> None:
        """Nothing to release: the data stays while the store is referenced."""


def _import_redis() -> Any:
    try:
        import redis
    except ImportError as exc:
        raise ConfigurationError(
            "a Redis state store needs the optional 'redis' package: pip install 'ailib[redis]'"
        ) from exc
    return redis


class RedisStore(StateStore):
    """State in Redis, shared by every process and host that uses the same URL.

    Needs ``pip install 'ailib[redis]'``. ``socket_timeout`` bounds each Redis command
    (a store out of reach raises :class:`~ailib.errors.StateStoreError`).

    Example::

        store = RedisStore("redis://127.0.0.1:6379/0")
        client = AiClient.builder().model("openai/gpt-4o").with_state_store(store).build()
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        namespace: str = "ailib",
        socket_timeout: float = 5.0,
    ) -> None:
        super().__init__(namespace)
        self.url = _checked_redis_url(url)
        self.socket_timeout = socket_timeout
        self._redis = _import_redis()
        self._sync_client: Any = None
        self._async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary()
        )

    @property
    def shared(self) -> bool:
        return True

    def _options(self) -> dict[str, Any]:
        return {
            "decode_responses": True,
            "socket_timeout": self.socket_timeout,
            "socket_connect_timeout": self.socket_timeout,
        }

    def sync_client(self) -> Any:
        """The ``redis.Redis`` client (thread-safe; one connection pool)."""
        with self._lock:
            if self._sync_client is None:
                self._sync_client = self._redis.Redis.from_url(self.url, **self._options())
            return self._sync_client

    def async_client(self) -> Any:
        """The ``redis.asyncio.Redis`` client of the running event loop."""
        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._async_clients.get(loop)
            if client is None:
                import redis.asyncio

                client = redis.asyncio.Redis.from_url(self.url, **self._options())
                self._async_clients[loop] = client
            return client

    def _make_backend(self, asynchronous: bool) -> Any:
        errors = (self._redis.exceptions.RedisError,)
        noscript = self._redis.exceptions.NoScriptError
        if asynchronous:
            from ailib.resilience._async_state import AsyncRedisBackend

            return AsyncRedisBackend(
                self.async_client, self.namespace, self.label, errors, noscript
            )
        from ailib.resilience._sync_state import SyncRedisBackend

        return SyncRedisBackend(self.sync_client, self.namespace, self.label, errors, noscript)

    def close(self) -> None:
        with self._lock:
            client, self._sync_client = self._sync_client, None
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._async_clients.pop(loop, None)
        if client is not None:
            await client.aclose()


def store_from_url(url: str, *, namespace: str = "ailib") -> StateStore:
    """The store a URL names: ``memory://``, or ``redis://host:port/db`` (also
    ``rediss://`` and ``unix://``).

    Example::

        store_from_url("redis://127.0.0.1:6379/0")
    """
    if not isinstance(url, str):
        raise ConfigurationError(f"a state store URL must be a str, got {url!r}")
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        raise ConfigurationError(
            f"malformed state store URL {_redacted(url)!r}: use memory:// or redis://host:port/db"
        ) from None
    if scheme == "memory":
        return MemoryStore(namespace=namespace)
    if scheme in ("redis", "rediss", "unix"):
        return RedisStore(url.strip(), namespace=namespace)
    raise ConfigurationError(
        f"unknown state store URL {_redacted(url)!r}: use memory:// or redis://host:port/db"
    )


def store_from_env(env: Mapping[str, str] | None = None) -> StateStore | None:
    """The store ``AI_LIB_STATE_URL`` names, or None when it is unset.

    Example::

        store = explicit_store or store_from_env() or MemoryStore()
    """
    raw = (os.environ if env is None else env).get(ENV_STATE_URL, "").strip()
    if not raw:
        return None
    try:
        return store_from_url(raw)
    except ConfigurationError as exc:
        raise ConfigurationError(f"environment variable {ENV_STATE_URL}: {exc.message}") from exc


__all__ = [
    "MemoryStore",
    "RedisStore",
    "StateStore",
    "store_from_env",
    "store_from_url",
]
