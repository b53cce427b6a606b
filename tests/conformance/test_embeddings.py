"""Conformance: every recorded embeddings exchange of the corpus, through the public API.

Each case (``tests/fixtures/corpus/<provider>/<id>.json``, provenance in its ``source``)
is mounted on an ``httpx.MockTransport`` and driven through ``EmbeddingClient`` and
``AsyncEmbeddingClient`` with the inputs and options of the recorded request. Expected
vectors, usage, model, request id and error codes are computed here from the recording
with plain reference logic (``json.loads``, dictionary walking, ``struct.unpack``).

Providers whose built-in manifest has no usable ``embeddings:`` section yet (Cohere,
Mistral, Ollama, Azure OpenAI: their manifests are owned elsewhere) are tested with the
section proposed in ``embedding_manifests.PROPOSED`` deep-merged onto the built-in manifest
and interpreted
(``EmbeddingClient.create(..., manifest=Manifest)`` → ``ProviderSpec.interpreted``).
Once the section is pasted into the manifest, the built-in one is used as it is.
"""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from ailib.embeddings import AsyncEmbeddingClient, EmbeddingClient, EmbeddingResponse
from ailib.errors import RemoteError
from ailib.protocol.loader import builtin_manifest, validate
from ailib.protocol.manifest import Manifest, deep_merge

from .embedding_manifests import OLLAMA_LEGACY, ready, with_proposal

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "corpus"
EMBEDDING_APIS = {
    "openai.embeddings",
    "gemini.batch_embed_contents",
    "cohere.v2_embed",
    "mistral.embeddings",
    "ollama.embeddings",
    "voyage.embeddings",
}
# Every embeddings case of the corpus (kind embeddings, or an error on an embeddings API).
EXPECTED_IDS = {
    "openai-embeddings-base64",
    "openai-embeddings-batch",
    "openai-embeddings-error-404",
    "gemini-embeddings-batch",
    "gemini-embeddings-task-type",
    "gemini-embeddings-error-404",
    "cohere-embeddings",
    "cohere-embeddings-error-404",
    "mistral-embeddings",
    "ollama-native-embeddings",
    "voyage-embeddings",
    "voyage-embeddings-error-400",
    "azure-openai-error-401",
}
PROVIDER = {"azure_openai": "azure-openai"}  # corpus provider name -> ailib provider id
DROPPED_HEADERS = {"content-length", "transfer-encoding", "content-encoding"}


def load_cases() -> list[dict[str, Any]]:
    cases = []
    for path in sorted(FIXTURES.glob("*/*.json")):
        case = json.loads(path.read_text(encoding="utf-8"))
        if case.get("api") in EMBEDDING_APIS:
            cases.append(case)
    return sorted(cases, key=lambda c: c["id"])


CASES = load_cases()


def test_every_embeddings_case_is_replayed() -> None:
    assert {c["id"] for c in CASES} == EXPECTED_IDS


# ---- manifests -----------------------------------------------------------------------


def provider_id(case: dict[str, Any]) -> str:
    return PROVIDER.get(case["provider"], case["provider"])


def effective_manifest(case: dict[str, Any]) -> Manifest | None:
    """None: the compiled built-in manifest serves the case; else the interpreted one."""
    pid = provider_id(case)
    data = builtin_manifest(pid)
    changed = not ready(data)
    if changed:
        data = with_proposal(data, pid)
    if case["api"] == "ollama.embeddings" and case["request"]["url_path"] == "/api/embeddings":
        data, changed = deep_merge(data, OLLAMA_LEGACY), True
    if not changed:
        return None
    validate(data, None, f"{pid} + proposed embeddings")  # the schema accepts the proposal
    return Manifest.from_dict(data, source=f"{pid} + proposed embeddings")


def base_url(case: dict[str, Any], manifest: Manifest | None) -> str:
    data = manifest.data if manifest is not None else builtin_manifest(provider_id(case))
    prefix = urlsplit(str(data["endpoint"]["base_url"]).replace("{region}", "x")).path
    return "http://127.0.0.1:9" + prefix.rstrip("/")


# ---- reference decoding of the recording (independent of ailib) ------------------------


