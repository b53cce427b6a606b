"""End-to-end: plugins, hooks and middleware on real clients, against the loopback mock server.

Sync and async twins; each client is built as users build it:
``AiClient.builder().model("openai/gpt-4o")...with_plugin(p).build()``.
"""

from __future__ import annotations

import gc
import time
import weakref
from typing import Any

import attrs
import httpx
import pytest

from ailib import AiClient, AsyncAiClient, Message
from ailib.errors import ConfigurationError, RemoteError, StreamInterruptedError
from ailib.plugins import (
    HookManager,
    HookType,
    Middleware,
    Plugin,
    PluginContext,
    PluginRegistry,
)
from ailib.testing import MockServer, Scenario

KEY = "sk-plugin-test-key-123"


class Recorder(Plugin):
    """Records what each hook saw; its before-request hook adds a system message."""

    def __init__(self) -> None:
        self.seen: list[Any] = []

    def name(self) -> str:
        return "recorder"

    def on_before_request(self, ctx: PluginContext) -> None:
        messages = [Message.system("Answer briefly."), *ctx.request.messages]
        ctx.request = attrs.evolve(ctx.request, messages=messages)
        ctx.request.params["temperature"] = 0.3
        self.seen.append(("before", ctx.provider, ctx.model, ctx.attempt))

    def on_after_response(self, ctx: PluginContext) -> None:
        self.seen.append(("after", ctx.response.content, ctx.attempt, ctx.served_by))

    def on_error(self, ctx: PluginContext) -> None:
        self.seen.append(("error", type(ctx.error).__name__, getattr(ctx.error, "code", None)))

    def on_stream_event(self, ctx: PluginContext) -> None:
        if ctx.event.is_content_delta:
            self.seen.append(("event", ctx.event.as_content_delta.content))

    def on_complete(self, ctx: PluginContext) -> None:
        self.seen.append(("complete", ctx.closed_early))


class AsyncRecorder(Recorder):
    """The same, with async hooks (async clients take both)."""

    async def on_before_request(self, ctx: PluginContext) -> None:
        super().on_before_request(ctx)

    async def on_after_response(self, ctx: PluginContext) -> None:
        super().on_after_response(ctx)

    async def on_stream_event(self, ctx: PluginContext) -> None:
        super().on_stream_event(ctx)


def _builder(cls: Any, server: MockServer, plugins: Any, middlewares: Any, hooks: Any) -> Any:
    builder = cls.builder().model("openai/gpt-4o").api_key(KEY).base_url(server.base_url("openai"))
    for plugin in plugins:
        builder = (
            builder.with_plugins(plugin)
            if isinstance(plugin, PluginRegistry)
            else builder.with_plugin(plugin)
        )
    for middleware in middlewares:
        builder = builder.with_middleware(middleware)
    return builder.with_hooks(hooks) if hooks is not None else builder


def _client(
    server: MockServer, *plugins: Any, middlewares: Any = (), hooks: Any = None
) -> AiClient:
    client: AiClient = _builder(AiClient, server, plugins, middlewares, hooks).build()
    return client


async def _aclient(
    server: MockServer, *plugins: Any, middlewares: Any = (), hooks: Any = None
) -> AsyncAiClient:
    client: AsyncAiClient = await _builder(
        AsyncAiClient, server, plugins, middlewares, hooks
    ).build()
    return client


def _check_changed_on_the_wire(server: MockServer) -> None:
    body = server.requests[-1].json()
    assert body["messages"][0] == {"role": "system", "content": "Answer briefly."}
    assert body["messages"][-1] == {"role": "user", "content": "Hello"}
    assert body["temperature"] == 0.3


# ---- chat -----------------------------------------------------------------------------


def test_chat_plugin_changes_the_request_and_sees_the_response_sync(
    mock_server: MockServer,
) -> None:
    plugin = Recorder()
    with _client(mock_server, plugin) as client:
        resp = client.chat().user("Hello").execute()
    assert resp.content == "echo: Hello"
    _check_changed_on_the_wire(mock_server)
    assert plugin.seen == [
        ("before", "openai", "gpt-4o", 0),
        ("after", "echo: Hello", 1, "openai/gpt-4o"),
        ("complete", False),
    ]


