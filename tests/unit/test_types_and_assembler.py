"""Unified types (ailib.types) and the emission Assembler (ailib.pipeline.assemble)."""

from __future__ import annotations

import base64
from typing import Any, Literal, Optional

import pytest

from ailib.errors import AiLibError, InvalidRequestError, RemoteError, ToolDefinitionError
from ailib.pipeline.assemble import Assembler
from ailib.types import (
    ContentBlock,
    ContentDelta,
    Message,
    MessageRole,
    RefusalDelta,
    StreamEnd,
    ThinkingDelta,
    ToolCall,
    ToolCallArgumentsDelta,
    ToolCallEnded,
    ToolCallStarted,
    ToolDefinition,
    UnknownEvent,
    Usage,
    UsageEvent,
)
from ailib.types.response import ChatResponse

# ---- ToolDefinition ---------------------------------------------------------------------


def search(
    query: str,
    limit: int,
    threshold: float = 0.5,
    exact: bool = False,
    tags: list[str] | None = None,
    mode: Literal["fast", "deep"] = "fast",
    owner: Optional[str] = None,  # noqa: UP045 - the typing.Optional spelling is under test
    raw: dict = None,  # type: ignore[assignment,type-arg]  # noqa: RUF013
    anything=None,  # type: ignore[no-untyped-def]
) -> list[str]:
    """Search the index.

    Longer explanation that is not part of the description.
    """
    return []


def test_from_function_builds_a_json_schema() -> None:
    tool = ToolDefinition.from_function(search)
    assert tool.name == "search"
    assert tool.description == "Search the index."
    assert tool.strict is None
    assert tool.parameters == {
        "type": "object",
        "properties": {
            "query": {"type": "string"},
            "limit": {"type": "integer"},
            "threshold": {"type": "number"},
            "exact": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "mode": {"enum": ["fast", "deep"]},
            "owner": {"type": "string"},
            "raw": {"type": "object"},
            "anything": {},
        },
        "required": ["query", "limit"],
    }


def test_from_function_overrides() -> None:
    tool = ToolDefinition.from_function(search, name="find", description="Find things", strict=True)
    assert (tool.name, tool.description, tool.strict) == ("find", "Find things", True)
    assert "query" in tool.parameters["properties"]
    explicit = {"type": "object", "properties": {}}
    assert ToolDefinition.from_function(search, parameters=explicit).parameters is explicit


def test_from_function_without_docstring_or_params() -> None:
    def ping() -> None:
        pass

    tool = ToolDefinition.from_function(ping)
    assert tool.description == ""
    assert tool.parameters == {"type": "object", "properties": {}, "required": []}


def test_from_function_with_bare_list_and_untyped_list() -> None:
    def f(a: list, b: tuple[int, ...], c: set[str]) -> None:  # type: ignore[type-arg]
        """Doc."""

    props = ToolDefinition.from_function(f).parameters["properties"]
    assert props == {
        "a": {"type": "array"},
        "b": {"type": "array", "items": {"type": "integer"}},
        "c": {"type": "array", "items": {"type": "string"}},
    }


def test_from_function_by_name_only() -> None:
    tool = ToolDefinition.from_function(name="get_weather", description="Weather")
    assert tool == ToolDefinition("get_weather", "Weather", {"type": "object", "properties": {}})
    with pytest.raises(ToolDefinitionError, match="needs a function or a name"):
        ToolDefinition.from_function()


def test_tool_definition_defaults_are_not_shared() -> None:
    a, b = ToolDefinition("a"), ToolDefinition("b")
    assert a.parameters == {"type": "object", "properties": {}}
    assert a.parameters is not b.parameters


# ---- ToolCall ---------------------------------------------------------------------------


def test_tool_call_from_json_text() -> None:
    call = ToolCall.from_raw("c1", "f", '{"city": "Paris", "n": 2}', index=3)
    assert call.arguments == {"city": "Paris", "n": 2}
    assert call.raw_arguments == '{"city": "Paris", "n": 2}'
    assert call.index == 3
    assert call.name == call.function_name == "f"
    assert call.extra == {}


def test_tool_call_from_dict() -> None:
    call = ToolCall.from_raw("c1", "f", {"city": "Zürich"}, extra={"thought_signature": "s"})
    assert call.arguments == {"city": "Zürich"}
    assert call.raw_arguments == '{"city": "Zürich"}'
    assert call.extra == {"thought_signature": "s"}


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_tool_call_from_empty(raw: str | None) -> None:
    call = ToolCall.from_raw("c1", "f", raw)
    assert call.arguments == {}
    assert call.raw_arguments == (raw or "")


