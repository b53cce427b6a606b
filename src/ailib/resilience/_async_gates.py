"""The rate limiter and backpressure (async): waiting gates and their pipeline layers.

``_sync_gates.py`` is generated from this file by ``python -m codegen`` (unasync).

* :class:`AsyncRateLimiter` / :class:`AsyncRateLimitLayer` (per attempt, per target
  ``provider|base_url|model``): requests a second / a minute and tokens a minute; a call
  waits up to ``max_wait_seconds`` for room, then fails with
  :class:`~ailib.errors.RateLimitExceededError`. Tokens are estimated before sending and
  corrected from the response's usage; the provider's rate-limit headers hold calls
  back until their reset (``adaptive``).
* :class:`AsyncBackpressure` / :class:`AsyncBackpressureLayer` (per call): at most
  ``max_inflight`` calls in flight; the next waits up to ``queue_timeout_seconds``, then
  fails with :class:`~ailib.errors.BackpressureError`. A stream holds its slot until it
  ends, fails or is closed.

Given a shared store (``store="redis://127.0.0.1:6379/0"`` or a ``RedisStore``), every
process shares the budgets: the limiter through the ``limits`` package, the in-flight
count as leases in Redis. Without one, both live in this process.

Example::

    layers = [
        AsyncBackpressureLayer(BackpressureConfig(max_inflight=20), stats=stats),
        AsyncRateLimitLayer(RateLimiterConfig.from_rps(10), stats=stats),
    ]
    pipeline = AsyncPipeline(layers)
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable, Mapping
from time import monotonic
from typing import TYPE_CHECKING, Any

from ailib.errors import BackpressureError, RateLimitExceededError, RemoteError
from ailib.resilience._async_shared_gates import AsyncRedisSlots, AsyncSharedBudget
from ailib.resilience.backpressure import DEFAULT_LEASE_SECONDS, AsyncLocalSlots, Slot
from ailib.resilience.limiter import (
    RESPONSE_HEADERS,
    Grant,
    LocalRateBudget,
    Refusal,
    estimate_tokens,
    limits_target,
    provider_wait,
    rate_windows,
    refusal_error,
    resolve_store,
    used_tokens,
)
from ailib.runtime.context import CHAT_OPERATIONS, CallContext, Stage

if TYPE_CHECKING:
    from ailib.resilience.config import BackpressureConfig, RateLimiterConfig
    from ailib.resilience.signals import ResilienceStats
    from ailib.resilience.state import StateStore
    from ailib.runtime._async_pipeline import AsyncNext

#: where a call keeps its backpressure slot (``ctx.metadata``)
SLOT_KEY = "backpressure_slot"


# ---- rate limiter ----------------------------------------------------------------------------


class AsyncLocalBudget:
    """A :class:`~ailib.resilience.limiter.LocalRateBudget` behind the budget interface."""

    def __init__(self, budget: LocalRateBudget) -> None:
        self.budget = budget

    async def try_take(self, key: str, tokens: int) -> Grant | Refusal:
        return self.budget.try_take(key, tokens)

    async def adjust(self, grant: Grant, used: int) -> None:
        self.budget.adjust(grant, used)

    async def block(self, key: str, seconds: float, reason: str) -> None:
        self.budget.block(key, seconds, reason)


class AsyncRateLimiter:
    """Waits for room in a target's budgets, up to ``config.max_wait_seconds`` (async).

    Budgets live in this process unless ``store`` is shared (Redis: needs
    ``ailib[ratelimit]``). ``clock``/``sleep`` are injectable for tests.

    Example::

        limiter = AsyncRateLimiter(RateLimiterConfig(requests_per_minute=500))
        grant = await limiter.acquire("openai|https://api.openai.com/v1|gpt-4o", tokens=900)
        await limiter.settle(grant, 640)   # the usage the response reported
    """

    def __init__(
        self,
        config: RateLimiterConfig,
        *,
        store: StateStore | str | None = None,
        clock: Callable[[], float] = monotonic,
        sleep: Callable[[float], Any] = asyncio.sleep,
        budget: AsyncLocalBudget | AsyncSharedBudget | None = None,
    ) -> None:
        self.config = config
        self.windows = rate_windows(config)
        self.clock = clock
        self._sleep = sleep
        resolved = resolve_store(store)
        self.shared = resolved is not None and resolved.shared
        #: the shared store's URL without a password (None: budgets in this process)
        self.store_label = resolved.label if resolved is not None and resolved.shared else None
        if budget is not None:
            self._budget = budget
        elif resolved is not None and resolved.shared:
            uri, options = limits_target(resolved)
            self._budget = AsyncSharedBudget(
                self.windows, uri, options, label=resolved.label, store=resolved
            )
        else:
            self._budget = AsyncLocalBudget(LocalRateBudget(self.windows, clock))

    @property
    def counts_tokens(self) -> bool:
        return any(w.tokens for w in self.windows)

    async def acquire(self, key: str, tokens: int = 0) -> Grant:
        """Charge one call of ``tokens`` to ``key``, waiting for room if needed.

        Raises :class:`~ailib.errors.RateLimitExceededError` at once when the wait
        needed would go past ``max_wait_seconds``.
        """
        started = self.clock()
        max_wait = self.config.max_wait_seconds
        slept = False
        while True:
            verdict = await self._budget.try_take(key, tokens)
            waited = self.clock() - started if slept else 0.0
            if isinstance(verdict, Grant):
                verdict.waited = waited
                return verdict
            if waited + verdict.wait > max_wait + 1e-9:
                raise refusal_error(verdict, key, waited, max_wait)
            await self._sleep(verdict.wait)
            slept = True

    async def settle(self, grant: Grant, used: int | None) -> None:
        """Correct the call's token charge to ``used`` (None: unknown, keep the estimate)."""
        if grant.settled:
            return
        grant.settled = True
        if used is not None and self.counts_tokens:
            await self._budget.adjust(grant, used)

    async def hold_off(self, key: str, seconds: float, reason: str) -> None:
        """Let no call through to ``key`` for ``seconds`` (the provider asked for it)."""
        await self._budget.block(key, seconds, reason)


