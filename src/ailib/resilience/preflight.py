"""PreflightChecker: what is checked before any byte of a call is sent.

Each gate acts in its own layer, always before the engine sends anything: backpressure
per call, then per target this checker (the target's declared capabilities and
parameters carry the request: else it is skipped by fallback, or refused), then per
attempt the circuit breaker and the rate limiter. ``report(ctx)`` lists every reason a
call would not go now, without raising and without I/O (the breaker as last seen).

Example::

    checker = PreflightChecker(breaker=breaker_layer)
    checker.report(ctx)   # [] when the call may go, else the reasons
"""

from __future__ import annotations

from typing import Any

from ailib.errors import AiLibError
from ailib.runtime.context import CHAT_OPERATIONS, CallContext


class PreflightChecker:
    """Capabilities and parameters (the target's manifest); the breaker, in reports.

    ``breaker``: a breaker layer (``AsyncBreakerLayer``/``BreakerLayer``) whose last seen
    state per target ``report()`` includes (the layer itself refuses open breakers).
    """

    def __init__(self, *, breaker: Any = None) -> None:
        self.breaker = breaker

    def describe(self) -> str:
        return "capabilities"

    def check(self, ctx: CallContext) -> None:
        """Raise the first reason the call cannot go to ``ctx.target`` now."""
        if ctx.operation in CHAT_OPERATIONS:  # a post/get carries its own prepared body
            ctx.prepared()  # CapabilityError / ParameterError: the target cannot carry it

    def report(self, ctx: CallContext) -> list[str]:
        """Every reason the call cannot go to ``ctx.target`` now (empty: it may go)."""
        reasons: list[str] = []
        try:
            if ctx.operation in CHAT_OPERATIONS:
                ctx.prepared()
        except AiLibError as exc:
            reasons.append(str(exc))
        if self.breaker is not None:
            state = str(self.breaker.cached_state(ctx.target.key))
            if state != "closed":
                reasons.append(f"circuit breaker of {ctx.target.key!r} was last seen {state}")
        return reasons
