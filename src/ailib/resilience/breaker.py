"""The circuit breaker's state machine (no I/O): one breaker per target key.

A breaker per ``Target.key`` (``provider|base_url|model``), its state kept as a small
record in a :class:`~ailib.resilience.state.StateStore` so that every process using the
store shares it. The breaker layer (``_async_breaker_layer.py``) does the I/O: it runs
:meth:`CircuitBreaker.admit` before an attempt and :meth:`CircuitBreaker.settle` after
it, each as one atomic ``update()`` of the record.

* **closed**: calls go through; ``failure_threshold`` consecutive retryable failures
  (or, with ``failure_ratio``, that share of failures among at least ``min_calls`` calls
  in the last ``window_seconds``) open it;
* **open**: calls fail at once with :class:`~ailib.errors.CircuitOpenError`, nothing is
  sent; after ``cooldown_seconds`` the next call becomes a probe (half-open);
* **half_open**: at most ``half_open_max_calls`` probes at once; ``success_threshold``
  successes close it, one retryable failure opens it again. A probe that never reports
  (its process died) frees its slot after another cooldown.

Only retryable errors from the provider or the network count as failures (429, 5xx,
timeouts, resets). A non-retryable answer (400, 401...) shows the provider is up; a
local gate's refusal (nothing was sent), a cancelled call and a stream the caller
closed early count for nothing. Times are wall-clock seconds (``clock``), comparable
across processes.

Example::

    breaker = CircuitBreaker(CircuitBreakerConfig(failure_threshold=3), stats=stats)
    record, admission = breaker.admit(None, "openai|https://api.openai.com/v1|gpt-4o")
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING

import attrs

from ailib.errors import CircuitOpenError, RemoteError, TransportError, standard_code
from ailib.resilience.config import CircuitBreakerConfig

if TYPE_CHECKING:
    from ailib.resilience.signals import ResilienceStats
    from ailib.resilience.state import Record
    from ailib.runtime.context import CallContext, Target

#: buckets of the failure-ratio window
WINDOW_BUCKETS = 10


class CircuitState(str, Enum):
    """A breaker's state; prints as its value (``"closed"``, ``"open"``, ``"half_open"``)."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"

    def __str__(self) -> str:
        return self.value


class Outcome(Enum):
    """What an attempt tells the breaker."""

    SUCCESS = "success"
    FAILURE = "failure"
    IGNORED = "ignored"


def classify(error: BaseException | None) -> Outcome:
    """The outcome of an attempt that raised ``error`` (None: it succeeded).

    Failures are retryable errors from the provider or the network (``RemoteError``,
    ``TransportError``); a non-retryable ``RemoteError`` (400, 401...) shows the provider
    is up. Anything else (a local gate's refusal, a cancellation, a plugin's error)
    counts for nothing.
    """
    if error is None:
        return Outcome.SUCCESS
    if isinstance(error, RemoteError | TransportError):
        if error.retryable:
            return Outcome.FAILURE
        if isinstance(error, RemoteError):
            return Outcome.SUCCESS
    return Outcome.IGNORED


def stream_outcome(ctx: CallContext, target: Target) -> Outcome:
    """The outcome of a stream opened on ``target`` once the call is over."""
    if ctx.target is not target:  # another target took over after this one opened
        hop = next((h for h in reversed(ctx.hops) if h.target == target.label), None)
        if hop is not None and hop.code is not None and standard_code(hop.code).retryable:
            return Outcome.FAILURE
        return Outcome.IGNORED
    if ctx.closed_early:  # the caller stopped reading: not the provider's failure
        return Outcome.SUCCESS if ctx.first_event_sent else Outcome.IGNORED
    return classify(ctx.error)


@attrs.frozen
class Permit:
    """Leave to make one attempt: settle it with its outcome afterwards."""

    key: str
    generation: int
    probe: bool = False


@attrs.frozen
class Admission:
    """What :meth:`CircuitBreaker.admit` decided: a permit, or the seconds to wait."""

    permit: Permit | None
    retry_after: float
    old: CircuitState
    new: CircuitState


def _fresh() -> Record:
    return {"state": "closed", "gen": 0, "fails": 0}


_CLOSED = CircuitState.CLOSED
#: what :meth:`CircuitBreaker.note` keeps for a key seen closed without a record
_SEEN_CLOSED = (CircuitState.CLOSED, 0.0)


