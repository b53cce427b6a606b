"""Mock-server plugin: the OpenAI Responses API (``POST /v1/responses``).

Non-streamed answers are a ``response`` object with ``output`` items (``reasoning`` with a
summary and, when ``include`` asks for it, ``encrypted_content``; ``message`` with
``output_text``; ``function_call``), ``status``/``incomplete_details`` and usage.
Streams are the real named SSE events, numbered by ``sequence_number``:
``response.created``, ``response.in_progress``, ``response.output_item.added``,
``response.reasoning_summary_*``, ``response.content_part.*``,
``response.output_text.delta``/``.done``, ``response.function_call_arguments.*``,
``response.output_item.done`` and ``response.completed`` (``response.incomplete`` when a
scenario sets ``finish_reason="length"``). ``Scenario(stream_error=...)`` ends the stream
with ``response.failed`` carrying that error (``{"type": "error", ...}`` sends the bare
``error`` event instead; a dict holding ``"error"`` is sent verbatim). HTTP errors carry
OpenAI's real error bodies. ``POST /responses`` (no ``/v1``; ``base_url("deepseek-responses")``)
answers in DeepSeek's flavour: UUID ids and raw ``reasoning_text`` instead of summaries.

Example::

    with MockServer() as server:
        server.push(Scenario(text="Paris", reasoning="Capital of France?"))
        client = AiClient.create("openai-responses/gpt-5", api_key="k",
                                 base_url=server.base_url("responses"))
        client.chat().user("Capital of France?").reasoning("low").execute().content
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any

import attrs

from ailib.testing.dialects import OpenAIDialect
from ailib.testing.routes import Route, register
from ailib.testing.scenario import FRAGMENT, Call, Plan, compact_json, split_words

__all__ = ["DeepSeekResponsesDialect", "ResponsesDialect"]

_enc: Callable[[str], str] = json.encoder.encode_basestring  # C-accelerated
_SLOT = "\ue000slot\ue000"
_SEQ = 918273645546372819  # placeholder sequence number inside delta templates
_OBFUSCATION = "mOck0bfuSc4t"
_FAILED = {
    "code": "server_error",
    "message": "The server had an error processing your request. Sorry about that!",
}
_INCOMPLETE = {"length": "max_output_tokens", "max_tokens": "max_output_tokens"}


def _compact(obj: Any) -> str:
    return compact_json(obj)


def _words(value: Any) -> int:
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, list):
        return sum(_words(v) for v in value)
    if isinstance(value, dict):
        keys = ("content", "text", "output", "arguments")
        return sum(_words(value[k]) for k in keys if k in value)
    return 0


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    return ""


class _Events:
    """Builds numbered SSE events; deltas use string templates (two slots each)."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.seq = 0

    @staticmethod
    def _render(kind: str, data: dict[str, Any], seq: int) -> str:
        fields = dict(sorted({**data, "sequence_number": seq}.items()))
        return f"event: {kind}\ndata: " + _compact({"type": kind, **fields}) + "\n\n"

    def add(self, kind: str, **data: Any) -> None:
        self.out.append(self._render(kind, data, self.seq))
        self.seq += 1

    def deltas(self, kind: str, pieces: list[str], **data: Any) -> None:
        text = self._render(kind, {**data, "delta": _SLOT}, _SEQ)
        pre, rest = text.split(_enc(_SLOT), 1)
        mid, post = rest.split(str(_SEQ), 1)
        for piece in pieces:
            self.out.append(f"{pre}{_enc(piece)}{mid}{self.seq}{post}")
            self.seq += 1


