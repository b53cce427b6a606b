"""Interpreted event maps and parameter encoders, built from a manifest at runtime.

Generated provider modules contain compiled versions of the same functions; this is the
path used for manifests that were not compiled (overrides, user manifests). A
differential test proves both give identical results.

An event-map rule::

    - match: "$.type == 'content_block_delta' && $.delta.type == 'text_delta'"
      emit: content                    # kind of emission
      fields: {text: $.delta.text}     # 'extract' is accepted too
      for_each: $.content[*]           # optional: apply per element, '@' paths read it

Example::

    mapper = EventMapper.from_config(manifest.streaming)
    mapper.map({"choices": [{"delta": {"content": "Hi"}}]})
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from ailib.errors import ProtocolError
from ailib.protocol.expr import Const, Node, Path, evaluate, lookup, parse_path, parse_predicate

Emitted = tuple[str, int, dict[str, Any]]

# AI-Protocol upstream emission names and what they mean here.
EMIT_ALIASES = {
    "PartialContentDelta": "content",
    "ContentDelta": "content",
    "ThinkingDelta": "thinking",
    "PartialToolCall": "tool_call",
    "ToolCallDelta": "tool_call",
    "ToolCallStarted": "tool_call",
    "ToolCallEnded": "tool_call_end",
    "UsageReport": "usage",
    "Usage": "usage",
    "StreamEnd": "finish",
    "StreamError": "error",
    "Error": "error",
    "Metadata": "meta",
}
EMIT_KINDS = {
    "audio",
    "content",
    "refusal",
    "thinking",
    "thinking_signature",
    "thinking_redacted",
    "tool_call",
    "tool_call_end",
    "usage",
    "finish",
    "meta",
    "error",
    "ignore",
}


def normalize_emit(name: str) -> str:
    kind = EMIT_ALIASES.get(name, name)
    if kind not in EMIT_KINDS:
        known = ", ".join(sorted(EMIT_KINDS | set(EMIT_ALIASES)))
        raise ProtocolError(f"unknown event-map emission {name!r}; known: {known}")
    return kind


@attrs.frozen
class Rule:
    """One compiled-for-interpretation event-map rule."""

    emit: str
    match: Node
    fields: tuple[tuple[str, Path | None, Any], ...]
    for_each: Path | None

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> Rule:
        fields_cfg = cfg.get("fields", cfg.get("extract", {})) or {}
        fields: list[tuple[str, Path | None, Any]] = []
        for name, spec in fields_cfg.items():
            if isinstance(spec, str) and spec[:1] in ("$", "@"):
                fields.append((name, parse_path(spec), None))
            else:
                fields.append((name, None, spec))
        match = parse_predicate(cfg["match"]) if cfg.get("match") else Const(True)
        for_each = parse_path(cfg["for_each"]) if cfg.get("for_each") else None
        if for_each is not None and not for_each.has_wildcard:
            raise ProtocolError(f"for_each path {for_each.text!r} needs a [*]")
        return cls(normalize_emit(cfg["emit"]), match, tuple(fields), for_each)

    def apply(self, frame: Any, cand: int, out: list[Emitted]) -> bool:
        if self.for_each is None:
            return self._apply_one(frame, None, cand, out)
        items = lookup(self.for_each, frame, None)
        hit = False
        for item in items if isinstance(items, list) else ():
            hit = self._apply_one(frame, item, cand, out) or hit
        return hit

    def _apply_one(self, frame: Any, item: Any, cand: int, out: list[Emitted]) -> bool:
        if not evaluate(self.match, frame, item):
            return False
        if self.emit == "ignore":
            return True
        values: dict[str, Any] = {}
        for name, path, const in self.fields:
            value = lookup(path, frame, item) if path is not None else const
            if value is not None:
                values[name] = value
        out.append((self.emit, cand, values))
        return True


def candidate_split(config: dict[str, Any]) -> tuple[str, str] | None:
    """The (list key, index key) a manifest's ``candidate`` section fans out on."""
    cand = config.get("candidate") or {}
    if not cand.get("fan_out") or not cand.get("candidate_id_path"):
        return None
    steps = parse_path(cand["candidate_id_path"]).steps
    if len(steps) < 2 or steps[0][0] != "key" or steps[1][0] != "wild":
        raise ProtocolError(f"candidate_id_path must look like $.list[*].index: {steps}")
    index_key = steps[2][1] if len(steps) > 2 else "index"
    return str(steps[0][1]), str(index_key)


def fan_out(
    frame: Any, split: tuple[str, str] | None, map_one: Callable[[Any, int], list[Emitted]]
) -> list[Emitted]:
    """Fan a frame with several candidates out into one frame per candidate."""
    if split is None or type(frame) is not dict:
        return map_one(frame, 0)
    key, index_key = split
    items = frame.get(key)
    if type(items) is not list or not items:
        return map_one(frame, 0)
    if len(items) == 1:
        first = items[0]
        cand = first.get(index_key, 0) if type(first) is dict else 0
        return map_one(frame, cand if type(cand) is int else 0)
    out: list[Emitted] = []
    for pos, item in enumerate(items):
        sub = dict(frame)
        sub[key] = [item]
        cand = item.get(index_key, pos) if type(item) is dict else pos
        out.extend(map_one(sub, cand if type(cand) is int else pos))
    return out


class EventMapper:
    """Maps decoded frames to emissions by interpreting event-map rules."""

    def __init__(self, rules: list[Rule], split: tuple[str, str] | None) -> None:
        self.rules = rules
        self.split = split

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> EventMapper:
        rules = [Rule.from_config(r) for r in config.get("event_map", [])]
        return cls(rules, candidate_split(config))

    def map_one(self, frame: Any, cand: int) -> list[Emitted]:
        out: list[Emitted] = []
        matched = False
        for rule in self.rules:
            matched = rule.apply(frame, cand, out) or matched
        if not matched:
            out.append(("unknown", cand, {"data": frame}))
        return out

    def map(self, frame: Any) -> list[Emitted]:
        return fan_out(frame, self.split, self.map_one)


def set_wire(body: dict[str, Any], wire: str, value: Any) -> None:
    """Set a dotted wire path (``generationConfig.maxOutputTokens``) in a request body."""
    *parents, leaf = wire.split(".")
    node = body
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def encode_params(declared: dict[str, dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    """Map already-validated plain parameters to their wire places (interpreted)."""
    body: dict[str, Any] = {}
    for name, value in params.items():
        if value is None:
            continue
        spec = declared[name]
        encoder = spec.get("encoder")
        if encoder == "stop_list":
            set_wire(body, spec.get("wire", name), [value] if isinstance(value, str) else value)
        elif not encoder:
            set_wire(body, spec.get("wire", name), value)
    return body
