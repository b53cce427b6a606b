"""Where plugins and hooks are kept: :class:`PluginRegistry` and :class:`HookManager`.

Both can be shared by several clients (sync and async) and changed while they serve
calls (thread-safe; a call reads the hooks registered when it reaches each moment).
Registering works in both worlds: ``registry.register(p)`` acts at once, and its result
may also be awaited, so the seed's ``await registry.register(p)`` runs as written.
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Generator, Iterable
from typing import Any

from ailib.errors import ConfigurationError
from ailib.plugins.context import PluginContext
from ailib.plugins.plugin import (
    Hook,
    HookFn,
    HookType,
    checked_name,
    is_async_callable,
    plugin_hooks,
    plugin_name,
    refuse_async,
)

#: hooks of these moments all run even when one raises (the first error is raised after)
RUN_ALL = frozenset({HookType.ON_ERROR, HookType.ON_COMPLETE})


class Done:
    """What ``register()``/``unregister()`` return: the change is made already.

    Awaiting it is optional (``await registry.register(p)`` as in async code).
    """

    __slots__ = ()

    def __await__(self) -> Generator[None, None, None]:
        yield from ()

    def __repr__(self) -> str:
        return "<done>"


_DONE = Done()


class _HookSource:
    """Hooks by moment, rebuilt on each change; read without a lock."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._table: dict[HookType, tuple[Hook, ...]] = {}
        self._sync_only = False  # a sync client uses it: async hooks are refused

    def hooks(self, kind: HookType) -> tuple[Hook, ...]:
        """The hooks for ``kind``, in registration order."""
        return self._table.get(kind, ())

    def bind(self, *, asynchronous: bool) -> None:
        """Used by a client: a sync one refuses async hooks, now and when added later."""
        if asynchronous:
            return
        with self._lock:
            for hooks in self._table.values():
                for hook in hooks:
                    refuse_async(hook)
            self._sync_only = True

    def _check(self, hook: Hook) -> None:
        if self._sync_only:
            refuse_async(hook, "a sync client using this registry")

    async def trigger(self, kind: HookType | str, ctx: PluginContext) -> None:
        """Run the hooks of ``kind`` with ``ctx``; async hooks are awaited."""
        from ailib.plugins._async_layer import run_all, run_in_order

        kind = HookType.parse(kind)
        if kind in RUN_ALL:
            failure = await run_all(self.hooks(kind), ctx)
            if failure is not None:
                raise failure
        else:
            await run_in_order(self.hooks(kind), ctx)

    def trigger_sync(self, kind: HookType | str, ctx: PluginContext) -> None:
        """Run the hooks of ``kind`` with ``ctx`` (sync; an async hook is refused)."""
        from ailib.plugins._sync_layer import run_all, run_in_order

        kind = HookType.parse(kind)
        if kind in RUN_ALL:
            failure = run_all(self.hooks(kind), ctx)
            if failure is not None:
                raise failure
        else:
            run_in_order(self.hooks(kind), ctx)


