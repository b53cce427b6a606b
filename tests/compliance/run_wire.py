"""Runners for wire-level cases: message and request building (03, 05), stream decoding,
event mapping and tool-call accumulation (04, 08), response parsing (08) and content-block
encoding (11).

Results are translated into the case's vocabulary: ailib's emission kinds become the
upstream event names (``tool_call`` -> ``PartialToolCall``), ailib's finish reasons the
upstream termination reasons (``stop`` -> ``end_turn``), ``Usage`` the OpenAI token names.
"""

from __future__ import annotations

import json
from typing import Any

from ailib.dialects import ChatRequest, get_dialect
from ailib.errors import AiLibError
from ailib.pipeline.assemble import Assembler
from ailib.pipeline.decoders import make_decoder
from ailib.pipeline.frames import FrameReader as _FrameReader
from ailib.protocol.interpret import EventMapper
from ailib.protocol.upgrade import FINISH
from ailib.runtime.classify import stream_error
from ailib.runtime.request import prepare
from ailib.runtime.spec import ProviderSpec
from ailib.types.events import StreamEvent, ToolCallEnded
from ailib.types.messages import ContentBlock, Message
from ailib.types.response import ChatResponse

from .run_protocol import Ctx, Observed

MODEL = "compliance-model"
UPSTREAM_EVENTS = {
    "content": "PartialContentDelta",
    "thinking": "ThinkingDelta",
    "tool_call": "PartialToolCall",
    "tool_call_end": "ToolCallEnded",
    "finish": "StreamEnd",
    "usage": "UsageReport",
    "meta": "Metadata",
    "error": "StreamError",
}
# ailib finish reason -> AI-Protocol termination reason (the first upstream name wins)
UPSTREAM_FINISH = {ours: theirs for theirs, ours in reversed(FINISH.items())}


def _messages(items: list[dict[str, Any]]) -> list[Message]:
    return [Message(m["role"], m.get("content", "")) for m in items]


def _prepare(spec: ProviderSpec, req: ChatRequest) -> dict[str, Any]:
    payload: dict[str, Any] = prepare(spec, req, base_url="http://127.0.0.1:9", query={}).payload
    return payload


# ---- 03 / 05 request building -------------------------------------------------------------


def message_building(ctx: Ctx) -> Observed:
    req = ChatRequest(MODEL, _messages(ctx.input["messages"]), dict(ctx.input["parameters"]))
    body = _prepare(ctx.spec(), req)
    return {"normalized_body": body, "message_count": len(body["messages"])}


def parameter_mapping(ctx: Ctx) -> Observed:
    req = ChatRequest(MODEL, [Message.user("hi")], dict(ctx.input["standard_params"]))
    body = _prepare(ctx.spec(), req)
    params = {k: v for k, v in body.items() if k not in ("model", "messages")}
    return {"provider_params": params}


# ---- 04 / 08 streams ----------------------------------------------------------------------


def _decode(ctx: Ctx, spec: ProviderSpec) -> tuple[list[Any], _FrameReader, bool]:
    """Raw chunks through the decoder and the engine's frame reader (done signal, JSON)."""
    config = {**spec.manifest.streaming.get("decoder", {}), **ctx.input.get("decoder_config", {})}
    if "raw_chunks" in ctx.input:
        chunks = [c.encode() for c in ctx.input["raw_chunks"]]
    else:  # "events": whole SSE events, each ended by the blank line that dispatches it
        chunks = [f"{event}\n\n".encode() for event in ctx.input["events"]]
    decoder = make_decoder(config.get("format", "sse"))
    reader = _FrameReader(config)
    frames: list[Any] = []
    for chunk in chunks:
        frames += reader.frames(decoder.feed(chunk), decoder.bytes_seen)
    frames += reader.frames(decoder.flush(), decoder.bytes_seen)
    return frames, reader, True


def _assemble(
    spec: ProviderSpec, frames: list[Any], *, stream: bool
) -> tuple[ChatResponse, list[StreamEvent]]:
    asm = Assembler(spec.manifest.termination, lambda f: stream_error(spec.errors, f))
    mapper = spec.map_stream if stream else spec.map_response
    events: list[StreamEvent] = []
    for frame in frames:
        events += asm.feed(mapper(frame))
    events += asm.finish()
    return asm.response(), events


