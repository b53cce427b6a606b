"""Mock server plugin: embeddings endpoints with deterministic vectors.

Routes (bodies shaped like recorded exchanges):

* ``POST /v1/embeddings`` -- OpenAI (also Azure, Mistral, Voyage): ``data[*].embedding``
  as floats, or base64 little-endian float32 when the request says
  ``"encoding_format": "base64"``; ``dimensions`` / ``output_dimension`` are honoured.
* ``POST /v1beta/models/{model}:batchEmbedContents`` -- Gemini: ``embeddings[*].values``
  (``outputDimensionality`` per request item). The built-in Gemini route only matches
  ``:generateContent``, so the two never collide.
* ``POST /v2/embed`` -- Cohere v2: ``embeddings.float`` and ``meta.billed_units``.
* ``POST /api/embed`` -- Ollama: ``embeddings`` and ``prompt_eval_count``.

A vector is the signed feature hash of the text's lower-cased words, normalized to
length 1 and rounded to float32: texts sharing words are similar, and
:func:`embedding_vector` gives the exact values a test can expect. HTTP errors come from
``Scenario(status=...)`` in each provider's error shape.

Example::

    with MockServer() as server:
        r = httpx.post(server.base_url("openai") + "/embeddings",
                       json={"model": "text-embedding-3-small", "input": ["Hi"]})
        assert r.json()["data"][0]["embedding"] == embedding_vector("Hi")
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import sys
from array import array
from typing import Any, ClassVar

from ailib.testing.dialect_base import Dialect, Headers
from ailib.testing.dialect_gemini import GeminiDialect
from ailib.testing.dialects import OpenAIDialect
from ailib.testing.routes import Route, register
from ailib.testing.scenario import Call, Plan

__all__ = ["DEFAULT_DIMENSIONS", "embedding_vector", "float32_base64"]

DEFAULT_DIMENSIONS = 64
_WORDS = re.compile(r"\w+")
_Errors = dict[int, tuple[str, str | None, str]]


def embedding_vector(text: str, dimensions: int = DEFAULT_DIMENSIONS) -> list[float]:
    """The mock's vector for ``text``: hashed words, unit length, float32 values."""
    values = [0.0] * max(1, dimensions)
    for word in _WORDS.findall(text.lower()) or [text]:
        digest = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
        values[digest % len(values)] += 1.0 if digest >> 63 else -1.0
    length = math.sqrt(sum(v * v for v in values)) or 1.0
    return array("f", [v / length for v in values]).tolist()


def float32_base64(vector: list[float]) -> str:
    """Base64 of the vector as little-endian float32 (OpenAI ``encoding_format: base64``)."""
    packed = array("f", vector)
    if sys.byteorder == "big":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode()


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item if isinstance(item, str) else json.dumps(item) for item in value]
    return []


def _tokens(p: Plan, texts: list[str]) -> int:
    if p.scenario.usage is not None:
        return p.scenario.usage[0]
    return sum(max(1, len(_WORDS.findall(t))) for t in texts)


def _dims(*values: Any) -> int:
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return DEFAULT_DIMENSIONS


def _json(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2) + "\n").encode()


class OpenAIEmbeddings(OpenAIDialect):
    """``/v1/embeddings`` (OpenAI/Voyage shape), OpenAI error bodies."""

    def complete(self, p: Plan) -> bytes:
        body = p.call.body
        texts = _texts(body.get("input"))
        dims = _dims(body.get("dimensions"), body.get("output_dimension"))
        as_base64 = body.get("encoding_format") == "base64"
        data = []
        for i, text in enumerate(texts):
            vector = embedding_vector(text, dims)
            data.append(
                {
                    "object": "embedding",
                    "index": i,
                    "embedding": float32_base64(vector) if as_base64 else vector,
                }
            )
        tokens = _tokens(p, texts)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return _json({"object": "list", "data": data, "model": p.model, "usage": usage})


