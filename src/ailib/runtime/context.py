"""What every layer of the request pipeline sees: the call's context and its target.

A user call (``execute()``, ``stream()``, an embedding or a token count) becomes one
:class:`CallContext` that travels down the chain of layers (see
``runtime/_async_pipeline.py``) to the engine's single attempt and back. Layers read and
change it: plugins may replace ``request``, fallback swaps ``target``, retry counts
``attempt``; layers that care about the final outcome register :meth:`when_done`.

No I/O here: one source for the sync and the async pipeline.

Example::

    ctx = CallContext("chat", Target(engine, "gpt-4o"), request=req)
    ctx.when_done(lambda c: print("finished", c.error or c.response))
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from enum import IntEnum
from typing import TYPE_CHECKING, Any, Protocol

import attrs

if TYPE_CHECKING:
    from ailib.dialects import ChatRequest
    from ailib.runtime.request import Prepared
    from ailib.types.response import ChatResponse


class Stage(IntEnum):
    """Where a layer sits in the chain; lower runs first (outermost).

    Per call (once per user call): plugins, cache, telemetry, fallback, backpressure and
    the capability preflight. Per attempt (each HTTP attempt, inside retry): the
    attempt's telemetry, the circuit breaker and the rate limiter, then the engine.
    """

    PLUGINS = 100
    CACHE = 200
    TELEMETRY = 300
    FALLBACK = 400
    BACKPRESSURE = 500
    PREFLIGHT = 550
    RETRY = 600  # everything from here on runs once per attempt
    TELEMETRY_ATTEMPT = 650
    CIRCUIT_BREAKER = 700
    RATE_LIMIT = 800


#: the first stage that runs once per attempt rather than once per call
PER_ATTEMPT = Stage.RETRY

#: the operations that carry a chat request (the others: a provider's own endpoint)
CHAT_OPERATIONS = ("chat", "stream")

#: ``ctx.metadata`` key naming the provider endpoint of a "post"/"get" call made by the
#: client (``"embeddings"``, ``"count_tokens"``, ``"list_models"``)
ENDPOINT = "endpoint"

#: monotonic time by which calls started in this context must end, or None; set by a
#: batch item with a timeout (ailib.batch) so the calls inside end on their own by it
CALL_ENDS_AT: ContextVar[float | None] = ContextVar("ailib_call_ends_at", default=None)


class EngineLike(Protocol):
    """What the pipeline needs of an engine (``AsyncEngine`` or ``SyncEngine``)."""

    base_url: str

    @property
    def spec(self) -> Any: ...

    def prepare(self, req: ChatRequest) -> Prepared: ...


@attrs.define(eq=False)
class Target:
    """One place a call can be served: an engine (provider + base URL) and a model.

    ``key`` names it for per-target state (breaker, limiter):
    ``"openai|https://api.openai.com/v1|gpt-4o"``.
    """

    engine: Any
    model: str

    @property
    def provider(self) -> str:
        return str(self.engine.spec.id)

    @property
    def label(self) -> str:
        """``provider/model``, as users write it."""
        return f"{self.provider}/{self.model}"

    @property
    def key(self) -> str:
        return f"{self.provider}|{self.engine.base_url}|{self.model}"


@attrs.define(eq=False)
class Hop:
    """One target the call tried (or skipped) before the one that served it."""

    target: str
    reason: str
    code: str | None = None
    sent: bool = True


OutcomeHook = Callable[["CallContext"], "Awaitable[None] | None"]


@attrs.define(eq=False)
class CallContext:
    """One user call on its way through the pipeline.

    * ``operation``: ``"chat"``, ``"stream"``, ``"post"`` (embeddings, token counts) or
      ``"get"`` (model listing); ``metadata[ENDPOINT]`` names a post's or get's endpoint;
    * ``request``: the provider-neutral :class:`~ailib.dialects.ChatRequest` (chat and
      stream); ``payload``/``path``: the JSON body and path of a ``post``;
    * ``target``: where the call goes now (fallback changes it);
    * ``attempt``: HTTP attempts started so far, over all targets;
    * ``response`` / ``error``: the outcome once known; ``closed_early``: a stream the
      caller closed (or cancelled) before its end;
    * ``hops``: targets tried before the one that served the call (``served_by``);
    * ``metadata``: free room for layers and plugins;
    * ``event_hooks``: ``hook(ctx, event)`` for each event a stream delivers to the caller;
    * ``cancel_token``: a :class:`~ailib.client.CancelToken` watching the call: once it is
      cancelled no further attempt is sent (the call ends closed early, not failed);
    * ``primer``: a stream's reader of its first event, run inside each attempt after the
      engine opened the response, so an error before the first event fails the attempt
      (and the layers retry it or fall back) rather than the caller's loop.
    """

    operation: str
    target: Target
    request: ChatRequest | None = None
    payload: dict[str, Any] | None = None
    path: str = ""
    attempt: int = 0
    retries: int = 0
    response: ChatResponse | None = None
    result: Any = None
    error: BaseException | None = None
    closed_early: bool = False
    first_event_sent: bool = False
    served_by: str | None = None
    hops: list[Hop] = attrs.field(factory=list)
    metadata: dict[str, Any] = attrs.field(factory=dict)
    started_at: float = attrs.field(factory=time.monotonic)
    #: monotonic time by which the whole call must end (a retry total timeout), or None
    ends_at: float | None = attrs.field(factory=CALL_ENDS_AT.get)
    _prepared: dict[int, Prepared] = attrs.field(factory=dict, repr=False)
    _done_hooks: list[OutcomeHook] = attrs.field(factory=list, repr=False)
    #: called with (ctx, event) for each event a stream delivers to the caller
    event_hooks: list[Callable[[CallContext, Any], Awaitable[None] | None]] = attrs.field(
        factory=list, repr=False
    )
    finished: bool = False
    cancel_token: Any = attrs.field(default=None, repr=False)
    primer: Any = attrs.field(default=None, repr=False)

    @property
    def stream(self) -> bool:
        return self.operation == "stream"

    @property
    def model(self) -> str:
        """The model of the current target."""
        return self.target.model

    def prepared(self) -> Prepared:
        """The request in the current target's dialect (built once per target)."""
        key = id(self.target)
        found = self._prepared.get(key)
        if found is None:
            if self.request is None:
                raise RuntimeError(f"a {self.operation!r} call has no chat request to prepare")
            request = self.request
            if request.model != self.target.model or request.stream != self.stream:
                request = attrs.evolve(request, model=self.target.model, stream=self.stream)
            found = self._prepared[key] = self.target.engine.prepare(request)
        return found

    def set_prepared(self, prepared: Prepared) -> None:
        """Use ``prepared`` for the current target (a post's URL and body)."""
        self._prepared[id(self.target)] = prepared

    def forget_prepared(self) -> None:
        """Drop the prepared requests (a layer changed ``request`` after they were built)."""
        self._prepared.clear()

    def when_done(self, hook: OutcomeHook) -> None:
        """Run ``hook(ctx)`` once the call's outcome is final.

        For a plain call that is when the pipeline returns or raises; for a stream, when
        it ends, fails or is closed early (``ctx.closed_early``). Hooks run innermost
        first (the order they were registered); an async client awaits hooks that return
        an awaitable. A hook registered after the outcome is final runs at once (sync).
        """
        if self.finished:
            hook(self)
        else:
            self._done_hooks.append(hook)

    def take_done_hooks(self) -> list[OutcomeHook]:
        """The hooks to run now (each runs once); marks the outcome final.

        The event hooks go too: no event comes after the outcome, and a hook holding the
        context (a plugin's view of the call) would keep it, and its response, alive.
        """
        hooks, self._done_hooks = self._done_hooks, []
        self.event_hooks = []
        self.finished = True
        return hooks

    def elapsed(self) -> float:
        """Seconds since the call started."""
        return time.monotonic() - self.started_at


def close_dropped(close: Callable[[], Any], loop: Any = None) -> None:
    """Close a stream its caller dropped while it was open (``__del__``): ``close()`` at
    once, or, for an async stream, its ``aclose()`` run as a task on ``loop`` (the loop it
    was opened on), so its connection, in-flight place and breaker permit come back.
    Nothing is raised from here (a finalizer): a failure is logged."""
    try:
        result = close()
        if inspect.isawaitable(result):
            if loop is None or loop.is_closed():
                getattr(result, "close", lambda: None)()  # nobody can run it any more
            else:
                loop.call_soon_threadsafe(loop.create_task, result)
    except Exception as exc:  # a hook's error has no caller left to reach
        import logging

        logging.getLogger("ailib").warning("ailib: closing a dropped stream failed: %r", exc)


def mark_served(response: Any, label: str) -> None:
    """Record on a (frozen) ChatResponse which target served it (other results: no-op)."""
    if hasattr(response, "served_by"):
        object.__setattr__(response, "served_by", label)
