"""Cross-check: every priced model that the genai-prices package also knows costs the same.

genai-prices (pydantic's price database, each price with its source page) is a `dev`
dependency only. For each built-in manifest model with ``pricing``, the same model is
looked up at the matching genai-prices provider; input, output, cached-read,
cache-write and audio input/output rates and the long-prompt tiers are compared. Every
difference must be in ``EXPLAINED`` with its reason; an explained difference that
disappeared fails too, so the list stays true.

Print the whole comparison with ``python tests/unit/test_pricing_genai_prices.py``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from ailib.providers._registry import PROVIDERS
from ailib.runtime.registry import compiled_spec
from ailib.tokens.pricing import ModelPricing, manifest_pricing

genai_prices = pytest.importorskip("genai_prices")  # in `dev`; absent from a plain install
from genai_prices import data_snapshot  # noqa: E402

# ailib provider id -> genai-prices provider id (None: genai-prices does not list it).
PROVIDER_MAP: dict[str, str | None] = {
    "anthropic": "anthropic",
    "bedrock": "aws",
    "cerebras": "cerebras",
    "cohere": "cohere",
    "deepseek": "deepseek",
    "deepseek-responses": "deepseek",
    "fireworks": "fireworks",
    "gemini": "google",
    "google": "google",
    "groq": "groq",
    "minimax": "minimax",
    "mistral": "mistral",
    "moonshot": "moonshotai",
    "openai": "openai",
    "openai-responses": "openai",
    "openrouter": "openrouter",
    "perplexity": "perplexity",
    "together": "together",
    "voyage": "voyageai",
    "xai": "x-ai",
    "zhipu": "zai",
    "azure-openai": "azure",
}

_ALIASES = (
    "retired 2026-07-24; DeepSeek routed this alias to deepseek-v4-flash, whose rates the "
    "manifest gives; genai-prices still lists the DeepSeek-V3 rates"
)
# (provider, model, field) -> why our manifest differs from genai-prices.
EXPLAINED: dict[tuple[str, str, str], str] = {
    **{
        ("deepseek", model, field): _ALIASES
        for model in ("deepseek-chat", "deepseek-reasoner")
        for field in ("input", "output", "cache_read")
    },
    ("mistral", "mistral-embed", "output"): (
        "an embeddings model produces no output tokens; genai-prices repeats the input rate"
    ),
}


#: Rates compared: text input and output, cache reads and writes, spoken input and output
#: (a model billing audio apart whose manifest lacks the audio rates shows up here).
FIELDS = ("input", "output", "cache_read", "cache_write", "input_audio", "output_audio")


def _num(value: Any) -> tuple[float, tuple[tuple[int, float], ...]]:
    """(base price, ((threshold, price), ...)) of a genai-prices price (flat or tiered)."""
    if value is None:
        return (float("nan"), ())
    if isinstance(value, Decimal | int | float):
        return (float(value), ())
    return (float(value.base), tuple((int(t.start), float(t.price)) for t in value.tiers))


def _ours(pricing: ModelPricing, field: str) -> tuple[float, tuple[tuple[int, float], ...]]:
    attr = {
        "input": "input_per_1m",
        "output": "output_per_1m",
        "cache_read": "cached_input_per_1m",
        "cache_write": "cache_write_per_1m",
        "input_audio": "audio_input_per_1m",
        "output_audio": "audio_output_per_1m",
    }[field]
    tiers = tuple((threshold, float(getattr(rates, attr))) for threshold, rates in pricing.tiers)
    return (float(getattr(pricing.rates, attr)), tiers)


def _same(a: tuple[float, tuple[Any, ...]], b: tuple[float, tuple[Any, ...]]) -> bool:
    if abs(a[0] - b[0]) > 1e-9 * max(1.0, abs(b[0])):
        return False
    if len(a[1]) != len(b[1]):
        return False
    return all(
        abs(x[0] - y[0]) <= 1 and abs(x[1] - y[1]) <= 1e-9 * max(1.0, y[1])
        for x, y in zip(a[1], b[1], strict=True)
    )


def comparisons() -> list[tuple[str, str, str, str, str]]:
    """(provider, model, field, ours, theirs) for every priced model both know."""
    snapshot = data_snapshot.get_snapshot()
    rows = []
    for provider_id in sorted(PROVIDERS):
        theirs_id = PROVIDER_MAP.get(provider_id)
        spec = compiled_spec(provider_id)
        if theirs_id is None or spec is None:
            continue
        for model in sorted(spec.manifest.models):
            ours = manifest_pricing(spec.manifest, model)
            if ours is None or ours.currency != "USD":
                continue
            try:
                _, info = snapshot.find_provider_model(model, None, theirs_id, None)
            except LookupError:
                continue
            prices = info.get_prices(_when(spec.manifest.prices_as_of))
            for field in FIELDS:
                theirs = getattr(prices, f"{field}_mtok", None)
                if theirs is None and field != "input" and field != "output":
                    continue  # genai-prices has no such rate: ours defaults to the text rate
                a, b = _ours(ours, field), _num(theirs)
                if not _same(a, b):
                    rows.append((provider_id, model, field, _show(a), _show(b)))
    return rows


def _when(prices_as_of: str | None) -> datetime:
    """Noon UTC of the manifest's ``prices_as_of``: off-peak, and the prices then in force."""
    assert prices_as_of, "a manifest with prices needs metadata.prices_as_of"
    day = datetime.strptime(prices_as_of, "%Y-%m-%d")
    return day.replace(hour=12, tzinfo=timezone.utc)


def _show(price: tuple[float, tuple[tuple[int, float], ...]]) -> str:
    tiers = "".join(f", >{t}: {p:g}" for t, p in price[1])
    return f"{price[0]:g}{tiers}"


def test_every_difference_from_genai_prices_is_explained() -> None:
    rows = comparisons()
    unexplained = [r for r in rows if r[:3] not in EXPLAINED]
    assert not unexplained, "prices differ from genai-prices without a reason:\n" + "\n".join(
        f"  {p} {m} {f}: ours {o} vs genai-prices {t}" for p, m, f, o, t in unexplained
    )
    stale = set(EXPLAINED) - {r[:3] for r in rows}
    assert not stale, f"explained differences that no longer exist (remove them): {stale}"


def test_the_cross_check_compares_many_models() -> None:
    """Guards the comparison itself: a broken lookup would compare nothing and pass."""
    snapshot = data_snapshot.get_snapshot()
    matched = 0
    for provider_id, theirs_id in PROVIDER_MAP.items():
        spec = compiled_spec(provider_id)
        for model in spec.manifest.models if spec and theirs_id else ():
            if manifest_pricing(spec.manifest, model) is None:
                continue
            try:
                snapshot.find_provider_model(model, None, theirs_id, None)
            except LookupError:
                continue
            matched += 1
    assert matched >= 40


if __name__ == "__main__":
    for row in comparisons():
        mark = " " if row[:3] in EXPLAINED else "!"
        print(mark, *row)
