"""OutputValidator, JsonModeConfig (requests, answers, refusals, repairs), the per-manifest
wire step and the stream view, without sockets."""

from __future__ import annotations

import datetime
import json
from typing import Any

import attrs
import pytest

from ailib.dialects import ChatRequest
from ailib.errors import (
    InvalidRequestError,
    ParameterError,
    StructuredOutputError,
    ToolDefinitionError,
)
from ailib.pipeline.assemble import Assembler
from ailib.providers import anthropic, bedrock, cohere, deepseek, openai
from ailib.runtime.request import prepare
from ailib.structured import JsonModeConfig, OutputValidator
from ailib.structured.wire import fit_structured_output, structured_hints
from ailib.types import ChatResponse, Message, ToolCall, ToolDefinition
from ailib.types.events import (
    ContentDelta,
    StreamEnd,
    ToolCallArgumentsDelta,
    ToolCallEnded,
    ToolCallStarted,
)


@attrs.frozen
class Weather:
    city: str
    temperature_c: float
    conditions: list[str]


@attrs.frozen
class Meeting:
    at: datetime.datetime
    room: str | None = None


GOOD = '{"city": "Paris", "temperature_c": 21.5, "conditions": ["sunny"]}'


# ---- OutputValidator ------------------------------------------------------------------------


def test_parse_valid_text_in_every_wrapping() -> None:
    validator = OutputValidator(Weather)
    want = Weather("Paris", 21.5, ["sunny"])
    assert validator.parse(GOOD) == want
    assert validator.parse(f"```json\n{GOOD}\n```") == want
    assert validator.parse(f"Here you go:\n{GOOD}\nAnything else?") == want
    assert OutputValidator(Meeting).parse('{"at": "2026-01-02T03:04:05"}') == Meeting(
        datetime.datetime(2026, 1, 2, 3, 4, 5)
    )
    assert OutputValidator(None).parse("[1, 2]") == [1, 2]
    assert OutputValidator({"type": "array", "items": {"type": "integer"}}).parse("[3]") == [3]


def test_invalid_answers_name_the_path_of_the_first_problem() -> None:
    validator = OutputValidator(Weather)
    with pytest.raises(StructuredOutputError) as info:
        validator.parse('{"city": "Paris", "temperature_c": "warm", "conditions": []}')
    err = info.value
    assert err.path == "$.temperature_c" and "'warm' is not of type 'number'" in err.problem
    assert err.schema_path == "properties/temperature_c/type"
    assert err.raw.startswith('{"city"') and err.code == "E9999"
    with pytest.raises(StructuredOutputError) as info:
        validator.parse('{"city": "Paris", "temperature_c": 1, "conditions": [1]}')
    assert info.value.path == "$.conditions[0]"
    with pytest.raises(StructuredOutputError) as info:
        validator.parse('{"city": "Paris"}')
    assert info.value.path == "$" and "'temperature_c' is a required property" in str(info.value)
    with pytest.raises(StructuredOutputError) as info:
        validator.parse('{"city": "Paris", "temperature_c": 1, "conditions": [], "x": 1}')
    assert "Additional properties" in info.value.problem
    with pytest.raises(StructuredOutputError) as info:
        validator.parse("It is sunny in Paris.")
    assert info.value.path == "$" and "not JSON" in info.value.problem
    assert info.value.raw == "It is sunny in Paris."


def test_structuring_errors_are_typed_too() -> None:
    with pytest.raises(StructuredOutputError) as info:
        OutputValidator(Meeting).parse('{"at": "next tuesday"}')  # a string, but not ISO
    assert info.value.path == "$.at"
    assert isinstance(info.value.__cause__, Exception)


# ---- JsonModeConfig: what is asked ----------------------------------------------------------


def test_config_from_every_kind_of_source() -> None:
    config = JsonModeConfig.of(Weather, max_repairs=2)
    assert config.schema_name == "Weather" and config.max_repairs == 2
    fmt = config.response_format()
    assert fmt is not None and fmt["type"] == "json_schema"
    inner = fmt["json_schema"]
    assert inner["name"] == "Weather" and "strict" not in inner  # the manifest decides
    assert inner["schema"]["additionalProperties"] is False
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    assert JsonModeConfig.of(schema).response_format() == {
        "type": "json_schema",
        "json_schema": {"name": "response", "schema": schema},
    }
    wrapper = {
        "type": "json_schema",
        "json_schema": {"name": "w", "schema": schema, "strict": True},
    }
    from_wrapper = JsonModeConfig.of(wrapper)
    assert from_wrapper.response_format() == wrapper and from_wrapper.schema_name == "w"
    assert from_wrapper.strict is True and from_wrapper.json_schema == schema
    assert JsonModeConfig.of(None).response_format() == {"type": "json_object"}
    assert JsonModeConfig.of(Weather, mode="prompt").response_format() is None
    again = JsonModeConfig.of(config, name="Other")
    assert again.schema_name == "Other" and again.max_repairs == 2