class ResponsesDialect(OpenAIDialect):
    """OpenAI Responses API rendering (errors, headers and request ids as OpenAI's)."""

    def user_text(self, call: Call) -> str:
        items = call.body.get("input")
        if isinstance(items, str):
            return items
        for item in reversed(items if isinstance(items, list) else []):
            if isinstance(item, dict) and item.get("role") == "user":
                return _text_of(item.get("content"))
        return ""

    # ---- the response object -------------------------------------------------------

    def _plan(self, p: Plan) -> Plan:
        """Default input usage counted from ``instructions`` and ``input``."""
        if p.scenario.usage is not None:
            return p
        body = p.call.body
        count = _words(body.get("instructions")) + _words(body.get("input"))
        return attrs.evolve(p, input_tokens=max(count, 1))

    def _ids(self, p: Plan) -> dict[str, str]:
        n = p.call.seq
        return {
            "resp": f"resp_mock{n:040x}",
            "rs": f"rs_mock{n:042x}",
            "msg": f"msg_mock{n:041x}",
        }

    @staticmethod
    def encrypted(p: Plan) -> str:
        """Stand-in for the opaque ``encrypted_content`` of the reasoning item."""
        digest = hashlib.sha256((p.reasoning or "").encode()).digest()
        return "gAAAAAB" + base64.urlsafe_b64encode(b"mock-reasoning:" + digest).decode()

    def _wants_encrypted(self, p: Plan) -> bool:
        include = p.call.body.get("include")
        return isinstance(include, list) and "reasoning.encrypted_content" in include

    def usage(self, p: Plan) -> dict[str, Any]:
        return {
            "input_tokens": p.input_tokens,
            "input_tokens_details": {"cached_tokens": p.cached},
            "output_tokens": p.output_tokens,
            "output_tokens_details": {"reasoning_tokens": p.thoughts},
            "total_tokens": p.input_tokens + p.output_tokens,
        }

    def _status(self, p: Plan) -> tuple[str, dict[str, Any] | None]:
        finish = p.scenario.finish_reason
        if finish is None or finish in ("stop", "completed", "tool_calls"):
            return "completed", None
        return "incomplete", {"reason": _INCOMPLETE.get(finish, finish)}

    def _reasoning_item(self, p: Plan, *, final: bool) -> dict[str, Any]:
        item: dict[str, Any] = {"id": self._ids(p)["rs"], "type": "reasoning"}
        if final and self._wants_encrypted(p):
            item["encrypted_content"] = self.encrypted(p)
        summary = [{"type": "summary_text", "text": p.reasoning}]
        item["summary"] = summary if final and p.reasoning else []
        return item

    def _message_item(self, p: Plan, *, final: bool) -> dict[str, Any]:
        part: dict[str, Any] = {
            "type": "output_text", "annotations": [], "logprobs": [], "text": p.text
        }  # fmt: skip
        if p.scenario.refusal is not None:
            part = {"type": "refusal", "refusal": p.scenario.refusal}
        return {
            "id": self._ids(p)["msg"],
            "type": "message",
            "status": "completed" if final else "in_progress",
            "content": [part] if final else [],
            "role": "assistant",
        }

    def _call_item(self, p: Plan, i: int, *, final: bool) -> dict[str, Any]:
        tool = p.tools[i]
        return {
            "id": f"fc_mock{p.call.seq:036x}{i:04x}",
            "type": "function_call",
            "status": "completed" if final else "in_progress",
            "arguments": _compact(tool.args) if final else "",
            "call_id": tool.id,
            "name": tool.name,
        }

    def _output(self, p: Plan) -> list[dict[str, Any]]:
        out = []
        if p.reasoning is not None:
            out.append(self._reasoning_item(p, final=True))
        if p.has_text_block():
            out.append(self._message_item(p, final=True))
        out.extend(self._call_item(p, i, final=True) for i in range(len(p.tools)))
        return out

    def _response(self, p: Plan, status: str, *, final: bool) -> dict[str, Any]:
        body = p.call.body
        reasoning = _dict(body.get("reasoning"))
        text = _dict(body.get("text"))
        incomplete = self._status(p)[1] if status == "incomplete" else None
        return {
            "id": self._ids(p)["resp"],
            "object": "response",
            "created_at": p.created,
            "status": status,
            "background": False,
            "completed_at": p.created if final and status != "failed" else None,
            "error": None,
            "incomplete_details": incomplete,
            "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"),
            "max_tool_calls": body.get("max_tool_calls"),
            "model": p.model,
            "output": self._output(p) if final else [],
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "previous_response_id": body.get("previous_response_id"),
            "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
            "service_tier": "default",
            "store": body.get("store", True),
            "temperature": body.get("temperature", 1.0),
            "text": {"format": text.get("format", {"type": "text"}), "verbosity": "medium"},
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": body.get("tools", []),
            "top_p": body.get("top_p", 1.0),
            "truncation": "disabled",
            "usage": self.usage(p) if final else None,
            "user": None,
            "metadata": body.get("metadata", {}),
        }

    def complete(self, p: Plan) -> bytes:
        p = self._plan(p)
        status, _ = self._status(p)
        return (json.dumps(self._response(p, status, final=True), indent=2) + "\n").encode()

    # ---- the event stream ------------------------------------------------------------

    def stream(self, p: Plan) -> list[str]:
        p = self._plan(p)
        ev = _Events()
        ev.add("response.created", response=self._response(p, "in_progress", final=False))
        ev.add("response.in_progress", response=self._response(p, "in_progress", final=False))
        index = 0
        if p.reasoning is not None:
            self._stream_reasoning(p, ev, index)
            index += 1
        if p.has_text_block():
            self._stream_message(p, ev, index)
            index += 1
        for i in range(len(p.tools)):
            self._stream_call(p, ev, index, i)
            index += 1
        error = p.scenario.stream_error
        if error is not None:
            if "error" in error:  # verbatim payload of an `error` event
                kind = str(error.get("type", "error"))
                ev.out.append(f"event: {kind}\ndata: " + _compact(error) + "\n\n")
            elif error.get("type") == "error":  # the `error` event: code, message, param
                fields = {**_FAILED, "param": None, **error}
                ev.add("error", **{k: v for k, v in fields.items() if k != "type"})
            else:
                failed = self._response(p, "failed", final=False)
                failed["error"] = {**_FAILED, **error}
                ev.add("response.failed", response=failed)
            return ev.out
        status, _ = self._status(p)
        kind = "response.completed" if status == "completed" else "response.incomplete"
        ev.add(kind, response=self._response(p, status, final=True))
        return ev.out

    def _stream_reasoning(self, p: Plan, ev: _Events, index: int) -> None:
        rid = self._ids(p)["rs"]
        ev.add("response.output_item.added", item=self._reasoning_item(p, final=False),
               output_index=index)  # fmt: skip
        where = {"item_id": rid, "output_index": index, "summary_index": 0}
        if p.reasoning:
            ev.add("response.reasoning_summary_part.added",
                   part={"type": "summary_text", "text": ""}, **where)  # fmt: skip
            ev.deltas("response.reasoning_summary_text.delta", p.reasoning_pieces,
                      obfuscation=_OBFUSCATION, **where)  # fmt: skip
            ev.add("response.reasoning_summary_text.done", text=p.reasoning, **where)
            ev.add("response.reasoning_summary_part.done",
                   part={"type": "summary_text", "text": p.reasoning}, **where)  # fmt: skip
        ev.add("response.output_item.done", item=self._reasoning_item(p, final=True),
               output_index=index)  # fmt: skip

    def _stream_message(self, p: Plan, ev: _Events, index: int) -> None:
        where = {"content_index": 0, "item_id": self._ids(p)["msg"], "output_index": index}
        ev.add("response.output_item.added", item=self._message_item(p, final=False),
               output_index=index)  # fmt: skip
        refusal = p.scenario.refusal
        if refusal is not None:  # a refusal part instead of output text
            part = {"type": "refusal", "refusal": ""}
            ev.add("response.content_part.added", part=part, **where)
            ev.deltas("response.refusal.delta", split_words(refusal), **where)
            ev.add("response.refusal.done", refusal=refusal, **where)
            ev.add("response.content_part.done", part={**part, "refusal": refusal}, **where)
            ev.add("response.output_item.done", item=self._message_item(p, final=True),
                   output_index=index)  # fmt: skip
            return
        empty = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
        ev.add("response.content_part.added", part=empty, **where)
        ev.deltas("response.output_text.delta", p.pieces, logprobs=[],
                  obfuscation=_OBFUSCATION, **where)  # fmt: skip
        ev.add("response.output_text.done", logprobs=[], text=p.text, **where)
        ev.add("response.content_part.done", part={**empty, "text": p.text}, **where)
        ev.add("response.output_item.done", item=self._message_item(p, final=True),
               output_index=index)  # fmt: skip

    def _stream_call(self, p: Plan, ev: _Events, index: int, i: int) -> None:
        item = self._call_item(p, i, final=True)
        where = {"item_id": item["id"], "output_index": index}
        ev.add("response.output_item.added", item=self._call_item(p, i, final=False),
               output_index=index)  # fmt: skip
        ev.deltas("response.function_call_arguments.delta", FRAGMENT.findall(item["arguments"]),
                  obfuscation=_OBFUSCATION, **where)  # fmt: skip
        ev.add("response.function_call_arguments.done", arguments=item["arguments"], **where)
        ev.add("response.output_item.done", item=item, output_index=index)


