"""The circuit breaker layer (async): refuses attempts to a failing target at once.

``_sync_breaker_layer.py`` is generated from this file by ``python -m codegen`` (unasync).

Per attempt (inside retry): before sending, the breaker of ``ctx.target.key`` must let
the attempt go (an open breaker raises :class:`~ailib.errors.CircuitOpenError` and
nothing is sent); after it, the outcome is recorded. A stream's outcome is recorded when
the stream ends, fails or is closed early (``ctx.when_done``). The state lives in a
:class:`~ailib.resilience.state.StateStore`: with Redis, every process shares it.
The policy is :class:`~ailib.resilience.breaker.CircuitBreaker` (no I/O).

Example::

    layer = AsyncBreakerLayer(CircuitBreakerConfig(failure_threshold=5, cooldown_seconds=30),
                              store=store_from_url("redis://127.0.0.1:6379/0"), stats=stats)
    pipeline = AsyncPipeline([AsyncRetryLayer(), layer])
    await layer.state("openai|https://api.openai.com/v1|gpt-4o")   # CircuitState.CLOSED
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ailib.errors import StateStoreError
from ailib.resilience.breaker import (
    CircuitBreaker,
    CircuitState,
    Outcome,
    Permit,
    classify,
    stream_outcome,
)
from ailib.resilience.config import CircuitBreakerConfig
from ailib.resilience.state import MemoryStore, Record, StateStore, store_from_url
from ailib.runtime.context import CallContext, Stage, Target

if TYPE_CHECKING:
    from ailib.resilience.signals import ResilienceStats
    from ailib.runtime._async_pipeline import AsyncNext

log = logging.getLogger("ailib")


class AsyncBreakerLayer:
    """A circuit breaker per target, its state in ``store`` (default: a MemoryStore).

    ``store`` may also be a URL (``"redis://..."``); ``clock`` gives wall-clock seconds.
    Admission errors of the store raise :class:`~ailib.errors.StateStoreError` (the
    call is not sent); an outcome the store cannot record is logged, never hiding the
    call's own result.

    Example::

        layer = AsyncBreakerLayer(CircuitBreakerConfig(), store=MemoryStore(), stats=stats)
        layer.describe()   # 'circuit_breaker(threshold=5, cooldown=30s)'
    """

    stage = Stage.CIRCUIT_BREAKER

    def __init__(
        self,
        config: CircuitBreakerConfig | None = None,
        store: StateStore | str | None = None,
        stats: ResilienceStats | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config if config is not None else CircuitBreakerConfig()
        if isinstance(store, str):
            store = store_from_url(store)
        self.store: StateStore = store if store is not None else MemoryStore()
        self.stats = stats
        self.breaker = CircuitBreaker(self.config, stats=stats, clock=clock)
        self._backend = self.store.backend(asynchronous=True)

    def describe(self) -> str:
        where = "" if isinstance(self.store, MemoryStore) else f", store={self.store.label}"
        return f"circuit_breaker({self.breaker.describe()}{where})"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.describe()})"

    async def handle(self, ctx: CallContext, call_next: AsyncNext) -> Any:
        permit = await self.acquire(ctx.target.key)
        try:
            result = await call_next(ctx)
        except BaseException as exc:
            await self._settle_logged(permit, classify(exc))
            raise
        if ctx.operation == "stream":  # its outcome comes when the stream is over
            ctx.when_done(self._stream_hook(permit, ctx.target))
        else:
            await self._settle_logged(permit, Outcome.SUCCESS)
        return result

    # ---- the breaker, through the store --------------------------------------------------

    async def acquire(self, key: str) -> Permit:
        """Leave for one attempt to ``key``; raises CircuitOpenError when it is open."""
        breaker = self.breaker

        def change(rec: Record | None) -> tuple[Record | None, Any]:
            new, admission = breaker.admit(rec, key)
            return new, (new, admission)

        record, admission = await self._backend.update(
            breaker.store_key(key), change, ttl=breaker.ttl
        )
        breaker.note(key, admission.old, record)
        if admission.permit is None:
            raise breaker.refusal(key, admission.retry_after)
        permit: Permit = admission.permit
        return permit

    async def release(self, permit: Permit, outcome: Outcome) -> None:
        """Record the outcome of the attempt ``permit`` allowed."""
        if outcome is Outcome.IGNORED and not permit.probe:
            return
        breaker = self.breaker

        def change(rec: Record | None) -> tuple[Record | None, Any]:
            new, (old, _) = breaker.settle(rec, permit, outcome)
            return new, (new, old)

        record, old = await self._backend.update(
            breaker.store_key(permit.key), change, ttl=breaker.ttl
        )
        breaker.note(permit.key, old, record)

    async def _settle_logged(self, permit: Permit, outcome: Outcome) -> None:
        try:
            await self.release(permit, outcome)
        except StateStoreError as exc:
            log.warning("ailib: circuit breaker %r: outcome not recorded: %s", permit.key, exc)

    def _stream_hook(self, permit: Permit, target: Target) -> Callable[[CallContext], Any]:
        async def settle_stream(ctx: CallContext) -> None:
            await self._settle_logged(permit, stream_outcome(ctx, target))

        return settle_stream

    async def state(self, key: str) -> CircuitState:
        """The state of the breaker of ``key`` now, read from the store."""
        record = await self._backend.get(self.breaker.store_key(key))
        stored = CircuitState(record["state"]) if record else CircuitState.CLOSED
        self.breaker.note(key, stored, record)
        return self.breaker.state_of(record)

    def cached_state(self, key: str) -> CircuitState:
        """The state of ``key`` as this process last saw it (no I/O): for properties."""
        return self.breaker.cached_state(key)

    async def reset(self, key: str) -> None:
        """Forget the breaker of ``key`` (closed again, counts cleared)."""
        await self._backend.delete(self.breaker.store_key(key))
        self.breaker.note(key, CircuitState.CLOSED, None)
