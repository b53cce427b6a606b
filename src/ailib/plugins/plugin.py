"""What a plugin is: a named set of hooks (:class:`Plugin`), a free-standing hook, a middleware.

A hook is called with a :class:`~ailib.plugins.context.PluginContext`. On an async client
a hook may be a plain ``def`` or an ``async def``; a sync client takes plain ``def`` hooks
only (an ``async def`` hook is refused when it is registered, with a ConfigurationError).

Example::

    class Audit(Plugin):
        def name(self) -> str:
            return "audit"

        def on_after_response(self, ctx: PluginContext) -> None:
            print(ctx.model, ctx.response.usage)
"""

from __future__ import annotations

import enum
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

from ailib.errors import ConfigurationError

if TYPE_CHECKING:
    from ailib.plugins.context import PluginContext

#: a hook: ``fn(ctx)``, returning None (or an awaitable of None on async clients)
HookFn = Callable[["PluginContext"], Any]
#: what a middleware calls to go on with the call: ``call_next(ctx)``
CallNext = Callable[..., Any]


class HookType(str, enum.Enum):
    """The moments of a call a hook can watch.

    * ``BEFORE_REQUEST``: before the request is sent; ``ctx.request`` may be changed;
    * ``AFTER_RESPONSE``: after a successful call (a stream: after its last event);
    * ``ON_ERROR``: after a failed call, with ``ctx.error``;
    * ``ON_STREAM_EVENT``: for each event a stream delivers, with ``ctx.event``;
    * ``ON_COMPLETE``: once the outcome is final, whatever it is (success, failure, or a
      stream the caller closed early: ``ctx.closed_early``).

    Example::

        hooks.register(HookType.ON_ERROR, "alert", lambda ctx: print(ctx.error))
    """

    BEFORE_REQUEST = "before_request"
    AFTER_RESPONSE = "after_response"
    ON_ERROR = "on_error"
    ON_STREAM_EVENT = "on_stream_event"
    ON_COMPLETE = "on_complete"

    @property
    def method(self) -> str:
        """The :class:`Plugin` method for this moment: ``"on_before_request"``..."""
        return _METHODS[self]

    @classmethod
    def parse(cls, value: HookType | str) -> HookType:
        """``value`` as a HookType (a member or its value: ``"before_request"``)."""
        try:
            return cls(value)
        except ValueError:
            known = ", ".join(t.name for t in cls)
            raise ConfigurationError(
                f"unknown hook type {value!r}; use HookType.<name> with one of: {known}"
            ) from None


_METHODS = {
    HookType.BEFORE_REQUEST: "on_before_request",
    HookType.AFTER_RESPONSE: "on_after_response",
    HookType.ON_ERROR: "on_error",
    HookType.ON_STREAM_EVENT: "on_stream_event",
    HookType.ON_COMPLETE: "on_complete",
}


class Plugin:
    """Base class of plugins: override ``name()`` and the hooks you need.

    Hooks not overridden cost nothing. Each hook gets a PluginContext; plain ``def`` or
    ``async def`` (async clients only).

    Example::

        class LoggingPlugin(Plugin):
            def name(self) -> str:
                return "logging"

            async def on_before_request(self, ctx: PluginContext) -> None:
                print(f"Request to {ctx.model}: {ctx.request}")

            async def on_after_response(self, ctx: PluginContext) -> None:
                print(f"Response received: {ctx.response}")
    """

    def name(self) -> str:
        """The plugin's name (unique in a registry); the class name unless overridden."""
        return type(self).__name__

    def on_before_request(self, ctx: PluginContext) -> Any:
        """Before the request is sent: may replace ``ctx.request`` or change it in place."""

    def on_after_response(self, ctx: PluginContext) -> Any:
        """After a successful call: ``ctx.response`` is the response."""

    def on_error(self, ctx: PluginContext) -> Any:
        """After a failed call: ``ctx.error`` is the error the call failed with."""

    def on_stream_event(self, ctx: PluginContext) -> Any:
        """For each event a stream delivers to the caller: ``ctx.event``."""

    def on_complete(self, ctx: PluginContext) -> Any:
        """Once the call's outcome is final, whatever it is."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} plugin {self.name()!r}>"


class Middleware:
    """A layer of your own around the call: ``handle(ctx, call_next)``.

    It may change ``ctx.request`` before calling ``call_next(ctx)``, time or inspect what
    comes back, retry, or answer a chat call in place (return a ChatResponse without
    calling ``call_next``). On an async client ``handle`` is usually ``async def`` and
    awaits ``call_next(ctx)``; a sync client needs a plain ``def``. A plain function
    ``fn(ctx, call_next)`` is accepted wherever a Middleware is.

    Example::

        class Timer(Middleware):
            def name(self) -> str:
                return "timer"

            async def handle(self, ctx, call_next):
                start = time.monotonic()
                try:
                    return await call_next(ctx)
                finally:
                    ctx.metadata["seconds"] = time.monotonic() - start
    """

    def name(self) -> str:
        """The middleware's name, shown in ``repr(client.pipeline)``."""
        return type(self).__name__

    def handle(self, ctx: PluginContext, call_next: CallNext) -> Any:
        """Go on with the call (override this); returns what ``call_next`` returns."""
        return call_next(ctx)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} middleware {self.name()!r}>"


