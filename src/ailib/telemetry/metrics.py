"""MetricsCollector: requests, latency percentiles, tokens, cost, errors, resilience.

A collector is fed by the telemetry layer of every client built with
``.with_telemetry(metrics=collector)`` (one collector may serve several clients) or by
hand with :meth:`MetricsCollector.record_request`. Memory is bounded: at most
``max_label_values`` distinct values per label (more count under ``"other"``) and a
window of the last ``window`` samples per series for percentiles. Thread-safe; no I/O.

Example::

    collector = MetricsCollector()
    labels = MetricLabels(provider="openai", model="gpt-4o")
    collector.record_request(labels, latency=0.5, status="success", tokens_in=100, tokens_out=50)
    snapshot = collector.get_snapshot()
    print(snapshot.total_requests, f"{snapshot.latency_p99_ms:.2f}ms")
    print(collector.to_prometheus())
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import attrs

from ailib.errors import InvalidRequestError
from ailib.telemetry.series import OVERFLOW, LabelGuard, Outcome, Recent, Series, Window

__all__ = ["MetricLabels", "MetricsCollector", "MetricsSnapshot", "SeriesSnapshot"]

#: what ``status=`` may say
STATUSES = ("success", "error", "cancelled")
_CODE = re.compile(r"E\d{4}")


@attrs.frozen
class MetricLabels:
    """The labels a call is counted under: provider, model and operation.

    Example::

        MetricLabels(provider="openai", model="gpt-4o")            # operation "chat"
        MetricLabels.parse("anthropic/claude-sonnet-4-5", operation="stream")
    """

    provider: str = "unknown"
    model: str = "unknown"
    operation: str = "chat"

    @classmethod
    def parse(cls, label: str, *, operation: str = "chat") -> MetricLabels:
        """From ``"provider/model"``."""
        provider, _, model = label.partition("/")
        return cls(provider, model or "unknown", operation)

    def as_dict(self) -> dict[str, str]:
        return {"provider": self.provider, "model": self.model, "operation": self.operation}


@attrs.frozen
class SeriesSnapshot:
    """One label set's figures (latencies in milliseconds, cost per currency)."""

    labels: MetricLabels
    requests: int
    successes: int
    failures: int
    latency_p50_ms: float
    latency_p95_ms: float
    latency_p99_ms: float
    ttft_p50_ms: float
    time_per_output_token_ms: float
    tokens_in: int
    tokens_out: int
    cost: dict[str, float]
    errors_by_code: dict[str, int]
    retries: int
    fallbacks: int
    breaker_opens: int


@attrs.frozen
class MetricsSnapshot:
    """Everything a collector knows at one instant; latencies in milliseconds.

    Percentiles are over the most recent samples (the collector's ``window``);
    counters are totals since the collector was created (or reset). ``total_cost``
    adds up every currency (all USD in the shipped manifests; ``cost_by_currency``
    keeps them apart). ``series`` has one entry per label set.
    """

    total_requests: int = 0
    successful_requests: int = 0
    failed_requests: int = 0
    cancelled_requests: int = 0
    error_rate: float = 0.0
    latency_avg_ms: float = 0.0
    latency_p50_ms: float = 0.0
    latency_p95_ms: float = 0.0
    latency_p99_ms: float = 0.0
    ttft_p50_ms: float = 0.0
    ttft_p95_ms: float = 0.0
    ttft_p99_ms: float = 0.0
    time_per_output_token_ms: float = 0.0
    total_tokens_in: int = 0
    total_tokens_out: int = 0
    total_cost: float = 0.0
    cost_by_currency: dict[str, float] = attrs.field(factory=dict)
    errors_by_code: dict[str, int] = attrs.field(factory=dict)
    retries: int = 0
    fallbacks: int = 0
    breaker_opens: int = 0
    series: tuple[SeriesSnapshot, ...] = ()

    @property
    def total_tokens(self) -> int:
        return self.total_tokens_in + self.total_tokens_out

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


def _ms(values: list[float]) -> list[float]:
    return [v * 1000.0 for v in values]


