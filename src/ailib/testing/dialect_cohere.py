"""Mock server plugin: Cohere Chat v2 (``POST /v2/chat``).

Bodies follow recorded Cohere exchanges. Non-stream: ``{"id", "message": {"role",
"content": [thinking/text parts], "tool_plan", "tool_calls"}, "finish_reason", "usage":
{"billed_units", "tokens", "cached_tokens"}}``. Streams are SSE with named, hyphenated
events (``message-start``, ``content-start``/``-delta``/``-end``, ``tool-plan-delta``,
``tool-call-start``/``-delta``/``-end``, ``message-end``) whose data repeats the name in
``type``, then a bare ``data: [DONE]``. With tool calls the answer text is the
``tool_plan``. Errors are ``{"id": ..., "message": ...}``; an error inside a stream is a
``message-end`` with ``finish_reason: ERROR`` and ``delta.error``.

Example::

    with MockServer() as server:
        server.push(Scenario(tool_calls=[("get_weather", {"city": "Paris"})]))
        httpx.post(server.base_url("cohere") + "/chat",
                   json={"model": "command-a-03-2025", "messages": [...]})
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from ailib.testing.dialect_base import Dialect, Headers
from ailib.testing.routes import Route, register
from ailib.testing.scenario import FRAGMENT, Call, Plan, compact_json

_Errors = dict[int, tuple[str, str | None, str]]
# Error messages as Cohere words them.
_ERRORS: _Errors = {
    400: ("", None, "invalid request: message must be at least 1 token long or tool "
          "results must be specified."),
    401: ("", None, "invalid api token"),
    404: ("", None, "model '{model}' not found, make sure the correct model ID was used "
          "and that you have access to the model."),
    429: ("", None, "You are using a Trial key, which is limited to 10 API calls / minute. "
          "You can continue to use the Trial key for free or upgrade to a Production key "
          "with higher rate limits at 'https://dashboard.cohere.com/api-keys'."),
    500: ("", None, "internal server error, this has been reported to our developers"),
    503: ("", None, "service unavailable: the model is overloaded, please try again later"),
}  # fmt: skip
_SLOT = "\ue000slot\ue000"


def _compact(obj: Any) -> str:
    return compact_json(obj)


def _event(kind: str, data: dict[str, Any]) -> str:
    head = {"id": data["id"]} if "id" in data else {}  # message-start: id comes first
    return f"event: {kind}\ndata: " + _compact({**head, "type": kind, **data}) + "\n\n"


def _template(kind: str, data: dict[str, Any]) -> Callable[[str], str]:
    """A fast renderer of one event whose single string value varies."""
    pre, post = _event(kind, data).split(_compact(_SLOT), 1)
    return lambda piece: pre + _compact(piece) + post


def _uuid(seq: int) -> str:
    return f"{seq:08x}-0000-4000-8000-{seq:012x}"


class CohereDialect(Dialect):
    """Cohere ``/v2/chat``: named SSE events, ``{"id", "message"}`` errors.

    Example::

        server.push(Scenario(text="Let me check.", tool_calls=[("get_weather", {})]))
        # -> tool_plan "Let me check." and a get_weather_mock00000001 call, TOOL_CALL
        Cohere(api_key="k", base_url=server.base_url("cohere")).chat(model=..., messages=[...])
    """

    stream_type = "text/event-stream"
    errors: ClassVar[_Errors] = _ERRORS

    def headers(self, call: Call, *, error: bool = False) -> Headers:
        ctype = self.stream_type if call.stream and not error else self.json_type
        return [("content-type", ctype), ("x-debug-trace-id", f"{call.seq:032x}")]

    @staticmethod
    def tool_id(name: str, plan_id: str) -> str:
        """Cohere names calls after the function: ``get_weather_<12 chars>``."""
        return f"{name}_mock{plan_id:0>8}"

    @staticmethod
    def usage(p: Plan) -> dict[str, Any]:
        usage: dict[str, Any] = {
            "billed_units": {
                "input_tokens": max(p.input_tokens - p.cached, 0),
                "output_tokens": p.output_tokens,
            },
            "tokens": {"input_tokens": p.input_tokens, "output_tokens": p.output_tokens},
        }
        if p.cached:
            usage["cached_tokens"] = p.cached
        return usage

    def _calls(self, p: Plan) -> list[dict[str, Any]]:
        return [
            {
                "id": self.tool_id(t.name, t.id),
                "type": "function",
                "function": {"name": t.name, "arguments": _compact(t.args)},
            }
            for t in p.tools
        ]

    def complete(self, p: Plan) -> bytes:
        content: list[dict[str, Any]] = []
        if p.reasoning is not None:
            content.append({"type": "thinking", "thinking": p.reasoning})
        message: dict[str, Any] = {"role": "assistant"}
        if p.tools:
            if p.text:
                message["tool_plan"] = p.text
            message["tool_calls"] = self._calls(p)
        else:
            content.append({"type": "text", "text": p.text})
        if content:
            message["content"] = content
        body = {
            "id": _uuid(p.call.seq),
            "message": message,
            "finish_reason": p.finish("COMPLETE", "TOOL_CALL"),
            "usage": self.usage(p),
        }
        return _compact(body).encode()

    def stream(self, p: Plan) -> list[str]:
        start = {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": []}
        start["citations"] = []
        out = [_event("message-start", {"id": _uuid(p.call.seq), "delta": {"message": start}})]
        index = 0

        def block(kind: str, pieces: list[str]) -> None:
            nonlocal index
            begin = {"message": {"content": {"type": kind, kind: ""}}}
            out.append(_event("content-start", {"index": index, "delta": begin}))
            delta = {"message": {"content": {kind: _SLOT}}}
            out.extend(map(_template("content-delta", {"index": index, "delta": delta}), pieces))
            out.append(_event("content-end", {"index": index}))
            index += 1

        if p.reasoning is not None:
            block("thinking", p.reasoning_pieces)
        if not p.tools:
            block("text", p.pieces)
        else:
            plan = {"delta": {"message": {"tool_plan": _SLOT}}}
            out.extend(map(_template("tool-plan-delta", plan), p.pieces))
        for i, call in enumerate(self._calls(p)):
            fn = {**call["function"], "arguments": ""}
            first = {"message": {"tool_calls": {**call, "function": fn}}}
            out.append(_event("tool-call-start", {"index": i, "delta": first}))
            delta = {"message": {"tool_calls": {"function": {"arguments": _SLOT}}}}
            render = _template("tool-call-delta", {"index": i, "delta": delta})
            out.extend(map(render, FRAGMENT.findall(call["function"]["arguments"])))
            out.append(_event("tool-call-end", {"index": i}))
        error = p.scenario.stream_error
        if error is not None:
            return [*out, self._stream_error(error)]
        end = {"finish_reason": p.finish("COMPLETE", "TOOL_CALL"), "usage": self.usage(p)}
        out.append(_event("message-end", {"delta": end}))
        out.append("data: [DONE]\n\n")
        return out

    def _stream_error(self, error: dict[str, Any]) -> str:
        if "type" in error:  # a complete event payload: sent as given
            return f"event: {error['type']}\ndata: " + _compact(error) + "\n\n"
        message = error.get("message") or error.get("error") or self.errors[500][2]
        delta = {"error": message, "finish_reason": error.get("finish_reason", "ERROR")}
        return _event("message-end", {"delta": delta})

    def error_body(self, call: Call, status: int, message: str | None) -> bytes:
        if message is None:
            message = self.error_entry(status)[2].format(model=call.model)
        return _compact({"id": _uuid(call.seq), "message": message}).encode()


register("cohere", CohereDialect(), Route("POST", r"^/v2/chat$"), base_path="/v2")
