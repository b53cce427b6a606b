"""The AI-Protocol cross-runtime compliance suite, run through ailib's real code paths.

Cases come from ``$COMPLIANCE_DIR/cases`` (default: ``../shared/ai-protocol/tests/compliance``;
the whole module is skipped, and the run's summary says so, when neither has cases).
Each case runs the ailib code named by its operation (loader and upgrade, classifier,
dialect encoders, decoders, event mapper, assembler, request preparation, engine retry
rules, credential resolution) and its ``expected`` block is checked strictly against what
ailib produced, translated into the case's vocabulary. Cases that cannot apply are listed
with their reason in ``NOT_APPLICABLE.yaml``; ailib bugs and gaps the suite finds are
strict xfails below, so they turn red once fixed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from . import run_protocol, run_wire
from ._expect import check
from .conftest import (
    Case,
    compliance_dir,
    expand_key,
    load_cases,
    not_applicable,
    reason_for,
    skip_reason,
)
from .run_protocol import Ctx, Observed

ROOT = compliance_dir()
if ROOT is None:
    pytest.skip(skip_reason(), allow_module_level=True)
SUITE: Path = ROOT
CASES = load_cases(SUITE)
NOT_APPLICABLE = not_applicable()

RUNNERS: dict[str, Callable[[Ctx], Observed]] = {
    "protocol_loading": run_protocol.protocol_loading,
    "error_classification": run_protocol.error_classification,
    "retry_decision": run_protocol.retry_decision,
    "fallback_decision": run_protocol.fallback_decision,
    "capability_guard": run_protocol.capability_guard,
    "capability_check": run_protocol.capability_check,
    "credential_resolution": run_protocol.credential_resolution,
    "auth_attachment": run_protocol.auth_attachment,
    "message_building": run_wire.message_building,
    "parameter_mapping": run_wire.parameter_mapping,
    "stream_decode": run_wire.stream_decode,
    "event_mapping": run_wire.event_mapping,
    "tool_accumulation": run_wire.tool_accumulation,
    "response_parsing": run_wire.response_parsing,
    "content_block_encode": run_wire.content_block_encode,
}
CHECKS: dict[str, dict[str, Any]] = {
    # the case lists the first decoded frames; frame_count bounds them all
    "stream_decode": {"prefix": frozenset({"events"})},
    # the request carries exactly these parameters (unsupported ones omitted)
    "parameter_mapping": {"exact": frozenset({"provider_params"})},
    "auth_attachment": {"exact": frozenset({"headers", "query_params"})},
    # validation messages are runtime-worded: the expected text must be part of ours
    "protocol_loading": {"fragments": frozenset({"errors"})},
}

# ---- ailib bugs and gaps found by the suite (strict: they must keep failing until fixed) ----

_JITTER = (
    "runtime/_async_engine.py AsyncEngine._delay (and the generated sync twin): with "
    "jitter 'full' the delay is random.uniform(0, min_delay * 2**n), so it can be far below "
    "retry_policy.min_delay_ms (0..1000 ms for the first retry of a 1000 ms policy); the "
    "case expects every delay within [min_delay_ms, max_delay_ms]. Fix: draw from "
    "[min_delay_ms, backoff] (or add the jitter on top of min_delay_ms)."
)
_NO_DIAGNOSTIC = (
    "runtime/request.py resolve_api_key: a missing credential silently yields Secret('') and "
    "the request is then sent without auth; no diagnostic names the variables that were "
    "tried ({needed}). Expected: an actionable message (warning or an E1002 error before "
    "sending) naming the manifest's token_env and its fallbacks, without any secret value."
)
_MASKED = (
    "runtime/request.py MaskedDict masks a fixed set of names (authorization, x-api-key, "
    "api-key, x-goog-api-key, key, x-amz-security-token); a manifest's own credential "
    "{where} is printed in clear by repr()/str() of the engine's headers/query. Fix: "
    "auth_headers should mark endpoint.auth.header / endpoint.auth.param as secret too."
)
_DOCUMENTS = (
    "dialects/{module}.py drops ContentBlock('document', ...) without a word (only text, "
    "image{extra} are encoded), so the PDF never reaches the provider. Expected: {wire}; "
    "an unencodable block (here a 'ref' source) should raise before sending, not vanish."
)
XFAIL: dict[str, str] = {
}  # fmt: skip


def _params() -> Iterator[Any]:
    for case in CASES:
        reason = reason_for(case, NOT_APPLICABLE)
        marks: list[Any] = []
        if reason is not None:
            marks.append(pytest.mark.skip(reason=f"not applicable: {reason}"))
        elif case.key in XFAIL:
            marks.append(pytest.mark.xfail(reason=XFAIL[case.key], strict=True))
        yield pytest.param(case, id=case.key, marks=marks)


@pytest.mark.parametrize("case", list(_params()))
def test_case(
    case: Case, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    runner = RUNNERS[case.op]
    observed = runner(Ctx(case, SUITE, monkeypatch, caplog))
    check(case.data["expected"], observed, **CHECKS.get(case.op, {}))


def test_the_lists_name_real_cases() -> None:
    """Every NOT_APPLICABLE key and xfail names existing cases; no case is in both."""
    files = {c.key.partition("#")[0]: 0 for c in CASES}
    for case in CASES:
        files[case.key.partition("#")[0]] += 1
    for key in NOT_APPLICABLE:
        name, positions = expand_key(key)
        assert name in files, f"NOT_APPLICABLE.yaml: no case file {name}"
        assert positions is None or max(positions) <= files[name], f"no such case: {key}"
    keys = {c.key for c in CASES}
    for key in XFAIL:
        assert key in keys, f"xfail for a missing case: {key}"
    both = [c.key for c in CASES if c.key in XFAIL and reason_for(c, NOT_APPLICABLE)]
    assert not both, both


def test_every_applicable_case_has_a_runner() -> None:
    ops = {c.op for c in CASES if reason_for(c, NOT_APPLICABLE) is None}
    assert ops <= set(RUNNERS), sorted(ops - set(RUNNERS))