class GeminiEmbeddings(GeminiDialect):
    """``:batchEmbedContents`` with Gemini error bodies."""

    def complete(self, p: Plan) -> bytes:
        out = []
        for item in p.call.body.get("requests") or []:
            parts = (item.get("content") or {}).get("parts") or []
            text = "".join(str(part.get("text", "")) for part in parts)
            out.append({"values": embedding_vector(text, _dims(item.get("outputDimensionality")))})
        return _json({"embeddings": out})


class CohereEmbeddings(Dialect):
    """Cohere ``/v2/embed``: ``embeddings.float``; errors are ``{"id", "message"}``."""

    errors: ClassVar[_Errors] = {
        400: ("", None, "invalid request: texts must not be empty"),
        401: ("", None, "invalid api token"),
        404: ("", None, "model '{model}' not found, make sure the correct model ID was used "
              "and that you have access to the model."),
        429: ("", None, "You are using a Trial key, which is limited to 40 API calls / minute."),
        500: ("", None, "internal server error, this has been reported to our developers"),
    }  # fmt: skip

    def headers(self, call: Call, *, error: bool = False) -> Headers:
        return [("content-type", "application/json"), ("x-debug-trace-id", f"{call.seq:032x}")]

    def complete(self, p: Plan) -> bytes:
        body = p.call.body
        texts = _texts(body.get("texts"))
        dims = _dims(body.get("output_dimension"))
        return _json(
            {
                "id": f"{p.call.seq:08x}-0000-4000-8000-000000000000",
                "texts": texts,
                "embeddings": {"float": [embedding_vector(t, dims) for t in texts]},
                "meta": {
                    "api_version": {"version": "2"},
                    "billed_units": {"input_tokens": _tokens(p, texts)},
                },
                "response_type": "embeddings_by_type",
            }
        )

    def error_body(self, call: Call, status: int, message: str | None) -> bytes:
        text = message if message is not None else self.error_entry(status)[2]
        text = text.replace("{model}", call.model)
        return _json({"id": f"{call.seq:08x}-0000-4000-8000-000000000000", "message": text})


class OllamaEmbeddings(Dialect):
    """Ollama ``/api/embed``: ``embeddings`` and ``prompt_eval_count``; ``{"error"}``."""

    json_type = "application/json; charset=utf-8"
    errors: ClassVar[_Errors] = {
        400: ("", None, "input is required"),
        404: ("", None, 'model "{model}" not found, try pulling it first'),
        500: ("", None, "llama runner process has terminated: exit status 2"),
    }

    def complete(self, p: Plan) -> bytes:
        body = p.call.body
        texts = _texts(body.get("input"))
        dims = _dims(body.get("dimensions"))
        return _json(
            {
                "model": p.model,
                "embeddings": [embedding_vector(t, dims) for t in texts],
                "total_duration": 14143917,
                "load_duration": 1019500,
                "prompt_eval_count": _tokens(p, texts),
            }
        )

    def error_body(self, call: Call, status: int, message: str | None) -> bytes:
        text = message if message is not None else self.error_entry(status)[2]
        return json.dumps({"error": text.replace("{model}", call.model)}).encode()


def _no_stream(match: re.Match[str], payload: dict[str, Any], query: dict[str, str]) -> bool:
    return False


def _path_model(match: re.Match[str], payload: dict[str, Any]) -> str:
    return match.group(1)


register(
    "openai_embeddings",
    OpenAIEmbeddings(),
    # also Azure's deployment path: /openai/deployments/<name>/embeddings
    Route("POST", r"^(?:/v1)?(?:/openai/deployments/[^/]+)?/embeddings$", stream=_no_stream),
    base_path="/v1",
)
register(
    "gemini_embeddings",
    GeminiEmbeddings(),
    Route(
        "POST",
        r"^/v1(?:beta|alpha)?/models/([^/:]+):batchEmbedContents$",
        model=_path_model,
        stream=_no_stream,
    ),
    base_path="/v1beta",
)
register(
    "cohere_embeddings",
    CohereEmbeddings(),
    Route("POST", r"^/v2/embed$", stream=_no_stream),
    base_path="/v2",
)
register(
    "ollama_embeddings",
    OllamaEmbeddings(),
    Route("POST", r"^/api/embed$", stream=_no_stream),
    base_path="",
)