class CircuitBreaker:
    """The breaker policy for all keys, and what this process last saw of each.

    Thread-safe; shared by the sync and the async breaker layer. ``clock`` gives
    wall-clock seconds (inject one in tests). Transitions go to ``stats``
    (``stats.breaker(key, old, new)``), refusals to ``stats.count("rejected_by_breaker")``.

    Example::

        breaker = CircuitBreaker(CircuitBreakerConfig(), clock=lambda: 1000.0)
        record, admission = breaker.admit(None, "k")
        record2, change = breaker.settle(record, admission.permit, Outcome.FAILURE)
    """

    def __init__(
        self,
        config: CircuitBreakerConfig | None = None,
        *,
        stats: ResilienceStats | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config or CircuitBreakerConfig()
        self.stats = stats
        self.clock = clock
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[CircuitState, float]] = {}  # key -> (state, open until)

    @staticmethod
    def store_key(key: str) -> str:
        """The store key of the breaker for target ``key``."""
        return f"breaker:{key}"

    @property
    def ttl(self) -> float:
        """How long an untouched record lives (longer than any cooldown or window)."""
        return 2 * (self.config.cooldown_seconds + self.config.window_seconds) + 60

    # ---- transitions (pure: record in, record out) -----------------------------------

    def _open(self, rec: Record, now: float) -> Record:
        return {
            "state": "open",
            "gen": rec["gen"] + 1,
            "fails": 0,
            "until": now + self.config.cooldown_seconds,
        }

    def admit(self, record: Record | None, key: str) -> tuple[Record | None, Admission]:
        """May an attempt go to ``key`` now? Returns the new record and the decision.

        The record comes back unchanged (the same object) when nothing changes.
        """
        if record is None:  # never failed (or expired): closed, generation 0
            return None, Admission(Permit(key, 0), 0.0, _CLOSED, _CLOSED)
        now = self.clock()
        rec = record
        state = CircuitState(rec["state"])
        if state is CircuitState.CLOSED:
            return record, Admission(Permit(key, rec["gen"]), 0.0, state, state)
        if state is CircuitState.OPEN:
            if now < rec["until"]:
                return record, Admission(None, rec["until"] - now, state, state)
            new = {
                "state": "half_open",
                "gen": rec["gen"] + 1,
                "fails": 0,
                "probes": 1,
                "ok": 0,
                "until": now + self.config.cooldown_seconds,  # a probe slot frees by then
            }
            return new, Admission(Permit(key, new["gen"], True), 0.0, state, CircuitState.HALF_OPEN)
        stale = now >= rec["until"]  # the probes in flight never reported: let new ones go
        if rec["probes"] < self.config.half_open_max_calls or stale:
            new = {
                **rec,
                "probes": 1 if stale else rec["probes"] + 1,
                "until": now + self.config.cooldown_seconds,
            }
            return new, Admission(Permit(key, rec["gen"], True), 0.0, state, state)
        return record, Admission(None, rec["until"] - now, state, state)

    def settle(
        self, record: Record | None, permit: Permit, outcome: Outcome
    ) -> tuple[Record | None, tuple[CircuitState, CircuitState]]:
        """Record an attempt's outcome; returns the new record and (old, new) state.

        An outcome from before the last transition (another generation) changes nothing.
        """
        if (
            record is None
            and outcome is not Outcome.FAILURE
            and not permit.probe
            and self.config.failure_ratio is None
        ):  # closed, never failed, and it went well: nothing to write
            return None, (_CLOSED, _CLOSED)
        now = self.clock()
        rec = record or _fresh()
        state = CircuitState(rec["state"])
        if rec["gen"] != permit.generation or (outcome is Outcome.IGNORED and not permit.probe):
            return record, (state, state)
        if state is CircuitState.CLOSED and not permit.probe:
            return self._settle_closed(rec, record, outcome, now)
        if state is CircuitState.HALF_OPEN and permit.probe:
            if outcome is Outcome.FAILURE:
                return self._open(rec, now), (state, CircuitState.OPEN)
            probes = max(0, rec["probes"] - 1)
            if outcome is Outcome.SUCCESS:
                ok = rec["ok"] + 1
                if ok >= self.config.success_threshold:
                    closed = {**_fresh(), "gen": rec["gen"] + 1}
                    return closed, (state, CircuitState.CLOSED)
                return {**rec, "ok": ok, "probes": probes}, (state, state)
            return {**rec, "probes": probes}, (state, state)
        return record, (state, state)

    def _settle_closed(
        self, rec: Record, record: Record | None, outcome: Outcome, now: float
    ) -> tuple[Record | None, tuple[CircuitState, CircuitState]]:
        closed = CircuitState.CLOSED
        failed = outcome is Outcome.FAILURE
        window = self._window(rec, now, failed) if self.config.failure_ratio is not None else None
        if not failed:
            if rec["fails"] == 0 and window is None:
                return record, (closed, closed)  # the common path writes nothing
            return {**rec, "fails": 0, **({"win": window} if window else {})}, (closed, closed)
        fails = rec["fails"] + 1
        if fails >= self.config.failure_threshold or self._ratio_trips(window):
            return self._open(rec, now), (closed, CircuitState.OPEN)
        return {**rec, "fails": fails, **({"win": window} if window else {})}, (closed, closed)

    def _window(self, rec: Record, now: float, failed: bool) -> list[list[int]]:
        """The window's buckets ``[slot, calls, failures]`` with this call added."""
        width = self.config.window_seconds / WINDOW_BUCKETS
        slot = int(now // width)
        buckets = [b for b in rec.get("win", []) if slot - WINDOW_BUCKETS < b[0] <= slot]
        if buckets and buckets[-1][0] == slot:
            last = buckets[-1]
            buckets[-1] = [slot, last[1] + 1, last[2] + int(failed)]
        else:
            buckets.append([slot, 1, int(failed)])
        return buckets

    def _ratio_trips(self, window: list[list[int]] | None) -> bool:
        ratio = self.config.failure_ratio
        if ratio is None or not window:
            return False
        calls = sum(b[1] for b in window)
        failures = sum(b[2] for b in window)
        return calls >= self.config.min_calls and failures >= ratio * calls

    # ---- what this process saw ---------------------------------------------------------

    def note(self, key: str, old: CircuitState, record: Record | None) -> CircuitState:
        """Note what this process saw of ``key``: the state ``old`` as it was stored, then
        ``record`` (after a transition, or ``old`` again). Changes go to the stats, also
        those another process made since this one last looked."""
        if record is None and old is _CLOSED and self._seen.get(key) == _SEEN_CLOSED:
            return _CLOSED  # closed, as this process last saw it: nothing to note
        rec = record or _fresh()
        new = CircuitState(rec["state"])
        with self._lock:
            seen = self._seen.get(key)
            self._seen[key] = (new, float(rec.get("until", 0.0)))
        if self.stats is not None:
            prior = seen[0] if seen is not None else old
            if prior is not old or seen is None:
                self.stats.breaker(key, prior.value, old.value)
            if new is not old:
                self.stats.breaker(key, old.value, new.value)
        return new

    def refusal(self, key: str, retry_after: float) -> CircuitOpenError:
        """The error for a call the open breaker of ``key`` refused (counted in the stats)."""
        if self.stats is not None:
            self.stats.count("rejected_by_breaker")
        wait = max(0.0, retry_after)
        return CircuitOpenError(
            f"circuit breaker {key!r} is open: call refused, nothing sent; "
            f"half-open in {wait:.1f}s",
            breaker_key=key,
            retry_after=wait,
        )

    def state_of(self, record: Record | None) -> CircuitState:
        """The state a stored record shows now (open past its cooldown shows half_open)."""
        rec = record or _fresh()
        state = CircuitState(rec["state"])
        if state is CircuitState.OPEN and self.clock() >= rec["until"]:
            return CircuitState.HALF_OPEN
        return state

    def cached_state(self, key: str) -> CircuitState:
        """The state of ``key`` as this process last saw it (no I/O), projected to now."""
        with self._lock:
            state, until = self._seen.get(key, (CircuitState.CLOSED, 0.0))
        if state is CircuitState.OPEN and self.clock() >= until:
            return CircuitState.HALF_OPEN
        return state

    def describe(self) -> str:
        """``threshold=5, cooldown=30s`` (plus the ratio window when set)."""
        c = self.config
        text = f"threshold={c.failure_threshold}, cooldown={c.cooldown_seconds:g}s"
        if c.failure_ratio is not None:
            text += f", ratio={c.failure_ratio:g} over {c.window_seconds:g}s (min {c.min_calls})"
        return text

    def __repr__(self) -> str:
        return f"CircuitBreaker({self.describe()})"
