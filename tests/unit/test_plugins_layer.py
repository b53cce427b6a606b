"""The plugin layer through the pipeline (sync and async twins, a fake engine)."""

from __future__ import annotations

import sys
import time
from typing import Any

import attrs
import pytest

from ailib.errors import ConfigurationError, InvalidRequestError, RemoteError
from ailib.plugins import HookManager, HookType, Middleware, PluginContext, PluginRegistry
from ailib.types.events import ContentDelta
from ailib.types.messages import Message
from ailib.types.response import ChatResponse
from tests.unit.test_plugins_helpers import OPENED, World, chat_request


@pytest.fixture(params=[False, True], ids=["sync", "async"])
def world(request: pytest.FixtureRequest) -> World:
    return World(request.param)


def server_error() -> RemoteError:
    return RemoteError("upstream broke", code="E3001", status=500)


def notes(exc: BaseException) -> list[str]:
    return list(getattr(exc, "__notes__", []))


# ---- order and what hooks see ---------------------------------------------------------


async def test_hooks_run_around_the_call_in_order(world: World) -> None:
    seen: list[str] = []
    first = world.plugin(
        "first",
        before=lambda c: seen.append(f"before first attempt={c.attempt}"),
        after=lambda c: seen.append(f"after first {c.response.content} attempt={c.attempt}"),
        complete=lambda c: seen.append("complete first"),
    )
    second = world.plugin("second", before=lambda c: seen.append("before second"))
    hooks = HookManager()
    hooks.register(HookType.BEFORE_REQUEST, "log", world.hook(lambda c: seen.append("hook")))
    layer = world.layer([first, second], hooks=hooks)

    response = await world.call(layer)

    assert response.content == "echo: hi"
    assert seen == [
        "before first attempt=0",
        "before second",
        "hook",
        "after first echo: hi attempt=1",
        "complete first",
    ]


async def test_after_response_sees_model_provider_served_by_and_metadata(world: World) -> None:
    seen: dict[str, Any] = {}

    def before(ctx: PluginContext) -> None:
        ctx.metadata["tag"] = "t1"

    def after(ctx: PluginContext) -> None:
        seen.update(
            model=ctx.model,
            provider=ctx.provider,
            served=ctx.served_by,
            tag=ctx.metadata["tag"],
            elapsed=ctx.elapsed,
            operation=ctx.operation,
        )

    ctx = world.context()
    await world.call(world.layer(world.plugin("p", before=before, after=after)), ctx=ctx)

    assert seen["model"] == "gpt-4o" and seen["provider"] == "fake"
    assert seen["served"] == "fake/gpt-4o" and seen["operation"] == "chat"
    assert seen["tag"] == "t1" and ctx.metadata["tag"] == "t1"  # the call's own dict
    assert 0 <= seen["elapsed"] < 60


async def test_a_replaced_request_is_what_is_sent(world: World) -> None:
    def redact(ctx: PluginContext) -> None:
        ctx.request = attrs.evolve(ctx.request, messages=[Message.user("[redacted]")])

    response = await world.call(world.layer(world.plugin("redact", before=redact)))

    assert [m.content for m in world.engine.sent[0].messages] == ["[redacted]"]
    assert response.content == "echo: [redacted]"


async def test_a_request_changed_in_place_is_what_is_sent(world: World) -> None:
    """The engine prepared the request before the plugins ran; the layer prepares it again."""

    def tweak(ctx: PluginContext) -> None:
        ctx.request.messages.append(Message.user("second"))
        ctx.request.params["temperature"] = 0.1

    ctx = world.context(request=chat_request("first", temperature=0.9))
    prepares = world.engine.prepares
    await world.call(world.layer(world.plugin("tweak", before=tweak)), ctx=ctx)

    sent = world.engine.sent[0]
    assert [m.content for m in sent.messages] == ["first", "second"]
    assert sent.params == {"temperature": 0.1}
    assert world.engine.prepares == prepares + 1


async def test_a_request_that_is_not_a_chat_request_is_refused(world: World) -> None:
    def bad(ctx: PluginContext) -> None:
        ctx.request = {"messages": []}

    with pytest.raises(InvalidRequestError, match="must be a ChatRequest"):
        await world.call(world.layer(world.plugin("bad", before=bad)))
    assert world.engine.sent == []


