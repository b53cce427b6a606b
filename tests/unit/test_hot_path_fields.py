"""The per-call hot path builds its results positionally: a moved field must fail here.

``Assembler.response`` / ``current_usage`` (pipeline/assemble.py) and ``Rates.cost``
(tokens/pricing.py) pass the fields of ChatResponse, Usage and Cost in order (keyword
arguments cost a call each time); a field added or moved must be carried there too.
"""

from __future__ import annotations

import attrs

from ailib.pipeline.assemble import Assembler
from ailib.tokens.pricing import Rates
from ailib.types.response import ChatResponse, Cost, Usage


def test_positional_fields_keep_their_order() -> None:
    assert [f.name for f in attrs.fields(ChatResponse)][:14] == [
        "content",
        "tool_calls",
        "finish_reason",
        "usage",
        "request_id",
        "raw",
        "model",
        "id",
        "reasoning",
        "refusal",
        "raw_finish_reason",
        "candidates",
        "thinking_blocks",
        "audio",
    ]
    assert [f.name for f in attrs.fields(Usage)] == [
        "input_tokens",
        "output_tokens",
        "total_tokens",
        "cached_tokens",
        "reasoning_tokens",
        "cache_creation_tokens",
        "audio_input_tokens",
        "audio_output_tokens",
    ]
    assert [f.name for f in attrs.fields(Cost)] == [
        "input_cost",
        "output_cost",
        "cached_input_cost",
        "cache_write_cost",
        "reasoning_cost",
        "currency",
        "audio_input_cost",
        "audio_output_cost",
    ]


def test_positional_results_carry_each_value_to_its_field() -> None:
    asm = Assembler({"end_turn": "stop"}, default_model="m", events=False)
    asm.feed(
        [
            ("meta", 0, {"id": "r1", "model": "served"}),
            ("content", 0, {"text": "Hi"}),
            ("thinking", 0, {"text": "hmm", "signature": "s"}),
            ("finish", 0, {"reason": "end_turn"}),
            ("usage", 0, {"input_tokens": 7, "output_tokens": 5, "cached_tokens": 2}),
            ("usage", 0, {"reasoning_tokens": 1, "audio_input_tokens": 3}),
        ]
    )
    asm.finish()
    resp = asm.response(request_id="req", raw={"raw": 1})
    assert (resp.content, resp.finish_reason, resp.raw_finish_reason) == ("Hi", "stop", "end_turn")
    assert (resp.request_id, resp.raw, resp.model, resp.id) == ("req", {"raw": 1}, "served", "r1")
    assert (resp.reasoning, resp.refusal, resp.audio, resp.tool_calls) == ("hmm", None, None, [])
    assert [b.signature for b in resp.thinking_blocks] == ["s"]
    assert resp.candidates[0].content == "Hi"
    assert resp.usage == Usage(
        input_tokens=7,
        output_tokens=5,
        total_tokens=12,
        cached_tokens=2,
        reasoning_tokens=1,
        audio_input_tokens=3,
    )
    rates = Rates(1.0, 2.0, 0.5, 1.5, 3.0, 4.0, 5.0)
    cost = rates.cost(Usage(10, 6, 16, 2, 1, 3, 4, 2), "EUR")
    assert cost == Cost(
        input_cost=(1 * 1.0 + 4 * 4.0 + 2 * 0.5 + 3 * 1.5) / 1e6,
        output_cost=(3 * 2.0 + 2 * 5.0 + 1 * 3.0) / 1e6,
        cached_input_cost=2 * 0.5 / 1e6,
        cache_write_cost=3 * 1.5 / 1e6,
        reasoning_cost=1 * 3.0 / 1e6,
        currency="EUR",
        audio_input_cost=4 * 4.0 / 1e6,
        audio_output_cost=2 * 5.0 / 1e6,
    )
