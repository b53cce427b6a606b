"""Conformance: every recorded exchange of the OpenAI-compatible vendors, through their providers.

The cases (``tests/fixtures/corpus/<vendor>/<id>.json``, copied unchanged from the shared
corpus with their provenance) are replayed on ``httpx.MockTransport`` through
``AiClient`` / ``AsyncAiClient`` with the vendor's generated provider (Groq, Mistral, DeepSeek,
OpenRouter, Hugging Face, Cerebras, Z.ai → ``zhipu``, Azure OpenAI; Ollama's OpenAI-compatible
``/v1`` answers go through ``openai``). Expectations are computed here from the recorded body by
plain reference logic, independently of ailib: Mistral's typed content chunks, ``reasoning`` /
``reasoning_content`` / ``reasoning_details``, Groq's ``x_groq.usage``, Mistral's
``num_cached_tokens``, OpenRouter's in-stream error and numeric error codes.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

import attrs
import pytest

from ailib import AiClient, AsyncAiClient
from ailib.errors import RemoteError
from ailib.runtime.registry import compiled_spec
from ailib.runtime.spec import ProviderSpec
from ailib.types.events import StreamEvent
from ailib.types.response import ChatResponse

from .conftest import BASE_URL, FIXTURES, Recorder, is_error, is_stream
from .test_corpus import (
    STANDARD,
    Expected,
    _decoded_args,
    _int_or_zero,
    check_events,
    reference_frames,
)
from .test_differential import _SAMPLES, _tables_data, outcome

# corpus folder -> the ailib provider that serves it
VENDOR_PROVIDER = {
    "groq": "groq",
    "mistral": "mistral",
    "deepseek": "deepseek",
    "openrouter": "openrouter",
    "ollama": "openai-compatible",  # ollama.com/v1 and localhost:11434/v1 speak OpenAI Chat
    "huggingface": "huggingface",
    "cerebras": "cerebras",
    "zai": "zhipu",
    "azure_openai": "azure-openai",
}
CHAT_APIS = ("openai.chat_completions", "mistral.chat_completions")
EXPECTED_IDS = {
    "azure-openai-error-401", "azure-openai-error-404-deployment", "cerebras-chat",
    "cerebras-reasoning", "cerebras-tools", "deepseek-reasoning", "deepseek-reasoning-stream",
    "deepseek-tools-reasoning", "deepseek-tools-reasoning-followup", "groq-chat-basic",
    "groq-chat-stream", "groq-error-404-model", "groq-error-400-tool-use-failed",
    "groq-image-url-input", "groq-reasoning-effort", "groq-tools", "groq-tools-parallel",
    "groq-tools-stream-reasoning", "huggingface-chat", "huggingface-chat-stream",
    "mistral-chat-basic", "mistral-chat-exact", "mistral-chat-stop", "mistral-chat-stream",
    "mistral-image-in-tool-result", "mistral-thinking", "mistral-thinking-stream", "mistral-tools",
    "mistral-tools-result-followup", "ollama-local-openai-compat-json-schema",
    "ollama-openai-compat-chat", "ollama-openai-compat-tools", "openrouter-error-401",
    "openrouter-error-429-upstream", "openrouter-reasoning", "openrouter-stream-midstream-error",
    "openrouter-stream-reasoning", "openrouter-tools", "zai-thinking", "zai-thinking-stream",
}  # fmt: skip


def load_cases() -> list[dict[str, Any]]:
    """Chat cases of every vendor folder, plus Azure's error bodies (classification only)."""
    cases = []
    for folder in VENDOR_PROVIDER:
        for path in sorted((FIXTURES / folder).glob("*.json")):
            case = json.loads(path.read_text(encoding="utf-8"))
            if case["api"] in CHAT_APIS or (folder == "azure_openai" and is_error(case)):
                cases.append(case)
    return sorted(cases, key=lambda c: c["id"])


