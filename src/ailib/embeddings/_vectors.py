"""Vector helpers in pure Python (no numpy needed; numpy arrays work as inputs too).

Example::

    cosine_similarity([1.0, 0.0], [1.0, 1.0])          # 0.7071...
    find_most_similar(query, candidates, top_k=2)      # [(index, score), ...] best first
"""

from __future__ import annotations

import heapq
import math
import operator
from collections.abc import Iterable, Sequence
from typing import Any

Vector = Sequence[float]


def _pairs(a: Vector, b: Vector) -> tuple[Sequence[float], Sequence[float]]:
    if len(a) != len(b):
        raise ValueError(f"vectors differ in length: {len(a)} != {len(b)}")
    return a, b


def _sumprod(a: Iterable[float], b: Iterable[float]) -> float:
    sumprod: Any = getattr(math, "sumprod", None)  # Python 3.12+: exact and fast
    if sumprod is not None:
        return float(sumprod(a, b))
    return float(sum(map(operator.mul, a, b)))


def dot_product(a: Vector, b: Vector) -> float:
    """Sum of the element-wise products; raises ValueError on a length mismatch."""
    return _sumprod(*_pairs(a, b))


def norm(a: Vector) -> float:
    """Euclidean length of a vector."""
    return math.sqrt(_sumprod(a, a))


def normalize(a: Vector) -> list[float]:
    """The vector scaled to length 1 (a zero vector stays zero)."""
    length = norm(a)
    if length == 0.0:
        return [0.0 for _ in a]
    return [float(x) / length for x in a]


def cosine_similarity(a: Vector, b: Vector) -> float:
    """Cosine of the angle between two vectors, in [-1, 1]; 0.0 when either is zero."""
    a, b = _pairs(a, b)
    denominator = norm(a) * norm(b)
    if denominator == 0.0:
        return 0.0
    return max(-1.0, min(1.0, _sumprod(a, b) / denominator))


def euclidean_distance(a: Vector, b: Vector) -> float:
    """Straight-line distance between two vectors."""
    a, b = _pairs(a, b)
    return math.sqrt(sum((float(x) - float(y)) ** 2 for x, y in zip(a, b, strict=True)))


def find_most_similar(
    query: Vector,
    candidates: Iterable[Vector],
    top_k: int | None = None,
    *,
    min_score: float | None = None,
) -> list[tuple[int, float]]:
    """``(index, cosine score)`` of the candidates most similar to ``query``, best first.

    Ties keep candidate order. ``top_k=None`` ranks every candidate; ``min_score`` drops
    candidates scoring below it.

    Example::

        find_most_similar([1, 0], [[0, 1], [1, 0.1], [1, 1]], top_k=2)
        # [(1, 0.995...), (2, 0.707...)]
    """
    if top_k is not None and top_k < 0:
        raise ValueError("top_k must be >= 0")
    qnorm = norm(query)
    scored: list[tuple[int, float]] = []
    for index, candidate in enumerate(candidates):
        _pairs(query, candidate)
        denominator = qnorm * norm(candidate)
        score = 0.0 if denominator == 0.0 else _sumprod(query, candidate) / denominator
        score = max(-1.0, min(1.0, score))
        if min_score is None or score >= min_score:
            scored.append((index, score))
    key = operator.itemgetter(1)
    if top_k is None:
        return sorted(scored, key=key, reverse=True)  # stable: ties keep candidate order
    return heapq.nlargest(top_k, scored, key=key)  # also stable for equal scores
