"""The request pipeline (async): one ordered chain of layers around the engine's attempt.

``_sync_pipeline.py`` is generated from this file by ``python -m codegen`` (unasync).

A layer gets the call's :class:`~ailib.runtime.context.CallContext` and ``call_next``;
it may act before, after, instead of (cache), again (retry) or elsewhere (fallback)::

    class Timing:
        stage = Stage.TELEMETRY
        def describe(self) -> str:
            return "timing"
        async def handle(self, ctx, call_next):
            start = time.monotonic()
            try:
                return await call_next(ctx)
            finally:
                print(ctx.target.label, time.monotonic() - start)

Layers are kept in :class:`~ailib.runtime.context.Stage` order whatever order they were
added in. The innermost step is the engine's single attempt (``engine.attempt(ctx)``).
A stream's ``call_next`` returns the opened HTTP response once its first content was read
(``ctx.primer``: an error before it fails the attempt); the stream's outcome reaches layers
through ``ctx.when_done``.
"""

from __future__ import annotations

import asyncio  # unasync: skip
import inspect  # unasync: skip
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

from ailib.runtime.context import PER_ATTEMPT, CallContext, mark_served

#: what ends a call without failing it: the caller stopped (break, close, cancelled task)
STOPPED: tuple[type[BaseException], ...] = (GeneratorExit, KeyboardInterrupt)
STOPPED += (asyncio.CancelledError,)  # unasync: skip

#: what a layer calls to go on down the chain
AsyncNext = Callable[[CallContext], Awaitable[Any]]


class AsyncLayer(Protocol):
    """One step of the chain (async). ``stage`` places it; ``describe()`` names it."""

    @property
    def stage(self) -> int: ...

    def describe(self) -> str: ...

    async def handle(self, ctx: CallContext, call_next: AsyncNext) -> Any: ...


class AsyncPipeline:
    """An ordered, immutable chain of layers; ``repr()`` shows what a call passes through.

    Example::

        pipeline = AsyncPipeline([AsyncRetryLayer()])
        print(pipeline)   # AsyncPipeline(per attempt: retry(manifest policy) -> engine)
        response = await pipeline.run(ctx)
    """

    __slots__ = ("_entry", "_layers")

    def __init__(self, layers: Iterable[AsyncLayer] = ()) -> None:
        self._layers: tuple[AsyncLayer, ...] = tuple(sorted(layers, key=lambda la: la.stage))
        self._entry = _chain(self._layers)

    @property
    def layers(self) -> tuple[AsyncLayer, ...]:
        return self._layers

    def with_layers(self, *layers: AsyncLayer) -> AsyncPipeline:
        """A new pipeline with ``layers`` added in their stages."""
        return type(self)((*self._layers, *layers))

    def without(self, kind: type[Any]) -> AsyncPipeline:
        """A new pipeline without the layers of class ``kind``."""
        return type(self)(la for la in self._layers if not isinstance(la, kind))

    def find(self, kind: type[Any]) -> Any:
        """The first layer of class ``kind``, or None."""
        return next((la for la in self._layers if isinstance(la, kind)), None)

    def __repr__(self) -> str:
        per_call = [la.describe() for la in self._layers if la.stage < PER_ATTEMPT]
        per_attempt = [la.describe() for la in self._layers if la.stage >= PER_ATTEMPT]
        parts = []
        if per_call:
            parts.append("per call: " + " -> ".join(per_call))
        parts.append("per attempt: " + " -> ".join([*per_attempt, "engine"]))
        return f"{type(self).__name__}({'; '.join(parts)})"

    async def run(self, ctx: CallContext) -> Any:
        """Run a plain call (chat or post) through the chain; its outcome hooks run here."""
        try:
            result: Any = await self._entry(ctx)
        except BaseException as exc:
            stopped(ctx, exc)
            await afinish(ctx)
            raise
        ctx.result = result
        ctx.served_by = ctx.target.label
        if ctx.operation == "chat":
            mark_served(result, ctx.served_by)
            ctx.response = result
        await afinish(ctx)
        return result

    async def open(self, ctx: CallContext) -> Any:
        """Open a stream through the chain: the response, once its first content arrived.

        On failure the outcome hooks run here; on success they run when the stream ends
        (the stream calls :func:`afinish`).
        """
        try:
            opened = await self._entry(ctx)
        except BaseException as exc:
            stopped(ctx, exc)
            await afinish(ctx)
            raise
        ctx.served_by = ctx.target.label
        return opened


def _attempt(ctx: CallContext) -> Any:
    """The innermost step: one attempt of the current target's engine (a stream's up to
    its first event: ``ctx.primer``). The engine's own awaitable is handed on as it is:
    no frame of its own on each call."""
    if ctx.primer is None:
        return ctx.target.engine.attempt(ctx)
    return _primed_attempt(ctx)


async def _primed_attempt(ctx: CallContext) -> Any:
    opened = await ctx.target.engine.attempt(ctx)
    return await ctx.primer(opened)


def _chain(layers: tuple[AsyncLayer, ...]) -> AsyncNext:
    """The chain's entry: each layer's ``call_next`` built once, not per call."""
    entry: AsyncNext = _attempt
    for layer in reversed(layers):
        entry = _step(layer, entry)
    return entry


def _step(layer: AsyncLayer, call_next: AsyncNext) -> AsyncNext:
    handle = layer.handle

    def step(ctx: CallContext) -> Any:  # the layer's awaitable itself: no frame of its own
        return handle(ctx, call_next)

    return step


def stopped(ctx: CallContext, exc: BaseException) -> None:
    """Record how a call that raised ``exc`` ended: the caller gave up (a cancelled task,
    a cancelled token: closed early, no failure), or it failed with ``exc``."""
    if isinstance(exc, STOPPED) or ctx.closed_early:
        ctx.closed_early = True
    else:
        ctx.error = exc


async def afinish(ctx: CallContext) -> None:
    """Run the context's outcome hooks once (innermost first); awaits async ones."""
    if ctx.finished:
        return
    failure: BaseException | None = None
    for hook in ctx.take_done_hooks():
        try:
            result = hook(ctx)
            if result is not None:  # most hooks are plain functions
                await asettle(result)
        except Exception as exc:  # one hook failing must not skip the others
            failure = failure or exc
    if failure is not None:  # a hook's own error fails the call, never silently
        if ctx.error is not None and failure is not ctx.error and failure.__cause__ is None:
            failure.__cause__ = ctx.error
        raise failure


async def asettle(result: Any) -> None:
    """Wait for ``result`` when a hook returned an awaitable (async clients take both)."""
    if inspect.isawaitable(result):  # unasync: skip
        await result  # unasync: skip
