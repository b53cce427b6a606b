"""Mock server plugin: Ollama's native chat API (``POST /api/chat``).

Bodies follow recorded Ollama exchanges: one JSON object (non-stream) or NDJSON lines
(``application/x-ndjson``) ending with a ``done: true`` line that carries
``done_reason``, the ``prompt_eval_count``/``eval_count`` usage counters and durations
in nanoseconds. Tool calls arrive whole, ``arguments`` as a JSON object; thinking is the
message's ``thinking`` field. Errors are ``{"error": "<message>"}``. Like the real
server, a request without ``"stream": false`` is answered with a stream.

Example::

    with MockServer() as server:
        server.push(Scenario(text="Hi!"))
        httpx.post(server.base_url("ollama") + "/api/chat",
                   json={"model": "llama3.1", "messages": [...], "stream": False})
"""

from __future__ import annotations

import json
import re
import time
from typing import Any, ClassVar

from ailib.testing.dialect_base import Dialect, Headers
from ailib.testing.routes import Route, register
from ailib.testing.scenario import Call, Plan

_Errors = dict[int, tuple[str, str | None, str]]
# Error messages as the Ollama server words them (401/429: ollama.com).
_ERRORS: _Errors = {
    400: ("", None, "model is required"),
    401: ("", None, "unauthorized"),
    404: ("", None, 'model "{model}" not found, try pulling it first'),
    429: ("", None, "too many requests: you have reached your hourly usage limit"),
    500: ("", None, "llama runner process has terminated: exit status 2"),
    503: ("", None, "server busy, please try again.  maximum pending requests exceeded"),
}


def _line(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n"


def _stream_flag(match: re.Match[str], payload: dict[str, Any], query: dict[str, str]) -> bool:
    return payload.get("stream", True) is not False  # Ollama streams unless told not to


class OllamaDialect(Dialect):
    """Ollama ``/api/chat``: JSON or NDJSON bodies, ``{"error": ...}`` errors.

    Example::

        server.push(Scenario(reasoning="hmm", text="42"))  # message.thinking, then content
        Ollama(base_url=server.base_url("ollama")).chat(model="qwen3", messages=[...])
    """

    json_type = "application/json; charset=utf-8"
    stream_type = "application/x-ndjson"
    errors: ClassVar[_Errors] = _ERRORS

    def headers(self, call: Call, *, error: bool = False) -> Headers:
        ctype = self.stream_type if call.stream and not error else self.json_type
        return [("content-type", ctype)]

    @staticmethod
    def _created(p: Plan, step: int = 0) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(p.created))
        return f"{stamp}.{step * 31_250:06d}Z"

    def _final(self, p: Plan, message: dict[str, Any], step: int) -> dict[str, Any]:
        eval_ns = p.output_tokens * 21_000_000
        prompt_ns = p.input_tokens * 1_500_000
        return {
            "model": p.model,
            "created_at": self._created(p, step),
            "message": message,
            "done_reason": p.finish("stop", "stop"),
            "done": True,
            "total_duration": 2_000_000 + prompt_ns + eval_ns,
            "load_duration": 1_000_000,
            "prompt_eval_count": p.input_tokens,
            "prompt_eval_duration": prompt_ns,
            "eval_count": p.output_tokens,
            "eval_duration": eval_ns,
        }

    @staticmethod
    def _tool_calls(p: Plan) -> list[dict[str, Any]]:
        return [{"function": {"name": t.name, "arguments": t.args}} for t in p.tools]

    def complete(self, p: Plan) -> bytes:
        message: dict[str, Any] = {"role": "assistant", "content": p.text}
        if p.reasoning is not None:
            message["thinking"] = p.reasoning
        if p.tools:
            message["tool_calls"] = self._tool_calls(p)
        return json.dumps(self._final(p, message, 0), separators=(",", ":")).encode()

    def stream(self, p: Plan) -> list[str]:
        out: list[str] = []

        def chunk(**fields: Any) -> None:
            message = {"role": "assistant", "content": "", **fields}
            out.append(
                _line(
                    {
                        "model": p.model,
                        "created_at": self._created(p, len(out)),
                        "message": message,
                        "done": False,
                    }
                )
            )

        for piece in p.reasoning_pieces:
            chunk(thinking=piece)
        for piece in p.pieces:
            chunk(content=piece)
        if p.tools:
            chunk(tool_calls=self._tool_calls(p))
        error = p.scenario.stream_error
        if error is not None:
            payload = error if "error" in error else {"error": self._stream_message(error)}
            return [*out, _line(payload)]
        final = {"role": "assistant", "content": ""}
        out.append(_line(self._final(p, final, len(out))))
        return out

    def _stream_message(self, error: dict[str, Any]) -> str:
        return str(error.get("message") or self.errors[500][2])

    def error_body(self, call: Call, status: int, message: str | None) -> bytes:
        if message is None:
            message = self.error_entry(status)[2].format(model=call.model)
        return json.dumps({"error": message}, separators=(",", ":")).encode()


register(
    "ollama",
    OllamaDialect(),
    Route("POST", r"^/api/chat$", stream=_stream_flag),
    base_path="",
)