class MetricsCollector:
    """Counts calls and their latency, tokens, cost, errors, retries and fallbacks.

    ``max_label_values`` bounds the distinct values of each label (more go under
    ``"other"``), ``window`` the samples kept per series for percentiles and
    ``recent`` the outcomes kept per provider for health checks.

    Example::

        collector = MetricsCollector()
        client = AiClient.builder().model("openai/gpt-4o").with_telemetry(metrics=collector).build()
        client.chat().user("hi").execute()
        collector.get_snapshot().total_requests       # 1
        registry.register(collector)                  # a prometheus_client registry
    """

    def __init__(
        self, *, max_label_values: int = 100, window: int = 1024, recent: int = 200
    ) -> None:
        for name, value in (("max_label_values", max_label_values), ("window", window)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InvalidRequestError(f"MetricsCollector({name}=) takes an int >= 1: {value!r}")
        if not isinstance(recent, int) or isinstance(recent, bool) or recent < 1:
            raise InvalidRequestError(f"MetricsCollector(recent=) takes an int >= 1: {recent!r}")
        self.max_label_values = max_label_values
        self.window = window
        self.recent_size = recent
        self._lock = threading.Lock()
        self._guard = LabelGuard(max_label_values)
        self._codes = LabelGuard(32)
        self._series: dict[MetricLabels, Series] = {}
        self._recent: dict[str, Recent] = {}
        self._all_latency = Window(window * 4)
        self._all_ttft = Window(window * 4)
        self._all_tpot = Window(window * 4)
        self.started_at = time.time()

    # ---- recording ---------------------------------------------------------------------

    def _labels(self, labels: MetricLabels) -> MetricLabels:
        if not isinstance(labels, MetricLabels):
            raise InvalidRequestError(f"expected MetricLabels, got {type(labels).__name__}")
        guard = self._guard
        return MetricLabels(
            guard.admit("provider", labels.provider),
            guard.admit("model", labels.model),
            guard.admit("operation", labels.operation),
        )

    def _get(self, labels: MetricLabels) -> Series:
        series = self._series.get(labels)
        if series is None:
            if len(self._series) >= self.max_label_values * 4:  # label sets are bounded too
                labels = MetricLabels(OVERFLOW, OVERFLOW, OVERFLOW)
                series = self._series.get(labels)
            if series is None:
                series = self._series[labels] = Series(self.window)
        return series

    def record_request(
        self,
        labels: MetricLabels,
        latency: float,
        status: str = "success",
        tokens_in: int = 0,
        tokens_out: int = 0,
        *,
        error_code: str | None = None,
        cost: float = 0.0,
        currency: str = "USD",
        ttft: float | None = None,
        time_per_output_token: float | None = None,
        retries: int = 0,
    ) -> None:
        """Count one finished call: ``latency`` and ``ttft`` in seconds, ``status``
        ``"success"``, ``"error"`` (with ``error_code``, e.g. ``"E2001"``) or
        ``"cancelled"`` (closed early)."""
        if status not in STATUSES:
            raise InvalidRequestError(f"status must be one of {STATUSES}, got {status!r}")
        if not isinstance(latency, int | float) or latency < 0 or latency != latency:
            raise InvalidRequestError(f"latency is seconds >= 0, got {latency!r}")
        with self._lock:
            key = self._labels(labels)
            series = self._get(key)
            series.requests += 1
            ok = status == "success"
            if ok:
                series.successes += 1
            elif status == "error":
                series.failures += 1
                code = error_code if error_code and _CODE.fullmatch(error_code) else "E9999"
                code = self._codes.admit("code", code)
                series.errors[code] = series.errors.get(code, 0) + 1
            series.latency.observe(latency)
            series.latency_window.add(latency)
            self._all_latency.add(latency)
            if ttft is not None:
                series.ttft.observe(ttft)
                series.ttft_window.add(ttft)
                self._all_ttft.add(ttft)
            if time_per_output_token is not None:
                series.tpot.observe(time_per_output_token)
                series.tpot_window.add(time_per_output_token)
                self._all_tpot.add(time_per_output_token)
            series.tokens_in += max(0, int(tokens_in))
            series.tokens_out += max(0, int(tokens_out))
            if cost:
                unit = self._codes.admit("currency", currency)
                series.cost[unit] = series.cost.get(unit, 0.0) + float(cost)
            series.retries += max(0, int(retries))
            if status != "cancelled":
                recent = self._recent.get(key.provider)
                if recent is None:
                    recent = self._recent[key.provider] = Recent(self.recent_size)
                recent.outcomes.append(Outcome(time.monotonic(), ok, latency))

    def record_retry(self, labels: MetricLabels, count: int = 1) -> None:
        """Count retries of a call (``record_request(retries=)`` does it too)."""
        with self._lock:
            self._get(self._labels(labels)).retries += count

    def record_fallback(self, labels: MetricLabels, count: int = 1) -> None:
        """Count a fallback away from the target ``labels`` name."""
        with self._lock:
            self._get(self._labels(labels)).fallbacks += count

    def record_breaker_open(self, labels: MetricLabels, count: int = 1) -> None:
        """Count a circuit breaker opening for the target ``labels`` name."""
        with self._lock:
            self._get(self._labels(labels)).breaker_opens += count

    def reset(self) -> None:
        """Forget everything recorded."""
        with self._lock:
            self._series.clear()
            self._recent.clear()
            self._guard.clear()
            self._codes.clear()
            self._all_latency = Window(self.window * 4)
            self._all_ttft = Window(self.window * 4)
            self._all_tpot = Window(self.window * 4)

    # ---- reading -----------------------------------------------------------------------

    def recent_outcomes(self, provider: str, seconds: float) -> list[Outcome]:
        """The outcomes of ``provider`` within the last ``seconds`` (health checks)."""
        start = time.monotonic() - seconds
        with self._lock:
            recent = self._recent.get(provider)
            return recent.since(start) if recent is not None else []

    def providers(self) -> list[str]:
        """Providers that have recorded calls."""
        with self._lock:
            return sorted(self._recent)

    def get_snapshot(self) -> MetricsSnapshot:
        """Totals, percentiles (ms) and one :class:`SeriesSnapshot` per label set."""
        with self._lock:
            items = sorted(self._series.items(), key=lambda kv: attrs.astuple(kv[0]))
            series = tuple(_series_snapshot(labels, s) for labels, s in items)
            lat = _ms(self._all_latency.percentiles(50, 95, 99))
            ttft = _ms(self._all_ttft.percentiles(50, 95, 99))
            mean = self._all_latency.mean() * 1000.0
            tpot = _ms(self._all_tpot.percentiles(50))[0]
        total = sum(s.requests for s in series)
        failed = sum(s.failures for s in series)
        costs: dict[str, float] = {}
        errors: dict[str, int] = {}
        for s in series:
            for unit, amount in s.cost.items():
                costs[unit] = costs.get(unit, 0.0) + amount
            for code, n in s.errors_by_code.items():
                errors[code] = errors.get(code, 0) + n
        return MetricsSnapshot(
            total_requests=total,
            successful_requests=sum(s.successes for s in series),
            failed_requests=failed,
            cancelled_requests=total - failed - sum(s.successes for s in series),
            error_rate=failed / total if total else 0.0,
            latency_avg_ms=mean,
            latency_p50_ms=lat[0],
            latency_p95_ms=lat[1],
            latency_p99_ms=lat[2],
            ttft_p50_ms=ttft[0],
            ttft_p95_ms=ttft[1],
            ttft_p99_ms=ttft[2],
            time_per_output_token_ms=tpot,
            total_tokens_in=sum(s.tokens_in for s in series),
            total_tokens_out=sum(s.tokens_out for s in series),
            total_cost=sum(costs.values()),
            cost_by_currency=costs,
            errors_by_code=dict(sorted(errors.items())),
            retries=sum(s.retries for s in series),
            fallbacks=sum(s.fallbacks for s in series),
            breaker_opens=sum(s.breaker_opens for s in series),
            series=series,
        )

    def series_copy(self) -> list[tuple[MetricLabels, Series]]:
        """A consistent copy of every series (for exporters)."""
        with self._lock:
            out = []
            for labels, s in sorted(self._series.items(), key=lambda kv: attrs.astuple(kv[0])):
                c = Series(1)
                for name in ("requests", "successes", "failures", "tokens_in", "tokens_out"):
                    setattr(c, name, getattr(s, name))
                c.retries, c.fallbacks, c.breaker_opens = s.retries, s.fallbacks, s.breaker_opens
                c.cost, c.errors = dict(s.cost), dict(s.errors)
                c.latency, c.ttft, c.tpot = s.latency.copy(), s.ttft.copy(), s.tpot.copy()
                out.append((labels, c))
            return out

    def to_prometheus(self, prefix: str = "ailib") -> str:
        """The Prometheus text exposition format (0.0.4) of everything recorded."""
        from ailib.telemetry.prometheus import render

        return render(self.series_copy(), prefix)

    def collect(self) -> Iterator[Any]:
        """Metric families for a ``prometheus_client`` registry::

        from prometheus_client import CollectorRegistry, generate_latest
        registry = CollectorRegistry(); registry.register(collector)
        """
        from ailib.telemetry.prometheus import families

        yield from families(self.to_prometheus())

    def describe(self) -> list[Any]:
        """Nothing ahead of time (``prometheus_client`` then collects when asked)."""
        return []

    def __repr__(self) -> str:
        with self._lock:
            return f"MetricsCollector(series={len(self._series)})"


def _series_snapshot(labels: MetricLabels, s: Series) -> SeriesSnapshot:
    p50, p95, p99 = _ms(s.latency_window.percentiles(50, 95, 99))
    return SeriesSnapshot(
        labels=labels,
        requests=s.requests,
        successes=s.successes,
        failures=s.failures,
        latency_p50_ms=p50,
        latency_p95_ms=p95,
        latency_p99_ms=p99,
        ttft_p50_ms=_ms(s.ttft_window.percentiles(50))[0],
        time_per_output_token_ms=_ms(s.tpot_window.percentiles(50))[0],
        tokens_in=s.tokens_in,
        tokens_out=s.tokens_out,
        cost=dict(s.cost),
        errors_by_code=dict(sorted(s.errors.items())),
        retries=s.retries,
        fallbacks=s.fallbacks,
        breaker_opens=s.breaker_opens,
    )
