"""The mock server's Gemini dialect: ``generateContent`` / ``streamGenerateContent``.

Bodies, usage metadata, SSE or JSON-array streams and error payloads as Google sends
them; registered as ``"gemini"`` in :data:`ailib.testing.dialects.DIALECTS`.

Example::

    GeminiDialect().error_body(call, 404, None)   # Google's NOT_FOUND payload
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, ClassVar

from ailib.testing import audio
from ailib.testing.dialect_base import (
    _SLOT,
    Dialect,
    Headers,
    _Errors,
    _merge_error,
    _pretty,
    _template,
)
from ailib.testing.scenario import Call, Plan


class GeminiDialect(Dialect):
    """Gemini ``generateContent`` / ``streamGenerateContent`` (SSE or JSON array)."""

    json_type = "application/json; charset=UTF-8"
    errors: ClassVar[_Errors] = {
        400: ("INVALID_ARGUMENT", None, "API key not valid. Please pass a valid API key."),
        401: ("UNAUTHENTICATED", None,
              "Request had invalid authentication credentials. Expected OAuth 2 access token, "
              "login cookie or other valid authentication credential."),
        403: ("PERMISSION_DENIED", None,
              "Method doesn't allow unregistered callers (callers without established identity)."
              " Please use API Key or other form of API consumer identity to call this API."),
        404: ("NOT_FOUND", None,
              "models/{model} is not found for API version v1beta, or is not supported for "
              "generateContent. Call ListModels to see the list of available models and their "
              "supported methods."),
        429: ("RESOURCE_EXHAUSTED", None,
              "Resource exhausted. Please try again later. Please refer to "
              "https://cloud.google.com/vertex-ai/generative-ai/docs/error-code-429 for more "
              "details."),
        500: ("INTERNAL", None, "An internal error has occurred. Please retry or report in "
              "https://developers.generativeai.google/guide/troubleshooting"),
        503: ("UNAVAILABLE", None, "The model is overloaded. Please try again later."),
        504: ("DEADLINE_EXCEEDED", None, "Deadline expired before operation could complete."),
    }  # fmt: skip

    def headers(self, call: Call, *, error: bool = False) -> Headers:
        if not call.stream or not call.sse:
            return [("content-type", self.json_type)]
        extra = [] if error else [("content-disposition", "attachment")]
        return [("content-type", "text/event-stream"), *extra]  # even for errors, like Google

    def usage(self, p: Plan, *, final: bool) -> dict[str, Any]:
        usage: dict[str, Any] = {"promptTokenCount": p.input_tokens}
        if final:
            usage["candidatesTokenCount"] = max(p.output_tokens - p.thoughts, 0)
            usage["totalTokenCount"] = p.input_tokens + p.output_tokens
        else:
            usage["totalTokenCount"] = p.input_tokens + p.thoughts
        if p.cached:
            usage["cachedContentTokenCount"] = p.cached
        spoken_in, spoken_out = p.scenario.audio_input_tokens, p.scenario.audio_output_tokens
        details = [{"modality": "TEXT", "tokenCount": p.input_tokens - spoken_in}]
        if spoken_in:
            details.append({"modality": "AUDIO", "tokenCount": spoken_in})
        usage["promptTokensDetails"] = details
        if final and spoken_out:
            usage["candidatesTokensDetails"] = [{"modality": "AUDIO", "tokenCount": spoken_out}]
        if p.cached:
            usage["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": p.cached}]
        if p.thoughts:
            usage["thoughtsTokenCount"] = p.thoughts
        return usage

    def _response(self, p: Plan, parts: list[Any], *, final: bool) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}}
        if final:
            candidate["finishReason"] = p.finish("STOP", "STOP")
        candidate["index"] = 0
        return {
            "candidates": [candidate],
            "usageMetadata": self.usage(p, final=final),
            "modelVersion": p.model,
            "responseId": f"mock{p.call.seq:018d}",
        }

    def _parts(self, p: Plan) -> tuple[list[Any], list[Any]]:
        thought = [{"text": p.reasoning, "thought": True}] if p.reasoning is not None else []
        text = [{"text": p.text}] if p.has_text_block() else []
        if audio.wanted_format("gemini", p.call.body) is not None:  # speech: audio only
            text = audio.gemini_parts(p.text)
        calls = [{"functionCall": {"name": t.name, "args": t.args}} for t in p.tools]
        return thought + text, calls

    def complete(self, p: Plan) -> bytes:
        parts, calls = self._parts(p)
        return (_pretty(self._response(p, parts + calls, final=True)) + "\n").encode()

    def stream(self, p: Plan) -> list[str]:
        if p.call.sse:
            dumps: Callable[[Any], str] = lambda o: json.dumps(  # noqa: E731
                o, separators=(",", ": "), ensure_ascii=False
            )
        else:
            dumps = _pretty
        thought_tpl = _template(
            dumps(self._response(p, [{"text": _SLOT, "thought": True}], final=False))
        )
        text_tpl = _template(dumps(self._response(p, [{"text": _SLOT}], final=False)))
        items: list[tuple[str, bool]] = [(piece, True) for piece in p.reasoning_pieces]
        items += [(piece, False) for piece in p.pieces]
        _, calls = self._parts(p)
        if audio.wanted_format("gemini", p.call.body) is not None:  # speech, chunk by chunk
            parts = audio.gemini_parts(p.text)
            spoken = [self._response(p, [part], final=False) for part in parts[:-1]]
            spoken.append(self._response(p, parts[-1:], final=True))
            return self._frames(p, [dumps(item) for item in spoken])
        error = p.scenario.stream_error
        last: list[tuple[str, bool]] = []
        if error is None and not calls:  # the last text piece carries finishReason
            last = [items.pop() if p.pieces else ("", False)]
        out = [(thought_tpl if is_thought else text_tpl)(piece) for piece, is_thought in items]
        for piece, is_thought in last:
            part = {"text": piece, "thought": True} if is_thought else {"text": piece}
            out.append(dumps(self._response(p, [part], final=True)))
        if error is not None:
            if calls:
                out.append(dumps(self._response(p, calls, final=False)))
            out.append(dumps(_merge_error(error, self.error_object(p.call, 503, None))))
        elif calls:
            out.append(dumps(self._response(p, calls, final=True)))
        return self._frames(p, out)

    @staticmethod
    def _frames(p: Plan, out: list[str]) -> list[str]:
        if p.call.sse:
            return ["data: " + item + "\r\n\r\n" for item in out]
        framed = [("[" if i == 0 else ",\r\n") + item + "\n" for i, item in enumerate(out)]
        return [*framed, "]"]

    def error_object(self, call: Call, status: int, message: str | None) -> dict[str, Any]:
        kind, _, default = self.error_entry(status)
        text = message if message is not None else default.format(model=call.model)
        error: dict[str, Any] = {"code": status, "message": text, "status": kind}
        if status == 400 and message is None:
            error["details"] = [
                {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                 "domain": "googleapis.com",
                 "metadata": {"service": "generativelanguage.googleapis.com"}},
                {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US",
                 "message": text},
            ]  # fmt: skip
        return {"error": error}

    def error_body(self, call: Call, status: int, message: str | None) -> bytes:
        return (_pretty(self.error_object(call, status, message)) + "\n").encode()
