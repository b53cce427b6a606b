"""MetricsCollector: the seed example, percentiles, bounded labels, Prometheus output."""

from __future__ import annotations

import threading

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from ailib.errors import InvalidRequestError
from ailib.telemetry import MetricLabels, MetricsCollector
from ailib.telemetry.series import OVERFLOW, LabelGuard, Window


def families(text: str) -> dict[str, object]:
    return {f.name: f for f in text_string_to_metric_families(text)}


def test_seed_readme_metrics_example_runs_as_written() -> None:
    from ailib.telemetry import MetricLabels, MetricsCollector, Tracer, get_logger

    logger = get_logger("my_app")
    logger.info("Request started", model="gpt-4o", tokens=100)

    collector = MetricsCollector()
    labels = MetricLabels(provider="openai", model="gpt-4o")
    collector.record_request(labels, latency=0.5, status="success", tokens_in=100, tokens_out=50)

    snapshot = collector.get_snapshot()
    assert f"Total requests: {snapshot.total_requests}" == "Total requests: 1"
    assert f"P99 latency: {snapshot.latency_p99_ms:.2f}ms" == "P99 latency: 500.00ms"

    prometheus_metrics = collector.to_prometheus()
    assert 'ailib_requests_total{provider="openai",model="gpt-4o"' in prometheus_metrics

    tracer = Tracer("my_service")
    with tracer.span("api_call") as span:
        span.set_attribute("model", "gpt-4o")


def test_snapshot_counts_tokens_cost_errors_and_percentiles() -> None:
    collector = MetricsCollector()
    labels = MetricLabels("openai", "gpt-4o")
    for ms in range(1, 101):  # 1..100 ms
        collector.record_request(labels, ms / 1000, tokens_in=2, tokens_out=3, cost=0.5)
    collector.record_request(labels, 0.2, "error", error_code="E2001")
    collector.record_request(labels, 0.2, "error", error_code="not-a-code")
    collector.record_request(labels, 0.1, "cancelled")
    collector.record_request(labels, 0.1, ttft=0.05, time_per_output_token=0.01)
    collector.record_retry(labels, 2)
    collector.record_fallback(labels)
    collector.record_breaker_open(labels)
    snap = collector.get_snapshot()
    assert snap.total_requests == 104
    assert (snap.successful_requests, snap.failed_requests, snap.cancelled_requests) == (101, 2, 1)
    assert snap.error_rate == pytest.approx(2 / 104)
    assert snap.errors_by_code == {"E2001": 1, "E9999": 1}
    assert snap.total_tokens_in == 200 and snap.total_tokens_out == 300
    assert snap.total_tokens == 500
    assert snap.total_cost == pytest.approx(50.0) and snap.cost_by_currency == {"USD": 50.0}
    assert 45 <= snap.latency_p50_ms <= 60
    assert 90 <= snap.latency_p95_ms <= 200 and snap.latency_p99_ms >= snap.latency_p95_ms
    assert snap.ttft_p50_ms == pytest.approx(50.0)
    assert snap.time_per_output_token_ms == pytest.approx(10.0)
    assert (snap.retries, snap.fallbacks, snap.breaker_opens) == (2, 1, 1)
    (series,) = snap.series
    assert series.labels == labels and series.requests == 104
    assert snap.to_dict()["total_requests"] == 104


def test_empty_snapshot_is_zero() -> None:
    snap = MetricsCollector().get_snapshot()
    assert snap.total_requests == 0 and snap.latency_p99_ms == 0.0 and snap.error_rate == 0.0
    assert MetricsCollector().to_prometheus() == ""


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"status": "ok"}, "status must be one of"),
        ({"latency": -1.0}, "latency is seconds"),
        ({"latency": float("nan")}, "latency is seconds"),
    ],
)
def test_bad_records_get_a_typed_error(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"latency": 0.1, **kwargs}
    with pytest.raises(InvalidRequestError, match=message):
        MetricsCollector().record_request(MetricLabels(), **args)  # type: ignore[arg-type]


def test_bad_settings_and_labels_get_a_typed_error() -> None:
    with pytest.raises(InvalidRequestError, match="max_label_values"):
        MetricsCollector(max_label_values=0)
    with pytest.raises(InvalidRequestError, match="expected MetricLabels"):
        MetricsCollector().record_request({"provider": "x"}, 0.1)  # type: ignore[arg-type]


def test_attacker_chosen_model_names_do_not_grow_memory() -> None:
    collector = MetricsCollector(max_label_values=5, window=8)
    for i in range(5000):
        collector.record_request(MetricLabels("openai", f"model-{i}" + "x" * 500), 0.01)
    snap = collector.get_snapshot()
    models = {s.labels.model for s in snap.series}
    assert len(models) == 6 and OVERFLOW in models  # 5 admitted, the rest under "other"
    assert all(len(m) <= 120 for m in models)
    assert snap.total_requests == 5000
    overflow = next(s for s in snap.series if s.labels.model == OVERFLOW)
    assert overflow.requests == 4995
    assert len(collector.to_prometheus()) < 40_000  # 6 series, whatever the traffic