@attrs.frozen
class Hook:
    """One registered hook: who owns it (a plugin or a named hook), when, and the callable."""

    owner: str
    kind: HookType
    fn: HookFn
    is_async: bool
    from_plugin: bool = True

    def describe(self) -> str:
        if self.from_plugin:
            return f"plugin {self.owner!r} ({self.kind.method})"
        return f"hook {self.owner!r} ({self.kind.value})"


def is_async_callable(fn: Any) -> bool:
    """Whether calling ``fn`` gives a coroutine (an ``async def`` or an async ``__call__``)."""
    if inspect.iscoroutinefunction(fn):
        return True
    call = getattr(fn, "__call__", None)  # noqa: B004 - an object with an async __call__
    return call is not None and inspect.iscoroutinefunction(call)


def checked_name(value: Any, what: str) -> str:
    """A plugin's, hook's or middleware's name: a non-empty str, or a ConfigurationError."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"{what} name must be a non-empty str, got {value!r}")
    return value


def plugin_name(plugin: Any) -> str:
    """``plugin.name()``, checked."""
    name = getattr(plugin, "name", None)
    if not callable(name):
        raise ConfigurationError(
            f"a plugin must be a Plugin (or have a name() method), got {type(plugin).__name__}"
        )
    return checked_name(name(), "plugin")


def plugin_hooks(plugin: Any, name: str) -> list[Hook]:
    """The hooks ``plugin`` defines (methods a Plugin subclass did not override are left out)."""
    hooks = []
    for kind in HookType:
        if isinstance(plugin, Plugin) and getattr(type(plugin), kind.method, None) is getattr(
            Plugin, kind.method
        ):
            continue
        fn = getattr(plugin, kind.method, None)
        if fn is None:
            continue
        if not callable(fn):
            raise ConfigurationError(f"plugin {name!r}: {kind.method} must be callable")
        hooks.append(Hook(name, kind, fn, is_async_callable(fn)))
    return hooks


def refuse_async(hook: Hook, client: str = "a sync client") -> None:
    """Refuse an ``async def`` hook where only sync hooks can run."""
    if hook.is_async:
        raise ConfigurationError(
            f"{hook.describe()} is async, but {client} can only run plain (def) hooks; "
            "use AsyncAiClient, or make the hook a plain def"
        )


def as_middleware(value: Any) -> Middleware:
    """``value`` as a Middleware (a Middleware, an object with ``handle``, or a function)."""
    if isinstance(value, Middleware):
        return value
    if callable(getattr(value, "handle", None)):
        return _Wrapped(value.handle, _name_of(value, type(value).__name__))
    if callable(value):
        return _Wrapped(value, _name_of(value, getattr(value, "__name__", "middleware")))
    raise ConfigurationError(
        "a middleware must be a Middleware, an object with handle(ctx, call_next), "
        f"or a function fn(ctx, call_next); got {type(value).__name__}"
    )


def _name_of(value: Any, default: str) -> str:
    name = getattr(value, "name", None)
    return checked_name(name() if callable(name) else default, "middleware")


class _Wrapped(Middleware):
    """A function or a duck-typed object used as a Middleware."""

    def __init__(self, fn: Callable[..., Any], name: str) -> None:
        self._fn = fn
        self._name = name
        self.is_async = is_async_callable(fn)

    def name(self) -> str:
        return self._name

    def handle(self, ctx: PluginContext, call_next: CallNext) -> Any:
        return self._fn(ctx, call_next)


def middleware_is_async(middleware: Middleware) -> bool:
    """Whether ``middleware.handle`` is an ``async def``."""
    if isinstance(middleware, _Wrapped):
        return middleware.is_async
    return is_async_callable(middleware.handle)


def check_middleware(middleware: Middleware, *, asynchronous: bool) -> None:
    """Refuse an ``async def`` middleware on a sync client."""
    if not asynchronous and middleware_is_async(middleware):
        raise ConfigurationError(
            f"middleware {middleware.name()!r} is async, but a sync client can only run "
            "a plain (def) handle(ctx, call_next); use AsyncAiClient, or make it a plain def"
        )


def refuse_awaitable(result: Any, what: str) -> None:
    """A sync client got an awaitable back from a hook or a middleware: refuse it clearly."""
    if inspect.isawaitable(result):
        close = getattr(result, "close", None)
        if callable(close):  # a coroutine never awaited: no "never awaited" warning
            close()
        raise ConfigurationError(
            f"{what} returned an awaitable, but a sync client cannot await it; "
            "use AsyncAiClient, or make it a plain def"
        )


def name_the_source(exc: BaseException, what: str) -> None:
    """Say in ``exc``'s notes which hook or middleware raised it (Python 3.11+)."""
    add_note = getattr(exc, "add_note", None)
    if callable(add_note):
        add_note(f"raised by {what} (ailib plugins)")
