"""Conformance: the corpus's token-counting and models-listing exchanges, on the wire.

Each case (``tests/fixtures/corpus/<provider>/<id>.json``, provenance in its ``source``)
is mounted on an ``httpx.MockTransport``; ``count_tokens`` / ``acount_tokens`` send the
recorded request through the real provider engine (the body is compared with the
recorded one) and decode the recorded answer. ``list_models`` needs an engine that can
GET (``engine.get_json``); it is also driven through a small engine stand-in that checks
the path and query of each page it is asked for.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from ailib.errors import RemoteError
from ailib.providers.anthropic import Anthropic, AsyncAnthropic
from ailib.providers.gemini import AsyncGemini, Gemini
from ailib.runtime.registry import compiled_spec
from ailib.tokens import (
    ModelInfo,
    TokenCount,
    acount_tokens,
    alist_models,
    count_tokens,
    list_models,
)
from ailib.types.messages import ContentBlock, Message, MessageRole

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "corpus"
BASE = {"anthropic": "http://127.0.0.1:9/v1", "gemini": "http://127.0.0.1:9/v1beta"}
DROPPED = {"content-length", "transfer-encoding", "content-encoding"}
COUNT_CASES = ["anthropic-count-tokens", "anthropic-count-tokens-error-404", "gemini-count-tokens"]


def load(case_id: str) -> dict[str, Any]:
    path = next(FIXTURES.glob(f"*/{case_id}.json"))
    case: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return case


class Replay:
    """Answers every request with the recorded response; keeps the requests."""

    def __init__(self, case: dict[str, Any]) -> None:
        self.case = case
        self.requests: list[httpx.Request] = []

    def _response(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        res = self.case["response"]
        headers = {k: v for k, v in res["headers"].items() if k.lower() not in DROPPED}
        return httpx.Response(res["status"], headers=headers, content=res["body_text"].encode())

    def handler(self, request: httpx.Request) -> httpx.Response:
        return self._response(request)

    async def async_handler(self, request: httpx.Request) -> httpx.Response:
        return self._response(request)


def recorded_call(case: dict[str, Any]) -> tuple[str, list[Message]]:
    """The model and the messages of the recorded request (text blocks kept as blocks)."""
    req = case["request"]
    body = req["json"]
    if "contents" in body:  # Gemini: the model is in the URL path
        model = req["url_path"].split("/models/", 1)[1].split(":", 1)[0]
        turns = [(c["role"], [p["text"] for p in c["parts"]]) for c in body["contents"]]
    else:
        model = body["model"]
        turns = [(m["role"], [b["text"] for b in m["content"]]) for m in body["messages"]]
    messages = [
        Message(MessageRole(role), [ContentBlock.text(t) for t in texts]) for role, texts in turns
    ]
    if "contents" in body:
        messages = [Message(MessageRole.USER, m.text) for m in messages]
    return model, messages


def check_wire(case: dict[str, Any], requests: list[httpx.Request]) -> None:
    assert len(requests) == 1
    sent = requests[0]
    recorded = case["request"]
    assert sent.method == recorded["method"]
    assert sent.url.path == recorded["url_path"]  # the base URLs end where the recording's did
    assert _blocks(json.loads(sent.content)) == _blocks(recorded["json"])


def _blocks(body: dict[str, Any]) -> dict[str, Any]:
    """Anthropic takes a message's text as a string or as one text block: the same."""
    out = dict(body)
    if "messages" in out:
        out["messages"] = [
            {**m, "content": [{"type": "text", "text": m["content"]}]}
            if isinstance(m.get("content"), str)
            else m
            for m in out["messages"]
        ]
    return out


def check_result(case: dict[str, Any], count: TokenCount, model: str) -> None:
    body = json.loads(case["response"]["body_text"])
    expected = body.get("input_tokens", body.get("totalTokens"))
    assert count == TokenCount(expected, model, "provider")
    assert int(count) == expected and count.exact
    assert count.raw == body


