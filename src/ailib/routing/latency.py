"""Live latency per target: an exponentially weighted moving average (thread-safe).

``ModelArray`` feeds its tracker from each call; any client can feed one through the
pipeline with ``LatencyPlugin`` (keys are the breaker's ``provider|base_url|model``).

Example::

    tracker = LatencyTracker(alpha=0.3)
    client = AiClient.builder().model("openai/gpt-4o").with_plugin(LatencyPlugin(tracker)).build()
    client.chat().user("Hi").execute()
    tracker.get("openai|https://api.openai.com/v1|gpt-4o")   # seconds, e.g. 0.84
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from ailib.errors import InvalidRequestError
from ailib.plugins.plugin import Plugin

if TYPE_CHECKING:
    from ailib.plugins.context import PluginContext


class LatencyTracker:
    """EWMA of call durations (seconds) per key; ``ModelArray`` feeds it from each call."""

    def __init__(self, alpha: float = 0.3) -> None:
        if not isinstance(alpha, int | float) or isinstance(alpha, bool) or not 0 < alpha <= 1:
            raise InvalidRequestError(f"alpha must be a number in (0, 1], got {alpha!r}")
        self.alpha = float(alpha)
        self._lock = threading.Lock()
        self._ewma: dict[str, float] = {}
        self._samples: dict[str, int] = {}

    def observe(self, key: str, seconds: float) -> None:
        seconds = max(0.0, float(seconds))
        with self._lock:
            old = self._ewma.get(key)
            self._ewma[key] = seconds if old is None else old + self.alpha * (seconds - old)
            self._samples[key] = self._samples.get(key, 0) + 1

    def get(self, key: str) -> float | None:
        """The current average for ``key``; None before its first call."""
        with self._lock:
            return self._ewma.get(key)

    def samples(self, key: str) -> int:
        with self._lock:
            return self._samples.get(key, 0)

    def snapshot(self) -> dict[str, float]:
        with self._lock:
            return dict(self._ewma)

    def __repr__(self) -> str:
        return f"LatencyTracker(alpha={self.alpha}, keys={len(self._ewma)})"


class LatencyPlugin(Plugin):
    """Feeds a ``LatencyTracker`` with each successful call's duration (a stream: until
    its last event), keyed by the target that served it; works on sync and async clients.

    Example::

        tracker = LatencyTracker()
        builder.with_plugin(LatencyPlugin(tracker))   # then LatencyBasedSelector(tracker)
    """

    def __init__(self, tracker: LatencyTracker) -> None:
        if not isinstance(tracker, LatencyTracker):
            raise InvalidRequestError(f"LatencyPlugin needs a LatencyTracker, got {tracker!r}")
        self.tracker = tracker

    def name(self) -> str:
        return "latency"

    def on_after_response(self, ctx: PluginContext) -> None:
        call = ctx.call
        if call is not None and not ctx.closed_early:
            self.tracker.observe(call.target.key, ctx.elapsed)
