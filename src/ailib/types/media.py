"""Media types from the bytes themselves: signatures, declared-type checks, bounded file reads.

The type of an image, audio clip or document is read from its leading bytes (PNG, JPEG,
GIF, WebP, BMP, TIFF, HEIC, PDF, WAV, MP3, FLAC, OGG, AAC, M4A, AIFF, WebM, OOXML), never
from a file extension (the signatures are read in :mod:`ailib.types.sniff`; ``sniff`` is
importable from here too). A declared type the bytes contradict is refused with a
:class:`~ailib.errors.MediaError` before anything is sent.

Example::

    sniff(b"\\x89PNG\\r\\n\\x1a\\n...")             # 'image/png'
    resolve_media_type(png_bytes, "image/jpeg", "image")  # MediaError: the bytes are a PNG
    audio_format("audio/mpeg")                    # 'mp3'
    image_size(png_bytes)                         # (640, 480)
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import stat
import struct

from ailib.errors import MediaError
from ailib.types.sniff import HEAD_BYTES as HEAD_BYTES
from ailib.types.sniff import OOXML
from ailib.types.sniff import SNIFF_BYTES as SNIFF_BYTES
from ailib.types.sniff import sniff as sniff
from ailib.types.sniff import weak_signature as weak_signature

#: Largest file ``ContentBlock.*_file`` reads (bytes); providers take far less inline.
MAX_FILE_BYTES = 64 << 20

#: Other spellings of the same media types (lower case) -> the canonical name.
ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "image/x-png": "image/png",
    "image/heif": "image/heic",
    "audio/x-wav": "audio/wav",
    "audio/wave": "audio/wav",
    "audio/vnd.wave": "audio/wav",
    "audio/mp3": "audio/mpeg",
    "audio/mpeg3": "audio/mpeg",
    "audio/x-mp3": "audio/mpeg",
    "audio/x-mpeg": "audio/mpeg",
    "audio/x-flac": "audio/flac",
    "audio/x-aiff": "audio/aiff",
    "audio/x-m4a": "audio/mp4",
    "audio/m4a": "audio/mp4",
    "audio/x-aac": "audio/aac",
    "audio/opus": "audio/ogg",
    "audio/vorbis": "audio/ogg",
    "application/x-pdf": "application/pdf",
}

#: Audio format names (OpenAI's ``input_audio.format`` and ``audio.format`` values, and
#: AI-Protocol's) -> media type.
AUDIO_FORMATS = {
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "flac": "audio/flac",
    "ogg": "audio/ogg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "m4a": "audio/mp4",
    "aiff": "audio/aiff",
    "webm": "audio/webm",
    "pcm16": "audio/pcm",
    "pcm": "audio/pcm",
}
#: Media type -> the usual format name.
FORMAT_OF = {
    "audio/wav": "wav",
    "audio/mpeg": "mp3",
    "audio/flac": "flac",
    "audio/ogg": "ogg",
    "audio/aac": "aac",
    "audio/mp4": "m4a",
    "audio/aiff": "aiff",
    "audio/webm": "webm",
    "audio/pcm": "pcm16",
    "audio/l16": "pcm16",
}
#: Declared types that a plain-text sniff is consistent with.
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/x-yaml")
_OLE_TYPES = (
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
)
#: Declared types whose files always start with a magic number, and its first bytes: bytes
#: that start otherwise contradict the declaration (raw samples, MP3 and container types
#: may not show one). A short or cut file that starts right is let through.
SIGNED_TYPES: dict[str, tuple[bytes, ...]] = {
    "image/png": (b"\x89PNG",),
    "image/jpeg": (b"\xff\xd8",),
    "image/gif": (b"GIF8",),
    "image/webp": (b"RIFF", b"RF64"),
    "application/pdf": (b"%PDF",),
    "audio/wav": (b"RIFF", b"RF64", b"BW64"),
    "audio/flac": (b"fLaC",),
    "audio/ogg": (b"OggS",),
    "audio/aiff": (b"FORM",),
}
#: Raw samples: any bytes can be PCM, so only a strong container signature contradicts.
RAW_AUDIO = frozenset({"audio/pcm", "audio/l16"})


def normalize(media_type: str) -> str:
    """Lower case, parameters dropped, aliases resolved: ``'Image/JPG'`` -> ``'image/jpeg'``."""
    base = media_type.split(";", 1)[0].strip().lower()
    return ALIASES.get(base, base)


#: Sniffed container types -> the declared types the same bytes are commonly labelled with.
_SAME_BYTES = {
    "application/zip": (*OOXML.values(), "application/zip", "application/x-zip-compressed"),
    "application/x-ole-storage": _OLE_TYPES,
    "audio/mp4": ("audio/mp4", "video/mp4", "audio/aac"),
    "video/mp4": ("audio/mp4", "video/mp4"),
    "audio/webm": ("audio/webm", "video/webm"),
    "video/x-matroska": ("video/x-matroska", "audio/x-matroska", "audio/webm", "video/webm"),
}


def consistent(declared: str, found: str) -> bool:
    """Whether a declared media type agrees with what the bytes were sniffed as."""
    declared, found = normalize(declared), normalize(found)
    if declared == found:
        return True
    if found == "text/plain":
        return declared.startswith(TEXT_TYPES) or declared.endswith(("+json", "+xml"))
    return declared in _SAME_BYTES.get(found, ())


def resolve_media_type(data: bytes, declared: str | None, kind: str) -> str:
    """The media type to send for ``data``: sniffed, checked against ``declared``.

    ``kind`` (``"image"``, ``"audio"``, ``"document"``) names the block in errors and
    must match what the bytes are (an MP3 is not an image). A declared type the bytes
    contradict raises; bytes with no known signature keep the declared type; with
    neither, a MediaError asks for the type.
    """
    found = sniff(data)
    if found == "text/plain" and (kind != "document" or declared is not None):
        found = None  # no binary signature: the declared type stands (csv, md, json...)
    if declared is not None and (not isinstance(declared, str) or "/" not in declared):
        raise MediaError(f"{kind} media type must be a str like 'image/png', got {declared!r}")
    if declared is not None and normalize(declared) in RAW_AUDIO and weak_signature(data):
        found = None  # raw samples may start like a frame sync or a short magic number
    if found is None:
        if declared is None:
            raise MediaError(
                f"cannot tell what kind of {kind} these bytes are ({describe(data)}): no "
                "known signature; pass its media type"
            )
        if _lacks_signature(data, normalize(declared)):
            raise MediaError(
                f"the {kind} was declared {declared!r} but its bytes do not start like "
                f"one ({describe(data)}); pass the right type, or none to have it detected"
            )
        return normalize(declared)
    if declared is not None and not consistent(declared, found):
        raise MediaError(
            f"the {kind} was declared {declared!r} but its bytes are {found!r} "
            f"({describe(data)}); pass the right type, or none to have it detected",
            media_type=found,
        )
    media = found
    if declared is not None and found in _SAME_BYTES:  # a container: the label says more
        media = normalize(declared)
    if kind == "audio" and media in ("video/mp4", "video/x-matroska"):
        media = "audio/mp4" if media == "video/mp4" else "audio/webm"
    if kind in ("image", "audio") and not media.startswith(f"{kind}/"):
        raise MediaError(
            f"these bytes are {media!r} ({describe(data)}), not an {kind}", media_type=media
        )
    return media


def _lacks_signature(data: bytes, declared: str) -> bool:
    """A declared type every file of which starts with a magic number, and bytes that do
    not (a PDF may have a little junk before ``%PDF-``, as readers allow)."""
    starts = SIGNED_TYPES.get(declared)
    if starts is None or bytes(data[:8]).startswith(starts):
        return False
    return not (declared == "application/pdf" and b"%PDF-" in bytes(data[:1024]))


def describe(data: bytes) -> str:
    """A short, safe description of some bytes for error messages."""
    return f"bytes starting {bytes(data[:8])!r}"


def audio_format(media_type: str | None) -> str | None:
    """The format name (``wav``, ``mp3``...) of an audio media type, or None."""
    if not media_type:
        return None
    return FORMAT_OF.get(normalize(media_type))


def audio_media_type(format_or_type: str) -> str:
    """``'wav'`` -> ``'audio/wav'``; a media type is normalized; unknown names raise."""
    if not isinstance(format_or_type, str) or not format_or_type:
        raise MediaError(f"audio format must be a str like 'wav' or 'mp3', got {format_or_type!r}")
    if "/" in format_or_type:
        return normalize(format_or_type)
    media = AUDIO_FORMATS.get(format_or_type.lower())
    if media is None:
        known = ", ".join(sorted(AUDIO_FORMATS))
        raise MediaError(f"unknown audio format {format_or_type!r}; known: {known}")
    return media


_SPACE = re.compile(r"\s")
_URL_SAFE = str.maketrans("-_", "+/")


def plain_base64(text: str) -> str:
    """Base64 text as every wire takes it: line breaks removed, the URL-safe alphabet
    (``-_``, as Google's SDKs write it) turned into the standard one (``+/``)."""
    if _SPACE.search(text):  # wrapped over lines (MIME style)
        text = "".join(text.split())
    if "-" in text or "_" in text:
        text = text.translate(_URL_SAFE)
    return str(text)


def sample_rate_of(media_type: str | None) -> int | None:
    """The ``rate=`` parameter of a type such as ``audio/L16;codec=pcm;rate=24000``."""
    for param in (media_type or "").split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "rate" and value.strip().isdigit():
            return int(value.strip())
    return None


def decode_head(data_b64: str, size: int = SNIFF_BYTES) -> bytes:
    """The first ``size`` bytes of base64 text (decoding only what is needed)."""
    chars = (size + 2) // 3 * 4
    text = plain_base64(data_b64[: chars + chars // 16])[:chars]  # line breaks skipped
    try:
        return base64.b64decode(text[: len(text) - len(text) % 4], validate=False)
    except (binascii.Error, ValueError):
        return b""


def decode_all(data_b64: str, kind: str) -> bytes:
    """The bytes of base64 text; malformed text raises a MediaError naming ``kind``."""
    try:
        return base64.b64decode(data_b64, validate=True)
    except (binascii.Error, ValueError):
        raise MediaError(f"the {kind} data is not valid base64 text") from None


def read_file(path: str | os.PathLike[str], kind: str, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a local regular file, bounded; anything else raises MediaError.

    Symlinks are followed; what they lead to must be a regular file: a FIFO, socket or
    device (``/dev/zero``, ``/dev/stdin``) is refused without reading from it (a FIFO is
    opened non-blocking, so a missing writer cannot hang the call).
    """
    try:
        name = os.fspath(path)
    except TypeError:
        raise MediaError(
            f"{article(kind)} file path must be a str or a path, got {path!r:.80}"
        ) from None
    if not isinstance(name, str):
        name = os.fsdecode(name)
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    flags |= getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(name, flags)
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if stat.S_ISDIR(info.st_mode):
                raise IsADirectoryError
            if not stat.S_ISREG(info.st_mode):
                raise MediaError(
                    f"{name!r} is not a regular file (a FIFO, socket or device); "
                    f"{article(kind)} file must be one",
                    path=name,
                )
            if info.st_size > max_bytes:
                raise _too_large(kind, name, info.st_size, max_bytes)
            data = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise MediaError(f"no such {kind} file: {name!r}", path=name) from None
    except IsADirectoryError:
        raise MediaError(f"{name!r} is a directory, not {article(kind)} file", path=name) from None
    except PermissionError:
        raise MediaError(f"no permission to read the {kind} file {name!r}", path=name) from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        reason = getattr(exc, "strerror", None) or str(exc)
        raise MediaError(f"cannot read the {kind} file {name!r}: {reason}", path=name) from None
    if len(data) > max_bytes:
        raise _too_large(kind, name, len(data), max_bytes)
    if not data:
        raise MediaError(f"the {kind} file {name!r} is empty", path=name)
    return data


def article(kind: str) -> str:
    """``"an image"``, ``"an audio"``, ``"a document"``: the kind with its article."""
    return f"an {kind}" if kind[:1] in "aeiou" else f"a {kind}"


def _too_large(kind: str, name: str, size: int, limit: int) -> MediaError:
    return MediaError(
        f"the {kind} file {name!r} is {size:,} bytes, over the {limit:,}-byte cap (max_bytes=...)",
        path=name,
    )


# ---- image dimensions, from the header (no decoder needed) -----------------------------


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG, GIF, WebP or JPEG from its header; None when unknown."""
    try:
        return _image_size(data)
    except (struct.error, IndexError):
        return None


def _image_size(d: bytes) -> tuple[int, int] | None:
    if d.startswith(b"\x89PNG\r\n\x1a\n") and d[12:16] == b"IHDR":
        w, h = struct.unpack(">II", d[16:24])
        return int(w), int(h)
    if d[:6] in (b"GIF87a", b"GIF89a"):
        w, h = struct.unpack("<HH", d[6:10])
        return int(w), int(h)
    if d[:4] == b"RIFF" and d[8:12] == b"WEBP":
        return _webp_size(d)
    if d.startswith(b"\xff\xd8"):
        return _jpeg_size(d)
    return None


def _webp_size(d: bytes) -> tuple[int, int] | None:
    chunk = d[12:16]
    if chunk == b"VP8 " and d[23:26] == b"\x9d\x01\x2a":
        w, h = struct.unpack("<HH", d[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L" and d[20] == 0x2F:
        bits = int.from_bytes(d[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        return int.from_bytes(d[24:27], "little") + 1, int.from_bytes(d[27:30], "little") + 1
    return None


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_size(d: bytes) -> tuple[int, int] | None:
    pos = 2
    while pos + 9 < len(d):
        if d[pos] != 0xFF:
            return None
        marker = d[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length
            pos += 2
            continue
        length = struct.unpack(">H", d[pos + 2 : pos + 4])[0]
        if marker in _SOF:
            h, w = struct.unpack(">HH", d[pos + 5 : pos + 9])
            return int(w), int(h)
        pos += 2 + length
    return None