async def test_chat_plugin_changes_the_request_and_sees_the_response_async(
    mock_server: MockServer,
) -> None:
    plugin = AsyncRecorder()
    async with await _aclient(mock_server, plugin) as client:
        resp = await client.chat().user("Hello").execute()
    assert resp.content == "echo: Hello"
    _check_changed_on_the_wire(mock_server)
    assert plugin.seen == [
        ("before", "openai", "gpt-4o", 0),
        ("after", "echo: Hello", 1, "openai/gpt-4o"),
        ("complete", False),
    ]


def test_on_error_sees_the_provider_error_sync(mock_server: MockServer) -> None:
    mock_server.push(Scenario(status=400))
    plugin = Recorder()
    with _client(mock_server, plugin) as client, pytest.raises(RemoteError) as caught:
        client.chat().user("Hello").execute()
    assert caught.value.code == "E1001"
    assert plugin.seen[1:] == [("error", "RemoteError", "E1001"), ("complete", False)]


async def test_on_error_sees_the_provider_error_async(mock_server: MockServer) -> None:
    mock_server.push(Scenario(status=400))
    plugin = AsyncRecorder()
    async with await _aclient(mock_server, plugin) as client:
        with pytest.raises(RemoteError) as caught:
            await client.chat().user("Hello").execute()
    assert caught.value.code == "E1001"
    assert plugin.seen[1:] == [("error", "RemoteError", "E1001"), ("complete", False)]


class Refuse(Plugin):
    def name(self) -> str:
        return "guard"

    def on_before_request(self, ctx: PluginContext) -> None:
        raise PermissionError("blocked by policy")


def test_a_refusing_plugin_sends_nothing_sync(mock_server: MockServer) -> None:
    with _client(mock_server, Refuse()) as client, pytest.raises(PermissionError):
        client.chat().user("Hello").execute()
    assert mock_server.requests == []


async def test_a_refusing_plugin_sends_nothing_async(mock_server: MockServer) -> None:
    async with await _aclient(mock_server, Refuse()) as client:
        with pytest.raises(PermissionError):
            await client.chat().user("Hello").execute()
    assert mock_server.requests == []


# ---- middleware -----------------------------------------------------------------------


class Timer(Middleware):
    def name(self) -> str:
        return "timer"

    def handle(self, ctx: PluginContext, call_next: Any) -> Any:
        start = time.monotonic()
        response = call_next(ctx)
        ctx.metadata["seconds"] = time.monotonic() - start
        return response


class AsyncTimer(Middleware):
    def name(self) -> str:
        return "timer"

    async def handle(self, ctx: PluginContext, call_next: Any) -> Any:
        start = time.monotonic()
        response = await call_next(ctx)
        ctx.metadata["seconds"] = time.monotonic() - start
        return response


def test_middleware_and_hooks_on_a_sync_client(mock_server: MockServer) -> None:
    seconds: list[float] = []
    hooks = HookManager()
    hooks.register(HookType.AFTER_RESPONSE, "time", lambda c: seconds.append(c.metadata["seconds"]))
    with _client(mock_server, middlewares=[Timer()], hooks=hooks) as client:
        assert client.chat().user("Hi").execute().content == "echo: Hi"
        assert "plugins[] + hooks[time] + middleware[timer]" in repr(client.pipeline)
    assert len(seconds) == 1 and 0 <= seconds[0] < 60


async def test_middleware_and_hooks_on_an_async_client(mock_server: MockServer) -> None:
    seconds: list[float] = []
    hooks = HookManager()
    hooks.register(HookType.AFTER_RESPONSE, "time", lambda c: seconds.append(c.metadata["seconds"]))
    async with await _aclient(mock_server, middlewares=[AsyncTimer()], hooks=hooks) as client:
        assert (await client.chat().user("Hi").execute()).content == "echo: Hi"
        assert "plugins[] + hooks[time] + middleware[timer]" in repr(client.pipeline)
    assert len(seconds) == 1 and 0 <= seconds[0] < 60


def test_an_async_plugin_on_a_sync_client_is_refused_at_build() -> None:
    builder = AiClient.builder().model("openai/gpt-4o").api_key(KEY).with_plugin(AsyncRecorder())
    with pytest.raises(
        ConfigurationError, match=r"plugin 'recorder' \(on_before_request\) is async"
    ):
        builder.build()


# ---- streams --------------------------------------------------------------------------


