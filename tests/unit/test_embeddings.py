"""Unit tests: vector helpers, base64 float32 decoding, the embeddings codec and types."""

from __future__ import annotations

import base64
import math
import struct
from typing import Any

import pytest

from ailib.embeddings import (
    Embedding,
    EmbeddingResponse,
    cosine_similarity,
    decode_base64,
    dot_product,
    euclidean_distance,
    find_most_similar,
    norm,
    normalize,
)
from ailib.embeddings._codec import (
    Part,
    build_response,
    decode_vectors,
    embedding_config,
)
from ailib.errors import CapabilityError, ManifestError, ParameterError, ProtocolError
from ailib.protocol.loader import builtin_manifest, validate
from ailib.protocol.manifest import Manifest

# ---- vector helpers --------------------------------------------------------------------


def test_cosine_similarity_known_values() -> None:
    assert cosine_similarity([1.0, 0.0], [1.0, 0.0]) == pytest.approx(1.0)
    assert cosine_similarity([1.0, 0.0], [0.0, 2.0]) == pytest.approx(0.0)
    assert cosine_similarity([1.0, 0.0], [-3.0, 0.0]) == pytest.approx(-1.0)
    assert cosine_similarity([1.0, 0.0], [1.0, 1.0]) == pytest.approx(1 / math.sqrt(2))
    assert cosine_similarity([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)  # ints work too


def test_cosine_similarity_edges() -> None:
    assert cosine_similarity([0.0, 0.0], [1.0, 2.0]) == 0.0
    assert cosine_similarity([], []) == 0.0
    with pytest.raises(ValueError, match="differ in length"):
        cosine_similarity([1.0], [1.0, 2.0])
    assert -1.0 <= cosine_similarity([0.3, 0.4], [0.4, 0.3]) <= 1.0
    assert cosine_similarity([1e-3, 0.0], [1e-3, 0.0]) == pytest.approx(1.0)


def test_dot_norm_normalize_distance() -> None:
    assert dot_product([1, 2, 3], [4, 5, 6]) == 32.0
    assert norm([3.0, 4.0]) == 5.0
    assert normalize([3.0, 4.0]) == pytest.approx([0.6, 0.8])
    assert normalize([0.0, 0.0]) == [0.0, 0.0]
    assert euclidean_distance([0.0, 0.0], [3.0, 4.0]) == 5.0
    with pytest.raises(ValueError):
        dot_product([1.0], [])
    with pytest.raises(ValueError):
        euclidean_distance([1.0], [])


def test_find_most_similar_ranks_best_first() -> None:
    query = [1.0, 0.0]
    candidates = [[0.0, 1.0], [1.0, 0.1], [1.0, 1.0], [-1.0, 0.0]]
    top = find_most_similar(query, candidates, top_k=2)
    assert [i for i, _ in top] == [1, 2]
    assert top[0][1] == pytest.approx(1 / math.sqrt(1.01))
    assert top[1][1] == pytest.approx(1 / math.sqrt(2))
    everything = find_most_similar(query, candidates)
    assert [i for i, _ in everything] == [1, 2, 0, 3]
    assert find_most_similar(query, candidates, top_k=0) == []
    assert find_most_similar(query, [], top_k=3) == []


def test_find_most_similar_ties_min_score_and_errors() -> None:
    same = [[2.0, 0.0], [1.0, 0.0], [3.0, 0.0]]
    assert [i for i, _ in find_most_similar([1.0, 0.0], same, top_k=2)] == [0, 1]
    assert [i for i, _ in find_most_similar([1.0, 0.0], same)] == [0, 1, 2]
    scored = find_most_similar([1.0, 0.0], [[1.0, 0.0], [0.0, 1.0]], min_score=0.5)
    assert scored == [(0, pytest.approx(1.0))]
    with pytest.raises(ValueError):
        find_most_similar([1.0, 0.0], [[1.0]])
    with pytest.raises(ValueError):
        find_most_similar([1.0], [[1.0]], top_k=-1)


def test_helpers_accept_generators_of_candidates() -> None:
    gen = ([float(i), 1.0] for i in range(3))
    assert [i for i, _ in find_most_similar([1.0, 0.0], gen, top_k=1)] == [2]


# ---- base64 float32 -------------------------------------------------------------------


def _b64(values: list[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()


def test_decode_base64_little_endian_float32() -> None:
    values = [0.5, -1.25, 3.0e-8, 1234.5, 0.0]
    assert decode_base64(_b64(values)) == list(struct.unpack("<5f", struct.pack("<5f", *values)))
    # a value that float32 cannot hold exactly decodes to its float32 rounding
    (rounded,) = struct.unpack("<f", struct.pack("<f", 0.1))
    assert decode_base64(_b64([0.1])) == [rounded]
    assert decode_base64("") == []


@pytest.mark.parametrize("bad", ["not base64!!", "AAAAAAA=", "AAA"])
def test_decode_base64_rejects_garbage(bad: str) -> None:
    with pytest.raises(ProtocolError) as info:
        decode_base64(bad)
    assert info.value.code == "E9999"


def test_decode_vectors_shapes() -> None:
    assert decode_vectors([[1, 2], [3.5, 4]], "$.x") == [[1.0, 2.0], [3.5, 4.0]]
    assert decode_vectors([1, 2.5], "$.x") == [[1.0, 2.5]]  # one vector
    assert decode_vectors(_b64([1.0, 2.0]), "$.x") == [[1.0, 2.0]]
    assert decode_vectors([_b64([1.0]), [2]], "$.x") == [[1.0], [2.0]]
    assert decode_vectors([], "$.x") == []
    for bad in (None, {"a": 1}, [["x"]], [None]):
        with pytest.raises(ProtocolError):
            decode_vectors(bad, "$.x")


# ---- codec ------------------------------------------------------------------------------


def _manifest(section: dict[str, Any] | None, **extra: Any) -> Manifest:
    data: dict[str, Any] = {"id": "acme", "capabilities": {"required": ["embeddings"]}, **extra}
    if section is not None:
        data["embeddings"] = section
    return Manifest.from_dict(data)


def test_openai_shape_is_the_default() -> None:
    config = embedding_config(_manifest({}), "m")
    assert (config.path, config.format, config.max_batch) == ("/embeddings", "openai", None)
    body = {
        "data": [{"index": 1, "embedding": [2.0]}, {"index": 0, "embedding": _b64([1.0])}],
        "model": "m-v2",
        "usage": {"prompt_tokens": 3, "total_tokens": 3},
    }
    part = config.decode(body, 2)
    assert part.vectors == [[1.0], [2.0]]  # sorted by index
    assert part.model == "m-v2"
    assert part.usage == {"input_tokens": 3, "total_tokens": 3}


def test_upstream_endpoint_embeddings_path_is_honoured() -> None:
    data = {"id": "up", "endpoint": {"embeddings": "/v2/embeddings"}}
    assert embedding_config(Manifest.from_dict(data), "m").path == "/v2/embeddings"


def test_capability_checks() -> None:
    with pytest.raises(CapabilityError, match="does not declare the 'embeddings'"):
        embedding_config(Manifest.from_dict({"id": "x", "capabilities": ["text"]}), "m")
    models = {"metadata": {"models": {"chat-only": {"capabilities": ["text"]}}}}
    with pytest.raises(CapabilityError, match="model 'chat-only'") as info:
        embedding_config(_manifest({}, **models), "chat-only")
    assert info.value.code == "E1005"
    with pytest.raises(CapabilityError, match="no 'embeddings' section"):
        embedding_config(_manifest(None), "m")


def test_bad_sections_are_manifest_errors() -> None:
    with pytest.raises(ManifestError, match="unknown embeddings format"):
        embedding_config(_manifest({"format": "nope"}), "m")
    with pytest.raises(ManifestError, match="vectors"):
        embedding_config(_manifest({"response": {"model": "$.model"}}), "m")
    with pytest.raises(ManifestError):
        embedding_config(_manifest({"response": {"vectors": "$.a[*].b[*].c"}}), "m")


def test_parameter_checks() -> None:
    section = {
        "parameters": {
            "dimensions": {"type": "integer", "min": 1, "wire": "output.dims"},
            "input_type": {"type": "string", "values": {"search_query": "query"}},
        }
    }
    config = embedding_config(_manifest(section), "m")
    with pytest.raises(ParameterError, match="did you mean 'dimensions'") as info:
        config.check_params({"dimension": 3})
    assert info.value.code == "E1001"
    with pytest.raises(ParameterError) as bad_type:
        config.check_params({"dimensions": "3"})
    assert bad_type.value.code == "E1001"
    with pytest.raises(ParameterError):
        config.check_params({"dimensions": 0})
    assert config.check_params({"nope": 1, "dimensions": None}, drop_unsupported=True) == {}
    clean = config.check_params({"dimensions": 8, "input_type": "search_query"})
    body = config.encode("m", ["a", "b"], clean, {"extra": True})
    assert body == {
        "model": "m",
        "input": ["a", "b"],
        "output": {"dims": 8},
        "input_type": "query",  # the normalized name mapped to the provider's
        "extra": True,
    }
    other = config.encode("m", ["a"], config.check_params({"input_type": "custom"}))
    assert other["input_type"] == "custom"  # unmapped values pass unchanged


def test_gemini_batch_puts_options_in_every_item() -> None:
    config = embedding_config(
        Manifest.from_dict(builtin_manifest("gemini")), "gemini-embedding-001"
    )
    clean = config.check_params({"dimensions": 8, "input_type": "search_document"})
    body = config.encode("gemini-embedding-001", ["a", "b"], clean)
    item = {
        "model": "models/gemini-embedding-001",
        "outputDimensionality": 8,
        "taskType": "RETRIEVAL_DOCUMENT",
    }
    assert body == {
        "requests": [
            {**item, "content": {"parts": [{"text": "a"}]}},
            {**item, "content": {"parts": [{"text": "b"}]}},
        ]
    }
    assert config.encode("models/x", ["a"], {})["requests"][0]["model"] == "models/x"
    assert config.max_batch == 100
    assert config.path == "/models/{model}:batchEmbedContents"


@pytest.mark.parametrize(
    ("fmt", "body"),
    [
        ("cohere_v2", {"model": "m", "texts": ["a", "b"]}),
        ("ollama", {"model": "m", "input": ["a", "b"]}),
        ("openai", {"model": "m", "input": ["a", "b"]}),
    ],
)
def test_format_bodies(fmt: str, body: dict[str, Any]) -> None:
    config = embedding_config(_manifest({"format": fmt}), "m")
    assert config.encode("m", ["a", "b"], {}) == body


def test_ollama_legacy_sends_one_prompt_per_request() -> None:
    section = {"format": "ollama_legacy", "max_batch": 50, "response": {"vectors": "$.embedding"}}
    config = embedding_config(_manifest(section), "m")
    assert config.max_batch == 1
    assert config.batches(["a", "b", "c"]) == [["a"], ["b"], ["c"]]
    assert config.encode("m", ["a"], {}) == {"model": "m", "prompt": "a"}
    assert config.decode({"embedding": [0.5, 1]}, 1).vectors == [[0.5, 1.0]]


def test_fixed_request_fields_and_batches() -> None:
    section = {"max_batch": 2, "request": {"encoding_format": "base64", "kind": {"a": 1}}}
    config = embedding_config(_manifest(section), "m")
    assert config.batches(["1", "2", "3", "4", "5"]) == [["1", "2"], ["3", "4"], ["5"]]
    body = config.encode("m", ["x"], {}, {"kind": {"b": 2}, "encoding_format": None})
    assert body == {"model": "m", "input": ["x"], "kind": {"a": 1, "b": 2}}


def test_decode_counts_vectors() -> None:
    config = embedding_config(_manifest({}), "m")
    with pytest.raises(ProtocolError, match="expected 2 embeddings"):
        config.decode({"data": [{"index": 0, "embedding": [1.0]}]}, 2)
    with pytest.raises(ProtocolError, match="no embeddings"):
        config.decode({"error": "x"}, 1)


def test_build_response_joins_parts() -> None:
    parts = [
        Part([[1.0], [2.0]], "m-1", {"input_tokens": 3, "total_tokens": 3}),
        Part([[3.0]], None, {"input_tokens": 2}),
    ]
    resp = build_response(parts, model="m", request_id="r", raw=["a", "b"])
    assert [(e.index, e.vector) for e in resp.embeddings] == [(0, [1.0]), (1, [2.0]), (2, [3.0])]
    assert (resp.usage.input_tokens, resp.usage.total_tokens) == (5, 3)
    assert (resp.model, resp.request_id, resp.raw) == ("m-1", "r", ["a", "b"])
    bare = build_response([Part([[1.0]], None, {})], model="m", request_id=None, raw={})
    assert (bare.model, bare.usage.input_tokens, bare.usage.total_tokens) == ("m", 0, 0)


# ---- types ------------------------------------------------------------------------------


def test_response_types() -> None:
    resp = EmbeddingResponse([Embedding(0, [0.1, 0.2, 0.3, 0.4]), Embedding(1, [1, 2, 3, 4])])
    assert resp.first.index == 0
    assert resp.first.dimensions == 4 and resp.dimensions == 4
    assert len(resp) == 2 and [e.index for e in resp] == [0, 1]
    assert resp.vectors[1] == [1, 2, 3, 4]
    assert "(4 dims)" in repr(resp.first) and "0.4" not in repr(resp.first)
    empty = EmbeddingResponse([])
    assert empty.dimensions == 0
    with pytest.raises(IndexError):
        _ = empty.first


# ---- manifests --------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["openai", "gemini", "voyage"])
def test_builtin_embeddings_sections_validate(provider: str) -> None:
    data = builtin_manifest(provider)
    validate(data, None, provider)
    config = embedding_config(Manifest.from_dict(data), "some-embedding-model")
    assert config.vectors.text


def test_schema_rejects_a_bad_section() -> None:
    data = {**builtin_manifest("voyage"), "embeddings": {"format": "nope", "path": "/x"}}
    with pytest.raises(ManifestError, match=r"embeddings\.format"):
        validate(data, None, "voyage")