# ---- failures -------------------------------------------------------------------------


async def test_on_error_sees_the_error_and_the_call_raises_it(world: World) -> None:
    seen: list[Any] = []
    world.engine.fail = failure = server_error()
    plugin = world.plugin(
        "watch",
        after=lambda c: seen.append("after"),
        error=lambda c: seen.append(c.error),
        complete=lambda c: seen.append(("complete", c.error)),
    )

    with pytest.raises(RemoteError) as caught:
        await world.call(world.layer(plugin))

    assert caught.value is failure
    assert seen == [failure, ("complete", failure)]


async def test_a_plugin_that_raises_before_the_request_fails_the_call(world: World) -> None:
    class Refused(Exception):
        pass

    def refuse(ctx: PluginContext) -> None:
        raise Refused("no PII allowed")

    seen: list[Any] = []
    guard = world.plugin("guard", before=refuse, error=lambda c: seen.append(c.error))
    later = world.plugin("later", before=lambda c: seen.append("later ran"))

    with pytest.raises(Refused) as caught:
        await world.call(world.layer([guard, later]))

    assert world.engine.sent == []  # nothing sent
    assert seen == [caught.value]  # the later hook did not run; on_error saw the refusal
    if sys.version_info >= (3, 11):
        assert notes(caught.value) == [
            "raised by plugin 'guard' (on_before_request) (ailib plugins)"
        ]


async def test_a_plugin_that_raises_after_the_response_fails_the_call(world: World) -> None:
    seen: list[Any] = []

    def broken(ctx: PluginContext) -> None:
        raise ValueError("audit store down")

    plugin = world.plugin(
        "audit", after=broken, error=lambda c: seen.append((c.error, c.response.content))
    )

    with pytest.raises(ValueError, match="audit store down") as caught:
        await world.call(world.layer(plugin))

    assert seen == [(caught.value, "echo: hi")]
    assert len(world.engine.sent) == 1


async def test_a_raising_on_error_hook_replaces_the_error_chained(world: World) -> None:
    """Every on_error hook runs and sees the original error; the first raise wins."""

    class AppError(Exception):
        pass

    def translate(ctx: PluginContext) -> None:
        raise AppError(f"translated {ctx.error.code}")

    seen: list[Any] = []
    world.engine.fail = original = server_error()
    layer = world.layer(
        [
            world.plugin("translate", error=translate),
            world.plugin("log", error=lambda c: seen.append(c.error)),
        ]
    )

    with pytest.raises(AppError, match="translated E3001") as caught:
        await world.call(layer)

    assert caught.value.__cause__ is original
    assert seen == [original]


async def test_an_on_error_hook_reraising_the_error_keeps_it(world: World) -> None:
    def reraise(ctx: PluginContext) -> None:
        assert ctx.error is not None
        raise ctx.error

    world.engine.fail = original = server_error()
    with pytest.raises(RemoteError) as caught:
        await world.call(world.layer(world.plugin("reraise", error=reraise)))
    assert caught.value is original
    assert notes(original) == []


async def test_on_complete_always_runs_and_its_error_fails_the_call(world: World) -> None:
    def broken(ctx: PluginContext) -> None:
        raise RuntimeError("metrics down")

    seen: list[str] = []
    layer = world.layer(
        [
            world.plugin("metrics", complete=broken, after=lambda c: seen.append("after")),
            world.plugin("other", complete=lambda c: seen.append("other complete")),
        ]
    )

    with pytest.raises(RuntimeError, match="metrics down"):
        await world.call(layer)
    assert seen == ["after", "other complete"]


# ---- middleware -----------------------------------------------------------------------


def timer(world: World, log: list[str]) -> Any:
    if world.asynchronous:

        class AsyncTimer(Middleware):
            def name(self) -> str:
                return "timer"

            async def handle(self, ctx: PluginContext, call_next: Any) -> Any:
                start = time.monotonic()
                log.append("timer in")
                try:
                    return await call_next(ctx)
                finally:
                    ctx.metadata["seconds"] = time.monotonic() - start
                    log.append("timer out")

        return AsyncTimer()

    class Timer(Middleware):
        def name(self) -> str:
            return "timer"

        def handle(self, ctx: PluginContext, call_next: Any) -> Any:
            start = time.monotonic()
            log.append("timer in")
            try:
                return call_next(ctx)
            finally:
                ctx.metadata["seconds"] = time.monotonic() - start
                log.append("timer out")

    return Timer()