def _check_stream_seen(seen: list[Any]) -> None:
    """One event hook call per delta (each word), then after-response, then complete."""
    events = [s[1] for s in seen if s[0] == "event"]
    assert len(events) == 3 and "".join(events) == "one two three"
    assert seen[len(events) :] == [
        ("after", "one two three", 1, "openai/gpt-4o"),
        ("complete", False),
    ]


def test_stream_hooks_sync(mock_server: MockServer) -> None:
    mock_server.push(Scenario(text="one two three"))
    plugin = Recorder()
    with _client(mock_server, plugin) as client:
        with client.chat().user("Hello").stream() as stream:
            text = "".join(e.as_content_delta.content for e in stream if e.is_content_delta)
        assert text == "one two three"
    _check_changed_on_the_wire(mock_server)
    _check_stream_seen(plugin.seen[1:])


async def test_stream_hooks_async(mock_server: MockServer) -> None:
    mock_server.push(Scenario(text="one two three"))
    plugin = AsyncRecorder()
    async with await _aclient(mock_server, plugin) as client:
        async with client.chat().user("Hello").stream() as stream:
            text = "".join([e.as_content_delta.content async for e in stream if e.is_content_delta])
        assert text == "one two three"
    _check_changed_on_the_wire(mock_server)
    _check_stream_seen(plugin.seen[1:])


def test_a_cut_stream_reaches_on_error_sync(mock_server: MockServer) -> None:
    mock_server.push(Scenario(text="a b c d e", cut_after=2))
    plugin = Recorder()
    with _client(mock_server, plugin) as client, pytest.raises(StreamInterruptedError) as caught:
        for _ in client.chat().user("Hello").stream():
            pass
    error = ("error", "StreamInterruptedError", caught.value.code)
    assert plugin.seen[-2:] == [error, ("complete", False)]


async def test_a_cut_stream_reaches_on_error_async(mock_server: MockServer) -> None:
    mock_server.push(Scenario(text="a b c d e", cut_after=2))
    plugin = AsyncRecorder()
    async with await _aclient(mock_server, plugin) as client:
        with pytest.raises(StreamInterruptedError) as caught:
            async for _ in client.chat().user("Hello").stream():
                pass
    error = ("error", "StreamInterruptedError", caught.value.code)
    assert plugin.seen[-2:] == [error, ("complete", False)]


def test_a_stream_closed_early_sync(mock_server: MockServer) -> None:
    mock_server.push(Scenario(text="a b c d e f g h"))
    plugin = Recorder()
    with _client(mock_server, plugin) as client, client.chat().user("Hello").stream() as stream:
        for _ in stream:
            break
    assert plugin.seen[-1] == ("complete", True)
    assert not any(seen[0] in ("after", "error") for seen in plugin.seen)


async def test_a_stream_closed_early_async(mock_server: MockServer) -> None:
    mock_server.push(Scenario(text="a b c d e f g h"))
    plugin = AsyncRecorder()
    async with (
        await _aclient(mock_server, plugin) as client,
        client.chat().user("Hello").stream() as stream,
    ):
        async for _ in stream:
            break
    assert plugin.seen[-1] == ("complete", True)
    assert not any(seen[0] in ("after", "error") for seen in plugin.seen)


class Censor(Plugin):
    def name(self) -> str:
        return "censor"

    def on_stream_event(self, ctx: PluginContext) -> None:
        if ctx.event.is_content_delta and "secret" in ctx.event.as_content_delta.content:
            raise ValueError("censored word in the stream")


def test_an_event_hook_that_raises_fails_the_stream_sync(mock_server: MockServer) -> None:
    mock_server.push(Scenario(text="public secret public"))
    got: list[str] = []
    with _client(mock_server, Censor()) as client, pytest.raises(ValueError, match="censored"):
        for event in client.chat().user("Hello").stream():
            if event.is_content_delta:
                got.append(event.as_content_delta.content)
    assert got == ["public"]  # the event that made the hook raise never reached the caller


async def test_an_event_hook_that_raises_fails_the_stream_async(mock_server: MockServer) -> None:
    mock_server.push(Scenario(text="public secret public"))
    got: list[str] = []
    async with await _aclient(mock_server, Censor()) as client:
        with pytest.raises(ValueError, match="censored"):
            async for event in client.chat().user("Hello").stream():
                if event.is_content_delta:
                    got.append(event.as_content_delta.content)
    assert got == ["public"]


