"""The retry layer (async): another attempt after a retryable failure.

``_sync_retry.py`` is generated from this file by ``python -m codegen`` (unasync).

The policy is the target's manifest policy (``engine.retry_policy``) with the client's
:class:`~ailib.resilience.retry_policy.RetryConfig` on top. The first attempt goes
straight out; tenacity takes over only after a retryable failure, so the common path
pays nothing for retries. A stream is retried only while it opens (its ``call_next``
returns at the headers): never once an event may have reached the caller.

Example::

    pipeline = AsyncPipeline([AsyncRetryLayer(RetryConfig(max_retries=5))])
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from ailib.errors import AiLibError
from ailib.runtime.context import CallContext, Stage

if TYPE_CHECKING:
    from tenacity import RetryCallState

    from ailib.resilience.retry_policy import RetryConfig, RetryPolicy
    from ailib.resilience.signals import ResilienceStats
    from ailib.runtime._async_pipeline import AsyncNext


class AsyncRetryLayer:
    """Retries retryable failures of one target under its policy (per attempt)."""

    stage = Stage.RETRY

    def __init__(
        self, config: RetryConfig | None = None, *, stats: ResilienceStats | None = None
    ) -> None:
        self.config = config
        self.stats = stats

    def describe(self) -> str:
        if self.config is None:
            return "retry(manifest policy)"
        shown = ", ".join(f"{k}={v}" for k, v in self.config.overrides().items())
        return f"retry({shown or 'manifest policy'})"

    def policy(self, ctx: CallContext) -> RetryPolicy:
        policy: RetryPolicy = ctx.target.engine.retry_policy
        return policy.with_config(self.config)

    async def handle(self, ctx: CallContext, call_next: AsyncNext) -> Any:
        config = self.config
        if config is not None and config.total_timeout_seconds is not None:
            ends_at = ctx.started_at + config.total_timeout_seconds  # attempts end by it too
            ctx.ends_at = ends_at if ctx.ends_at is None else min(ctx.ends_at, ends_at)
        try:
            return await call_next(ctx)
        except AiLibError as exc:
            policy = self.policy(ctx)
            if policy.max_retries <= 0 or not policy.should_retry(exc):
                raise
            wait = self._bounded_wait(ctx, policy, policy.delay(exc, 2))
            if wait is None:
                raise
            self._count_retry(ctx, wait)
            await self._pause(ctx, wait)
        return await self._retrying(ctx, call_next, policy)

    async def _retrying(self, ctx: CallContext, call_next: AsyncNext, policy: RetryPolicy) -> Any:
        from tenacity import AsyncRetrying, retry_if_exception

        out_of_time = False

        def wait(state: RetryCallState) -> float:
            nonlocal out_of_time
            if state.attempt_number >= policy.max_retries:  # stop() ends it next: no wait
                return 0.0
            exc = state.outcome.exception() if state.outcome is not None else None
            # tenacity counts from the first retry; attempt 1 was sent before it took over
            seconds = self._bounded_wait(ctx, policy, policy.delay(exc, state.attempt_number + 1))
            if seconds is None:  # waiting would pass the total timeout: stop (tenacity
                out_of_time = True  # asks stop() right after wait())
                return 0.0
            self._count_retry(ctx, seconds)
            return seconds

        def stop(state: RetryCallState) -> bool:
            return out_of_time or state.attempt_number >= policy.max_retries

        retrying = AsyncRetrying(
            stop=stop,
            wait=wait,
            retry=retry_if_exception(policy.should_retry),
            sleep=lambda seconds: self._pause(ctx, seconds),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await call_next(ctx)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _pause(self, ctx: CallContext, seconds: float) -> None:
        """Wait ``seconds`` before the next attempt; a cancelled call stops waiting at once
        (its next attempt then refuses to send)."""
        token = ctx.cancel_token
        if token is None:
            await asyncio.sleep(seconds)
        else:
            await token.wait_async(seconds)

    def _bounded_wait(self, ctx: CallContext, policy: RetryPolicy, seconds: float) -> float | None:
        """``seconds``, or None when waiting would pass the total timeout."""
        if policy.total_timeout is None:
            return seconds
        left = policy.total_timeout - (time.monotonic() - ctx.started_at)
        return seconds if seconds < left else None

    def _count_retry(self, ctx: CallContext, wait: float) -> None:
        ctx.retries += 1
        if self.stats is not None:
            self.stats.count("retries")
            self.stats.add_wait("retry", wait)
