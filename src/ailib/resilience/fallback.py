"""Fallback targets: where a call goes when its provider fails with a fallbackable error.

The layer itself is in ``_async_fallback.py`` (sync twin generated). Targets are given to
the builder as ``"provider/model"`` strings or as :class:`FallbackTarget` when one needs
its own key or base URL.

Example::

    client = (AiClient.builder().model("openai/gpt-4o")
              .with_fallbacks(["anthropic/claude-sonnet-4-5",
                               FallbackTarget("ollama/llama3", base_url="http://127.0.0.1:11434")])
              .build())
"""

from __future__ import annotations

from typing import Any

import attrs

from ailib.errors import (
    AiLibError,
    CircuitOpenError,
    InvalidRequestError,
    ProtocolError,
    RateLimitExceededError,
    RemoteError,
)
from ailib.runtime.context import Target


@attrs.frozen
class FallbackTarget:
    """One fallback: ``provider/model`` and the ``create()`` options it needs of its own.

    Options not given are taken from the primary target's when they are not
    provider-specific (timeout, limits, retries, the manifest search path and hot
    reload); keys come from the target's own environment variable unless ``api_key`` is
    given. Another model of the primary's provider takes all of the primary's options
    (key, base URL and headers too).
    """

    model: str
    api_key: str | None = attrs.field(default=None, repr=False)
    base_url: str | None = None
    options: dict[str, Any] = attrs.field(factory=dict, repr=lambda o: _masked_repr(o))


def _masked_repr(options: dict[str, Any]) -> str:
    """``options`` as shown in a repr: keys and credential headers masked."""
    from ailib.runtime.redact import masked_options

    return repr(masked_options(options))


class LiveTarget:
    """A fallback target served by a client of its own (``AiClient``/``AsyncAiClient``):
    ``current()`` is the target on the manifest in force now, a new engine after a hot
    reload, like the client's own calls.

    Example::

        live = LiveTarget(fallback_client)
        live.label        # 'anthropic/claude-sonnet-4-5'
        live.current()    # Target(engine=..., model='claude-sonnet-4-5')
    """

    __slots__ = ("_client", "_target")

    def __init__(self, client: Any) -> None:
        self._client = client
        self._target = Target(client.provider, client.model)

    @property
    def label(self) -> str:
        return self._target.label

    def current(self) -> Target:
        engine = self._client._current()
        if engine is not self._target.engine:
            self._target = Target(engine, self._client.model)
        return self._target

    def __repr__(self) -> str:
        return f"LiveTarget({self.label!r})"


def current_target(target: Target | LiveTarget) -> Target:
    """``target`` itself, or a live target's current one."""
    return target.current() if isinstance(target, LiveTarget) else target


#: create() options a fallback inherits from the primary target
SHARED_OPTIONS = (
    "timeout",
    "transport",
    "pool",
    "max_retries",
    "drop_unsupported",
    "limits",
    "allow_insecure_http",
    "stream_idle_timeout",
    "stream_timeout",
    "manifest_paths",
    "hot_reload",
    "loader",
)


def not_sent(exc: BaseException) -> bool:
    """Whether ``exc`` refused the call before any byte went out: the target cannot
    carry the request (an undeclared capability or parameter), or a local gate (its open
    breaker, its rate limit) turned it away."""
    if isinstance(exc, RemoteError):
        return False
    if isinstance(exc, CircuitOpenError | RateLimitExceededError):  # a local gate refused
        return True
    return isinstance(exc, InvalidRequestError | ProtocolError) and exc.code in ("E1001", "E1005")


def worth_falling_back(exc: BaseException) -> bool:
    """A fallbackable error (per the 13 standard codes), or a local refusal of the target
    (an open breaker, a rate limit it would wait too long for)."""
    return isinstance(exc, AiLibError) and (exc.fallbackable or not_sent(exc))


def reason_of(exc: BaseException) -> str:
    """A short reason for the stats: ``"E3002 overloaded: <message>"``."""
    if isinstance(exc, AiLibError):
        message = exc.message if len(exc.message) <= 160 else exc.message[:160] + "..."
        return f"{exc.code} {exc.name}: {message}"
    return type(exc).__name__
