"""I/O-free embeddings logic: the manifest's ``embeddings:`` section, one request encoder
per wire format, and response decoding (float lists or base64 little-endian float32).

The section of a manifest (see ``manifests/schema/README.md``)::

    embeddings:
      path: /embeddings                   # {model} is filled in
      format: openai                      # see FORMATS: openai, gemini_batch, cohere_v2, ...
      max_batch: 2048                     # inputs per request; longer lists are split
      request: {encoding_format: base64}  # fixed fields merged into every request
      parameters:
        dimensions: {type: integer, min: 1, wire: dimensions}
        input_type: {type: string, wire: input_type, values: {search_query: query}}
      response:
        vectors: $.data[*].embedding     # a list of vectors, or one vector
        index: $.data[*].index           # optional: position of each vector
        model: $.model
        usage: {input_tokens: $.usage.prompt_tokens, total_tokens: $.usage.total_tokens}

Example::

    config = embedding_config(manifest, "text-embedding-3-small")
    payload = config.encode("text-embedding-3-small", ["Hello"], config.check_params({}))
    part = config.decode(body, expected=1)
"""

from __future__ import annotations

import base64
import binascii
import difflib
import logging
import sys
from array import array
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from ailib.embeddings._types import Embedding, EmbeddingResponse
from ailib.errors import AiLibError, CapabilityError, ManifestError, ParameterError, ProtocolError
from ailib.protocol.expr import Path, lookup, parse_path
from ailib.protocol.interpret import set_wire
from ailib.protocol.manifest import Manifest, deep_merge
from ailib.runtime.params import check_params
from ailib.types.response import Usage

log = logging.getLogger("ailib")

Encoder = Callable[[str, Sequence[str]], dict[str, Any]]


def _openai(model: str, texts: Sequence[str]) -> dict[str, Any]:
    return {"model": model, "input": list(texts)}


def _gemini_batch(model: str, texts: Sequence[str]) -> dict[str, Any]:
    name = model if model.startswith(("models/", "tunedModels/")) else f"models/{model}"
    return {"requests": [{"model": name, "content": {"parts": [{"text": t}]}} for t in texts]}


def _cohere_v2(model: str, texts: Sequence[str]) -> dict[str, Any]:
    return {"model": model, "texts": list(texts)}


def _ollama_legacy(model: str, texts: Sequence[str]) -> dict[str, Any]:
    return {"model": model, "prompt": texts[0]}


@attrs.frozen
class WireFormat:
    """How one wire format builds a request body from a model and some texts.

    Example::

        FORMATS["cohere_v2"].encode("embed-v4.0", ["Hi"])  # {"model": ..., "texts": ["Hi"]}
    """

    encode: Encoder
    per_item: bool = False  # parameters and fixed fields go into each ``requests`` item
    max_batch: int | None = None  # inputs one request can carry at most


FORMATS: dict[str, WireFormat] = {
    "openai": WireFormat(_openai),  # OpenAI, Azure, Mistral, Voyage and most compatibles
    "gemini_batch": WireFormat(_gemini_batch, per_item=True),
    "cohere_v2": WireFormat(_cohere_v2),
    "ollama": WireFormat(_openai),  # /api/embed: {"model", "input": [...]}
    "ollama_legacy": WireFormat(_ollama_legacy, max_batch=1),  # /api/embeddings: one prompt
}