# ---- one registry shared by a sync and an async client ---------------------------------


async def test_one_registry_shared_by_a_sync_and_an_async_client(mock_server: MockServer) -> None:
    registry = PluginRegistry()
    plugin = Recorder()
    await registry.register(plugin)
    with _client(mock_server, registry) as sync:
        sync.chat().user("Hello").execute()
    async with await _aclient(mock_server, registry) as asyn:
        await asyn.chat().user("Hello").execute()
    assert [s[0] for s in plugin.seen] == ["before", "after", "complete"] * 2
    registry.unregister("recorder")
    with _client(mock_server, registry) as sync:
        sync.chat().user("Hello").execute()
    assert len(plugin.seen) == 6


# ---- an on_error hook raising on a failed stream --------------------------------------


class Translate(Plugin):
    def name(self) -> str:
        return "translate"

    def on_error(self, ctx: PluginContext) -> None:
        raise LookupError("translated")


def test_an_on_error_hook_raising_on_a_failed_stream_sync(mock_server: MockServer) -> None:
    mock_server.push(Scenario(text="a b c d e", cut_after=2))
    with _client(mock_server, Translate()) as client, pytest.raises(LookupError) as caught:
        for _ in client.chat().user("Hello").stream():
            pass
    assert isinstance(caught.value.__cause__, StreamInterruptedError)


async def test_an_on_error_hook_raising_on_a_failed_stream_async(mock_server: MockServer) -> None:
    mock_server.push(Scenario(text="a b c d e", cut_after=2))
    async with await _aclient(mock_server, Translate()) as client:
        with pytest.raises(LookupError) as caught:
            async for _ in client.chat().user("Hello").stream():
                pass
    assert isinstance(caught.value.__cause__, StreamInterruptedError)


# ---- review: another model, several hook managers, nothing kept alive ---------------------


class Downgrade(Plugin):
    """Routes every call to a smaller model of the same provider."""

    def name(self) -> str:
        return "downgrade"

    def on_before_request(self, ctx: PluginContext) -> None:
        ctx.request = attrs.evolve(ctx.request, model="gpt-4o-mini")


class DowngradeMiddleware(Middleware):
    def handle(self, ctx: Any, call_next: Any) -> Any:
        ctx.request = attrs.evolve(ctx.request, model="gpt-4o-mini")
        return call_next(ctx)


def test_a_plugin_that_changes_the_model_sends_the_call_there_sync(
    mock_server: MockServer,
) -> None:
    with _client(mock_server, Downgrade()) as client:
        resp = client.chat().user("Hello").execute()
        assert mock_server.requests[-1].json()["model"] == "gpt-4o-mini"
        assert resp.served_by == "openai/gpt-4o-mini"
        with client.chat().user("Hello").stream() as stream:
            list(stream)
        assert mock_server.requests[-1].json()["model"] == "gpt-4o-mini"
        assert stream.final_response().served_by == "openai/gpt-4o-mini"
    with _client(mock_server, middlewares=[DowngradeMiddleware()]) as client:
        assert client.chat().user("Hello").execute().served_by == "openai/gpt-4o-mini"
        assert mock_server.requests[-1].json()["model"] == "gpt-4o-mini"


async def test_a_plugin_that_changes_the_model_sends_the_call_there_async(
    mock_server: MockServer,
) -> None:
    async with await _aclient(mock_server, Downgrade()) as client:
        resp = await client.chat().user("Hello").execute()
        assert mock_server.requests[-1].json()["model"] == "gpt-4o-mini"
        assert resp.served_by == "openai/gpt-4o-mini"
        async with client.chat().user("Hello").stream() as stream:
            async for _ in stream:
                pass
        assert mock_server.requests[-1].json()["model"] == "gpt-4o-mini"


def _two_managers(seen: list[str]) -> tuple[HookManager, HookManager]:
    first, second = HookManager(), HookManager()
    first.register(HookType.BEFORE_REQUEST, "first", lambda ctx: seen.append("first"))
    second.register(HookType.BEFORE_REQUEST, "second", lambda ctx: seen.append("second"))
    return first, second