def test_tool_call_invalid_json_keeps_raw_arguments() -> None:
    call = ToolCall.from_raw("c1", "f", '{"city": "Par')
    assert call.arguments is None  # never made up
    assert call.raw_arguments == '{"city": "Par'
    assert call.arguments_error is not None and "not valid JSON" in call.arguments_error


@pytest.mark.parametrize(
    ("raw", "kind"), [("[1, 2]", "an array"), ("3", "a number"), ('"x"', "a string")]
)
def test_tool_call_non_object_json_is_marked(raw: str, kind: str) -> None:
    call = ToolCall.from_raw("c1", "f", raw)
    assert call.arguments is None and call.raw_arguments == raw
    assert call.arguments_error == f"arguments are {kind}, not a JSON object"


# ---- Message and ContentBlock -----------------------------------------------------------


def test_message_constructors() -> None:
    assert Message.system("s") == Message(MessageRole.SYSTEM, "s")
    assert Message.user("u").role is MessageRole.USER
    assert Message.assistant().content == ""
    call = ToolCall.from_raw("c", "f", "{}")
    assistant = Message.assistant("a", [call])
    assert assistant.tool_calls == [call]
    assert Message("user", None).content == ""
    assert Message("assistant", "x").role is MessageRole.ASSISTANT
    with pytest.raises(InvalidRequestError, match="role must be one of"):
        Message("robot", "x")


def test_tool_message_serializes_non_string_content() -> None:
    msg = Message.tool("c1", {"temp": 21, "city": "Zürich"}, name="get_weather")
    assert msg.role is MessageRole.TOOL
    assert msg.content == '{"temp": 21, "city": "Zürich"}'
    assert msg.tool_call_id == "c1"
    assert msg.name == "get_weather"
    assert Message.tool("c1", "as is").content == "as is"
    assert Message.tool("c1", [1, None]).content == "[1, null]"


def test_message_text_joins_text_blocks_only() -> None:
    msg = Message.user(
        [ContentBlock.text("a"), ContentBlock.image_url("https://x/y"), ContentBlock.text("b")]
    )
    assert msg.text == "ab"
    assert Message.user("plain").text == "plain"


def test_user_with_image() -> None:
    by_url = Message.user_with_image("what?", image_url="https://x/y.jpg")
    assert by_url.content == [
        ContentBlock.text("what?"),
        ContentBlock("image", url="https://x/y.jpg"),
    ]
    png = b"\x89PNG\r\n\x1a\n\x00\x00"
    by_bytes = Message.user_with_image("what?", image_base64=png)
    image = by_bytes.content[1]
    assert isinstance(image, ContentBlock)
    assert image.data == base64.b64encode(png).decode()
    assert image.media_type == "image/png"  # from the bytes, not a default
    with pytest.raises(InvalidRequestError, match="needs image_url or image_base64"):
        Message.user_with_image("what?")


def test_image_url_with_a_data_url_is_inline() -> None:
    block = ContentBlock.image_url("data:image/webp;base64,UklGRg==", detail="low")
    assert block.type == "image"
    assert block.url is None
    assert block.data == "UklGRg=="
    assert block.media_type == "image/webp"
    assert block.detail == "low"
    assert block.data_url == "data:image/webp;base64,UklGRg=="


def test_image_url_with_a_plain_url() -> None:
    block = ContentBlock.image_url("https://x/cat.png")
    assert block.url == "https://x/cat.png"
    assert block.data is None
    assert block.data_url == "https://x/cat.png"
    # a data URL that is not base64 stays a URL
    assert ContentBlock.image_url("data:text/plain,hi").url == "data:text/plain,hi"


def test_image_base64_media_type_comes_from_the_bytes() -> None:
    assert ContentBlock.image_base64("R0lGODlh").data_url == "data:image/gif;base64,R0lGODlh"
    with pytest.raises(InvalidRequestError, match="cannot tell"):
        ContentBlock.image_base64("QUJD")  # b"ABC": no image signature, no type given


# ---- ChatResponse.to_message ------------------------------------------------------------


def test_to_message_plain() -> None:
    call = ToolCall.from_raw("c", "f", {"a": 1})
    msg = ChatResponse("hello", [call]).to_message()
    assert msg == Message(MessageRole.ASSISTANT, "hello", [call])


