"""Review of items 9, 15-18: the holes a careless user or an attacker found, closed.

* A ``base_url`` with a query or fragment (the chat path would land inside the query) or a
  host httpx cannot encode is refused at ``create()``; no message shows a query (it may
  hold a key).
* A key pasted into a manifest's ``token_env`` (instead of the variable's name) is a
  ``ManifestError`` that never shows it; a schema error inside ``auth`` hides the value.
* ``localhost.<anything>`` is not loopback: credentials over plain http are refused.
* The log filter also masks a record's traceback text and covers the ``ailib`` logger;
  every logger ailib creates is one the filter is installed on.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ailib import AiClient, AsyncAiClient
from ailib.errors import (
    AiLibError,
    ConfigurationError,
    InsecureTransportError,
    ManifestError,
    StreamDecodeError,
)
from ailib.runtime.redact import HTTP_LOGGERS, Secret, redact_text, register

KEY = "sk-review-Key0123456789abcdefWXYZ"
SRC = Path(__file__).resolve().parents[2] / "src" / "ailib"


@pytest.fixture(autouse=True)
def isolated_search_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AI_PROTOCOL_PATH", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


REFUSED = [
    (f"https://h.example/v1?key={KEY}", "query"),
    (f"https://h.example/v1?x=1&k={KEY}", "query"),
    (f"https://h.example/v1#{KEY}", "fragment"),
    ("https://h.example/v1?", "query"),
    ("https://host\u200b.example/v1", "cannot be encoded"),
    ("https://xn--zz.example/v1", "cannot be encoded"),
]


@pytest.mark.parametrize(("url", "said"), REFUSED)
def test_base_url_query_fragment_and_bad_host_refused_sync(url: str, said: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        AiClient.create("openai/gpt-4o", api_key=KEY, base_url=url)
    assert said in str(info.value) and KEY not in str(info.value)


@pytest.mark.parametrize(("url", "said"), REFUSED)
async def test_base_url_query_fragment_and_bad_host_refused_async(url: str, said: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        await AsyncAiClient.create("openai/gpt-4o", api_key=KEY, base_url=url)
    assert said in str(info.value) and KEY not in str(info.value)


ACCEPTED = ["https://[::1]:8080/v1", "HTTPS://Host.example/v1", "https://bücher.example/v1"]


@pytest.mark.parametrize("url", ACCEPTED)
def test_valid_unusual_base_urls_accepted_sync(url: str) -> None:
    AiClient.create("openai/gpt-4o", api_key=KEY, base_url=url).close()


@pytest.mark.parametrize("url", ACCEPTED)
async def test_valid_unusual_base_urls_accepted_async(url: str) -> None:
    await (await AsyncAiClient.create("openai/gpt-4o", api_key=KEY, base_url=url)).aclose()


def test_missing_slash_hint_keeps_one_scheme() -> None:
    with pytest.raises(ConfigurationError) as info:
        AiClient.create("openai/gpt-4o", api_key=KEY, base_url="https:/api.example.com/v1")
    assert "'https://api.example.com/v1'" in str(info.value)


PASTED = """\
id: pasted
extends: openai
protocol_version: '2.0'
endpoint:
  base_url: https://api.example.com/v1
  auth: {{type: bearer, token_env: {token_env}}}
"""
IN_AUTH = """\
id: inauth
extends: openai
protocol_version: '2.0'
endpoint:
  base_url: https://api.example.com/v1
  auth:
    type: bearer
    extra_headers: [{{name: X-Api-Key, value: [{key}]}}]
