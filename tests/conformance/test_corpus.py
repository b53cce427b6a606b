"""Conformance: replay every recorded chat exchange of the corpus through the public API.

Each case (``tests/fixtures/corpus/<provider>/<id>.json``) is mounted on an
``httpx.MockTransport`` and decoded by ``AiClient`` / ``AsyncAiClient``. The expected result
is computed here, independently of ailib, from the recorded body with plain per-dialect
reference logic (a naive SSE splitter, ``json.loads`` and dictionary walking).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import pytest
from ruamel.yaml import YAML

from ailib import AiClient, AsyncAiClient
from ailib.errors import RemoteError
from ailib.types.events import (
    ContentDelta,
    StreamEnd,
    StreamEvent,
    ThinkingDelta,
    ToolCallEnded,
    ToolCallStarted,
    UsageEvent,
)
from ailib.types.response import ChatResponse

from .conftest import (
    BASE_URL,
    CASES,
    Recorder,
    is_error,
    is_stream,
    model_of,
    provider_of,
)

MANIFESTS = Path(__file__).resolve().parents[2] / "manifests" / "providers"

# ---- library bugs found by the corpus (strict xfails: they must keep failing until fixed) ----

XFAIL: dict[str, str] = {}


def _params(cases: list[dict[str, Any]]) -> list[Any]:
    out = []
    for case in cases:
        marks = []
        if case["id"] in XFAIL:
            marks.append(pytest.mark.xfail(reason=XFAIL[case["id"]], strict=True))
        out.append(pytest.param(case, id=case["id"], marks=marks))
    return out


ALL = _params(CASES)
STREAMS = _params([c for c in CASES if is_stream(c) and not is_error(c)])

# ---- standard error codes (AI-Protocol), written out independently of ailib.errors ----

STANDARD = {  # name -> (code, retryable, fallbackable)
    "invalid_request": ("E1001", False, False),
    "authentication": ("E1002", False, True),
    "permission_denied": ("E1003", False, False),
    "not_found": ("E1004", False, False),
    "request_too_large": ("E1005", False, False),
    "rate_limited": ("E2001", True, True),
    "quota_exhausted": ("E2002", False, True),
    "server_error": ("E3001", True, True),
    "overloaded": ("E3002", True, True),
    "timeout": ("E3003", True, True),
    "conflict": ("E4001", True, False),
    "cancelled": ("E4002", False, False),
    "unknown": ("E9999", False, False),
}
HTTP_STANDARD = {
    400: "invalid_request",
    401: "authentication",
    403: "permission_denied",
    404: "not_found",
    408: "timeout",
    409: "conflict",
    413: "request_too_large",
    422: "invalid_request",
    429: "rate_limited",
    500: "server_error",
    502: "server_error",
    503: "overloaded",
    504: "timeout",
    529: "overloaded",
}
# Finish reasons as documented by each provider, mapped to the normalized names.
FINISH = {
    "openai": {
        "stop": "stop",
        "length": "length",
        "tool_calls": "tool_calls",
        "function_call": "tool_calls",
        "content_filter": "content_filter",
    },
    "anthropic": {
        "end_turn": "stop",
        "stop_sequence": "stop",
        "max_tokens": "length",
        "tool_use": "tool_calls",
        "refusal": "content_filter",
        "pause_turn": "pause",
    },
    "gemini": {
        "STOP": "stop",
        "MAX_TOKENS": "length",
        "SAFETY": "content_filter",
        "RECITATION": "content_filter",
        "BLOCKLIST": "content_filter",
        "PROHIBITED_CONTENT": "content_filter",
        "SPII": "content_filter",
        "MALFORMED_FUNCTION_CALL": "error",
        "OTHER": "other",
    },
}
REQUEST_ID_HEADERS = {
    "openai": ("x-request-id",),
    "anthropic": ("request-id", "x-request-id"),
    "gemini": ("x-request-id",),
}


def test_refusal_case_is_kept() -> None:
    case = next(c for c in CASES if c["id"] == "openai-chat-stream-refusal")
    assert REFERENCE["openai"](case).cands[0].refusal  # the recording does carry a refusal


def test_corpus_is_complete() -> None:
    """The three chat dialects are all represented, with streams, tools and errors."""
    by_api: dict[str, list[str]] = {}
    for case in CASES:
        by_api.setdefault(case["api"], []).append(case["id"])
    assert len(by_api["openai.chat_completions"]) >= 25
    assert len(by_api["anthropic.messages"]) >= 26
    assert len(by_api["gemini.generate_content"]) >= 20
    assert "gemini-openai-compat-tools" in by_api["openai.chat_completions"]
    assert len({c["id"] for c in CASES}) == len(CASES)
    for case in CASES:
        assert case["source"]["repo"], case["id"]
        assert case["response"]["body_text"], case["id"]


# ---- reference decoding -------------------------------------------------------------------


def sse_data(text: str) -> list[str]:
    """Naive SSE split: blank-line separated events, their ``data:`` lines joined."""
    out = []
    for block in text.replace("\r\n", "\n").replace("\r", "\n").split("\n\n"):
        data = [
            line[5:].removeprefix(" ") for line in block.split("\n") if line.startswith("data:")
        ]
        if data:
            out.append("\n".join(data))
    return out


def reference_frames(case: dict[str, Any]) -> list[Any]:
    """The JSON frames of a recorded stream body (or the single body of a plain response)."""
    text = case["response"]["body_text"]
    fmt = case["response"]["body_format"]
    if fmt == "sse":
        return [json.loads(d) for d in sse_data(text) if d.strip() != "[DONE]"]
    if fmt == "json_array":
        frames = json.loads(text)
        assert isinstance(frames, list)
        return frames
    return [json.loads(text)]


@attrs.define
class Cand:
    content: str = ""
    reasoning: str = ""
    refusal: str = ""
    finish: str | None = None
    tools: dict[int, dict[str, Any]] = attrs.field(factory=dict)


@attrs.define
class Expected:
    cands: dict[int, Cand] = attrs.field(factory=dict)
    usage: dict[str, int] = attrs.field(factory=dict)
    id: str | None = None
    model: str | None = None
    thinking_blocks: list[tuple[str, str | None, str | None]] | None = None

    def cand(self, index: int) -> Cand:
        return self.cands.setdefault(index, Cand())


def _int_or_zero(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def ref_openai(case: dict[str, Any]) -> Expected:
    exp = Expected()
    usage: dict[str, Any] | None = None
    for frame in reference_frames(case):
        exp.id = exp.id or frame.get("id")
        exp.model = exp.model or frame.get("model")
        if frame.get("usage"):
            usage = frame["usage"]
        for choice in frame.get("choices") or []:
            cand = exp.cand(choice.get("index", 0))
            part = choice.get("delta") if "delta" in choice else choice.get("message")
            part = part or {}
            cand.content += part.get("content") or ""
            cand.reasoning += part.get("reasoning_content") or ""
            cand.refusal += part.get("refusal") or ""
            for pos, call in enumerate(part.get("tool_calls") or []):
                key = call.get("index", pos) if "delta" in choice else pos
                tool = cand.tools.setdefault(key, {"id": None, "name": "", "args": ""})
                fn = call.get("function") or {}
                tool["id"] = call.get("id") or tool["id"]
                tool["name"] = fn.get("name") or tool["name"]
                tool["args"] += fn.get("arguments") or ""
            if choice.get("finish_reason"):
                cand.finish = choice["finish_reason"]
    if usage:
        exp.usage = {
            "input_tokens": _int_or_zero(usage.get("prompt_tokens")),
            "output_tokens": _int_or_zero(usage.get("completion_tokens")),
            "total_tokens": _int_or_zero(usage.get("total_tokens")),
            "cached_tokens": _int_or_zero(
                (usage.get("prompt_tokens_details") or {}).get("cached_tokens")
            ),
            "reasoning_tokens": _int_or_zero(
                (usage.get("completion_tokens_details") or {}).get("reasoning_tokens")
            ),
            "cache_creation_tokens": 0,
            "audio_input_tokens": _int_or_zero(
                (usage.get("prompt_tokens_details") or {}).get("audio_tokens")
            ),
            "audio_output_tokens": _int_or_zero(
                (usage.get("completion_tokens_details") or {}).get("audio_tokens")
            ),
        }
    return exp


def _anthropic_usage(exp: Expected, usage: dict[str, Any]) -> None:
    names = {
        "input_tokens": "input_tokens",
        "output_tokens": "output_tokens",
        "cache_read_input_tokens": "cached_tokens",
        "cache_creation_input_tokens": "cache_creation_tokens",
    }
    for wire, name in names.items():
        if isinstance(usage.get(wire), int):
            exp.usage[name] = usage[wire]


def _anthropic_finish_usage(exp: Expected) -> None:
    u = exp.usage
    # Anthropic reports cache reads/creation apart from input_tokens; ailib adds them back.
    inp = u.get("input_tokens", 0) + u.get("cached_tokens", 0) + u.get("cache_creation_tokens", 0)
    exp.usage = {
        "input_tokens": inp,
        "output_tokens": u.get("output_tokens", 0),
        "total_tokens": inp + u.get("output_tokens", 0),
        "cached_tokens": u.get("cached_tokens", 0),
        "reasoning_tokens": 0,
        "cache_creation_tokens": u.get("cache_creation_tokens", 0),
        "audio_input_tokens": 0,
        "audio_output_tokens": 0,
    }


def _anthropic_blocks(exp: Expected, blocks: list[dict[str, Any]], stop: str | None) -> None:
    cand = exp.cand(0)
    cand.finish = stop
    thinking = []
    for pos, block in enumerate(blocks):
        kind = block.get("type")
        if kind == "text":
            cand.content += block.get("text") or ""
        elif kind == "thinking":
            cand.reasoning += block.get("thinking") or ""
            thinking.append(("thinking", block.get("thinking") or "", block.get("signature")))
        elif kind == "redacted_thinking":
            thinking.append(("redacted_thinking", None, block.get("data")))
        elif kind == "tool_use":
            raw = block.get("partial_json")
            args = block.get("input") or {}
            if raw is not None:
                args = json.loads(raw) if raw.strip() else {}
            cand.tools[pos] = {"id": block.get("id"), "name": block.get("name"), "args": args}
    exp.thinking_blocks = thinking


def ref_anthropic(case: dict[str, Any]) -> Expected:
    exp = Expected()
    frames = reference_frames(case)
    if case["response"]["body_format"] != "sse":
        (body,) = frames
        exp.id, exp.model = body.get("id"), body.get("model")
        _anthropic_usage(exp, body.get("usage") or {})
        _anthropic_blocks(exp, body.get("content") or [], body.get("stop_reason"))
        _anthropic_finish_usage(exp)
        return exp
    blocks: dict[int, dict[str, Any]] = {}
    stop = None
    for frame in frames:
        kind = frame.get("type")
        if kind == "message_start":
            message = frame["message"]
            exp.id, exp.model = message.get("id"), message.get("model")
            _anthropic_usage(exp, message.get("usage") or {})
        elif kind == "content_block_start":
            block = dict(frame["content_block"])
            if block.get("type") == "tool_use":
                block["partial_json"] = ""
            if block.get("type") == "thinking":
                block["signature"] = block.get("signature") or None
            blocks[frame["index"]] = block
        elif kind == "content_block_delta":
            block, delta = blocks[frame["index"]], frame["delta"]
            dtype = delta.get("type")
            if dtype == "text_delta":
                block["text"] = (block.get("text") or "") + delta["text"]
            elif dtype == "thinking_delta":
                block["thinking"] = (block.get("thinking") or "") + delta["thinking"]
            elif dtype == "signature_delta":
                block["signature"] = delta["signature"]
            elif dtype == "input_json_delta":
                block["partial_json"] = (block.get("partial_json") or "") + delta["partial_json"]
        elif kind == "message_delta":
            stop = (frame.get("delta") or {}).get("stop_reason") or stop
            _anthropic_usage(exp, frame.get("usage") or {})
    _anthropic_blocks(exp, [blocks[i] for i in sorted(blocks)], stop)
    _anthropic_finish_usage(exp)
    return exp


def ref_gemini(case: dict[str, Any]) -> Expected:
    exp = Expected()
    usage: dict[str, Any] = {}
    for frame in reference_frames(case):
        exp.id = exp.id or frame.get("responseId")
        exp.model = exp.model or frame.get("modelVersion")
        usage.update(frame.get("usageMetadata") or {})
        for pos, candidate in enumerate(frame.get("candidates") or []):
            cand = exp.cand(candidate.get("index", pos))
            for part in (candidate.get("content") or {}).get("parts") or []:
                if isinstance(part.get("text"), str):
                    if part.get("thought") is True:
                        cand.reasoning += part["text"]
                    else:
                        cand.content += part["text"]
                if part.get("functionCall"):
                    call = part["functionCall"]
                    cand.tools[len(cand.tools)] = {
                        "id": call.get("id"),
                        "name": call.get("name"),
                        "args": call.get("args") or {},
                        "thought_signature": part.get("thoughtSignature"),
                    }
            if candidate.get("finishReason"):
                cand.finish = candidate["finishReason"]
    if usage:
        exp.usage = {
            "input_tokens": _int_or_zero(usage.get("promptTokenCount")),
            # Gemini counts thoughts apart from candidates; ailib's output includes them.
            "output_tokens": _int_or_zero(usage.get("candidatesTokenCount"))
            + _int_or_zero(usage.get("thoughtsTokenCount")),
            "total_tokens": _int_or_zero(usage.get("totalTokenCount")),
            "cached_tokens": _int_or_zero(usage.get("cachedContentTokenCount")),
            "reasoning_tokens": _int_or_zero(usage.get("thoughtsTokenCount")),
            "cache_creation_tokens": 0,
            "audio_input_tokens": _modality(usage.get("promptTokensDetails"), "AUDIO"),
            "audio_output_tokens": _modality(usage.get("candidatesTokensDetails"), "AUDIO"),
        }
    return exp


def _modality(details: Any, modality: str) -> int:
    """Gemini's tokens of one modality (``[{"modality": "AUDIO", "tokenCount": n}]``)."""
    found = [d.get("tokenCount") for d in details or [] if d.get("modality") == modality]
    return _int_or_zero(found[-1]) if found else 0


