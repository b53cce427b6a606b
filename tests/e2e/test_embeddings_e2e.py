"""End-to-end: EmbeddingClient / AsyncEmbeddingClient against the loopback mock server.

The mock's embeddings plugin (``ailib.testing.dialect_embeddings``) answers OpenAI-shaped
``/v1/embeddings`` (OpenAI, Voyage), Gemini ``:batchEmbedContents``, Cohere ``/v2/embed``
and Ollama ``/api/embed`` with deterministic vectors (``embedding_vector(text, dims)``).
Cohere and Ollama use the ``embeddings:`` sections proposed in
``tests/conformance/embedding_manifests.py`` until their manifests carry one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from ailib import AiClient, AsyncAiClient
from ailib.embeddings import (
    AsyncEmbeddingClient,
    EmbeddingClient,
    EmbeddingResponse,
    find_most_similar,
)
from ailib.errors import CapabilityError, ParameterError, RemoteError
from ailib.protocol.hot import ProtocolLoader
from ailib.protocol.loader import builtin_manifest
from ailib.protocol.manifest import Manifest, deep_merge
from ailib.testing import MockServer, Scenario
from ailib.testing.dialect_embeddings import DEFAULT_DIMENSIONS, embedding_vector
from tests.conformance.embedding_manifests import ready, with_proposal

KEY = "sk-secret-test-key-123"
TEXTS = ["Hello world", "the cat sat on the mat", "Python is a language"]
# provider, model, mock dialect (base URL), what the options map to on the wire
TARGETS = [
    ("openai", "text-embedding-3-small", "openai_embeddings"),
    ("gemini", "gemini-embedding-001", "gemini_embeddings"),
    ("voyage", "voyage-3.5", "openai_embeddings"),
    ("cohere", "embed-v4.0", "cohere_embeddings"),
    ("ollama", "nomic-embed-text", "ollama_embeddings"),
]


def manifest_for(provider: str, **overlay: Any) -> Manifest | None:
    """None for a built-in manifest with embeddings; else built-in + proposal + overlay."""
    data = builtin_manifest(provider)
    if not ready(data):
        data = with_proposal(data, provider)
    elif not overlay:
        return None
    if overlay:
        data = deep_merge(data, {"embeddings": overlay})
    return Manifest.from_dict(data, source=f"{provider} (test)")


@pytest.fixture(params=TARGETS, ids=[t[0] for t in TARGETS])
def target(request: pytest.FixtureRequest, mock_server: MockServer) -> dict[str, Any]:
    provider, model, dialect = request.param
    return {
        "provider": provider,
        "model": model,
        "base_url": mock_server.base_url(dialect),
        "manifest": manifest_for(provider),
    }


def _kwargs(target: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return {"api_key": KEY, "base_url": target["base_url"], "manifest": target["manifest"], **kw}


def _name(target: dict[str, Any]) -> str:
    return f"{target['provider']}/{target['model']}"


def check_batch(target: dict[str, Any], resp: EmbeddingResponse, dims: int) -> None:
    assert [e.index for e in resp.embeddings] == [0, 1, 2]
    assert resp.vectors == [embedding_vector(t, dims) for t in TEXTS]
    assert resp.dimensions == dims
    if target["provider"] != "gemini":  # Gemini's batch endpoint reports no usage
        assert resp.usage.input_tokens == 2 + 6 + 4
        assert resp.usage.total_tokens == resp.usage.input_tokens
    assert resp.model == target["model"]


def check_wire(target: dict[str, Any], server: MockServer, dims: int) -> None:
    req = server.requests[-1]
    body = req.json()
    provider, model = target["provider"], target["model"]
    if provider == "gemini":
        assert req.path == f"/v1beta/models/{model}:batchEmbedContents"
        assert req.headers["x-goog-api-key"] == KEY
        items = body["requests"]
        assert [i["content"]["parts"][0]["text"] for i in items] == TEXTS
        assert {i["model"] for i in items} == {f"models/{model}"}
        assert {i["outputDimensionality"] for i in items} == {dims}
        assert {i["taskType"] for i in items} == {"RETRIEVAL_DOCUMENT"}
        return
    assert req.headers["authorization"] == f"Bearer {KEY}"
    assert body["model"] == model
    if provider == "cohere":
        assert req.path == "/v2/embed"
        assert body["texts"] == TEXTS
        assert body["embedding_types"] == ["float"]
        assert body["input_type"] == "search_document"
        assert body["output_dimension"] == dims
    elif provider == "ollama":
        assert req.path == "/api/embed"
        assert body == {"model": model, "input": TEXTS, "dimensions": dims}
    else:
        assert req.path == "/v1/embeddings"
        assert body["input"] == TEXTS
        assert body["encoding_format"] == "base64"
        if provider == "voyage":
            assert body["input_type"] == "document"
            assert body["output_dimension"] == dims
        else:
            assert body["dimensions"] == dims


def _options(target: dict[str, Any]) -> dict[str, Any]:
    if target["provider"] in ("openai", "ollama"):
        return {"dimensions": 32}  # their embeddings take no input_type
    return {"dimensions": 32, "input_type": "search_document"}


def test_embed_batch_sync(target: dict[str, Any], mock_server: MockServer) -> None:
    with EmbeddingClient.create(_name(target), **_kwargs(target)) as client:
        resp = client.embed_batch(TEXTS, **_options(target))
    check_batch(target, resp, 32)
    check_wire(target, mock_server, 32)
    assert len(mock_server.requests) == 1


async def test_embed_batch_async(target: dict[str, Any], mock_server: MockServer) -> None:
    async with await AsyncEmbeddingClient.create(_name(target), **_kwargs(target)) as client:
        resp = await client.embed_batch(TEXTS, **_options(target))
    check_batch(target, resp, 32)
    check_wire(target, mock_server, 32)
    assert len(mock_server.requests) == 1


def test_embed_one_text_sync(target: dict[str, Any], mock_server: MockServer) -> None:
    with EmbeddingClient.create(_name(target), **_kwargs(target)) as client:
        resp = client.embed("Hello, world!")
    assert len(resp) == 1
    assert resp.first.index == 0
    assert resp.first.vector == embedding_vector("Hello, world!", DEFAULT_DIMENSIONS)
    assert len(resp.first.vector) == DEFAULT_DIMENSIONS


async def test_embed_one_text_async(target: dict[str, Any], mock_server: MockServer) -> None:
    async with await AsyncEmbeddingClient.create(_name(target), **_kwargs(target)) as client:
        resp = await client.embed("Hello, world!")
    assert resp.first.vector == embedding_vector("Hello, world!", DEFAULT_DIMENSIONS)


def test_openai_wire_sync(mock_server: MockServer) -> None:
    base = mock_server.base_url("openai_embeddings")
    with EmbeddingClient.create("openai/text-embedding-3-small", api_key=KEY, base_url=base) as c:
        resp = c.embed_batch(TEXTS, dimensions=32, user="u-1")
    body = mock_server.requests[-1].json()
    assert body == {
        "model": "text-embedding-3-small",
        "input": TEXTS,
        "encoding_format": "base64",
        "dimensions": 32,
        "user": "u-1",
    }
    assert resp.request_id is not None and resp.request_id.startswith("req_")


async def test_openai_wire_async(mock_server: MockServer) -> None:
    base = mock_server.base_url("openai_embeddings")
    client = await AsyncEmbeddingClient.create(
        "openai/text-embedding-3-small", api_key=KEY, base_url=base
    )
    async with client:
        resp = await client.embed_batch(TEXTS, dimensions=32, user="u-1")
    assert mock_server.requests[-1].json()["dimensions"] == 32
    assert resp.request_id is not None and resp.request_id.startswith("req_")


def test_similarity_ranking_sync(mock_server: MockServer) -> None:
    base = mock_server.base_url("openai_embeddings")
    docs = ["the cat sat on the mat", "stock prices fell sharply", "a cat chased the mouse"]
    with EmbeddingClient.create("openai/text-embedding-3-small", api_key=KEY, base_url=base) as c:
        corpus = c.embed_batch(docs)
        query = c.embed("cat on a mat").first.vector
    ranked = find_most_similar(query, corpus.vectors, top_k=2)
    assert [i for i, _ in ranked] == [0, 2]
    assert ranked[0][1] > ranked[1][1] > 0


async def test_similarity_ranking_async(mock_server: MockServer) -> None:
    base = mock_server.base_url("openai_embeddings")
    docs = ["the cat sat on the mat", "stock prices fell sharply", "a cat chased the mouse"]
    client = await AsyncEmbeddingClient.create(
        "openai/text-embedding-3-small", api_key=KEY, base_url=base
    )
    async with client:
        corpus = await client.embed_batch(docs)
        query = (await client.embed("cat on a mat")).first.vector
    assert [i for i, _ in find_most_similar(query, corpus.vectors, top_k=2)] == [0, 2]


def _split_manifest() -> Manifest | None:
    return manifest_for("openai", max_batch=2)


def test_long_lists_are_split_sync(mock_server: MockServer) -> None:
    texts = [f"text number {i}" for i in range(5)]
    base = mock_server.base_url("openai_embeddings")
    manifest = _split_manifest()
    with EmbeddingClient.create(
        "openai/text-embedding-3-small", api_key=KEY, base_url=base, manifest=manifest
    ) as client:
        resp = client.embed_batch(texts)
    assert [len(r.json()["input"]) for r in mock_server.requests] == [2, 2, 1]
    assert [e.index for e in resp.embeddings] == [0, 1, 2, 3, 4]
    assert resp.vectors == [embedding_vector(t) for t in texts]
    assert resp.usage.input_tokens == 15
    assert isinstance(resp.raw, list) and len(resp.raw) == 3


async def test_long_lists_are_split_async(mock_server: MockServer) -> None:
    texts = [f"text number {i}" for i in range(5)]
    base = mock_server.base_url("openai_embeddings")
    client = await AsyncEmbeddingClient.create(
        "openai/text-embedding-3-small", api_key=KEY, base_url=base, manifest=_split_manifest()
    )
    async with client:
        resp = await client.embed_batch(texts)
    assert [len(r.json()["input"]) for r in mock_server.requests] == [2, 2, 1]
    assert resp.vectors == [embedding_vector(t) for t in texts]


def test_http_errors_sync(target: dict[str, Any], mock_server: MockServer) -> None:
    mock_server.push(Scenario(status=404))
    with (
        EmbeddingClient.create(_name(target), **_kwargs(target, max_retries=0)) as client,
        pytest.raises(RemoteError) as info,
    ):
        client.embed("Hello")
    assert info.value.code == "E1004"
    assert info.value.status == 404
    assert info.value.provider == target["provider"]


async def test_http_errors_async(target: dict[str, Any], mock_server: MockServer) -> None:
    mock_server.push(Scenario(status=404))
    kwargs = _kwargs(target, max_retries=0)
    async with await AsyncEmbeddingClient.create(_name(target), **kwargs) as client:
        with pytest.raises(RemoteError) as info:
            await client.embed("Hello")
    assert info.value.code == "E1004"


def test_retry_after_429_sync(mock_server: MockServer) -> None:
    mock_server.push(Scenario(status=429, retry_after=0))
    base = mock_server.base_url("openai_embeddings")
    with EmbeddingClient.create(
        "openai/text-embedding-3-small", api_key=KEY, base_url=base, max_retries=1
    ) as client:
        resp = client.embed("Hello")
    assert len(mock_server.requests) == 2
    assert resp.first.vector == embedding_vector("Hello")


async def test_retry_after_429_async(mock_server: MockServer) -> None:
    mock_server.push(Scenario(status=429, retry_after=0))
    base = mock_server.base_url("openai_embeddings")
    client = await AsyncEmbeddingClient.create(
        "openai/text-embedding-3-small", api_key=KEY, base_url=base, max_retries=1
    )
    async with client:
        resp = await client.embed("Hello")
    assert len(mock_server.requests) == 2
    assert resp.first.vector == embedding_vector("Hello")


# ---- refused before sending ---------------------------------------------------------------

REFUSED = [
    ("anthropic/claude-sonnet-4-5", "provider 'anthropic'"),
    ("openai/gpt-4o", "model 'gpt-4o'"),
]


@pytest.mark.parametrize(("model", "why"), REFUSED)
def test_capability_refused_sync(model: str, why: str, mock_server: MockServer) -> None:
    with pytest.raises(CapabilityError, match=why) as info:
        EmbeddingClient.create(model, api_key=KEY, base_url=mock_server.url)
    assert info.value.code == "E1005"
    assert mock_server.requests == []


@pytest.mark.parametrize(("model", "why"), REFUSED)
async def test_capability_refused_async(model: str, why: str, mock_server: MockServer) -> None:
    with pytest.raises(CapabilityError, match=why) as info:
        await AsyncEmbeddingClient.create(model, api_key=KEY, base_url=mock_server.url)
    assert info.value.code == "E1005"
    assert mock_server.requests == []


def test_undeclared_parameter_sync(mock_server: MockServer) -> None:
    base = mock_server.base_url("openai_embeddings")
    with EmbeddingClient.create("openai/text-embedding-3-small", api_key=KEY, base_url=base) as c:
        with pytest.raises(ParameterError) as info:
            c.embed("Hello", input_type="search_query")
        assert info.value.code == "E1001"
        with pytest.raises(ParameterError) as bad:
            c.embed("Hello", dimensions="256")
        assert bad.value.code == "E1001"
    assert mock_server.requests == []


async def test_undeclared_parameter_async(mock_server: MockServer) -> None:
    base = mock_server.base_url("openai_embeddings")
    client = await AsyncEmbeddingClient.create(
        "openai/text-embedding-3-small", api_key=KEY, base_url=base
    )
    async with client:
        with pytest.raises(ParameterError) as info:
            await client.embed("Hello", input_type="search_query")
    assert info.value.code == "E1001"
    assert mock_server.requests == []


def test_drop_unsupported_sync(mock_server: MockServer) -> None:
    base = mock_server.base_url("openai_embeddings")
    with EmbeddingClient.create(
        "openai/text-embedding-3-small", api_key=KEY, base_url=base, drop_unsupported=True
    ) as client:
        client.embed("Hello", input_type="search_query", extra_body={"encoding_format": "float"})
    body = mock_server.requests[-1].json()
    assert "input_type" not in body
    assert body["encoding_format"] == "float"


async def test_drop_unsupported_async(mock_server: MockServer) -> None:
    base = mock_server.base_url("openai_embeddings")
    client = await AsyncEmbeddingClient.create(
        "openai/text-embedding-3-small", api_key=KEY, base_url=base, drop_unsupported=True
    )
    async with client:
        resp = await client.embed("Hello", input_type="x", extra_body={"encoding_format": "float"})
    assert mock_server.requests[-1].json()["encoding_format"] == "float"
    assert resp.first.vector == embedding_vector("Hello")


def test_voyage_refuses_chat_sync(mock_server: MockServer) -> None:
    base = mock_server.base_url("openai_embeddings")
    with (
        AiClient.create("voyage/voyage-3.5", api_key=KEY, base_url=base) as client,
        pytest.raises(CapabilityError) as info,
    ):
        client.chat().user("Hello").execute()
    assert info.value.code == "E1005"
    assert mock_server.requests == []


async def test_voyage_refuses_chat_async(mock_server: MockServer) -> None:
    base = mock_server.base_url("openai_embeddings")
    async with await AsyncAiClient.create("voyage/voyage-3.5", api_key=KEY, base_url=base) as c:
        with pytest.raises(CapabilityError):
            await c.chat().user("Hello").execute()
    assert mock_server.requests == []


def test_bad_inputs_sync(mock_server: MockServer) -> None:
    base = mock_server.base_url("openai_embeddings")
    with EmbeddingClient.create("openai/text-embedding-3-small", api_key=KEY, base_url=base) as c:
        for bad in ("one string", [], ["ok", 3]):
            with pytest.raises(Exception) as info:
                c.embed_batch(bad)  # type: ignore[arg-type]
            assert getattr(info.value, "code", None) == "E1001"
        assert repr(c) == "EmbeddingClient(model='openai/text-embedding-3-small')"
    assert mock_server.requests == []


async def test_bad_inputs_async(mock_server: MockServer) -> None:
    base = mock_server.base_url("openai_embeddings")
    client = await AsyncEmbeddingClient.create(
        "openai/text-embedding-3-small", api_key=KEY, base_url=base
    )
    async with client:
        with pytest.raises(Exception) as info:
            await client.embed_batch([])
        assert getattr(info.value, "code", None) == "E1001"
        assert repr(client) == "AsyncEmbeddingClient(model='openai/text-embedding-3-small')"
    await client.close()  # the seed README's spelling; closing twice is harmless


# ---- manifest overrides and hot reload --------------------------------------------------


def _write(path: Path, text: str) -> None:
    """Write and move the mtime forward so the poller always sees the edit."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    stamp = max(before + 10_000_000, path.stat().st_mtime_ns)
    os.utime(path, ns=(stamp, stamp))


