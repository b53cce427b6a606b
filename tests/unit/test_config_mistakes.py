"""Configuration mistakes fail at ``create()`` with a typed error, sync and async.

A ``base_url`` without a scheme, with a non-HTTP scheme, without a host, with whitespace
or with a password is a ``ConfigurationError`` (E1001) naming the value and what is
expected, raised before any request by every way in (``AiClient.create``,
``EmbeddingClient.create``, the typed provider constructors) and for a manifest's own
base URL too. ``manifest_paths="dir"`` is one path. A connection error names the host and
port that were tried.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from ailib import AiClient, AsyncAiClient, Message
from ailib.embeddings import AsyncEmbeddingClient, EmbeddingClient
from ailib.errors import ConfigurationError, InvalidRequestError, ProtocolError, TransportError
from ailib.providers.openai import AsyncOpenAI, OpenAI
from ailib.runtime.create_args import host_and_port, manifest_path_list

KEY = "sk-test-0123456789abcdef"
PASSWORD = "hunter2-secret-pw"

BAD_URLS: list[tuple[object, str]] = [  # (base_url, a fragment the message must hold)
    ("api.openai.com/v1", "has no scheme"),
    ("localhost:8080", "has no scheme"),
    ("ftp://files.example.com/v1", "'ftp://'"),
    ("file:///etc/passwd", "'file://'"),
    ("ws://127.0.0.1:8080/v1", "'ws://'"),
    ("https://", "no valid host"),
    ("https:///v1", "no valid host"),
    ("http://:8080/v1", "no valid host"),
    (" https://api.openai.com/v1", "whitespace"),
    ("https://api.openai.com/v1\n", "whitespace"),
    ("https://api.openai .com/v1", "whitespace"),
    ("https://api.openai.com:http/v1", "not a valid URL"),
    (f"https://user:{PASSWORD}@api.example.com/v1", "user or password"),
    ("", "is empty"),
    (b"https://api.openai.com/v1", "is a bytes"),
]


@pytest.fixture(autouse=True)
def isolated_search_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AI_PROTOCOL_PATH", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


class Recorder:
    """An httpx transport that counts requests: configuration errors send none."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(500)


def check_refusal(err: ConfigurationError, url: object, fragment: str) -> None:
    text = str(err)
    assert isinstance(err, InvalidRequestError) and isinstance(err, ProtocolError)
    assert err.code == "E1001" and err.name == "invalid_request"
    assert fragment in text, text
    assert PASSWORD not in text and PASSWORD not in repr(err)
    if isinstance(url, str) and url.strip() and PASSWORD not in url:
        assert repr(url) in text or url.strip() in text  # the message names the bad value
    assert "http://" in text or "https://" in text or "remove it" in text  # what is expected


# ---- base_url: every way in -----------------------------------------------------------


@pytest.mark.parametrize(("url", "fragment"), BAD_URLS)
def test_bad_base_url_fails_at_create_sync(url: object, fragment: str) -> None:
    seen = Recorder()
    with httpx.Client(transport=httpx.MockTransport(seen)) as http:
        makers: list[Callable[[], Any]] = [
            lambda: AiClient.create("openai/gpt-4o", api_key=KEY, base_url=url, http_client=http),  # type: ignore[arg-type]
            lambda: EmbeddingClient.create(
                "openai/text-embedding-3-small",
                api_key=KEY,
                base_url=url,
                http_client=http,  # type: ignore[arg-type]
            ),
            lambda: OpenAI(api_key=KEY, base_url=url, http_client=http),  # type: ignore[arg-type]
        ]
        for make in makers:
            with pytest.raises(ConfigurationError) as info:
                make()
            check_refusal(info.value, url, fragment)
    assert seen.requests == []


@pytest.mark.parametrize(("url", "fragment"), BAD_URLS)
async def test_bad_base_url_fails_at_create_async(url: object, fragment: str) -> None:
    seen = Recorder()
    async with httpx.AsyncClient(transport=httpx.MockTransport(seen)) as http:
        with pytest.raises(ConfigurationError) as info:
            await AsyncAiClient.create("openai/gpt-4o", api_key=KEY, base_url=url, http_client=http)  # type: ignore[arg-type]
        check_refusal(info.value, url, fragment)
        with pytest.raises(ConfigurationError) as info:
            await AsyncEmbeddingClient.create(
                "openai/text-embedding-3-small",
                api_key=KEY,
                base_url=url,
                http_client=http,  # type: ignore[arg-type]
            )
        check_refusal(info.value, url, fragment)
        with pytest.raises(ConfigurationError) as info:
            AsyncOpenAI(api_key=KEY, base_url=url, http_client=http)  # type: ignore[arg-type]
        check_refusal(info.value, url, fragment)
    assert seen.requests == []


def test_no_scheme_message_suggests_the_url() -> None:
    with pytest.raises(ConfigurationError) as info:
        AiClient.create("openai/gpt-4o", api_key=KEY, base_url="localhost:8080")
    assert "'http://localhost:8080'" in str(info.value)
    with pytest.raises(ConfigurationError) as info:
        AiClient.create("openai/gpt-4o", api_key=KEY, base_url="api.openai.com/v1")
    assert "'https://api.openai.com/v1'" in str(info.value)


