"""Plugins, hooks and middleware as a layer of the request pipeline (async).

``_sync_layer.py`` is generated from this file by ``python -m codegen`` (unasync).

The layer sits outermost (``Stage.PLUGINS``), once per user call: chat and stream, and
the provider's own endpoints a client calls (embeddings, token counts, model listing,
batch jobs: ``ctx.operation`` "post", "get" or "download", ``ctx.metadata["endpoint"]``
naming the endpoint; ``ctx.request`` is None there and ``ctx.response`` the ``(body,
headers)`` pair). For one call:

1. ``on_before_request`` hooks run in order; then the middlewares, first registered
   outermost, around the rest of the pipeline. The request is prepared again after
   them, so a changed ``ctx.request`` (or its messages and params) is what is sent; a
   request given another ``model`` goes to that model of the same provider.
2. Success: ``on_after_response`` hooks run in order (a stream: after its last event,
   through ``ctx.when_done``; ``on_stream_event`` runs for each event it delivers).
3. Failure: every ``on_error`` hook runs with ``ctx.error``, the error of the call.
4. Always: every ``on_complete`` hook runs last (a stream the caller closed early gets
   only these, with ``ctx.closed_early``).

A hook or middleware that raises fails the call with its own exception, never
swallowed (a note on it names the plugin and hook). A failing ``on_before_request`` or
``on_after_response`` stops the hooks after it and makes the call a failure: the
``on_error`` hooks then see that exception. ``on_error`` and ``on_complete`` hooks
all run, each seeing the call's original error; the first exception one of them raises
replaces it, chained (``__cause__``) to the original.

Example::

    layer = AsyncPluginLayer([LoggingPlugin()], middlewares=[Timer()])
    pipeline = AsyncPipeline([layer, AsyncRetryLayer()])
    print(pipeline)   # AsyncPipeline(per call: plugins[logging] + middleware[timer]; ...)
"""

from __future__ import annotations

import contextlib
import inspect  # unasync: skip
from collections.abc import Callable, Iterable
from typing import Any

from ailib.errors import ConfigurationError
from ailib.plugins.context import PluginContext
from ailib.plugins.plugin import (
    Hook,
    HookType,
    Middleware,
    as_middleware,
    check_middleware,
    name_the_source,
    refuse_awaitable,
)
from ailib.plugins.registry import HookManager, PluginRegistry
from ailib.runtime.context import CHAT_OPERATIONS, CallContext, Stage, Target
from ailib.types.response import ChatResponse

#: the operations plugins see: chat calls and the provider's own endpoints
OPERATIONS = ("chat", "stream", "post", "get", "download")
_Call = Callable[[CallContext], Any]


async def run_hook(hook: Hook, ctx: PluginContext) -> None:
    """Call one hook with ``ctx``; an exception it raises goes on, naming the hook."""
    try:
        result = hook.fn(ctx)
        if inspect.isawaitable(result):  # unasync: skip
            result = await result  # unasync: skip
        refuse_awaitable(result, hook.describe())
    except Exception as exc:
        if exc is not ctx.error:  # a hook re-raising the call's error is not its author
            name_the_source(exc, hook.describe())
        raise


async def run_in_order(hooks: Iterable[Hook], ctx: PluginContext) -> None:
    """Run ``hooks`` in order; the first that raises stops the rest."""
    for hook in hooks:
        await run_hook(hook, ctx)


async def run_all(hooks: Iterable[Hook], ctx: PluginContext) -> Exception | None:
    """Run every hook, even after one raised; return the first exception raised."""
    failure: Exception | None = None
    for hook in hooks:
        try:
            await run_hook(hook, ctx)
        except Exception as exc:
            failure = failure or exc
    return failure


class _OneCall:
    """The state of one call through the middlewares."""

    __slots__ = ("call", "call_next", "ctx", "model", "opened", "reached", "seen")

    def __init__(
        self, ctx: PluginContext, call: CallContext, call_next: _Call, model: str | None
    ) -> None:
        self.ctx = ctx
        self.call = call
        self.call_next = call_next
        self.model = model  # the request's model before the plugins ran
        self.opened: list[Any] = []  # the stream responses the rest of the pipeline opened
        self.reached = False  # the rest of the pipeline ran (no middleware answered in place)
        self.seen: set[int] = set()  # exceptions that came up from below a middleware


