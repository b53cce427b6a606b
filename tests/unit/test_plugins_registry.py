"""PluginRegistry, HookManager, the seed README example, and sync clients refusing async hooks."""

from __future__ import annotations

from typing import Any

import pytest

from ailib.errors import ConfigurationError
from ailib.plugins import (
    AsyncPluginLayer,
    HookManager,
    HookType,
    Middleware,
    Plugin,
    PluginContext,
    PluginLayer,
    PluginRegistry,
    plugin_layer,
)
from tests.unit.test_plugins_helpers import World

# ---- the seed README example, as written (ailib names) ---------------------------------


async def test_seed_readme_plugin_example_runs_as_written(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from ailib.plugins import HookManager, HookType, Plugin, PluginContext, PluginRegistry

    # Create a custom plugin
    class LoggingPlugin(Plugin):
        def name(self) -> str:
            return "logging"

        async def on_before_request(self, ctx: PluginContext) -> None:
            print(f"Request to {ctx.model}: {ctx.request}")

        async def on_after_response(self, ctx: PluginContext) -> None:
            print(f"Response received: {ctx.response}")

    # Register plugin
    registry = PluginRegistry()
    await registry.register(LoggingPlugin())

    # Use hooks for fine-grained control
    hooks = HookManager()
    hooks.register(HookType.BEFORE_REQUEST, "log", lambda ctx: print(f"Starting {ctx.model}"))

    # Trigger hooks
    ctx = PluginContext(model="gpt-4o", request={"messages": [...]})
    await registry.trigger_before_request(ctx)

    assert capsys.readouterr().out == "Request to gpt-4o: {'messages': [Ellipsis]}\n"
    await hooks.trigger(HookType.BEFORE_REQUEST, ctx)
    assert capsys.readouterr().out == "Starting gpt-4o\n"
    ctx.response = "the response"
    await registry.trigger_after_response(ctx)
    assert capsys.readouterr().out == "Response received: the response\n"


def test_seed_example_in_sync_code(capsys: pytest.CaptureFixture[str]) -> None:
    class LoggingPlugin(Plugin):
        def name(self) -> str:
            return "logging"

        def on_before_request(self, ctx: PluginContext) -> None:
            print(f"Request to {ctx.model}: {ctx.request}")

    registry = PluginRegistry()
    registry.register(LoggingPlugin())  # acts at once; awaiting it is optional
    hooks = HookManager()
    hooks.register(HookType.BEFORE_REQUEST, "log", lambda ctx: print(f"Starting {ctx.model}"))

    ctx = PluginContext(model="gpt-4o", request={"messages": ["hi"]})
    registry.trigger_before_request_sync(ctx)
    hooks.trigger_sync(HookType.BEFORE_REQUEST, ctx)
    assert capsys.readouterr().out == "Request to gpt-4o: {'messages': ['hi']}\nStarting gpt-4o\n"


# ---- registry -------------------------------------------------------------------------


class Named(Plugin):
    def __init__(self, name: str) -> None:
        self._name = name

    def name(self) -> str:
        return self._name

    def on_error(self, ctx: PluginContext) -> None:
        ctx.metadata.setdefault("errors", []).append(self._name)


async def test_register_unregister_list_and_lookup() -> None:
    registry = PluginRegistry()
    first, second = Named("first"), Named("second")
    await registry.register(first)
    registry.register(second)

    assert registry.names() == ["first", "second"]
    assert registry.list() == [first, second]
    assert "first" in registry and len(registry) == 2
    assert registry.get("second") is second and registry.get("nope") is None
    assert repr(registry) == "PluginRegistry(first, second)"

    await registry.unregister("first")
    registry.unregister("not there")  # no error: nothing to remove
    assert registry.names() == ["second"]


def test_a_name_registered_twice_is_refused() -> None:
    registry = PluginRegistry([Named("audit")])
    with pytest.raises(ConfigurationError, match="'audit' is already registered"):
        registry.register(Named("audit"))


@pytest.mark.parametrize("bad", [object(), 42, "logging"])
def test_something_that_is_not_a_plugin_is_refused(bad: Any) -> None:
    with pytest.raises(ConfigurationError, match="must be a Plugin"):
        PluginRegistry().register(bad)


def test_a_plugin_with_an_empty_name_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="non-empty str"):
        PluginRegistry().register(Named(""))


