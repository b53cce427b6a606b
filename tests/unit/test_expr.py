"""Field paths and the predicate language (ailib.protocol.expr)."""

from __future__ import annotations

from typing import Any

import pytest

from ailib.errors import ProtocolError
from ailib.protocol.expr import (
    BoolOp,
    Compare,
    Const,
    Exists,
    Not,
    evaluate,
    lookup,
    node_paths,
    parse_path,
    parse_predicate,
)

FRAME: dict[str, Any] = {
    "type": "content_block_delta",
    "index": 2,
    "delta": {"type": "text_delta", "text": "Hi"},
    "choices": [
        {"index": 0, "finish_reason": "stop", "delta": {"content": "a"}},
        {"index": 1, "finish_reason": None, "delta": {"content": "b"}},
    ],
    "weird key": {"x-y": 7},
    "flag": False,
    "zero": 0,
    "empty_list": [],
    "empty_obj": {},
    "nothing": None,
    "ratio": 0.5,
}


def holds(text: str, root: Any = FRAME, element: Any = None) -> bool:
    return evaluate(parse_predicate(text), root, element)


# ---- paths ------------------------------------------------------------------------------


def test_path_keys_and_root() -> None:
    path = parse_path("$.delta.text")
    assert path.steps == (("key", "delta"), ("key", "text"))
    assert path.relative is False
    assert path.has_wildcard is False
    assert path.jmespath() == "delta.text"
    assert lookup(path, FRAME, None) == "Hi"


def test_root_path_alone_is_the_frame() -> None:
    path = parse_path("$")
    assert path.steps == ()
    assert path.jmespath() == "@"
    assert lookup(path, FRAME, None) is FRAME


def test_path_without_prefix_reads_from_the_root() -> None:
    assert parse_path("delta.type").steps == (("key", "delta"), ("key", "type"))
    leading_index = parse_path("[0].error.status")
    assert leading_index.steps == (("idx", 0), ("key", "error"), ("key", "status"))
    assert lookup(leading_index, [{"error": {"status": "UNAVAILABLE"}}], None) == "UNAVAILABLE"


def test_path_index_and_negative_index() -> None:
    first = parse_path("$.choices[0].delta.content")
    last = parse_path("$.choices[-1].delta.content")
    assert first.steps[1] == ("idx", 0)
    assert last.steps[1] == ("idx", -1)
    assert lookup(first, FRAME, None) == "a"
    assert lookup(last, FRAME, None) == "b"
    assert lookup(parse_path("$.choices[5].delta"), FRAME, None) is None


def test_path_wildcard() -> None:
    path = parse_path("$.choices[*].index")
    assert path.has_wildcard
    assert path.steps[1] == ("wild", None)
    assert path.jmespath() == "choices[*].index"
    assert lookup(path, FRAME, None) == [0, 1]


def test_path_with_two_wildcards_is_rejected() -> None:
    with pytest.raises(ProtocolError, match=r"more than one \[\*\]") as info:
        parse_path("$.a[*].b[*].c")
    assert "$.a[*].b[*].c" in info.value.message


@pytest.mark.parametrize("text", ["$['weird key']['x-y']", '$["weird key"]["x-y"]'])
def test_path_quoted_keys(text: str) -> None:
    path = parse_path(text)
    assert path.steps == (("key", "weird key"), ("key", "x-y"))
    assert lookup(path, FRAME, None) == 7


def test_path_hyphen_and_dollar_in_plain_keys_are_quoted_for_jmespath() -> None:
    path = parse_path("$.a-b.$ref")
    assert path.steps == (("key", "a-b"), ("key", "$ref"))
    assert path.jmespath() == '"a-b"."$ref"'
    assert lookup(path, {"a-b": {"$ref": 1}}, None) == 1


def test_path_quoted_key_with_a_double_quote_can_be_looked_up() -> None:
    path = parse_path("$['a\"b']")
    assert path.steps == (("key", 'a"b'),)
    assert lookup(path, {'a"b': 1}, None) == 1


def test_relative_path_reads_the_element() -> None:
    path = parse_path("@.function.name")
    assert path.relative is True
    element = {"function": {"name": "get_weather"}}
    assert lookup(path, FRAME, element) == "get_weather"
    assert lookup(parse_path("@"), FRAME, element) is element


