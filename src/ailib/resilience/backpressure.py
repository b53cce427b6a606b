"""Backpressure's primitives: slots in this process (threads or an event loop), leases in Redis.

At most ``max_inflight`` calls of a client are in flight; the next waits up to
``queue_timeout_seconds`` for a slot, then fails with
:class:`~ailib.errors.BackpressureError`. The waiting gate and the pipeline layer are
written once in ``_async_gates.py`` (``AsyncBackpressure``, ``AsyncBackpressureLayer``)
with a generated sync twin (``Backpressure``, ``BackpressureLayer``); both are
importable from here. The pieces that differ between the two live here:

* :class:`LocalSlots` (threads) and :class:`AsyncLocalSlots` (one event loop, first
  come first served; a cancelled waiter never keeps a slot);
* :class:`Ticker` / :class:`AsyncTicker`: a periodic job (lease renewal);
* the Redis scripts of the shared counter: each slot is a member of a sorted set whose
  score is the end of its lease (server time); a process that dies stops renewing and
  its slots free themselves when the lease ends.

Example::

    slots = LocalSlots(2)
    slots.try_acquire("a"), slots.try_acquire("b"), slots.try_acquire("c")  # True True False
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import attrs

log = logging.getLogger("ailib")

#: how long a slot in Redis lives without renewal (seconds); renewed every third of it
DEFAULT_LEASE_SECONDS = 30.0


def __getattr__(name: str) -> Any:
    """``Backpressure`` / ``AsyncBackpressure`` live in the generated gate modules."""
    if name == "AsyncBackpressure":
        from ailib.resilience._async_gates import AsyncBackpressure

        return AsyncBackpressure
    if name == "Backpressure":
        from ailib.resilience._sync_gates import Backpressure

        return Backpressure
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@attrs.define(eq=False)
class Slot:
    """One call's place among the ``max_inflight``; released once."""

    id: str
    released: bool = False


class LocalSlots:
    """``limit`` slots shared by threads (a condition variable).

    Example::

        slots = LocalSlots(1)
        slots.acquire("a", timeout=0.5)   # True
        slots.release("a")
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_use = 0
        self._cond = threading.Condition()

    def try_acquire(self, slot_id: str) -> bool:
        with self._cond:
            if self.in_use < self.limit:
                self.in_use += 1
                return True
            return False

    def acquire(self, slot_id: str, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a slot; False when none freed."""
        wait = min(max(timeout, 0.0), threading.TIMEOUT_MAX)  # a huge timeout is no overflow
        with self._cond:
            if not self._cond.wait_for(lambda: self.in_use < self.limit, wait):
                return False
            self.in_use += 1
            return True

    def release(self, slot_id: str) -> None:
        with self._cond:
            self.in_use -= 1
            self._cond.notify()


class AsyncLocalSlots:
    """``limit`` slots shared by the tasks of one event loop, handed over in FIFO order.

    A freed slot goes straight to the oldest waiter; a waiter cancelled (or timed out)
    just as it was handed one passes it on, so no slot is ever lost.

    Example::

        slots = AsyncLocalSlots(1)
        await slots.acquire("a", timeout=0.5)   # True
        await slots.release("a")
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_use = 0
        self._waiters: deque[asyncio.Future[bool]] = deque()

    async def try_acquire(self, slot_id: str) -> bool:
        if self.in_use < self.limit and not self._waiters:
            self.in_use += 1
            return True
        return False

    async def acquire(self, slot_id: str, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a slot; False when none was handed over."""
        if await self.try_acquire(slot_id):
            return True
        if timeout <= 0:
            return False
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bool] = loop.create_future()
        self._waiters.append(waiter)
        timer = loop.call_later(timeout, _settle, waiter, False)
        try:
            return await waiter
        except BaseException:  # cancelled: a slot handed over meanwhile goes to the next
            if waiter.done() and not waiter.cancelled() and waiter.result():
                self._hand_over()
            raise
        finally:
            timer.cancel()
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    async def release(self, slot_id: str) -> None:
        self._hand_over()

    def _hand_over(self) -> None:
        """Give a freed slot to the oldest live waiter, or put it back."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(True)
                return
        self.in_use -= 1


def _settle(waiter: asyncio.Future[bool], value: bool) -> None:
    if not waiter.done():
        waiter.set_result(value)


class Ticker:
    """Calls ``tick()`` every ``interval`` seconds on a daemon thread until stopped.

    Example::

        ticker = Ticker(10.0, renew); ticker.start(); ...; ticker.stop()
    """

    def __init__(self, interval: float, tick: Callable[[], object]) -> None:
        self.interval = interval
        self._tick = tick
        self._lock = threading.Lock()
        self._stop: threading.Event | None = None

    def start(self) -> None:
        with self._lock:
            if self._stop is not None:
                return
            stop = self._stop = threading.Event()
        thread = threading.Thread(target=self._run, args=(stop,), name="ailib-lease", daemon=True)
        thread.start()

    def stop(self) -> None:
        with self._lock:
            stop, self._stop = self._stop, None
        if stop is not None:
            stop.set()

    def _run(self, stop: threading.Event) -> None:
        while not stop.wait(self.interval):
            try:
                self._tick()
            except Exception as exc:  # the next tick tries again; leases outlive a few misses
                log.debug("lease renewal failed: %s", exc)


class AsyncTicker:
    """Awaits ``tick()`` every ``interval`` seconds in a task of the running loop.

    Example::

        ticker = AsyncTicker(10.0, renew); ticker.start(); ...; ticker.stop()
    """

    def __init__(self, interval: float, tick: Callable[[], Awaitable[object]]) -> None:
        self.interval = interval
        self._tick = tick
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self._tick()
            except Exception as exc:  # the next tick tries again; leases outlive a few misses
                log.debug("lease renewal failed: %s", exc)


# ---- Redis: a sorted set of leases ---------------------------------------------------------

# KEYS[1]: the slots (member: slot id, score: end of its lease in ms, server time)
# ARGV: max in flight, lease ms, slot id. Returns the slots held after, negated when full.
LUA_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local held = redis.call('ZCARD', KEYS[1])
if held >= tonumber(ARGV[1]) then return -held end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], math.floor(tonumber(last[2])))
return held + 1
"""
# ARGV: lease ms, slot ids... Extends the leases still held (an expired one stays gone).
LUA_RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[i])
end
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then redis.call('PEXPIREAT', KEYS[1], math.floor(tonumber(last[2]))) end
return #ARGV - 1
"""


def redis_errors() -> tuple[type[BaseException], ...]:
    """The exceptions a Redis command may raise (the ``redis`` package is there: a
    RedisStore was made)."""
    import redis

    return (redis.exceptions.RedisError, OSError)


def redis_client(store: Any, *, asynchronous: bool) -> Any:
    """The store's ``redis.asyncio`` client for the running loop, or its ``redis`` client."""
    return store.async_client() if asynchronous else store.sync_client()
