"""The compliance checker is strict: these observations must not satisfy these expectations."""

from __future__ import annotations

from typing import Any

import pytest

from ._expect import Range, check


@pytest.mark.parametrize(
    ("expected", "observed", "options"),
    [
        ({"a": 1}, {"a": 2}, {}),
        ({"a": 1}, {"b": 1}, {}),  # an expected key that was not observed
        ({"ok": True}, {"ok": 1}, {}),  # a boolean must be a boolean
        ({"xs": [1]}, {"xs": [1, 2]}, {}),  # lists have the same length...
        ({"events": [1, 2]}, {"events": [1]}, {"prefix": frozenset({"events"})}),  # ...or more
        ({"p": {"a": 1}}, {"p": {"a": 1, "b": 2}}, {"exact": frozenset({"p"})}),
        ({"n": {"min": 2, "max": 4}}, {"n": 5}, {}),
        ({"d": {"min": 1000}}, {"d": Range(0, 1000)}, {}),  # every possible value counts
        ({"xs": {"assert": "length", "min": 1}}, {"xs": []}, {}),
        ({"errors": ["not allowed"]}, {"errors": ["other"]}, {"fragments": frozenset({"errors"})}),
        ({"msg_contains": "x"}, {"msg": "abc"}, {}),
        ({"msg_must_not_contain": ["b"]}, {"msg": "abc"}, {}),
        ({"must_not_contain": ["secret"]}, {"_text": "key=secret"}, {}),
        ({"gone_must_not_resolve": ["OLD"]}, {"candidates": ["NEW", "OLD"]}, {}),
    ],
)
def test_mismatches_fail(expected: Any, observed: Any, options: dict[str, Any]) -> None:
    with pytest.raises(AssertionError):
        check(expected, observed, **options)


def test_matches_pass() -> None:
    check(
        {
            "events": [{"type": "frame"}],
            "frame_count": {"min": 2, "max": 4},
            "delay_ms": {"min": 1000, "max": 30000},
            "errors": ["must NOT have"],
            "body": {"messages": [{"role": "user"}]},
            "diagnostic_contains": ["TOKEN"],
            "must_not_contain": ["secret"],
        },
        {
            "events": [{"type": "frame", "data": {}}, {"type": "frame"}],
            "frame_count": 2,
            "delay_ms": Range(1000, 2000),
            "errors": ["x: must NOT have additional properties"],
            "body": {"model": "m", "messages": [{"role": "user", "content": "hi"}]},
            "diagnostic": "set ACME_TOKEN",
            "_text": "Secret('***')",
        },
        prefix=frozenset({"events"}),
        fragments=frozenset({"errors"}),
    )
