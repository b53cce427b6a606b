"""The heuristic estimate against what providers billed for the corpus's recorded requests.

The README states these bounds; ``python tests/unit/tokens_corpus.py`` prints the table.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import tokens_corpus

from ailib.tokens.heuristic import family_of


def test_estimate_error_stays_within_the_stated_bound() -> None:
    rows = tokens_corpus.measure(exact=False)
    overall = tokens_corpus.summary(rows)
    assert overall["samples"] >= 90  # the measurement itself still sees the corpus
    assert overall["median"] <= 0.25
    assert overall["p90"] <= 0.65


def test_estimate_for_openai_models_is_close() -> None:
    rows = [r for r in tokens_corpus.measure(exact=False) if family_of(r[0].model).name == "openai"]
    stats = tokens_corpus.summary(rows)
    assert stats["samples"] >= 20
    assert stats["median"] <= 0.08


def test_long_prompts_stay_within_bound() -> None:
    rows = [r for r in tokens_corpus.measure(exact=False) if r[0].input_tokens >= 300]
    stats = tokens_corpus.summary(rows)
    assert stats["samples"] >= 15
    assert stats["median"] <= 0.40
