"""ailib.routing without a network: models from the manifests, selectors, the seed example."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest

from ailib.errors import InvalidRequestError
from ailib.routing import (
    CostBasedSelector,
    LatencyBasedSelector,
    LatencyTracker,
    LeastInFlightSelector,
    ModelInfo,
    ModelManager,
    PricingInfo,
    QualityBasedSelector,
    RoundRobinSelector,
    WeightedSelector,
    create_all_models,
    create_anthropic_models,
    create_models,
    create_openai_models,
)
from ailib.tokens.pricing import effective_manifest


def test_seed_readme_routing_example_runs_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    from ailib.routing import (  # the seed's import line, ailib names
        CostBasedSelector,
        ModelInfo,  # noqa: F401
        ModelManager,  # noqa: F401
        QualityBasedSelector,
        create_anthropic_models,
        create_openai_models,
    )

    manager = create_openai_models()
    manager.merge(create_anthropic_models())

    code_models = manager.filter_by_capability("code_generation")
    print(f"Code models: {[m.name for m in code_models]}")

    selector = CostBasedSelector()
    cheapest = selector.select(manager.list_models())
    print(f"Cheapest: {cheapest.name} @ ${cheapest.pricing.input_cost_per_1k}/1K")

    quality_selector = QualityBasedSelector()
    best = quality_selector.select(manager.list_models())
    print(f"Best quality: {best.name}")

    recommended = manager.recommend_for("chat")

    out = capsys.readouterr().out
    assert "gpt-4o" in out and "claude-sonnet-4-5" in out
    assert all(m.supports("tools") and m.supports("text") for m in code_models)
    priced = [m.pricing.input_cost_per_1k for m in manager.list_models() if m.pricing]
    assert cheapest.pricing is not None
    assert cheapest.pricing.blended_per_1k == min(
        m.pricing.blended_per_1k for m in manager.list_models() if m.pricing
    )
    assert min(priced) <= cheapest.pricing.input_cost_per_1k
    scored = [m for m in manager.list_models() if m.quality is not None]
    assert best.quality == max(m.quality for m in scored if m.quality is not None)
    assert recommended is not None and recommended.supports("text")
    assert recommended.quality == best.quality  # chat: the best scored text model


def test_models_come_from_the_manifests_not_from_code() -> None:
    manager = create_openai_models()
    manifest = effective_manifest("openai")
    assert manifest is not None
    assert {m.name for m in manager} == set(manifest.models)
    gpt4o = manager.get("openai/gpt-4o")
    entry = manifest.models["gpt-4o"]
    assert gpt4o is not None and gpt4o.id == "openai/gpt-4o"
    assert gpt4o.context_window == entry["context_window"]
    assert gpt4o.capabilities == frozenset(entry["capabilities"])
    assert gpt4o.pricing is not None
    assert gpt4o.pricing.input_cost_per_1k == pytest.approx(entry["pricing"]["input_per_1m"] / 1000)
    assert gpt4o.quality == entry["quality"]
    assert gpt4o.input_modalities == {"text", "image"} and gpt4o.output_modalities == {"text"}
    audio = manager.get("gpt-4o-audio-preview")
    assert audio is not None and "audio" in audio.input_modalities | audio.output_modalities


def test_a_manifest_override_on_the_search_path_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    data = json.loads(json.dumps(effective_manifest("mock").data))  # type: ignore[union-attr]
    data.setdefault("metadata", {}).setdefault("models", {})["brand-new"] = {
        "capabilities": ["text", "vision"],
        "quality": 99,
        "pricing": {"input_per_1m": 1, "output_per_1m": 2},
    }
    (tmp_path / "mock.json").write_text(json.dumps(data))
    monkeypatch.setenv("AI_PROTOCOL_PATH", str(tmp_path))
    new = create_models("mock").get("mock/brand-new")
    assert new is not None and new.quality == 99 and new.supports("vision")


def test_merge_filter_list_and_recommend() -> None:
    manager = create_openai_models()
    count = len(manager)
    assert manager.merge(create_anthropic_models()) is manager
    assert len(manager) > count and "anthropic/claude-sonnet-4-5" in manager
    vision = manager.filter_by_capability("vision")
    assert vision and all("vision" in m.capabilities for m in vision)
    assert manager.filter_by_capability("no-such-capability") == []
    reasoning = manager.recommend_for("reasoning")
    assert reasoning is not None and "reasoning" in reasoning.capabilities
    assert manager.recommend_for("embedding") is not None  # text-embedding-3-*
    assert ModelManager().recommend_for("chat") is None
    with pytest.raises(InvalidRequestError):
        manager.filter_by_capability("")
    with pytest.raises(InvalidRequestError):
        manager.merge([])  # type: ignore[arg-type]


def test_every_builtin_manifest_loads_and_quality_is_declared_for_well_known_models() -> None:
    everything = create_all_models()
    assert len(everything) > 50
    for model in ("openai/gpt-4o", "anthropic/claude-sonnet-4-5", "gemini/gemini-2.5-pro"):
        info = everything.get(model)
        assert info is not None and info.quality is not None and 0 <= info.quality <= 100
    with pytest.raises(InvalidRequestError):
        create_models("no-such-provider")


def _model(name: str, inp: float | None, quality: float | None = None) -> ModelInfo:
    pricing = PricingInfo(inp, inp * 4) if inp is not None else None
    return ModelInfo(
        name=name, provider="p", capabilities=frozenset({"text"}), pricing=pricing, quality=quality
    )


def test_cost_and_quality_selectors() -> None:
    a, b, c = _model("a", 0.01, 50), _model("b", 0.001, 50), _model("c", None, 90)
    assert CostBasedSelector().select([a, b, c]) is b  # unpriced last
    assert QualityBasedSelector().select([a, b, c]) is c
    assert QualityBasedSelector().select([a, b]) is b  # tie: the cheaper
    assert QualityBasedSelector().select([_model("x", 1), a]) is a  # unscored last
    with pytest.raises(InvalidRequestError):
        CostBasedSelector().select([])


def test_round_robin_weighted_and_least_in_flight() -> None:
    items = ["a", "b", "c"]
    rr = RoundRobinSelector()
    assert [rr.select(items) for _ in range(6)] == items * 2
    weighted = WeightedSelector({"a": 8, "b": 2, "c": 0}, seed=1)
    picks = Counter(weighted.select(items) for _ in range(400))
    assert picks["c"] == 0 and picks["a"] > 2 * picks["b"] > 0
    with pytest.raises(InvalidRequestError):
        WeightedSelector({"a": -1})
    with pytest.raises(InvalidRequestError):
        WeightedSelector({"a": 0}).select(["a"])
    own = [SimpleNamespace(key="x", weight=1.0), SimpleNamespace(key="y", weight=9.0)]
    picks2 = Counter(WeightedSelector(seed=3).select(own).key for _ in range(200))
    assert picks2["y"] > picks2["x"]
    busy = [SimpleNamespace(key="x", in_flight=3), SimpleNamespace(key="y", in_flight=1),
            SimpleNamespace(key="z", in_flight=1)]  # fmt: skip
    least = LeastInFlightSelector()
    assert {least.select(busy).key for _ in range(4)} == {"y", "z"}  # ties rotate


def test_latency_selector_prefers_unmeasured_then_fastest() -> None:
    tracker = LatencyTracker(alpha=0.5)
    selector = LatencyBasedSelector(tracker)
    a, b = SimpleNamespace(key="a"), SimpleNamespace(key="b")
    tracker.observe("a", 0.2)
    assert selector.select([a, b]) is b  # b was never measured: try it
    tracker.observe("b", 0.5)
    assert selector.select([a, b]) is a
    tracker.observe("a", 1.0)  # EWMA: 0.2 + 0.5 * 0.8 = 0.6
    assert tracker.get("a") == pytest.approx(0.6)
    assert selector.select([a, b]) is b
    assert tracker.samples("a") == 2
    with pytest.raises(InvalidRequestError):
        LatencyTracker(alpha=0)


def test_import_is_lazy() -> None:
    code = (
        "import sys, ailib.routing;"
        "assert 'ailib.routing.models' not in sys.modules;"
        "assert 'ailib.routing._async_array' not in sys.modules;"
        "ailib.routing.CostBasedSelector;"
        "assert 'ailib.routing.models' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
