"""Field paths and the AI-Protocol predicate language.

Paths look like ``$.choices[0].delta.content`` (from the frame root), ``@.function.name``
(from the current ``for_each`` element) and may hold one ``[*]`` wildcard. Predicates
combine paths::

    $.type == 'content_block_delta' && $.delta.type == 'text_delta'
    exists($.usage) || $.choices[0].finish_reason in ['stop', 'length']
    @.text && @.thought != true

A bare path is true when the value is present and not null. The runtime interprets
paths with JMESPath; codegen compiles the same AST to plain Python lookups.

Example::

    pred = parse_predicate("$.type == 'ping'")
    evaluate(pred, {"type": "ping"}, None)  # True
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

import attrs

from ailib.errors import ProtocolError

Step = tuple[str, Any]  # ("key", name) | ("idx", n) | ("wild", None)


@attrs.frozen
class Path:
    """A parsed field path; ``relative`` paths start at the ``for_each`` element."""

    text: str
    steps: tuple[Step, ...]
    relative: bool

    @property
    def has_wildcard(self) -> bool:
        return any(kind == "wild" for kind, _ in self.steps)

    def jmespath(self) -> str:
        """The JMESPath expression for this path ('@' for the element itself)."""
        out = ""
        for kind, arg in self.steps:
            if kind == "key":
                name = arg if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", arg) else json.dumps(arg)
                out += f".{name}" if out else name
            elif kind == "idx":
                out += f"[{arg}]"
            else:
                out += "[*]"
        return out or "@"


_STEP_RE = re.compile(r"\.([A-Za-z_$][\w$-]*)|\[(-?\d+)\]|\[\*\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")


@functools.lru_cache(maxsize=1024)
def parse_path(text: str) -> Path:
    """Parse ``$.a.b[0].c`` / ``@.x[*].y``; raises ProtocolError on bad syntax."""
    src = text.strip()
    if src.startswith("$"):
        relative, rest = False, src[1:]
    elif src.startswith("@"):
        relative, rest = True, src[1:]
    else:
        relative, rest = False, "." + src if not src.startswith("[") else src
    steps: list[Step] = []
    pos = 0
    while pos < len(rest):
        m = _STEP_RE.match(rest, pos)
        if not m:
            raise ProtocolError(f"bad field path {text!r} at character {pos + 1}")
        if m.group(1) is not None:
            steps.append(("key", m.group(1)))
        elif m.group(2) is not None:
            steps.append(("idx", int(m.group(2))))
        elif m.group(3) is not None or m.group(4) is not None:
            steps.append(("key", m.group(3) if m.group(3) is not None else m.group(4)))
        else:
            steps.append(("wild", None))
        pos = m.end()
    if sum(1 for k, _ in steps if k == "wild") > 1:
        raise ProtocolError(f"field path {text!r} has more than one [*]")
    return Path(text, tuple(steps), relative)


# ---- predicate AST --------------------------------------------------------------------


@attrs.frozen
class Exists:
    path: Path


@attrs.frozen
class Compare:
    path: Path
    op: str  # "==" | "!=" | "in"
    value: Any


@attrs.frozen
class Not:
    operand: Node


@attrs.frozen
class BoolOp:
    op: str  # "&&" | "||"
    operands: tuple[Node, ...]


@attrs.frozen
class Const:
    value: bool


Node = Exists | Compare | Not | BoolOp | Const

_TOKEN_RE = re.compile(
    r"\s*(?:(?P<op>&&|\|\||==|!=|!|\(|\)|\[|\]|,)"
    r"|(?P<str>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
    r"|(?P<num>-?\d+(?:\.\d+)?)"
    r"|(?P<path>[$@](?:\.[A-Za-z_$][\w$-]*|\[(?:-?\d+|\*|'[^']*'|\"[^\"]*\")\])*)"
    r"|(?P<word>[A-Za-z_]+))"
)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = _TOKEN_RE.match(text, pos)
            if not m or m.end() == pos:
                raise ProtocolError(f"bad predicate {text!r} at character {pos + 1}")
            kind = m.lastgroup or "op"
            self.tokens.append((kind, m.group(kind).strip()))
            pos = m.end()
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (value is not None and tok[1] != value):
            want = repr(value) if value else "more input"
            raise ProtocolError(f"bad predicate {self.text!r}: expected {want}")
        self.i += 1
        return tok

    def parse(self) -> Node:
        node = self.or_expr()
        extra = self.peek()
        if extra is not None:
            raise ProtocolError(f"bad predicate {self.text!r}: unexpected {extra[1]!r}")
        return node

    def or_expr(self) -> Node:
        parts = [self.and_expr()]
        while self.peek() == ("op", "||"):
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else BoolOp("||", tuple(parts))

    def and_expr(self) -> Node:
        parts = [self.unary()]
        while self.peek() == ("op", "&&"):
            self.take()
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else BoolOp("&&", tuple(parts))

    def unary(self) -> Node:
        tok = self.peek()
        if tok == ("op", "!"):
            self.take()
            return Not(self.unary())
        if tok == ("op", "("):
            self.take()
            node = self.or_expr()
            self.take(")")
            return node
        if tok is not None and tok[0] == "word" and tok[1] in ("exists", "true", "false"):
            self.take()
            if tok[1] != "exists":
                return Const(tok[1] == "true")
            self.take("(")
            path = parse_path(self.take()[1])
            self.take(")")
            return Exists(path)
        kind, text = self.take()
        if kind != "path":
            raise ProtocolError(f"bad predicate {self.text!r}: expected a path, got {text!r}")
        path = parse_path(text)
        nxt = self.peek()
        if nxt in (("op", "=="), ("op", "!=")):
            op = self.take()[1]
            return Compare(path, op, self.literal())
        if nxt == ("word", "in"):
            self.take()
            self.take("[")
            values = [self.literal()]
            while self.peek() == ("op", ","):
                self.take()
                values.append(self.literal())
            self.take("]")
            return Compare(path, "in", tuple(values))
        return Exists(path)

    def literal(self) -> Any:
        kind, text = self.take()
        if kind == "str":
            return re.sub(r"\\(.)", r"\1", text[1:-1])
        if kind == "num":
            return float(text) if "." in text else int(text)
        if kind == "word" and text in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[text]
        raise ProtocolError(f"bad predicate {self.text!r}: expected a literal, got {text!r}")


@functools.lru_cache(maxsize=1024)
def parse_predicate(text: str) -> Node:
    """Parse a predicate once; the result is an immutable AST."""
    return _Parser(text).parse()


def node_paths(node: Node) -> list[Path]:
    """Every path a predicate reads, in order."""
    if isinstance(node, Exists | Compare):
        return [node.path]
    if isinstance(node, Not):
        return node_paths(node.operand)
    if isinstance(node, BoolOp):
        return [p for n in node.operands for p in node_paths(n)]
    return []


# ---- interpreter ----------------------------------------------------------------------


@functools.lru_cache(maxsize=2048)
def _compiled_jmespath(expr: str) -> Any:
    import jmespath

    return jmespath.compile(expr)


def lookup(path: Path, root: Any, element: Any) -> Any:
    """Evaluate a path with JMESPath against the frame root or the current element."""
    target = element if path.relative else root
    if not path.steps:
        return target
    return _compiled_jmespath(path.jmespath()).search(target)


def evaluate(node: Node, root: Any, element: Any) -> bool:
    """Interpret a predicate against a frame (and the current for_each element)."""
    if isinstance(node, Exists):
        value = lookup(node.path, root, element)
        return value is not None and value != []
    if isinstance(node, Compare):
        value = lookup(node.path, root, element)
        if node.op == "in":
            return value in node.value
        return (value == node.value) is (node.op == "==")
    if isinstance(node, Not):
        return not evaluate(node.operand, root, element)
    if isinstance(node, BoolOp):
        if node.op == "&&":
            return all(evaluate(n, root, element) for n in node.operands)
        return any(evaluate(n, root, element) for n in node.operands)
    return node.value