class AsyncPluginLayer:
    """Runs a client's plugins, hooks and middlewares around each call (async).

    ``plugins`` is a Plugin, a PluginRegistry (shared, read live), or a list mixing them;
    hooks run in that order (a registry's plugins in their registration order), then the
    HookManagers' (``hooks``: one, or several in order). ``middlewares``: Middleware
    objects or functions ``fn(ctx, call_next)``.

    Example::

        layer = AsyncPluginLayer([registry, AuditPlugin()], middlewares=[Timer()], hooks=hooks)
    """

    stage = Stage.PLUGINS

    def __init__(
        self,
        plugins: Any = (),
        middlewares: Iterable[Any] = (),
        hooks: HookManager | Iterable[HookManager] | None = None,
    ) -> None:
        sources: list[PluginRegistry | HookManager] = _registries(plugins)
        sources += _managers(hooks)
        _no_twice(sources)
        for source in sources:
            source.bind(asynchronous=True)
        self._sources = tuple(sources)
        self._middlewares = tuple(as_middleware(m) for m in middlewares)
        for middleware in self._middlewares:
            check_middleware(middleware, asynchronous=True)

    @property
    def middlewares(self) -> tuple[Middleware, ...]:
        return self._middlewares

    @property
    def sources(self) -> tuple[PluginRegistry | HookManager, ...]:
        """The registries and the hook manager, in the order their hooks run."""
        return self._sources

    def describe(self) -> str:
        plugins = [n for s in self._sources if isinstance(s, PluginRegistry) for n in s.names()]
        hooks = [n for s in self._sources if isinstance(s, HookManager) for n in s.names()]
        parts = [f"plugins[{', '.join(plugins)}]"]
        if hooks:
            parts.append(f"hooks[{', '.join(hooks)}]")
        if self._middlewares:
            parts.append(f"middleware[{', '.join(m.name() for m in self._middlewares)}]")
        return " + ".join(parts)

    def hooks(self, kind: HookType) -> tuple[Hook, ...]:
        """The hooks that run at ``kind`` now, in order."""
        if len(self._sources) == 1:
            return self._sources[0].hooks(kind)
        found: tuple[Hook, ...] = ()
        for source in self._sources:
            found += source.hooks(kind)
        return found

    async def handle(self, ctx: CallContext, call_next: _Call) -> Any:
        if ctx.operation not in OPERATIONS:
            return await call_next(ctx)
        pctx = PluginContext.for_call(ctx)
        model = ctx.request.model if ctx.request is not None else None
        try:
            before = self.hooks(HookType.BEFORE_REQUEST)
            if before:
                await run_in_order(before, pctx)
                _prepare_again(ctx, model)  # changed in place or not: prepared again from it
            if self._middlewares:
                result = await self._through_all(_OneCall(pctx, ctx, call_next, model))
            else:
                result = await call_next(ctx)
        except Exception as exc:
            failure = await self._finish(pctx, exc)
            if failure is None:
                raise
        else:
            if ctx.operation == "stream":
                self._watch_stream(pctx, ctx)
                return result
            pctx.response = result
            failure = await self._finish(pctx, None)
            if failure is None:
                return result
        raise failure  # a hook's own exception (chained to the call's error, if any)

    async def _through_all(self, one: _OneCall) -> Any:
        """The middlewares around the rest of the pipeline; a stream response opened
        below them and not returned (an error, a second call_next) is closed here."""
        result: Any = None
        try:
            result = await self._through(one, 0)
            self._check_answer(one, result)
        finally:
            for opened in one.opened:
                if opened is not result:
                    with contextlib.suppress(Exception):  # the call's own outcome wins
                        await opened.aclose()
        return result

    async def _through(self, one: _OneCall, index: int) -> Any:
        """Middleware ``index`` around the rest; past the last one, the pipeline."""
        if index == len(self._middlewares):
            one.reached = True
            _prepare_again(one.call, one.model)  # a middleware may have changed the request
            try:
                result = await one.call_next(one.call)
            except Exception as exc:
                one.seen.add(id(exc))
                raise
            if one.call.operation == "stream":
                one.opened.append(result)
            return result
        middleware = self._middlewares[index]

        def go_on(_ctx: Any = None) -> Any:
            return self._through(one, index + 1)

        try:
            result = middleware.handle(one.ctx, go_on)
            if inspect.isawaitable(result):  # unasync: skip
                result = await result  # unasync: skip
            refuse_awaitable(result, f"middleware {middleware.name()!r}")
        except Exception as exc:
            if id(exc) not in one.seen:  # raised by this middleware, not passed up by it
                name_the_source(exc, f"middleware {middleware.name()!r}")
                one.seen.add(id(exc))
            raise
        return result

    @staticmethod
    def _check_answer(one: _OneCall, result: Any) -> None:
        """What the middlewares return must be what the client can use."""
        if one.call.operation == "stream" and not one.reached:
            raise ConfigurationError(
                "a middleware answered a stream call without calling call_next(ctx); "
                "only a chat call can be answered in place"
            )
        if one.call.operation == "stream" and not any(result is o for o in one.opened):
            raise ConfigurationError(
                f"the middlewares returned {type(result).__name__} for a stream call; "
                "return what call_next(ctx) returned"
            )
        if one.call.operation == "chat" and not isinstance(result, ChatResponse):
            raise ConfigurationError(
                f"the middlewares returned {type(result).__name__} for a chat call; "
                "return what call_next(ctx) returned, or a ChatResponse"
            )
        operation = one.call.operation
        pair = isinstance(result, tuple) and len(result) == 2
        if operation not in CHAT_OPERATIONS and not pair:
            raise ConfigurationError(
                f"the middlewares returned {type(result).__name__} for a {operation!r} call; "
                "return what call_next(ctx) returned, a (body, headers) pair"
            )

    def _watch_stream(self, pctx: PluginContext, ctx: CallContext) -> None:
        """Hooks of a stream: one per delivered event, the rest when it ends."""
        if self.hooks(HookType.ON_STREAM_EVENT):

            async def on_event(_call: CallContext, event: Any) -> None:
                pctx.event = event
                await run_in_order(self.hooks(HookType.ON_STREAM_EVENT), pctx)

            ctx.event_hooks.append(on_event)

        async def on_done(call: CallContext) -> None:
            pctx.event = None
            pctx.response = call.response
            if call.closed_early and call.error is None:
                failure = await self._complete(pctx, None)
            else:
                failure = await self._finish(pctx, call.error)
            if failure is not None:
                raise failure

        ctx.when_done(on_done)

    async def _finish(self, pctx: PluginContext, error: BaseException | None) -> Exception | None:
        """After-response or error hooks, then complete hooks; the exception to raise."""
        failure: Exception | None = None
        if error is None:
            try:
                await run_in_order(self.hooks(HookType.AFTER_RESPONSE), pctx)
            except Exception as exc:
                failure = exc
                error = exc
        if error is not None:
            pctx.error = error
            failed = await run_all(self.hooks(HookType.ON_ERROR), pctx)
            if failed is not None:
                failure = _chained(failed, error)
        completed = await self._complete(pctx, error)  # runs whatever happened above
        return failure or completed

    async def _complete(self, pctx: PluginContext, error: BaseException | None) -> Exception | None:
        failed = await run_all(self.hooks(HookType.ON_COMPLETE), pctx)
        return _chained(failed, error) if failed is not None else None