CASES = load_cases()
_OPENAI = compiled_spec("openai")
assert _OPENAI is not None
_OPENAI_MAPS = (_OPENAI.manifest.streaming["event_map"], _OPENAI.manifest.response["event_map"])
MIDSTREAM_ERROR = "openrouter-stream-midstream-error"

OPENAI_FINISH = {"stop": "stop", "length": "length", "tool_calls": "tool_calls"}
OPENAI_FINISH.update(function_call="tool_calls", content_filter="content_filter")
FINISH = {  # documented finish reasons -> normalized names, per provider
    "openai": OPENAI_FINISH,
    "openai-compatible": OPENAI_FINISH,
    "groq": OPENAI_FINISH,
    "mistral": {**OPENAI_FINISH, "model_length": "length", "error": "error"},
    "deepseek": {**OPENAI_FINISH, "insufficient_system_resource": "error"},
    "openrouter": {**OPENAI_FINISH, "error": "error"},
    "huggingface": OPENAI_FINISH,
    "cerebras": OPENAI_FINISH,
    "zhipu": {**OPENAI_FINISH, "sensitive": "content_filter", "network_error": "error"},
    "azure-openai": OPENAI_FINISH,
}
REQUEST_ID_HEADERS = {
    "mistral": ("mistral-correlation-id", "x-kong-request-id", "x-request-id"),
    "openrouter": ("x-generation-id", "x-request-id"),
    "huggingface": ("x-request-id", "inference-id"),
    "azure-openai": ("x-request-id", "apim-request-id", "x-ms-request-id"),
}
# case -> (standard error name, provider code): what each recorded error means
ERRORS = {
    "groq-error-404-model": ("not_found", "model_not_found"),
    "groq-error-400-tool-use-failed": ("invalid_request", "tool_use_failed"),
    "openrouter-error-401": ("authentication", "401"),
    "openrouter-error-429-upstream": ("rate_limited", "429"),
    "azure-openai-error-401": ("authentication", "401"),
    "azure-openai-error-404-deployment": ("not_found", "DeploymentNotFound"),
    MIDSTREAM_ERROR: ("invalid_request", "400"),  # {"error": {"code": 400}} in a 200 stream
}


def provider_of(case: dict[str, Any]) -> str:
    return VENDOR_PROVIDER[case["provider"]]


def model_of(case: dict[str, Any]) -> str:
    """The model id: the body's model, or Azure's deployment from the URL path."""
    if case["provider"] == "azure_openai":
        return str(case["request"]["url_path"].split("/deployments/", 1)[1].split("/", 1)[0])
    return str(case["request"]["json"]["model"])


def _params(cases: list[dict[str, Any]]) -> list[Any]:
    return [pytest.param(c, id=c["id"]) for c in cases]


ALL = _params(CASES)
STREAMS = _params([c for c in CASES if is_stream(c) and not is_error(c)])


def test_every_vendor_case_is_replayed() -> None:
    assert {c["id"] for c in CASES} == EXPECTED_IDS
    assert all(c["source"]["repo"] and c["response"]["body_text"] for c in CASES)


# ---- reference decoding -------------------------------------------------------------------


def _content_parts(content: Any) -> tuple[str, str]:
    """(answer, thinking) of a content value: a string or Mistral's typed chunks."""
    if isinstance(content, str):
        return content, ""
    answer = thinking = ""
    for chunk in content if isinstance(content, list) else []:
        if chunk.get("type") == "text":
            answer += chunk.get("text") or ""
        elif chunk.get("type") == "thinking":
            parts = chunk.get("thinking") or []
            thinking += "".join(p.get("text") or "" for p in parts if p.get("type") == "text")
    return answer, thinking


def _reasoning(part: dict[str, Any]) -> str:
    """reasoning_content (DeepSeek, Z.ai), else reasoning (Groq, Cerebras, OpenRouter, Ollama),
    else the texts of reasoning_details (MiniMax)."""
    for key in ("reasoning_content", "reasoning"):
        if isinstance(part.get(key), str) and part[key]:
            return str(part[key])
    details = part.get("reasoning_details") or []
    return "".join(
        d.get("text") or d.get("summary") or ""
        for d in details
        if d.get("type") in ("reasoning.text", "reasoning.summary")
    )


