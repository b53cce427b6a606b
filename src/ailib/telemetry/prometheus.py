"""The Prometheus text exposition format (0.0.4) of a metrics collector.

:func:`render` needs nothing beyond the standard library; :func:`families` turns the
text into ``prometheus_client`` metric families (optional extra ``ailib[prometheus]``),
so a ``prometheus_client`` registry collects a :class:`MetricsCollector` directly.

Metrics (every one labelled ``provider``, ``model``, ``operation``)::

    ailib_requests_total{status}            counter    calls by outcome
    ailib_request_errors_total{code}        counter    failed calls by standard code
    ailib_request_duration_seconds          histogram  call latency
    ailib_time_to_first_token_seconds       histogram  streams: first content
    ailib_time_per_output_token_seconds     histogram  streams: per output token
    ailib_tokens_total{type}                counter    input / output tokens
    ailib_cost_total{currency}              counter    cost from the manifests' prices
    ailib_retries_total / ailib_fallbacks_total / ailib_breaker_opens_total

Example::

    text = collector.to_prometheus()
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ailib.telemetry.metrics import MetricLabels
    from ailib.telemetry.series import Histogram, Series


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def _labels(base: dict[str, str], **more: str) -> str:
    pairs = {**base, **more}
    return "{" + ",".join(f'{k}="{_escape_label(v)}"' for k, v in pairs.items()) + "}"


class _Family:
    __slots__ = ("help", "kind", "lines", "name")

    def __init__(self, name: str, kind: str, help_text: str) -> None:
        self.name, self.kind, self.help = name, kind, help_text
        self.lines: list[str] = []

    def sample(self, suffix: str, labels: str, value: float) -> None:
        self.lines.append(f"{self.name}{suffix}{labels} {_number(value)}")

    def histogram(self, base: dict[str, str], hist: Histogram) -> None:
        for bound, count in zip(hist.bounds, hist.counts, strict=True):
            self.sample("_bucket", _labels(base, le=_number(float(bound))), count)
        self.sample("_bucket", _labels(base, le="+Inf"), hist.count)
        self.sample("_sum", _labels(base), hist.total)
        self.sample("_count", _labels(base), hist.count)

    def text(self) -> str:
        head = f"# HELP {self.name} {_escape_help(self.help)}\n# TYPE {self.name} {self.kind}\n"
        return head + "".join(line + "\n" for line in self.lines)


def render(series: list[tuple[MetricLabels, Series]], prefix: str = "ailib") -> str:
    """The exposition text of ``series`` (from ``MetricsCollector.series_copy()``)."""
    p = prefix
    fam = {
        "requests": _Family(f"{p}_requests_total", "counter", "Calls by outcome."),
        "errors": _Family(
            f"{p}_request_errors_total", "counter", "Failed calls by standard error code."
        ),
        "latency": _Family(f"{p}_request_duration_seconds", "histogram", "Call latency."),
        "ttft": _Family(
            f"{p}_time_to_first_token_seconds", "histogram", "Streams: time to first content."
        ),
        "tpot": _Family(
            f"{p}_time_per_output_token_seconds", "histogram", "Streams: time per output token."
        ),
        "tokens": _Family(f"{p}_tokens_total", "counter", "Input and output tokens."),
        "cost": _Family(f"{p}_cost_total", "counter", "Cost from the manifests' prices."),
        "retries": _Family(f"{p}_retries_total", "counter", "Retried attempts."),
        "fallbacks": _Family(f"{p}_fallbacks_total", "counter", "Fallbacks away from a target."),
        "opens": _Family(f"{p}_breaker_opens_total", "counter", "Circuit breaker openings."),
    }
    for labels, s in series:
        base = labels.as_dict()
        if s.requests:
            cancelled = s.requests - s.successes - s.failures
            for status, n in (("success", s.successes), ("error", s.failures)):
                fam["requests"].sample("", _labels(base, status=status), n)
            if cancelled:
                fam["requests"].sample("", _labels(base, status="cancelled"), cancelled)
            fam["latency"].histogram(base, s.latency)
            fam["tokens"].sample("", _labels(base, type="input"), s.tokens_in)
            fam["tokens"].sample("", _labels(base, type="output"), s.tokens_out)
        for code, n in sorted(s.errors.items()):
            fam["errors"].sample("", _labels(base, code=code), n)
        if s.ttft.count:
            fam["ttft"].histogram(base, s.ttft)
        if s.tpot.count:
            fam["tpot"].histogram(base, s.tpot)
        for currency, amount in sorted(s.cost.items()):
            fam["cost"].sample("", _labels(base, currency=currency), amount)
        for key, n in (("retries", s.retries), ("fallbacks", s.fallbacks)):
            if n:
                fam[key].sample("", _labels(base), n)
        if s.breaker_opens:
            fam["opens"].sample("", _labels(base), s.breaker_opens)
    return "".join(f.text() for f in fam.values() if f.lines)


def families(text: str) -> Iterator[Any]:
    """``prometheus_client`` metric families parsed from exposition ``text``."""
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError as exc:
        from ailib.errors import ConfigurationError

        raise ConfigurationError(
            "collecting into a prometheus_client registry needs the optional "
            "'prometheus_client' package: pip install 'ailib[prometheus]'"
        ) from exc
    yield from text_string_to_metric_families(text)
