"""The media type some bytes announce, from their leading bytes (never a file extension).

:func:`sniff` reads the signatures of images (PNG, JPEG, GIF, WebP, BMP, TIFF, HEIC,
AVIF), audio (WAV, MP3, FLAC, OGG, AAC, M4A, AIFF, WebM) and documents (PDF, ZIP and
the Office Open XML formats inside it, OLE); a bare MPEG/ADTS frame sync is confirmed by
the next frame. :func:`weak_signature` tells the signatures raw PCM samples can start
with by chance. Checking a declared type against what is found is
:mod:`ailib.types.media`'s job.

Example::

    sniff(b"\\x89PNG\\r\\n\\x1a\\n...")   # 'image/png'
    sniff(b"plain words")               # 'text/plain'
"""

from __future__ import annotations

import io

#: Bytes enough to sniff every signature below (base64 text: 4/3 of it).
HEAD_BYTES = 64
#: Bytes read to confirm an MPEG/ADTS frame header by the next one (longest frame: 8191).
SNIFF_BYTES = 8200
#: Office Open XML entry prefixes inside a ZIP archive -> the document's media type.
OOXML = {
    "word/": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xl/": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt/": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}


def sniff(data: bytes) -> str | None:
    """The media type the leading bytes announce, or None when no signature matches.

    Text without a signature (valid UTF-8, no NUL) is ``text/plain``.
    """
    head = bytes(data[:HEAD_BYTES])
    kind = _binary_signature(head)
    if kind == "application/zip":
        return _zip_kind(data)
    if kind in ("audio/mpeg", "audio/aac") and not head.startswith(b"ID3"):
        kind = _frame_stream(bytes(data[:SNIFF_BYTES]))  # a bare frame sync: confirm it
    if kind is not None:
        return kind
    return "text/plain" if _is_text(bytes(data[:4096])) else None


def weak_signature(data: bytes) -> bool:
    """Whether the bytes' signature is only a frame sync or a 2-3 byte magic number
    (MP3/AAC frames, JPEG, BMP, TIFF), which raw PCM samples can start with by chance."""
    return bytes(data[:4]).startswith((b"\xff", b"BM", b"II*\x00", b"MM\x00*"))


def _binary_signature(h: bytes) -> str | None:
    if h.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if h.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if h[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if h[:4] in (b"RIFF", b"RF64") and h[8:12] == b"WEBP":
        return "image/webp"
    if h[:4] in (b"RIFF", b"RF64", b"BW64") and h[8:12] == b"WAVE":
        return "audio/wav"
    if h.startswith(b"%PDF-"):
        return "application/pdf"
    if h.startswith(b"fLaC"):
        return "audio/flac"
    if h.startswith(b"OggS"):
        return "audio/ogg"
    if h.startswith(b"ID3"):
        return "audio/mpeg"
    if h[:4] == b"FORM" and h[8:12] in (b"AIFF", b"AIFC"):
        return "audio/aiff"
    if h[4:8] == b"ftyp":
        return _iso_brand(h[8:12])
    if h.startswith(b"\x1a\x45\xdf\xa3"):
        return "audio/webm" if b"webm" in h else "video/x-matroska"
    if len(h) >= 4 and h[0] == 0xFF and (h[1] & 0xE0) == 0xE0:
        return _mpeg_frame(h)
    if h.startswith(b"PK\x03\x04"):
        return "application/zip"
    if h.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "application/x-ole-storage"
    if h[:2] == b"BM" and len(h) >= 26:
        return "image/bmp"
    if h[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    return None


def _iso_brand(brand: bytes) -> str:
    if brand in (b"M4A ", b"M4B ", b"M4P "):
        return "audio/mp4"
    if brand in (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"):
        return "image/heic"
    if brand == b"avif":
        return "image/avif"
    if brand.startswith(b"3gp"):
        return "video/3gpp"
    if brand == b"qt  ":
        return "video/quicktime"
    return "video/mp4"


def _mpeg_frame(h: bytes) -> str | None:
    """An MPEG audio frame (MP3) or an ADTS frame (AAC) after the 11-bit frame sync."""
    if _adts_length(h) is not None:
        return "audio/aac"
    if _mpeg_length(h) is not None:
        return "audio/mpeg"
    return None


# kbit/s by bitrate index: MPEG-1 layers I, II, III; MPEG-2/2.5 layer I; layers II and III
_KBPS_V1 = {
    3: (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    2: (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
}
_KBPS_V2_L1 = (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256)
_KBPS_V2 = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mpeg_length(h: bytes) -> int | None:
    """The length of the MPEG audio frame whose header starts ``h`` (None: no header).

    Free-format (bitrate index 0) and reserved values are not accepted: raw PCM often
    starts with bytes like ``ff ff 00 00`` (samples -1, 0), which would pass a bare sync.
    """
    if len(h) < 4 or h[0] != 0xFF or (h[1] & 0xE0) != 0xE0:
        return None
    version, layer = (h[1] >> 3) & 0x03, (h[1] >> 1) & 0x03
    index, rate_index, padding = h[2] >> 4, (h[2] >> 2) & 0x03, (h[2] >> 1) & 0x01
    if version == 1 or layer == 0 or index in (0, 15) or rate_index == 3:
        return None
    kbps = (
        _KBPS_V1[layer][index] if version == 3 else (_KBPS_V2_L1 if layer == 3 else _KBPS_V2)[index]
    )
    rate = _RATES[version][rate_index]
    if layer == 3:  # layer I: 4-byte slots
        return (12 * kbps * 1000 // rate + padding) * 4
    per_frame = 72 if (layer == 1 and version != 3) else 144
    return per_frame * kbps * 1000 // rate + padding


def _adts_length(h: bytes) -> int | None:
    """The length of the ADTS (AAC) frame whose header starts ``h`` (None: no header)."""
    if len(h) < 7 or h[0] != 0xFF or (h[1] & 0xF6) != 0xF0 or ((h[2] >> 2) & 0x0F) > 12:
        return None
    length = ((h[3] & 0x03) << 11) | (h[4] << 3) | (h[5] >> 5)
    return length if length >= 7 else None


def _frame_stream(d: bytes) -> str | None:
    """MP3 or AAC when the first frame header is followed by another at its end.

    A lone header (bytes too short to hold the next one) is taken at its word.
    """
    for kind, length_of in (("audio/aac", _adts_length), ("audio/mpeg", _mpeg_length)):
        length = length_of(d)
        if length is None:
            continue
        following = d[length : length + 7]
        if len(following) < 4 or (kind == "audio/aac" and len(following) < 7):
            return kind
        same_stream = (following[1] & 0xFE) == (d[1] & 0xFE)
        return kind if same_stream and length_of(following) is not None else None
    return None


def _zip_kind(data: bytes) -> str:
    """A ZIP archive: an Office Open XML document when its entries say so."""
    import zipfile  # only for documents that are ZIP archives

    try:
        with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return "application/zip"
    for prefix, media in OOXML.items():
        if any(name.startswith(prefix) for name in names):
            return media
    return "application/zip"


def _is_text(sample: bytes) -> bool:
    if not sample or b"\x00" in sample:
        return False
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:  # a multi-byte character cut at the sample's end
        return exc.start >= len(sample) - 3
    return True
