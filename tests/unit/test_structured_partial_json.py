"""The tolerant partial-JSON reader: prefixes of real documents, pieces split anywhere,
and hostile input (deep nesting, huge numbers, broken escapes and unicode) bounded."""

from __future__ import annotations

import json
import re

import pytest

from ailib.structured import PartialJSONReader, parse_partial_json

DOC = {
    "city": 'Paris \u00e9\u00e8 \U0001f600 "quoted" back\\slash\nnew',
    "temperature_c": -21.5e1,
    "count": 12345678901234567890,
    "ok": True,
    "missing": None,
    "no": False,
    "conditions": ["sunny", "warm", {"nested": [1, [2, [3, {}]], []]}],
    "empty": {},
}


def _prefixes(text: str) -> list[str]:
    return [text[:i] for i in range(len(text) + 1)]


@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_every_prefix_reads_and_the_whole_equals_json_loads(ensure_ascii: bool) -> None:
    text = json.dumps(DOC, ensure_ascii=ensure_ascii)
    for prefix in _prefixes(text):
        reader = PartialJSONReader()
        reader.feed(prefix)
        assert reader.error is None, (prefix, reader.error)
        value = reader.value()
        assert value is None or isinstance(value, dict)
    assert parse_partial_json(text) == json.loads(text)


def test_one_character_at_a_time_equals_whole_reads() -> None:
    text = json.dumps(DOC)  # escapes (\\u00e9, surrogate pairs) cut between pieces
    reader = PartialJSONReader()
    for i, ch in enumerate(text):
        reader.feed(ch)
        assert reader.value() == parse_partial_json(text[: i + 1])
    assert reader.complete and reader.value() == DOC


def test_partial_values_as_they_grow() -> None:
    cases = {
        "": None,
        "{": {},
        '{"ci': {},
        '{"city"': {},
        '{"city":': {},
        '{"city": "Pa': {"city": "Pa"},
        '{"city": "Paris", "t": -': {"city": "Paris"},
        '{"t": 12.': {"t": 12},
        '{"t": 1.5e': {"t": 1.5},
        '{"ok": tr': {"ok": True},
        '{"no": f': {"no": False},
        '{"x": n': {"x": None},
        "[1, 2, ": [1, 2],
        "[1, [2, [3": [1, [2, [3]]],
        '{"a": {"b": ["c': {"a": {"b": ["c"]}},
        '"just a str': "just a str",
        "42": 42,
        '{"esc": "a\\': {"esc": "a"},
        '{"esc": "a\\u00': {"esc": "a"},
        '{"esc": "a\\u00e9': {"esc": "a\u00e9"},
    }
    for text, want in cases.items():
        assert parse_partial_json(text) == want, text


def test_snapshots_are_independent_of_later_reading() -> None:
    reader = PartialJSONReader()
    reader.feed('{"items": [1, 2')
    first = reader.value()
    reader.feed(', 3], "more": {"k": "v"')
    second = reader.value()
    assert first == {"items": [1, 2]}
    assert second == {"items": [1, 2, 3], "more": {"k": "v"}}
    second["more"]["added"] = 1  # an open object's copy: the reader is not changed
    reader.feed("}}")
    assert reader.value() == {"items": [1, 2, 3], "more": {"k": "v"}}
    assert first == {"items": [1, 2]}


def test_markdown_fence_and_trailing_text_are_skipped() -> None:
    assert parse_partial_json('```json\n{"a": [1, 2') == {"a": [1, 2]}
    reader = PartialJSONReader()
    reader.feed('```\n{"a": 1}\n```\nThat is all.')
    assert reader.complete and reader.error is None and reader.value() == {"a": 1}


def test_text_that_is_not_json_stops_with_an_error_and_keeps_what_came_before() -> None:
    reader = PartialJSONReader()
    reader.feed("Sure! Here it is")
    assert reader.value() is None and reader.error is not None
    reader = PartialJSONReader()
    reader.feed('{"a": 1, "b": [2, x]}')
    assert reader.value() == {"a": 1, "b": [2]}
    assert reader.error is not None and "character 18" in reader.error
    reader.feed('{"more": 1}')  # nothing more is read after an error
    assert reader.value() == {"a": 1, "b": [2]}
    for bad in ('{"a" 1}', '{"a": 1,}', "[1,]", '{"a": 1]', "[1}", "{1: 2}", "[01x"):
        reader = PartialJSONReader()
        reader.feed(bad)
        assert reader.error is not None, bad


def test_deep_nesting_is_bounded_without_recursion() -> None:
    reader = PartialJSONReader(max_depth=50)
    reader.feed("[" * 200_000)  # far beyond Python's recursion limit
    assert reader.error is not None and "deeper than 50" in reader.error
    value = reader.value()
    depth = 0
    while isinstance(value, list):
        depth += 1
        value = value[0] if value else None
    assert depth == 50
    assert parse_partial_json('{"a":' * 10_000) is not None  # default bound: no crash


def test_huge_numbers_are_bounded() -> None:
    reader = PartialJSONReader(max_number_chars=100)
    reader.feed('{"a": 1, "n": ' + "9" * 100_000)
    assert reader.error is not None and "longer than 100" in reader.error
    assert reader.value() == {"a": 1}
    # within the bound: exact integers and floats as json.loads gives them
    big = "1" * 300
    assert parse_partial_json(f"[{big}, 1e400, -0.0]") == json.loads(f"[{big}, 1e400, -0.0]")


def test_broken_unicode_and_escapes() -> None:
    # a lone high surrogate (also one cut off at the end) is kept, as json.loads keeps it
    assert parse_partial_json('"a\\ud800b"') == json.loads('"a\\ud800b"')
    assert parse_partial_json('"a\\ud83d') == "a\ud83d"
    assert parse_partial_json('"\\ud83d\\ude00"') == "\U0001f600"
    assert parse_partial_json('"\\udc00"') == "\udc00"  # a lone low surrogate
    for bad in ('"\\x41"', '"\\u12G4"', '"\\'):
        reader = PartialJSONReader()
        reader.feed(bad)
        value = reader.value()
        assert value in ("", None), (bad, value)  # stopped, nothing invented
    control = PartialJSONReader()
    control.feed("\x00\x01")  # control bytes outside a string: stopped, no crash
    assert control.value() is None and control.error is not None
    reader = PartialJSONReader()
    reader.feed('"raw \x01 control"')
    assert reader.value() == "raw \x01 control"  # tolerated here; the final parse is strict


def test_large_document_in_many_pieces() -> None:
    doc = {
        "items": [{"name": f"item {i}", "tags": ["a", "b"], "price": i / 4} for i in range(2000)]
    }
    text = json.dumps(doc)
    reader = PartialJSONReader()
    last: object = None
    for piece in re.findall(r"\w+|\W+", text):
        reader.feed(piece)
        last = reader.value()
    assert last == doc and reader.complete