class PluginRegistry(_HookSource):
    """Plugins by name, in registration order; share one with several clients.

    Example::

        registry = PluginRegistry()
        await registry.register(LoggingPlugin())     # or registry.register(...) in sync code
        client = AiClient.builder().model("openai/gpt-4o").with_plugins(registry).build()
        registry.unregister("logging")
    """

    def __init__(self, plugins: Iterable[Any] = ()) -> None:
        super().__init__()
        self._plugins: dict[str, tuple[Any, list[Hook]]] = {}
        for plugin in plugins:
            self.register(plugin)

    def register(self, plugin: Any) -> Done:
        """Add ``plugin`` (its name must be new here); acts at once, may be awaited."""
        name = plugin_name(plugin)
        hooks = plugin_hooks(plugin, name)
        with self._lock:
            if name in self._plugins:
                raise ConfigurationError(
                    f"a plugin named {name!r} is already registered; unregister it first"
                )
            for hook in hooks:
                self._check(hook)
            self._plugins[name] = (plugin, hooks)
            self._rebuild()
        return _DONE

    def unregister(self, name: str) -> Done:
        """Remove the plugin called ``name`` (nothing happens if there is none)."""
        with self._lock:
            if self._plugins.pop(name, None) is not None:
                self._rebuild()
        return _DONE

    def get(self, name: str) -> Any:
        """The plugin called ``name``, or None."""
        found = self._plugins.get(name)
        return found[0] if found is not None else None

    def names(self) -> builtins.list[str]:
        """The plugins' names, in registration order."""
        return builtins.list(self._plugins)

    def __contains__(self, name: object) -> bool:
        return name in self._plugins

    def __len__(self) -> int:
        return len(self._plugins)

    def __repr__(self) -> str:
        return f"PluginRegistry({', '.join(self._plugins)})"

    def _rebuild(self) -> None:
        table: dict[HookType, builtins.list[Hook]] = {}
        for _plugin, hooks in self._plugins.values():
            for hook in hooks:
                table.setdefault(hook.kind, []).append(hook)
        self._table = {kind: tuple(found) for kind, found in table.items()}

    async def trigger_before_request(self, ctx: PluginContext) -> None:
        """Run every ``on_before_request`` in order; the first that raises stops the rest."""
        await self.trigger(HookType.BEFORE_REQUEST, ctx)

    async def trigger_after_response(self, ctx: PluginContext) -> None:
        """Run every ``on_after_response`` in order; the first that raises stops the rest."""
        await self.trigger(HookType.AFTER_RESPONSE, ctx)

    async def trigger_error(self, ctx: PluginContext) -> None:
        """Run every ``on_error`` (all of them); then raise the first one's error, if any."""
        await self.trigger(HookType.ON_ERROR, ctx)

    async def trigger_stream_event(self, ctx: PluginContext) -> None:
        """Run every ``on_stream_event`` for ``ctx.event``, in order."""
        await self.trigger(HookType.ON_STREAM_EVENT, ctx)

    async def trigger_complete(self, ctx: PluginContext) -> None:
        """Run every ``on_complete`` (all of them); then raise the first one's error, if any."""
        await self.trigger(HookType.ON_COMPLETE, ctx)

    def trigger_before_request_sync(self, ctx: PluginContext) -> None:
        self.trigger_sync(HookType.BEFORE_REQUEST, ctx)

    def trigger_after_response_sync(self, ctx: PluginContext) -> None:
        self.trigger_sync(HookType.AFTER_RESPONSE, ctx)

    def trigger_error_sync(self, ctx: PluginContext) -> None:
        self.trigger_sync(HookType.ON_ERROR, ctx)

    def trigger_stream_event_sync(self, ctx: PluginContext) -> None:
        self.trigger_sync(HookType.ON_STREAM_EVENT, ctx)

    def trigger_complete_sync(self, ctx: PluginContext) -> None:
        self.trigger_sync(HookType.ON_COMPLETE, ctx)

    def list(self) -> builtins.list[Any]:
        """The plugins, in registration order."""
        return [plugin for plugin, _hooks in self._plugins.values()]


class HookManager(_HookSource):
    """Named hook functions by moment, for fine-grained control without a Plugin class.

    Example::

        hooks = HookManager()
        hooks.register(HookType.BEFORE_REQUEST, "log", lambda ctx: print(f"Starting {ctx.model}"))
        client = AiClient.builder().model("openai/gpt-4o").with_hooks(hooks).build()
        hooks.unregister(HookType.BEFORE_REQUEST, "log")
    """

    def register(self, hook_type: HookType | str, name: str, fn: HookFn) -> Done:
        """Call ``fn(ctx)`` at ``hook_type``; ``name`` must be new for that moment."""
        kind = HookType.parse(hook_type)
        name = checked_name(name, "hook")
        if not callable(fn):
            raise ConfigurationError(f"hook {name!r}: expected a function, got {type(fn).__name__}")
        hook = Hook(name, kind, fn, is_async_callable(fn), from_plugin=False)
        with self._lock:
            current = self._table.get(kind, ())
            if any(h.owner == name for h in current):
                raise ConfigurationError(
                    f"a {kind.value} hook named {name!r} is already registered; unregister it first"
                )
            self._check(hook)
            self._table = {**self._table, kind: (*current, hook)}
        return _DONE

    def unregister(self, hook_type: HookType | str, name: str) -> Done:
        """Remove the ``hook_type`` hook called ``name`` (nothing happens if there is none)."""
        kind = HookType.parse(hook_type)
        with self._lock:
            kept = tuple(h for h in self._table.get(kind, ()) if h.owner != name)
            self._table = {**self._table, kind: kept}
        return _DONE

    def names(self, hook_type: HookType | str | None = None) -> builtins.list[str]:
        """The hooks' names (of one moment, or of all), in registration order."""
        kinds = [HookType.parse(hook_type)] if hook_type is not None else builtins.list(HookType)
        seen: dict[str, None] = {}
        for kind in kinds:
            for hook in self._table.get(kind, ()):
                seen.setdefault(hook.owner)
        return builtins.list(seen)

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{kind.value}: {[h.owner for h in hooks]}" for kind, hooks in self._table.items()
        )
        return f"HookManager({shown})"