def test_config_refuses_bad_options() -> None:
    with pytest.raises(InvalidRequestError, match="mode"):
        JsonModeConfig(Weather, mode="magic")
    with pytest.raises(InvalidRequestError, match="max_repairs"):
        JsonModeConfig(Weather, max_repairs=-1)
    with pytest.raises(InvalidRequestError, match="max_repairs"):
        JsonModeConfig(Weather, max_repairs=True)
    with pytest.raises(InvalidRequestError, match="response_format takes"):
        JsonModeConfig.of("Weather")
    with pytest.raises(InvalidRequestError, match="response_format takes"):
        JsonModeConfig.of(int)


def test_prompt_mode_instruction_carries_the_schema() -> None:
    text = JsonModeConfig(Weather, mode="prompt").instruction()
    assert text is not None and "JSON" in text
    schema = json.loads(text.split("\n", 2)[2])
    assert schema["properties"]["city"] == {"type": "string"}
    assert JsonModeConfig(Weather).instruction() is None


# ---- JsonModeConfig: what comes back --------------------------------------------------------


def _resp(**kw: Any) -> ChatResponse[Any]:
    return ChatResponse(**{"content": "", **kw})


def test_finish_parses_text_and_forced_tool_answers() -> None:
    config = JsonModeConfig(Weather)
    done = config.finish(_resp(content=GOOD, finish_reason="stop"))
    assert done.parsed == Weather("Paris", 21.5, ["sunny"]) and done.content == GOOD
    call = ToolCall.from_raw("toolu_1", "Weather", GOOD)
    via_tool = config.finish(_resp(tool_calls=[call], finish_reason="tool_calls"))
    assert via_tool.parsed == done.parsed
    assert via_tool.tool_calls == [] and via_tool.finish_reason == "stop"
    assert via_tool.content == GOOD


def test_finish_leaves_tool_turns_and_refusals_unparsed() -> None:
    config = JsonModeConfig(Weather)
    other = ToolCall.from_raw("c1", "lookup", '{"q": "x"}')
    turn = config.finish(_resp(tool_calls=[other], finish_reason="tool_calls"))
    assert turn.parsed is None and turn.tool_calls == [other]
    refused = config.finish(_resp(refusal="I can't help with that."))
    assert refused.refusal == "I can't help with that." and refused.parsed is None
    anthropic_refusal = _resp(
        content="I won't.", finish_reason="content_filter", raw_finish_reason="refusal"
    )
    assert config.finish(anthropic_refusal).refusal == "I won't."
    filtered = config.finish(_resp(finish_reason="content_filter", raw_finish_reason="SAFETY"))
    assert filtered.refusal == "the model refused (SAFETY)" and filtered.parsed is None


def test_finish_errors_carry_the_response_and_a_cut_hint() -> None:
    config = JsonModeConfig(Weather)
    cut = _resp(content='{"city": "Par', finish_reason="length")
    with pytest.raises(StructuredOutputError) as info:
        config.finish(cut)
    assert info.value.response is cut and "max_tokens" in info.value.problem


def test_repair_request_shows_the_answer_and_the_problem() -> None:
    config = JsonModeConfig(Weather, max_repairs=1)
    req = ChatRequest(model="m", messages=[Message.user("Weather?")])
    err = StructuredOutputError("bad", raw='{"city": 1}', path="$.city", problem="1 is not ...")
    fixed = config.repair_request(req, err)
    assert [m.role.value for m in fixed.messages] == ["user", "assistant", "user"]
    assert fixed.messages[1].content == '{"city": 1}'
    assert "$.city" in str(fixed.messages[2].content)
    assert "1 is not ..." in str(fixed.messages[2].content)
    empty = StructuredOutputError("bad", raw="", problem="not JSON")
    assert config.repair_request(req, empty).messages[1].content == "(no answer)"


# ---- the wire step, per manifest ------------------------------------------------------------


