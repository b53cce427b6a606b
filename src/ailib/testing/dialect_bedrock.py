"""Mock-server plugin: AWS Bedrock Converse and ConverseStream.

``POST /model/{model}/converse`` answers JSON; ``POST /model/{model}/converse-stream``
answers real binary ``application/vnd.amazon.eventstream`` messages with correct CRCs
(``messageStart``, ``contentBlockStart``/``Delta``/``Stop``, ``messageStop``,
``metadata``; reasoning, tool input fragments and the ``p`` padding field included).
HTTP errors carry Bedrock's ``{"message": ...}`` body and ``x-amzn-errortype`` header;
``Scenario(stream_error=...)`` sends an exception message mid-stream.

Example::

    with MockServer() as server:
        server.push(Scenario(text="Paris", reasoning="Capital of France?"))
        client = AiClient.create("bedrock/us.amazon.nova-micro-v1:0",
                                 base_url=server.base_url("bedrock"))
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any, ClassVar

from ailib.pipeline.eventstream import encode_event, encode_exception
from ailib.testing.dialect_base import Dialect, Headers, _Errors
from ailib.testing.routes import Route, register
from ailib.testing.scenario import FRAGMENT, Call, Plan, _text_of, compact_json

__all__ = ["BedrockDialect"]

ERROR_NAMESPACE = "http://internal.amazon.com/coral/com.amazon.bedrock/"
_PAD = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


class _Binary(str):
    """A binary frame riding in the ``list[str]`` of stream events.

    ``render`` turns every event into bytes with ``.encode()``; this returns the frame.
    """

    data: bytes

    def __new__(cls, data: bytes) -> _Binary:
        self = super().__new__(cls, data.hex())
        self.data = data
        return self

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        return self.data


def _compact(obj: Any) -> str:
    return compact_json(obj)


def _pad(n: int) -> str:
    """The ``p`` field Bedrock adds to every event to hide payload sizes."""
    return _PAD[: 1 + (n * 37) % len(_PAD)]


class BedrockDialect(Dialect):
    """Bedrock Converse (JSON) and ConverseStream (AWS event-stream) rendering.

    Example::

        server.push(Scenario(tool_calls=[("get_weather", {"city": "Paris"})]))
        server.push(Scenario(status=429))  # 429 + x-amzn-errortype: ThrottlingException
        server.push(Scenario(text="Hi", stream_error={"type": "throttlingException"}))
    """

    tool_prefix = "tooluse_mock"
    stream_type = "application/vnd.amazon.eventstream"
    errors: ClassVar[_Errors] = {
        400: ("ValidationException", None, "The provided model identifier is invalid."),
        401: ("UnrecognizedClientException", None,
              "The security token included in the request is invalid."),
        403: ("AccessDeniedException", None,
              "You don't have access to the model with the specified model ID."),
        404: ("ResourceNotFoundException", None,
              "Could not resolve the foundation model from the provided model identifier."),
        408: ("ModelTimeoutException", None,
              "Model has timed out in processing the request. Try your request again."),
        424: ("ModelErrorException", None, "The model returned an error: mock model error."),
        429: ("ThrottlingException", None, "Too many requests, please wait before trying again."),
        500: ("InternalServerException", None, "The service encountered an internal error."),
        503: ("ServiceUnavailableException", None, "Bedrock is unable to process your request."),
    }  # fmt: skip

    def __init__(self) -> None:
        # error headers handed out by headers(error=True), completed by error_body()
        self._error_headers: dict[int, Headers] = {}

    def request_id(self, seq: int) -> tuple[str, str]:
        return ("x-amzn-requestid", f"00000000-0000-4000-8000-{seq:012x}")

    def headers(self, call: Call, *, error: bool = False) -> Headers:
        headers = super().headers(call, error=error)
        if error:  # error_reply() asks for headers, then for the body (which knows the status)
            self._error_headers = {call.seq: headers}
        return headers

    def user_text(self, call: Call) -> str:
        for message in reversed(call.body.get("messages") or []):
            if isinstance(message, dict) and message.get("role") == "user":
                texts = []
                for block in message.get("content") or []:
                    if not isinstance(block, dict):
                        continue
                    if isinstance(block.get("text"), str):
                        texts.append(block["text"])
                    result = block.get("toolResult")
                    if isinstance(result, dict):
                        texts.append(_text_of(result.get("content")))
                return "".join(texts)
        return ""

    @staticmethod
    def signature(p: Plan) -> str:
        digest = hashlib.sha256((p.reasoning or "").encode()).digest()
        return base64.b64encode(b"mock-bedrock-signature:" + digest).decode()

    def usage(self, p: Plan) -> dict[str, Any]:
        usage: dict[str, Any] = {
            "inputTokens": max(p.input_tokens - p.cached, 0),
            "outputTokens": p.output_tokens,
            "totalTokens": p.input_tokens + p.output_tokens,
        }
        if p.cached:
            usage["cacheReadInputTokens"] = p.cached
            usage["cacheWriteInputTokens"] = 0
        return usage

    def complete(self, p: Plan) -> bytes:
        content: list[Any] = []
        if p.reasoning is not None:
            text = {"text": p.reasoning, "signature": self.signature(p)}
            content.append({"reasoningContent": {"reasoningText": text}})
        if p.has_text_block():
            content.append({"text": p.text})
        for t in p.tools:
            content.append({"toolUse": {"toolUseId": t.id, "name": t.name, "input": t.args}})
        body = {
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": p.finish("end_turn", "tool_use"),
            "usage": self.usage(p),
            "metrics": {"latencyMs": 100 + p.call.seq % 900},
        }
        return _compact(body).encode()

    def stream(self, p: Plan) -> list[str]:
        out: list[str] = []

        def event(kind: str, payload: dict[str, Any]) -> None:
            out.append(_Binary(encode_event(kind, {**payload, "p": _pad(len(out))})))

        def deltas(index: int, key: str, pieces: list[str], wrap: str | None = None) -> None:
            for piece in pieces:
                delta = {key: piece} if wrap is None else {wrap: {key: piece}}
                event("contentBlockDelta", {"contentBlockIndex": index, "delta": delta})

        event("messageStart", {"role": "assistant"})
        index = 0
        if p.reasoning is not None:
            deltas(index, "text", p.reasoning_pieces, "reasoningContent")
            deltas(index, "signature", [self.signature(p)], "reasoningContent")
            event("contentBlockStop", {"contentBlockIndex": index})
            index += 1
        if p.has_text_block():
            deltas(index, "text", p.pieces)
            event("contentBlockStop", {"contentBlockIndex": index})
            index += 1
        for t in p.tools:
            start = {"toolUse": {"toolUseId": t.id, "name": t.name}}
            event("contentBlockStart", {"contentBlockIndex": index, "start": start})
            deltas(index, "input", FRAGMENT.findall(_compact(t.args)), "toolUse")
            event("contentBlockStop", {"contentBlockIndex": index})
            index += 1
        error = p.scenario.stream_error
        if error is not None:
            kind = str(error.get("type", "serviceUnavailableException"))
            payload = {k: v for k, v in error.items() if k != "type"}
            known = (m for t, _, m in self.errors.values() if t[:1].lower() + t[1:] == kind)
            payload.setdefault("message", next(known, self.errors[503][2]))
            out.append(_Binary(encode_exception(kind, payload)))
            return out
        event("messageStop", {"stopReason": p.finish("end_turn", "tool_use")})
        metrics = {"latencyMs": 100 + p.call.seq % 900}
        event("metadata", {"usage": self.usage(p), "metrics": metrics})
        return out

    def error_body(self, call: Call, status: int, message: str | None) -> bytes:
        kind, _, default = self.error_entry(status)
        headers = self._error_headers.pop(call.seq, None)
        if headers is not None:
            headers.append(("x-amzn-errortype", f"{kind}:{ERROR_NAMESPACE}"))
        return _compact({"message": default if message is None else message}).encode()


def _model(match: re.Match[str], payload: dict[str, Any]) -> str:
    return match.group(1)


register(
    "bedrock",
    BedrockDialect(),
    Route("POST", r"^/model/(.+)/converse$", model=_model, stream=lambda m, p, q: False),
    Route("POST", r"^/model/(.+)/converse-stream$", model=_model, stream=lambda m, p, q: True),
    base_path="",
)
