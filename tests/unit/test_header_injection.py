"""A line break in an API key or a default header is refused before anything is sent.

Sent as it is, ``"sk-1\\r\\nX-Evil: 1"`` would split the request's headers; httpx then
fails on send with a transport error that looked retryable (E3001).
"""

from __future__ import annotations

import pytest

from ailib import AiClient, AsyncAiClient
from ailib.errors import ConfigurationError

BASE = "http://127.0.0.1:9/v1"
BAD_KEYS = ["sk-test\n", "sk-test\r\nX-Evil: 1", "sk-\x00test"]
BAD_HEADERS = [
    {"X-Team": "a\r\nX-Evil: 1"},
    {"X-Team": "a\nb"},
    {"X Team": "a"},
    {"X-Team:": "a"},
    {"": "a"},
]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_a_key_with_a_line_break_is_refused_sync(key: str) -> None:
    with pytest.raises(ConfigurationError, match="line break or a control") as info:
        AiClient.create("openai/gpt-4o", api_key=key, base_url=BASE)
    assert "sk-test" not in str(info.value) and not info.value.retryable


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_a_key_with_a_line_break_is_refused_async(key: str) -> None:
    with pytest.raises(ConfigurationError, match="line break or a control") as info:
        await AsyncAiClient.create("openai/gpt-4o", api_key=key, base_url=BASE)
    assert "sk-test" not in str(info.value)


@pytest.mark.parametrize("headers", BAD_HEADERS)
def test_a_header_that_would_split_the_request_is_refused_sync(headers: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError, match="default_headers") as info:
        AiClient.create("openai/gpt-4o", api_key="k", base_url=BASE, default_headers=headers)
    assert "X-Evil" not in str(info.value)


@pytest.mark.parametrize("headers", BAD_HEADERS)
async def test_a_header_that_would_split_the_request_is_refused_async(
    headers: dict[str, str],
) -> None:
    with pytest.raises(ConfigurationError, match="default_headers"):
        await AsyncAiClient.create(
            "openai/gpt-4o", api_key="k", base_url=BASE, default_headers=headers
        )


def test_ordinary_keys_and_headers_still_pass() -> None:
    with AiClient.create(
        "openai/gpt-4o",
        api_key="sk-proj-AbC_123-xyz",
        base_url=BASE,
        default_headers={"X-Team": "search\tranking", "OpenAI-Organization": "org-1"},
    ) as client:
        assert client.model == "gpt-4o" or client.model.endswith("gpt-4o")