def _req(config: JsonModeConfig[Any], **kw: Any) -> ChatRequest:
    params = dict(kw.pop("params", {}))
    fmt = config.response_format()
    if fmt is not None:
        params["response_format"] = fmt
    return ChatRequest(model="m", messages=[Message.user("Weather?")], params=params, **kw)


def test_manifests_declare_how_structured_output_goes_on_the_wire() -> None:
    assert structured_hints(openai.SPEC.manifest)["strict"] is True
    assert structured_hints(anthropic.SPEC.manifest)["mode"] == "tool"
    assert structured_hints(bedrock.SPEC.manifest) == {
        "mode": "tool",
        "strict": False,
        "inline_refs": True,
    }
    assert structured_hints(deepseek.SPEC.manifest)["mode"] == "json_object"
    assert structured_hints(cohere.SPEC.manifest)["inline_refs"] is True


def test_json_schema_mode_adds_strict_only_for_strict_form_schemas() -> None:
    fitted = fit_structured_output(openai.SPEC.manifest, _req(JsonModeConfig(Weather)))
    assert fitted.params["response_format"]["json_schema"]["strict"] is True
    loose = {"type": "object", "properties": {"a": {"type": "integer"}}}
    fitted = fit_structured_output(openai.SPEC.manifest, _req(JsonModeConfig(loose)))
    assert "strict" not in fitted.params["response_format"]["json_schema"]
    off = fit_structured_output(openai.SPEC.manifest, _req(JsonModeConfig(Weather, strict=False)))
    assert off.params["response_format"]["json_schema"]["strict"] is False
    body = prepare(openai.SPEC, _req(JsonModeConfig(Weather)), base_url="http://x", query={})
    assert body.payload["response_format"]["json_schema"]["name"] == "Weather"


def test_json_object_mode_puts_the_schema_in_the_system_prompt() -> None:
    req = _req(JsonModeConfig(Weather))
    req = attrs.evolve(req, messages=[Message.system("Be brief."), *req.messages])
    fitted = fit_structured_output(deepseek.SPEC.manifest, req)
    assert fitted.params["response_format"] == {"type": "json_object"}
    roles = [m.role.value for m in fitted.messages]
    assert roles == ["system", "system", "user"] and fitted.messages[0].content == "Be brief."
    assert '"city"' in str(fitted.messages[1].content)


def test_tool_mode_forces_a_tool_with_the_schema() -> None:
    fitted = fit_structured_output(anthropic.SPEC.manifest, _req(JsonModeConfig(Weather)))
    assert "response_format" not in fitted.params and fitted.params["tool_choice"] == "Weather"
    tool = fitted.tools[-1]
    assert tool.name == "Weather" and tool.parameters["properties"]["city"]["type"] == "string"
    body = prepare(
        anthropic.SPEC, _req(JsonModeConfig(Weather)), base_url="http://x", query={}
    ).payload
    assert body["tool_choice"] == {"type": "tool", "name": "Weather"}
    assert body["tools"][-1]["input_schema"]["required"] == ["city", "temperature_c", "conditions"]
    # reasoning refuses a forced tool: the choice stays open, the prompt asks for the call
    thinking = _req(JsonModeConfig(Weather), params={"reasoning": "low"})
    fitted = fit_structured_output(anthropic.SPEC.manifest, thinking)
    assert "tool_choice" not in fitted.params
    assert "Weather tool" in str(fitted.messages[0].content)
    json_only = fit_structured_output(anthropic.SPEC.manifest, _req(JsonModeConfig(None)))
    assert json_only.tools[-1].name == "json" and json_only.params["tool_choice"] == "json"


def test_tool_mode_refuses_what_it_cannot_carry() -> None:
    with pytest.raises(ParameterError, match="tool_choice"):
        fit_structured_output(
            anthropic.SPEC.manifest, _req(JsonModeConfig(Weather), params={"tool_choice": "auto"})
        )
    clash = _req(JsonModeConfig(Weather), tools=[ToolDefinition("Weather")])
    with pytest.raises(ToolDefinitionError, match="name="):
        fit_structured_output(anthropic.SPEC.manifest, clash)
    array = JsonModeConfig({"type": "array", "items": {"type": "integer"}})
    with pytest.raises(ParameterError, match="JSON object"):
        fit_structured_output(bedrock.SPEC.manifest, _req(array))