def recorded_request(case: dict[str, Any]) -> tuple[str, list[str], dict[str, Any]]:
    """(model, texts, options) of the recorded request."""
    req = case["request"]
    body = req["json"]
    path = req["url_path"]
    api = case["api"]
    options: dict[str, Any] = {}
    if api == "gemini.batch_embed_contents":
        model = path.split("/models/", 1)[1].split(":", 1)[0]
        items = body["requests"]
        texts = [item["content"]["parts"][0]["text"] for item in items]
        if "outputDimensionality" in items[0]:
            options["dimensions"] = items[0]["outputDimensionality"]
        if "taskType" in items[0]:
            options["input_type"] = items[0]["taskType"]
        return model, texts, options
    if api == "cohere.v2_embed":
        texts = list(body["texts"])
    elif api == "ollama.embeddings":
        texts = [body["prompt"]] if "prompt" in body else list(body["input"])
    else:
        value = body["input"]
        texts = [value] if isinstance(value, str) else list(value)
    if body.get("input_type") is not None:
        options["input_type"] = body["input_type"]
    for key in ("dimensions", "output_dimension"):
        if body.get(key) is not None:
            options["dimensions"] = body[key]
    model = body["model"]
    if "/deployments/" in path:  # Azure: the deployment name is the model id
        model = path.split("/deployments/", 1)[1].split("/", 1)[0]
    return model, texts, options


def _floats(value: Any) -> list[float]:
    if isinstance(value, str):
        raw = base64.b64decode(value)
        return list(struct.unpack(f"<{len(raw) // 4}f", raw))
    return [float(x) for x in value]


def expected_result(case: dict[str, Any]) -> dict[str, Any]:
    body = json.loads(case["response"]["body_text"])
    api = case["api"]
    usage_in = usage_total = 0
    if api == "gemini.batch_embed_contents":
        vectors = [e["values"] for e in body["embeddings"]]
    elif api == "cohere.v2_embed":
        vectors = body["embeddings"]["float"]
        usage_in = usage_total = body["meta"]["billed_units"]["input_tokens"]
    elif api == "ollama.embeddings":
        vectors = [body["embedding"]] if "embedding" in body else body["embeddings"]
    else:
        data = sorted(body["data"], key=lambda d: d["index"])
        vectors = [d["embedding"] for d in data]
        usage = body.get("usage") or {}
        usage_total = usage.get("total_tokens") or 0
        usage_in = usage.get("prompt_tokens", usage_total)
    request_headers = {
        "openai": ["x-request-id"],
        "mistral": ["mistral-correlation-id", "x-kong-request-id"],
        "azure_openai": ["apim-request-id", "x-request-id"],
    }.get(case["provider"], ["x-request-id"])
    headers = case["response"]["headers"]
    return {
        "vectors": [_floats(v) for v in vectors],
        "input_tokens": usage_in,
        "total_tokens": usage_total,
        "model": body.get("model") or recorded_request(case)[0],
        "request_id": next((headers[h] for h in request_headers if headers.get(h)), None),
        "body": body,
    }


STANDARD_HTTP = {400: "E1001", 401: "E1002", 403: "E1003", 404: "E1004", 429: "E2001"}


def expected_error(case: dict[str, Any]) -> tuple[str, str]:
    body = json.loads(case["response"]["body_text"])
    if isinstance(body.get("error"), dict):
        message = body["error"]["message"]
    else:
        message = body.get("message") or body.get("detail")
    return STANDARD_HTTP[int(case["response"]["status"])], message


# ---- replay ------------------------------------------------------------------------------


