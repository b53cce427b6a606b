"""Compile manifest paths, predicates and event maps into straight-line Python source.

Used at build time only. The output reads a frame with direct dict/list lookups (no
JMESPath); the runtime interpreter in ``ailib.protocol.interpret`` must agree with it,
which the differential tests check. Manifest values enter the source only through
``repr`` (keys, constants) or :func:`codegen.safe.comment_text` (rule comments).
"""

from __future__ import annotations

import ast
from typing import Any

from ailib.protocol.expr import (
    BoolOp,
    Compare,
    Const,
    Exists,
    Node,
    Not,
    Path,
    parse_path,
    parse_predicate,
)
from ailib.protocol.interpret import normalize_emit
from codegen.safe import comment_text

#: The runtime module holding the helpers compiled functions call (``ailib.runtime``).
HELPER_MODULE = "ailib.runtime.compiled_helpers"
#: Name used in compiled code -> name in :data:`HELPER_MODULE`.
HELPERS = {
    "_E": "MISSING_OBJECT",
    "_EMPTY_LIST": "EMPTY_LIST",
    "_dig": "dig",
    "_is_code": "is_code",
}


def helper_import(*sources: str) -> str:
    """The import line for the helpers that ``sources`` use ("" when they use none)."""
    loaded = {
        node.id
        for source in sources
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Name)
    }
    used = [name for name in HELPERS if name in loaded]
    if not used:
        return ""
    names = ", ".join(f"{HELPERS[name]} as {name}" for name in used)
    return f"from {HELPER_MODULE} import {names}\n"


# Every helper compiled functions may rely on (for running compiled source on its own).
PRELUDE = helper_import(*HELPERS)


class Scope:
    """Emits lookup statements, sharing common path prefixes within one scope."""

    def __init__(self, lines: list[str], indent: str, roots: dict[bool, str], names: list[int]):
        self.lines = lines
        self.indent = indent
        self.roots = roots  # relative? -> variable name
        self.memo: dict[tuple[bool, tuple[Any, ...]], str] = {}
        self.views: dict[str, str] = {}  # variable -> the same value as a dict (or _E)
        self.names = names

    def child(self, indent: str, roots: dict[bool, str] | None = None) -> Scope:
        """A nested scope that reuses every lookup already made in this one."""
        scope = Scope(self.lines, indent, roots or self.roots, self.names)
        scope.memo.update(self.memo)
        scope.views.update(self.views)
        return scope

    def _view(self, var: str) -> str:
        """``var`` as a dict, checked once: later ``.get`` calls need no type test."""
        if var not in self.views:
            view = f"{var}_d"
            self.lines.append(f"{self.indent}{view} = {var} if type({var}) is dict else _E")
            self.views[var] = view
        return self.views[var]

    def _new(self) -> str:
        self.names[0] += 1
        return f"v{self.names[0]}"

    def value(self, path: Path) -> str:
        """Variable holding the path's value (None when absent)."""
        if path.has_wildcard:
            return self._projection(path)
        var = self.roots[path.relative]
        for i in range(len(path.steps)):
            key = (path.relative, path.steps[: i + 1])
            if key in self.memo:
                var = self.memo[key]
                continue
            kind, arg = path.steps[i]
            new = self._new()
            if kind == "key":
                expr = f"{self._view(var)}.get({arg!r})"
            else:
                bound = f"len({var}) > {arg}" if arg >= 0 else f"len({var}) >= {-arg}"
                expr = f"{var}[{arg}] if type({var}) is list and {bound} else None"
            self.lines.append(f"{self.indent}{new} = {expr}")
            self.memo[key] = new
            var = new
        return var

    def _projection(self, path: Path) -> str:
        """A ``[*]`` path: the list of non-null values under each element (as JMESPath)."""
        cut = next(n for n, (k, _) in enumerate(path.steps) if k == "wild")
        parent = self.value(Path(path.text, path.steps[:cut], path.relative))
        tail = tuple(arg for _, arg in path.steps[cut + 1 :])
        new = self._new()
        items = f"(_dig(x, {tail!r}) for x in {parent})" if tail else parent
        self.lines.append(
            f"{self.indent}{new} = [y for y in {items} if y is not None] "
            f"if type({parent}) is list else None"
        )
        return new

    def predicate(self, node: Node) -> str:
        if isinstance(node, Exists):
            v = self.value(node.path)
            return f"({v} is not None and {v} != _EMPTY_LIST)"
        if isinstance(node, Compare):
            v = self.value(node.path)
            if node.op == "in":
                return f"({v} in {tuple(node.value)!r})"
            return f"({v} {node.op} {node.value!r})"
        if isinstance(node, Not):
            return f"(not {self.predicate(node.operand)})"
        if isinstance(node, BoolOp):
            # Precompute every operand's lookups; lookups are side-effect free.
            joiner = " and " if node.op == "&&" else " or "
            return "(" + joiner.join(self.predicate(n) for n in node.operands) + ")"
        assert isinstance(node, Const)
        return repr(node.value)


def _fields(scope: Scope, cfg: dict[str, Any], indent: str, lines: list[str]) -> str:
    spec = cfg.get("fields", cfg.get("extract", {})) or {}
    lines.append(f"{indent}d = {{}}")
    for name, value in spec.items():
        if isinstance(value, str) and value[:1] in ("$", "@"):
            var = scope.value(parse_path(value))
            lines.append(f"{indent}if {var} is not None:")
            lines.append(f"{indent}    d[{name!r}] = {var}")
        elif value is not None:
            lines.append(f"{indent}d[{name!r}] = {value!r}")
    return "d"


