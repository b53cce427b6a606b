"""Plugins, hooks and middleware: your code around every call of a client (sync and async).

Example::

    from ailib import AsyncAiClient
    from ailib.plugins import Plugin, PluginContext, PluginRegistry, HookType, HookManager

    class LoggingPlugin(Plugin):
        def name(self) -> str:
            return "logging"

        async def on_before_request(self, ctx: PluginContext) -> None:
            print(f"Request to {ctx.model}: {ctx.request}")

    registry = PluginRegistry()
    await registry.register(LoggingPlugin())
    client = await AsyncAiClient.builder().model("openai/gpt-4o").with_plugins(registry).build()

Names load lazily: ``import ailib.plugins`` imports nothing else.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Plugin": "ailib.plugins.plugin",
    "Middleware": "ailib.plugins.plugin",
    "HookType": "ailib.plugins.plugin",
    "PluginContext": "ailib.plugins.context",
    "PluginRegistry": "ailib.plugins.registry",
    "HookManager": "ailib.plugins.registry",
    "AsyncPluginLayer": "ailib.plugins._async_layer",
    "PluginLayer": "ailib.plugins._sync_layer",
    "plugin_layer": "ailib.plugins.layer",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ailib.plugins' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return __all__
