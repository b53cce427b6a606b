"""TokenCounter: exact OpenAI counts with tiktoken (offline, from TIKTOKEN_CACHE_DIR), the
estimate elsewhere, and the typed errors when exact counting is not possible."""

from __future__ import annotations

import base64
import gzip
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from ailib.errors import InvalidRequestError, TokenizerUnavailableError
from ailib.tokens import TokenCounter, _tiktoken, encoding_for_model, estimate_text_tokens
from ailib.tokens.images import image_size, openai_image_tokens
from ailib.tokens.tiktoken_cache import main as seed_main
from ailib.types.messages import ContentBlock, Message
from ailib.types.tools import ToolCall, ToolDefinition

tiktoken = pytest.importorskip("tiktoken")  # the `tokens` extra; in `dev`

sys.path.insert(0, str(Path(__file__).parent))
import tokens_corpus  # noqa: E402


def test_encodings_by_model() -> None:
    assert encoding_for_model("gpt-4o") == "o200k_base"
    assert encoding_for_model("openai/gpt-4o-2024-08-06") == "o200k_base"
    assert encoding_for_model("gpt-5-mini") == encoding_for_model("o3") == "o200k_base"
    assert encoding_for_model("gpt-4.1-nano") == encoding_for_model("o4-mini") == "o200k_base"
    assert encoding_for_model("gpt-4") == encoding_for_model("gpt-3.5-turbo") == "cl100k_base"
    assert encoding_for_model("text-embedding-3-small") == "cl100k_base"
    assert encoding_for_model("gpt-4o-mini") == "o200k_base"
    assert encoding_for_model("claude-sonnet-4-5") is None
    assert encoding_for_model("o1x") is None
    assert encoding_for_model("gpt-35-turbo") == "cl100k_base"  # Azure's spelling
    assert encoding_for_model("ft:gpt-4o-mini-2024-07-18:acme::9xYz") == "o200k_base"
    assert encoding_for_model("ft:gpt-3.5-turbo:acme::1") == "cl100k_base"
    assert encoding_for_model("azure-openai/gpt-35-turbo-16k") == "cl100k_base"


def test_seed_readme_example_is_exact() -> None:
    counter = TokenCounter.for_model("gpt-4o")
    assert counter.is_exact and counter.method == "tiktoken:o200k_base"
    assert counter.count("Hello, how are you?") == 6
    assert counter.count_messages([Message.user("Hi")]) == 8  # 3 + (3 + "user" + "Hi")
    messages = [Message.user("Hello!"), Message.assistant("Hi there!")]
    assert counter.count_messages(messages) == 3 + (3 + 1 + 2) + (3 + 1 + 3)
    assert TokenCounter.for_model("gpt-4").count("Hello, how are you?") == 6


def test_names_and_tool_calls_count() -> None:
    counter = TokenCounter.for_model("gpt-4o")
    plain = counter.count_messages([Message.user("Hi")])
    named = counter.count_messages([Message("user", "Hi", name="bob")])
    assert named == plain + 1 + counter.count("bob")
    call = ToolCall.from_raw("c1", "get_weather", {"city": "Paris"})
    with_call = counter.count_messages([Message.assistant("", [call])])
    expected = 3 + 3 + 1 + 4 + counter.count("get_weather") + counter.count('{"city": "Paris"}')
    assert with_call == expected


def test_tools_follow_openais_constants() -> None:
    counter = TokenCounter.for_model("gpt-4o")
    tool = ToolDefinition(
        "get_weather",
        "Get the weather.",
        {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name."},
                "unit": {"type": "string", "description": "", "enum": ["c", "f"]},
            },
        },
    )
    enc = tiktoken.get_encoding("o200k_base")
    n = lambda s: len(enc.encode(s))  # noqa: E731
    expected = 12 + 7 + n("get_weather:Get the weather") + 3
    expected += 3 + n("city:string:City name")
    expected += 3 + (-3) + (3 + n("c")) + (3 + n("f")) + n("unit:string:")
    assert counter.count_tools([tool]) == expected
    base = counter.count_messages([Message.user("Hi")])
    assert counter.count_messages([Message.user("Hi")], tools=[tool]) == base + expected
    assert TokenCounter.for_model("gpt-4").count_tools([tool]) > expected  # 10 per function