def compile_event_map(func_name: str, rules: list[dict[str, Any]]) -> str:
    """Source of ``def func_name(f, cand) -> list[Emitted]`` for a list of rules."""
    lines = [
        f"def {func_name}(f: Any, cand: int) -> list[Emitted]:",
        "    out: list[Emitted] = []",
        "    d: dict[str, Any]",
        "    hit = False",
    ]
    names = [0]
    root = Scope(lines, "    ", {False: "f", True: "f"}, names)
    for i, cfg in enumerate(rules):
        emit = normalize_emit(cfg["emit"])
        match = parse_predicate(cfg["match"]) if cfg.get("match") else Const(True)
        about = comment_text(f"{emit} when {cfg.get('match', 'always')}")
        lines.append(f"    # rule {i}: {about}")
        if cfg.get("for_each"):
            each = parse_path(cfg["for_each"])
            cut = next(n for n, (k, _) in enumerate(each.steps) if k == "wild")
            parent = Path(each.text, each.steps[:cut], each.relative)
            plist = root.value(parent) if parent.steps else "f"
            names[0] += 1
            el = f"e{names[0]}"
            lines.append(f"    for {el} in {plist} if type({plist}) is list else ():")
            lines.append(f"        if {el} is None:")
            lines.append("            continue")
            tail = each.steps[cut + 1 :]
            base = el
            if tail:
                inner = Scope(lines, "        ", {False: el, True: el}, names)
                base = inner.value(Path(each.text, tail, True))
                lines.append(f"        if {base} is None:")
                lines.append("            continue")
            scope = root.child("        ", {False: "f", True: base})
            scope.memo = {k: v for k, v in root.memo.items() if not k[0]}
            cond = scope.predicate(match)
            lines.append(f"        if {cond}:")
            lines.append("            hit = True")
            if emit != "ignore":
                fscope = scope.child("            ")
                d = _fields(fscope, cfg, "            ", lines)
                lines.append(f"            out.append(({emit!r}, cand, {d}))")
        else:
            cond = root.predicate(match)
            lines.append(f"    if {cond}:")
            lines.append("        hit = True")
            if emit != "ignore":
                inner = root.child("        ")
                d = _fields(inner, cfg, "        ", lines)
                lines.append(f"        out.append(({emit!r}, cand, {d}))")
    lines.append("    if not hit:")
    lines.append('        out.append(("unknown", cand, {"data": f}))')
    lines.append("    return out")
    if not any(line.lstrip().startswith("d = {}") for line in lines):
        lines.remove("    d: dict[str, Any]")  # no rule builds fields
    return "\n".join(lines) + "\n"


def compile_codes_of(func_name: str, paths: list[str]) -> str:
    """Source of ``def func_name(body) -> list[str]`` reading provider error codes."""
    lines = [f"def {func_name}(body: Any) -> list[str]:", "    found: list[str] = []"]
    names = [0]
    for text in paths:
        path = parse_path(text)
        scope = Scope(lines, "    ", {False: "body", True: "body"}, names)
        if path.has_wildcard:
            cut = next(n for n, (k, _) in enumerate(path.steps) if k == "wild")
            parent = scope.value(Path(text, path.steps[:cut], False)) if cut else "body"
            names[0] += 1
            el = f"e{names[0]}"
            lines.append(f"    for {el} in {parent} if type({parent}) is list else ():")
            inner = Scope(lines, "        ", {False: el, True: el}, names)
            val = (
                inner.value(Path(text, path.steps[cut + 1 :], True))
                if cut + 1 < len(path.steps)
                else el
            )
            lines.append(f"        if _is_code({val}):")
            lines.append(f"            found.append(str({val}))")
        else:
            val = scope.value(path)
            lines.append(f"    if _is_code({val}):")
            lines.append(f"        found.append(str({val}))")
    lines.append("    return found")
    return "\n".join(lines) + "\n"


def compile_message_of(func_name: str, path_text: str) -> str:
    lines = [f"def {func_name}(body: Any) -> str | None:"]
    scope = Scope(lines, "    ", {False: "body", True: "body"}, [0])
    val = scope.value(parse_path(path_text))
    lines.append(f"    return {val} if isinstance({val}, str) else None")
    return "\n".join(lines) + "\n"


def compile_params(func_name: str, declared: dict[str, dict[str, Any]]) -> str:
    """Source of ``def func_name(p) -> dict`` placing parameters at their wire paths."""
    lines = [
        f"def {func_name}(p: dict[str, Any]) -> dict[str, Any]:",
        "    body: dict[str, Any] = {}",
    ]
    for name, spec in declared.items():
        encoder = spec.get("encoder")
        if encoder and encoder != "stop_list":
            continue
        *parents, leaf = str(spec.get("wire", name)).split(".")
        lines.append(f"    v = p.get({name!r})")
        lines.append("    if v is not None:")
        target = "body"
        for part in parents:
            target = f"{target}.setdefault({part!r}, {{}})"
        value = "[v] if isinstance(v, str) else v" if encoder == "stop_list" else "v"
        lines.append(f"        {target}[{leaf!r}] = {value}")
    lines.append("    return body")
    return "\n".join(lines) + "\n"