def test_to_message_keeps_thinking_blocks_and_tool_calls() -> None:
    call = ToolCall.from_raw("c", "f", {"a": 1})
    blocks = [ContentBlock.thinking("t", "sig"), ContentBlock("redacted_thinking", data="R")]
    msg = ChatResponse("answer", [call], thinking_blocks=blocks).to_message()
    assert msg.role is MessageRole.ASSISTANT
    assert msg.content == [*blocks, ContentBlock.text("answer")]
    assert msg.tool_calls == [call]
    only_thinking = ChatResponse("", [call], thinking_blocks=blocks).to_message()
    assert only_thinking.content == blocks


def test_response_helpers() -> None:
    assert ChatResponse("x").has_tool_calls is False
    assert ChatResponse("x", [ToolCall("c", "f")]).has_tool_calls is True
    usage = Usage(input_tokens=3, output_tokens=4, total_tokens=7)
    assert (usage.prompt_tokens, usage.completion_tokens) == (3, 4)


# ---- Assembler: content, thinking, refusal ----------------------------------------------


def test_content_deltas_accumulate() -> None:
    asm = Assembler()
    events = asm.feed(
        [
            ("content", 0, {"text": "Hel"}),
            ("content", 0, {"text": ""}),
            ("content", 0, {}),
            ("content", 0, {"content": "lo"}),
        ]
    )
    assert events == [ContentDelta("Hel"), ContentDelta("lo")]
    assert asm.response().content == "Hello"


def test_thinking_blocks_with_signatures() -> None:
    asm = Assembler()
    events = asm.feed(
        [
            ("thinking", 0, {"text": "", "new_block": True}),
            ("thinking", 0, {"text": "a"}),
            ("thinking", 0, {"thinking": "b"}),
            ("thinking_signature", 0, {"signature": "S1"}),
            ("thinking", 0, {"text": "c"}),  # after a signature: a new block
            ("thinking_signature", 0, {"signature": "S2"}),
            ("content", 0, {"text": "answer"}),
        ]
    )
    assert events == [
        ThinkingDelta("a"),
        ThinkingDelta("b"),
        ThinkingDelta("c"),
        ContentDelta("answer"),
    ]
    resp = asm.response()
    assert resp.reasoning == "abc"
    assert resp.thinking_blocks == [
        ContentBlock.thinking("ab", "S1"),
        ContentBlock.thinking("c", "S2"),
    ]


def test_complete_thinking_blocks_from_a_response() -> None:
    asm = Assembler()
    asm.feed(
        [
            ("thinking", 0, {"text": "one", "signature": "S1", "new_block": True}),
            ("thinking", 0, {"text": "two", "signature": "S2", "new_block": True}),
        ]
    )
    assert asm.response().thinking_blocks == [
        ContentBlock.thinking("one", "S1"),
        ContentBlock.thinking("two", "S2"),
    ]


def test_new_block_flag_splits_unsigned_thinking() -> None:
    asm = Assembler()
    asm.feed([("thinking", 0, {"text": "a"}), ("thinking", 0, {"text": "b", "new_block": True})])
    assert [b.text_value for b in asm.response().thinking_blocks] == ["a", "b"]


def test_signature_without_a_block_is_ignored() -> None:
    asm = Assembler()
    asm.feed([("thinking_signature", 0, {"signature": "S"})])
    assert asm.response().thinking_blocks == []


def test_redacted_thinking_blocks() -> None:
    asm = Assembler()
    asm.feed(
        [
            ("thinking", 0, {"text": "visible", "signature": "S", "new_block": True}),
            ("thinking_redacted", 0, {"data": "ENC"}),
        ]
    )
    resp = asm.response()
    assert resp.thinking_blocks == [
        ContentBlock.thinking("visible", "S"),
        ContentBlock("redacted_thinking", data="ENC"),
    ]
    assert resp.reasoning == "visible"


def test_thinking_after_redacted_thinking_is_its_own_block() -> None:
    asm = Assembler()
    asm.feed(
        [
            ("thinking_redacted", 0, {"data": "ENC"}),
            ("thinking", 0, {"text": "", "new_block": True}),
            ("thinking", 0, {"text": "abc"}),
            ("thinking_signature", 0, {"signature": "S"}),
        ]
    )
    assert asm.response().thinking_blocks == [
        ContentBlock("redacted_thinking", data="ENC"),
        ContentBlock.thinking("abc", "S"),
    ]