def _usage(usage: dict[str, Any]) -> dict[str, int]:
    prompt = usage.get("prompt_tokens_details") or {}
    completion = usage.get("completion_tokens_details") or {}
    mistral = usage.get("num_cached_tokens") is not None
    return {
        "input_tokens": _int_or_zero(usage.get("prompt_tokens")),
        "output_tokens": _int_or_zero(usage.get("completion_tokens")),
        "total_tokens": _int_or_zero(usage.get("total_tokens")),
        "cached_tokens": _int_or_zero(
            usage["num_cached_tokens"] if mistral else prompt.get("cached_tokens")
        ),
        "reasoning_tokens": _int_or_zero(completion.get("reasoning_tokens")),
        "cache_creation_tokens": 0,
        # the spoken parts (OpenAI's audio models); Mistral's usage shape has none
        "audio_input_tokens": 0 if mistral else _int_or_zero(prompt.get("audio_tokens")),
        "audio_output_tokens": 0 if mistral else _int_or_zero(completion.get("audio_tokens")),
    }


def reference(frames: list[Any]) -> tuple[Expected, str | None]:
    """The expected result of OpenAI-compatible frames, and the last thinking signature."""
    exp = Expected()
    usage: dict[str, Any] | None = None
    signature = None
    for frame in frames:
        exp.id = exp.id or frame.get("id")
        exp.model = exp.model or frame.get("model")
        usage = frame.get("usage") or (frame.get("x_groq") or {}).get("usage") or usage
        for choice in frame.get("choices") or []:
            cand = exp.cand(choice.get("index", 0))
            delta = "delta" in choice
            part = (choice.get("delta") if delta else choice.get("message")) or {}
            answer, thinking = _content_parts(part.get("content"))
            cand.content += answer
            cand.reasoning += _reasoning(part) + thinking
            cand.refusal += part.get("refusal") or ""
            for detail in part.get("reasoning_details") or []:
                signature = detail.get("signature") or signature
            for pos, call in enumerate(part.get("tool_calls") or []):
                key = call.get("index", pos) if delta else pos
                tool = cand.tools.setdefault(key, {"id": None, "name": "", "args": ""})
                fn = call.get("function") or {}
                tool["id"] = call.get("id") or tool["id"]
                tool["name"] = fn.get("name") or tool["name"]
                tool["args"] += fn.get("arguments") or ""
            if choice.get("finish_reason"):
                cand.finish = choice["finish_reason"]
    if usage:
        exp.usage = _usage(usage)
    return exp, signature


def normalized(provider: str, raw: str | None, has_tools: bool) -> str | None:
    if raw is None:
        return None
    name = FINISH[provider].get(raw, raw)
    return "tool_calls" if name == "stop" and has_tools else name


def _request_id(case: dict[str, Any]) -> str | None:
    headers = {k.lower(): v for k, v in case["response"]["headers"].items()}
    names = REQUEST_ID_HEADERS.get(provider_of(case), ("x-request-id",))
    return next((headers[h] for h in names if headers.get(h)), None)


# ---- assertions ---------------------------------------------------------------------------