def test_cohere_gets_references_inlined() -> None:
    schema = {
        "type": "object",
        "properties": {"p": {"$ref": "#/$defs/P"}},
        "$defs": {"P": {"type": "object", "properties": {"x": {"type": "integer"}}}},
    }
    body = prepare(cohere.SPEC, _req(JsonModeConfig(schema)), base_url="http://x", query={})
    sent = body.payload["response_format"]["json_schema"]
    assert sent["properties"]["p"]["properties"]["x"] == {"type": "integer"}
    assert "$defs" not in sent


# ---- streams --------------------------------------------------------------------------------


def test_stream_view_turns_a_forced_tool_into_content_with_partials() -> None:
    view = JsonModeConfig(Weather).stream_view()
    asm = Assembler()
    pieces = ['{"city": "Pa', 'ris", "temperature_c": 2', '1, "conditions": []}']
    emitted = [("tool_call", 0, {"index": 0, "id": "t1", "name": "Weather", "arguments": ""})]
    emitted += [("tool_call", 0, {"index": 0, "arguments": p}) for p in pieces]
    events = view(asm.feed(emitted) + asm.feed([("finish", 0, {"reason": "tool_calls"})]))
    deltas = [e for e in events if isinstance(e, ContentDelta)]
    assert [d.content for d in deltas] == pieces
    assert [d.partial for d in deltas] == [
        {"city": "Pa"},
        {"city": "Paris", "temperature_c": 2},
        {"city": "Paris", "temperature_c": 21, "conditions": []},
    ]
    assert not any(isinstance(e, (ToolCallStarted, ToolCallEnded)) for e in events)
    assert [e.finish_reason for e in events if isinstance(e, StreamEnd)] == ["stop"]


def test_stream_view_reads_json_content_and_leaves_other_tools_alone() -> None:
    view = JsonModeConfig(Weather).stream_view()
    out = view([ContentDelta('{"city": '), ContentDelta('"Nice"')])
    assert [e.partial for e in out if isinstance(e, ContentDelta)] == [{}, {"city": "Nice"}]
    other = [ToolCallStarted(0, "c", "lookup"), ToolCallArgumentsDelta(0, "{}", "c")]
    assert view(other) == other
    assert view([StreamEnd("tool_calls")])[0].finish_reason == "tool_calls"


def test_every_tool_call_delta_carries_the_partial_arguments() -> None:
    asm = Assembler()
    out = asm.feed(
        [
            ("tool_call", 0, {"index": 0, "id": "c1", "name": "get", "arguments": '{"cit'}),
            ("tool_call", 0, {"index": 0, "arguments": 'y": "Par'}),
            ("tool_call", 0, {"index": 0, "arguments": 'is"}'}),
            ("tool_call", 0, {"index": 1, "id": "c2", "name": "obj", "arguments": {"a": [1]}}),
        ]
    )
    partials = [e.partial_arguments for e in out if isinstance(e, ToolCallArgumentsDelta)]
    assert partials == [{}, {"city": "Par"}, {"city": "Paris"}, {"a": [1]}]


def test_a_bad_json_schema_is_refused_before_sending() -> None:
    bad = {"type": "object", "properties": {"a": {"type": "integr"}}}
    with pytest.raises(InvalidRequestError, match="properties/a/type"):
        JsonModeConfig(bad)


def test_schemas_are_built_once_and_requests_get_copies() -> None:
    first, second = JsonModeConfig(Weather), JsonModeConfig(Weather, mode="prompt")
    assert first.validator is second.validator
    a, b = first.response_format(), first.response_format()
    assert a == b and a is not None and b is not None
    a["json_schema"]["schema"]["properties"].clear()  # a request's copy, changed
    assert JsonModeConfig(Weather).wire_schema()["properties"]  # type: ignore[index]


def test_the_manifest_schema_checks_the_structured_output_section() -> None:
    from ailib.errors import ManifestError
    from ailib.protocol.loader import parse_text, validate

    head = "id: x\nprotocol_version: '2.0'\nendpoint: {base_url: 'https://x.test'}\n"
    data, tree = parse_text(head + "structured_output: {mode: tool, inline_refs: true}\n", "x")
    validate(data, tree, "x.yaml")
    for bad in ("{mode: magic}", "{strict: 'yes'}", "{mode: tool, extra: 1}"):
        text = f"{head}structured_output: {bad}\n"
        data, tree = parse_text(text, "x.yaml")
        with pytest.raises(ManifestError, match="structured_output"):
            validate(data, tree, "x.yaml")
