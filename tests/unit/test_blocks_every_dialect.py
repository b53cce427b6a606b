"""Every content block type × every wire dialect: carried to the wire, or refused.

The README promises that a block a provider cannot carry raises before sending and that
nothing is dropped silently. Each case encodes one message holding one block through a
dialect's encoder and requires exactly one of two outcomes: the block's payload (its
text, base64 bytes or URL) is in the encoded body, or a typed ``E1001`` error is raised.
A second table pins the blocks each dialect must carry (so refusing everything cannot
pass), and the new document encodings are checked field by field.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from ailib import ContentBlock, Message
from ailib.dialects import DIALECT_MODULES, ChatRequest, get_dialect
from ailib.dialects._blocks import document_filename
from ailib.dialects.bedrock_converse import document_name
from ailib.errors import AiLibError, ProtocolError
from ailib.types.messages import MessageRole

DIALECTS = sorted(DIALECT_MODULES)
PDF = b"%PDF-1.7\nailib-test-document\n"
PDF_B64 = base64.b64encode(PDF).decode("ascii")
PNG = b"\x89PNG\r\n\x1a\nailib-test-image"
PNG_B64 = base64.b64encode(PNG).decode("ascii")

# block kind -> (the block, the payload that must reach the wire if it is carried)
BLOCKS: dict[str, tuple[ContentBlock, str | tuple[str, ...]]] = {
    "text": (ContentBlock.text("describe-the-attachment"), "describe-the-attachment"),
    "image_base64": (ContentBlock.image_base64(PNG, "image/png"), PNG_B64),
    "image_data_url": (ContentBlock.image_url(f"data:image/png;base64,{PNG_B64}"), PNG_B64),
    "image_https": (ContentBlock.image_url("https://example.com/cat.png"), "example.com/cat.png"),
    "image_s3": (ContentBlock.image_url("s3://bucket/cat.png"), "s3://bucket/cat.png"),
    "document_pdf": (ContentBlock.document(PDF, "application/pdf", title="q3.pdf"), PDF_B64),
    "document_text": (
        ContentBlock.document(b"plain words", "text/plain"),
        ("cGxhaW4gd29yZHM=", "plain words"),  # base64, or as text (Anthropic)
    ),
    "document_https": (
        ContentBlock.document(url="https://example.com/q3.pdf"),
        "https://example.com/q3.pdf",
    ),
    "document_s3": (ContentBlock.document(url="s3://bucket/q3.pdf"), "s3://bucket/q3.pdf"),
    "document_ref": (ContentBlock.document(url="upload://file-123"), "upload://file-123"),
    "unknown": (ContentBlock("hologram", data="hologram-payload"), "hologram-payload"),
}

# What each dialect must put on the wire (every other user-message block may raise).
CARRIED = {
    "openai_chat": {"text", "image_base64", "image_data_url", "image_https", "document_pdf"},
    "openai_responses": {
        "text",
        "image_base64",
        "image_data_url",
        "image_https",
        "document_pdf",
        "document_text",
        "document_https",
    },
    "anthropic_messages": {
        "text",
        "image_base64",
        "image_data_url",
        "image_https",
        "document_pdf",
        "document_https",
    },
    "gemini_generate": {
        "text",
        "image_base64",
        "image_data_url",
        "image_https",
        "document_pdf",
        "document_https",
    },
    "cohere_v2": {"text", "image_base64", "image_data_url", "image_https"},
    "ollama_chat": {"text", "image_base64", "image_data_url"},
    "bedrock_converse": {
        "text",
        "image_base64",
        "image_data_url",
        "image_s3",
        "document_pdf",
        "document_text",
        "document_s3",
    },
}
# What no dialect may carry: a reference nobody can fetch, a block type nobody knows.
REFUSED_EVERYWHERE = {"document_ref", "unknown"}


def _message(role: MessageRole, block: ContentBlock) -> Message:
    blocks = [block] if block.type == "text" else [ContentBlock.text("see:"), block]
    if role is MessageRole.TOOL:
        return Message(role, blocks, tool_call_id="call_1", name="lookup")
    return Message(role, blocks)


def _encode(dialect: str, *messages: Message) -> dict[str, Any]:
    model = "us.anthropic.claude-sonnet-4-5-v1:0" if dialect == "bedrock_converse" else "m"
    return get_dialect(dialect)(ChatRequest(model, list(messages)))


def _carried_or_refused(dialect: str, msg: Message, payload: str | tuple[str, ...]) -> bool:
    """True when the payload is in the body, False when a typed error was raised."""
    try:
        body = _encode(dialect, msg)
    except AiLibError as exc:
        assert isinstance(exc, ProtocolError) and exc.code == "E1001", repr(exc)
        return False
    text = json.dumps(body)
    payloads = payload if isinstance(payload, tuple) else (payload,)
    assert any(p in text for p in payloads), f"{dialect} dropped the block silently: {text[:400]}"
    return True


@pytest.mark.parametrize("kind", sorted(BLOCKS))
@pytest.mark.parametrize("dialect", DIALECTS)
def test_user_block_is_carried_or_refused(dialect: str, kind: str) -> None:
    block, payload = BLOCKS[kind]
    carried = _carried_or_refused(dialect, _message(MessageRole.USER, block), payload)
    if kind in CARRIED[dialect]:
        assert carried, f"{dialect} must carry {kind}"
    if kind in REFUSED_EVERYWHERE:
        assert not carried, f"{dialect} must refuse {kind}"


@pytest.mark.parametrize("role", [MessageRole.SYSTEM, MessageRole.ASSISTANT, MessageRole.TOOL])
@pytest.mark.parametrize("kind", sorted(BLOCKS))
@pytest.mark.parametrize("dialect", DIALECTS)
def test_block_in_other_roles_is_carried_or_refused(
    dialect: str, kind: str, role: MessageRole
) -> None:
    """System prompts, assistant turns and tool results that take text only refuse the
    rest instead of keeping the text and losing the attachment."""
    block, payload = BLOCKS[kind]
    carried = _carried_or_refused(dialect, _message(role, block), payload)
    if kind in REFUSED_EVERYWHERE:
        assert not carried


# ---- the encodings added for documents, field by field -------------------------------


def _user_parts(body: dict[str, Any]) -> list[Any]:
    return list(body["input"][-1]["content"])


def test_responses_inline_document_is_an_input_file() -> None:
    doc, _ = BLOCKS["document_pdf"]
    body = _encode("openai_responses", Message.user([ContentBlock.text("Sum up"), doc]))
    assert _user_parts(body) == [
        {"type": "input_text", "text": "Sum up"},
        {
            "type": "input_file",
            "filename": "q3.pdf",
            "file_data": f"data:application/pdf;base64,{PDF_B64}",
        },
    ]


def test_responses_document_url_is_a_file_url() -> None:
    doc, _ = BLOCKS["document_https"]
    body = _encode("openai_responses", Message.user([ContentBlock.text("Sum up"), doc]))
    assert _user_parts(body)[1] == {"type": "input_file", "file_url": "https://example.com/q3.pdf"}


def test_bedrock_documents_carry_format_name_and_source() -> None:
    pdf = ContentBlock.document(PDF, "application/pdf", title="Q3 report_final.pdf")
    csv = ContentBlock.document(b"a,b\n1,2\n", "text/csv")
    s3 = ContentBlock.document(url="s3://bucket/notes.md", media_type="text/markdown")
    body = _encode("bedrock_converse", Message.user([ContentBlock.text("Compare"), pdf, csv, s3]))
    content = body["messages"][0]["content"]
    assert content[1] == {
        "document": {"format": "pdf", "name": "Q3 report-final", "source": {"bytes": PDF_B64}}
    }
    assert content[2]["document"]["format"] == "csv"
    assert content[2]["document"]["source"] == {"bytes": base64.b64encode(b"a,b\n1,2\n").decode()}
    assert content[3]["document"] == {
        "format": "md",
        "name": "document (2)",  # Converse rejects two documents with one name
        "source": {"s3Location": {"uri": "s3://bucket/notes.md"}},
    }
    assert content[2]["document"]["name"] == "document"


def test_bedrock_refuses_document_formats_and_urls_it_cannot_take() -> None:
    zipped = ContentBlock.document(b"PK", "application/zip")
    with pytest.raises(ProtocolError, match="application/zip") as info:
        _encode("bedrock_converse", Message.user([zipped]))
    assert info.value.code == "E1001"
    web = ContentBlock.document(url="https://example.com/q3.pdf")
    with pytest.raises(ProtocolError, match="s3://") as info:
        _encode("bedrock_converse", Message.user([web]))
    assert info.value.code == "E1001"


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("Q3 report_final.pdf", "Q3 report-final"),
        ("(draft)  [v2].docx", "(draft) [v2]"),
        ("a.b.c", "a-b-c"),
        ("x" * 300, "x" * 200),
        ("...", "---"),
        (None, "document"),
    ],
)
def test_bedrock_document_names_follow_the_converse_rules(title: str | None, name: str) -> None:
    got = document_name(ContentBlock.document(b"x", title=title))
    assert got == name
    assert 1 <= len(got) <= 200 and "  " not in got


@pytest.mark.parametrize("dialect", ["cohere_v2", "ollama_chat"])
def test_document_refusal_names_the_dialect_and_the_block(dialect: str) -> None:
    doc, _ = BLOCKS["document_pdf"]
    with pytest.raises(ProtocolError, match="application/pdf document") as info:
        _encode(dialect, Message.user([ContentBlock.text("Sum up"), doc]))
    assert info.value.code == "E1001"
    assert ("Cohere" if dialect == "cohere_v2" else "Ollama") in str(info.value)


def test_document_filenames() -> None:
    assert document_filename(ContentBlock.document(PDF)) == "document.pdf"
    assert document_filename(ContentBlock.document(b"x")) == "document.txt"  # text, no type
    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert document_filename(ContentBlock.document(b"x", docx)) == "document.docx"
    assert document_filename(ContentBlock.document(b"x", title="a.txt")) == "a.txt"


def test_thinking_blocks_replay_only_where_the_wire_takes_them() -> None:
    """Reasoning replay blocks are not user content: wires without a place for another
    provider's thinking leave them out, and the rest of the turn still goes."""
    turn = Message.assistant([ContentBlock.thinking("hmm", "sig"), ContentBlock.text("42")])
    for dialect in DIALECTS:
        body = json.dumps(_encode(dialect, Message.user("q"), turn))
        assert "42" in body, dialect