"""


@pytest.mark.parametrize("token_env", [KEY, f"[OPENAI_API_KEY, {KEY}]"])
def test_key_pasted_into_token_env_is_refused_unshown_sync(tmp_path: Path, token_env: str) -> None:
    path = tmp_path / "pasted.yaml"
    path.write_text(PASTED.format(token_env=token_env))
    with pytest.raises(ManifestError) as info:
        AiClient.create("pasted/gpt-4o", manifest=path)
    assert "token_env" in str(info.value) and KEY not in str(info.value)


@pytest.mark.parametrize("token_env", [KEY, f"[OPENAI_API_KEY, {KEY}]"])
async def test_key_pasted_into_token_env_is_refused_unshown_async(
    tmp_path: Path, token_env: str
) -> None:
    path = tmp_path / "pasted.yaml"
    path.write_text(PASTED.format(token_env=token_env))
    with pytest.raises(ManifestError) as info:
        await AsyncAiClient.create("pasted/gpt-4o", manifest=path)
    assert "token_env" in str(info.value) and KEY not in str(info.value)


def test_schema_error_in_auth_hides_the_value(tmp_path: Path) -> None:
    path = tmp_path / "inauth.yaml"
    path.write_text(IN_AUTH.format(key=KEY))
    with pytest.raises(ManifestError) as info:
        AiClient.create("inauth/gpt-4o", manifest=path)
    assert "extra_headers" in str(info.value) and KEY not in str(info.value)


LOOKALIKES = ["http://localhost.attacker.example/v1", "http://127.0.0.1.nip.io/v1"]


@pytest.mark.parametrize("url", LOOKALIKES)
def test_loopback_lookalike_hosts_are_remote_sync(url: str) -> None:
    with pytest.raises(InsecureTransportError):
        AiClient.create("openai/gpt-4o", api_key=KEY, base_url=url)


@pytest.mark.parametrize("url", LOOKALIKES)
async def test_loopback_lookalike_hosts_are_remote_async(url: str) -> None:
    with pytest.raises(InsecureTransportError):
        await AsyncAiClient.create("openai/gpt-4o", api_key=KEY, base_url=url)


@pytest.fixture
def root_records() -> Iterator[list[str]]:
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Keep(logging.DEBUG)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield lines
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.mark.parametrize("name", ["ailib", "httpx"])
def test_log_filter_masks_message_and_traceback(name: str, root_records: list[str]) -> None:
    secret = Secret(KEY)
    register([secret])
    logger = logging.getLogger(name)
    logger.info("sending %s", KEY)
    logger.info(f"dict args %(k)s {KEY[:12]}", {"k": KEY})
    try:
        raise ValueError(f"echoed {KEY}")
    except ValueError:
        logger.exception("failed")
    text = "\n".join(root_records)
    assert "ValueError: echoed ***" in text
    assert KEY not in text and KEY[:10] not in text
    del secret


def test_every_ailib_logger_is_filtered() -> None:
    """A module logging under a new name would escape the filter: none may."""
    names = set()
    for path in SRC.rglob("*.py"):
        names.update(re.findall(r"getLogger\(\s*[\"']([^\"']+)[\"']", path.read_text()))
        assert "getLogger(__name__)" not in path.read_text(), path
    assert names and names <= set(HTTP_LOGGERS), names - set(HTTP_LOGGERS)


SHORT_QUERY = """\
id: shortq
extends: openai
protocol_version: '2.0'
endpoint:
  base_url: https://api.example.com/v1
  auth: {type: query_param, param: zq, token_env: SHORTQ_TEST_KEY}
