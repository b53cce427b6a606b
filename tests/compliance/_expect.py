"""Checks a case's ``expected`` block against what the runner observed, strictly.

Rules (the compliance README's assertion vocabulary plus the suffix forms cases use):

* scalars are equal (a boolean must be a boolean); dicts are checked key by key (extra keys
  observed are allowed unless the key is listed in ``exact``); lists have the same length
  and equal items (``prefix`` keys: the expected list is the start of the observed one);
* ``{"assert": "length"|"equals"|"contains"|"matches"|"type"|"any_of", ...}`` objects;
* ``{"min": a, "max": b}`` bounds a number, a :class:`Range` or a list's length;
* ``X_contains`` / ``X_should_mention``: the observed ``X`` contains each item;
  ``X_must_not_contain``: it contains none; ``must_not_contain``: none of the items appears
  anywhere in the observed output as printed (``_text``); ``X_must_not_resolve``: none of
  the items is among the credential ``candidates``;
* ``fragments`` keys hold message fragments: each expected string is part of the observed one.
"""

from __future__ import annotations

import re
from typing import Any

import attrs

_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "number": (int, float),
    "boolean": bool,
    "array": list,
    "object": dict,
}


@attrs.frozen
class Range:
    """Every value a randomized result can take (e.g. a jittered delay): [low, high]."""

    low: float
    high: float


def check(
    expected: Any,
    actual: Any,
    where: str = "expected",
    *,
    prefix: frozenset[str] = frozenset(),
    exact: frozenset[str] = frozenset(),
    fragments: frozenset[str] = frozenset(),
    key: str = "",
) -> None:
    rules = {"prefix": prefix, "exact": exact, "fragments": fragments}
    if isinstance(expected, dict) and "assert" in expected:
        _assertion(expected, actual, where)
    elif isinstance(expected, dict) and expected and set(expected) <= {"min", "max"}:
        _bounds(expected, actual, where)
    elif isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, observed {actual!r}"
        if key in exact:
            assert set(actual) == set(expected), (
                f"{where}: keys {sorted(actual)} != {sorted(expected)}"
            )
        for name, value in expected.items():
            _entry(name, value, actual, f"{where}.{name}", rules)
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{where}: expected a list, observed {actual!r}"
        if key in prefix:
            assert len(actual) >= len(expected), f"{where}: {len(actual)} < {len(expected)} items"
        else:
            assert len(actual) == len(expected), f"{where}: {actual!r} != {expected!r}"
        for i, item in enumerate(expected):
            if key in fragments and isinstance(item, str):
                assert any(item in str(a) for a in actual), f"{where}: no {item!r} in {actual!r}"
            else:
                check(item, actual[i], f"{where}[{i}]", **rules, key=key)
    elif isinstance(expected, bool):
        assert actual is expected, f"{where}: {actual!r} is not {expected!r}"
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


def _entry(name: str, value: Any, actual: dict[str, Any], where: str, rules: Any) -> None:
    items = value if isinstance(value, list) else [value]
    if name == "must_not_contain":
        for item in items:
            assert item not in actual["_text"], f"{where}: {item!r} shows in the output"
    elif name.endswith("_must_not_contain"):
        seen = _text(actual[name.removesuffix("_must_not_contain")])
        for item in items:
            assert item not in seen, f"{where}: {item!r} in {seen!r}"
    elif name.endswith("_must_not_resolve"):
        for item in items:
            assert item not in actual["candidates"], f"{where}: {item!r} is still a candidate"
    elif name.endswith(("_contains", "_should_mention")):
        base = name.removesuffix("_contains").removesuffix("_should_mention")
        seen_value = actual[base]
        for item in items:
            ok = item in seen_value if isinstance(seen_value, list) else item in _text(seen_value)
            assert ok, f"{where}: {item!r} not in {seen_value!r}"
    else:
        assert name in actual, f"{where}: not observed (observed keys: {sorted(actual)})"
        check(value, actual[name], where, **rules, key=name)


def _text(value: Any) -> str:
    return " ".join(map(str, value)) if isinstance(value, list) else str(value)


def _bounds(expected: dict[str, Any], actual: Any, where: str) -> None:
    if isinstance(actual, Range):
        low, high = actual.low, actual.high
    elif isinstance(actual, list):
        low = high = len(actual)
    else:
        assert isinstance(actual, int | float), f"{where}: {actual!r} is not a number"
        low = high = actual
    if "min" in expected:
        assert low >= expected["min"], f"{where}: {low} < min {expected['min']}"
    if "max" in expected:
        assert high <= expected["max"], f"{where}: {high} > max {expected['max']}"


def _assertion(spec: dict[str, Any], actual: Any, where: str) -> None:
    kind, value = spec["assert"], spec.get("value")
    value_any: Any = value
    if kind == "length":
        size = len(actual)
        if value is not None:
            assert size == value, f"{where}: length {size} != {value}"
        _bounds({k: spec[k] for k in ("min", "max") if k in spec}, size, where)
    elif kind == "equals":
        check(value, actual, where)
    elif kind == "contains":
        assert value in actual, f"{where}: {value!r} not in {actual!r}"
    elif kind == "matches":
        assert re.search(str(value), str(actual)), f"{where}: {actual!r} !~ {value!r}"
    elif kind == "type":
        assert isinstance(actual, _TYPES[str(value)]), f"{where}: {actual!r} is not {value}"
    elif kind == "any_of":
        assert actual in value_any, f"{where}: {actual!r} not one of {value!r}"
    else:
        raise AssertionError(f"{where}: unknown assertion {kind!r}")
