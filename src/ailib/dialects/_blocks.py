"""Helpers the dialect encoders share for content blocks they carry or refuse.

Every encoder either puts a block on its wire or raises before sending; these helpers
name documents consistently and build the refusal errors.

Example::

    doc = ContentBlock.document(pdf_bytes, "application/pdf")
    document_filename(doc)  # "document.pdf"
    raise refused("Cohere chat", doc, hint="extract the text and send it as text")
"""

from __future__ import annotations

import time

from ailib.errors import ProtocolError
from ailib.types.messages import ContentBlock, Message

#: Document media type -> the usual file extension.
DOCUMENT_EXTENSIONS = {
    "application/pdf": "pdf",
    "text/csv": "csv",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "text/html": "html",
    "text/plain": "txt",
    "text/markdown": "md",
    "application/json": "json",
}

#: Block types that replay a model's own reasoning: wires that cannot take them back
#: leave them out by design (they are not user content).
REPLAY_BLOCKS = ("thinking", "redacted_thinking")


def document_extension(media_type: str | None) -> str:
    """The file extension of a document media type (its subtype when unknown)."""
    media = (media_type or "application/pdf").split(";", 1)[0].strip().lower()
    return DOCUMENT_EXTENSIONS.get(media) or media.rpartition("/")[2] or "bin"


def document_filename(block: ContentBlock) -> str:
    """The document's title, else ``document.<extension>``."""
    return block.text_value or f"document.{document_extension(block.media_type)}"


def refused(wire: str, block: ContentBlock, *, hint: str = "") -> ProtocolError:
    """The typed error (E1001) for a content block ``wire`` cannot carry.

    The message names the block (its type, and its URL for a document reference) so
    the caller sees which part of the message would have been lost.
    """
    what = f"a {block.type!r} content block"
    if block.type == "document" and block.url is not None:
        what = f"the document reference {block.url!r}"
    elif block.type == "document":
        what = f"a {block.media_type or 'document'} document"
    elif block.type == "audio" and not block.is_audio_ref:
        what = f"audio ({block.media_type or 'unknown format'})"
    message = f"{wire} cannot carry {what}"
    return ProtocolError(f"{message}: {hint}" if hint else message)


def text_only(wire: str, msg: Message) -> str:
    """The message's text, for a wire that takes only text for this kind of message.

    Reasoning replay blocks are left out by design; a model's earlier audio answer
    counts as its transcript; any other non-text block (an image in a system prompt, a
    document in a tool result) raises instead of being dropped.
    """
    if not isinstance(msg.content, str):
        for block in msg.content:
            if block.type != "text" and block.type not in REPLAY_BLOCKS and not block.is_audio_ref:
                raise refused(f"{wire} ({msg.role.value} messages take text only)", block)
    return msg.text


def live_audio_ref(msg: Message, now: float | None = None) -> ContentBlock | None:
    """The message's last audio answer whose id the provider still holds, if any.

    An answer past its ``expires_at`` cannot be referenced any more: it travels as its
    transcript instead (see ``Message.text``).
    """
    if isinstance(msg.content, str):
        return None
    moment = time.time() if now is None else now
    for block in reversed(msg.content):
        if block.is_audio_ref and (block.expires_at is None or block.expires_at > moment):
            return block
    return None


def text_blocks(msg: Message) -> str:
    """Only the text blocks of a message (no transcripts)."""
    if isinstance(msg.content, str):
        return msg.content
    return "".join(b.text_value or "" for b in msg.content if b.type == "text")