def test_refusal() -> None:
    asm = Assembler()
    events = asm.feed([("refusal", 0, {"text": "I can't"}), ("refusal", 0, {"text": " help"})])
    assert events == [RefusalDelta("I can't"), RefusalDelta(" help")]
    resp = asm.response()
    assert resp.refusal == "I can't help"
    assert resp.content == ""
    assert events[0].is_refusal_delta
    assert events[0].as_refusal_delta.refusal == "I can't"


# ---- Assembler: tool calls --------------------------------------------------------------


def test_tool_call_fragments_by_index() -> None:
    asm = Assembler()
    events = asm.feed(
        [
            ("tool_call", 0, {"index": 0, "id": "c1", "name": "get_weather"}),
            ("tool_call", 0, {"index": 1, "id": "c2", "name": "get_time", "arguments": "{}"}),
            ("tool_call", 0, {"index": 0, "arguments": '{"city":'}),
            ("tool_call", 0, {"index": 0, "arguments": ' "Paris"}'}),
        ]
    )
    assert events == [
        ToolCallStarted(0, "c1", "get_weather"),
        ToolCallStarted(1, "c2", "get_time"),
        ToolCallArgumentsDelta(1, "{}", "c2"),
        ToolCallArgumentsDelta(0, '{"city":', "c1"),
        ToolCallArgumentsDelta(0, ' "Paris"}', "c1"),
    ]
    ended = asm.finish()
    assert [e.index for e in ended if isinstance(e, ToolCallEnded)] == [0, 1]
    assert asm.finish() == []  # already closed
    calls = asm.response().tool_calls
    assert [(c.id, c.function_name, c.arguments) for c in calls] == [
        ("c1", "get_weather", {"city": "Paris"}),
        ("c2", "get_time", {}),
    ]


def test_tool_call_end_closes_once() -> None:
    asm = Assembler()
    asm.feed(
        [
            ("tool_call", 0, {"index": 3, "id": "tu", "name": "f"}),
            ("tool_call", 0, {"index": 3, "arguments": '{"x": 1}'}),
        ]
    )
    first = asm.feed([("tool_call_end", 0, {"index": 3})])
    assert len(first) == 1 and isinstance(first[0], ToolCallEnded)
    assert first[0].tool_call == ToolCall.from_raw("tu", "f", '{"x": 1}', index=3)
    assert asm.feed([("tool_call_end", 0, {"index": 3})]) == []
    assert asm.feed([("tool_call_end", 0, {"index": 9})]) == []  # a text block stop
    assert asm.finish() == []


def test_argument_deltas_of_unknown_blocks_are_ignored() -> None:
    asm = Assembler()
    assert asm.feed([("tool_call", 0, {"index": 5, "arguments": '{"q": 1}'})]) == []
    assert asm.response().tool_calls == []


def test_late_name_fills_in() -> None:
    asm = Assembler()
    asm.feed(
        [("tool_call", 0, {"index": 0, "id": "c1"}), ("tool_call", 0, {"index": 0, "name": "f"})]
    )
    assert asm.response().tool_calls[0].function_name == "f"


def test_complete_calls_given_as_dicts() -> None:
    asm = Assembler()
    events = asm.feed(
        [
            ("tool_call", 0, {"name": "a", "arguments": {"x": 1}, "thought_signature": "TS"}),
            ("tool_call", 0, {"id": "given", "name": "b", "arguments": {}}),
        ]
    )
    assert [type(e) for e in events] == [
        ToolCallStarted,
        ToolCallArgumentsDelta,
        ToolCallEnded,
        ToolCallStarted,
        ToolCallArgumentsDelta,
        ToolCallEnded,
    ]
    first = events[2]
    assert isinstance(first, ToolCallEnded)
    assert first.tool_call == ToolCall(
        "call_0_0", "a", {"x": 1}, '{"x": 1}', 0, {"thought_signature": "TS"}
    )
    second = events[5]
    assert isinstance(second, ToolCallEnded)
    assert (second.tool_call.id, second.index, second.tool_call.raw_arguments) == ("given", 1, "{}")
    assert asm.finish() == []


def test_reused_index_after_end_starts_a_new_call() -> None:
    asm = Assembler()
    asm.feed(
        [
            ("tool_call", 0, {"index": 0, "id": "c1", "name": "f", "arguments": {"a": 1}}),
            ("tool_call", 0, {"index": 0, "id": "c2", "name": "g", "arguments": {"b": 2}}),
        ]
    )
    calls = asm.response().tool_calls
    assert [(c.id, c.function_name, c.arguments, c.index) for c in calls] == [
        ("c1", "f", {"a": 1}, 0),
        ("c2", "g", {"b": 2}, 1),
    ]