def _overlay(base: str, encoding: str) -> str:
    return (
        f"embeddings:\n  request: {{encoding_format: {encoding}}}\nendpoint: {{base_url: {base}}}\n"
    )


def test_hot_reload_applies_to_the_next_request_sync(
    tmp_path: Path, mock_server: MockServer
) -> None:
    base = mock_server.base_url("openai_embeddings")
    path = tmp_path / "openai.yaml"
    _write(path, _overlay(base, "float"))
    loader = ProtocolLoader([tmp_path], hot_reload=True, poll_interval=0)
    with EmbeddingClient.create(
        "openai/text-embedding-3-small", api_key=KEY, loader=loader
    ) as client:
        first = client.embed("Hello")
        _write(path, _overlay(base, "base64"))
        second = client.embed("Hello")
        _write(path, "embeddings:\n  format: 42\n")  # invalid: the last good one stays
        third = client.embed("Hello")
    sent = [r.json()["encoding_format"] for r in mock_server.requests]
    assert sent == ["float", "base64", "base64"]
    assert "embeddings.format" in str(loader.errors["openai"])
    assert first.vectors == second.vectors == third.vectors == [embedding_vector("Hello")]


async def test_hot_reload_applies_to_the_next_request_async(
    tmp_path: Path, mock_server: MockServer
) -> None:
    base = mock_server.base_url("openai_embeddings")
    path = tmp_path / "openai.yaml"
    _write(path, _overlay(base, "float"))
    loader = ProtocolLoader([tmp_path], hot_reload=True, poll_interval=0)
    client = await AsyncEmbeddingClient.create(
        "openai/text-embedding-3-small", api_key=KEY, loader=loader
    )
    async with client:
        await client.embed("Hello")
        _write(path, _overlay(base, "base64"))
        await client.embed("Hello")
    assert [r.json()["encoding_format"] for r in mock_server.requests] == ["float", "base64"]
