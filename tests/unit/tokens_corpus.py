"""The recorded chat requests of the corpus as ailib messages and tools, with the input
tokens the provider billed: the material the token estimate is measured on.

Run as a script to print the measurement (the README quotes it)::

    python tests/unit/tokens_corpus.py            # tests/fixtures/corpus
    python tests/unit/tokens_corpus.py ../shared/corpus/cases
"""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from ailib.tokens import TokenCounter
from ailib.types.messages import ContentBlock, Message, MessageRole
from ailib.types.tools import ToolCall, ToolDefinition

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "corpus"
OPENAI_LIKE = {"openai.chat_completions", "mistral.chat_completions", "cohere.v2_chat"}


@attrs.frozen
class Sample:
    """One recorded request and the input tokens its response reported."""

    case_id: str
    provider: str
    model: str
    messages: list[Message]
    tools: list[ToolDefinition]
    input_tokens: int
    response_format: dict[str, Any] | None = None


def samples(root: Path = FIXTURES) -> Iterator[Sample]:
    for path in sorted(root.glob("*/*.json")):
        case = json.loads(path.read_text(encoding="utf-8"))
        if int(case["response"]["status"]) >= 400 or case["kind"] not in _CHAT_KINDS:
            continue
        body = case["request"].get("json") or {}
        converted = _convert(case["api"], body)
        used = _input_tokens(case)
        if converted is None or not used or _server_tools(body):
            continue
        messages, tools = converted
        model = body.get("model") or case["request"]["url_path"].split("/models/")[-1]
        model = str(model).split(":")[0]
        schema = (body.get("response_format") or {}).get("json_schema")
        yield Sample(case["id"], case["provider"], model, messages, tools, used, schema)


def _server_tools(body: dict[str, Any]) -> bool:
    """Tools the provider runs itself (web search): their results count as input."""
    return any(
        isinstance(t, dict)
        and t.get("type") not in (None, "function", "custom")
        and "input_schema" not in t
        for t in body.get("tools") or []
    )


_CHAT_KINDS = {"chat", "chat_stream", "tools", "tools_stream"}


def _convert(api: str, body: dict[str, Any]) -> tuple[list[Message], list[ToolDefinition]] | None:
    if api in OPENAI_LIKE:
        return _openai_messages(body), _openai_tools(body.get("tools") or [])
    if api == "anthropic.messages":
        return _anthropic_messages(body), [
            ToolDefinition(t["name"], t.get("description", ""), t.get("input_schema") or {})
            for t in body.get("tools") or []
            if "input_schema" in t
        ]
    if api == "gemini.generate_content":
        return _gemini_messages(body), [
            ToolDefinition(f["name"], f.get("description", ""), f.get("parameters") or {})
            for t in body.get("tools") or []
            for f in t.get("functionDeclarations") or []
        ]
    return None


def _openai_messages(body: dict[str, Any]) -> list[Message]:
    out = []
    for m in body.get("messages") or []:
        role = "system" if m["role"] == "developer" else m["role"]
        content = m.get("content")
        if isinstance(content, list):
            blocks = []
            for part in content:
                if part.get("type") == "text":
                    blocks.append(ContentBlock.text(part["text"]))
                elif part.get("type") == "image_url":
                    url = part["image_url"]
                    blocks.append(
                        ContentBlock.image_url(url if isinstance(url, str) else url["url"])
                    )
            content = blocks
        calls = [
            ToolCall.from_raw(c.get("id", ""), c["function"]["name"], c["function"]["arguments"])
            for c in m.get("tool_calls") or []
        ]
        out.append(Message(MessageRole(role), content or "", calls, m.get("tool_call_id")))
    return out


def _openai_tools(tools: list[dict[str, Any]]) -> list[ToolDefinition]:
    out = []
    for t in tools:
        f = t.get("function") or t
        out.append(ToolDefinition(f["name"], f.get("description") or "", f.get("parameters") or {}))
    return out