def check_error(case: dict[str, Any], err: RemoteError) -> None:
    body = json.loads(case["response"]["body_text"])
    assert err.status == 404 and err.code == "E1004"
    assert err.message == body["error"]["message"]
    assert err.provider_code == body["error"]["type"]


SYNC = {"anthropic": Anthropic, "gemini": Gemini}
ASYNC = {"anthropic": AsyncAnthropic, "gemini": AsyncGemini}


@pytest.mark.parametrize("case_id", COUNT_CASES)
def test_count_tokens_sync(case_id: str) -> None:
    case = load(case_id)
    replay = Replay(case)
    model, messages = recorded_call(case)
    http = httpx.Client(transport=httpx.MockTransport(replay.handler))
    provider = case["provider"]
    with SYNC[provider](api_key="test-key", base_url=BASE[provider], http_client=http) as engine:
        if case["response"]["status"] >= 400:
            with pytest.raises(RemoteError) as info:
                count_tokens(engine, model, messages)
            check_error(case, info.value)
        else:
            check_result(case, count_tokens(engine, model, messages), model)
    http.close()
    check_wire(case, replay.requests)


@pytest.mark.parametrize("case_id", COUNT_CASES)
async def test_count_tokens_async(case_id: str) -> None:
    case = load(case_id)
    replay = Replay(case)
    model, messages = recorded_call(case)
    http = httpx.AsyncClient(transport=httpx.MockTransport(replay.async_handler))
    provider = case["provider"]
    async with ASYNC[provider](
        api_key="test-key", base_url=BASE[provider], http_client=http
    ) as engine:
        if case["response"]["status"] >= 400:
            with pytest.raises(RemoteError) as info:
                await acount_tokens(engine, model, messages)
            check_error(case, info.value)
        else:
            check_result(case, await acount_tokens(engine, model, messages), model)
    await http.aclose()
    check_wire(case, replay.requests)


# ---- models listing ---------------------------------------------------------------------


class ListingEngine:
    """Stands in for an engine's ``get_json`` (GET + JSON body) over recorded pages."""

    def __init__(self, provider: str, pages: list[dict[str, Any]]) -> None:
        spec = compiled_spec(provider)
        assert spec is not None
        self.spec = spec
        self.pages = pages
        self.calls: list[tuple[str, dict[str, str]]] = []

    def get_json(self, path: str, *, query: dict[str, str]) -> tuple[Any, httpx.Headers]:
        self.calls.append((path, dict(query)))
        return self.pages[len(self.calls) - 1], httpx.Headers({"x-request-id": "req-1"})

    def _unrecognised(self, body: Any, headers: httpx.Headers, *missing: str) -> Exception:
        return AssertionError(f"unrecognised: {missing}")


class AsyncListingEngine(ListingEngine):
    async def get_json(  # type: ignore[override]
        self, path: str, *, query: dict[str, str]
    ) -> tuple[Any, httpx.Headers]:
        return ListingEngine.get_json(self, path, query=query)


def gemini_pages() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    case = load("gemini-models-list")
    first = json.loads(case["response"]["body_text"])
    last = {"models": [{"name": "models/gemini-last", "inputTokenLimit": 1000}]}
    return case, [first, last]


def check_listing(case: dict[str, Any], models: list[ModelInfo], engine: ListingEngine) -> None:
    first = json.loads(case["response"]["body_text"])
    recorded = first["models"]
    assert [m.id for m in models[:-1]] == [r["name"].removeprefix("models/") for r in recorded]
    flash = models[0]
    assert flash == ModelInfo(
        "gemini-2.5-flash", "Gemini 2.5 Flash", 1048576, 65536, raw=recorded[0]
    )
    assert flash.raw == recorded[0]
    assert models[-1].id == "gemini-last" and models[-1].context_window == 1000
    # the recorded GET /v1beta/models, then the next page by its token
    assert case["request"]["method"] == "GET" and case["request"]["url_path"] == "/v1beta/models"
    assert engine.calls == [
        ("/models", {"pageSize": "1000"}),
        ("/models", {"pageSize": "1000", "pageToken": first["nextPageToken"]}),
    ]


