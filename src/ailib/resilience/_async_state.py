"""The state store's backends (async): the few atomic operations the layers need.

``_sync_state.py`` is generated from this file by ``python -m codegen`` (unasync).
Get them from a store (``store.backend(asynchronous=True)``, see ``state.py``) rather
than building them: the store shares one backend (and one connection pool) among layers.

* records: ``get`` / ``set`` / ``delete`` a small JSON object, with a TTL in seconds;
  ``compare_and_set(key, expected, new)``; ``update(key, change)`` runs
  ``change(current) -> (new, result)`` and writes ``new`` only if nothing changed the
  record meanwhile (it reruns ``change`` otherwise), so a state machine's transition is
  atomic across processes;
* counters: ``incr`` / ``decr`` (never below 0) / ``counter``, each with a TTL.

Records and counters live under separate keys. Every key is namespaced:
``"breaker:k"`` is stored as ``"ailib:breaker:k"``.

Example::

    backend = MemoryStore().backend(asynchronous=True)
    await backend.incr("inflight:openai", ttl=60)
    opened = await backend.update("breaker:k", lambda rec: ({"state": "open"}, True))
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from ailib.errors import StateStoreError
from ailib.resilience.state import (
    LUA_CAS,
    LUA_DECR,
    LUA_INCR,
    MAX_UPDATE_TRIES,
    Change,
    MemoryCore,
    Record,
    decode,
    encode,
    ttl_ms,
)

T = TypeVar("T")


class AsyncStateBackend:
    """The operations every backend offers (async); subclasses supply the raw ones."""

    def __init__(self, namespace: str, label: str) -> None:
        self.namespace = namespace
        self.label = label

    def full_key(self, key: str) -> str:
        """``key`` as stored: ``"<namespace>:<key>"``."""
        return f"{self.namespace}:{key}"

    # -- raw operations, on full keys (subclasses) ------------------------------------------

    async def _get_raw(self, key: str) -> str | None:
        raise NotImplementedError

    async def _set_raw(self, key: str, raw: str, ttl: float | None) -> None:
        raise NotImplementedError

    async def _cas_raw(
        self, key: str, expected: str | None, new: str | None, ttl: float | None
    ) -> bool:
        raise NotImplementedError

    async def _add(self, key: str, amount: int, ttl: float | None, floor: int | None) -> int:
        raise NotImplementedError

    async def _counter(self, key: str) -> int:
        raise NotImplementedError

    async def delete(self, key: str) -> None:
        """Remove ``key`` (a record or a counter)."""
        raise NotImplementedError

    async def aclose(self) -> None:
        """Release connections (the store's own; it can be used again afterwards)."""

    # -- records ---------------------------------------------------------------------------

    async def get(self, key: str) -> Record | None:
        """The record at ``key``, or None."""
        full = self.full_key(key)
        return decode(await self._get_raw(full), full, self.label)

    async def set(self, key: str, record: Record, *, ttl: float | None = None) -> None:
        """Store ``record`` at ``key``, expiring after ``ttl`` seconds (None: never)."""
        ttl_ms(ttl)
        await self._set_raw(self.full_key(key), encode(record), ttl)

    async def compare_and_set(
        self, key: str, expected: Record | None, new: Record | None, *, ttl: float | None = None
    ) -> bool:
        """Store ``new`` (None: delete) only if ``key`` still holds ``expected``."""
        ttl_ms(ttl)
        old = None if expected is None else encode(expected)
        fresh = None if new is None else encode(new)
        return await self._cas_raw(self.full_key(key), old, fresh, ttl)

    async def update(self, key: str, change: Change[T], *, ttl: float | None = None) -> T:
        """Apply ``change(current) -> (new, result)`` atomically; returns ``result``.

        ``change`` may run more than once (when another writer got in between); return
        ``current`` itself to write nothing, None to delete the record.
        """
        ttl_ms(ttl)
        full = self.full_key(key)
        for _ in range(MAX_UPDATE_TRIES):
            raw = await self._get_raw(full)
            current = decode(raw, full, self.label)
            new, result = change(current)
            if new is current:
                return result
            fresh = None if new is None else encode(new)
            if await self._cas_raw(full, raw, fresh, ttl):
                return result
        raise StateStoreError(
            f"state store {self.label}: {full!r} kept changing during {MAX_UPDATE_TRIES} tries"
        )

    # -- counters --------------------------------------------------------------------------

    async def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        """Add ``amount`` to the counter at ``key`` (missing: 0); returns the new value.

        ``ttl`` (seconds) restarts the counter's expiry; None keeps the one it had.
        """
        ttl_ms(ttl)
        return await self._add(self.full_key(key), amount, ttl, None)

    async def decr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        """Take ``amount`` from the counter at ``key``, never below 0; returns the new value."""
        ttl_ms(ttl)
        return await self._add(self.full_key(key), -amount, ttl, 0)

    async def counter(self, key: str) -> int:
        """The counter at ``key`` (0 when missing)."""
        return await self._counter(self.full_key(key))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.label!r}, namespace={self.namespace!r})"


