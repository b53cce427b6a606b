"""Test helpers for the plugin layer: a fake engine and one API over the sync and async pipeline.

Each test body is written once and runs in both worlds (``world`` fixture): the sync
world drives ``PluginLayer`` through ``Pipeline``, the async one ``AsyncPluginLayer``
through ``AsyncPipeline``. ``world.hook(fn)`` turns a plain function into an ``async def``
in the async world, so the async world runs async hooks.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import attrs

from ailib.dialects import ChatRequest
from ailib.plugins import AsyncPluginLayer, Plugin, PluginLayer
from ailib.runtime._async_pipeline import AsyncPipeline, afinish
from ailib.runtime._sync_pipeline import Pipeline, finish
from ailib.runtime.context import CallContext, Target
from ailib.types.messages import Message
from ailib.types.response import ChatResponse

OPENED = object()  # what a fake stream attempt returns: "the headers arrived"


class FakeEngine:
    """Anything with ``spec.id``, ``base_url``, ``prepare`` and ``attempt`` is an engine."""

    def __init__(self) -> None:
        self.spec = SimpleNamespace(id="fake")
        self.base_url = "http://127.0.0.1:9"
        self.sent: list[ChatRequest] = []  # what went "on the wire", in order
        self.prepares = 0
        self.fail: BaseException | None = None

    def prepare(self, req: ChatRequest) -> ChatRequest:
        self.prepares += 1  # a snapshot, as a real engine encodes the body here
        return attrs.evolve(req, messages=list(req.messages), params=dict(req.params))

    def _attempt(self, ctx: CallContext) -> Any:
        ctx.attempt += 1
        if ctx.operation == "post":
            return {"posted": ctx.payload}, {}
        prepared = ctx.prepared()
        self.sent.append(prepared)
        if self.fail is not None:
            raise self.fail
        if ctx.operation == "stream":
            return OPENED
        last = prepared.messages[-1].content
        return ChatResponse(content=f"echo: {last}", model=prepared.model)


class AsyncFakeEngine(FakeEngine):
    async def attempt(self, ctx: CallContext) -> Any:
        return self._attempt(ctx)


class SyncFakeEngine(FakeEngine):
    def attempt(self, ctx: CallContext) -> Any:
        return self._attempt(ctx)


def chat_request(text: str = "hi", **params: Any) -> ChatRequest:
    return ChatRequest(model="gpt-4o", messages=[Message.user(text)], params=params)


class World:
    """The sync or the async pipeline, behind one awaitable API."""

    def __init__(self, asynchronous: bool) -> None:
        self.asynchronous = asynchronous
        self.engine: FakeEngine = AsyncFakeEngine() if asynchronous else SyncFakeEngine()

    def __repr__(self) -> str:
        return "async" if self.asynchronous else "sync"

    def layer(self, *args: Any, **kw: Any) -> Any:
        return (AsyncPluginLayer if self.asynchronous else PluginLayer)(*args, **kw)

    def pipeline(self, *layers: Any) -> Any:
        return (AsyncPipeline if self.asynchronous else Pipeline)(layers)

    def context(self, operation: str = "chat", request: ChatRequest | None = None) -> CallContext:
        ctx = CallContext(operation, Target(self.engine, "gpt-4o"), request=request)
        if operation == "post":
            ctx.payload = {"input": "text"}
        else:
            ctx.request = request or chat_request()
            ctx.prepared()  # as the engine does: a request it cannot carry is refused early
        return ctx

    async def run(self, pipeline: Any, ctx: CallContext) -> Any:
        if self.asynchronous:
            return await pipeline.run(ctx)
        return pipeline.run(ctx)

    async def call(self, *layers: Any, ctx: CallContext | None = None) -> Any:
        """A chat call through ``layers``."""
        return await self.run(self.pipeline(*layers), ctx or self.context())

    async def open(self, pipeline: Any, ctx: CallContext) -> Any:
        if self.asynchronous:
            return await pipeline.open(ctx)
        return pipeline.open(ctx)

    async def deliver(
        self, ctx: CallContext, events: list[Any], *, fail: BaseException | None = None
    ) -> None:
        """What the client's stream does: event hooks per event, then the outcome hooks."""
        try:
            for event in events:
                for hook in ctx.event_hooks:
                    result = hook(ctx, event)
                    if inspect.isawaitable(result):
                        await result
                ctx.first_event_sent = True
            if fail is not None:
                raise fail
        except BaseException as exc:
            ctx.error = exc
            await self.finish(ctx)
            raise
        ctx.response = ChatResponse(content="".join(e.content for e in events))
        await self.finish(ctx)

    async def close_early(self, ctx: CallContext) -> None:
        ctx.closed_early = True
        await self.finish(ctx)

    async def finish(self, ctx: CallContext) -> None:
        if self.asynchronous:
            await afinish(ctx)
        else:
            finish(ctx)

    def hook(self, fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """``fn``, or an ``async def`` around it in the async world."""
        if not self.asynchronous:
            return fn

        async def async_hook(ctx: Any) -> Any:
            return fn(ctx)

        return async_hook

    def plugin(self, name: str, **hooks: Callable[[Any], Any]) -> Plugin:
        """A Plugin called ``name`` whose hooks (``before``, ``after``, ``error``,
        ``event``, ``complete``) call the given functions."""
        methods: dict[str, Any] = {"name": lambda self: name}
        for short, method in _METHODS.items():
            if short in hooks:
                methods[method] = _method(self.hook(hooks[short]))
        cls = type(f"{name.title()}Plugin", (Plugin,), methods)
        plugin: Plugin = cls()
        return plugin


_METHODS = {
    "before": "on_before_request",
    "after": "on_after_response",
    "error": "on_error",
    "event": "on_stream_event",
    "complete": "on_complete",
}


def _method(fn: Callable[[Any], Any]) -> Any:
    if inspect.iscoroutinefunction(fn):

        async def async_method(self: Any, ctx: Any) -> Any:
            return await fn(ctx)

        return async_method

    def method(self: Any, ctx: Any) -> Any:
        return fn(ctx)

    return method