def check_response(case: dict[str, Any], resp: ChatResponse) -> None:
    provider = provider_of(case)
    exp, signature = reference(reference_frames(case))
    first = exp.cands.get(0) or exp.cand(0)
    assert resp.content == first.content
    assert resp.reasoning == (first.reasoning or None)
    assert resp.refusal == (first.refusal or None)
    calls = [first.tools[k] for k in sorted(first.tools)]
    assert [c.function_name for c in resp.tool_calls] == [c["name"] for c in calls]
    assert [c.arguments for c in resp.tool_calls] == [_decoded_args(c["args"]) for c in calls]
    assert [c.id for c in resp.tool_calls] == [c["id"] for c in calls]
    assert resp.raw_finish_reason == first.finish
    assert resp.finish_reason == normalized(provider, first.finish, bool(calls))
    zero = dict.fromkeys(("input_tokens", "output_tokens", "total_tokens"), 0)
    zero.update(cached_tokens=0, reasoning_tokens=0, cache_creation_tokens=0)
    zero.update(audio_input_tokens=0, audio_output_tokens=0)
    assert attrs.asdict(resp.usage) == (exp.usage or zero)
    assert (resp.id, resp.model) == (exp.id, exp.model)
    assert resp.request_id == _request_id(case)
    assert [c.index for c in resp.candidates] == sorted(exp.cands)
    thinking = [(b.text_value, b.signature) for b in resp.thinking_blocks]
    assert thinking == ([(first.reasoning, signature)] if first.reasoning else [])


def check_error(case: dict[str, Any], err: RemoteError) -> None:
    name, provider_code = ERRORS[case["id"]]
    code, retryable, fallbackable = STANDARD[name]
    status = int(case["response"]["status"])
    if case["id"] == MIDSTREAM_ERROR:
        frames = reference_frames(case)
        body, status = frames[-1], 400
        partial, _ = reference(frames[:-1])
        assert err.partial is not None
        assert err.partial.reasoning == (partial.cand(0).reasoning or None)
    else:
        body = json.loads(case["response"]["body_text"])
    assert (err.code, err.name, err.status) == (code, name, status)
    assert (err.retryable, err.fallbackable) == (retryable, fallbackable)
    assert err.provider_code == provider_code
    assert err.message == body["error"]["message"]
    assert err.provider == provider_of(case)
    if case["id"] != MIDSTREAM_ERROR:
        assert err.request_id == (_request_id(case) or body.get("request_id"))
        headers = {k.lower(): v for k, v in case["response"]["headers"].items()}
        retry_after = headers.get("retry-after")
        assert err.retry_after == (float(retry_after) if retry_after else None)


def check_request(case: dict[str, Any], rec: Recorder) -> None:
    assert len(rec.requests) == 1  # max_retries=0
    req = rec.requests[0]
    sent = json.loads(req.content)
    provider, model = provider_of(case), model_of(case)
    assert sent["model"] == model
    assert sent["messages"][-1] == {"role": "user", "content": "x"}
    assert bool(sent.get("stream")) is is_stream(case)
    if provider == "azure-openai":
        assert req.url.path == f"/v1/openai/deployments/{model}/chat/completions"
        assert parse_qs(req.url.query.decode()) == {"api-version": ["2024-10-21"]}
        assert req.headers["api-key"] == "test" and "authorization" not in req.headers
    else:
        assert req.url.path == "/v1/chat/completions"
        assert req.headers["authorization"] == "Bearer test"
    if is_stream(case):  # Mistral rejects stream_options (and sends usage anyway)
        want = None if provider == "mistral" else {"include_usage": True}
        assert sent.get("stream_options") == want


def check_outcome(
    case: dict[str, Any],
    events: list[StreamEvent] | None,
    resp: ChatResponse | None,
    err: RemoteError | None,
) -> None:
    if err is not None:
        assert case["id"] in ERRORS, f"unexpected error: {err}"
        check_error(case, err)
        return
    assert case["id"] not in ERRORS, "the recorded error must raise RemoteError"
    assert resp is not None
    if events is not None:
        check_events(case, events, resp)
    check_response(case, resp)


# ---- the tests ----------------------------------------------------------------------------


Outcome = tuple[list[StreamEvent] | None, ChatResponse | None, RemoteError | None]


