"""The response cache as a pipeline layer (async), per call, just inside the plugins.

``_sync_layer.py`` is generated from this file by ``python -m codegen`` (unasync).

A hit returns the cached response without calling the rest of the chain (no request
reaches the provider); a streamed call that hits is replayed as the events it
delivered when it was stored. A miss goes down the chain; its response is stored once
it is known: a plain call's when it returns, a stream's when it ends complete (events
captured as they reach the caller). An error, or a stream that failed, was cut or was
closed early, is never stored. ``ctx.metadata["cache_status"]`` tells what happened:
``"hit"``, ``"miss"``, ``"refresh"`` or ``"bypass"``.

Example::

    layer = AsyncCacheLayer(CacheManager(backend=MemoryCache()))
    pipeline = AsyncPipeline([layer, AsyncRetryLayer()])
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ailib.cache.events import events_of
from ailib.runtime.context import CallContext, Stage
from ailib.runtime.replay import ReplayedStream

if TYPE_CHECKING:
    from ailib.cache.manager import AsyncCacheAccess, CacheManager
    from ailib.runtime._async_pipeline import AsyncNext
    from ailib.types.events import StreamEvent

#: where a call's cache outcome is written in ``ctx.metadata``
STATUS_KEY = "cache_status"


class AsyncCacheLayer:
    """Answers repeated chat calls and streams from a :class:`~ailib.cache.CacheManager`."""

    stage = Stage.CACHE

    def __init__(self, manager: CacheManager) -> None:
        self.manager = manager
        self._access: AsyncCacheAccess = manager.access(asynchronous=True)

    def describe(self) -> str:
        return self.manager.describe()

    async def handle(self, ctx: CallContext, call_next: AsyncNext) -> Any:
        if ctx.operation not in ("chat", "stream"):
            return await call_next(ctx)
        manager = self.manager
        mode = manager.mode_for(ctx)
        key = manager.key_for(ctx) if mode != "bypass" else None
        if key is None:
            manager.count("bypassed")
            ctx.metadata[STATUS_KEY] = "bypass"
            return await call_next(ctx)
        if mode == "use":
            entry = await self._access.lookup(key)
            if entry is not None:
                ctx.metadata[STATUS_KEY] = "hit"
                if not ctx.stream:
                    return entry.response
                events = entry.events if entry.events is not None else events_of(entry.response)
                return ReplayedStream(tuple(events), entry.response)
        ctx.metadata[STATUS_KEY] = "miss" if mode == "use" else "refresh"
        if not ctx.stream:
            response: Any = await call_next(ctx)  # a ChatResponse
            await self._access.store(key, response)
            return response
        delivered: list[StreamEvent] = []
        ctx.event_hooks.append(lambda _ctx, event: delivered.append(event))

        async def store_if_complete(done: CallContext) -> None:
            if done.error is None and not done.closed_early and done.response is not None:
                await self._access.store(key, done.response, delivered)

        ctx.when_done(store_if_complete)
        return await call_next(ctx)