def _header_names(ctx: CallContext) -> Mapping[str, str]:
    manifest = getattr(ctx.target.engine.spec, "manifest", None)
    names = getattr(manifest, "rate_limit_headers", None)
    return names if isinstance(names, Mapping) else {}


def _headers_of(ctx: CallContext, result: Any) -> Mapping[str, str] | None:
    if ctx.operation not in CHAT_OPERATIONS and isinstance(result, tuple) and len(result) == 2:
        headers = result[1]
    else:
        headers = getattr(result, "headers", None)
    if headers is None:
        headers = ctx.metadata.get(RESPONSE_HEADERS)
    return headers if isinstance(headers, Mapping) else None


def _usage_of(ctx: CallContext, result: Any) -> int | None:
    if ctx.operation not in CHAT_OPERATIONS and isinstance(result, tuple) and len(result) == 2:
        body = result[0]
        return used_tokens(body.get("usage")) if isinstance(body, Mapping) else None
    return used_tokens(getattr(result, "usage", None))


class AsyncRateLimitLayer:
    """The rate limiter as a pipeline layer (per attempt, keyed per target).

    Records waits in ``stats`` (``waits_seconds["rate_limit"]``, ``rate_limited``).
    ``estimator(ctx) -> int`` guesses a call's tokens before it is sent (default
    :func:`~ailib.resilience.limiter.estimate_tokens`).

    Example::

        AsyncRateLimitLayer(RateLimiterConfig.from_rps(10), stats=stats)
        AsyncRateLimitLayer(config, stats=stats, store="redis://127.0.0.1:6379/0")
    """

    stage = Stage.RATE_LIMIT

    def __init__(
        self,
        config: RateLimiterConfig,
        *,
        stats: ResilienceStats | None = None,
        store: StateStore | str | None = None,
        estimator: Callable[[CallContext], int] = estimate_tokens,
        limiter: AsyncRateLimiter | None = None,
    ) -> None:
        self.config = config
        self.stats = stats
        self.estimator = estimator
        self.limiter = limiter or AsyncRateLimiter(config, store=store)

    def describe(self) -> str:
        parts = [w.describe() for w in self.limiter.windows]
        if self.config.adaptive:
            parts.append("adaptive")
        parts.append("per target")
        if self.limiter.store_label is not None:
            parts.append(f"store={self.limiter.store_label}")
        return f"rate_limit({', '.join(parts)})"

    def _record(self, waited: float) -> None:
        if self.stats is not None:
            self.stats.count("rate_limited")
            if waited > 0:
                self.stats.add_wait("rate_limit", waited)

    async def handle(self, ctx: CallContext, call_next: AsyncNext) -> Any:
        key = ctx.target.key
        tokens = self.estimator(ctx) if self.limiter.counts_tokens else 0
        started = self.limiter.clock()
        try:
            grant = await self.limiter.acquire(key, tokens)
        except RateLimitExceededError:
            self._record(self.limiter.clock() - started)
            raise
        if grant.waited > 0:
            self._record(grant.waited)
        try:
            result = await call_next(ctx)
        except BaseException as exc:
            await self._after_error(ctx, grant, exc)
            raise
        if self.config.adaptive:
            await self._follow_headers(ctx, _headers_of(ctx, result))
        if ctx.operation == "stream":
            ctx.when_done(self._stream_settler(grant, ctx.attempt))
        else:
            await self.limiter.settle(grant, _usage_of(ctx, result))
        return result

    async def _follow_headers(self, ctx: CallContext, headers: Mapping[str, str] | None) -> None:
        hint = provider_wait(headers, _header_names(ctx))
        if hint is not None:
            await self.limiter.hold_off(ctx.target.key, *hint)

    async def _after_error(self, ctx: CallContext, grant: Grant, exc: BaseException) -> None:
        if not isinstance(exc, RemoteError) or exc.status is None:
            return  # the provider may have worked on it: the estimate stays charged
        await self.limiter.settle(grant, 0)  # an error answer: no tokens used
        if self.config.adaptive:
            await self._follow_headers(ctx, ctx.metadata.get(RESPONSE_HEADERS))
            if exc.code == "E2001" and exc.retry_after:
                reason = f"the provider answered {exc.status} with retry-after"
                await self.limiter.hold_off(ctx.target.key, exc.retry_after, reason)

    def _stream_settler(self, grant: Grant, attempt: int) -> Callable[[CallContext], Any]:
        async def settle(ctx: CallContext) -> None:
            if ctx.attempt != attempt:
                return  # a later attempt took over: this one's estimate stays charged
            usage = ctx.response.usage if ctx.response is not None else None
            await self.limiter.settle(grant, used_tokens(usage))

        return settle