def test_reused_index_fragments_go_to_the_new_call() -> None:
    asm = Assembler()
    asm.feed(
        [
            ("tool_call", 0, {"index": 0, "id": "c1", "name": "f", "arguments": '{"a":1}'}),
            ("tool_call_end", 0, {"index": 0}),
            ("tool_call", 0, {"index": 0, "id": "c2", "name": "g"}),
            ("tool_call", 0, {"index": 0, "arguments": '{"b":2}'}),
        ]
    )
    asm.finish()
    calls = asm.response().tool_calls
    assert [(c.id, c.function_name, c.arguments) for c in calls] == [
        ("c1", "f", {"a": 1}),
        ("c2", "g", {"b": 2}),
    ]


def test_tool_calls_are_per_candidate() -> None:
    asm = Assembler()
    asm.feed(
        [
            ("tool_call", 0, {"index": 0, "id": "a", "name": "f", "arguments": "{}"}),
            ("tool_call", 1, {"index": 0, "id": "b", "name": "g", "arguments": "{}"}),
        ]
    )
    ended = asm.finish()
    assert [(e.candidate, e.tool_call.id) for e in ended if isinstance(e, ToolCallEnded)] == [
        (0, "a"),
        (1, "b"),
    ]
    resp = asm.response()
    assert [c.id for c in resp.tool_calls] == ["a"]
    assert [c.id for c in resp.candidates[1].tool_calls] == ["b"]


# ---- Assembler: candidates, usage, finish -----------------------------------------------


def test_multiple_candidates() -> None:
    asm = Assembler({"stop": "stop"})
    events = asm.feed(
        [
            ("content", 1, {"text": "B"}),
            ("content", 0, {"text": "A"}),
            ("thinking", 1, {"text": "hm"}),
            ("finish", 1, {"reason": "length"}),
            ("finish", 0, {"reason": "stop"}),
        ]
    )
    assert ContentDelta("B", 1) in events
    assert StreamEnd("length", "length", 1) in events
    resp = asm.response()
    assert resp.content == "A"
    assert resp.finish_reason == "stop"
    assert [(c.index, c.content, c.finish_reason, c.reasoning) for c in resp.candidates] == [
        (0, "A", "stop", None),
        (1, "B", "length", "hm"),
    ]


def test_empty_response() -> None:
    resp = Assembler().response(request_id="r", raw={"x": 1})
    assert resp.content == ""
    assert resp.tool_calls == []
    assert resp.finish_reason is None
    assert resp.usage == Usage()
    assert resp.request_id == "r"
    assert resp.raw == {"x": 1}
    assert len(resp.candidates) == 1


def test_usage_merging_and_aliases() -> None:
    asm = Assembler()
    first = asm.feed([("usage", 0, {"prompt_tokens": 10, "completion_tokens": 1})])
    assert first == [UsageEvent(Usage(10, 1, 11))]
    asm.feed([("usage", 0, {"output_tokens": 5.0, "cached_tokens": 4, "ignored": 99})])
    assert asm.feed([("usage", 0, {"other": 1})]) == []
    assert asm.response().usage == Usage(
        input_tokens=10, output_tokens=5, total_tokens=15, cached_tokens=4
    )


def test_reported_total_is_kept() -> None:
    asm = Assembler()
    asm.feed([("usage", 0, {"input_tokens": 1, "output_tokens": 2, "total_tokens": 10})])
    assert asm.response().usage.total_tokens == 10


def test_usage_input_excludes_cache() -> None:
    asm = Assembler()
    asm.feed(
        [
            (
                "usage",
                0,
                {
                    "input_tokens": 10,
                    "output_tokens": 1,
                    "cached_tokens": 100,
                    "cache_creation_tokens": 20,
                    "input_excludes_cache": True,
                },
            ),
            ("usage", 0, {"output_tokens": 30, "input_excludes_cache": True}),
        ]
    )
    assert asm.response().usage == Usage(
        input_tokens=130,
        output_tokens=30,
        total_tokens=160,
        cached_tokens=100,
        cache_creation_tokens=20,
    )


def test_usage_output_excludes_reasoning() -> None:
    asm = Assembler()
    asm.feed(
        [
            (
                "usage",
                0,
                {
                    "input_tokens": 5,
                    "output_tokens": 7,
                    "reasoning_tokens": 40,
                    "output_excludes_reasoning": True,
                },
            )
        ]
    )
    usage = asm.response().usage
    assert (usage.output_tokens, usage.reasoning_tokens, usage.total_tokens) == (47, 40, 52)