def _chained(failure: Exception, error: BaseException | None) -> Exception:
    """``failure`` (a hook's), with the call's ``error`` as its cause unless it has one."""
    if error is not None and failure is not error and failure.__cause__ is None:
        failure.__cause__ = error
    return failure


def _prepare_again(call: CallContext, model: str | None) -> None:
    """After hooks or middlewares: a chat request is prepared again from ``call.request``
    (a post or get keeps the body it was prepared with)."""
    if call.operation in CHAT_OPERATIONS:
        call.forget_prepared()
        _follow_model(call, model)


def _follow_model(call: CallContext, model: str | None) -> None:
    """A plugin that gave the request another model sends it to that model (same
    provider): the target follows, so the breaker, the stats and ``served_by`` agree."""
    request = call.request
    if request is not None and request.model != model and request.model != call.target.model:
        if not isinstance(request.model, str) or not request.model.strip():
            raise ConfigurationError(
                f"a plugin set the request's model to {request.model!r}; expected a model id"
            )
        call.target = Target(call.target.engine, request.model)


def _managers(hooks: Any) -> list[PluginRegistry | HookManager]:
    """The HookManagers given as ``hooks`` (None, one, or several), in order."""
    if hooks is None:
        return []
    found = [hooks] if isinstance(hooks, HookManager) else hooks
    if isinstance(found, (str, bytes)) or not isinstance(found, Iterable):
        found = [found]
    managers: list[PluginRegistry | HookManager] = []
    for manager in found:
        if not isinstance(manager, HookManager):
            raise ConfigurationError(f"hooks must be a HookManager, got {type(manager).__name__}")
        if any(manager is seen for seen in managers):
            raise ConfigurationError(f"{manager!r} is given twice to this client")
        managers.append(manager)
    return managers


def _registries(plugins: Any) -> list[PluginRegistry | HookManager]:
    """Each registry as given, and each loose plugin in a registry of its own."""
    if isinstance(plugins, PluginRegistry):
        return [plugins]
    if isinstance(plugins, (str, bytes)) or not isinstance(plugins, Iterable):
        plugins = [plugins]
    found: list[PluginRegistry | HookManager] = []
    for item in plugins:
        found.append(item if isinstance(item, PluginRegistry) else PluginRegistry([item]))
    return found


def _no_twice(sources: list[PluginRegistry | HookManager]) -> None:
    """A plugin name may appear once among a client's plugins (each registry checks itself)."""
    names: set[str] = set()
    for source in sources:
        if isinstance(source, PluginRegistry):
            for name in source.names():
                if name in names:
                    raise ConfigurationError(f"plugin {name!r} is given twice to this client")
                names.add(name)