def test_only_overridden_hooks_are_registered() -> None:
    registry = PluginRegistry([Named("n")])
    assert [h.kind for h in registry.hooks(HookType.ON_ERROR)] == [HookType.ON_ERROR]
    for kind in (HookType.BEFORE_REQUEST, HookType.AFTER_RESPONSE, HookType.ON_COMPLETE):
        assert registry.hooks(kind) == ()


def test_a_duck_typed_plugin_works() -> None:
    class Duck:
        def name(self) -> str:
            return "duck"

        def on_before_request(self, ctx: PluginContext) -> None:
            ctx.metadata["duck"] = True

    registry = PluginRegistry([Duck()])
    ctx = PluginContext(model="m")
    registry.trigger_before_request_sync(ctx)
    assert ctx.metadata == {"duck": True}


async def test_trigger_error_runs_every_hook_then_raises_the_first_failure() -> None:
    class Broken(Named):
        def on_error(self, ctx: PluginContext) -> None:
            super().on_error(ctx)
            raise RuntimeError(f"{self._name} failed")

    registry = PluginRegistry([Broken("a"), Broken("b"), Named("c")])
    ctx = PluginContext(model="m", error=ValueError("call failed"))
    with pytest.raises(RuntimeError, match="a failed"):
        await registry.trigger_error(ctx)
    assert ctx.metadata["errors"] == ["a", "b", "c"]

    ctx = PluginContext(model="m", error=ValueError("call failed"))
    with pytest.raises(RuntimeError, match="a failed"):
        registry.trigger_error_sync(ctx)
    assert ctx.metadata["errors"] == ["a", "b", "c"]


async def test_async_and_sync_hooks_mix_on_an_async_client() -> None:
    order: list[str] = []

    class Mixed(Plugin):
        def name(self) -> str:
            return "mixed"

        async def on_before_request(self, ctx: PluginContext) -> None:
            order.append("async before")

        def on_after_response(self, ctx: PluginContext) -> None:
            order.append("sync after")

    world = World(asynchronous=True)
    hooks = HookManager()

    async def async_hook(ctx: PluginContext) -> None:
        order.append("async hook")

    hooks.register("before_request", "a", async_hook)
    await world.call(world.layer(Mixed(), hooks=hooks))
    assert order == ["async before", "async hook", "sync after"]


# ---- hook manager ---------------------------------------------------------------------


async def test_hook_manager_register_unregister_and_names() -> None:
    hooks = HookManager()
    hooks.register(HookType.BEFORE_REQUEST, "log", lambda ctx: None)
    hooks.register(HookType.ON_ERROR, "alert", lambda ctx: None)
    await hooks.register(HookType.ON_ERROR, "log", lambda ctx: None)

    assert hooks.names() == ["log", "alert"]
    assert hooks.names(HookType.ON_ERROR) == ["alert", "log"]
    with pytest.raises(ConfigurationError, match="'log' is already registered"):
        hooks.register(HookType.BEFORE_REQUEST, "log", lambda ctx: None)

    hooks.unregister(HookType.ON_ERROR, "alert")
    assert hooks.names(HookType.ON_ERROR) == ["log"]
    assert world_layer_describe(hooks) == "plugins[] + hooks[log]"


def world_layer_describe(hooks: HookManager) -> str:
    return str(PluginLayer(hooks=hooks).describe())


@pytest.mark.parametrize("hook_type", ["before", "BEFORE_REQUEST", 3])
def test_an_unknown_hook_type_is_refused(hook_type: Any) -> None:
    with pytest.raises(ConfigurationError, match="unknown hook type"):
        HookManager().register(hook_type, "x", lambda ctx: None)


