"""A model's spoken answer (``resp.audio``), and raw PCM wrapped as WAV.

Example::

    resp = (client.chat().user("Say hi")
            .param("modalities", ["text", "audio"])
            .param("audio", {"voice": "alloy", "format": "wav"})
            .execute())
    resp.audio.transcript        # 'Hi!'
    resp.audio.save("hi.wav")    # the decoded bytes, as the provider sent them
    history.append(resp.to_message())  # the audio id goes back next turn
"""

from __future__ import annotations

import io
import os
import wave

import attrs

from ailib.types import media

#: OpenAI's ``pcm16`` output: 24 kHz, 16-bit little-endian, mono.
PCM16_RATE = 24000


@attrs.frozen
class AudioOutput:
    """Audio a model answered with, decoded.

    ``data`` holds the bytes (streamed chunks joined in order), ``format`` their format
    (``"wav"``, ``"mp3"``, ``"flac"``, ``"opus"``, ``"aac"`` or raw ``"pcm16"``),
    ``transcript`` what was said, ``id`` and ``expires_at`` the provider's handle for
    replaying the answer in the next turn (OpenAI), ``sample_rate`` the rate of raw PCM.

    Example::

        resp.audio.save("answer.wav")
        resp.audio.wav_bytes()  # raw pcm16 wrapped in a WAV header; other formats as-is
    """

    data: bytes = attrs.field(repr=lambda d: f"<{len(d):,} bytes>")
    format: str | None = None
    transcript: str = ""
    id: str | None = None
    expires_at: int | None = None
    sample_rate: int | None = None

    @property
    def media_type(self) -> str | None:
        """``audio/wav``, ``audio/mpeg``... (None when the format is unknown)."""
        return media.AUDIO_FORMATS.get(self.format or "")

    def wav_bytes(self) -> bytes:
        """The audio as a WAV file: raw ``pcm16`` gets a header; WAV is returned as is.

        Other formats raise :class:`ValueError` (convert them with the ``audio`` extra).
        """
        if self.format == "wav":
            return self.data
        if self.format == "pcm16":
            return pcm16_to_wav(self.data, self.sample_rate or PCM16_RATE)
        raise ValueError(f"audio in {self.format!r} is not WAV or raw pcm16")

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the bytes to ``path`` (raw ``pcm16`` is written as a WAV file)."""
        with open(path, "wb") as handle:
            handle.write(self.wav_bytes() if self.format == "pcm16" else self.data)


def pcm16_to_wav(pcm: bytes, sample_rate: int = PCM16_RATE, channels: int = 1) -> bytes:
    """16-bit little-endian PCM samples as a WAV file."""
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(2)
        writer.setframerate(sample_rate)
        writer.writeframes(pcm[: len(pcm) - len(pcm) % (2 * channels)])
    return out.getvalue()


def output_format(data: bytes, mime_type: str | None, fallback: str | None) -> str | None:
    """The format of answered audio: raw PCM when the wire's MIME type says so, else its
    signature, else the wire's MIME type, else ``fallback`` (OpenAI's raw ``pcm16``
    carries neither)."""
    if mime_type and media.normalize(mime_type) in media.RAW_AUDIO:
        return "pcm16"  # the wire says raw samples: no signature to read (Gemini's L16)
    found = media.sniff(data) if data else None
    if found == "audio/ogg":
        return "opus" if b"OpusHead" in data[:64] else "ogg"
    if found is not None and found.startswith("audio/"):
        return media.audio_format(found)
    if mime_type:
        named = media.audio_format(mime_type)
        if named is not None:
            return named
    return fallback


def sample_rate_of(mime_type: str | None) -> int | None:
    """The ``rate=`` parameter of a MIME type such as ``audio/L16;codec=pcm;rate=24000``."""
    return media.sample_rate_of(mime_type)
