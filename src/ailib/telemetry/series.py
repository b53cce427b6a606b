"""The bounded pieces a metrics collector is made of (no I/O, not thread-safe alone).

* :class:`LabelGuard`: at most ``max_values`` distinct values per label; the rest count
  under ``"other"`` (a model name chosen by a caller cannot grow memory without bound);
* :class:`Histogram`: fixed buckets, a sum and a count (what Prometheus exposes);
* :class:`Window`: the last ``size`` samples, for percentiles;
* :class:`Series`: everything recorded for one label set.

Example::

    guard = LabelGuard(max_values=2)
    [guard.admit("model", m) for m in ("a", "b", "c")]   # ['a', 'b', 'other']
"""

from __future__ import annotations

import math
from array import array
from collections import deque
from typing import NamedTuple

#: what a label value becomes once its label has ``max_values`` distinct values
OVERFLOW = "other"
#: longest label value kept (longer ones are cut)
MAX_VALUE_LENGTH = 120

#: latency buckets in seconds (request duration, time to first token)
LATENCY_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
)  # fmt: skip
#: per-token latency buckets in seconds
TOKEN_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


class LabelGuard:
    """Admits at most ``max_values`` distinct values per label name.

    Values are cut to :data:`MAX_VALUE_LENGTH` characters with control characters
    removed; a new value once the label is full becomes :data:`OVERFLOW`.
    """

    __slots__ = ("_seen", "max_values")

    def __init__(self, max_values: int = 100) -> None:
        self.max_values = max_values
        self._seen: dict[str, set[str]] = {}

    def admit(self, label: str, value: object) -> str:
        text = value if isinstance(value, str) else str(value)
        if len(text) > MAX_VALUE_LENGTH or not text.isprintable():
            text = "".join(ch for ch in text[:MAX_VALUE_LENGTH] if ch.isprintable())
        text = text or "unknown"
        seen = self._seen.setdefault(label, set())
        if text in seen:
            return text
        if len(seen) >= self.max_values:
            return OVERFLOW
        seen.add(text)
        return text

    def clear(self) -> None:
        self._seen.clear()


class Histogram:
    """Cumulative-bucket histogram: ``counts[i]`` samples were <= ``bounds[i]``."""

    __slots__ = ("bounds", "count", "counts", "total")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * len(bounds)
        self.count = 0
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.count += 1
        self.total += value
        for i, bound in enumerate(self.bounds):
            if value <= bound:
                self.counts[i] += 1

    def copy(self) -> Histogram:
        other = Histogram(self.bounds)
        other.counts = list(self.counts)
        other.count, other.total = self.count, self.total
        return other


class Window:
    """The last ``size`` samples (a ring of floats) and percentiles over them."""

    __slots__ = ("_next", "_values", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self._values = array("d")
        self._next = 0

    def add(self, value: float) -> None:
        if len(self._values) < self.size:
            self._values.append(value)
        else:
            self._values[self._next] = value
            self._next = (self._next + 1) % self.size

    def __len__(self) -> int:
        return len(self._values)

    def percentiles(self, *qs: float) -> list[float]:
        """Nearest-rank percentiles (``q`` in 0..100); 0.0 for each when empty."""
        if not self._values:
            return [0.0 for _ in qs]
        ordered = sorted(self._values)
        n = len(ordered)
        return [ordered[min(n - 1, max(0, math.ceil(q / 100 * n) - 1))] for q in qs]

    def mean(self) -> float:
        return sum(self._values) / len(self._values) if self._values else 0.0


class Outcome(NamedTuple):
    """One finished call, as health checks see it."""

    at: float  # time.monotonic()
    ok: bool
    latency: float


class Series:
    """Everything recorded for one label set (provider, model, operation)."""

    __slots__ = (
        "breaker_opens",
        "cost",
        "errors",
        "failures",
        "fallbacks",
        "latency",
        "latency_window",
        "requests",
        "retries",
        "successes",
        "tokens_in",
        "tokens_out",
        "tpot",
        "tpot_window",
        "ttft",
        "ttft_window",
    )

    def __init__(self, window: int) -> None:
        self.requests = self.successes = self.failures = 0
        self.tokens_in = self.tokens_out = 0
        self.retries = self.fallbacks = self.breaker_opens = 0
        self.cost: dict[str, float] = {}
        self.errors: dict[str, int] = {}
        self.latency = Histogram(LATENCY_BUCKETS)
        self.ttft = Histogram(LATENCY_BUCKETS)
        self.tpot = Histogram(TOKEN_BUCKETS)
        self.latency_window = Window(window)
        self.ttft_window = Window(window)
        self.tpot_window = Window(window)


class Recent:
    """The last ``size`` outcomes of one provider, for health checks."""

    __slots__ = ("outcomes",)

    def __init__(self, size: int) -> None:
        self.outcomes: deque[Outcome] = deque(maxlen=size)

    def since(self, start: float) -> list[Outcome]:
        return [o for o in self.outcomes if o.at >= start]
