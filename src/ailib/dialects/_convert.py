"""Media conversion with the optional extras: ``ailib[vision]`` (Pillow), ``ailib[audio]``
(soundfile). Both are imported lazily; a missing one is a MediaError naming the extra.

Example::

    data, media_type = downscale_image(big_png, "image/png", max_bytes=5_000_000,
                                       max_size=(8000, 8000), why="over anthropic's limit")
    data, media_type = convert_audio(flac_bytes, "audio/flac", ["wav", "mp3"],
                                     why="openai takes wav or mp3")
"""

from __future__ import annotations

import base64
import importlib
import io
import math
from types import ModuleType
from typing import Any

from ailib.errors import MediaError
from ailib.types import media

#: Pillow format names for the image types it can write back.
PIL_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP", "image/gif": "GIF"}
#: soundfile (format, subtype) for each audio format it can write.
SOUNDFILE_TARGETS = {
    "wav": ("WAV", "PCM_16"),
    "flac": ("FLAC", "PCM_16"),
    "mp3": ("MP3", "MPEG_LAYER_III"),
    "ogg": ("OGG", "VORBIS"),
    "opus": ("OGG", "OPUS"),
    "aiff": ("AIFF", "PCM_16"),
}
_ROUNDS = 8  # re-encodes tried while shrinking an image under a byte limit
#: Most pixels decoded to downscale an image (Pillow's own default bound, which it only
#: warns about up to twice that): a small PNG of zeros can claim 20000x20000 pixels.
MAX_DECODE_PIXELS = 89_478_485
#: Most bytes of 16-bit samples decoded to convert audio: FLAC compresses silence a
#: thousandfold, so a small file could otherwise decode to gigabytes.
MAX_DECODED_AUDIO_BYTES = 64 << 20


def require(module: str, extra: str, why: str) -> ModuleType:
    """Import an optional dependency, or raise a MediaError saying which extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MediaError(
            f"{why}; install the optional extra to convert it automatically: "
            f"pip install 'ailib[{extra}]'"
        ) from None


def encoded_size(raw_bytes: int) -> int:
    """Length of the base64 text for ``raw_bytes`` bytes (what goes on the wire)."""
    return 4 * math.ceil(raw_bytes / 3)


def downscale_image(
    data: bytes,
    media_type: str,
    *,
    max_bytes: int | None,
    max_size: tuple[int, int] | None,
    accepted: list[str] | None = None,
    why: str,
) -> tuple[bytes, str]:
    """The image shrunk to fit ``max_size`` (pixels) and ``max_bytes`` (base64 length),
    re-encoded in its own format when Pillow writes it and the provider takes it, else
    PNG (JPEG for photos over the byte limit)."""
    pil = require("PIL.Image", "vision", why)
    try:
        image = pil.open(io.BytesIO(data))  # reads the header only
    except Exception as exc:  # Pillow raises many kinds for a broken file
        raise MediaError(f"{why}, and the image cannot be decoded: {exc}") from None
    limit = min(MAX_DECODE_PIXELS, getattr(pil, "MAX_IMAGE_PIXELS", None) or MAX_DECODE_PIXELS)
    pixels = image.size[0] * image.size[1]
    if pixels > limit:
        image.close()
        raise MediaError(
            f"{why}, and at {image.size[0]}x{image.size[1]} pixels it is too large to decode "
            f"safely (over {limit:,} pixels): scale it down before sending"
        )
    try:
        image.load()
    except Exception as exc:
        raise MediaError(f"{why}, and the image cannot be decoded: {exc}") from None
    target = _image_target(media_type, accepted)
    width, height = image.size
    scale = 1.0
    if max_size is not None:
        scale = min(1.0, max_size[0] / width, max_size[1] / height)
    out = b""
    for _ in range(_ROUNDS):
        size = (max(1, int(width * scale)), max(1, int(height * scale)))
        out = _encode_image(pil, image, size, target)
        if max_bytes is None or encoded_size(len(out)) <= max_bytes:
            return out, target
        jpeg_ok = accepted is None or "jpeg" in accepted
        if target == "image/png" and image.mode not in ("P", "1") and jpeg_ok:
            target = "image/jpeg"  # a photo as PNG rarely fits: JPEG does
            continue
        scale *= max(0.3, math.sqrt(max_bytes / encoded_size(len(out))) * 0.9)
    raise MediaError(f"{why}, and it could not be shrunk under the limit ({len(out):,} bytes)")


def _image_target(media_type: str, accepted: list[str] | None) -> str:
    def takes(candidate: str) -> bool:
        return accepted is None or candidate.split("/")[1] in accepted

    if media_type in PIL_FORMATS and takes(media_type):
        return media_type
    return "image/png" if takes("image/png") else "image/jpeg"


def _encode_image(pil: Any, image: Any, size: tuple[int, int], target: str) -> bytes:
    frame = image.resize(size, pil.Resampling.LANCZOS) if size != image.size else image
    if target == "image/jpeg" and frame.mode not in ("RGB", "L"):
        frame = frame.convert("RGB")
    out = io.BytesIO()
    options: dict[str, Any] = {"optimize": True}
    if target in ("image/jpeg", "image/webp"):
        options["quality"] = 85
    frame.save(out, format=PIL_FORMATS[target], **options)
    return out.getvalue()


def convert_audio(
    data: bytes, media_type: str, targets: list[str], *, why: str
) -> tuple[bytes, str]:
    """The clip re-encoded in one of ``targets`` (format names) soundfile writes:
    lossless first (WAV, FLAC, AIFF), then in the order given.

    At most ``MAX_DECODED_AUDIO_BYTES`` of samples are decoded; a longer clip raises.
    """
    writable = sorted(
        (t for t in targets if t in SOUNDFILE_TARGETS),
        key=lambda t: (t not in ("wav", "flac", "aiff"), targets.index(t)),
    )
    if not writable:
        raise MediaError(f"{why}, and none of those formats can be written by the converter")
    sf = require("soundfile", "audio", why)
    try:
        with sf.SoundFile(io.BytesIO(data)) as clip:
            rate, channels = int(clip.samplerate), int(clip.channels)
            cap = MAX_DECODED_AUDIO_BYTES // (2 * max(1, channels))
            samples = clip.read(frames=cap + 1, dtype="int16", always_2d=True)
    except Exception as exc:  # libsndfile cannot read every container (M4A/AAC, WebM)
        raise MediaError(
            f"{why}, and {media_type} cannot be decoded for conversion: {exc}"
        ) from None
    if len(samples) > cap:
        raise MediaError(
            f"{why}, and the clip decodes to over {MAX_DECODED_AUDIO_BYTES:,} bytes of "
            "samples: too long to convert here; convert or shorten it before sending"
        )
    name = writable[0]
    container, subtype = SOUNDFILE_TARGETS[name]
    out = io.BytesIO()
    try:
        sf.write(out, samples, rate, format=container, subtype=subtype)
    except Exception as exc:  # a rate or channel count the target format cannot hold
        raise MediaError(f"{why}, and it cannot be written as {name}: {exc}") from None
    return out.getvalue(), media.AUDIO_FORMATS[name]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
