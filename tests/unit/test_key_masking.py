"""Keys never leak (issue 6, items 15-18): where the keys live, what the server echoes.

* item 16: a query-parameter key is masked in httpx's log line, in ``Prepared``'s repr and
  in error messages; upstream Gemini manifests send ``x-goog-api-key`` instead.
* item 17: a manifest's own header and credential ``default_headers`` are masked in the
  engine's header dict, ``vars()`` and reprs.
* item 18: a key the server echoes (whole or elided) is redacted from the exception.
* item 15: no credential over plain ``http://`` to a non-loopback host without opt-in.

Sync and async twins use ``httpx.MockTransport``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest

from ailib import AiClient, AsyncAiClient
from ailib.embeddings import AsyncEmbeddingClient, EmbeddingClient
from ailib.errors import (
    AiLibError,
    ConfigurationError,
    InsecureTransportError,
    RemoteError,
    TransportError,
)
from ailib.protocol.manifest import Manifest
from ailib.protocol.upgrade import to_ailib
from ailib.providers import gemini, openai
from ailib.providers.openai import AsyncOpenAI, OpenAI
from ailib.runtime._async_engine import AsyncEngine
from ailib.runtime._sync_engine import SyncEngine
from ailib.runtime.classify import classify
from ailib.runtime.redact import (
    HTTP_LOGGERS,
    MaskedDict,
    RedactingFilter,
    mask_url,
    redact_text,
    register,
)
from ailib.runtime.request import Secret, prepare
from ailib.runtime.spec import ProviderSpec
from ailib.types import Message

KEY = "sk-proj-Unit8KeyValue0123456789abcdWXYZ"
OTHER = "tok-Another5Credential98765432"
Handler = Callable[[httpx.Request], httpx.Response]


def spec_with_auth(auth: dict[str, Any]) -> ProviderSpec:
    manifest = openai.SPEC.manifest.with_overrides({"endpoint": {"auth": auth}}, "test")
    return ProviderSpec.interpreted(manifest)


def chat_ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "id": "r1",
            "model": "gpt-4o",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}}],
        },
    )


def sync_engine(spec: ProviderSpec, handler: Handler = chat_ok, **kw: Any) -> SyncEngine:
    client = httpx.Client(transport=httpx.MockTransport(handler))
    kw.setdefault("base_url", "https://api.test/v1")
    return SyncEngine(spec=spec, http_client=client, max_retries=0, **kw)


def async_engine(spec: ProviderSpec, handler: Handler = chat_ok, **kw: Any) -> AsyncEngine:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    kw.setdefault("base_url", "https://api.test/v1")
    return AsyncEngine(spec=spec, http_client=client, max_retries=0, **kw)


def views(engine: SyncEngine | AsyncEngine) -> str:
    headers, query = engine._headers, engine._auth_query
    return "\n".join([repr(engine), repr(vars(engine)), repr(headers), str(headers), repr(query)])


def chat_request(engine: SyncEngine | AsyncEngine, *, stream: bool = False) -> Any:
    from ailib.dialects import ChatRequest

    return ChatRequest("gpt-4o", [Message.user("hi")], {}, stream=stream)


# ---- item 17: the engine's own header dict, vars() and reprs -----------------------------


def test_masked_dict_masks_names_that_look_like_credentials() -> None:
    headers = MaskedDict(
        {
            "X-Api-Token": KEY,
            "X-Custom-Key": KEY,
            "Cookie": f"session={KEY}",
            "X-Amz-Security-Token": KEY,
            "Proxy-Authorization": KEY,
            "X-Client-Secret": KEY,
            "accept": "json",
        }
    )
    assert KEY not in repr(headers) + str(headers)
    assert "'accept': 'json'" in repr(headers)
    assert dict(headers)["X-Api-Token"] == KEY and isinstance(headers, dict)  # httpx reads it


# a header name that looks like nothing: only the manifest says it is the credential
OWN_HEADER = {"type": "custom_header", "header": "X-Provider-Sig"}


def test_manifest_own_header_is_masked_in_the_engine_sync() -> None:
    engine = sync_engine(spec_with_auth(OWN_HEADER), api_key=KEY)
    assert engine._headers["X-Provider-Sig"] == KEY
    assert KEY not in views(engine)


async def test_manifest_own_header_is_masked_in_the_engine_async() -> None:
    engine = async_engine(spec_with_auth(OWN_HEADER), api_key=KEY)
    assert engine._headers["X-Provider-Sig"] == KEY
    assert KEY not in views(engine)


DEFAULT_HEADERS = {"X-Api-Token": KEY, "Authorization": f"Bearer {OTHER}", "X-Trace": "t1"}


def test_default_header_credentials_are_masked_sync(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    engine = OpenAI(default_headers=DEFAULT_HEADERS, base_url="https://api.test/v1")
    shown = views(engine)
    assert KEY not in shown and OTHER not in shown and "t1" in shown
    assert engine._headers["X-Api-Token"] == KEY


async def test_default_header_credentials_are_masked_async(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    engine = AsyncOpenAI(default_headers=DEFAULT_HEADERS, base_url="https://api.test/v1")
    shown = views(engine)
    assert KEY not in shown and OTHER not in shown and "t1" in shown
    await engine.aclose()


def test_client_keeps_no_raw_key_for_later_engines_sync() -> None:
    engine = OpenAI(api_key=KEY, base_url="https://api.test/v1")
    options = {"api_key": KEY, "default_headers": {"X-Api-Token": OTHER}}
    client = AiClient(engine, "gpt-4o", engine_options=options)
    shown = repr(vars(client)) + repr(client)
    assert KEY not in shown and OTHER not in shown
    # a later engine (hot reload) still gets the key
    assert OpenAI(**client._options)._key.reveal() == KEY


async def test_client_keeps_no_raw_key_for_later_engines_async() -> None:
    engine = AsyncOpenAI(api_key=KEY, base_url="https://api.test/v1")
    options = {"api_key": KEY, "default_headers": {"X-Api-Token": OTHER}}
    client = AsyncAiClient(engine, "gpt-4o", engine_options=options)
    shown = repr(vars(client)) + repr(client)
    assert KEY not in shown and OTHER not in shown
    assert AsyncOpenAI(**client._options)._key.reveal() == KEY


# ---- item 16: query-parameter keys ------------------------------------------------------

QUERY_AUTH = {"type": "query_param", "param": "sig"}  # a name that looks like nothing


def test_prepared_repr_masks_the_query_key() -> None:
    prepared = prepare(
        gemini.SPEC,
        chat_request(sync_engine(gemini.SPEC, api_key=KEY)),
        base_url="https://h/v1beta",
        query={"key": KEY},
    )
    assert prepared.url.endswith(f"key={KEY}")  # still sent
    assert KEY not in repr(prepared)
    assert mask_url(f"https://u:{KEY}@h/p?alt=sse&api_key={KEY}") == (
        "https://u:***@h/p?alt=sse&api_key=***"
    )


def test_engine_and_prepared_hide_a_query_key_under_any_name_sync() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return chat_ok(request)

    engine = sync_engine(spec_with_auth(QUERY_AUTH), handler, api_key=KEY)
    prepared = engine.prepare(chat_request(engine))
    assert KEY not in repr(prepared) + views(engine)
    assert engine.execute(chat_request(engine)).content == "ok"
    assert seen[0].url.params["sig"] == KEY


async def test_engine_and_prepared_hide_a_query_key_under_any_name_async() -> None:
    engine = async_engine(spec_with_auth(QUERY_AUTH), api_key=KEY)
    prepared = engine.prepare(chat_request(engine))
    assert KEY not in repr(prepared) + views(engine)
    with pytest.raises(ConfigurationError) as info:  # a query in base_url is refused, unshown
        async_engine(openai.SPEC, api_key=KEY, base_url=f"https://h/v1?api_key={KEY}")
    assert KEY not in str(info.value) and "query" in str(info.value)
    assert (await engine.execute(chat_request(engine))).content == "ok"


@pytest.fixture
def http_logs() -> Iterator[list[logging.LogRecord]]:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(logging.DEBUG)
    logger = logging.getLogger("httpx")
    level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_httpx_log_line_hides_the_query_key_sync(http_logs: list[logging.LogRecord]) -> None:
    engine = sync_engine(spec_with_auth(QUERY_AUTH), api_key=KEY)
    engine.execute(chat_request(engine))
    lines = [r.getMessage() for r in http_logs if "HTTP Request" in r.getMessage()]
    assert lines and all("sig=***" in line and KEY not in line for line in lines)
    formatter = logging.Formatter("%(message)s %(args)s")  # formatted again, later
    assert all(KEY not in formatter.format(r) for r in http_logs)


async def test_httpx_log_line_hides_the_query_key_async(
    http_logs: list[logging.LogRecord],
) -> None:
    engine = async_engine(spec_with_auth(QUERY_AUTH), api_key=KEY)
    await engine.execute(chat_request(engine))
    lines = [r.getMessage() for r in http_logs if "HTTP Request" in r.getMessage()]
    assert lines and all("sig=***" in line and KEY not in line for line in lines)


def test_log_filter_is_installed_once_and_keeps_the_users_filters() -> None:
    mine = logging.Filter("httpx")
    logging.getLogger("httpx").addFilter(mine)
    try:
        register([Secret(KEY)])
        register([Secret(KEY)])
        for name in HTTP_LOGGERS:
            filters = logging.getLogger(name).filters
            assert sum(isinstance(f, RedactingFilter) for f in filters) == 1
        assert mine in logging.getLogger("httpx").filters
    finally:
        logging.getLogger("httpx").removeFilter(mine)


def test_transport_error_message_masks_a_url_key_sync() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}")

    engine = sync_engine(spec_with_auth(QUERY_AUTH), handler, api_key=KEY)
    with pytest.raises(TransportError) as info:
        engine.execute(chat_request(engine))
    assert KEY not in str(info.value) + repr(info.value)


async def test_transport_error_message_masks_a_url_key_async() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}")

    engine = async_engine(spec_with_auth(QUERY_AUTH), handler, api_key=KEY)
    with pytest.raises(TransportError) as info:
        await engine.execute(chat_request(engine))
    assert KEY not in str(info.value) + repr(info.value)


UPSTREAM_GEMINI = {
    "id": "gem",
    "protocol_version": "2.0",
    "endpoint": {
        "base_url": "https://generativelanguage.googleapis.com/v1beta",
        "chat": "/models/{model}:generateContent",
        "auth": {"type": "query_param", "param_name": "key", "token_env": "GEM_KEY"},
    },
    "capabilities": {"required": ["text"], "optional": ["streaming"]},
}


def gemini_ok(request: httpx.Request) -> httpx.Response:
    parts = [{"text": "ok"}]
    body = {"candidates": [{"index": 0, "content": {"role": "model", "parts": parts}}]}
    return httpx.Response(200, json=body)


def test_upstream_gemini_sends_the_key_in_a_header_sync() -> None:
    spec = ProviderSpec.interpreted(Manifest.from_dict(to_ailib(UPSTREAM_GEMINI, "<test>")))
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return gemini_ok(request)

    engine = sync_engine(spec, handler, api_key=KEY, base_url="https://g.test/v1beta")
    assert engine.execute(chat_request(engine)).content == "ok"
    assert seen[0].headers["x-goog-api-key"] == KEY
    assert KEY not in str(seen[0].url)


async def test_upstream_gemini_sends_the_key_in_a_header_async() -> None:
    spec = ProviderSpec.interpreted(Manifest.from_dict(to_ailib(UPSTREAM_GEMINI, "<test>")))
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return gemini_ok(request)

    engine = async_engine(spec, handler, api_key=KEY, base_url="https://g.test/v1beta")
    assert (await engine.execute(chat_request(engine))).content == "ok"
    assert seen[0].headers["x-goog-api-key"] == KEY and KEY not in str(seen[0].url)


# ---- item 18: keys the server echoes ----------------------------------------------------

ELIDED = f"{KEY[:12]}{'*' * 20}{KEY[-4:]}"  # OpenAI's style: prefix, stars, last four
ECHO = f"Incorrect API key provided: {ELIDED}. Also tried {KEY}."


def test_redact_text_whole_encoded_and_fragments() -> None:
    assert redact_text(f"a {KEY} b", [KEY]) == "a *** b"
    aws = "wJalrXUtnFEMI/K7MDENG+bPxRfiCY"
    assert redact_text(f"k={quote(aws, safe='')}&p={quote_plus(aws)}", [aws]) == "k=***&p=***"
    out = redact_text(ECHO, [KEY])
    assert KEY not in out and KEY[:8] not in out and KEY[4:12] not in out
    assert out.endswith("Also tried ***.") and "WXYZ" in out  # at most the last four stay
    assert redact_text("the short key ab12 stays", ["ab12"]) == "the short key ab12 stays"
    assert redact_text("nothing to see", [KEY]) == "nothing to see"


def error_text(err: AiLibError) -> str:
    return "\n".join([str(err), repr(err), err.message, repr(err.args), repr(err.body)])


def test_classify_redacts_an_echoed_key() -> None:
    body = {"error": {"message": ECHO, "type": "invalid_request_error", "code": "invalid_api_key"}}
    err = classify(openai.SPEC.errors, status=401, body=body, text=json.dumps(body), secrets=[KEY])
    assert err.code == "E1002" and "Incorrect API key provided" in err.message
    assert KEY[:8] not in error_text(err)
    text_err = classify(openai.SPEC.errors, status=401, body=None, text=ECHO, secrets=[KEY])
    assert KEY[:8] not in error_text(text_err)


def echo_401(request: httpx.Request) -> httpx.Response:
    return httpx.Response(401, json={"error": {"message": ECHO, "code": "invalid_api_key"}})


def echo_in_stream(request: httpx.Request) -> httpx.Response:
    data = json.dumps({"error": {"message": ECHO, "type": "server_error"}})
    headers = {"content-type": "text/event-stream"}
    return httpx.Response(200, content=f"data: {data}\n\n".encode(), headers=headers)


def test_echoed_key_is_redacted_from_errors_sync() -> None:
    engine = sync_engine(openai.SPEC, echo_401, api_key=KEY)
    with pytest.raises(RemoteError) as info:
        engine.execute(chat_request(engine))
    assert info.value.status == 401 and KEY[:8] not in error_text(info.value)
    engine = sync_engine(openai.SPEC, echo_in_stream, api_key=KEY)
    with pytest.raises(RemoteError) as info:
        list(engine.stream(chat_request(engine, stream=True)))
    assert "Incorrect API key" in info.value.message and KEY[:8] not in error_text(info.value)


async def test_echoed_key_is_redacted_from_errors_async() -> None:
    engine = async_engine(openai.SPEC, echo_401, api_key=KEY)
    with pytest.raises(RemoteError) as info:
        await engine.execute(chat_request(engine))
    assert info.value.status == 401 and KEY[:8] not in error_text(info.value)
    engine = async_engine(openai.SPEC, echo_in_stream, api_key=KEY)
    with pytest.raises(RemoteError) as info:
        async for _ in engine.stream(chat_request(engine, stream=True)):
            pass
    assert "Incorrect API key" in info.value.message and KEY[:8] not in error_text(info.value)


def revoked(request: httpx.Request) -> httpx.Response:
    return httpx.Response(403, json={"error": {"message": f"token {OTHER} revoked"}})


BEARER_HEADER = {"Authorization": f"Bearer {OTHER}"}


def test_echoed_default_header_credential_is_redacted_sync(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    engine = sync_engine(openai.SPEC, revoked, default_headers=BEARER_HEADER)
    with pytest.raises(RemoteError) as info:
        engine.execute(chat_request(engine))
    assert OTHER not in error_text(info.value) and "revoked" in info.value.message


async def test_echoed_default_header_credential_is_redacted_async(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    engine = async_engine(openai.SPEC, revoked, default_headers=BEARER_HEADER)
    with pytest.raises(RemoteError) as info:
        await engine.execute(chat_request(engine))
    assert OTHER not in error_text(info.value) and "revoked" in info.value.message


# ---- item 15: credentials over plain http:// -------------------------------------------

REMOTE = "http://api.example.com/v1"


def test_plain_http_to_a_remote_host_is_refused_sync() -> None:
    with pytest.raises(InsecureTransportError) as info:
        AiClient.create("openai/gpt-4o", api_key=KEY, base_url=REMOTE)
    message = str(info.value)
    assert "api.example.com" in message and "allow_insecure_http=True" in message
    assert info.value.code == "E1001" and KEY not in message
    with pytest.raises(InsecureTransportError):
        OpenAI(api_key=KEY, base_url=REMOTE)
    with pytest.raises(InsecureTransportError):
        EmbeddingClient.create("openai/text-embedding-3-small", api_key=KEY, base_url=REMOTE)
    with pytest.raises(InsecureTransportError):  # a credential in the user's own headers
        OpenAI(default_headers={"X-Api-Token": KEY}, base_url=REMOTE)
    with AiClient.create(
        "openai/gpt-4o", api_key=KEY, base_url=REMOTE, allow_insecure_http=True
    ) as client:
        assert client.provider.base_url == REMOTE


async def test_plain_http_to_a_remote_host_is_refused_async() -> None:
    with pytest.raises(InsecureTransportError):
        await AsyncAiClient.create("openai/gpt-4o", api_key=KEY, base_url=REMOTE)
    with pytest.raises(InsecureTransportError):
        AsyncOpenAI(api_key=KEY, base_url=REMOTE)
    with pytest.raises(InsecureTransportError):
        await AsyncEmbeddingClient.create(
            "openai/text-embedding-3-small", api_key=KEY, base_url=REMOTE
        )
    client = await AsyncAiClient.create(
        "openai/gpt-4o", api_key=KEY, base_url=REMOTE, allow_insecure_http=True
    )
    await client.aclose()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", OTHER)
    monkeypatch.setenv("AWS_REGION", "us-east-1")


NOVA = "bedrock/amazon.nova-micro-v1:0"


def test_sigv4_over_plain_http_is_refused_sync(aws_env: None) -> None:
    with pytest.raises(InsecureTransportError):
        AiClient.create(NOVA, base_url="http://10.1.2.3:8080")
    AiClient.create(NOVA, base_url="http://10.1.2.3:8080", allow_insecure_http=True).close()


async def test_sigv4_over_plain_http_is_refused_async(aws_env: None) -> None:
    with pytest.raises(InsecureTransportError):
        await AsyncAiClient.create(NOVA, base_url="http://10.1.2.3:8080")


@pytest.mark.parametrize(
    "base_url",
    [
        "http://localhost:8000/v1",
        "http://127.0.0.1:9/v1",
        "http://127.5.6.7/v1",
        "http://[::1]:8080/v1",
        "https://api.example.com/v1",
    ],
)
def test_loopback_and_https_need_no_opt_in_sync(base_url: str) -> None:
    with AiClient.create("openai/gpt-4o", api_key=KEY, base_url=base_url) as client:
        assert client.provider.base_url == base_url


@pytest.mark.parametrize("base_url", ["http://localhost:8000/v1", "http://[::1]:8080/v1"])
async def test_loopback_and_https_need_no_opt_in_async(base_url: str) -> None:
    client = await AsyncAiClient.create("openai/gpt-4o", api_key=KEY, base_url=base_url)
    async with client:
        assert client.provider.base_url == base_url


def test_no_credential_no_refusal_sync(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)
    AiClient.create("ollama/llama3.2").close()  # http://localhost, no key
    AiClient.create("ollama/llama3.2", base_url="http://10.0.0.5:11434").close()


async def test_no_credential_no_refusal_async(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)
    client = await AsyncAiClient.create("ollama/llama3.2")  # http://localhost, no key
    await client.aclose()
    client = await AsyncAiClient.create("ollama/llama3.2", base_url="http://10.0.0.5:11434")
    await client.aclose()