def test_list_models_sync() -> None:
    case, pages = gemini_pages()
    engine = ListingEngine("gemini", pages)
    check_listing(case, list_models(engine), engine)  # type: ignore[arg-type]


async def test_list_models_async() -> None:
    case, pages = gemini_pages()
    engine = AsyncListingEngine("gemini", pages)
    check_listing(case, await alist_models(engine), engine)  # type: ignore[arg-type]


class Pages(Replay):
    """The recorded first page, then a last page without a next-page token."""

    def _response(self, request: httpx.Request) -> httpx.Response:
        if not self.requests:
            return super()._response(request)
        self.requests.append(request)
        return httpx.Response(200, json={"models": [{"name": "models/gemini-last"}]})


def check_wire_listing(case: dict[str, Any], requests: list[httpx.Request]) -> None:
    first = json.loads(case["response"]["body_text"])
    assert [r.method for r in requests] == ["GET", "GET"] == [case["request"]["method"]] * 2
    assert all(r.url.path == case["request"]["url_path"] for r in requests)
    assert dict(requests[0].url.params) == {"pageSize": "1000"}
    assert dict(requests[1].url.params) == {"pageSize": "1000", "pageToken": first["nextPageToken"]}
    assert all(r.headers["x-goog-api-key"] == "test-key" for r in requests)


def test_list_models_on_the_wire_sync() -> None:
    case = load("gemini-models-list")
    replay = Pages(case)
    http = httpx.Client(transport=httpx.MockTransport(replay.handler))
    with Gemini(api_key="test-key", base_url=BASE["gemini"], http_client=http) as engine:
        models = list_models(engine)
    assert len(models) == len(json.loads(case["response"]["body_text"])["models"]) + 1
    assert models[0].id == "gemini-2.5-flash" and models[0].context_window == 1048576
    assert models[-1].id == "gemini-last"
    check_wire_listing(case, replay.requests)
    http.close()


async def test_list_models_on_the_wire_async() -> None:
    case = load("gemini-models-list")
    replay = Pages(case)
    http = httpx.AsyncClient(transport=httpx.MockTransport(replay.async_handler))
    async with AsyncGemini(api_key="test-key", base_url=BASE["gemini"], http_client=http) as e:
        models = await alist_models(e)
    assert models[0].id == "gemini-2.5-flash" and models[-1].id == "gemini-last"
    check_wire_listing(case, replay.requests)
    await http.aclose()


# ---- resp.cost on recorded responses, as the engine sets it (no attach_cost by hand) -------

COST_CASES = ["openai-chat-basic", "openai-chat-stream-include-usage"]


def _expected_cost(case: dict[str, Any], model: str) -> float:
    from ailib.tokens import get_model_pricing

    text = case["response"]["body_text"]
    usage: dict[str, Any] = {}
    for line in text.splitlines() if "data:" in text else [text]:
        line = line.removeprefix("data:").strip()
        if line.startswith("{") and '"usage"' in line:
            usage = json.loads(line)["usage"] or usage
    pricing = get_model_pricing(f"openai/{model}")
    assert pricing is not None
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    fresh = usage["prompt_tokens"] - cached
    return (
        fresh * pricing.input_per_1m
        + cached * pricing.cached_input_per_1m
        + usage["completion_tokens"] * pricing.output_per_1m
    ) / 1e6


