"""Cache keys are canonical: the same request built in different ways gets one key, and
anything that changes the answer gets another."""

from __future__ import annotations

from typing import Any

import pytest

from ailib import Message, ToolDefinition
from ailib.cache import VOLATILE_PARAMS, CacheKeyGenerator, CacheManager
from ailib.dialects import ChatRequest
from ailib.errors import InvalidRequestError
from ailib.runtime.builder import ChatBuilderBase
from ailib.types.messages import ContentBlock

KEYS = CacheKeyGenerator()
TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def _key(request: ChatRequest, provider: str = "openai", base: str = "https://x/v1") -> str:
    return KEYS.for_request(request, provider=provider, base_url=base, model=request.model)


def _built(**params: Any) -> ChatRequest:
    builder = ChatBuilderBase("gpt-4o").system("Be brief.").user("Hi")
    for name, value in params.items():
        builder.param(name, value)
    return builder.tools([ToolDefinition.from_dict(TOOL)]).build()


def test_the_same_request_built_in_different_ways_has_one_key() -> None:
    builder_made = _built(temperature=1, max_tokens=50, stop=["\n"])
    from_dicts = (
        ChatBuilderBase("gpt-4o")
        .messages(
            [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
            ]
        )
        .tools([TOOL])
        .param("stop", ["\n"])
        .param("max_tokens", 50)
        .param("temperature", 1.0)  # 1.0 says what 1 says
        .build(stream=True)  # the stream flag is not part of the key
    )
    as_request = ChatRequest(
        model="gpt-4o",
        messages=[Message.system("Be brief."), Message.user([ContentBlock.text("Hi")])],
        params={"max_tokens": 50, "stop": ["\n"], "temperature": 1, "stream_options": {"x": 1}},
        tools=[ToolDefinition.from_dict(TOOL)],
        stream=True,
    )
    assert _key(builder_made) == _key(from_dicts) == _key(as_request)


@pytest.mark.parametrize(
    "volatile", sorted(VOLATILE_PARAMS - {"stream", "stream_options", "timeout"})
)
def test_volatile_parameters_are_left_out(volatile: str) -> None:
    value: Any = {"request": "abc-123"} if volatile == "metadata" else "id-42"
    if volatile == "store":
        value = True
    assert _key(_built(**{volatile: value})) == _key(_built())


def test_anything_that_changes_the_answer_changes_the_key() -> None:
    base = _key(_built(temperature=0))
    changed = {
        "temperature": _key(_built(temperature=0.5)),
        "new param": _key(_built(temperature=0, seed=7)),
        "message": _key(ChatBuilderBase("gpt-4o").system("Be brief.").user("Hi!").build()),
        "model": _key(
            ChatBuilderBase("gpt-4o-mini")
            .system("Be brief.")
            .user("Hi")
            .param("temperature", 0)
            .tools([TOOL])
            .build()
        ),
        "no tools": _key(
            ChatBuilderBase("gpt-4o").system("Be brief.").user("Hi").param("temperature", 0).build()
        ),
        "provider": _key(_built(temperature=0), provider="deepseek"),
        "base url": _key(_built(temperature=0), base="https://gateway.example/v1"),
        "extra_body": _key(
            ChatBuilderBase("gpt-4o")
            .system("Be brief.")
            .user("Hi")
            .param("temperature", 0)
            .tools([TOOL])
            .extra_body({"top_k": 5})
            .build()
        ),
    }
    assert base not in changed.values()
    assert len(set(changed.values())) == len(changed)


def test_message_order_and_roles_matter() -> None:
    a = ChatBuilderBase("m").user("one").assistant("two").build()
    b = ChatBuilderBase("m").assistant("two").user("one").build()
    c = ChatBuilderBase("m").user("one").user("two").build()
    assert len({_key(a), _key(b), _key(c)}) == 3


def test_a_trailing_slash_on_the_base_url_is_the_same_endpoint() -> None:
    request = _built()
    assert _key(request, base="https://x/v1/") == _key(request, base="https://x/v1")


def test_generate_key_takes_the_seed_readme_arguments() -> None:
    cache = CacheManager()
    messages = [Message.user("Hello")]
    key = cache.generate_key(model="gpt-4o", messages=messages)
    assert len(key) == 64 and int(key, 16) >= 0
    assert key == cache.generate_key(
        model="gpt-4o", messages=[{"role": "user", "content": "Hello"}]
    )
    assert key != cache.generate_key(model="gpt-4o", messages=messages, temperature=0.2)
    assert key != cache.generate_key(model="gpt-4o", messages=messages, provider="openai")
    with pytest.raises(InvalidRequestError, match="cache key"):
        cache.generate_key(model="gpt-4o", messages=messages, temperature=object())


def test_ignored_params_are_configurable() -> None:
    keys = CacheKeyGenerator(VOLATILE_PARAMS | {"seed"})
    messages = [Message.user("Hi")]
    assert keys.generate("m", messages, seed=1) == keys.generate("m", messages, seed=2)
    assert KEYS.generate("m", messages, seed=1) != KEYS.generate("m", messages, seed=2)


def test_a_schema_class_in_the_parameters_is_keyed_by_its_name_and_fields() -> None:
    class Weather:
        city: str
        temperature_c: float

    class Other:
        city: str

    messages = [Message.user("Weather?")]
    one = KEYS.generate("m", messages, response_format=Weather)
    assert one == KEYS.generate("m", messages, response_format=Weather)
    assert one != KEYS.generate("m", messages, response_format=Other)
