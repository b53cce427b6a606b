"""Plugins and hooks, async: the seed's manual triggers and the same plugin around every
call (seed "Plugin System"; README "Plugins, hooks and middleware")."""

import asyncio

from _target import provider_or_mock

from ailib import AsyncAiClient
from ailib.plugins import HookManager, HookType, Plugin, PluginContext, PluginRegistry

provider_or_mock("openai")


class LoggingPlugin(Plugin):
    def name(self) -> str:
        return "logging"

    async def on_before_request(self, ctx: PluginContext) -> None:
        print(f"Request to {ctx.model}: {ctx.request}")

    async def on_after_response(self, ctx: PluginContext) -> None:
        print(f"Response received: {ctx.response.content!r}")


async def main() -> None:
    registry = PluginRegistry()
    await registry.register(LoggingPlugin())

    hooks = HookManager()
    hooks.register(HookType.BEFORE_REQUEST, "log", lambda ctx: print(f"Starting {ctx.model}"))

    # trigger hooks by hand, as in the seed
    ctx = PluginContext(model="gpt-4o", request={"messages": []})
    await registry.trigger_before_request(ctx)

    # or let every call of a client run them
    client = await (
        AsyncAiClient.builder()
        .model("openai/gpt-4o")
        .with_plugins(registry)
        .with_hooks(hooks)
        .build()
    )
    async with client:
        response = await client.chat().user("Hello").execute()
        print(response.content)


asyncio.run(main())