def decode_base64(text: str) -> list[float]:
    """Decode a base64 string of little-endian float32 values (``encoding_format: base64``)."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError(f"embedding is not valid base64: {text[:40]!r}", code="E9999") from None
    if len(raw) % 4:
        raise ProtocolError(
            f"base64 embedding holds {len(raw)} bytes, not a whole number of float32",
            code="E9999",
        )
    values = array("f")
    values.frombytes(raw)
    if sys.byteorder == "big":
        values.byteswap()
    return values.tolist()


def _vector(item: Any, where: str) -> list[float]:
    if isinstance(item, str):
        return decode_base64(item)
    if isinstance(item, list):
        try:
            return array("d", item).tolist()
        except TypeError:
            pass
    raise ProtocolError(f"embedding at {where} is not a list of numbers", code="E9999")


def decode_vectors(value: Any, where: str) -> list[list[float]]:
    """The vectors at a response path: a list of vectors, or a single vector."""
    if isinstance(value, str):
        return [decode_base64(value)]
    if not isinstance(value, list):
        raise ProtocolError(f"response has no embeddings at {where}", code="E9999")
    if value and isinstance(value[0], int | float) and not isinstance(value[0], bool):
        return [_vector(value, where)]  # one vector (e.g. Ollama's legacy endpoint)
    return [_vector(item, where) for item in value]


@attrs.frozen
class Part:
    """What one response body contributed: vectors in input order, model, usage."""

    vectors: list[list[float]]
    model: str | None
    usage: dict[str, int]


OPENAI_RESPONSE: dict[str, Any] = {
    "vectors": "$.data[*].embedding",
    "index": "$.data[*].index",
    "model": "$.model",
    "usage": {"input_tokens": "$.usage.prompt_tokens", "total_tokens": "$.usage.total_tokens"},
}


def _path(section: dict[str, Any], key: str, source: str) -> Path | None:
    text = section.get(key)
    if text is None:
        return None
    try:
        return parse_path(str(text))
    except ProtocolError as exc:
        raise ManifestError(exc.message, path=source, key=f"embeddings.response.{key}") from None


@attrs.frozen
class EmbeddingConfig:
    """The effective ``embeddings:`` section of one provider manifest.

    Example::

        config = embedding_config(manifest, "text-embedding-3-small")
        for batch in config.batches(texts):
            body = config.encode(model, batch, config.check_params({"dimensions": 256}))
    """

    provider: str
    path: str
    format: str
    parameters: dict[str, dict[str, Any]]
    request: dict[str, Any]
    max_batch: int | None
    vectors: Path
    index: Path | None
    model: Path | None
    usage: tuple[tuple[str, Path], ...]

    def check_params(
        self, params: dict[str, Any], *, drop_unsupported: bool = False
    ) -> dict[str, Any]:
        """Validate names, types and ranges (ParameterError before anything is sent)."""
        declared = self.parameters
        named: dict[str, Any] = {}
        for name, value in params.items():
            if value is None:
                continue
            if name not in declared:
                if drop_unsupported:
                    log.warning(
                        "ailib: %s embeddings do not declare parameter %r; dropped",
                        self.provider,
                        name,
                    )
                    continue
                close = difflib.get_close_matches(name, list(declared), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ParameterError(
                    f"embeddings of provider {self.provider!r} do not declare parameter "
                    f"{name!r}{hint} (declared: {', '.join(sorted(declared)) or 'none'}). "
                    "Pass extra_body={...} to send raw wire fields.",
                    provider=self.provider,
                )
            named[name] = value
        scope = Manifest.from_dict({"id": self.provider, "parameters": declared})
        return check_params(scope, named)

    def batches(self, texts: Sequence[str]) -> list[Sequence[str]]:
        """The inputs split into requests of at most ``max_batch`` texts."""
        size = self.max_batch or len(texts) or 1
        return [texts[i : i + size] for i in range(0, len(texts), size)]

    def encode(
        self,
        model: str,
        texts: Sequence[str],
        params: dict[str, Any],
        extra_body: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The JSON body for one request (params already checked)."""
        fmt = FORMATS[self.format]
        wire: dict[str, Any] = {}
        for name, value in params.items():
            spec = self.parameters[name]
            mapped = spec.get("values", {}).get(value, value) if isinstance(value, str) else value
            set_wire(wire, str(spec.get("wire", name)), mapped)
        fields = deep_merge(self.request, wire)
        body = fmt.encode(model, texts)
        if fmt.per_item:
            body["requests"] = [deep_merge(item, fields) for item in body["requests"]]
        elif fields:
            body = deep_merge(body, fields)
        if extra_body:
            body = deep_merge(body, extra_body)
        return body

    def decode(
        self,
        body: Any,
        expected: int,
        unrecognised: Callable[[str], AiLibError] | None = None,
    ) -> Part:
        """Vectors (in input order), model and usage of one response body.

        A body without vectors (``{}``, ``null``, an error object) raises
        ``unrecognised(what_is_missing)`` when given (the engine's: the classified
        ``RemoteError`` of an error object, else ``ResponseDecodeError``), else
        ``ProtocolError``.
        """
        found = lookup(self.vectors, body, None)
        if unrecognised is not None and (found is None or found == []):
            raise unrecognised(f"no embeddings at {self.vectors.text}")
        vectors = decode_vectors(found, self.vectors.text)
        if len(vectors) != expected:
            raise ProtocolError(
                f"expected {expected} embeddings at {self.vectors.text}, got {len(vectors)}",
                code="E9999",
            )
        if self.index is not None:
            positions = lookup(self.index, body, None)
            if (
                isinstance(positions, list)
                and len(positions) == len(vectors)
                and all(isinstance(p, int) and not isinstance(p, bool) for p in positions)
            ):
                order = sorted(range(len(vectors)), key=positions.__getitem__)
                vectors = [vectors[i] for i in order]
        model = lookup(self.model, body, None) if self.model is not None else None
        usage: dict[str, int] = {}
        for name, path in self.usage:
            value = lookup(path, body, None)
            if isinstance(value, int | float) and not isinstance(value, bool):
                usage[name] = int(value)
        return Part(vectors, model if isinstance(model, str) else None, usage)


