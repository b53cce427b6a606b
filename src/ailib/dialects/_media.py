"""Media policy before encoding: capabilities a request needs, and blocks fitted to the
provider's declared limits (the manifest's AI-Protocol ``multimodal`` section).

* ``media_needs(req)``: ``audio_in`` for audio blocks, ``audio_out`` for
  ``modalities`` holding "audio" (checked with the other capabilities, E1005).
* ``fit_media(manifest, req)``: an inline image over ``multimodal.input.vision``'s
  ``max_file_size`` (measured on the base64 text sent) or ``max_resolution``, or in a
  format outside ``formats``, is downscaled / re-encoded with ``ailib[vision]``; audio
  in a format outside ``multimodal.input.audio.formats`` is converted with
  ``ailib[audio]`` (raw pcm16 to WAV needs no extra). Without the extra: a MediaError
  naming it. The requested ``audio.format`` must be one of
  ``multimodal.output.audio.formats``.

Example::

    needs = media_needs(req)            # ["audio_in"]
    req = fit_media(spec.manifest, req)  # a 12 MB PNG for Anthropic: now under 5 MB
"""

from __future__ import annotations

import functools
import re
from typing import Any

import attrs

from ailib.dialects import ChatRequest
from ailib.dialects._convert import b64, convert_audio, downscale_image
from ailib.errors import ManifestError, ParameterError
from ailib.protocol.manifest import Manifest
from ailib.types import media
from ailib.types.audio import PCM16_RATE, pcm16_to_wav
from ailib.types.messages import ContentBlock, Message

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(KB|MB|GB)\s*$", re.I)
_UNITS = {"KB": 1000, "MB": 1000**2, "GB": 1000**3}
#: base64 text decoded to find an image's dimensions (JPEG headers can be long)
_HEADER_CHARS = 256 << 10


@attrs.frozen
class MediaRules:
    """What a provider's manifest says about the media it takes (None: no rule)."""

    provider: str
    image_bytes: int | None = None
    image_size: tuple[int, int] | None = None
    image_formats: tuple[str, ...] | None = None
    audio_formats: tuple[str, ...] | None = None
    audio_out_formats: tuple[str, ...] | None = None

    @classmethod
    def of(cls, manifest: Manifest) -> MediaRules:
        section = manifest.data.get("multimodal")
        section = section if isinstance(section, dict) else {}
        vision = _dig(section, "input", "vision")
        audio_in = _dig(section, "input", "audio")
        audio_out = _dig(section, "output", "audio")
        return cls(
            manifest.id,
            _parse_size(manifest, vision.get("max_file_size")),
            _parse_resolution(manifest, vision.get("max_resolution")),
            _names(vision.get("formats")),
            _names(audio_in.get("formats")),
            _names(audio_out.get("formats")),
        )


_RULES: dict[int, tuple[Manifest, MediaRules]] = {}


def _rules_of(manifest: Manifest) -> MediaRules:
    """``MediaRules.of(manifest)``, parsed once per manifest object."""
    found = _RULES.get(id(manifest))
    if found is not None and found[0] is manifest:
        return found[1]
    rules = MediaRules.of(manifest)
    if len(_RULES) > 256:  # hot reloads make new manifests: keep the cache bounded
        _RULES.clear()
    _RULES[id(manifest)] = (manifest, rules)
    return rules


def media_needs(req: ChatRequest) -> list[str]:
    """Capabilities the request's media needs: ``audio_in`` and/or ``audio_out``."""
    needs = []
    if any(
        block.type == "audio" and not block.is_audio_ref
        for msg in req.messages
        if not isinstance(msg.content, str)
        for block in msg.content
    ):
        needs.append("audio_in")
    modalities = req.params.get("modalities")
    spoken = isinstance(modalities, list | tuple) and any(
        str(m).lower() == "audio" for m in modalities
    )
    if spoken or req.params.get("audio") is not None:
        needs.append("audio_out")
    return needs


def fit_media(manifest: Manifest, req: ChatRequest) -> ChatRequest:
    """``req`` with its inline images and audio fitted to the provider's declared rules."""
    if "audio" not in req.params and all(isinstance(m.content, str) for m in req.messages):
        return req  # text only: nothing to fit (the common path pays nothing)
    rules = _rules_of(manifest)
    check_audio_output(rules, req.params)
    if rules == MediaRules(rules.provider):
        return req
    messages: list[Message] = []
    changed = False
    for msg in req.messages:
        if not isinstance(msg.content, str):
            blocks = [fit_block(rules, block) for block in msg.content]
            if any(new is not old for new, old in zip(blocks, msg.content, strict=True)):
                msg = attrs.evolve(msg, content=blocks)
                changed = True
        messages.append(msg)
    return attrs.evolve(req, messages=messages) if changed else req