@pytest.mark.parametrize("case_id", COST_CASES)
def test_cost_of_a_recorded_response_sync(case_id: str) -> None:
    from ailib import AiClient

    case = load(case_id)
    model = case["request"]["json"]["model"]
    http = httpx.Client(transport=httpx.MockTransport(Replay(case).handler))
    with AiClient.create(
        f"openai/{model}", api_key="k", base_url="http://127.0.0.1:9/v1", http_client=http
    ) as client:
        if case["request"]["json"].get("stream"):
            with client.chat().user("Hi").stream() as stream:
                resp = stream.final_response()
        else:
            resp = client.chat().user("Hi").execute()
        priced = resp
    assert priced.cost is not None
    assert abs(priced.cost.total_cost - _expected_cost(case, model)) < 1e-12
    http.close()


@pytest.mark.parametrize("case_id", COST_CASES)
async def test_cost_of_a_recorded_response_async(case_id: str) -> None:
    from ailib import AsyncAiClient

    case = load(case_id)
    model = case["request"]["json"]["model"]
    http = httpx.AsyncClient(transport=httpx.MockTransport(Replay(case).async_handler))
    async with await AsyncAiClient.create(
        f"openai/{model}", api_key="k", base_url="http://127.0.0.1:9/v1", http_client=http
    ) as client:
        if case["request"]["json"].get("stream"):
            async with client.chat().user("Hi").stream() as stream:
                resp = await stream.final_response()
        else:
            resp = await client.chat().user("Hi").execute()
        priced = resp
    assert priced.cost is not None
    assert abs(priced.cost.total_cost - _expected_cost(case, model)) < 1e-12
    await http.aclose()


# ---- the same exchanges through the client (client.count_tokens / client.list_models) ------


def test_client_count_tokens_and_list_models_sync() -> None:
    from ailib import AiClient
    from ailib.errors import CapabilityError

    case = load("anthropic-count-tokens")
    replay = Replay(case)
    model, messages = recorded_call(case)
    http = httpx.Client(transport=httpx.MockTransport(replay.handler))
    with AiClient.create(
        f"anthropic/{model}", api_key="k", base_url=BASE["anthropic"], http_client=http
    ) as client:
        check_result(case, client.count_tokens(messages), model)
    check_wire(case, replay.requests)
    listing = load("gemini-models-list")
    pages = Pages(listing)
    http = httpx.Client(transport=httpx.MockTransport(pages.handler))
    with AiClient.create(
        "gemini/gemini-2.5-flash", api_key="test-key", base_url=BASE["gemini"], http_client=http
    ) as client:
        models = client.list_models()
    assert models[0].id == "gemini-2.5-flash" and models[-1].id == "gemini-last"
    check_wire_listing(listing, pages.requests)
    cohere = AiClient.create("cohere/command-r", api_key="k", base_url="http://127.0.0.1:9")
    with cohere, pytest.raises(CapabilityError, match="declares no list_models endpoint"):
        cohere.list_models()


async def test_client_count_tokens_and_list_models_async() -> None:
    from ailib import AsyncAiClient
    from ailib.errors import CapabilityError

    case = load("gemini-count-tokens")
    replay = Replay(case)
    model, messages = recorded_call(case)
    http = httpx.AsyncClient(transport=httpx.MockTransport(replay.async_handler))
    async with await AsyncAiClient.create(
        f"gemini/{model}", api_key="k", base_url=BASE["gemini"], http_client=http
    ) as client:
        check_result(case, await client.count_tokens(messages), model)
    check_wire(case, replay.requests)
    listing = load("gemini-models-list")
    pages = Pages(listing)
    http = httpx.AsyncClient(transport=httpx.MockTransport(pages.async_handler))
    async with await AsyncAiClient.create(
        "gemini/gemini-2.5-flash", api_key="test-key", base_url=BASE["gemini"], http_client=http
    ) as client:
        models = await client.list_models()
    assert models[0].id == "gemini-2.5-flash" and models[-1].id == "gemini-last"
    check_wire_listing(listing, pages.requests)
    async with await AsyncAiClient.create(
        "cohere/command-r", api_key="k", base_url="http://127.0.0.1:9"
    ) as c:
        with pytest.raises(CapabilityError, match="declares no list_models endpoint"):
            await c.list_models()
