"""Resilience signals: counters every layer updates, read as one snapshot.

One :class:`ResilienceStats` per client is shared by its layers (retry, breaker,
limiter, backpressure, fallback); ``client.get_resilience_stats()`` returns
``stats.snapshot()``, a frozen :class:`SignalsSnapshot`. Thread-safe; no I/O.

Example::

    stats = ResilienceStats()
    stats.count("attempts")
    stats.add_wait("rate_limit", 0.25)
    stats.snapshot().attempts      # 1
"""

from __future__ import annotations

import threading
from typing import Any

import attrs


@attrs.frozen
class SignalsSnapshot:
    """Everything the resilience layers know at one instant.

    ``breaker_states`` maps each breaker key (``provider|base_url|model``) to
    ``"closed"``, ``"open"`` or ``"half_open"``; ``in_flight`` counts the calls started
    and not finished (a stream until it ends), apart from the ``queued`` ones still
    waiting for a backpressure slot; ``breaker_transitions`` lists
    ``(key, from_state, to_state)`` in order (the last 100); ``fallback_hops`` maps
    ``"from -> to"`` to a count; ``skipped_targets`` maps a target to the last reason it
    was skipped; ``waits_seconds`` sums time spent waiting per gate.
    """

    calls: int = 0
    attempts: int = 0
    retries: int = 0
    successes: int = 0
    failures: int = 0
    closed_early: int = 0
    rate_limited: int = 0
    rejected_by_breaker: int = 0
    rejected_by_backpressure: int = 0
    in_flight: int = 0
    queued: int = 0
    max_inflight: int | None = None
    breaker_states: dict[str, str] = attrs.field(factory=dict)
    breaker_transitions: tuple[tuple[str, str, str], ...] = ()
    breaker_opens: int = 0
    fallbacks: int = 0
    fallback_hops: dict[str, int] = attrs.field(factory=dict)
    skipped_targets: dict[str, str] = attrs.field(factory=dict)
    served_by: dict[str, int] = attrs.field(factory=dict)
    waits_seconds: dict[str, float] = attrs.field(factory=dict)
    errors_by_code: dict[str, int] = attrs.field(factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


_COUNTERS = (
    "calls",
    "attempts",
    "retries",
    "successes",
    "failures",
    "closed_early",
    "rate_limited",
    "rejected_by_breaker",
    "rejected_by_backpressure",
    "fallbacks",
    "breaker_opens",
)


class ResilienceStats:
    """Mutable counters behind :class:`SignalsSnapshot` (thread-safe).

    Example::

        stats.count("retries"); stats.hop("openai/gpt-4o", "anthropic/claude")
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(_COUNTERS, 0)
        self.in_flight = 0
        self.queued = 0
        self.max_inflight: int | None = None
        self._breakers: dict[str, str] = {}
        self._transitions: list[tuple[str, str, str]] = []
        self._hops: dict[str, int] = {}
        self._skipped: dict[str, str] = {}
        self._served: dict[str, int] = {}
        self._waits: dict[str, float] = {}
        self._errors: dict[str, int] = {}

    def succeeded(self, attempts: int, served_by: str | None) -> None:
        """One call ended well after ``attempts`` attempts, served by ``served_by``."""
        with self._lock:
            counts = self._counts
            counts["attempts"] += attempts
            counts["successes"] += 1
            if served_by is not None:
                self._served[served_by] = self._served.get(served_by, 0) + 1

    def call_started(self, gauge: Any) -> None:
        """One call began: ``calls`` counted and ``gauge.in_flight`` raised, under one lock
        (the signals layer's in-flight count is kept under this lock)."""
        with self._lock:
            self._counts["calls"] += 1
            gauge.in_flight += 1

    def call_ended(self, gauge: Any, attempts: int, served_by: str | None) -> None:
        """A call ended well (as :meth:`succeeded`), ``gauge.in_flight`` lowered with it."""
        with self._lock:
            gauge.in_flight -= 1
            counts = self._counts
            counts["attempts"] += attempts
            counts["successes"] += 1
            if served_by is not None:
                self._served[served_by] = self._served.get(served_by, 0) + 1

    def left(self, gauge: Any) -> None:
        """``gauge.in_flight`` lowered (a call that did not end well; see :meth:`call_ended`)."""
        with self._lock:
            gauge.in_flight -= 1

    def count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counts[name] += n

    def error(self, code: str) -> None:
        with self._lock:
            self._errors[code] = self._errors.get(code, 0) + 1

    def add_wait(self, gate: str, seconds: float) -> None:
        with self._lock:
            self._waits[gate] = self._waits.get(gate, 0.0) + seconds

    def breaker(self, key: str, old: str, new: str) -> None:
        """Record a breaker state change (``old == new`` only records the state)."""
        with self._lock:
            self._breakers[key] = new
            if old != new:
                self._transitions.append((key, old, new))
                del self._transitions[:-100]
                if new == "open":
                    self._counts["breaker_opens"] += 1

    def hop(self, source: str, target: str) -> None:
        with self._lock:
            self._counts["fallbacks"] += 1
            name = f"{source} -> {target}"
            self._hops[name] = self._hops.get(name, 0) + 1

    def skipped(self, target: str, reason: str) -> None:
        with self._lock:
            self._skipped[target] = reason

    def served(self, target: str) -> None:
        with self._lock:
            self._served[target] = self._served.get(target, 0) + 1

    def gauge(self, *, in_flight: int | None = None, queued: int | None = None) -> None:
        with self._lock:
            if in_flight is not None:
                self.in_flight = in_flight
            if queued is not None:
                self.queued = queued

    def snapshot(self, *, in_flight: int | None = None) -> SignalsSnapshot:
        """The counters now; ``in_flight`` overrides the gauge (the client passes the calls
        its signals layer sees in flight, so the snapshot agrees with ``current_inflight``)."""
        with self._lock:
            return SignalsSnapshot(
                **self._counts,
                in_flight=self.in_flight if in_flight is None else in_flight,
                queued=self.queued,
                max_inflight=self.max_inflight,
                breaker_states=dict(self._breakers),
                breaker_transitions=tuple(self._transitions),
                fallback_hops=dict(self._hops),
                skipped_targets=dict(self._skipped),
                served_by=dict(self._served),
                waits_seconds=dict(self._waits),
                errors_by_code=dict(self._errors),
            )
