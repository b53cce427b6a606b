"""Shared helpers for the corpus conformance and differential tests.

The corpus cases live in ``tests/fixtures/corpus/<provider>/<id>.json``: real HTTP exchanges
recorded by other projects (see each file's ``source`` field). Only the chat wire dialects the
built-in manifests speak are replayed here.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "corpus"

# Wire dialect of a case ("api" field) -> the built-in provider id that speaks it.
DIALECT_PROVIDER = {
    "openai.chat_completions": "openai",
    "anthropic.messages": "anthropic",
    "gemini.generate_content": "gemini",
}
# Built-in manifests that speak a case's dialect (the mock provider speaks OpenAI Chat).
DIALECT_SPECS = {
    "openai.chat_completions": ("openai", "mock"),
    "anthropic.messages": ("anthropic",),
    "gemini.generate_content": ("gemini",),
}
BUILTIN_PROVIDERS = ("openai", "anthropic", "gemini", "mock")
DROPPED_HEADERS = {"content-length", "transfer-encoding", "content-encoding"}
BASE_URL = "http://127.0.0.1:9/v1"


def load_cases() -> list[dict[str, Any]]:
    """Every fixture case whose wire dialect is one of the three chat dialects, by id."""
    cases = []
    for provider in ("openai", "anthropic", "gemini"):
        for path in sorted((FIXTURES / provider).glob("*.json")):
            case = json.loads(path.read_text(encoding="utf-8"))
            if case.get("api") in DIALECT_PROVIDER:
                cases.append(case)
    return sorted(cases, key=lambda c: c["id"])


CASES = load_cases()


def provider_of(case: dict[str, Any]) -> str:
    """The ailib provider that decodes this case (gemini's OpenAI-compatible case → openai)."""
    return DIALECT_PROVIDER[case["api"]]


def model_of(case: dict[str, Any]) -> str:
    """The model named by the recorded request (body, else the Gemini URL path)."""
    body = case["request"].get("json") or {}
    if isinstance(body.get("model"), str):
        return body["model"]
    path = case["request"]["url_path"]
    return path.split("/models/", 1)[1].split(":", 1)[0]


def is_stream(case: dict[str, Any]) -> bool:
    """Whether the case was a streaming call (and so must be replayed via ``.stream()``)."""
    if case["kind"].endswith("_stream"):
        return True
    if case["response"].get("body_format") in ("sse", "json_array"):
        return True
    req = case["request"]
    body = req.get("json") or {}
    return body.get("stream") is True or ":streamGenerateContent" in req.get("url_path", "")


def is_error(case: dict[str, Any]) -> bool:
    return int(case["response"]["status"]) >= 400


def response_headers(case: dict[str, Any]) -> dict[str, str]:
    return {
        k: v for k, v in case["response"]["headers"].items() if k.lower() not in DROPPED_HEADERS
    }


def body_bytes(case: dict[str, Any]) -> bytes:
    return str(case["response"]["body_text"]).encode("utf-8")


def chunks_of(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


class Recorder:
    """Replays one case on an httpx.MockTransport and records the requests it saw."""

    def __init__(self, case: dict[str, Any], chunk_size: int | None = None) -> None:
        self.case = case
        self.chunk_size = chunk_size
        self.requests: list[httpx.Request] = []

    def _chunks(self) -> list[bytes]:
        data = body_bytes(self.case)
        return chunks_of(data, self.chunk_size) if self.chunk_size else [data]

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status = int(self.case["response"]["status"])
        headers = response_headers(self.case)
        if self.chunk_size is None:
            return httpx.Response(status, headers=headers, content=body_bytes(self.case))
        chunks = self._chunks()

        def sync_stream() -> Iterator[bytes]:
            yield from chunks

        return httpx.Response(status, headers=headers, content=sync_stream())

    async def async_handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status = int(self.case["response"]["status"])
        headers = response_headers(self.case)
        if self.chunk_size is None:
            return httpx.Response(status, headers=headers, content=body_bytes(self.case))
        chunks = self._chunks()

        async def async_stream() -> AsyncIterator[bytes]:
            for chunk in chunks:
                yield chunk

        return httpx.Response(status, headers=headers, content=async_stream())

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handler))

    def async_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.async_handler))
