"""Render a :class:`~ailib.testing.Scenario` in each provider's wire format.

The bodies mirror real recorded exchanges (field names, ordering, JSON layout):
OpenAI Chat Completions and Anthropic Messages here, Gemini ``generateContent`` in
:mod:`ailib.testing.dialect_gemini`, all registered in :data:`DIALECTS`; the shared
:class:`Dialect` base and :class:`Reply` live in :mod:`ailib.testing.dialect_base`.
Stream events are rendered from string templates so that thousands of deltas
cost microseconds each.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from ailib.testing import audio
from ailib.testing.dialect_base import (
    _SLOT,
    Dialect,
    Headers,
    Reply,
    _compact,
    _Errors,
    _merge_error,
    _pretty,
    _template,
)
from ailib.testing.dialect_gemini import GeminiDialect
from ailib.testing.scenario import (
    FRAGMENT,
    Call,
    Plan,
    Scenario,
    make_plan,
    split_words,
)
from ailib.testing.structured import refusal_scenario, structured_scenario

__all__ = [
    "DIALECTS",
    "Call",
    "Dialect",
    "GeminiDialect",
    "Headers",
    "Reply",
    "error_reply",
    "render",
]

_FINGERPRINT = "fp_mock0000"


class OpenAIDialect(Dialect):
    """OpenAI Chat Completions (also DeepSeek-style ``reasoning_content``)."""

    tool_prefix = "call_"
    errors: ClassVar[_Errors] = {
        400: ("invalid_request_error", None, "Invalid request sent to model {model}."),
        401: ("invalid_request_error", "invalid_api_key",
              "Incorrect API key provided: sk-mock*******. You can find your API key at "
              "https://platform.openai.com/account/api-keys."),
        403: ("invalid_request_error", "unsupported_country_region_territory",
              "Country, region, or territory not supported"),
        404: ("invalid_request_error", "model_not_found",
              "The model `{model}` does not exist or you do not have access to it."),
        429: ("requests", "rate_limit_exceeded",
              "Rate limit reached for {model} in organization org-mock on requests per min "
              "(RPM): Limit 3, Used 3, Requested 1. Please try again in 20s. Visit "
              "https://platform.openai.com/account/rate-limits to learn more."),
        500: ("server_error", None,
              "The server had an error while processing your request. Sorry about that!"),
        503: ("server_error", None, "The engine is currently overloaded, please try again later."),
    }  # fmt: skip

    def request_id(self, seq: int) -> tuple[str, str]:
        return ("x-request-id", f"req_{seq:032x}")

    def headers(self, call: Call, *, error: bool = False) -> Headers:
        return [*super().headers(call, error=error), ("openai-version", "2020-10-01")]

    def usage(self, p: Plan) -> dict[str, Any]:
        return {
            "prompt_tokens": p.input_tokens,
            "completion_tokens": p.output_tokens,
            "total_tokens": p.input_tokens + p.output_tokens,
            "prompt_tokens_details": {
                "cached_tokens": p.cached,
                "audio_tokens": p.scenario.audio_input_tokens,
            },
            "completion_tokens_details": {
                "reasoning_tokens": p.thoughts,
                "audio_tokens": p.scenario.audio_output_tokens,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }

    def _head(self, p: Plan, kind: str) -> dict[str, Any]:
        return {
            "id": f"chatcmpl-mock{p.call.seq:025d}",
            "object": kind,
            "created": p.created,
            "model": p.model,
        }

    def complete(self, p: Plan) -> bytes:
        message: dict[str, Any] = {"role": "assistant"}
        message["content"] = p.text if p.has_text_block() else None
        if p.reasoning is not None:
            message["reasoning_content"] = p.reasoning
        if p.tools:
            message["tool_calls"] = [
                {"id": t.id, "type": "function",
                 "function": {"name": t.name, "arguments": _compact(t.args)}}
                for t in p.tools
            ]  # fmt: skip
        message["refusal"] = p.scenario.refusal
        if p.scenario.refusal is not None:
            message["content"] = None
        message["annotations"] = []
        spoken = audio.wanted_format("openai", p.call.body)
        if spoken is not None:  # a spoken answer: the text is its transcript
            message["content"] = None
            message["audio"] = audio.openai_audio(p.call.seq, p.created, p.text, spoken)
        body = self._head(p, "chat.completion")
        body["choices"] = [
            {"index": 0, "message": message, "logprobs": None,
             "finish_reason": p.finish("stop", "tool_calls")}
        ]  # fmt: skip
        body["usage"] = self.usage(p)
        body["service_tier"] = "default"
        body["system_fingerprint"] = _FINGERPRINT
        return (_pretty(body) + "\n").encode()

    def stream(self, p: Plan) -> list[str]:
        head = self._head(p, "chat.completion.chunk")
        head["service_tier"] = "default"
        head["system_fingerprint"] = _FINGERPRINT
        include_usage = (p.call.body.get("stream_options") or {}).get("include_usage") is True

        def event(delta: dict[str, Any], finish: str | None = None) -> str:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            chunk = {**head, "choices": [choice]}
            if include_usage:
                chunk["usage"] = None
            return "data: " + _compact(chunk) + "\n\n"

        out: list[str] = []
        if p.reasoning is not None:
            out.append(event({"role": "assistant", "content": None, "reasoning_content": ""}))
            tpl = _template(event({"content": None, "reasoning_content": _SLOT}))
            out.extend(map(tpl, p.reasoning_pieces))
        spoken = audio.wanted_format("openai", p.call.body)
        if spoken is not None:
            out.append(event({"role": "assistant", "refusal": None}))
            deltas = audio.openai_stream_deltas(p.call.seq, p.created, p.pieces, p.text, spoken)
            out.extend(event(delta) for delta in deltas)
        elif p.has_text_block():
            if not out:
                out.append(event({"role": "assistant", "content": "", "refusal": None}))
            delta: dict[str, Any] = {"content": _SLOT}
            if p.reasoning is not None:
                delta["reasoning_content"] = None
            out.extend(map(_template(event(delta)), p.pieces))
        if p.scenario.refusal is not None:
            pieces = split_words(p.scenario.refusal)
            out.extend(map(_template(event({"refusal": _SLOT})), pieces))
        for i, tool in enumerate(p.tools):
            function = {"name": tool.name, "arguments": ""}
            call = {"index": i, "id": tool.id, "type": "function", "function": function}
            if out:
                out.append(event({"tool_calls": [call]}))
            else:
                first = {"role": "assistant", "content": None, "tool_calls": [call]}
                out.append(event({**first, "refusal": None}))
            tpl = _template(event({"tool_calls": [{"index": i, "function": {"arguments": _SLOT}}]}))
            out.extend(map(tpl, FRAGMENT.findall(_compact(tool.args))))
        if p.scenario.stream_error is not None:
            error = _merge_error(p.scenario.stream_error, self.error_object(p.call, 500, None))
            return [*out, "data: " + _compact(error) + "\n\n"]
        out.append(event({}, p.finish("stop", "tool_calls")))
        if include_usage:
            out.append(
                "data: " + _compact({**head, "choices": [], "usage": self.usage(p)}) + "\n\n"
            )
        out.append("data: [DONE]\n\n")
        return out

    def error_object(self, call: Call, status: int, message: str | None) -> dict[str, Any]:
        kind, code, default = self.error_entry(status)
        if message is not None:  # custom messages (bad JSON, unknown URL) carry no code
            code = None
        text = default.format(model=call.model) if message is None else message
        return {"message": text, "type": kind, "param": None, "code": code}

    def error_body(self, call: Call, status: int, message: str | None) -> bytes:
        body = {"error": self.error_object(call, status, message)}
        if status == 404 and message is None:  # real model_not_found is 4-space indented
            return (_pretty(body, 4) + "\n").encode()
        return _pretty(body).encode()


class AnthropicDialect(Dialect):
    """Anthropic Messages API (``thinking``/``tool_use`` blocks, named SSE events)."""

    tool_prefix = "toolu_"
    errors: ClassVar[_Errors] = {
        400: ("invalid_request_error", None, "messages: mock invalid request"),
        401: ("authentication_error", None, "invalid x-api-key"),
        403: ("permission_error", None,
              "Your API key does not have permission to use the specified resource."),
        404: ("not_found_error", None, "model: {model}"),
        413: ("request_too_large", None, "Request exceeds the maximum allowed number of bytes."),
        429: ("rate_limit_error", None,
              "This request would exceed the rate limit for your organization (mock) of 50 "
              "requests per minute. For details, refer to: "
              "https://docs.claude.com/en/api/rate-limits."),
        500: ("api_error", None, "Internal server error"),
        529: ("overloaded_error", None, "Overloaded"),
    }  # fmt: skip

    def request_id(self, seq: int) -> tuple[str, str]:
        return ("request-id", f"req_011Cmock{seq:016d}")

    def headers(self, call: Call, *, error: bool = False) -> Headers:
        base = super().headers(call, error=error)
        return [*base, ("cache-control", "no-cache")] if call.stream and not error else base

    def usage(self, p: Plan, output: int, *, final: bool = False) -> dict[str, Any]:
        usage: dict[str, Any] = {"input_tokens": max(p.input_tokens - p.cached, 0)}
        usage["cache_creation_input_tokens"] = 0
        usage["cache_read_input_tokens"] = p.cached
        if final:  # message_delta usage
            return {**usage, "output_tokens": output}
        creation = {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0}
        return {
            **usage,
            "cache_creation": creation,
            "output_tokens": output,
            "service_tier": "standard",
        }

    def _message(self, p: Plan, content: list[Any], stop: str | None, output: int) -> Any:
        return {
            "model": p.model,
            "id": f"msg_mock{p.call.seq:016d}",
            "type": "message",
            "role": "assistant",
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": self.usage(p, output),
        }

    @staticmethod
    def signature(p: Plan) -> str:
        digest = hashlib.sha256((p.reasoning or "").encode()).digest()
        return base64.b64encode(b"mock-signature:" + digest).decode()

    def complete(self, p: Plan) -> bytes:
        content: list[Any] = []
        if p.reasoning is not None:
            content.append(
                {"type": "thinking", "thinking": p.reasoning, "signature": self.signature(p)}
            )
        if p.has_text_block():
            content.append({"type": "text", "text": p.text})
        for t in p.tools:
            content.append({"type": "tool_use", "id": t.id, "name": t.name, "input": t.args})
        stop = p.finish("end_turn", "tool_use")
        return _compact(self._message(p, content, stop, p.output_tokens)).encode()

    def stream(self, p: Plan) -> list[str]:
        def event(kind: str, data: dict[str, Any]) -> str:
            return f"event: {kind}\ndata: " + _compact({"type": kind, **data}) + "\n\n"

        out = [event("message_start", {"message": self._message(p, [], None, 1)})]
        index = 0

        def block(start: dict[str, Any], deltas: Iterable[str], kind: str, key: str) -> None:
            nonlocal index
            out.append(event("content_block_start", {"index": index, "content_block": start}))
            if index == 0:
                out.append('event: ping\ndata: {"type": "ping"}\n\n')
            delta = {"index": index, "delta": {"type": kind, key: _SLOT}}
            out.extend(map(_template(event("content_block_delta", delta)), deltas))
            if kind == "thinking_delta":
                sig = {"type": "signature_delta", "signature": self.signature(p)}
                out.append(event("content_block_delta", {"index": index, "delta": sig}))
            out.append(event("content_block_stop", {"index": index}))
            index += 1

        if p.reasoning is not None:
            start: dict[str, Any] = {"type": "thinking", "thinking": "", "signature": ""}
            block(start, p.reasoning_pieces, "thinking_delta", "thinking")
        if p.has_text_block():
            block({"type": "text", "text": ""}, p.pieces, "text_delta", "text")
        for t in p.tools:
            start = {"type": "tool_use", "id": t.id, "name": t.name, "input": {}}
            text = t.args if isinstance(t.args, str) else json.dumps(t.args, ensure_ascii=False)
            fragments = ["", *FRAGMENT.findall(text)]
            block(start, fragments, "input_json_delta", "partial_json")
        if p.scenario.stream_error is not None:
            error = _merge_error(p.scenario.stream_error, self.error_object(p.call, 529, None))
            return [*out, "event: error\ndata: " + _compact({"type": "error", **error}) + "\n\n"]
        delta = {"stop_reason": p.finish("end_turn", "tool_use"), "stop_sequence": None}
        usage = self.usage(p, p.output_tokens, final=True)
        out.append(event("message_delta", {"delta": delta, "usage": usage}))
        out.append(event("message_stop", {}))
        return out

    def error_object(self, call: Call, status: int, message: str | None) -> dict[str, Any]:
        kind, _, default = self.error_entry(status)
        text = message if message is not None else default.format(model=call.model)
        return {"error": {"type": kind, "message": text}}

    def error_body(self, call: Call, status: int, message: str | None) -> bytes:
        body = {"type": "error", **self.error_object(call, status, message)}
        body["request_id"] = self.request_id(call.seq)[1]
        return _compact(body).encode()


DIALECTS: dict[str, Dialect] = {
    "openai": OpenAIDialect(),
    "anthropic": AnthropicDialect(),
    "gemini": GeminiDialect(),
}


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _finish(headers: Headers, scenario: Scenario | None) -> Headers:
    if scenario is not None:
        if scenario.retry_after is not None:
            headers.append(("retry-after", _seconds(scenario.retry_after)))
        overrides = {k.lower() for k in scenario.headers}
        headers = [h for h in headers if h[0] not in overrides] + list(scenario.headers.items())
    return headers


def error_reply(
    call: Call, status: int, message: str | None = None, scenario: Scenario | None = None
) -> Reply:
    """The provider's real error response for ``status`` (optionally a custom message)."""
    dialect = DIALECTS[call.dialect]
    headers = dialect.error_headers(call, status)
    body: Any = scenario.error_body if scenario is not None else None
    if body is None:
        raw = dialect.error_body(call, status, message)
    elif isinstance(body, bytes):
        raw = body
    elif isinstance(body, str):
        raw = body.encode()
    else:
        raw = _compact(body).encode()
    return Reply(status, _finish(headers, scenario), raw)


def render(call: Call, scenario: Scenario, next_tool_id: Callable[[], int]) -> Reply:
    """Render ``scenario`` as the answer to ``call``."""
    if scenario.status >= 400 or scenario.error_body is not None:
        return error_reply(call, scenario.status, None, scenario)
    dialect = DIALECTS[call.dialect]
    problem = audio.format_problem(call.dialect, call.body)
    if problem is not None:
        return error_reply(call, 400, problem)
    scenario = refusal_scenario(call, scenario)
    scenario = structured_scenario(call, scenario, dialect.user_text(call))  # JSON asked for
    plan = make_plan(call, scenario, dialect.tool_prefix, next_tool_id, dialect.user_text(call))
    headers = _finish(dialect.headers(call), scenario)
    if call.stream:
        events = [e if isinstance(e, bytes) else e.encode() for e in dialect.stream(plan)]
        return Reply(scenario.status, headers, events=events)
    return Reply(scenario.status, headers, dialect.complete(plan))