def test_usage_flags_only_when_true() -> None:
    asm = Assembler()
    asm.feed(
        [
            (
                "usage",
                0,
                {
                    "input_tokens": 5,
                    "cached_tokens": 3,
                    "reasoning_tokens": 2,
                    "input_excludes_cache": False,
                    "output_excludes_reasoning": "yes",
                },
            )
        ]
    )
    usage = asm.response().usage
    assert (usage.input_tokens, usage.output_tokens) == (5, 0)


def test_finish_normalization_with_termination_map() -> None:
    asm = Assembler({"end_turn": "stop", "max_tokens": "length", "tool_use": "tool_calls"})
    assert asm.feed([("finish", 0, {"reason": "max_tokens"})]) == [
        StreamEnd("length", "max_tokens")
    ]
    resp = asm.response()
    assert (resp.finish_reason, resp.raw_finish_reason) == ("length", "max_tokens")


def test_stop_becomes_tool_calls_when_tools_exist() -> None:
    asm = Assembler({"STOP": "stop"})
    events = asm.feed(
        [
            ("tool_call", 0, {"index": 0, "id": "c", "name": "f", "arguments": '{"a"'}),
            ("finish", 0, {"finish_reason": "STOP"}),
        ]
    )
    # open calls are closed before the end event
    assert isinstance(events[-2], ToolCallEnded)
    assert events[-1] == StreamEnd("tool_calls", "STOP")
    assert asm.response().finish_reason == "tool_calls"
    assert asm.normalize_finish("length", True) == "length"
    assert asm.normalize_finish("stop", False) == "stop"


def test_unknown_finish_reason_passes_through() -> None:
    asm = Assembler({"stop": "stop"})
    assert asm.feed([("finish", 0, {"reason": "weird_reason"})]) == [
        StreamEnd("weird_reason", "weird_reason")
    ]


def test_finish_without_a_reason_is_ignored() -> None:
    asm = Assembler()
    assert asm.feed([("finish", 0, {}), ("finish", 0, {"reason": None})]) == []
    assert asm.response().finish_reason is None


def test_meta_first_value_wins() -> None:
    asm = Assembler()
    asm.feed([("meta", 0, {"id": "msg_1", "model": "m1"}), ("meta", 0, {"id": "msg_2"})])
    resp = asm.response()
    assert (resp.id, resp.model) == ("msg_1", "m1")


def test_unknown_frames_pass_through() -> None:
    frame = {"type": "brand_new", "x": 1}
    events = Assembler().feed(
        [("unknown", 0, {"data": frame}), ("unknown", 0, {"type": "ping", "data": None})]
    )
    assert events == [UnknownEvent("frame", frame), UnknownEvent("ping", None)]
    assert events[0].is_unknown
    assert events[0].as_unknown.data is frame


def test_error_emission_raises_through_on_error() -> None:
    seen: list[dict[str, Any]] = []

    def on_error(fields: dict[str, Any]) -> AiLibError:
        seen.append(fields)
        return RemoteError("from stream", code="E3002")

    asm = Assembler(on_error=on_error)
    with pytest.raises(RemoteError, match="from stream") as info:
        asm.feed([("content", 0, {"text": "partial"}), ("error", 0, {"code": "overloaded"})])
    assert info.value.code == "E3002"
    assert seen == [{"code": "overloaded"}]
    assert asm.response().content == "partial"


def test_error_emission_without_on_error() -> None:
    with pytest.raises(AiLibError, match="boom") as info:
        Assembler().feed([("error", 0, {"message": "boom"})])
    assert info.value.code == "E9999"


def test_event_flags_and_accessors() -> None:
    event = ContentDelta("x")
    assert event.is_content_delta and not event.is_thinking_delta
    assert event.as_content_delta is event
    with pytest.raises(TypeError, match="ContentDelta is not a ThinkingDelta"):
        _ = event.as_thinking_delta


def test_generated_call_ids_differ_between_responses_but_are_deterministic() -> None:
    def call_id(response_id: str) -> str:
        asm = Assembler()
        asm.feed(
            [("meta", 0, {"id": response_id}), ("tool_call", 0, {"name": "f", "arguments": {}})]
        )
        return asm.response().tool_calls[0].id

    first, again, other = call_id("resp-1"), call_id("resp-1"), call_id("resp-2")
    assert first == again and first != other
    assert first.startswith("call_") and first.endswith("_0_0")
