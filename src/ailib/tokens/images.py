"""Image token counts as the vendors document them, and image sizes read from file headers.

OpenAI (vision guide): ``detail="low"`` costs a fixed base; otherwise the image is scaled
to fit 2048x2048, then its shortest side to 768, and each 512-px tile costs a fixed
amount on top of the base (gpt-4o: 85 + 170 per tile). Newer small models count 32-px
patches (at most 1536, the image scaled down to fit) times a model multiplier. Anthropic:
about ``width * height / 750`` after scaling to at most 1568 px on the long side. Gemini:
258 per image up to 384 px on both sides, else 258 per tile (see
:func:`gemini_image_tokens`).

Example::

    image_size(png_bytes)                       # (width, height) or None
    openai_image_tokens("gpt-4o", 1024, 1024)   # 765
"""

from __future__ import annotations

import base64
import binascii
import math
import struct

# (base, per 512-px tile) by model prefix; longest prefix first.
_TILES = (
    ("gpt-4o-mini", (2833, 5667)),
    ("o1", (75, 150)),
    ("o3", (75, 150)),
    ("gpt-4o", (85, 170)),
    ("chatgpt-4o", (85, 170)),
    ("gpt-4.1", (85, 170)),
    ("gpt-4.5", (85, 170)),
    ("gpt-5", (70, 140)),
)
# 32-px patch models and their multipliers.
_PATCHES = (
    ("gpt-4.1-mini", 1.62),
    ("gpt-4.1-nano", 2.46),
    ("gpt-5-mini", 1.62),
    ("gpt-5-nano", 2.46),
    ("o4-mini", 1.72),
)
#: The size assumed for an image whose size cannot be read (a URL): 1024x1024.
UNKNOWN_SIZE = (1024, 1024)


def openai_image_tokens(model: str, width: int, height: int, detail: str | None = None) -> int:
    """Tokens an image costs on an OpenAI model (``detail``: "low", "high" or "auto")."""
    name = model.rsplit("/", 1)[-1].lower()
    for prefix, multiplier in _PATCHES:
        if name.startswith(prefix):
            return math.ceil(_patches(width, height) * multiplier)
    base, per_tile = next((cost for prefix, cost in _TILES if name.startswith(prefix)), (85, 170))
    if detail == "low":
        return base
    w, h = _fit(width, height, 2048)
    short = min(w, h)
    if short > 768:
        w, h = w * 768 / short, h * 768 / short
    tiles = math.ceil(w / 512) * math.ceil(h / 512)
    return base + per_tile * tiles


def _fit(width: float, height: float, limit: float) -> tuple[float, float]:
    longest = max(width, height)
    if longest <= limit:
        return width, height
    return width * limit / longest, height * limit / longest


def _patches(width: int, height: int, cap: int = 1536) -> int:
    patches = math.ceil(width / 32) * math.ceil(height / 32)
    if patches <= cap:
        return patches
    shrink = math.sqrt(cap * 32 * 32 / (width * height))
    w, h = width * shrink, height * shrink
    shrink *= min(math.floor(w / 32) / (w / 32), math.floor(h / 32) / (h / 32))
    return min(cap, math.ceil(width * shrink / 32) * math.ceil(height * shrink / 32))


def anthropic_image_tokens(width: int, height: int) -> int:
    """Claude: about w*h/750 tokens, the image first scaled to at most 1568 px per side."""
    w, h = _fit(width, height, 1568)
    return max(1, math.ceil(w * h / 750))


def gemini_image_tokens(width: int, height: int) -> int:
    """Gemini: 258 tokens when both sides are at most 384 px; a larger image is cut into
    square crops of ``min(width, height) / 1.5`` px (kept within 256..768), each scaled
    to a 258-token 768x768 tile, plus one tile for the whole image.

    Google documents the 384-px rule and the 258-token tiles; the crop size and the
    extra tile reproduce what Gemini billed for recorded requests (a 540x360 JPEG: 7
    tiles, 1806 tokens, in the corpus's ``gemini-image-input``), where "768x768 tiles"
    alone would say 258.
    """
    if width <= 384 and height <= 384:
        return 258
    crop = min(768, max(256, min(width, height) * 2 // 3))
    return 258 * (math.ceil(width / crop) * math.ceil(height / crop) + 1)


def image_size_base64(data: str) -> tuple[int, int] | None:
    """The size of a base64-encoded image (only its first bytes are decoded)."""
    head = data[:65536]
    head = head[: len(head) - len(head) % 4]
    try:
        raw = base64.b64decode(head, validate=False)
    except (binascii.Error, ValueError):
        return None
    return image_size(raw)


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG, GIF, WebP or JPEG header; None when not recognised."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        w, h = struct.unpack(">II", data[16:24])
        return int(w), int(h)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        w, h = struct.unpack("<HH", data[6:10])
        return int(w), int(h)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        return _webp_size(data)
    if data[:2] == b"\xff\xd8":
        return _jpeg_size(data)
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    kind = data[12:16]
    if kind == b"VP8X":
        w = int.from_bytes(data[24:27], "little") + 1
        h = int.from_bytes(data[27:30], "little") + 1
        return w, h
    if kind == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if kind == b"VP8 " and len(data) >= 30:
        w, h = struct.unpack("<HH", data[26:30])
        return int(w) & 0x3FFF, int(h) & 0x3FFF
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length field
            i += 2
            continue
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            h, w = struct.unpack(">HH", data[i + 5 : i + 9])
            return int(w), int(h)
        i += 2 + length
    return None
