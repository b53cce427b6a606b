"""Recordings of older endpoints decode through the same manifests (sync and async).

Ollama's completion-style ``/api/generate`` (``response`` fields) and Cohere's legacy v1
chat stream (``application/stream+json``, ``event_type``) are other APIs than the chat
endpoints ailib calls, but their bodies decode with the ollama and cohere manifests.
Expectations are computed from the recordings independently of ailib.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from ailib import AiClient, AsyncAiClient

FIXTURES = Path(__file__).parents[1] / "fixtures/corpus"
CASES = {
    "ollama-native-generate": ("ollama", False),
    "ollama-native-generate-stream": ("ollama", True),
    "cohere-v1-chat-stream-legacy": ("cohere", True),
}


def _case(case_id: str) -> dict[str, Any]:
    provider = CASES[case_id][0]
    data: dict[str, Any] = json.loads((FIXTURES / provider / f"{case_id}.json").read_text())
    return data


def _expected(case: dict[str, Any]) -> tuple[str, str, int, int]:
    body = case["response"]["body_text"]
    lines = [json.loads(line) for line in body.splitlines() if line.strip()]
    if case["provider"] == "ollama":
        text = "".join(line.get("response", "") for line in lines)
        last = lines[-1]
        return text, last["done_reason"], last["prompt_eval_count"], last["eval_count"]
    text = "".join(x["text"] for x in lines if x["event_type"] == "text-generation")
    end = next(x for x in lines if x["event_type"] == "stream-end")
    tokens = end["response"]["meta"]["tokens"]
    return text, end["finish_reason"], tokens["input_tokens"], tokens["output_tokens"]


def _handler(case: dict[str, Any]) -> Any:
    response = case["response"]
    headers = {"content-type": response["headers"]["content-type"]}

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            response["status"], headers=headers, content=response["body_text"].encode()
        )

    return handle


def _check(case: dict[str, Any], content: str, raw_finish: str | None, usage: Any) -> None:
    text, finish, input_tokens, output_tokens = _expected(case)
    assert content == text and raw_finish == finish
    assert (usage.input_tokens, usage.output_tokens) == (input_tokens, output_tokens)


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_legacy_case_sync(case_id: str) -> None:
    case = _case(case_id)
    provider, stream = CASES[case_id]
    transport = httpx.MockTransport(_handler(case))
    with AiClient.create(
        f"{provider}/legacy", api_key="k", http_client=httpx.Client(transport=transport)
    ) as client:
        if stream:
            with client.chat().user("hi").stream() as events:
                parts = [e.as_content_delta.content for e in events if e.is_content_delta]
            resp = events.final_response()
            assert "".join(parts) == resp.content
        else:
            resp = client.chat().user("hi").execute()
    _check(case, resp.content, resp.raw_finish_reason, resp.usage)


@pytest.mark.parametrize("case_id", sorted(CASES))
async def test_legacy_case_async(case_id: str) -> None:
    case = _case(case_id)
    provider, stream = CASES[case_id]
    transport = httpx.MockTransport(_handler(case))
    client = await AsyncAiClient.create(
        f"{provider}/legacy", api_key="k", http_client=httpx.AsyncClient(transport=transport)
    )
    async with client:
        if stream:
            async with client.chat().user("hi").stream() as events:
                async for _ in events:
                    pass
            resp = await events.final_response()
        else:
            resp = await client.chat().user("hi").execute()
    _check(case, resp.content, resp.raw_finish_reason, resp.usage)