def function_middleware(world: World, name: str, log: list[str], *, text: str | None = None) -> Any:
    """A middleware written as a function; ``text`` replaces the user's message."""

    def change(ctx: PluginContext) -> None:
        log.append(f"{name} in")
        if text is not None:
            ctx.request.messages[-1] = Message.user(text)

    if world.asynchronous:

        async def amiddleware(ctx: PluginContext, call_next: Any) -> Any:
            change(ctx)
            return await call_next(ctx)

        amiddleware.__name__ = name
        return amiddleware

    def middleware(ctx: PluginContext, call_next: Any) -> Any:
        change(ctx)
        return call_next(ctx)

    middleware.__name__ = name
    return middleware


async def test_middlewares_wrap_the_call_first_outermost(world: World) -> None:
    log: list[str] = []
    plugin = world.plugin(
        "p", before=lambda c: log.append("before"), after=lambda c: log.append("after")
    )
    rewrite = function_middleware(world, "rewrite", log, text="rewritten")
    layer = world.layer(plugin, middlewares=[timer(world, log), rewrite])
    ctx = world.context()

    response = await world.call(layer, ctx=ctx)

    assert log == ["before", "timer in", "rewrite in", "timer out", "after"]
    assert response.content == "echo: rewritten"
    assert world.engine.sent[0].messages[-1].content == "rewritten"
    assert ctx.metadata["seconds"] >= 0
    assert repr(world.pipeline(layer)).startswith(
        f"{'Async' if world.asynchronous else ''}Pipeline(per call: "
        "plugins[p] + middleware[timer, rewrite]"
    )


async def test_a_middleware_can_answer_a_chat_call_in_place(world: World) -> None:
    cached = ChatResponse(content="from cache")

    def answer(ctx: PluginContext, call_next: Any) -> Any:
        return cached

    seen: list[Any] = []
    layer = world.layer(world.plugin("p", after=lambda c: seen.append(c.response)), [answer])

    assert await world.call(layer) is cached
    assert world.engine.sent == []
    assert seen == [cached]


async def test_a_middleware_answer_must_be_a_chat_response(world: World) -> None:
    def wrong(ctx: PluginContext, call_next: Any) -> Any:
        return "a string"

    with pytest.raises(ConfigurationError, match="returned str for a chat call"):
        await world.call(world.layer(middlewares=[wrong]))


async def test_a_middleware_that_raises_fails_the_call_named(world: World) -> None:
    def deny(ctx: PluginContext, call_next: Any) -> Any:
        raise PermissionError("budget exceeded")

    seen: list[Any] = []
    layer = world.layer(world.plugin("p", error=lambda c: seen.append(c.error)), [deny])

    with pytest.raises(PermissionError) as caught:
        await world.call(layer)
    assert seen == [caught.value] and world.engine.sent == []
    if sys.version_info >= (3, 11):
        assert notes(caught.value) == ["raised by middleware 'deny' (ailib plugins)"]


async def test_an_error_passed_up_through_middleware_is_not_blamed_on_it(world: World) -> None:
    log: list[str] = []
    world.engine.fail = original = server_error()
    with pytest.raises(RemoteError) as caught:
        await world.call(world.layer(middlewares=[timer(world, log)]))
    assert caught.value is original and notes(original) == []
    assert log == ["timer in", "timer out"]


# ---- what passes through; sharing ---------------------------------------------------


async def test_a_post_call_is_seen_and_keeps_its_body(world: World) -> None:
    seen: list[str] = []
    layer = world.layer(world.plugin("p", before=lambda c: seen.append(c.operation)))
    ctx = world.context("post")
    body, _headers = await world.run(world.pipeline(layer), ctx)
    assert body == {"posted": {"input": "text"}}  # sent as prepared: no chat request to redo
    assert seen == ["post"]


