"""Plugins, hooks and middleware around every call (seed "Plugin System"; README
"Plugins, hooks and middleware")."""

import time

from _target import provider_or_mock

from ailib import AiClient
from ailib.plugins import HookManager, HookType, Middleware, Plugin, PluginContext, PluginRegistry

provider_or_mock("openai")


class LoggingPlugin(Plugin):
    def name(self) -> str:
        return "logging"

    def on_before_request(self, ctx: PluginContext) -> None:  # sync clients: plain def hooks
        print(f"Request to {ctx.model}: {len(ctx.request.messages)} message(s)")

    def on_after_response(self, ctx: PluginContext) -> None:
        print(f"Response received: {ctx.response.content!r}")


class Timer(Middleware):
    def handle(self, ctx, call_next):  # a layer of your own in the call's pipeline
        start = time.perf_counter()
        try:
            return call_next(ctx)
        finally:
            print(f"timer: call took {(time.perf_counter() - start) * 1000:.1f} ms")


registry = PluginRegistry()
registry.register(LoggingPlugin())
hooks = HookManager()
hooks.register(HookType.BEFORE_REQUEST, "log", lambda ctx: print(f"Starting {ctx.model}"))

client = (
    AiClient.builder()
    .model("openai/gpt-4o")
    .with_plugins(registry)
    .with_hooks(hooks)
    .with_middleware(Timer())
    .build()
)
with client:
    print(client.pipeline)
    print(client.chat().user("Hello").execute().content)
