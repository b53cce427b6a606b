"""Selectors: pick one candidate (a ``ModelInfo`` or an ``Endpoint``) from a list.

Every selector has ``select(candidates)``; an empty list is an ``InvalidRequestError``.

Example::

    cheapest = CostBasedSelector().select(manager.list_models())
    best = QualityBasedSelector().select(manager.filter_by_capability("vision"))
    array = AsyncModelArray("llama", clients, selector=LeastInFlightSelector())
"""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeVar

from ailib.errors import InvalidRequestError
from ailib.routing.latency import LatencyTracker

T = TypeVar("T")
_INF = float("inf")


class Selector(Protocol):
    """What ``ModelArray`` and users call: one candidate out of several."""

    def select(self, candidates: Sequence[T]) -> T: ...


#: The seed project's name for a selection strategy (cost, quality, latency...): a Selector.
ModelSelectionStrategy = Selector


def _nonempty(candidates: Sequence[T]) -> Sequence[T]:
    if not candidates:
        raise InvalidRequestError("no candidate to select from (empty list)")
    return candidates


def candidate_key(item: Any) -> str:
    """An endpoint's target key, a model's ``provider/model``, else ``str(item)``."""
    key = getattr(item, "key", None) or getattr(item, "id", None)
    return key if isinstance(key, str) else str(item)


def _cost(item: Any) -> float:
    pricing = getattr(item, "pricing", None)
    return pricing.blended_per_1k if pricing is not None else _INF


class CostBasedSelector:
    """The cheapest candidate (input and output prices blended 3:1); unpriced ones last."""

    def select(self, candidates: Sequence[T]) -> T:
        return min(_nonempty(candidates), key=_cost)


class QualityBasedSelector:
    """The highest declared ``quality`` (manifest ``metadata.models.<id>.quality``);
    ties go to the cheaper one, models without a score come last."""

    def select(self, candidates: Sequence[T]) -> T:
        def rank(item: Any) -> tuple[float, float]:
            quality = getattr(item, "quality", None)
            return (-(quality if quality is not None else -1.0), _cost(item))

        return min(_nonempty(candidates), key=rank)


class LatencyBasedSelector:
    """The fastest candidate by live EWMA latency; one never measured is tried first.

    ``ModelArray`` feeds its tracker from every call; share one tracker to compare.
    """

    def __init__(self, tracker: LatencyTracker | None = None) -> None:
        self.tracker = tracker if tracker is not None else LatencyTracker()

    def select(self, candidates: Sequence[T]) -> T:
        def rank(item: Any) -> float:
            seen = self.tracker.get(candidate_key(item))
            return -1.0 if seen is None else seen

        return min(_nonempty(candidates), key=rank)


class RoundRobinSelector:
    """Each candidate in turn (thread-safe)."""

    def __init__(self) -> None:
        self._counter = itertools.count()
        self._lock = threading.Lock()

    def select(self, candidates: Sequence[T]) -> T:
        candidates = _nonempty(candidates)
        with self._lock:
            n = next(self._counter)
        return candidates[n % len(candidates)]


class WeightedSelector:
    """A random pick in proportion to weights: ``weights`` by key (``provider/model`` or an
    endpoint's key or name), else each candidate's own ``weight`` (default 1).

    Example::

        WeightedSelector({"openai/gpt-4o": 3, "anthropic/claude-sonnet-4-5": 1}, seed=7)
    """

    def __init__(
        self, weights: Mapping[str, float] | None = None, *, seed: int | None = None
    ) -> None:
        for key, weight in (weights or {}).items():
            if not isinstance(weight, int | float) or isinstance(weight, bool) or weight < 0:
                raise InvalidRequestError(
                    f"weight for {key!r} must be a number >= 0, got {weight!r}"
                )
        self.weights = dict(weights or {})
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def weight_of(self, item: Any) -> float:
        for key in (candidate_key(item), getattr(item, "name", None)):
            if isinstance(key, str) and key in self.weights:
                return float(self.weights[key])
        own = getattr(item, "weight", 1.0)
        return float(own) if isinstance(own, int | float) else 1.0

    def select(self, candidates: Sequence[T]) -> T:
        candidates = _nonempty(candidates)
        weights = [self.weight_of(c) for c in candidates]
        if sum(weights) <= 0:
            raise InvalidRequestError("every candidate has weight 0")
        with self._lock:
            return self._random.choices(list(candidates), weights=weights)[0]


class LeastInFlightSelector:
    """The candidate with the fewest calls in flight (``Endpoint.in_flight``); ties rotate."""

    def __init__(self) -> None:
        self._round_robin = RoundRobinSelector()

    def select(self, candidates: Sequence[T]) -> T:
        candidates = _nonempty(candidates)
        fewest = min(int(getattr(c, "in_flight", 0)) for c in candidates)
        return self._round_robin.select(
            [c for c in candidates if int(getattr(c, "in_flight", 0)) == fewest]
        )
