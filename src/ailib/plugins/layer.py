"""One constructor for the plugin layer of a sync or an async client (what the builder calls)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ailib.plugins._async_layer import AsyncPluginLayer
    from ailib.plugins._sync_layer import PluginLayer
    from ailib.plugins.registry import HookManager


def plugin_layer(
    *,
    asynchronous: bool,
    plugins: Iterable[Any] = (),
    middlewares: Iterable[Any] = (),
    hooks: HookManager | Iterable[HookManager] | None = None,
) -> AsyncPluginLayer | PluginLayer:
    """The layer for ``plugins`` (Plugins and PluginRegistries, in order), ``middlewares``
    and ``hooks`` (HookManagers, in order): an AsyncPluginLayer or a PluginLayer. Raises
    ConfigurationError for an async hook or middleware given to a sync client, a duplicate
    name, or a bad object.

    Example::

        layer = plugin_layer(asynchronous=False, plugins=[AuditPlugin(), registry])
    """
    if asynchronous:
        from ailib.plugins._async_layer import AsyncPluginLayer

        return AsyncPluginLayer(list(plugins), middlewares, hooks)
    from ailib.plugins._sync_layer import PluginLayer

    return PluginLayer(list(plugins), middlewares, hooks)
