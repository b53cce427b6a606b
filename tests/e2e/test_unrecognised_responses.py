"""A 200 whose body holds no response raises (issue 6, item 3), sync and async.

``{}``, ``null``, ``[1, 2]``, a string, a number or an error object used to come back as an
empty ``ChatResponse``. Now an error object gives the :class:`RemoteError` classified by
the manifest's error rules (``status`` None: the HTTP status was 200), and anything else a
:class:`ResponseDecodeError` showing the start of the body. Sparse but real responses (an
empty content with a finish reason) still pass.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from ailib import AiClient, AsyncAiClient
from ailib.embeddings import AsyncEmbeddingClient, EmbeddingClient
from ailib.errors import RemoteError, ResponseDecodeError, StreamDecodeError
from ailib.testing import MockServer, Scenario

KEY = "sk-Zq8Xv2Lm-test-0123456789"  # random-looking: no 8 characters of it form a word

# provider/model -> mock server dialect
TARGETS = {
    "openai/gpt-4o": "openai",
    "anthropic/claude-sonnet-4-5": "anthropic",
    "gemini/gemini-2.5-flash": "gemini",
    "ollama/llama3.2": "ollama",
    "cohere/command-a-03-2025": "cohere",
    "openai-responses/gpt-4o": "responses",
}
EMPTY_BODIES = [{}, None, [1, 2], "an answer?", 42, {"object": "chat.completion"}]

# (target, error body, code, provider_code, retryable, message)
ERROR_BODIES = [
    (
        "openai/gpt-4o",
        {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}},
        "E2001", "rate_limit_exceeded", True, "Rate limit reached",
    ),
    (
        "anthropic/claude-sonnet-4-5",
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
        "E3002", "overloaded_error", True, "Overloaded",
    ),
    (
        "anthropic/claude-sonnet-4-5",
        {"error": {"type": "invalid_request_error", "message": "bad"}},
        "E1001", "invalid_request_error", False, "bad",
    ),
    (
        "gemini/gemini-2.5-flash",
        {"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}},
        "E2001", "RESOURCE_EXHAUSTED", True, "Quota exceeded",
    ),
    (
        "ollama/llama3.2",
        {"error": "model 'llama3.2' not found"},
        "E1004", None, False, "model 'llama3.2' not found",
    ),
    (
        "openai-responses/gpt-4o",
        {"error": {"message": "boom", "type": "server_error", "code": "server_error"}},
        "E3001", "server_error", True, "boom",
    ),
]  # fmt: skip


def _push(server: MockServer, body: Any) -> None:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    server.push(Scenario(status=200, error_body=raw))


def _client(server: MockServer, target: str) -> AiClient:
    base = server.base_url(TARGETS[target])
    return AiClient.create(target, api_key=KEY, base_url=base, max_retries=0)


async def _aclient(server: MockServer, target: str) -> AsyncAiClient:
    base = server.base_url(TARGETS[target])
    return await AsyncAiClient.create(target, api_key=KEY, base_url=base, max_retries=0)


def _check_decode_error(err: ResponseDecodeError, body: Any) -> None:
    assert isinstance(err, StreamDecodeError)  # caught as before by `except StreamDecodeError`
    assert err.offset == 0 and err.code == "E9999"
    assert err.data == json.dumps(body).encode()[:512]  # the start of the body
    assert "no recognisable response" in str(err)


def _check_remote(err: RemoteError, case: tuple[Any, ...]) -> None:
    _, _, code, provider_code, retryable, message = case
    assert type(err) is RemoteError
    assert (err.code, err.provider_code, err.retryable) == (code, provider_code, retryable)
    assert err.message == message and err.status is None
    assert KEY not in str(err)


@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize("body", EMPTY_BODIES, ids=lambda b: json.dumps(b))
def test_body_without_a_response_raises_sync(
    mock_server: MockServer, target: str, body: Any
) -> None:
    _push(mock_server, body)
    with _client(mock_server, target) as client, pytest.raises(ResponseDecodeError) as info:
        client.chat().user("hi").execute()
    _check_decode_error(info.value, body)
    assert len(mock_server.requests) == 1  # not retried: the request was answered


@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize("body", EMPTY_BODIES, ids=lambda b: json.dumps(b))
async def test_body_without_a_response_raises_async(
    mock_server: MockServer, target: str, body: Any
) -> None:
    _push(mock_server, body)
    async with await _aclient(mock_server, target) as client:
        with pytest.raises(ResponseDecodeError) as info:
            await client.chat().user("hi").execute()
    _check_decode_error(info.value, body)


@pytest.mark.parametrize("case", ERROR_BODIES, ids=lambda c: f"{c[0]}-{c[2]}")
def test_error_object_in_a_200_is_classified_sync(
    mock_server: MockServer, case: tuple[Any, ...]
) -> None:
    _push(mock_server, case[1])
    with _client(mock_server, case[0]) as client, pytest.raises(RemoteError) as info:
        client.chat().user("hi").execute()
    _check_remote(info.value, case)


@pytest.mark.parametrize("case", ERROR_BODIES, ids=lambda c: f"{c[0]}-{c[2]}")
async def test_error_object_in_a_200_is_classified_async(
    mock_server: MockServer, case: tuple[Any, ...]
) -> None:
    _push(mock_server, case[1])
    async with await _aclient(mock_server, case[0]) as client:
        with pytest.raises(RemoteError) as info:
            await client.chat().user("hi").execute()
    _check_remote(info.value, case)


def test_echoed_key_in_a_200_error_object_is_redacted(mock_server: MockServer) -> None:
    _push(mock_server, {"error": {"message": f"Incorrect API key provided: {KEY}"}})
    with _client(mock_server, "openai/gpt-4o") as client, pytest.raises(RemoteError) as info:
        client.chat().user("hi").execute()
    assert KEY not in str(info.value) and KEY not in json.dumps(info.value.body)


def test_non_json_200_body_shows_its_start_sync(mock_server: MockServer) -> None:
    page = b"<html>" + b"x" * 5000 + b"</html>"
    _push(mock_server, page)
    with (
        _client(mock_server, "openai/gpt-4o") as client,
        pytest.raises(ResponseDecodeError) as info,
    ):
        client.chat().user("hi").execute()
    assert "not JSON" in str(info.value) and info.value.data == page[:512]


async def test_empty_200_body_async(mock_server: MockServer) -> None:
    _push(mock_server, b"")
    async with await _aclient(mock_server, "anthropic/claude-sonnet-4-5") as client:
        with pytest.raises(ResponseDecodeError, match="response body is empty"):
            await client.chat().user("hi").execute()


# ---- sparse real responses still pass -------------------------------------------------------

SPARSE = {
    "openai/gpt-4o": {"choices": [{"index": 0, "message": {"role": "assistant", "content": ""},
                                   "finish_reason": "stop"}]},
    "anthropic/claude-sonnet-4-5": {"content": [], "stop_reason": "end_turn"},
    "gemini/gemini-2.5-flash": {"candidates": [{"content": {"parts": []}, "finishReason": "STOP"}]},
    "ollama/llama3.2": {"message": {"role": "assistant", "content": ""}, "done": True,
                        "done_reason": "stop"},
    "openai-responses/gpt-4o": {"id": "resp_1", "status": "completed", "output": []},
}  # fmt: skip


@pytest.mark.parametrize("target", list(SPARSE))
def test_sparse_real_response_passes_sync(mock_server: MockServer, target: str) -> None:
    _push(mock_server, SPARSE[target])
    with _client(mock_server, target) as client:
        resp = client.chat().user("hi").execute()
    assert resp.content == "" and (resp.finish_reason == "stop" or resp.id == "resp_1")


@pytest.mark.parametrize("target", list(SPARSE))
async def test_sparse_real_response_passes_async(mock_server: MockServer, target: str) -> None:
    _push(mock_server, SPARSE[target])
    async with await _aclient(mock_server, target) as client:
        resp = await client.chat().user("hi").execute()
    assert resp.content == ""


# ---- embeddings -----------------------------------------------------------------------------

EMBEDDING_TARGETS = {
    "openai/text-embedding-3-small": ("openai_embeddings", "$.data[*].embedding"),
    "gemini/gemini-embedding-001": ("gemini_embeddings", "$.embeddings[*].values"),
}
EMBEDDING_ERROR = {
    "openai/text-embedding-3-small": {"error": {"message": "slow", "code": "rate_limit_exceeded"}},
    "gemini/gemini-embedding-001": {"error": {"message": "slow", "status": "RESOURCE_EXHAUSTED"}},
}


@pytest.mark.parametrize("target", list(EMBEDDING_TARGETS))
@pytest.mark.parametrize("body", [{}, None, {"data": []}, [1, 2]], ids=json.dumps)
def test_embeddings_body_without_vectors_sync(
    mock_server: MockServer, target: str, body: Any
) -> None:
    dialect, path = EMBEDDING_TARGETS[target]
    _push(mock_server, body)
    base = mock_server.base_url(dialect)
    client = EmbeddingClient.create(target, api_key=KEY, base_url=base, max_retries=0)
    with client, pytest.raises(ResponseDecodeError) as info:
        client.embed("hi")
    assert f"no embeddings at {path}" in str(info.value)
    assert info.value.data == json.dumps(body).encode()


@pytest.mark.parametrize("target", list(EMBEDDING_TARGETS))
async def test_embeddings_error_object_in_a_200_async(mock_server: MockServer, target: str) -> None:
    dialect, _ = EMBEDDING_TARGETS[target]
    _push(mock_server, EMBEDDING_ERROR[target])
    base = mock_server.base_url(dialect)
    client = await AsyncEmbeddingClient.create(target, api_key=KEY, base_url=base, max_retries=0)
    async with client:
        with pytest.raises(RemoteError) as info:
            await client.embed("hi")
    assert info.value.code == "E2001" and info.value.retryable and info.value.message == "slow"


@pytest.mark.parametrize("target", list(EMBEDDING_TARGETS))
async def test_embeddings_body_without_vectors_async(mock_server: MockServer, target: str) -> None:
    dialect, _ = EMBEDDING_TARGETS[target]
    _push(mock_server, {})
    base = mock_server.base_url(dialect)
    client = await AsyncEmbeddingClient.create(target, api_key=KEY, base_url=base, max_retries=0)
    async with client:
        with pytest.raises(ResponseDecodeError, match="no recognisable response"):
            await client.embed("hi")


@pytest.mark.parametrize("target", list(EMBEDDING_TARGETS))
def test_embeddings_error_object_in_a_200_sync(mock_server: MockServer, target: str) -> None:
    dialect, _ = EMBEDDING_TARGETS[target]
    _push(mock_server, EMBEDDING_ERROR[target])
    base = mock_server.base_url(dialect)
    client = EmbeddingClient.create(target, api_key=KEY, base_url=base, max_retries=0)
    with client, pytest.raises(RemoteError) as info:
        client.embed("hi")
    assert info.value.code == "E2001" and info.value.status is None
