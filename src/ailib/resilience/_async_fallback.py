"""Per-call layers (async): signals, fallback to other targets, the preflight check.

``_sync_fallback.py`` is generated from this file by ``python -m codegen`` (unasync).

Example::

    pipeline = AsyncPipeline([
        AsyncSignalsLayer(stats),
        AsyncFallbackLayer([Target(anthropic_engine, "claude-sonnet-4-5")], stats=stats),
        AsyncPreflightLayer(PreflightChecker()),
        AsyncRetryLayer(stats=stats),
    ])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ailib.errors import AiLibError
from ailib.resilience.fallback import (
    LiveTarget,
    current_target,
    not_sent,
    reason_of,
    worth_falling_back,
)
from ailib.runtime.context import CHAT_OPERATIONS, CallContext, Hop, Stage, Target

if TYPE_CHECKING:
    from ailib.resilience.preflight import PreflightChecker
    from ailib.resilience.signals import ResilienceStats
    from ailib.runtime._async_pipeline import AsyncNext

#: the signals layer sits just outside fallback: it sees each call once
SIGNALS_STAGE = Stage.FALLBACK - 10


def _record_outcome(stats: ResilienceStats, ctx: CallContext) -> None:
    error = ctx.error
    if error is None and not ctx.closed_early:  # the common case: one lock
        stats.succeeded(ctx.attempt, ctx.served_by)
        return
    stats.count("attempts", ctx.attempt)
    if error is not None:
        stats.count("failures")
        stats.error(error.code if isinstance(error, AiLibError) else type(error).__name__)
    else:  # the caller stopped it: a break, a close, a cancel
        stats.count("closed_early")


class AsyncSignalsLayer:
    """Counts calls, outcomes, error codes, calls in flight (a stream until it ends) and
    which target served each call."""

    stage = SIGNALS_STAGE

    def __init__(self, stats: ResilienceStats) -> None:
        self.stats = stats
        self.in_flight = 0  # changed under the stats' lock, with the counters

    def describe(self) -> str:
        return "signals"

    def _done(self, ctx: CallContext) -> None:
        if ctx.error is None and not ctx.closed_early:  # the common case: one lock
            self.stats.call_ended(self, ctx.attempt, ctx.served_by)
            return
        self.stats.left(self)
        _record_outcome(self.stats, ctx)

    async def handle(self, ctx: CallContext, call_next: AsyncNext) -> Any:
        self.stats.call_started(self)  # calls counted, in flight raised: one lock
        ctx.when_done(self._done)
        return await call_next(ctx)


class AsyncFallbackLayer:
    """After a fallbackable error, the same provider-neutral request goes to the next
    target, in its own dialect. A target that cannot carry the request is skipped with its
    reason recorded. A stream falls back only while it opens (before its first content). Other
    operations ("post", "get": embeddings, token counts, model listing, batch jobs) stay
    with their provider: they pass through.
    A :class:`~ailib.resilience.fallback.LiveTarget` follows its client's hot reloads."""

    stage = Stage.FALLBACK

    def __init__(
        self, targets: Sequence[Target | LiveTarget], *, stats: ResilienceStats | None = None
    ) -> None:
        self._targets = tuple(targets)
        self.stats = stats

    @property
    def targets(self) -> tuple[Target, ...]:
        """The fallback targets, in order, on the manifests in force now."""
        return tuple(current_target(t) for t in self._targets)

    def describe(self) -> str:
        return "fallback[" + ", ".join(t.label for t in self._targets) + "]"

    async def handle(self, ctx: CallContext, call_next: AsyncNext) -> Any:
        if ctx.operation not in CHAT_OPERATIONS:  # a provider's own endpoint (embeddings,
            return await call_next(ctx)  # models, a batch job): no other provider serves it
        chain = (ctx.target, *self._targets)
        refused: BaseException | None = None  # the first target's local refusal
        failure: BaseException | None = None  # the last error of a target that was sent
        for index, source in enumerate(chain):
            target = ctx.target
            if index:
                previous = chain[index - 1]
                target = ctx.target = current_target(source)
                if self.stats is not None:
                    self.stats.hop(previous.label, target.label)
            try:
                return await call_next(ctx)
            except AiLibError as exc:
                sent = not not_sent(exc)
                if not worth_falling_back(exc) or index == len(chain) - 1:
                    telling = failure or refused  # a target that was sent, else the first
                    if not sent and telling is not None:
                        raise telling from None
                    raise
                ctx.hops.append(Hop(target.label, reason_of(exc), exc.code, sent))
                if sent:
                    failure = exc
                else:
                    refused = refused or exc
                    if self.stats is not None:
                        self.stats.skipped(target.label, reason_of(exc))
        raise AssertionError(f"unreachable: {refused!r}")  # pragma: no cover


class AsyncPreflightLayer:
    """Before any byte is sent to a target: its declared capabilities and parameters
    carry the request, and its breaker is not open (see PreflightChecker)."""

    stage = Stage.PREFLIGHT

    def __init__(self, checker: PreflightChecker) -> None:
        self.checker = checker

    def describe(self) -> str:
        return f"preflight({self.checker.describe()})"

    async def handle(self, ctx: CallContext, call_next: AsyncNext) -> Any:
        self.checker.check(ctx)
        return await call_next(ctx)
