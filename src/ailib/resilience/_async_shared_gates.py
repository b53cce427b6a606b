"""The shared (Redis) side of the rate limiter and backpressure (async).

``_sync_shared_gates.py`` is generated from this file by ``python -m codegen`` (unasync).
The gates in ``_async_gates.py`` use these when given a shared store:

* :class:`AsyncSharedBudget`: the rate limiter's budgets kept by the ``limits`` package
  (sliding-window counters for requests, a fixed window for tokens) in Redis;
* :class:`AsyncRedisSlots`: the in-flight slots as leases in a Redis sorted set, renewed
  while held, so a process that dies frees its slots when their leases end.

Storage failures raise :class:`~ailib.errors.StateStoreError` naming the store.

Example::

    budget = AsyncSharedBudget(rate_windows(config), "redis://127.0.0.1:6379/0")
    slots = AsyncRedisSlots(store_from_url("redis://127.0.0.1:6379/0"), "default", 20)
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from time import monotonic
from time import time as wall_time
from typing import Any

from ailib.errors import StateStoreError
from ailib.resilience.backpressure import (
    DEFAULT_LEASE_SECONDS,
    LUA_RENEW,
    LUA_TAKE,
    AsyncTicker,
    redis_client,
    redis_errors,
)
from ailib.resilience.limiter import (
    MIN_PAUSE,
    PROVIDER_LIMIT,
    SCOPE,
    Grant,
    LimitsParts,
    RateWindow,
    Refusal,
)
from ailib.resilience.state import StateStore

log = logging.getLogger("ailib")


class AsyncSharedBudget:
    """Budgets every process shares, kept by the ``limits`` package in a storage (Redis).

    ``store`` (the RedisStore the URI came from): the budgets use its connections,
    closed with it.

    Example::

        budget = AsyncSharedBudget(rate_windows(config), "redis://127.0.0.1:6379/0")
    """

    def __init__(
        self,
        windows: tuple[RateWindow, ...],
        uri: str,
        options: dict[str, Any] | None = None,
        *,
        label: str | None = None,
        store: StateStore | None = None,
    ) -> None:
        self.windows = windows
        self.label = label or uri
        self._parts = LimitsParts(windows, uri, options or {}, asynchronous=True, store=store)

    def _failure(self, exc: BaseException) -> StateStoreError:
        return StateStoreError(f"state store {self.label}: rate limiter: {exc}")

    async def try_take(self, key: str, tokens: int) -> Grant | Refusal:
        sliding, fixed, storage, items = self._parts.get()
        try:
            blocked = f"{SCOPE}/hold/{key}"
            if await storage.get(blocked):
                wait = await storage.get_expiry(blocked) - wall_time()
                if wait > 0:
                    return Refusal(PROVIDER_LIMIT, wait, "held back by the provider's headers")
            for window, item in zip(self.windows, items, strict=True):
                cost = window.cost(tokens)
                strategy = fixed if window.tokens else sliding
                if cost and not await strategy.test(item, SCOPE, key, cost=cost):
                    stats = await strategy.get_window_stats(item, SCOPE, key)
                    return Refusal(window.limit, max(stats.reset_time - wall_time(), MIN_PAUSE))
            grant = Grant(key, tokens)
            for window, item in zip(self.windows, items, strict=True):
                cost = window.cost(tokens)
                if not window.tokens:
                    if not await sliding.hit(item, SCOPE, key, cost=cost):
                        return Refusal(window.limit, MIN_PAUSE)  # another process got in first
                    continue
                name = item.key_for(SCOPE, key)
                if await storage.incr(name, item.get_expiry(), amount=cost) > item.amount:
                    await storage.incr(name, item.get_expiry(), amount=-cost)
                    return Refusal(window.limit, MIN_PAUSE)
                grant.reset_at = await storage.get_expiry(name)
            return grant
        except self._parts.errors as exc:
            raise self._failure(exc) from None

    async def adjust(self, grant: Grant, used: int) -> None:
        _sliding, _fixed, storage, items = self._parts.get()
        try:
            for window, item in zip(self.windows, items, strict=True):
                change = used - window.cost(grant.tokens)
                if window.tokens and change and (change > 0 or wall_time() < grant.reset_at):
                    await storage.incr(item.key_for(SCOPE, grant.key), item.get_expiry(), change)
        except self._parts.errors as exc:
            raise self._failure(exc) from None

    async def block(self, key: str, seconds: float, reason: str) -> None:
        _sliding, _fixed, storage, _items = self._parts.get()
        name = f"{SCOPE}/hold/{key}"
        try:
            until = await storage.get_expiry(name) if await storage.get(name) else 0.0
            if wall_time() + seconds > until:
                await storage.clear(name)
                await storage.incr(name, max(1, math.ceil(seconds)), amount=1)
        except self._parts.errors as exc:
            raise self._failure(exc) from None


class AsyncRedisSlots:
    """``limit`` slots every process shares: leases in a Redis sorted set (async).

    A held slot's lease is renewed every third of ``lease_seconds``; a process that dies
    stops renewing, so its slots free themselves when their leases end.
    """

    def __init__(
        self, store: Any, name: str, limit: int, lease_seconds: float = DEFAULT_LEASE_SECONDS
    ) -> None:
        self.store = store
        self.key = f"{store.namespace}:inflight:{name}"
        self.limit = limit
        self.lease_ms = max(1, int(lease_seconds * 1000))
        self._errors = redis_errors()
        self._lock = threading.Lock()
        self._held: set[str] = set()
        self._ticker = AsyncTicker(lease_seconds / 3, self.renew)

    def _failure(self, exc: BaseException) -> StateStoreError:
        return StateStoreError(f"state store {self.store.label}: in-flight counter: {exc}")

    async def try_acquire(self, slot_id: str) -> bool:
        client = redis_client(self.store, asynchronous=True)
        try:
            taken = int(
                await client.eval(LUA_TAKE, 1, self.key, self.limit, self.lease_ms, slot_id)
            )
        except BaseException as exc:  # the server may have run it: give the slot back
            await self._forget(slot_id)
            if isinstance(exc, self._errors):
                raise self._failure(exc) from None
            raise
        if taken <= 0:
            return False
        with self._lock:
            self._held.add(slot_id)
        self._ticker.start()
        return True

    async def acquire(self, slot_id: str, timeout: float) -> bool:
        """Look for a free slot (pausing 10 ms, then up to 200 ms) until ``timeout``."""
        deadline = monotonic() + timeout
        pause = 0.01
        while True:
            if await self.try_acquire(slot_id):
                return True
            left = deadline - monotonic()
            if left <= 0:
                return False
            await asyncio.sleep(min(pause, left))
            pause = min(pause * 2, 0.2)

    async def release(self, slot_id: str) -> None:
        with self._lock:
            self._held.discard(slot_id)
            idle = not self._held
        if idle:
            self._ticker.stop()
        await self._forget(slot_id)

    async def _forget(self, slot_id: str) -> None:
        try:
            await redis_client(self.store, asynchronous=True).zrem(self.key, slot_id)
        except Exception as exc:  # the lease ends by itself
            log.warning("could not release in-flight slot in %s: %s", self.store.label, exc)

    async def renew(self) -> None:
        with self._lock:
            held = list(self._held)
        if held:
            client = redis_client(self.store, asynchronous=True)
            await client.eval(LUA_RENEW, 1, self.key, self.lease_ms, *held)