async def test_a_shared_registry_is_read_live_by_every_client(world: World) -> None:
    registry = PluginRegistry()
    first, second = world.layer(registry), world.layer(registry)
    await world.call(first)
    seen: list[str] = []
    registry.register(world.plugin("late", before=lambda c: seen.append(c.model)))

    await world.call(first)
    await world.call(second)
    assert seen == ["gpt-4o", "gpt-4o"]
    assert first.describe() == "plugins[late]"

    registry.unregister("late")
    await world.call(second)
    assert seen == ["gpt-4o", "gpt-4o"]
    assert first.describe() == "plugins[]"


async def test_one_name_twice_on_a_client_is_refused(world: World) -> None:
    registry = PluginRegistry([world.plugin("audit")])
    with pytest.raises(ConfigurationError, match="'audit' is given twice"):
        world.layer([registry, world.plugin("audit")])


# ---- streams --------------------------------------------------------------------------


async def test_stream_hooks_see_each_event_then_the_response(world: World) -> None:
    seen: list[Any] = []
    plugin = world.plugin(
        "watch",
        event=lambda c: seen.append(c.event.content),
        after=lambda c: seen.append(("after", c.response.content, c.event)),
        complete=lambda c: seen.append("complete"),
    )
    pipeline = world.pipeline(world.layer(plugin))
    ctx = world.context("stream")

    assert await world.open(pipeline, ctx) is OPENED
    assert seen == []  # nothing before the events: the outcome comes with the stream's end
    await world.deliver(ctx, [ContentDelta("Hel"), ContentDelta("lo")])

    assert seen == ["Hel", "lo", ("after", "Hello", None), "complete"]


async def test_a_stream_that_fails_midway_reaches_on_error(world: World) -> None:
    seen: list[Any] = []
    plugin = world.plugin(
        "watch", after=lambda c: seen.append("after"), error=lambda c: seen.append(c.error)
    )
    pipeline = world.pipeline(world.layer(plugin))
    ctx = world.context("stream")
    await world.open(pipeline, ctx)
    cut = server_error()

    with pytest.raises(RemoteError):
        await world.deliver(ctx, [ContentDelta("a")], fail=cut)
    assert seen == [cut]


async def test_a_stream_that_fails_to_open_reaches_on_error(world: World) -> None:
    seen: list[Any] = []
    world.engine.fail = original = server_error()
    pipeline = world.pipeline(world.layer(world.plugin("w", error=lambda c: seen.append(c.error))))
    with pytest.raises(RemoteError):
        await world.open(pipeline, world.context("stream"))
    assert seen == [original]


async def test_a_stream_closed_early_gets_only_on_complete(world: World) -> None:
    seen: list[Any] = []
    plugin = world.plugin(
        "watch",
        after=lambda c: seen.append("after"),
        error=lambda c: seen.append("error"),
        complete=lambda c: seen.append(("complete", c.closed_early)),
    )
    pipeline = world.pipeline(world.layer(plugin))
    ctx = world.context("stream")
    await world.open(pipeline, ctx)
    await world.close_early(ctx)
    assert seen == [("complete", True)]


async def test_an_event_hook_that_raises_fails_the_stream(world: World) -> None:
    def stop(ctx: PluginContext) -> None:
        if ctx.event.content == "bad":
            raise ValueError("forbidden word")

    seen: list[Any] = []
    plugin = world.plugin("filter", event=stop, error=lambda c: seen.append(c.error))
    pipeline = world.pipeline(world.layer(plugin))
    ctx = world.context("stream")
    await world.open(pipeline, ctx)

    with pytest.raises(ValueError, match="forbidden word") as caught:
        await world.deliver(ctx, [ContentDelta("ok"), ContentDelta("bad"), ContentDelta("x")])
    assert seen == [caught.value]


async def test_a_middleware_cannot_answer_a_stream_in_place(world: World) -> None:
    def answer(ctx: PluginContext, call_next: Any) -> Any:
        return ChatResponse(content="cached")

    pipeline = world.pipeline(world.layer(middlewares=[answer]))
    with pytest.raises(ConfigurationError, match="only a chat call can be answered"):
        await world.open(pipeline, world.context("stream"))


async def test_a_middleware_alone_changing_the_request_in_place_is_sent(world: World) -> None:
    """No before-request hook here: the layer still prepares the request again."""
    log: list[str] = []
    rewrite = function_middleware(world, "rewrite", log, text="changed by middleware")
    await world.call(world.layer(middlewares=[rewrite]))
    assert world.engine.sent[0].messages[-1].content == "changed by middleware"