def test_a_hook_that_is_not_callable_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="expected a function"):
        HookManager().register(HookType.ON_ERROR, "x", "print")  # type: ignore[arg-type]


def test_hooks_must_be_a_hook_manager() -> None:
    with pytest.raises(ConfigurationError, match="must be a HookManager"):
        PluginLayer(hooks=[lambda ctx: None])  # type: ignore[arg-type]


# ---- sync clients take sync hooks only -------------------------------------------------


class AsyncLogging(Plugin):
    def name(self) -> str:
        return "logging"

    async def on_before_request(self, ctx: PluginContext) -> None:
        ctx.metadata["seen"] = True


def test_a_sync_client_refuses_an_async_plugin() -> None:
    with pytest.raises(
        ConfigurationError, match=r"plugin 'logging' \(on_before_request\) is async"
    ):
        PluginLayer(AsyncLogging())
    AsyncPluginLayer(AsyncLogging())  # the async client takes it


def test_a_registry_used_by_a_sync_client_refuses_async_plugins_later() -> None:
    registry = PluginRegistry()
    PluginLayer(registry)
    with pytest.raises(ConfigurationError, match="sync client using this registry"):
        registry.register(AsyncLogging())
    assert registry.names() == []


def test_a_sync_client_refuses_a_registry_holding_async_plugins() -> None:
    registry = PluginRegistry([AsyncLogging()])
    AsyncPluginLayer(registry)
    with pytest.raises(ConfigurationError, match="is async"):
        PluginLayer(registry)


def test_a_sync_client_refuses_async_hooks_and_middleware() -> None:
    async def hook(ctx: PluginContext) -> None:
        return None

    hooks = HookManager()
    hooks.register(HookType.ON_ERROR, "alert", hook)
    with pytest.raises(ConfigurationError, match=r"hook 'alert' \(on_error\) is async"):
        PluginLayer(hooks=hooks)

    class AsyncTimer(Middleware):
        async def handle(self, ctx: PluginContext, call_next: Any) -> Any:
            return await call_next(ctx)

    with pytest.raises(ConfigurationError, match="middleware 'AsyncTimer' is async"):
        PluginLayer(middlewares=[AsyncTimer()])

    async def function(ctx: PluginContext, call_next: Any) -> Any:
        return await call_next(ctx)

    with pytest.raises(ConfigurationError, match="middleware 'function' is async"):
        PluginLayer(middlewares=[function])


async def test_a_sync_hook_returning_an_awaitable_is_refused_on_a_sync_client() -> None:
    async def later(ctx: PluginContext) -> None:
        return None

    made: list[Any] = []

    def sneaky(ctx: PluginContext) -> Any:
        made.append(later(ctx))
        return made[-1]

    world = World(asynchronous=False)
    layer = world.layer(world.plugin("sneaky", before=sneaky))
    with pytest.raises(ConfigurationError, match="returned an awaitable"):
        await world.call(layer)
    assert world.engine.sent == []
    assert made[0].cr_frame is None  # closed: no "coroutine was never awaited" later


def test_plugin_layer_builds_the_right_twin() -> None:
    registry = PluginRegistry([Named("a")])
    sync = plugin_layer(asynchronous=False, plugins=[registry, Named("b")], middlewares=[])
    asyn = plugin_layer(asynchronous=True, plugins=[AsyncLogging()])
    assert isinstance(sync, PluginLayer) and sync.describe() == "plugins[a, b]"
    assert isinstance(asyn, AsyncPluginLayer) and asyn.describe() == "plugins[logging]"
    with pytest.raises(ConfigurationError, match="is async"):
        plugin_layer(asynchronous=False, plugins=[AsyncLogging()])


def test_a_bad_middleware_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="a middleware must be"):
        PluginLayer(middlewares=[42])


def test_importing_ailib_plugins_is_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys, ailib.plugins; print(sorted(m for m in sys.modules if m.startswith('ailib.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['ailib.plugins']"  # nothing else loaded