# ---- backpressure ------------------------------------------------------------------------------


#: the id of every slot in this process's own (counting) slots
_LOCAL_SLOT_ID = "local"


class AsyncBackpressure:
    """At most ``config.max_inflight`` calls in flight; the next waits for a slot (async).

    ``in_flight`` counts this object's calls in flight, ``queued`` those waiting. With a
    shared ``store`` (Redis), ``max_inflight`` bounds the calls of every process using
    the same ``name``.

    Example::

        gate = AsyncBackpressure(BackpressureConfig(max_inflight=2, queue_timeout_seconds=5))
        slot = await gate.acquire()
        try:
            ...
        finally:
            await gate.release(slot)
    """

    def __init__(
        self,
        config: BackpressureConfig,
        *,
        store: StateStore | str | None = None,
        name: str = "default",
        stats: ResilienceStats | None = None,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        clock: Callable[[], float] = monotonic,
    ) -> None:
        self.config = config
        self.max_inflight = config.max_inflight
        resolved = resolve_store(store)
        self.shared = resolved is not None and resolved.shared
        #: the shared store's URL without a password (None: slots in this process)
        self.store_label = resolved.label if resolved is not None and resolved.shared else None
        self._slots: AsyncLocalSlots | AsyncRedisSlots
        if resolved is not None and resolved.shared:
            self._slots = AsyncRedisSlots(resolved, name, config.max_inflight, lease_seconds)
        else:
            self._slots = AsyncLocalSlots(config.max_inflight)
        self.stats = stats
        self._clock = clock
        self._lock = threading.Lock()
        self.in_flight = 0
        self.queued = 0
        if stats is not None:
            stats.max_inflight = config.max_inflight
            stats.gauge(in_flight=0, queued=0)

    def _count(self, *, in_flight: int = 0, queued: int = 0) -> None:
        with self._lock:
            self.in_flight += in_flight
            self.queued += queued
            if self.stats is not None:
                self.stats.gauge(in_flight=self.in_flight, queued=self.queued)

    async def acquire(self) -> Slot:
        """A slot, at once or within ``queue_timeout_seconds``; else BackpressureError."""
        # a lease key in a shared store; local slots only count (no urandom per call)
        slot = Slot(uuid.uuid4().hex if self.shared else _LOCAL_SLOT_ID)
        if not await self._slots.try_acquire(slot.id):
            await self._queue(slot)
        self._count(in_flight=1)
        return slot

    async def _queue(self, slot: Slot) -> None:
        timeout = self.config.queue_timeout_seconds
        started = self._clock()
        self._count(queued=1)
        try:
            granted = await self._slots.acquire(slot.id, timeout)
        finally:
            self._count(queued=-1)
        waited = self._clock() - started
        if self.stats is not None:
            self.stats.add_wait("backpressure", waited)
        if not granted:
            if self.stats is not None:
                self.stats.count("rejected_by_backpressure")
            raise BackpressureError(
                f"{self.max_inflight} calls already in flight (max_inflight="
                f"{self.max_inflight}); no slot freed after waiting {waited:.3g}s "
                f"(queue_timeout_seconds={timeout:g})",
                max_inflight=self.max_inflight,
                waited=round(waited, 3),
            )

    async def release(self, slot: Slot) -> None:
        """Give the slot back (once; a second release does nothing)."""
        if slot.released:
            return
        slot.released = True
        self._count(in_flight=-1)
        await self._slots.release(slot.id)