@pytest.mark.parametrize(
    "url", ["https://api.example.com/v1/", "http://127.0.0.1:8080", "HTTPS://API.EXAMPLE.COM"]
)
async def test_good_base_urls_are_kept(url: str) -> None:
    with OpenAI(api_key=KEY, base_url=url) as provider:
        assert provider.base_url == url.rstrip("/")
    async with AsyncOpenAI(api_key=KEY, base_url=url) as aprovider:
        assert aprovider.base_url == url.rstrip("/")


# ---- the manifest's own base_url ------------------------------------------------------


def overlay_dir(tmp_path: Path, base_url: str) -> Path:
    folder = tmp_path / "manifests"
    folder.mkdir(exist_ok=True)
    (folder / "openai.yaml").write_text(f"endpoint:\n  base_url: {base_url}\n")
    return folder


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("ftp://files.example.com/v1", "'ftp://'"),
        ("api.example.com/v1", "has no scheme"),
        (f"https://admin:{PASSWORD}@api.example.com/v1", "user or password"),
    ],
)
async def test_manifest_base_url_is_checked(tmp_path: Path, url: str, fragment: str) -> None:
    folder = overlay_dir(tmp_path, url)
    with pytest.raises(ConfigurationError) as info:
        AiClient.create("openai/gpt-4o", api_key=KEY, manifest_paths=[folder])
    check_refusal(info.value, url, fragment)
    assert "manifest 'openai'" in str(info.value)
    with pytest.raises(ConfigurationError) as info:
        await AsyncAiClient.create("openai/gpt-4o", api_key=KEY, manifest_paths=[folder])
    check_refusal(info.value, url, fragment)


async def test_unfilled_region_names_its_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    # azure-openai's base URL is https://{region}.openai.azure.com, the region from the env
    monkeypatch.delenv("AZURE_OPENAI_RESOURCE", raising=False)
    with pytest.raises(ConfigurationError) as info:
        AiClient.create("azure-openai/my-deployment", api_key=KEY)
    assert "AZURE_OPENAI_RESOURCE" in str(info.value) and "base_url=" in str(info.value)
    with pytest.raises(ConfigurationError):
        await AsyncAiClient.create("azure-openai/my-deployment", api_key=KEY)
    monkeypatch.setenv("AZURE_OPENAI_RESOURCE", "myres")
    with AiClient.create("azure-openai/my-deployment", api_key=KEY) as client:
        assert client.provider.base_url == "https://myres.openai.azure.com"


# ---- manifest_paths: one str or path is one path ----------------------------------------


@pytest.mark.parametrize("as_type", [str, Path])
async def test_manifest_paths_single_path(tmp_path: Path, as_type: Callable[[Path], Any]) -> None:
    folder = overlay_dir(tmp_path, "http://127.0.0.1:8123/v1")
    with AiClient.create("openai/gpt-4o", api_key=KEY, manifest_paths=as_type(folder)) as client:
        assert client.provider.base_url == "http://127.0.0.1:8123/v1"
    async with await AsyncAiClient.create(
        "openai/gpt-4o", api_key=KEY, manifest_paths=as_type(folder)
    ) as aclient:
        assert aclient.provider.base_url == "http://127.0.0.1:8123/v1"
    with EmbeddingClient.create(
        "openai/text-embedding-3-small", api_key=KEY, manifest_paths=as_type(folder)
    ) as embed:
        assert embed.provider.base_url == "http://127.0.0.1:8123/v1"


def test_manifest_path_list_shapes(tmp_path: Path) -> None:
    assert manifest_path_list("dir") == ("dir",)
    assert manifest_path_list(tmp_path) == (tmp_path,)
    assert manifest_path_list(["a", tmp_path]) == ("a", tmp_path)
    assert manifest_path_list(()) == () and manifest_path_list(None) == ()
    for bad in (b"dir", 3, ["a", 3]):
        with pytest.raises(ConfigurationError) as info:
            manifest_path_list(bad)  # type: ignore[arg-type]
        assert "manifest_paths" in str(info.value)


# ---- connection errors name host and port ---------------------------------------------


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_error_names_host_and_port_sync() -> None:
    port = closed_port()
    base = f"http://127.0.0.1:{port}/v1"
    client = AiClient.create("openai/gpt-4o", api_key=KEY, base_url=base, max_retries=0)
    with client, pytest.raises(TransportError) as info:
        client.chat().user("hi").execute()
    assert info.value.code == "E3001"
    assert f"connection to 127.0.0.1:{port} failed" in str(info.value)
    assert KEY not in str(info.value)


async def test_connection_error_names_host_and_port_async() -> None:
    port = closed_port()
    base = f"http://127.0.0.1:{port}/v1"
    async with await AsyncAiClient.create(
        "openai/gpt-4o", api_key=KEY, base_url=base, max_retries=0
    ) as client:
        with pytest.raises(TransportError) as info:
            await client.chat().messages([Message.user("hi")]).execute()
    assert f"connection to 127.0.0.1:{port} failed" in str(info.value)


def test_host_and_port_keeps_the_query_out() -> None:
    assert host_and_port("http://127.0.0.1:9/v1/x?key=AIzaSecret123") == "127.0.0.1:9"
    assert host_and_port(httpx.URL("https://api.openai.com/v1?key=s")) == "api.openai.com:443"
    assert host_and_port("http://[::1]/v1") == "[::1]:80"
