"""safejson's direct paths give exactly what json.loads / json.dumps give.

``plain_loads`` calls json's C scanner itself for a UTF-8 object or array and
``dumps_compact`` a prebuilt C encoder; anything else (and every error) goes through
json itself, so values, error types and messages must match json's own.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from ailib.pipeline import safejson
from ailib.pipeline.safejson import dumps_compact


def outcome(fn: Any, value: Any) -> tuple[str, ...]:
    try:
        return ("ok", repr(fn(value)))
    except Exception as exc:
        return ("error", type(exc).__name__, str(exc))


CASES: list[bytes] = [
    b'{"a":1}',
    b'{"a":1} \n\t\r',
    b'{"a":1}x',
    b'{"a":1} \xff',
    b"[1,2",
    b"{",
    b"[]",
    b'{"a":"\\ud800"}',
    b'{"a":"\xed\xa0\x80"}',
    b"{\x00",
    b"[\x00\x00\x00",
    '{"é":"☃"}'.encode(),
    '{"é":1}'.encode("utf-16"),
    b"\xef\xbb\xbf{}",
    b'{"a":NaN,"b":-Infinity}',
    b"[1e400]",
    b" {}",
    b"",
    b"nul",
    b'"x"',
]


def fuzz_cases(count: int) -> list[bytes]:
    rng = random.Random(7)
    alphabet = b'{}[]",:1a \\\n\x00\xff'
    cases = []
    for _ in range(count):
        body = bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
        cases.append(b"{" + body if rng.random() < 0.5 else body)
    return cases


@pytest.mark.parametrize("kind", ["bytes", "str", "bytearray"])
def test_loads_matches_json_loads(kind: str) -> None:
    for raw in CASES + fuzz_cases(3000):
        if kind == "str":
            data: Any = raw.decode("latin-1")
        elif kind == "bytearray":
            data = bytearray(raw)
        else:
            data = raw
        assert outcome(safejson.plain_loads, data) == outcome(json.loads, data), data


def test_dumps_compact_matches_json_dumps() -> None:
    cyclic: dict[str, Any] = {}
    cyclic["self"] = cyclic
    looped: list[Any] = []
    looped.append(looped)
    values: list[Any] = [
        {"a": [1, 2.5, float("nan"), None, True, "é\u2028\x00"], "b": {"c": []}},
        [1, {"x": {}}],
        {1: 2, None: 3, 1.5: 4, False: 5},
        {"a": object()},
        {"a": {1, 2}},
        {(1,): 2},
        {"s": "\ud800"},
        cyclic,
        looped,
        "plain",
        3,
    ]
    for value in values:

        def standard(v: Any) -> str:
            return json.dumps(v, ensure_ascii=False, separators=(",", ":"))

        assert outcome(dumps_compact, value) == outcome(standard, value)
