"""Documents in every dialect, missing keys refused before sending, own auth names masked."""

from __future__ import annotations

import pytest

from ailib import AiClient, AsyncAiClient, ContentBlock, Message
from ailib.dialects import ChatRequest, get_dialect
from ailib.errors import AiLibError, InvalidRequestError, ProtocolError
from ailib.providers.openai import SPEC as OPENAI
from ailib.runtime.request import Secret, auth_headers

PDF = b"%PDF-1.4\n"
B64 = "JVBERi0xLjQK"


def _encode(dialect: str, block: ContentBlock) -> dict:
    return get_dialect(dialect)(
        ChatRequest("m", [Message.user([ContentBlock.text("Sum up"), block])])
    )


def test_document_base64_in_each_dialect() -> None:
    doc = ContentBlock.document(PDF, "application/pdf", title="report.pdf")
    assert doc.data == B64
    anthropic = _encode("anthropic_messages", doc)["messages"][0]["content"][1]
    assert anthropic == {
        "type": "document",
        "source": {"type": "base64", "media_type": "application/pdf", "data": B64},
        "title": "report.pdf",
    }
    gemini = _encode("gemini_generate", doc)["contents"][0]["parts"][1]
    assert gemini == {"inlineData": {"mimeType": "application/pdf", "data": B64}}
    openai = _encode("openai_chat", doc)["messages"][0]["content"][1]
    assert openai == {
        "type": "file",
        "file": {"filename": "report.pdf", "file_data": f"data:application/pdf;base64,{B64}"},
    }


def test_document_by_url_and_unfetchable_references() -> None:
    web = ContentBlock.document(url="https://example.com/a.pdf")
    source = _encode("anthropic_messages", web)["messages"][0]["content"][1]["source"]
    assert source == {"type": "url", "url": "https://example.com/a.pdf"}
    part = _encode("gemini_generate", web)["contents"][0]["parts"][1]
    assert part == {
        "fileData": {"mimeType": "application/pdf", "fileUri": "https://example.com/a.pdf"}
    }
    ref = ContentBlock.document(url="upload://abc")
    for dialect in ("anthropic_messages", "gemini_generate", "openai_chat"):
        with pytest.raises(ProtocolError):
            _encode(dialect, ref)
    with pytest.raises(InvalidRequestError):
        ContentBlock.document()


def test_unknown_block_types_are_refused_not_dropped() -> None:
    odd = ContentBlock("hologram", data="x")
    for dialect in ("anthropic_messages", "gemini_generate", "openai_chat"):
        with pytest.raises(ProtocolError, match="hologram"):
            _encode(dialect, odd)


def test_missing_key_is_refused_before_sending_sync(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    client = AiClient.create("openai/gpt-4o", base_url="http://127.0.0.1:9/v1")
    with client, pytest.raises(AiLibError) as info:
        client.chat().user("hi").execute()
    assert info.value.code == "E1002" and "OPENAI_API_KEY" in str(info.value)


async def test_missing_key_is_refused_before_sending_async(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    client = await AsyncAiClient.create(
        "anthropic/claude-sonnet-4-5", base_url="http://127.0.0.1:9/v1"
    )
    async with client:
        with pytest.raises(AiLibError) as info:
            await client.chat().user("hi").execute()
    assert info.value.code == "E1002" and "ANTHROPIC_API_KEY" in str(info.value)


def test_manifest_own_credential_names_are_masked() -> None:
    for auth in (
        {"type": "custom_header", "header": "X-Provider-Token"},
        {"type": "query_param", "param": "api_token"},
    ):
        manifest = OPENAI.manifest.with_overrides({"endpoint": {"auth": auth}}, "test")
        spec = type(OPENAI).interpreted(manifest)
        headers, query = auth_headers(spec, Secret("sk-very-secret"))
        assert "sk-very-secret" not in repr(headers) + str(headers) + repr(query) + str(query)
        assert "sk-very-secret" in list(headers.values()) + list(query.values())