class AsyncBackpressureLayer:
    """Backpressure as a pipeline layer (per call).

    A plain call holds its slot until ``call_next`` returns or raises; a stream until it
    ends, fails or is closed (``ctx.when_done``). A call that moves to another target
    keeps the slot it has.

    Example::

        layer = AsyncBackpressureLayer(BackpressureConfig(max_inflight=20), stats=stats)
        layer.current_inflight   # 0
    """

    stage = Stage.BACKPRESSURE

    def __init__(
        self,
        config: BackpressureConfig,
        *,
        stats: ResilienceStats | None = None,
        store: StateStore | str | None = None,
        name: str = "default",
        backpressure: AsyncBackpressure | None = None,
    ) -> None:
        self.config = config
        self.backpressure = backpressure or AsyncBackpressure(
            config, store=store, name=name, stats=stats
        )

    @property
    def current_inflight(self) -> int:
        """Calls of this client in flight now."""
        return self.backpressure.in_flight

    def describe(self) -> str:
        label = self.backpressure.store_label
        shared = f", store={label}" if label is not None else ""
        timeout = self.config.queue_timeout_seconds
        return f"backpressure(max_inflight={self.config.max_inflight}, queue {timeout:g}s{shared})"

    async def handle(self, ctx: CallContext, call_next: AsyncNext) -> Any:
        if SLOT_KEY in ctx.metadata:  # a stream's earlier target kept the slot
            return await call_next(ctx)
        slot = await self.backpressure.acquire()
        ctx.metadata[SLOT_KEY] = slot
        kept = False
        try:
            result = await call_next(ctx)
            if ctx.operation == "stream":
                ctx.when_done(self._releaser(slot))
                kept = True
            return result
        finally:
            if not kept:
                ctx.metadata.pop(SLOT_KEY, None)
                await self.backpressure.release(slot)

    def _releaser(self, slot: Slot) -> Callable[[CallContext], Any]:
        async def release(ctx: CallContext) -> None:
            ctx.metadata.pop(SLOT_KEY, None)
            await self.backpressure.release(slot)

        return release