def embedding_config(manifest: Manifest, model: str) -> EmbeddingConfig:
    """The embeddings config of a manifest; CapabilityError when it declares none."""
    pid = manifest.id
    caps = manifest.capabilities
    if caps and "embeddings" not in caps:
        raise CapabilityError(
            f"provider {pid!r} does not declare the 'embeddings' capability", provider=pid
        )
    model_caps = manifest.models.get(model, {}).get("capabilities")
    if model_caps is not None and "embeddings" not in model_caps:
        raise CapabilityError(
            f"model {model!r} of {pid!r} does not declare the 'embeddings' capability",
            provider=pid,
        )
    section = manifest.data.get("embeddings")
    if not isinstance(section, dict):
        upstream = manifest.endpoint.get("embeddings")  # AI-Protocol: endpoint.embeddings path
        if not isinstance(upstream, str):
            raise CapabilityError(
                f"provider {pid!r} has no 'embeddings' section in its manifest", provider=pid
            )
        section = {"path": upstream}
    return _parse(section, pid, manifest.source)


def _parse(section: dict[str, Any], pid: str, source: str) -> EmbeddingConfig:
    fmt = str(section.get("format", "openai"))
    if fmt not in FORMATS:
        raise ManifestError(
            f"unknown embeddings format {fmt!r}; known: {', '.join(sorted(FORMATS))}",
            path=source,
            key="embeddings.format",
        )
    response = section.get("response")
    if not isinstance(response, dict):  # no response map: the OpenAI shape
        response = OPENAI_RESPONSE
    vectors = _path(response, "vectors", source)
    if vectors is None:
        raise ManifestError(
            "embeddings.response needs a 'vectors' path", path=source, key="embeddings.response"
        )
    usage = tuple(
        (name, parse_path(str(text)))
        for name, text in (response.get("usage") or {}).items()
        if text is not None
    )
    caps = [n for n in (section.get("max_batch"), FORMATS[fmt].max_batch) if n]
    return EmbeddingConfig(
        provider=pid,
        path=str(section.get("path", "/embeddings")),
        format=fmt,
        parameters=dict(section.get("parameters") or {}),
        request=dict(section.get("request") or {}),
        max_batch=min(int(n) for n in caps) if caps else None,
        vectors=vectors,
        index=_path(response, "index", source),
        model=_path(response, "model", source),
        usage=usage,
    )


def build_response(
    parts: list[Part],
    *,
    model: str,
    request_id: str | None,
    raw: Any,
) -> EmbeddingResponse:
    """Join the parts of one call (several when the inputs were split) into a response."""
    embeddings: list[Embedding] = []
    totals: dict[str, int] = {}
    for part in parts:
        for vector in part.vectors:
            embeddings.append(Embedding(len(embeddings), vector))
        for name, value in part.usage.items():
            totals[name] = totals.get(name, 0) + value
    input_tokens = totals.get("input_tokens", 0)
    usage = Usage(
        input_tokens=input_tokens,
        output_tokens=totals.get("output_tokens", 0),
        total_tokens=totals.get("total_tokens", input_tokens + totals.get("output_tokens", 0)),
    )
    reported = next((p.model for p in parts if p.model), None)
    return EmbeddingResponse(embeddings, usage, reported or model, request_id, raw)