def test_every_hook_manager_given_runs_sync(mock_server: MockServer) -> None:
    seen: list[str] = []
    first, second = _two_managers(seen)
    builder = AiClient.builder().model("openai/gpt-4o").api_key(KEY)
    builder = builder.base_url(mock_server.base_url("openai")).with_hooks(first).with_hooks(second)
    with builder.build() as client:
        client.chat().user("Hello").execute()
        assert "hooks[first, second]" in repr(client.pipeline)
    assert seen == ["first", "second"]
    with pytest.raises(ConfigurationError, match="given twice"):
        AiClient.builder().model("openai/gpt-4o").api_key(KEY).with_hooks(first).with_hooks(
            first
        ).build()


async def test_every_hook_manager_given_runs_async(mock_server: MockServer) -> None:
    seen: list[str] = []
    first, second = _two_managers(seen)
    builder = AsyncAiClient.builder().model("openai/gpt-4o").api_key(KEY)
    builder = builder.base_url(mock_server.base_url("openai")).with_hooks(first).with_hooks(second)
    async with await builder.build() as client:
        await client.chat().user("Hello").execute()
    assert seen == ["first", "second"]


class KeepContext(Middleware):
    """Keeps a weak reference to each call's context."""

    def __init__(self) -> None:
        self.refs: list[Any] = []

    def handle(self, ctx: Any, call_next: Any) -> Any:
        self.refs.append(weakref.ref(ctx.call))
        return call_next(ctx)


def test_a_finished_stream_with_event_hooks_keeps_nothing_alive(mock_server: MockServer) -> None:
    """Without the cycle collector: the call's context (and its response) goes with the
    last reference to the stream, event hooks and all."""
    keep = KeepContext()
    with _client(mock_server, Recorder(), middlewares=[keep]) as client:
        gc.disable()
        try:
            stream = client.chat().user("one two").stream()
            with stream:
                for _ in stream:
                    pass
            del stream
            assert keep.refs[-1]() is None
        finally:
            gc.enable()


class ForgetsToReturn(Middleware):
    def handle(self, ctx: Any, call_next: Any) -> Any:
        call_next(ctx)  # the stream it opened is dropped


class OpensTwice(Middleware):
    def handle(self, ctx: Any, call_next: Any) -> Any:
        call_next(ctx)  # opened, then thrown away
        return call_next(ctx)


class AsyncForgetsToReturn(Middleware):
    async def handle(self, ctx: Any, call_next: Any) -> Any:
        await call_next(ctx)


def _checked_out(http: httpx.Client | httpx.AsyncClient) -> int:
    pool = http._transport._pool  # type: ignore[union-attr]
    busy = [c for c in pool.connections if not (c.is_idle() or c.is_closed())]
    return len(pool._requests) + len(busy)


def test_a_stream_middleware_that_drops_the_response_is_refused_and_closed_sync(
    mock_server: MockServer,
) -> None:
    with httpx.Client() as http:
        builder = AiClient.builder().model("openai/gpt-4o").api_key(KEY).max_inflight(1)
        builder = builder.base_url(mock_server.base_url("openai")).option("http_client", http)
        with builder.with_middleware(ForgetsToReturn()).build() as client:
            with (
                pytest.raises(ConfigurationError, match="returned NoneType for a stream"),
                client.chat().user("a b").stream() as stream,
            ):
                list(stream)
            assert client.current_inflight == 0 and _checked_out(http) == 0
        builder = AiClient.builder().model("openai/gpt-4o").api_key(KEY).option("http_client", http)
        builder = builder.base_url(mock_server.base_url("openai"))
        with builder.with_middleware(OpensTwice()).build() as client:
            with client.chat().user("a b").stream() as stream:
                text = "".join(e.as_content_delta.content for e in stream if e.is_content_delta)
            assert text == "echo: a b" and _checked_out(http) == 0


async def test_a_stream_middleware_that_drops_the_response_is_refused_and_closed_async(
    mock_server: MockServer,
) -> None:
    async with httpx.AsyncClient() as http:
        builder = AsyncAiClient.builder().model("openai/gpt-4o").api_key(KEY).max_inflight(1)
        builder = builder.base_url(mock_server.base_url("openai")).option("http_client", http)
        async with await builder.with_middleware(AsyncForgetsToReturn()).build() as client:
            with pytest.raises(ConfigurationError, match="returned NoneType for a stream"):
                async with client.chat().user("a b").stream():
                    pass
            assert client.current_inflight == 0 and _checked_out(http) == 0
