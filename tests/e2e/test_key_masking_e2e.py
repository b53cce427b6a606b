"""Keys never leak: a full run against the loopback MockServer, looked at everywhere.

For each way a credential travels (an ``Authorization`` bearer key, a query-parameter key
in a custom manifest, an upstream Gemini manifest, a manifest's own header, AWS SigV4 and
user ``default_headers``) one run does a chat, a stream, a retried 429, an HTTP error
that echoes the key and a stream error that echoes it, with every logger at DEBUG. Then
the secret must not appear in any log record (formatted when emitted and again later),
in the reprs and ``vars()`` of the client, engine, builder, stream, ``Prepared`` and
response, in the engine's header dict, nor in any view of the errors. Sync and async.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from ailib import AiClient, AsyncAiClient
from ailib.errors import AiLibError, RemoteError
from ailib.testing import MockServer, Scenario
from ailib.testing.scenario import RecordedRequest

KEY = "sk-proj-Hq81ZtBearerKeyValue0123456789wxyz"
QUERY_KEY = "qk-77Lm3PQueryKeyValue9876543210abcd"
GEMINI_KEY = "AIzaSyGeminiUpstreamKey000111222333"
CUSTOM_KEY = "ck-Rw5CustomHeaderKeyValue55667788"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
AWS_SESSION = "FwoGZXIvYXdzSessionTokenValue0000111122223333"
TOKEN = "tok-Default7HeaderToken0123456789"
BEARER = "sk-live-DefaultAuthorizationValue42424242"
CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
ALL_SECRETS = (KEY, QUERY_KEY, GEMINI_KEY, CUSTOM_KEY, AWS_SECRET, AWS_SESSION, TOKEN, BEARER)

QUERY_MANIFEST = """\
id: qauth
extends: openai
protocol_version: '2.0'
endpoint:
  base_url: 'http://127.0.0.1:1/v1'
  auth: {type: query_param, param: sig, token_env: QAUTH_TEST_KEY}
"""
HEADER_MANIFEST = """\
id: hauth
extends: openai
protocol_version: '2.0'
endpoint:
  base_url: 'http://127.0.0.1:1/v1'
  auth: {type: api_key, header: X-Custom-Key, token_env: HAUTH_TEST_KEY}
"""
UPSTREAM_GEMINI = """\
id: gem
protocol_version: '2.0'
endpoint:
  base_url: https://generativelanguage.googleapis.com/v1beta
  chat: /models/{model}:generateContent
  auth: {type: query_param, param_name: key, token_env: GEM_TEST_KEY}
capabilities: {required: [text, streaming]}
parameters:
  temperature: {type: float, range: [0, 2]}
"""


@attrs.frozen
class Case:
    """One way of carrying credentials: how to create the client, what must stay hidden."""

    name: str
    model: str
    dialect: str
    secrets: tuple[str, ...]
    options: Callable[[MockServer, Path], dict[str, Any]]
    sent: Callable[[RecordedRequest], bool]  # the credential really went out

    def create_kwargs(self, server: MockServer, tmp: Path) -> dict[str, Any]:
        policy = {"min_delay_ms": 1, "max_delay_ms": 5}
        return {
            "base_url": server.base_url(self.dialect),
            "max_retries": 2,
            "retry_policy": policy,
            **self.options(server, tmp),
        }


def _manifest(tmp: Path, name: str, text: str) -> Path:
    path = tmp / f"{name}.yaml"
    path.write_text(text)
    return path


CASES = [
    Case(
        "bearer",
        "openai/gpt-4o",
        "openai",
        (KEY,),
        lambda s, t: {"api_key": KEY},
        lambda r: r.headers.get("authorization") == f"Bearer {KEY}",
    ),
    Case(
        "query",
        "qauth/gpt-4o",
        "openai",
        (QUERY_KEY,),
        lambda s, t: {"api_key": QUERY_KEY, "manifest": _manifest(t, "qauth", QUERY_MANIFEST)},
        lambda r: r.query.get("sig") == QUERY_KEY,
    ),
    Case(
        "upstream-gemini",
        "gem/gemini-2.5-flash",
        "gemini",
        (GEMINI_KEY,),
        lambda s, t: {"api_key": GEMINI_KEY, "manifest": _manifest(t, "gem", UPSTREAM_GEMINI)},
        lambda r: r.headers.get("x-goog-api-key") == GEMINI_KEY and not r.query.get("key"),
    ),
    Case(
        "custom-header",
        "hauth/gpt-4o",
        "openai",
        (CUSTOM_KEY,),
        lambda s, t: {"api_key": CUSTOM_KEY, "manifest": _manifest(t, "hauth", HEADER_MANIFEST)},
        lambda r: r.headers.get("x-custom-key") == CUSTOM_KEY,
    ),
    Case(
        "sigv4",
        f"bedrock/{CLAUDE}",
        "bedrock",
        (AWS_SECRET, AWS_SESSION),
        lambda s, t: {},
        lambda r: r.headers.get("x-amz-security-token") == AWS_SESSION,
    ),
    Case(
        "default-headers",
        "openai/gpt-4o",
        "openai",
        (TOKEN, BEARER),
        lambda s, t: {
            "default_headers": {"X-Api-Token": TOKEN, "Authorization": f"Bearer {BEARER}"}
        },
        lambda r: r.headers.get("x-api-token") == TOKEN,
    ),
]


class Collect(logging.Handler):
    """Keeps each record formatted when emitted, and the record to format it again later."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        self.records.append(record)

    def everything(self) -> list[str]:
        later = [self.format(r) for r in self.records]
        return self.lines + later + [repr(r.args) for r in self.records]