"""
SHORT_KEY = "Q7zQ"  # too short to be searched for in text: masked by its parameter's name


def _answer(request: httpx.Request) -> httpx.Response:
    message = {"role": "assistant", "content": "ok"}
    return httpx.Response(200, json={"choices": [{"message": message, "finish_reason": "stop"}]})


def test_short_query_key_is_masked_by_its_parameter_name_sync(
    tmp_path: Path, root_records: list[str]
) -> None:
    path = tmp_path / "shortq.yaml"
    path.write_text(SHORT_QUERY)
    http = httpx.Client(transport=httpx.MockTransport(_answer))
    with AiClient.create("shortq/m", manifest=path, api_key=SHORT_KEY, http_client=http) as client:
        assert client.chat().user("hi").execute().content == "ok"
        shown = repr(client.provider.prepare(client.chat().user("hi").build()))
    logged = "\n".join(line for line in root_records if "HTTP Request" in line)
    assert "zq=***" in logged and SHORT_KEY not in logged + shown


async def test_short_query_key_is_masked_by_its_parameter_name_async(
    tmp_path: Path, root_records: list[str]
) -> None:
    path = tmp_path / "shortq.yaml"
    path.write_text(SHORT_QUERY)
    http = httpx.AsyncClient(transport=httpx.MockTransport(_answer))
    client = await AsyncAiClient.create(
        "shortq/m", manifest=path, api_key=SHORT_KEY, http_client=http
    )
    async with client:
        assert (await client.chat().user("hi").execute()).content == "ok"
        shown = repr(client.provider.prepare(client.chat().user("hi").build()))
    logged = "\n".join(line for line in root_records if "HTTP Request" in line)
    assert "zq=***" in logged and SHORT_KEY not in logged + shown


def test_an_echoed_key_is_redacted_in_any_percent_encoding() -> None:
    key = "abcd+efgh/ijkl mnop"
    for echoed in ("abcd%2befgh%2fijkl%20mnop", "abcd%2Befgh%2Fijkl+mnop", key):
        assert redact_text(f"bad key {echoed}!", [key]) == "bad key ***!"


ECHO_KEY = "sk-EchoProbeKey0123456789abcdefXYZ"
#: (stream?, content type, body): servers that echo the key in what is not an error object
ECHOING_BODIES = {
    "html-to-stream": (True, "text/html", f"<html>bad key {ECHO_KEY}</html>"),
    "bad-sse-frame": (True, "text/event-stream", f"data: {{not json {ECHO_KEY}\n\n"),
    "not-json": (False, "application/json", f"oops {ECHO_KEY}"),
    "not-json-utf8": (False, "application/json", f"\u00e9chec \u2603 {ECHO_KEY}"),
    "no-response": (False, "application/json", f'{{"weird": "key {ECHO_KEY}"}}'),
}


def _echoing(case: str) -> httpx.MockTransport:
    _, kind, body = ECHOING_BODIES[case]
    return httpx.MockTransport(
        lambda request: httpx.Response(200, headers={"content-type": kind}, content=body.encode())
    )


def _error_views(err: BaseException) -> str:
    return str(err) + repr(err) + repr(vars(err)) + repr(err.args)


@pytest.mark.parametrize("case", sorted(ECHOING_BODIES))
def test_decode_errors_do_not_keep_an_echoed_key_sync(case: str) -> None:
    http = httpx.Client(transport=_echoing(case))
    client = AiClient.create("openai/gpt-4o", api_key=ECHO_KEY, http_client=http, max_retries=0)
    with pytest.raises(AiLibError) as info:
        if ECHOING_BODIES[case][0]:
            with client.chat().user("hi").stream() as stream:
                for _ in stream:
                    pass
        else:
            client.chat().user("hi").execute()
    assert isinstance(info.value, StreamDecodeError), info.value
    assert ECHO_KEY[:10] not in _error_views(info.value)


@pytest.mark.parametrize("case", sorted(ECHOING_BODIES))
async def test_decode_errors_do_not_keep_an_echoed_key_async(case: str) -> None:
    http = httpx.AsyncClient(transport=_echoing(case))
    client = await AsyncAiClient.create(
        "openai/gpt-4o", api_key=ECHO_KEY, http_client=http, max_retries=0
    )
    with pytest.raises(AiLibError) as info:
        if ECHOING_BODIES[case][0]:
            async with client.chat().user("hi").stream() as stream:
                async for _ in stream:
                    pass
        else:
            await client.chat().user("hi").execute()
    assert isinstance(info.value, StreamDecodeError), info.value
    assert ECHO_KEY[:10] not in _error_views(info.value)


CLIENT_KEY = "sk-ClientHeaderKey0123456789abcdef"
CLIENT_CREDENTIALS: dict[str, dict[str, Any]] = {
    "headers": {"headers": {"Authorization": f"Bearer {CLIENT_KEY}"}},
    "custom-header": {"headers": {"X-Api-Key": CLIENT_KEY}},
    "auth": {"auth": ("user", CLIENT_KEY)},
}


def _echo_key(request: httpx.Request) -> httpx.Response:
    return httpx.Response(401, json={"error": {"message": f"bad {CLIENT_KEY}", "type": "x"}})


@pytest.mark.parametrize("how", sorted(CLIENT_CREDENTIALS))
def test_credentials_on_the_users_http_client_are_guarded_sync(how: str) -> None:
    options = CLIENT_CREDENTIALS[how]
    http = httpx.Client(transport=httpx.MockTransport(_echo_key), **options)
    with pytest.raises(InsecureTransportError):
        AiClient.create("openai/gpt-4o", base_url="http://10.9.9.9/v1", http_client=http)
    if how == "auth":
        return  # httpx encodes auth= itself: only its headers' values can be redacted
    client = AiClient.create(
        "openai/gpt-4o", base_url="https://api.example.com/v1", http_client=http
    )
    with pytest.raises(AiLibError) as info:
        client.chat().user("hi").execute()
    assert CLIENT_KEY[:10] not in str(info.value) + repr(vars(info.value))


@pytest.mark.parametrize("how", sorted(CLIENT_CREDENTIALS))
async def test_credentials_on_the_users_http_client_are_guarded_async(how: str) -> None:
    options = CLIENT_CREDENTIALS[how]
    http = httpx.AsyncClient(transport=httpx.MockTransport(_echo_key), **options)
    with pytest.raises(InsecureTransportError):
        await AsyncAiClient.create("openai/gpt-4o", base_url="http://10.9.9.9/v1", http_client=http)
    if how == "auth":
        return  # httpx encodes auth= itself: only its headers' values can be redacted
    client = await AsyncAiClient.create(
        "openai/gpt-4o", base_url="https://api.example.com/v1", http_client=http
    )
    with pytest.raises(AiLibError) as info:
        await client.chat().user("hi").execute()
    assert CLIENT_KEY[:10] not in str(info.value) + repr(vars(info.value))


def test_no_ailib_error_message_shows_a_live_key() -> None:
    """Defence in depth: whatever text an error is built from, a live key is not kept."""
    secret = Secret(ECHO_KEY)
    register([secret])
    for err in (
        AiLibError(f"server said {ECHO_KEY}"),
        ManifestError(f"odd value {ECHO_KEY}", path="x.yaml"),
        StreamDecodeError("bad frame", offset=3, data=f"\u00e9 {ECHO_KEY}".encode()),
    ):
        assert ECHO_KEY not in str(err) + repr(err) + repr(err.args) + repr(vars(err))
    del secret