def fit_block(rules: MediaRules, block: ContentBlock) -> ContentBlock:
    """One block fitted to ``rules`` (the same object when nothing had to change).

    Conversions are remembered (a few), so a history that sends the same large image
    every turn, or a retried request, converts it once.
    """
    if block.data is None:
        return block
    if block.type == "image":
        return _fit_image(rules, block)
    if block.type == "audio" and not block.is_audio_ref:
        return _fit_audio(rules, block)
    return block


def _fit_image(rules: MediaRules, block: ContentBlock) -> ContentBlock:
    data = block.data or ""
    media_type = block.media_type or "image/png"
    problems = []
    if rules.image_bytes is not None and len(data) > rules.image_bytes:
        problems.append(f"{len(data):,} bytes of base64 (limit {rules.image_bytes:,})")
    if rules.image_size is not None:
        head = media.decode_head(data, _HEADER_CHARS * 3 // 4)
        size = media.image_size(head)
        if size is None and media_type == "image/jpeg" and len(data) > _HEADER_CHARS:
            size = media.image_size(media.decode_all(data, "image"))
        width, height = rules.image_size
        if size is not None and (size[0] > width or size[1] > height):
            problems.append(f"{size[0]}x{size[1]} pixels (limit {width}x{height})")
    subtype = media_type.split("/")[-1]
    if rules.image_formats is not None and subtype not in rules.image_formats:
        problems.append(f"{media_type} (takes {', '.join(rules.image_formats)})")
    if not problems:
        return block
    why = f"the image is over {rules.provider}'s limits: {'; '.join(problems)}"
    return _downscaled(rules, block, why)


@functools.lru_cache(maxsize=8)
def _downscaled(rules: MediaRules, block: ContentBlock, why: str) -> ContentBlock:
    out, out_type = downscale_image(
        media.decode_all(block.data or "", "image"),
        block.media_type or "image/png",
        max_bytes=rules.image_bytes,
        max_size=rules.image_size,
        accepted=list(rules.image_formats) if rules.image_formats is not None else None,
        why=why,
    )
    return attrs.evolve(block, data=b64(out), media_type=out_type)


def _fit_audio(rules: MediaRules, block: ContentBlock) -> ContentBlock:
    accepted = rules.audio_formats
    fmt = block.audio_format
    if accepted is None or fmt in accepted or (fmt == "ogg" and "opus" in accepted):
        return block
    return _converted(accepted, block, rules.provider)


@functools.lru_cache(maxsize=8)
def _converted(accepted: tuple[str, ...], block: ContentBlock, provider: str) -> ContentBlock:
    fmt = block.audio_format
    why = f"{provider} takes audio as {', '.join(accepted)}, not {fmt or block.media_type}"
    raw = media.decode_all(block.data or "", "audio")
    if fmt == "pcm16" and "wav" in accepted:  # raw samples get a header, no extra needed
        wav = pcm16_to_wav(raw, media.sample_rate_of(block.media_type) or PCM16_RATE)
        return attrs.evolve(block, data=b64(wav), media_type="audio/wav")
    out, out_type = convert_audio(raw, block.media_type or "audio", list(accepted), why=why)
    return attrs.evolve(block, data=b64(out), media_type=out_type)


def check_audio_output(rules: MediaRules, params: dict[str, Any]) -> None:
    """The requested ``audio.format`` is one the provider declares it answers in."""
    audio = params.get("audio")
    formats = rules.audio_out_formats
    if not isinstance(audio, dict) or formats is None or audio.get("format") is None:
        return
    wanted = str(audio["format"]).lower()
    if (wanted if wanted != "pcm16" else "pcm") not in formats:
        shown = ", ".join("pcm16" if f == "pcm" else f for f in formats)
        raise ParameterError(
            f"{rules.provider} answers with audio in {shown}, not {audio['format']!r}",
            code="E1001",
            provider=rules.provider,
        )


def _dig(section: dict[str, Any], *keys: str) -> dict[str, Any]:
    node: Any = section
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    if not isinstance(node, dict) or node.get("supported") is False:
        return {}
    return node


def _names(value: Any) -> tuple[str, ...] | None:
    if not isinstance(value, list) or not value:
        return None
    return tuple(str(v).lower() for v in value)


def _parse_size(manifest: Manifest, value: Any) -> int | None:
    if value is None:
        return None
    match = _SIZE.match(str(value))
    if match is None:
        raise ManifestError(
            f"multimodal max_file_size must look like '20MB', got {value!r}",
            path=manifest.source,
            key="multimodal",
        )
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


def _parse_resolution(manifest: Manifest, value: Any) -> tuple[int, int] | None:
    if value is None:
        return None
    width, sep, height = str(value).lower().partition("x")
    if not (sep and width.isdigit() and height.isdigit()):
        raise ManifestError(
            f"multimodal max_resolution must look like '8000x8000', got {value!r}",
            path=manifest.source,
            key="multimodal",
        )
    return int(width), int(height)