@pytest.fixture
def logs() -> Iterator[Collect]:
    handler = Collect()
    names = ["", "ailib", "httpx", "httpcore", "hpack", "httpx2", "httpcore2", "aiohttp"]
    levels = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.DEBUG)
    logging.getLogger().addHandler(handler)
    try:
        yield handler
    finally:
        logging.getLogger().removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


@pytest.fixture(autouse=True)
def credential_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", AWS_SESSION)
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    for name in ("AWS_BEARER_TOKEN_BEDROCK", "AWS_DEFAULT_REGION", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def echoes(case: Case) -> tuple[Scenario, Scenario]:
    """An HTTP error and an in-stream error whose messages echo the keys, whole and elided."""
    said = " ".join(
        f"Incorrect API key provided: {s[:10]}****{s[-4:]} (full: {s})." for s in case.secrets
    )
    status = 403 if case.dialect == "bedrock" else 401
    body: dict[str, Any] = {"message": said} if case.dialect == "bedrock" else {}
    if case.dialect == "gemini":
        body = {"error": {"code": 401, "message": said, "status": "UNAUTHENTICATED"}}
    elif not body:
        body = {
            "error": {"message": said, "type": "invalid_request_error", "code": "invalid_api_key"}
        }
    return Scenario(status=status, error_body=body), Scenario(stream_error={"message": said})


def error_views(err: BaseException) -> list[str]:
    assert isinstance(err, AiLibError)
    return [str(err), repr(err), err.message, repr(err.args), repr(err.body), repr(vars(err))]


def object_views(*objects: object) -> list[str]:
    shown = []
    for obj in objects:
        shown += [repr(obj), str(obj)]
        if hasattr(obj, "__dict__"):
            shown.append(repr(vars(obj)))
    return shown


def assert_hidden(case: Case, shown: list[str], logs: Collect, server: MockServer) -> None:
    assert server.requests and all(case.sent(r) for r in server.requests), case.name
    if os.environ.get("AI_LIB_TRANSPORT", "httpx").strip() in ("", "httpx"):
        # httpx logs each request; httpx2 and aiohttp don't (what follows still holds)
        assert any("HTTP Request: POST" in line for line in logs.lines)  # the run was logged
    text = "\n".join(shown + logs.everything())
    for secret in case.secrets:
        assert secret not in text, f"{case.name}: secret leaked"
        assert secret[:10] not in text, f"{case.name}: an echoed fragment leaked"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_keys_never_leak_sync(
    case: Case, mock_server: MockServer, logs: Collect, tmp_path: Path
) -> None:
    error, stream_error = echoes(case)
    shown: list[str] = []
    with AiClient.create(case.model, **case.create_kwargs(mock_server, tmp_path)) as client:
        engine = client.provider
        shown += object_views(client, engine, engine._headers)
        mock_server.push(Scenario(text="hello"))
        builder = client.chat().user("hi")
        shown += object_views(builder, engine.prepare(builder.build()))
        resp = builder.execute()
        assert resp.content == "hello"
        shown += object_views(resp)
        with client.chat().user("stream me").stream() as stream:
            shown += object_views(stream)
            assert "".join(e.as_content_delta.content for e in stream if e.is_content_delta)
        mock_server.push(Scenario(status=429, retry_after=0.01), Scenario(text="after retry"))
        assert client.chat().user("again").execute().content == "after retry"
        mock_server.push(error)
        with pytest.raises(RemoteError) as info:
            client.chat().user("bad key").execute()
        shown += error_views(info.value)
        mock_server.push(stream_error)
        with pytest.raises(AiLibError) as info, client.chat().user("stream error").stream() as s:
            for _ in s:
                pass
        shown += error_views(info.value)
    assert_hidden(case, shown, logs, mock_server)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_keys_never_leak_async(
    case: Case, mock_server: MockServer, logs: Collect, tmp_path: Path
) -> None:
    error, stream_error = echoes(case)
    shown: list[str] = []
    client = await AsyncAiClient.create(case.model, **case.create_kwargs(mock_server, tmp_path))
    async with client:
        engine = client.provider
        shown += object_views(client, engine, engine._headers)
        mock_server.push(Scenario(text="hello"))
        builder = client.chat().user("hi")
        shown += object_views(builder, engine.prepare(builder.build()))
        resp = await builder.execute()
        assert resp.content == "hello"
        shown += object_views(resp)
        async with client.chat().user("stream me").stream() as stream:
            shown += object_views(stream)
            parts = [e.as_content_delta.content async for e in stream if e.is_content_delta]
            assert "".join(parts)
        mock_server.push(Scenario(status=429, retry_after=0.01), Scenario(text="after retry"))
        assert (await client.chat().user("again").execute()).content == "after retry"
        mock_server.push(error)
        with pytest.raises(RemoteError) as info:
            await client.chat().user("bad key").execute()
        shown += error_views(info.value)
        mock_server.push(stream_error)
        with pytest.raises(AiLibError) as info:
            async with client.chat().user("stream error").stream() as stream:
                async for _ in stream:
                    pass
        shown += error_views(info.value)
    assert_hidden(case, shown, logs, mock_server)