class Replay:
    def __init__(self, case: dict[str, Any]) -> None:
        self.case = case
        self.requests: list[httpx.Request] = []

    def response(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        resp = self.case["response"]
        headers = {k: v for k, v in resp["headers"].items() if k.lower() not in DROPPED_HEADERS}
        return httpx.Response(
            int(resp["status"]), headers=headers, content=resp["body_text"].encode()
        )

    async def aresponse(self, request: httpx.Request) -> httpx.Response:
        return self.response(request)


def _create_kwargs(case: dict[str, Any]) -> dict[str, Any]:
    manifest = effective_manifest(case)
    return {
        "api_key": "test-key",
        "base_url": base_url(case, manifest),
        "max_retries": 0,
        "manifest": manifest,
    }


def _is_error(case: dict[str, Any]) -> bool:
    return int(case["response"]["status"]) >= 400


def check_wire(case: dict[str, Any], sent: list[httpx.Request]) -> None:
    """The request went to the recorded path and carries only recorded values."""
    assert len(sent) == 1
    req = case["request"]
    assert sent[0].url.path == req["url_path"]
    for key in req.get("query") or {}:
        assert key in sent[0].url.params or key == "key"
    body = json.loads(sent[0].content)
    recorded = {k: v for k, v in req["json"].items() if v is not None}
    if "/deployments/" in req["url_path"]:
        body.pop("model")  # Azure routes by deployment; the body's model is not used
        recorded.pop("model", None)
    if isinstance(recorded.get("input"), str):
        recorded["input"] = [recorded["input"]]
    for key, value in body.items():
        assert recorded.get(key) == value, (key, value, recorded.get(key))


def check_result(case: dict[str, Any], resp: EmbeddingResponse) -> None:
    want = expected_result(case)
    assert [e.index for e in resp.embeddings] == list(range(len(want["vectors"])))
    assert [len(e.vector) for e in resp.embeddings] == [len(v) for v in want["vectors"]]
    assert resp.first.vector[:5] == want["vectors"][0][:5]
    assert resp.vectors == want["vectors"]
    assert resp.usage.input_tokens == want["input_tokens"]
    assert resp.usage.total_tokens == want["total_tokens"]
    assert resp.model == want["model"]
    assert resp.request_id == want["request_id"]
    assert resp.raw == want["body"]


def check_error(case: dict[str, Any], err: RemoteError) -> None:
    code, message = expected_error(case)
    assert err.code == code
    assert err.status == int(case["response"]["status"])
    assert err.message == message
    assert err.retryable is False


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_embeddings_sync(case: dict[str, Any]) -> None:
    replay = Replay(case)
    model, texts, options = recorded_request(case)
    http = httpx.Client(transport=httpx.MockTransport(replay.response))
    pid = provider_id(case)
    with EmbeddingClient.create(f"{pid}/{model}", http_client=http, **_create_kwargs(case)) as c:
        if _is_error(case):
            with pytest.raises(RemoteError) as info:
                c.embed_batch(texts, **options)
            check_error(case, info.value)
        else:
            check_result(case, c.embed_batch(texts, **options))
    http.close()
    check_wire(case, replay.requests)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
async def test_embeddings_async(case: dict[str, Any]) -> None:
    replay = Replay(case)
    model, texts, options = recorded_request(case)
    http = httpx.AsyncClient(transport=httpx.MockTransport(replay.aresponse))
    pid = provider_id(case)
    client = await AsyncEmbeddingClient.create(
        f"{pid}/{model}", http_client=http, **_create_kwargs(case)
    )
    async with client as c:
        if _is_error(case):
            with pytest.raises(RemoteError) as info:
                await c.embed_batch(texts, **options)
            check_error(case, info.value)
        else:
            check_result(case, await c.embed_batch(texts, **options))
    await http.aclose()
    check_wire(case, replay.requests)


@pytest.mark.parametrize(
    "case", [c for c in CASES if len(recorded_request(c)[1]) == 1], ids=lambda c: c["id"]
)
def test_single_text_embed_matches_batch(case: dict[str, Any]) -> None:
    """``embed(text)`` sends the same request as ``embed_batch([text])``."""
    replay = Replay(case)
    model, texts, options = recorded_request(case)
    http = httpx.Client(transport=httpx.MockTransport(replay.response))
    pid = provider_id(case)
    with EmbeddingClient.create(f"{pid}/{model}", http_client=http, **_create_kwargs(case)) as c:
        if _is_error(case):
            with pytest.raises(RemoteError):
                c.embed(texts[0], **options)
        else:
            assert c.embed(texts[0], **options).vectors == expected_result(case)["vectors"]
    check_wire(case, replay.requests)


@pytest.mark.parametrize(
    "case", [c for c in CASES if len(recorded_request(c)[1]) == 1], ids=lambda c: c["id"]
)
async def test_single_text_embed_matches_batch_async(case: dict[str, Any]) -> None:
    replay = Replay(case)
    model, texts, options = recorded_request(case)
    http = httpx.AsyncClient(transport=httpx.MockTransport(replay.aresponse))
    pid = provider_id(case)
    kwargs = _create_kwargs(case)
    async with await AsyncEmbeddingClient.create(f"{pid}/{model}", http_client=http, **kwargs) as c:
        if _is_error(case):
            with pytest.raises(RemoteError):
                await c.embed(texts[0], **options)
        else:
            resp = await c.embed(texts[0], **options)
            assert resp.vectors == expected_result(case)["vectors"]
    check_wire(case, replay.requests)