@pytest.mark.parametrize(
    ("text", "char"),
    [
        ("$.a[", 3),
        ("$.a..b", 3),
        ("$.a[x]", 3),
        ("$.1abc", 1),
        ("$.a b", 3),
        ("$.a['unterminated]", 3),
    ],
)
def test_bad_path_syntax_names_the_path_and_position(text: str, char: int) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_path(text)
    assert info.value.message == f"bad field path {text!r} at character {char}"
    assert info.value.code == "E1001"


def test_empty_path_is_rejected() -> None:
    with pytest.raises(ProtocolError, match="bad field path ''"):
        parse_path("")


# ---- predicate parsing ------------------------------------------------------------------


def test_parse_exists_function_and_bare_path() -> None:
    assert parse_predicate("exists($.usage)") == Exists(parse_path("$.usage"))
    assert parse_predicate("$.usage") == Exists(parse_path("$.usage"))


def test_parse_comparisons() -> None:
    assert parse_predicate("$.type == 'ping'") == Compare(parse_path("$.type"), "==", "ping")
    assert parse_predicate("$.type != 'ping'") == Compare(parse_path("$.type"), "!=", "ping")
    assert parse_predicate("$.t in ['a', 'b']") == Compare(parse_path("$.t"), "in", ("a", "b"))


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("true", True),
        ("false", False),
        ("null", None),
        ("42", 42),
        ("-3", -3),
        ("2.5", 2.5),
        ("'single'", "single"),
        ('"double"', "double"),
        ("'it\\'s'", "it's"),
        ('"say \\"hi\\""', 'say "hi"'),
        ("'a && b || !c'", "a && b || !c"),
    ],
)
def test_literals(literal: str, value: Any) -> None:
    node = parse_predicate(f"$.x == {literal}")
    assert isinstance(node, Compare)
    assert node.value == value
    assert type(node.value) is type(value)


def test_constant_predicates() -> None:
    assert parse_predicate("true") == Const(True)
    assert parse_predicate("false") == Const(False)
    assert holds("true") is True
    assert holds("false") is False


def test_and_binds_tighter_than_or() -> None:
    node = parse_predicate("$.a || $.b && $.c")
    assert isinstance(node, BoolOp) and node.op == "||"
    assert node.operands[0] == Exists(parse_path("$.a"))
    inner = node.operands[1]
    assert isinstance(inner, BoolOp) and inner.op == "&&"
    assert len(inner.operands) == 2


def test_not_binds_to_the_next_operand_only() -> None:
    node = parse_predicate("!$.a && $.b")
    assert isinstance(node, BoolOp) and node.op == "&&"
    assert node.operands[0] == Not(Exists(parse_path("$.a")))


def test_parentheses_override_precedence() -> None:
    node = parse_predicate("($.a || $.b) && $.c")
    assert isinstance(node, BoolOp) and node.op == "&&"
    assert isinstance(node.operands[0], BoolOp) and node.operands[0].op == "||"


def test_chained_operators_are_flattened() -> None:
    node = parse_predicate("$.a && $.b && $.c")
    assert isinstance(node, BoolOp) and len(node.operands) == 3


def test_node_paths_lists_every_path_in_order() -> None:
    node = parse_predicate("!($.a == 1) || exists(@.b) && $.c in [1, 2]")
    assert [p.text for p in node_paths(node)] == ["$.a", "@.b", "$.c"]
    assert node_paths(Const(True)) == []


def test_whitespace_is_insignificant() -> None:
    assert parse_predicate("  $.type=='x'&&!$.y  ") == parse_predicate("$.type == 'x' && ! $.y")


def test_quoted_key_path_inside_a_predicate() -> None:
    assert holds("$['weird key']['x-y'] == 7")