def test_label_sets_are_bounded_even_when_each_label_is_within_bounds() -> None:
    collector = MetricsCollector(max_label_values=3)
    for p in range(3):
        for m in range(3):
            for op in ("chat", "stream", "x"):
                collector.record_request(MetricLabels(f"p{p}", f"m{m}", op), 0.01)
    snap = collector.get_snapshot()
    assert len(snap.series) <= 3 * 4 + 1 and snap.total_requests == 27


def test_label_guard_strips_control_characters() -> None:
    guard = LabelGuard(10)
    assert guard.admit("model", 'gpt\n4"o\x00') == 'gpt4"o'
    assert guard.admit("model", "") == "unknown"


def test_window_percentiles_are_nearest_rank_over_the_last_samples() -> None:
    window = Window(4)
    for v in (100.0, 1.0, 2.0, 3.0, 4.0):  # 100 falls out of the window
        window.add(v)
    assert window.percentiles(50, 100) == [2.0, 4.0]
    assert Window(3).percentiles(99) == [0.0]


def test_prometheus_text_parses_with_prometheus_clients_own_parser() -> None:
    collector = MetricsCollector()
    odd = MetricLabels("openai", 'we"ird\\model', "stream")
    collector.record_request(odd, 0.3, tokens_in=10, tokens_out=20, cost=0.25, ttft=0.1,
                             time_per_output_token=0.02, retries=1)  # fmt: skip
    collector.record_request(odd, 0.7, "error", error_code="E3001")
    collector.record_fallback(odd)
    collector.record_breaker_open(odd)
    text = collector.to_prometheus()
    found = families(text)
    assert set(found) == {
        "ailib_requests", "ailib_request_errors", "ailib_request_duration_seconds",
        "ailib_time_to_first_token_seconds", "ailib_time_per_output_token_seconds",
        "ailib_tokens", "ailib_cost", "ailib_retries", "ailib_fallbacks", "ailib_breaker_opens",
    }  # fmt: skip
    requests = found["ailib_requests"]
    assert requests.type == "counter"  # type: ignore[attr-defined]
    by_status = {s.labels["status"]: s.value for s in requests.samples}  # type: ignore[attr-defined]
    assert by_status == {"success": 1.0, "error": 1.0}
    sample = requests.samples[0]  # type: ignore[attr-defined]
    assert sample.labels["model"] == 'we"ird\\model' and sample.labels["operation"] == "stream"
    duration = found["ailib_request_duration_seconds"]
    assert duration.type == "histogram"  # type: ignore[attr-defined]
    count = next(s for s in duration.samples if s.name.endswith("_count"))  # type: ignore[attr-defined]
    total = next(s for s in duration.samples if s.name.endswith("_sum"))  # type: ignore[attr-defined]
    assert count.value == 2 and total.value == pytest.approx(1.0)
    inf = next(s for s in duration.samples if s.labels.get("le") == "+Inf")  # type: ignore[attr-defined]
    assert inf.value == 2
    errors = found["ailib_request_errors"].samples  # type: ignore[attr-defined]
    assert [(s.labels["code"], s.value) for s in errors] == [("E3001", 1.0)]
    cost = found["ailib_cost"].samples[0]  # type: ignore[attr-defined]
    assert cost.labels["currency"] == "USD" and cost.value == 0.25


def test_a_prometheus_client_registry_collects_the_collector_directly() -> None:
    collector = MetricsCollector()
    collector.record_request(MetricLabels("anthropic", "claude"), 0.2, tokens_in=5, tokens_out=7)
    registry = CollectorRegistry()
    registry.register(collector)
    exposed = generate_latest(registry).decode()
    assert (
        'ailib_tokens_total{model="claude",operation="chat",provider="anthropic",type="output"} 7.0'
        in exposed
    )
    assert registry.get_sample_value(
        "ailib_requests_total",
        {"provider": "anthropic", "model": "claude", "operation": "chat", "status": "success"},
    ) == 1.0  # fmt: skip
    # a second record shows up at the next scrape
    collector.record_request(MetricLabels("anthropic", "claude"), 0.2)
    labels = {"provider": "anthropic", "model": "claude", "operation": "chat"}
    assert registry.get_sample_value("ailib_request_duration_seconds_count", labels) == 2.0


def test_recording_from_many_threads_loses_nothing() -> None:
    collector = MetricsCollector()
    labels = MetricLabels("openai", "gpt-4o")

    def work() -> None:
        for _ in range(500):
            collector.record_request(labels, 0.001, tokens_in=1)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    snap = collector.get_snapshot()
    assert snap.total_requests == 4000 and snap.total_tokens_in == 4000


def test_reset_forgets_everything() -> None:
    collector = MetricsCollector()
    collector.record_request(MetricLabels("openai", "m"), 0.1)
    collector.reset()
    assert collector.get_snapshot().total_requests == 0 and collector.providers() == []


def test_recent_outcomes_feed_health_checks() -> None:
    collector = MetricsCollector(recent=3)
    for ok in (True, False, True, False):
        collector.record_request(MetricLabels("openai", "m"), 0.1, "success" if ok else "error")
    outcomes = collector.recent_outcomes("openai", 60)
    assert [o.ok for o in outcomes] == [False, True, False]
    assert collector.recent_outcomes("anthropic", 60) == []