def replay_sync(target: str, rec: Recorder, stream: bool) -> Outcome:
    """(stream events, response, error) of one call through the public sync API."""
    events = resp = err = None
    with (
        rec.client() as http,
        AiClient.create(
            target, api_key="test", base_url=BASE_URL, http_client=http, max_retries=0
        ) as client,
    ):
        try:
            if stream:
                with client.chat().user("x").stream() as chat:
                    events = []
                    for event in chat:
                        events.append(event)
                    resp = chat.final_response()
            else:
                resp = client.chat().user("x").execute()
        except RemoteError as exc:
            err = exc
    return events, resp, err


async def replay_async(target: str, rec: Recorder, stream: bool) -> Outcome:
    events = resp = err = None
    async with rec.async_client() as http:
        client = await AsyncAiClient.create(
            target, api_key="test", base_url=BASE_URL, http_client=http, max_retries=0
        )
        async with client:
            try:
                if stream:
                    async with client.chat().user("x").stream() as chat:
                        events = []
                        async for event in chat:
                            events.append(event)
                        resp = await chat.final_response()
                else:
                    resp = await client.chat().user("x").execute()
            except RemoteError as exc:
                err = exc
    return events, resp, err


def run_sync(case: dict[str, Any], rec: Recorder) -> None:
    target = f"{provider_of(case)}/{model_of(case)}"
    check_outcome(case, *replay_sync(target, rec, is_stream(case)))
    check_request(case, rec)


async def run_async(case: dict[str, Any], rec: Recorder) -> None:
    target = f"{provider_of(case)}/{model_of(case)}"
    check_outcome(case, *await replay_async(target, rec, is_stream(case)))
    check_request(case, rec)


@pytest.mark.parametrize("case", ALL)
def test_case_sync(case: dict[str, Any]) -> None:
    run_sync(case, Recorder(case))


@pytest.mark.parametrize("case", ALL)
async def test_case_async(case: dict[str, Any]) -> None:
    await run_async(case, Recorder(case))


@pytest.mark.parametrize("case", STREAMS)
def test_stream_case_sync_small_chunks(case: dict[str, Any]) -> None:
    run_sync(case, Recorder(case, chunk_size=7))


@pytest.mark.parametrize("case", STREAMS)
async def test_stream_case_async_small_chunks(case: dict[str, Any]) -> None:
    await run_async(case, Recorder(case, chunk_size=13))


# ---- vendor shapes the corpus has no recording of (built from the vendors' API docs) ----

Quirk = tuple[str, str, list[dict[str, Any]], str | None, str, list[tuple[str, Any]]]


def _message(**fields: Any) -> dict[str, Any]:
    message = {"role": "assistant", **fields}
    return {"id": "q1", "model": "m", "choices": [{"index": 0, "message": message}]}


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return {"id": "q1", "model": "m", "choices": [choice]}


DETAIL = {"type": "reasoning.text", "format": "MiniMax-response-v1", "index": 0}
QUIRKS: list[Quirk] = [  # id, provider, frames (1 = a whole response), reasoning, content, blocks
    ("minimax-reasoning-split", "minimax",
     [_message(content="Hi", reasoning_details=[{**DETAIL, "text": "A greeting."}])],
     "A greeting.", "Hi", [("thinking", "A greeting.")]),
    ("minimax-reasoning-split-stream", "minimax",
     [_chunk({"reasoning_details": [{**DETAIL, "text": "A "}]}),
      _chunk({"reasoning_details": [{**DETAIL, "text": "greeting."}]}),
      _chunk({"content": "Hi"}), _chunk({}, "stop")],
     "A greeting.", "Hi", [("thinking", "A greeting.")]),
    ("vllm-reasoning-twice", "huggingface",
     [_message(content="4", reasoning="2+2 is 4", reasoning_content="2+2 is 4")],
     "2+2 is 4", "4", [("thinking", "2+2 is 4")]),
    ("openrouter-encrypted-reasoning", "openrouter",
     [_message(content="ok", reasoning=None, reasoning_details=[
         {"type": "reasoning.encrypted", "data": "gAAAAB-opaque", "index": 0}])],
     None, "ok", [("redacted_thinking", "gAAAAB-opaque")]),
    ("mistral-thinking-two-parts", "mistral",
     [_message(content=[{"type": "thinking", "thinking": [{"type": "text", "text": "First. "},
                                                          {"type": "text", "text": "Second."}]},
                        {"type": "text", "text": "Done."}])],
     "First. Second.", "Done.", [("thinking", "First. Second.")]),
]  # fmt: skip
QUIRK_XFAIL: dict[str, str] = {}  # needs a runtime feature, see the reason


