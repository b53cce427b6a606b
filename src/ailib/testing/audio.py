"""Audio for the mock server: what a request's audio sounds like, and spoken answers.

The echo answer names the audio it received (``echo: what is said? [heard wav audio,
0.50 s]``). A request asking for audio out (OpenAI ``modalities`` with "audio", Gemini
``responseModalities`` with "AUDIO") is answered with a short deterministic tone as long
as the answer text, in the requested format: ``wav`` and raw ``pcm16`` always, ``mp3``,
``flac`` and ``opus`` when ``soundfile`` is installed. The transcript is the answer text.

Example::

    server.push(Scenario(text="Hello there"))
    resp = (client.chat().user("Say hello")
            .param("modalities", ["text", "audio"])
            .param("audio", {"voice": "alloy", "format": "wav"}).execute())
    resp.audio.transcript  # 'Hello there'
"""

from __future__ import annotations

import base64
import binascii
import importlib
import importlib.util
import io
import math
import struct
import wave
from typing import Any

RATE = 24000  # OpenAI pcm16 and Gemini speech: 24 kHz, 16-bit, mono
GEMINI_PCM = f"audio/L16;codec=pcm;rate={RATE}"
#: seconds of tone per word of the answer (at least one word)
SECONDS_PER_WORD = 0.05
#: longest answer voiced in full (10 s of tone); longer text gets no longer audio
MAX_WORDS = 200
#: pieces a streamed answer's audio is cut into
AUDIO_CHUNKS = 4
_SOUNDFILE = {"mp3": ("MP3", "MPEG_LAYER_III"), "flac": ("FLAC", "PCM_16"), "opus": ("OGG", "OPUS")}


def describe_part(item: dict[str, Any]) -> str | None:
    """``[heard wav audio, 0.50 s]`` for an audio content part (OpenAI or Gemini), else None."""
    if item.get("type") == "input_audio" and isinstance(item.get("input_audio"), dict):
        audio = item["input_audio"]
        return _heard(str(audio.get("format") or "?"), audio.get("data"))
    inline = item.get("inlineData") or item.get("inline_data")
    if isinstance(inline, dict):
        mime = str(inline.get("mimeType") or inline.get("mime_type") or "")
        if mime.startswith("audio/"):
            return _heard(mime.split("/", 1)[1], inline.get("data"))
    return None


def _heard(fmt: str, data: Any) -> str:
    try:
        raw = base64.b64decode(str(data or ""), validate=True)
    except (binascii.Error, ValueError):
        return f"[heard {fmt} audio, not base64]"
    seconds = _wav_seconds(raw)
    length = f"{seconds:.2f} s" if seconds is not None else f"{len(raw)} bytes"
    return f"[heard {fmt} audio, {length}]"


def _wav_seconds(raw: bytes) -> float | None:
    if raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        return None
    try:
        with wave.open(io.BytesIO(raw)) as reader:
            frames, rate = int(reader.getnframes()), int(reader.getframerate())
        return frames / rate
    except (wave.Error, EOFError, ZeroDivisionError):
        return None


def wanted_format(dialect: str, body: dict[str, Any]) -> str | None:
    """The audio format a request asks its answer in (None: no audio asked)."""
    if dialect == "gemini":
        config = body.get("generationConfig")
        modalities = config.get("responseModalities") if isinstance(config, dict) else None
        wanted = isinstance(modalities, list) and "AUDIO" in modalities
        return "pcm16" if wanted else None
    modalities = body.get("modalities")
    if not (isinstance(modalities, list) and "audio" in modalities):
        return None
    audio = body.get("audio")
    fmt = audio.get("format") if isinstance(audio, dict) else None
    return str(fmt or "wav")


def format_problem(dialect: str, body: dict[str, Any]) -> str | None:
    """Why the mock cannot speak the requested format (None: it can)."""
    fmt = wanted_format(dialect, body)
    if fmt is None or fmt in ("wav", "pcm16"):
        return None
    if fmt not in _SOUNDFILE:
        return f"the mock server renders audio as wav, pcm16, mp3, flac or opus, not {fmt!r}"
    if importlib.util.find_spec("soundfile") is None:
        return f"the mock server needs soundfile (pip install 'ailib[audio]') to render {fmt}"
    return None


def speak(text: str, fmt: str) -> bytes:
    """A deterministic tone, ``SECONDS_PER_WORD`` per word of ``text`` (at most
    ``MAX_WORDS``), in ``fmt``."""
    words = min(max(len(text.split()), 1), MAX_WORDS)
    frames = int(RATE * SECONDS_PER_WORD * words)
    samples = [int(8000 * math.sin(2 * math.pi * 440 * i / RATE)) for i in range(frames)]
    pcm = struct.pack(f"<{frames}h", *samples)
    if fmt == "pcm16":
        return pcm
    if fmt == "wav":
        out = io.BytesIO()
        with wave.open(out, "wb") as writer:
            writer.setnchannels(1)
            writer.setsampwidth(2)
            writer.setframerate(RATE)
            writer.writeframes(pcm)
        return out.getvalue()
    numpy = importlib.import_module("numpy")
    soundfile = importlib.import_module("soundfile")
    container, subtype = _SOUNDFILE[fmt]
    rate = 48000 if fmt == "opus" else RATE  # Opus does not take 24 kHz in every build
    if rate != RATE:
        samples = [samples[i * RATE // rate] for i in range(frames * rate // RATE)]
    out = io.BytesIO()
    soundfile.write(
        out, numpy.array(samples, dtype="int16"), rate, format=container, subtype=subtype
    )
    return out.getvalue()


def chunks(data: bytes, count: int = AUDIO_CHUNKS) -> list[str]:
    """``data`` cut in ``count`` pieces, each base64-encoded on its own (as streamed)."""
    size = max(1, -(-len(data) // count))
    return [base64.b64encode(data[i : i + size]).decode() for i in range(0, len(data), size)]


def openai_audio(seq: int, created: int, text: str, fmt: str) -> dict[str, Any]:
    """OpenAI's ``message.audio`` for a non-streamed answer."""
    return {
        "id": f"audio_mock{seq:024d}",
        "data": base64.b64encode(speak(text, fmt)).decode(),
        "expires_at": created + 3600,
        "transcript": text,
    }


def openai_stream_deltas(
    seq: int, created: int, pieces: list[str], text: str, fmt: str
) -> list[dict[str, Any]]:
    """The ``delta`` objects of a streamed spoken answer: transcript pieces, then audio."""
    audio_id = f"audio_mock{seq:024d}"
    deltas: list[dict[str, Any]] = []
    for i, piece in enumerate(pieces):
        first = {"content": None, "audio": {"id": audio_id, "transcript": piece}}
        deltas.append(first if i == 0 else {"audio": {"transcript": piece}})
    for data in chunks(speak(text, fmt)):
        deltas.append({"audio": {"id": audio_id, "data": data}})
    deltas.append({"audio": {"id": audio_id, "expires_at": created + 3600}})
    return deltas


def gemini_parts(text: str) -> list[dict[str, Any]]:
    """Gemini ``inlineData`` parts of a spoken answer (one per streamed chunk)."""
    return [
        {"inlineData": {"mimeType": GEMINI_PCM, "data": data}}
        for data in chunks(speak(text, "pcm16"))
    ]