def test_images_by_size_and_detail() -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + (2048).to_bytes(4, "big")
    png += (4096).to_bytes(4, "big") + b"\x08\x02\x00\x00\x00"
    assert image_size(png) == (2048, 4096)
    assert openai_image_tokens("gpt-4o", 1024, 1024) == 765
    assert openai_image_tokens("gpt-4o", 2048, 4096) == 85 + 170 * 6  # 768x1536: 2x3 tiles
    assert openai_image_tokens("gpt-4o", 4096, 4096, "low") == 85
    assert openai_image_tokens("gpt-4o-mini", 512, 512) == 2833 + 5667
    counter = TokenCounter.for_model("gpt-4o")
    block = ContentBlock.image_base64(png, "image/png")
    assert counter.image_tokens(block) == 85 + 170 * 6
    assert counter.image_tokens(ContentBlock.image_url("https://x/y.png")) == 765  # size unknown


def test_recorded_openai_requests_count_exactly() -> None:
    """The documented formula against what OpenAI billed for recorded requests."""
    rows = {s.case_id: (s, n) for s, n in tokens_corpus.measure(exact=None)}
    for case_id in (
        "openai-chat-basic",
        "openai-chat-stream-logprobs",
        "openai-chat-stream-include-usage",
        "openai-tools-parallel",
        "openai-image-input",
        "openai-chat-json-mode",
    ):
        sample, counted = rows[case_id]
        bound = max(1, sample.input_tokens // 50)  # 2%: tool schemas are not documented fully
        assert abs(counted - sample.input_tokens) <= bound, (case_id, counted, sample.input_tokens)


def test_estimate_for_other_vendors_and_on_request() -> None:
    claude = TokenCounter.for_model("claude-sonnet-4-5")
    assert not claude.is_exact and claude.method == "estimate:anthropic"
    assert claude.count("Hello, how are you?") == estimate_text_tokens("Hello, how are you?")
    estimate = TokenCounter.for_model("gpt-4o", exact=False)
    assert not estimate.is_exact and estimate.count("Hello, how are you?") == 6
    with pytest.raises(TokenizerUnavailableError, match="count_tokens"):
        TokenCounter.for_model("claude-sonnet-4-5", exact=True)


def test_bad_input_is_refused_typed() -> None:
    counter = TokenCounter.for_model("gpt-4o")
    with pytest.raises(InvalidRequestError):
        counter.count(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError):
        counter.count_messages("Hi")  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError):
        TokenCounter.for_model("")


def test_offline_without_cached_files_names_tiktoken_cache_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import requests
    import tiktoken.load
    import tiktoken.registry

    def offline(blobpath: str) -> bytes:
        raise requests.exceptions.ConnectionError(f"cannot resolve host for {blobpath}")

    monkeypatch.setattr(tiktoken.load, "read_file", offline)
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})
    monkeypatch.setattr(_tiktoken, "_loaded", {})
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    with pytest.raises(TokenizerUnavailableError) as info:
        TokenCounter.for_model("gpt-4o", exact=True)
    assert "TIKTOKEN_CACHE_DIR" in str(info.value) and info.value.encoding == "o200k_base"
    assert info.value.code == "E1001" and not info.value.retryable
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_offline_the_default_counter_estimates_and_says_so_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import tiktoken.load
    import tiktoken.registry

    from ailib.tokens import counter as counter_module

    def offline(blobpath: str) -> bytes:
        raise OSError(f"cannot resolve host for {blobpath}")

    monkeypatch.setattr(tiktoken.load, "read_file", offline)
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})
    monkeypatch.setattr(_tiktoken, "_loaded", {})
    monkeypatch.setattr(counter_module, "_WARNED", set())
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    with caplog.at_level("WARNING", logger="ailib"):
        first = TokenCounter.for_model("gpt-4o")
        second = TokenCounter.for_model("openai/gpt-4o-mini")
    assert first.method == second.method == "estimate:openai" and not first.is_exact
    assert first.count_messages([Message.user("Hello there")]) > 0
    warnings = [r for r in caplog.records if "estimating token counts" in r.getMessage()]
    assert len(warnings) == 1 and "TIKTOKEN_CACHE_DIR" in warnings[0].getMessage()