def _quirk_case(frames: list[dict[str, Any]]) -> dict[str, Any]:
    stream = len(frames) > 1
    text = "".join(f"data: {json.dumps(f)}\n\n" for f in frames) + "data: [DONE]\n\n"
    ctype = "text/event-stream" if stream else "application/json"
    body = text if stream else json.dumps(frames[0])
    return {"response": {"status": 200, "headers": {"content-type": ctype}, "body_text": body}}


def _quirk_params() -> list[Any]:
    marks = {k: [pytest.mark.xfail(strict=True, reason=v)] for k, v in QUIRK_XFAIL.items()}
    return [pytest.param(q, id=q[0], marks=marks.get(q[0], [])) for q in QUIRKS]


def _check_quirk(quirk: Quirk, result: Outcome) -> None:
    _, resp, err = result
    assert err is None and resp is not None
    assert (resp.reasoning, resp.content) == quirk[3:5]
    blocks = resp.thinking_blocks
    assert [(b.type, b.data or b.text_value) for b in blocks] == quirk[5]


@pytest.mark.parametrize("quirk", _quirk_params())
def test_vendor_shape_sync(quirk: Quirk) -> None:
    rec = Recorder(_quirk_case(quirk[2]))
    _check_quirk(quirk, replay_sync(f"{quirk[1]}/m", rec, len(quirk[2]) > 1))


@pytest.mark.parametrize("quirk", _quirk_params())
async def test_vendor_shape_async(quirk: Quirk) -> None:
    rec = Recorder(_quirk_case(quirk[2]), chunk_size=5)
    _check_quirk(quirk, await replay_async(f"{quirk[1]}/m", rec, len(quirk[2]) > 1))


# ---- compiled modules vs the interpreted manifests ---------------------------------------

VENDORS = sorted({*VENDOR_PROVIDER.values(), "baichuan", "baidu", "doubao", "fireworks"} | {
    "hunyuan", "minimax", "moonshot", "nvidia", "perplexity", "qwen", "together", "xai", "yi"
} - {"openai"})  # fmt: skip


@pytest.mark.parametrize("provider", VENDORS)
def test_compiled_and_interpreted_agree(provider: str) -> None:
    """Same error tables and parameter encoding; same emissions on every recorded frame."""
    comp = compiled_spec(provider)
    assert comp is not None and comp.compiled
    interp = ProviderSpec.interpreted(comp.manifest)
    assert _tables_data(comp.errors) == _tables_data(interp.errors)
    for name, spec in comp.manifest.declared_parameters.items():
        for value in _SAMPLES[spec["type"]]:
            assert outcome(comp.encode_params, {name: value}) == outcome(
                interp.encode_params, {name: value}
            )
    m = comp.manifest
    if (m.streaming["event_map"], m.response["event_map"]) != _OPENAI_MAPS:
        _maps_agree(comp, interp)  # else: the inherited maps, checked by the test below


def _maps_agree(comp: ProviderSpec, interp: ProviderSpec) -> None:
    frames = [f for c in CASES for f in reference_frames(c)]
    assert len(frames) > 500
    for frame in frames:
        assert outcome(comp.map_stream, frame) == outcome(interp.map_stream, frame)
        assert outcome(comp.map_response, frame) == outcome(interp.map_response, frame)


def test_inherited_event_maps_agree_on_every_vendor_frame() -> None:
    assert _OPENAI is not None
    _maps_agree(_OPENAI, ProviderSpec.interpreted(_OPENAI.manifest))