def _anthropic_messages(body: dict[str, Any]) -> list[Message]:
    out = []
    system = body.get("system")
    if isinstance(system, list):
        system = "".join(b.get("text", "") for b in system)
    if system:
        out.append(Message.system(system))
    for m in body.get("messages") or []:
        content = m["content"]
        if isinstance(content, str):
            out.append(Message(MessageRole(m["role"]), content))
            continue
        blocks: list[ContentBlock] = []
        calls = []
        for b in content:
            kind = b.get("type")
            if kind == "text":
                blocks.append(ContentBlock.text(b["text"]))
            elif kind in ("thinking", "redacted_thinking"):
                blocks.append(ContentBlock.text(b.get("thinking", "")))
            elif kind == "image":
                src = b["source"]
                blocks.append(
                    ContentBlock.image_url(src["url"])
                    if src.get("type") == "url"
                    else ContentBlock.image_base64(src["data"], src.get("media_type", "image/png"))
                )
            elif kind == "tool_use":
                calls.append(ToolCall.from_raw(b["id"], b["name"], b.get("input") or {}))
            elif kind == "tool_result":
                inner = b.get("content")
                text = inner if isinstance(inner, str) else json.dumps(inner)
                blocks.append(ContentBlock.text(text))
        out.append(Message(MessageRole(m["role"]), blocks, calls))
    return out


def _gemini_messages(body: dict[str, Any]) -> list[Message]:
    out = []
    system = body.get("systemInstruction")
    if system:
        out.append(Message.system("".join(p.get("text", "") for p in system.get("parts", []))))
    for c in body.get("contents") or []:
        blocks: list[ContentBlock] = []
        calls = []
        for p in c.get("parts") or []:
            if "text" in p:
                blocks.append(ContentBlock.text(p["text"]))
            elif "inlineData" in p:
                data = p["inlineData"]
                blocks.append(ContentBlock.image_base64(data["data"], data["mimeType"]))
            elif "functionCall" in p:
                call = p["functionCall"]
                calls.append(
                    ToolCall.from_raw(call.get("id", ""), call["name"], call.get("args") or {})
                )
            elif "functionResponse" in p:
                blocks.append(ContentBlock.text(json.dumps(p["functionResponse"].get("response"))))
        role = "assistant" if c.get("role") == "model" else "user"
        out.append(Message(MessageRole(role), blocks, calls))
    return out


def _payloads(case: dict[str, Any]) -> list[Any]:
    text = case["response"].get("body_text") or ""
    fmt = case["response"].get("body_format")
    if fmt == "json":
        return [json.loads(text)]
    if fmt == "json_array":
        return list(json.loads(text))
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("data:"):
            line = line[5:].strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


def _input_tokens(case: dict[str, Any]) -> int:
    """Input tokens the provider reported (cached and cache-creation included)."""
    found = 0
    for item in _payloads(case):
        usage = (item.get("message") or {}).get("usage") or item.get("usage") or {}
        meta = item.get("usageMetadata") or {}
        if "prompt_tokens" in usage:
            found = usage["prompt_tokens"]
        elif "input_tokens" in usage:
            found = (
                usage["input_tokens"]
                + (usage.get("cache_creation_input_tokens") or 0)
                + (usage.get("cache_read_input_tokens") or 0)
            )
        elif "billed_units" in usage:
            found = usage["billed_units"].get("input_tokens") or found
        elif "promptTokenCount" in meta:
            found = meta["promptTokenCount"]
    return int(found or 0)


def measure(root: Path = FIXTURES, *, exact: bool | None = False) -> list[tuple[Sample, int]]:
    """(sample, estimate) for every sample; ``exact=None`` uses tiktoken where it applies."""
    out = []
    for sample in samples(root):
        counter = TokenCounter.for_model(sample.model, exact=exact)
        count = counter.count_messages(
            sample.messages, tools=sample.tools, response_format=sample.response_format
        )
        out.append((sample, count))
    return out


def summary(rows: list[tuple[Sample, int]]) -> dict[str, float]:
    rel = [abs(est - s.input_tokens) / s.input_tokens for s, est in rows]
    rel.sort()
    return {
        "samples": len(rel),
        "median": statistics.median(rel),
        "p90": rel[int(0.9 * (len(rel) - 1))],
        "max": rel[-1],
    }


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else FIXTURES
    rows = measure(root)
    for sample, est in sorted(rows, key=lambda r: r[0].case_id):
        err = (est - sample.input_tokens) / sample.input_tokens
        print(
            f"{sample.case_id:45} {sample.model[:28]:28} {sample.input_tokens:6} {est:6} {err:+.0%}"
        )
    families: dict[str, list[tuple[Sample, int]]] = {}
    for row in rows:
        families.setdefault(TokenCounter.for_model(row[0].model, exact=False).method, []).append(
            row
        )
    for name, group in sorted(families.items()):
        print(name, {k: round(v, 3) for k, v in summary(group).items()})
    print("all", {k: round(v, 3) for k, v in summary(rows).items()})


if __name__ == "__main__":
    main()