REFERENCE = {"openai": ref_openai, "anthropic": ref_anthropic, "gemini": ref_gemini}


def normalized(provider: str, raw: str | None, has_tools: bool) -> str | None:
    if raw is None:
        return None
    name = FINISH[provider].get(raw, raw)
    return "tool_calls" if name == "stop" and has_tools else name


def _decoded_args(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    value = json.loads(raw) if raw.strip() else {}
    return value if isinstance(value, dict) else {"value": value}


# ---- assertions ---------------------------------------------------------------------------


def check_response(case: dict[str, Any], resp: ChatResponse) -> None:
    provider = provider_of(case)
    exp = REFERENCE[provider](case)
    if not exp.cands:
        exp.cand(0)
    first = exp.cands[min(exp.cands)]
    assert resp.content == first.content
    assert resp.reasoning == (first.reasoning or None)
    assert resp.refusal == (first.refusal or None)
    calls = [first.tools[k] for k in sorted(first.tools)]
    assert [c.function_name for c in resp.tool_calls] == [c["name"] for c in calls]
    assert [c.arguments for c in resp.tool_calls] == [_decoded_args(c["args"]) for c in calls]
    for got, want in zip(resp.tool_calls, calls, strict=True):
        if want["id"]:  # ids only where the provider gives them
            assert got.id == want["id"]
        else:
            assert got.id  # a stable generated id, never empty
        if want.get("thought_signature"):
            assert got.extra.get("thought_signature") == want["thought_signature"]
    assert len({c.id for c in resp.tool_calls}) == len(resp.tool_calls)
    assert resp.raw_finish_reason == first.finish
    assert resp.finish_reason == normalized(provider, first.finish, bool(calls))
    assert attrs.asdict(resp.usage) == (
        exp.usage
        or {
            "input_tokens": 0,
            "output_tokens": 0,
            "total_tokens": 0,
            "cached_tokens": 0,
            "reasoning_tokens": 0,
            "cache_creation_tokens": 0,
            "audio_input_tokens": 0,
            "audio_output_tokens": 0,
        }
    )
    assert resp.id == exp.id
    assert resp.model == exp.model
    headers = {k.lower(): v for k, v in case["response"]["headers"].items()}
    want_rid = next((headers[h] for h in REQUEST_ID_HEADERS[provider] if headers.get(h)), None)
    assert resp.request_id == want_rid
    # every candidate (n > 1)
    assert [c.index for c in resp.candidates] == sorted(exp.cands)
    for got_cand in resp.candidates:
        want_cand = exp.cands[got_cand.index]
        assert got_cand.content == want_cand.content
        assert got_cand.reasoning == (want_cand.reasoning or None)
        has_tools = bool(want_cand.tools)
        assert got_cand.finish_reason == normalized(provider, want_cand.finish, has_tools)
        assert len(got_cand.tool_calls) == len(want_cand.tools)
    if exp.thinking_blocks is not None:
        got_blocks = [
            (b.type, b.text_value, b.data if b.type == "redacted_thinking" else b.signature)
            for b in resp.thinking_blocks
        ]
        assert got_blocks == exp.thinking_blocks


def check_events(case: dict[str, Any], events: list[StreamEvent], resp: ChatResponse) -> None:
    """The streamed events add up to the final response."""
    by_cand: dict[int, list[StreamEvent]] = {}
    for ev in events:
        by_cand.setdefault(getattr(ev, "candidate", 0), []).append(ev)
    for cand in resp.candidates:
        evs = by_cand.get(cand.index, [])
        text = "".join(e.content for e in evs if isinstance(e, ContentDelta))
        assert text == cand.content
        thinking = "".join(e.thinking for e in evs if isinstance(e, ThinkingDelta))
        assert thinking == (cand.reasoning or "")
        started = [e for e in evs if isinstance(e, ToolCallStarted)]
        ended = [e.tool_call for e in evs if isinstance(e, ToolCallEnded)]
        assert len(started) == len(cand.tool_calls)
        assert sorted(ended, key=lambda c: c.index) == cand.tool_calls
        ends = [e for e in evs if isinstance(e, StreamEnd)]
        assert [e.finish_reason for e in ends] == [cand.finish_reason]
    usages = [e.usage for e in events if isinstance(e, UsageEvent)]
    assert usages, "a usage event is expected in every recorded stream"
    assert usages[-1] == resp.usage
    assert not [e for e in events if e.is_unknown], "every recorded frame should be understood"


def check_error(case: dict[str, Any], err: RemoteError) -> None:
    provider = provider_of(case)
    manifest = YAML(typ="safe").load((MANIFESTS / f"{provider}.yaml").read_text("utf-8"))
    rules = manifest["error_classification"]
    body = json.loads(case["response"]["body_text"])
    error = body.get("error") or {}
    status = int(case["response"]["status"])
    if provider == "openai":
        codes = [error.get("code"), error.get("type")]
    elif provider == "anthropic":
        codes = [error.get("type")]
    else:
        codes = [d.get("reason") for d in error.get("details") or []] + [error.get("status")]
    codes = [str(c) for c in codes if isinstance(c, str) and c]
    name = next((rules["by_error_code"][c] for c in codes if c in rules["by_error_code"]), None)
    name = name or rules["by_http_status"].get(str(status)) or HTTP_STANDARD.get(status)
    code, retryable, fallbackable = STANDARD[name]
    assert err.code == code
    assert err.name == name
    assert err.status == status
    assert err.provider_code == (codes[0] if codes else None)
    assert err.message == error["message"]
    assert err.retryable is retryable
    assert err.fallbackable is fallbackable
    headers = {k.lower(): v for k, v in case["response"]["headers"].items()}
    want_rid = next((headers[h] for h in REQUEST_ID_HEADERS[provider] if headers.get(h)), None)
    assert err.request_id == (want_rid or body.get("request_id"))
    assert err.retry_after == (float(headers["retry-after"]) if "retry-after" in headers else None)


def check_request(case: dict[str, Any], rec: Recorder) -> None:
    assert len(rec.requests) == 1  # max_retries=0: one attempt, even for retryable errors
    req = rec.requests[0]
    sent = json.loads(req.content)
    provider = provider_of(case)
    model = model_of(case)
    if provider == "gemini":
        assert f"/models/{model}:" in req.url.path
        assert (":streamGenerateContent" in req.url.path) is is_stream(case)
        assert sent["contents"][-1]["parts"][0]["text"] == "x"
    else:
        assert sent["model"] == model
        assert sent["messages"][-1]["content"] in ("x", [{"type": "text", "text": "x"}])
        assert bool(sent.get("stream")) is is_stream(case)


# ---- the tests ----------------------------------------------------------------------------


def run_sync(case: dict[str, Any], rec: Recorder) -> None:
    with (
        rec.client() as http,
        AiClient.create(
            f"{provider_of(case)}/{model_of(case)}",
            api_key="test",
            base_url=BASE_URL,
            http_client=http,
            max_retries=0,
        ) as client,
    ):
        try:
            if is_stream(case):
                with client.chat().user("x").stream() as stream:
                    events = list(stream)
                    resp = stream.final_response()
                check_events(case, events, resp)
            else:
                resp = client.chat().user("x").execute()
        except RemoteError as err:
            assert is_error(case), f"unexpected error: {err}"
            check_error(case, err)
        else:
            assert not is_error(case), "an HTTP error response must raise RemoteError"
            check_response(case, resp)
    check_request(case, rec)


async def run_async(case: dict[str, Any], rec: Recorder) -> None:
    async with rec.async_client() as http:
        client = await AsyncAiClient.create(
            f"{provider_of(case)}/{model_of(case)}",
            api_key="test",
            base_url=BASE_URL,
            http_client=http,
            max_retries=0,
        )
        async with client:
            try:
                if is_stream(case):
                    async with client.chat().user("x").stream() as stream:
                        events = [ev async for ev in stream]
                        resp = await stream.final_response()
                    check_events(case, events, resp)
                else:
                    resp = await client.chat().user("x").execute()
            except RemoteError as err:
                assert is_error(case), f"unexpected error: {err}"
                check_error(case, err)
            else:
                assert not is_error(case), "an HTTP error response must raise RemoteError"
                check_response(case, resp)
    check_request(case, rec)


@pytest.mark.parametrize("case", ALL)
def test_case_sync(case: dict[str, Any]) -> None:
    run_sync(case, Recorder(case))


@pytest.mark.parametrize("case", ALL)
async def test_case_async(case: dict[str, Any]) -> None:
    await run_async(case, Recorder(case))


@pytest.mark.parametrize("case", STREAMS)
def test_stream_case_sync_small_chunks(case: dict[str, Any]) -> None:
    """The same result when the body arrives in small pieces (split mid-line, mid-UTF-8)."""
    run_sync(case, Recorder(case, chunk_size=7))


@pytest.mark.parametrize("case", STREAMS)
async def test_stream_case_async_small_chunks(case: dict[str, Any]) -> None:
    await run_async(case, Recorder(case, chunk_size=11))
