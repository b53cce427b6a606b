"""The telemetry layers of the request pipeline (async).

``_sync_layers.py`` is generated from this file by ``python -m codegen`` (unasync).

* :class:`AsyncTelemetryLayer` (``Stage.TELEMETRY``, once per call): the call's span
  (``chat {model}``, GenAI conventions), current while the chain runs; when the call's
  outcome is final (a stream's when it ends) its metrics, span end and log record.
* :class:`AsyncTelemetryAttemptLayer` (``Stage.TELEMETRY_ATTEMPT``, inside retry): a
  child span per HTTP attempt and a log record per failed one, so retries and fallback
  hops show.

The provider's own endpoints a client calls (embeddings, token counts, model listing:
operations "post" and "get") are watched too, labelled with their endpoint.

Example::

    telemetry = Telemetry(TelemetryOptions(metrics=MetricsCollector(), tracing=True))
    pipeline = AsyncPipeline([AsyncTelemetryLayer(telemetry),
                              AsyncRetryLayer(), AsyncTelemetryAttemptLayer(telemetry)])
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ailib.runtime.context import CallContext, Stage
from ailib.telemetry.observer import OPERATIONS, Telemetry

if TYPE_CHECKING:
    from ailib.runtime._async_pipeline import AsyncNext


class AsyncTelemetryLayer:
    """Per call: span, metrics and the call's log record (see the module docstring)."""

    stage = Stage.TELEMETRY

    def __init__(self, telemetry: Telemetry) -> None:
        self.telemetry = telemetry

    def describe(self) -> str:
        return self.telemetry.describe()

    async def handle(self, ctx: CallContext, call_next: AsyncNext) -> Any:
        if ctx.operation not in OPERATIONS:
            return await call_next(ctx)
        watch = self.telemetry.start_call(ctx)
        with watch.active():
            return await call_next(ctx)


class AsyncTelemetryAttemptLayer:
    """Per attempt: a child span and a record of each failed attempt."""

    stage = Stage.TELEMETRY_ATTEMPT

    def __init__(self, telemetry: Telemetry) -> None:
        self.telemetry = telemetry

    def describe(self) -> str:
        return "telemetry(attempts)"

    async def handle(self, ctx: CallContext, call_next: AsyncNext) -> Any:
        if ctx.operation not in OPERATIONS:
            return await call_next(ctx)
        watch = self.telemetry.start_attempt(ctx)
        with watch.active():
            try:
                result = await call_next(ctx)
            except BaseException as exc:  # a cancelled attempt ends its span too
                watch.failed(exc)
                raise
        watch.succeeded(result)
        return result