# ---- predicate evaluation ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$.type == 'content_block_delta'", True),
        ("$.type == 'ping'", False),
        ("$.type != 'ping'", True),
        ("$.type != 'content_block_delta'", False),
        ("$.index == 2", True),
        ("$.index == 2.0", True),
        ("$.ratio == 0.5", True),
        ("$.nothing == null", True),
        ("$.missing == null", True),
        ("$.missing != null", False),
        ("$.flag == false", True),
        ("$.choices[0].finish_reason in ['stop', 'length']", True),
        ("$.choices[1].finish_reason in ['stop', 'length']", False),
        ("$.choices[1].finish_reason in ['stop', null]", True),
        ("$.index in [1, 2, 3]", True),
        ("$.type == 'content_block_delta' && $.delta.type == 'text_delta'", True),
        ("$.type == 'content_block_delta' && $.delta.type == 'thinking_delta'", False),
        ("$.type == 'ping' || $.delta.type == 'text_delta'", True),
        ("$.type == 'ping' || $.type == 'pong'", False),
        ("!($.type == 'ping')", True),
        ("!$.delta", False),
        ("!!$.delta", True),
        ("true || false && false", True),
        ("(true || false) && false", False),
        ("false && true || true", True),
        ("false && (true || true)", False),
    ],
)
def test_evaluate(text: str, expected: bool) -> None:
    assert holds(text) is expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$.delta", True),
        ("$.flag", True),  # present, not null: false is a value
        ("$.zero", True),
        ("$.empty_obj", True),
        ("$.nothing", False),
        ("$.missing", False),
        ("$.missing.deeper", False),
        ("$.empty_list", False),
        ("$.choices[*].finish_reason", True),
        ("$.choices[*].nope", False),
    ],
)
def test_bare_path_and_exists_mean_present_and_not_null(path: str, expected: bool) -> None:
    assert holds(path) is expected
    assert holds(f"exists({path})") is expected


def test_relative_predicates_read_the_element() -> None:
    pred = "@.text && @.thought != true"
    assert holds(pred, FRAME, {"text": "visible"}) is True
    assert holds(pred, FRAME, {"text": "hidden", "thought": True}) is False
    assert holds(pred, FRAME, {"functionCall": {}}) is False
    assert holds("@.type == 'tool_use' && $.index == 2", FRAME, {"type": "tool_use"}) is True


def test_mixed_absolute_and_relative_paths_use_different_roots() -> None:
    assert holds("$.type == 'x' && @.type == 'y'", {"type": "x"}, {"type": "y"})
    assert not holds("$.type == 'y'", {"type": "x"}, {"type": "y"})


# ---- predicate errors -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("$.a ==", "expected more input"),
        ("$.a == ", "expected more input"),
        ("($.a", "expected ')'"),
        ("exists($.a", "expected ')'"),
        ("$.a $.b", "unexpected '$.b'"),
        ("$.a)", "unexpected ')'"),
        ("$.a == $.b", "expected a literal, got '$.b'"),
        ("$.a == yes", "expected a literal, got 'yes'"),
        ("$.a in 'x'", "expected '['"),
        ("$.a in ['x'", "expected ']'"),
        ("$.a in []", "expected a literal, got ']'"),
        ("foo == 1", "expected a path, got 'foo'"),
        ("null", "expected a path, got 'null'"),
        ("'x' == $.a", "expected a path, got \"'x'\""),
        ("&& $.a", "expected a path, got '&&'"),
        ("", "expected more input"),
        ("$.a == 'unterminated", "at character"),
        ("$.a#1", "at character 4"),
        ("$.a=1", "at character 4"),
        ("$.a = 1", "at character"),
    ],
)
def test_bad_predicates_raise_protocol_error_naming_the_predicate(text: str, fragment: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_predicate(text)
    assert f"bad predicate {text!r}" in info.value.message
    assert fragment in info.value.message


def test_bad_path_inside_exists_is_reported() -> None:
    with pytest.raises(ProtocolError, match="bad field path"):
        parse_predicate("exists(!)")


def test_double_quoted_key_path_inside_a_predicate() -> None:
    assert holds('$["weird key"]["x-y"] == 7')


def test_parse_results_are_cached_and_immutable() -> None:
    assert parse_predicate("$.a == 1") is parse_predicate("$.a == 1")
    assert parse_path("$.a") is parse_path("$.a")
    node = parse_predicate("$.a == 1")
    with pytest.raises(AttributeError):
        node.op = "!="  # type: ignore[misc]