def test_without_tiktoken_the_estimate_or_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tiktoken", None)  # import tiktoken -> ImportError
    monkeypatch.setattr(_tiktoken, "_loaded", {})
    counter = TokenCounter.for_model("gpt-4o")
    assert counter.method == "estimate:openai"
    with pytest.raises(TokenizerUnavailableError, match=r"ailib\[tokens\]"):
        TokenCounter.for_model("gpt-4o", exact=True)


def _cl100k_file() -> bytes:
    """The cl100k_base file rebuilt from the loaded encoding (what tiktoken downloads)."""
    ranks = tiktoken.get_encoding("cl100k_base")._mergeable_ranks
    return b"".join(
        base64.b64encode(token) + b" " + str(rank).encode() + b"\n"
        for token, rank in sorted(ranks.items(), key=lambda item: item[1])
    )


def test_seeding_a_cache_dir_makes_tiktoken_load_offline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    source = tmp_path / "wheel-data"
    source.mkdir()
    (source / "cl100k_base.tiktoken.gz").write_bytes(gzip.compress(_cl100k_file()))
    cache = tmp_path / "cache"
    assert seed_main(["--from", str(source), "--cache-dir", str(cache)]) == 0
    assert len(os.listdir(cache)) == 1
    import tiktoken.load
    import tiktoken.registry

    def offline(blobpath: str) -> bytes:
        raise OSError("offline")

    monkeypatch.setattr(tiktoken.load, "read_file", offline)
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
    assert len(tiktoken.get_encoding("cl100k_base").encode("Hello, how are you?")) == 6


def test_seeding_refuses_a_corrupt_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "cl100k_base.tiktoken").write_bytes(b"not the file\n")
    assert seed_main(["--from", str(source), "--cache-dir", str(tmp_path / "c")]) == 1
    assert "SHA-256" in capsys.readouterr().err


def _readme_block() -> str:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Tokens and cost", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None
    return match.group(1)


def test_readme_tokens_example_runs_as_shown(
    mock_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README block, with ``client`` an Anthropic client on the mock server (whose
    count_tokens answer is given here: the mock has no such endpoint)."""
    from ailib import AiClient

    forward = httpx.Client()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/messages/count_tokens"):
            assert json.loads(request.content)["messages"][0]["content"] in (
                "Hi",
                [{"type": "text", "text": "Hi"}],
            )
            return httpx.Response(200, json={"input_tokens": 8})
        sent = forward.send(
            forward.build_request(
                request.method, request.url, headers=request.headers, content=request.content
            )
        )
        return httpx.Response(sent.status_code, headers=sent.headers, content=sent.content)

    http = httpx.Client(transport=httpx.MockTransport(handler))
    base = mock_server.base_url("anthropic")
    with AiClient.create(
        "anthropic/claude-sonnet-4-5", api_key="k", base_url=base, http_client=http
    ) as client:
        namespace: dict[str, Any] = {"client": client}
        exec(compile(_readme_block(), "README.md", "exec"), namespace)
    out = capsys.readouterr().out
    assert "Estimated cost: $0.0075" in out and "Input: $0.0025/1K tokens, context 128000" in out
    assert namespace["counter"].count("Hello, how are you?") == 6
    assert namespace["resp"].cost is not None
    http.close()
    forward.close()


def test_gemini_image_tokens_match_what_gemini_billed() -> None:
    from ailib.tokens.images import gemini_image_tokens

    assert gemini_image_tokens(384, 384) == 258
    # the corpus's gemini-image-input: a 540x360 JPEG billed 1806 image tokens (7 tiles)
    assert gemini_image_tokens(540, 360) == 1806
    counter = TokenCounter.for_model("gemini-2.0-flash")
    rows = {s.case_id: (s, n) for s, n in tokens_corpus.measure(exact=False)}
    sample, counted = rows["gemini-image-input"]
    assert abs(counted - sample.input_tokens) <= sample.input_tokens // 50
    assert counter.method == "estimate:gemini"