def _usage(resp: ChatResponse) -> dict[str, int]:
    u = resp.usage
    return {
        "prompt_tokens": u.prompt_tokens,
        "completion_tokens": u.completion_tokens,
        "total_tokens": u.total_tokens,
        "reasoning_tokens": u.reasoning_tokens,
        "cached_tokens": u.cached_tokens,
    }


def _openai_calls(resp: ChatResponse) -> list[dict[str, Any]]:
    return [
        {
            "index": call.index,
            "id": call.id,
            "type": "function",
            "function": {"name": call.function_name, "arguments": call.raw_arguments},
        }
        for call in resp.tool_calls
    ]


def _blocks(resp: ChatResponse) -> list[dict[str, Any]]:
    blocks = [{"type": b.type, "content": b.text_value or ""} for b in resp.thinking_blocks]
    if resp.content:
        blocks.append({"type": "text", "content": resp.content})
    return blocks


def stream_decode(ctx: Ctx) -> Observed:
    spec = ctx.spec()
    frames, reader, completed = _decode(ctx, spec)
    out: Observed = {
        "valid": True,
        "events": [{"type": "frame", "has_content": _has_content(f), "data": f} for f in frames],
        "frame_count": len(frames),
        "completed": completed,
        "done_received": reader.done,
    }
    resp, _ = _assemble(spec, frames, stream=True)
    out["accumulated_tool_calls"] = _openai_calls(resp)
    out["usage"] = _usage(resp)
    out["content_blocks"] = _blocks(resp)
    out["finish_reason"] = UPSTREAM_FINISH.get(resp.finish_reason or "", resp.finish_reason)
    return out


def _has_content(frame: Any) -> bool:
    choices = frame.get("choices") if isinstance(frame, dict) else None
    delta = choices[0].get("delta") if isinstance(choices, list) and choices else None
    return isinstance(delta, dict) and bool(delta.get("content"))


def event_mapping(ctx: Ctx) -> Observed:
    """The case's own event map, interpreted by ailib's EventMapper."""
    mapper = EventMapper.from_config({"event_map": ctx.input["event_map"]})
    events = []
    for frame in ctx.input["frames"]:
        for kind, _cand, fields in mapper.map(frame):
            if kind != "unknown":  # ailib's forward-compatible "no rule matched" marker
                events.append({"type": UPSTREAM_EVENTS[kind], **fields})
    return {"events": events, "event_count": len(events)}


def tool_accumulation(ctx: Ctx) -> Observed:
    """Each partial chunk is a streamed ``delta.tool_calls`` entry of the provider's wire."""
    spec = ctx.spec()
    frames = [
        {"choices": [{"index": 0, "delta": {"tool_calls": [c]}}]}
        for c in ctx.input["partial_chunks"]
    ]
    resp, events = _assemble(spec, frames, stream=True)
    ended = {e.index for e in events if isinstance(e, ToolCallEnded)}
    complete = all(c.index in ended and _is_json(c.raw_arguments) for c in resp.tool_calls)
    return {"assembled_tool_calls": _openai_calls(resp), "complete": complete}


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def response_parsing(ctx: Ctx) -> Observed:
    resp, _ = _assemble(ctx.spec(), [ctx.input["response_body"]], stream=False)
    return {"valid": True, "usage": _usage(resp), "content": resp.content}


# ---- 11 content blocks --------------------------------------------------------------------


def _block(spec: dict[str, Any]) -> ContentBlock:
    kind = spec["block_type"]
    if kind == "text":
        return ContentBlock.text(spec["text"])
    if spec.get("source_type") == "base64":
        return ContentBlock(kind, data=spec["data"], media_type=spec.get("mime_type"))
    return ContentBlock(kind, url=spec["data"], media_type=spec.get("mime_type"))  # a reference


def content_block_encode(ctx: Ctx) -> Observed:
    """A user message of these blocks through the dialect's request encoder."""
    style = ctx.input["api_style"]
    message = Message.user([_block(b) for b in ctx.input["blocks"]])
    try:
        body = get_dialect(style)(ChatRequest(MODEL, [message]))
    except AiLibError as exc:
        return {"valid": False, "error": exc.message}
    if style == "gemini_generate":
        encoded = body["contents"][0]["parts"]
    else:
        encoded = body["messages"][0]["content"]
        if isinstance(encoded, str):  # ailib sends a lone text block as a plain string
            encoded = [{"type": "text", "text": encoded}]
    return {"valid": True, "encoded": encoded}