class DeepSeekResponsesDialect(ResponsesDialect):
    """DeepSeek's flavour: ``/responses`` without ``/v1``, UUID ids and raw reasoning
    (``content[*].reasoning_text``, streamed as ``response.reasoning_text.delta``)."""

    def _ids(self, p: Plan) -> dict[str, str]:
        n = p.call.seq
        return {k: f"{i:08x}-0000-4000-8000-{n:012x}" for i, k in enumerate(("resp", "rs", "msg"))}

    def _reasoning_item(self, p: Plan, *, final: bool) -> dict[str, Any]:
        content = [{"type": "reasoning_text", "text": p.reasoning}] if final else []
        status = "completed" if final else "in_progress"
        rid = self._ids(p)["rs"]
        return {"type": "reasoning", "id": rid, "status": status, "content": content, "summary": []}

    def _stream_reasoning(self, p: Plan, ev: _Events, index: int) -> None:
        where = {"content_index": 0, "item_id": self._ids(p)["rs"], "output_index": index}
        ev.add("response.output_item.added", item=self._reasoning_item(p, final=False),
               output_index=index)  # fmt: skip
        part = {"type": "reasoning_text", "text": ""}
        ev.add("response.content_part.added", part=part, **where)
        ev.deltas("response.reasoning_text.delta", p.reasoning_pieces, **where)
        ev.add("response.reasoning_text.done", text=p.reasoning, **where)
        ev.add("response.content_part.done", part={**part, "text": p.reasoning}, **where)
        ev.add("response.output_item.done", item=self._reasoning_item(p, final=True),
               output_index=index)  # fmt: skip


register("responses", ResponsesDialect(), Route("POST", r"^/v1/responses$"), base_path="/v1")
register(
    "deepseek-responses",
    DeepSeekResponsesDialect(),
    Route("POST", r"^/responses$"),
    base_path="",
)