class AsyncMemoryBackend(AsyncStateBackend):
    """Over a :class:`~ailib.resilience.state.MemoryCore` (shared with the sync side)."""

    def __init__(self, core: MemoryCore, namespace: str, label: str) -> None:
        super().__init__(namespace, label)
        self.core = core

    async def _get_raw(self, key: str) -> str | None:
        return self.core.get(key)

    async def _set_raw(self, key: str, raw: str, ttl: float | None) -> None:
        self.core.set(key, raw, ttl)

    async def _cas_raw(
        self, key: str, expected: str | None, new: str | None, ttl: float | None
    ) -> bool:
        return self.core.compare_and_set(key, expected, new, ttl)

    async def _add(self, key: str, amount: int, ttl: float | None, floor: int | None) -> int:
        return self.core.add(key, amount, ttl, floor)

    async def _counter(self, key: str) -> int:
        return self.core.counter(key)

    async def delete(self, key: str) -> None:
        self.core.delete(self.full_key(key))

    async def update(self, key: str, change: Change[T], *, ttl: float | None = None) -> T:
        ttl_ms(ttl)
        return self.core.update(self.full_key(key), change, ttl)


class AsyncRedisBackend(AsyncStateBackend):
    """Over Redis: scripts make increments with expiry and compare-and-set atomic.

    ``client`` returns the Redis client to use now (the store keeps one per event loop);
    ``errors`` are the client's exception classes, raised again as StateStoreError.
    """

    def __init__(
        self,
        client: Callable[[], Any],
        namespace: str,
        label: str,
        errors: tuple[type[BaseException], ...],
        noscript: type[BaseException],
    ) -> None:
        super().__init__(namespace, label)
        self._client = client
        self._errors = errors
        self._noscript = noscript
        self._sha: dict[str, str] = {}

    @contextlib.contextmanager
    def _guard(self, key: str) -> Iterator[None]:
        try:
            yield
        except StateStoreError:
            raise
        except self._errors as exc:
            raise StateStoreError(
                f"state store {self.label}: {type(exc).__name__} on {key!r}: {exc}"
            ) from exc

    async def _script(self, source: str, key: str, *args: Any) -> Any:
        client = self._client()
        sha = self._sha.get(source)
        if sha is not None:
            try:
                return await client.evalsha(sha, 1, key, *args)
            except self._noscript:  # the server forgot it (restart, SCRIPT FLUSH)
                pass
        self._sha[source] = await client.script_load(source)
        return await client.evalsha(self._sha[source], 1, key, *args)

    async def _get_raw(self, key: str) -> str | None:
        with self._guard(key):
            value = await self._client().get(key)
        return None if value is None else str(value)

    async def _set_raw(self, key: str, raw: str, ttl: float | None) -> None:
        with self._guard(key):
            await self._client().set(key, raw, px=ttl_ms(ttl) or None)

    async def _cas_raw(
        self, key: str, expected: str | None, new: str | None, ttl: float | None
    ) -> bool:
        with self._guard(key):
            done = await self._script(LUA_CAS, key, expected or "", new or "", ttl_ms(ttl))
        return bool(done)

    async def _add(self, key: str, amount: int, ttl: float | None, floor: int | None) -> int:
        source = LUA_INCR if floor is None else LUA_DECR
        with self._guard(key):
            by = amount if floor is None else -amount  # LUA_DECR takes what to subtract
            value = await self._script(source, key, by, ttl_ms(ttl))
        return int(value)

    async def _counter(self, key: str) -> int:
        with self._guard(key):
            value = await self._client().get(key)
        try:
            return int(value) if value is not None else 0
        except ValueError:
            raise StateStoreError(
                f"state store {self.label}: {key!r} does not hold a counter"
            ) from None

    async def delete(self, key: str) -> None:
        full = self.full_key(key)
        with self._guard(full):
            await self._client().delete(full)
