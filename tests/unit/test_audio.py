"""Audio on every wire, the audio accumulator, and media fitted to a provider's limits.

Encoders: audio blocks reach OpenAI Chat (``input_audio``) and Gemini (``inlineData``);
every other dialect refuses them; a model's audio answer goes back by id to OpenAI and
as its transcript elsewhere. The extras (Pillow, soundfile) are exercised when installed
and their absence is simulated to check the error names the extra.
"""

from __future__ import annotations

import base64
import importlib
import io
import json
import random
import struct
import wave
from typing import Any

import pytest

from ailib import ContentBlock, Message
from ailib.dialects import DIALECT_MODULES, ChatRequest, get_dialect
from ailib.dialects._media import MediaRules, fit_block, fit_media, media_needs
from ailib.errors import (
    AiLibError,
    InvalidRequestError,
    ManifestError,
    MediaError,
    ParameterError,
    ProtocolError,
)
from ailib.pipeline.assemble import Assembler
from ailib.protocol.manifest import Manifest
from ailib.runtime.registry import compiled_spec
from ailib.runtime.request import prepare
from ailib.types.audio import AudioOutput, pcm16_to_wav
from ailib.types.response import ChatResponse


def wav(frames: int = 1600, rate: int = 16000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(b"\x02\x00" * frames)
    return out.getvalue()


MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" + b"\x00" * 40
CLIP = ContentBlock.audio(wav())
LATER = 4_000_000_000  # an expires_at far in the future
EARLIER = 1_000_000_000  # one long past


def _encode(dialect: str, *messages: Message, **params: Any) -> dict[str, Any]:
    req = ChatRequest(model="m", messages=list(messages), params=params)
    return get_dialect(dialect)(req)


def _prepare(provider: str, model: str, *messages: Message, **params: Any) -> dict[str, Any]:
    spec = compiled_spec(provider)
    assert spec is not None
    req = ChatRequest(model=model, messages=list(messages), params=params)
    return prepare(spec, req, base_url="http://127.0.0.1:9", query={}).payload


# ---- encoders --------------------------------------------------------------------------------


def test_openai_chat_input_audio() -> None:
    body = _encode("openai_chat", Message.user([ContentBlock.text("q"), CLIP]))
    part = body["messages"][0]["content"][1]
    assert part == {"type": "input_audio", "input_audio": {"data": CLIP.data, "format": "wav"}}
    mp3 = _encode("openai_chat", Message.user([ContentBlock.audio(MP3)]))
    assert mp3["messages"][0]["content"][0]["input_audio"]["format"] == "mp3"


def test_gemini_inline_audio_with_the_documented_mime_types() -> None:
    body = _encode("gemini_generate", Message.user([ContentBlock.text("q"), CLIP]))
    assert body["contents"][0]["parts"][1] == {
        "inlineData": {"mimeType": "audio/wav", "data": CLIP.data}
    }
    mp3 = _encode("gemini_generate", Message.user([ContentBlock.audio(MP3)]))
    assert mp3["contents"][0]["parts"][0]["inlineData"]["mimeType"] == "audio/mp3"


@pytest.mark.parametrize(
    "dialect", sorted(set(DIALECT_MODULES) - {"openai_chat", "gemini_generate"})
)
def test_every_other_dialect_refuses_audio_before_sending(dialect: str) -> None:
    with pytest.raises(AiLibError, match="audio") as info:
        _encode(dialect, Message.user([ContentBlock.text("q"), CLIP]))
    assert info.value.code == "E1001"


@pytest.mark.parametrize("dialect", sorted(DIALECT_MODULES))
def test_an_audio_answer_replays_as_its_transcript_or_its_id(dialect: str) -> None:
    answer = Message.assistant([ContentBlock.audio_ref("audio_9", "It says hi", expires_at=LATER)])
    body = _encode(dialect, Message.user("q"), answer, Message.user("again"))
    text = json.dumps(body)
    if dialect == "openai_chat":
        turn = body["messages"][1]
        assert turn == {"role": "assistant", "audio": {"id": "audio_9"}, "content": None}
    else:
        assert "It says hi" in text and "audio_9" not in text


def test_an_expired_audio_answer_goes_back_as_text_on_openai() -> None:
    answer = Message.assistant(
        [ContentBlock.audio_ref("audio_9", "It says hi", expires_at=EARLIER)]
    )
    turn = _encode("openai_chat", Message.user("q"), answer)["messages"][1]
    assert turn == {"role": "assistant", "content": "It says hi"}


def test_openai_audio_out_needs_voice_and_format() -> None:
    with pytest.raises(ParameterError, match="also pass"):
        _encode("openai_chat", Message.user("q"), modalities=["text", "audio"])
    body = _encode(
        "openai_chat",
        Message.user("q"),
        modalities=["audio"],
        audio={"voice": "x", "format": "wav"},
    )
    assert "modalities" not in body  # placed by the manifest (plain parameters), not here


def test_gemini_audio_out_config() -> None:
    body = _encode("gemini_generate", Message.user("q"), modalities=["text", "audio"])
    assert body["generationConfig"] == {"responseModalities": ["AUDIO"]}
    voiced = _encode(
        "gemini_generate", Message.user("q"), modalities=["audio"], audio={"voice": "Kore"}
    )
    voice = voiced["generationConfig"]["speechConfig"]["voiceConfig"]["prebuiltVoiceConfig"]
    assert voice == {"voiceName": "Kore"}
    with pytest.raises(ParameterError):
        _encode("gemini_generate", Message.user("q"), audio="Kore")


# ---- capabilities, through request preparation --------------------------------------------


def test_media_needs() -> None:
    def req(*messages: Message, **params: Any) -> ChatRequest:
        return ChatRequest(model="m", messages=list(messages), params=params)

    assert media_needs(req(Message.user([CLIP]))) == ["audio_in"]
    assert media_needs(req(Message.user("q"), modalities=["text", "audio"])) == ["audio_out"]
    assert media_needs(req(Message.user("q"), modalities=["text"])) == []
    answer = Message.assistant([ContentBlock.audio_ref("a", "t")])
    assert media_needs(req(Message.user("q"), answer)) == []  # history is not audio input


def test_capabilities_are_checked_per_provider_and_model() -> None:
    speak = {"modalities": ["text", "audio"], "audio": {"voice": "alloy", "format": "wav"}}
    body = _prepare("openai", "gpt-4o-audio-preview", Message.user([CLIP]), **speak)
    assert body["modalities"] == ["text", "audio"] and body["audio"]["format"] == "wav"
    for provider, model, params, need in [
        ("openai", "gpt-4o", {}, "audio_in"),
        ("openai", "gpt-4o", speak, "audio_out"),
        ("anthropic", "claude-sonnet-4-5", {}, "audio_in"),
        ("groq", "llama-3.3-70b-versatile", speak, "audio_out"),
        ("gemini", "gemini-2.5-flash-preview-tts", {}, "audio_in"),
    ]:
        with pytest.raises(AiLibError, match=f"'{need}'") as info:
            _prepare(
                provider, model, Message.user([CLIP]) if not params else Message.user("q"), **params
            )
        assert info.value.code == "E1005", provider


def test_the_requested_output_format_must_be_declared() -> None:
    with pytest.raises(ParameterError, match=r"gemini answers with audio in pcm16, not 'mp3'"):
        _prepare(
            "gemini",
            "gemini-2.5-flash-preview-tts",
            Message.user("q"),
            modalities=["audio"],
            audio={"voice": "Kore", "format": "mp3"},
        )


# ---- the accumulator ------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_streamed_audio_accumulates_in_order() -> None:
    pcm = bytes(range(200)) * 3
    asm = Assembler()
    events = asm.feed([("audio", 0, {"id": "audio_1", "transcript": "Hel"})])
    events += asm.feed([("audio", 0, {"transcript": "lo"})])
    for i in range(0, len(pcm), 128):
        events += asm.feed([("audio", 0, {"data": _b64(pcm[i : i + 128]), "raw_format": "pcm16"})])
    events += asm.feed([("audio", 0, {"id": "audio_1", "expires_at": 123, "sample_rate": 24000})])
    deltas = [e.as_audio_delta for e in events if e.is_audio_delta]
    assert b"".join(d.data for d in deltas) == pcm and all(d.id == "audio_1" for d in deltas)
    audio = asm.response().audio
    assert audio == AudioOutput(pcm, "pcm16", "Hello", "audio_1", 123, 24000)


def test_audio_format_from_signature_then_mime_then_fallback() -> None:
    asm = Assembler()
    asm.feed([("audio", 0, {"data": _b64(wav()), "raw_format": "pcm16", "sample_rate": 24000})])
    audio = asm.response().audio
    assert audio is not None and audio.format == "wav" and audio.sample_rate is None
    gemini = Assembler()
    gemini.feed(
        [("audio", 0, {"data": _b64(b"\x01\x00" * 8), "mime_type": "audio/L16;rate=16000"})]
    )
    out = gemini.response().audio
    assert out is not None and (out.format, out.sample_rate) == ("pcm16", 16000)


def test_inline_data_that_is_not_audio_is_left_alone() -> None:
    asm = Assembler()
    assert asm.feed([("audio", 0, {"data": _b64(b"x"), "mime_type": "image/png"})]) == []
    assert asm.response().audio is None


def test_broken_base64_audio_is_a_typed_error() -> None:
    with pytest.raises(ProtocolError, match="not valid base64"):
        Assembler().feed([("audio", 0, {"data": "@@@not base64@@@"})])
    wrapped = _b64(b"abcdef" * 20)
    asm = Assembler()
    asm.feed([("audio", 0, {"data": wrapped[:40] + "\n" + wrapped[40:]})])
    assert asm.response().audio.data == b"abcdef" * 20  # type: ignore[union-attr]
    noisy = bytes(range(256)) * 3  # its base64 holds "+" and "/"
    url_safe = base64.urlsafe_b64encode(noisy).decode()
    asm = Assembler()
    asm.feed([("audio", 0, {"data": url_safe, "mime_type": "audio/L16;rate=24000"})])
    assert asm.response().audio.data == noisy  # type: ignore[union-attr]


def test_response_to_message_keeps_the_audio_answer() -> None:
    audio = AudioOutput(b"x", "wav", "Hi!", "audio_7", LATER)
    msg = ChatResponse("", audio=audio).to_message()
    assert msg.content == [ContentBlock.audio_ref("audio_7", "Hi!", expires_at=LATER)]
    no_id = ChatResponse("", audio=AudioOutput(b"x", "pcm16", "Hi!")).to_message()
    assert no_id.content == [ContentBlock.text("Hi!")]
    silent = ChatResponse("", audio=AudioOutput(b"x", "pcm16")).to_message()
    assert silent.content == ""


def test_audio_output_helpers(tmp_path: Any) -> None:
    pcm = b"\x01\x00\x02\x00" * 100
    audio = AudioOutput(pcm, "pcm16", sample_rate=16000)
    with wave.open(io.BytesIO(audio.wav_bytes())) as reader:
        assert reader.getframerate() == 16000 and reader.readframes(1000) == pcm
    audio.save(tmp_path / "a.wav")
    assert (tmp_path / "a.wav").read_bytes()[:4] == b"RIFF"
    mp3 = AudioOutput(MP3, "mp3")
    mp3.save(tmp_path / "a.mp3")
    assert (tmp_path / "a.mp3").read_bytes() == MP3 and mp3.media_type == "audio/mpeg"
    with pytest.raises(ValueError, match="not WAV"):
        mp3.wav_bytes()
    assert pcm16_to_wav(b"\x01")[:4] == b"RIFF"  # an odd trailing byte is dropped


# ---- fitting media to the manifest's limits ---------------------------------------------------


def _rules(**kw: Any) -> MediaRules:
    return MediaRules("acme", **kw)


def _png(width: int, height: int, noisy: bool = False) -> bytes:
    image_module = pytest.importorskip("PIL.Image")
    image = image_module.new("RGB", (width, height), (200, 30, 30))
    if noisy:  # random pixels: PNG cannot compress them
        pixels = random.Random(7).randbytes(width * height * 3)
        image = image_module.frombytes("RGB", (width, height), pixels)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_manifest_rules_are_read_and_checked() -> None:
    anthropic = compiled_spec("anthropic")
    assert anthropic is not None
    rules = MediaRules.of(anthropic.manifest)
    assert rules.image_bytes == 5_000_000 and rules.image_size == (8000, 8000)
    assert rules.image_formats == ("jpeg", "png", "gif", "webp") and rules.audio_formats is None
    openai = MediaRules.of(compiled_spec("openai").manifest)  # type: ignore[union-attr]
    assert openai.audio_formats == ("wav", "mp3") and "pcm" in (openai.audio_out_formats or ())
    bad = Manifest(
        {"id": "x", "multimodal": {"input": {"vision": {"max_file_size": "big"}}}}, "x.yaml"
    )
    with pytest.raises(ManifestError, match="max_file_size"):
        MediaRules.of(bad)


def test_nothing_changes_within_the_limits() -> None:
    block = ContentBlock.image_base64(
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10"
    )
    rules = _rules(image_bytes=1000, image_size=(100, 100), image_formats=("png",))
    assert fit_block(rules, block) is block
    req = ChatRequest(model="m", messages=[Message.user([block, CLIP])])
    manifest = compiled_spec("openai").manifest  # type: ignore[union-attr]
    assert fit_media(manifest, req) is req


def test_an_image_over_the_pixel_limit_is_downscaled() -> None:
    image_module = pytest.importorskip("PIL.Image")
    block = ContentBlock.image_base64(_png(900, 300), detail="high")
    fitted = fit_block(_rules(image_size=(300, 300)), block)
    assert fitted is not block and fitted.detail == "high" and fitted.media_type == "image/png"
    assert fit_block(_rules(image_size=(300, 300)), block) is fitted  # converted once
    with image_module.open(io.BytesIO(base64.b64decode(fitted.data or ""))) as image:
        assert image.size == (300, 100)


def test_an_image_over_the_byte_limit_is_shrunk_under_it() -> None:
    pytest.importorskip("PIL.Image")
    block = ContentBlock.image_base64(_png(600, 600, noisy=True))
    assert len(block.data or "") > 200_000
    fitted = fit_block(_rules(image_bytes=60_000, image_formats=("png", "jpeg")), block)
    assert len(fitted.data or "") <= 60_000 and fitted.media_type in ("image/png", "image/jpeg")


def test_an_image_format_the_provider_does_not_take_is_re_encoded() -> None:
    image_module = pytest.importorskip("PIL.Image")
    out = io.BytesIO()
    image_module.new("RGB", (10, 10)).save(out, format="BMP")
    fitted = fit_block(
        _rules(image_formats=("png", "jpeg")), ContentBlock.image_base64(out.getvalue())
    )
    assert fitted.media_type == "image/png"


def test_without_pillow_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    _hide(monkeypatch, "PIL.Image")
    block = ContentBlock.image_base64(
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00\x00\x30\x00" * 2
    )
    with pytest.raises(MediaError, match=r"12288x12288 pixels.*pip install 'ailib\[vision\]'"):
        fit_block(_rules(image_size=(8000, 8000)), block)


def test_audio_in_another_format_is_converted() -> None:
    soundfile = pytest.importorskip("soundfile")
    numpy = pytest.importorskip("numpy")
    flac = io.BytesIO()
    soundfile.write(flac, numpy.arange(800, dtype="int16"), 16000, format="FLAC")
    fitted = fit_block(_rules(audio_formats=("wav", "mp3")), ContentBlock.audio(flac.getvalue()))
    assert fitted.media_type == "audio/wav"
    with wave.open(io.BytesIO(base64.b64decode(fitted.data or ""))) as reader:
        assert reader.getnframes() == 800 and reader.getframerate() == 16000


def test_raw_pcm16_becomes_wav_without_any_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    _hide(monkeypatch, "soundfile")
    block = ContentBlock.audio(b"\x01\x00" * 10, "pcm16")
    fitted = fit_block(_rules(audio_formats=("wav", "mp3")), block)
    assert fitted.media_type == "audio/wav" and base64.b64decode(fitted.data or "")[:4] == b"RIFF"


def test_without_soundfile_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    _hide(monkeypatch, "soundfile")
    flac = ContentBlock.audio(b"fLaC\x00\x00\x00\x22" + b"\x00" * 40)
    with pytest.raises(MediaError, match=r"acme takes audio as wav, mp3, not flac.*ailib\[audio\]"):
        fit_block(_rules(audio_formats=("wav", "mp3")), flac)
    assert fit_block(_rules(audio_formats=("flac",)), flac) is flac  # taken as it is


def _hide(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Make an optional dependency look uninstalled to the converter."""
    real = importlib.import_module

    def fake(module: str, package: str | None = None) -> Any:
        if module == name:
            raise ImportError(f"No module named {name!r}")
        return real(module, package)

    monkeypatch.setattr("ailib.dialects._convert.importlib.import_module", fake)


def test_cli_models_shows_audio(capsys: pytest.CaptureFixture[str]) -> None:
    from ailib.cli import main

    assert main(["models", "openai"]) == 0
    out = capsys.readouterr().out
    assert "audio_in, audio_out" in out.splitlines()[0]
    assert "audio in: wav, mp3" in out and "audio out: wav, mp3" in out
    audio_model = next(line for line in out.splitlines() if line.startswith("gpt-4o-audio-preview"))
    assert "audio_in,audio_out" in audio_model and "(audio $40/$80 per 1M)" in audio_model
    assert main(["models", "gemini"]) == 0
    lines = capsys.readouterr().out.splitlines()
    flash = next(line for line in lines if line.startswith("gemini-2.5-flash "))
    assert "(audio in $1 per 1M)" in flash


# ---- the mock server's voice --------------------------------------------------------------


def test_mock_server_speaks_the_requested_format(mock_server: Any) -> None:
    import httpx

    from ailib.types import media

    url = mock_server.base_url("openai") + "/chat/completions"

    def ask(fmt: str) -> httpx.Response:
        body = {
            "model": "gpt-audio",
            "messages": [{"role": "user", "content": "hi"}],
            "modalities": ["text", "audio"],
            "audio": {"voice": "alloy", "format": fmt},
        }
        return httpx.post(url, json=body)

    wav_answer = ask("wav").json()["choices"][0]["message"]
    assert wav_answer["content"] is None and wav_answer["audio"]["transcript"] == "echo: hi"
    assert media.sniff(base64.b64decode(wav_answer["audio"]["data"])) == "audio/wav"
    refused = ask("aac")
    assert refused.status_code == 400 and "not 'aac'" in refused.json()["error"]["message"]
    pytest.importorskip("soundfile")
    mp3 = ask("mp3").json()["choices"][0]["message"]["audio"]["data"]
    assert media.sniff(base64.b64decode(mp3)) == "audio/mpeg"


# ---- hostile input to the converters and the accumulator --------------------------------------


def test_gemini_raw_pcm_is_pcm_whatever_its_first_bytes() -> None:
    # samples -1, 0 start like an MPEG frame sync; "RIFF" could start raw samples too
    for pcm in (struct.pack("<4h", -1, 0, 100, 200) * 200, b"ID3" + b"\x01" * 300):
        asm = Assembler()
        mime = "audio/L16;codec=pcm;rate=24000"
        asm.feed([("audio", 0, {"data": _b64(pcm), "mime_type": mime})])
        audio = asm.response().audio
        assert audio is not None and audio.format == "pcm16" and audio.sample_rate == 24000
        assert audio.data == pcm
    openai = Assembler()  # OpenAI pcm16: no MIME type, the bytes decide
    pcm = struct.pack("<4h", -1, 0, 100, 200) * 200
    openai.feed([("audio", 0, {"data": _b64(pcm), "raw_format": "pcm16", "sample_rate": 24000})])
    assert openai.response().audio.format == "pcm16"  # type: ignore[union-attr]


def _png_bomb(side: int) -> bytes:
    """A 1-bit grayscale PNG of ``side`` x ``side`` zero pixels: tiny, huge when decoded."""
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    row = b"\x00" * (1 + (side + 7) // 8)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


@pytest.mark.filterwarnings("ignore:Image size .* could be decompression bomb")
def test_a_decompression_bomb_is_refused_before_decoding() -> None:
    pytest.importorskip("PIL.Image")
    bomb = ContentBlock.image_base64(_png_bomb(9500))  # 90 M pixels: Pillow only warns
    assert len(bomb.data or "") < 100_000
    with pytest.raises(MediaError, match="9500x9500 pixels it is too large to decode"):
        fit_block(_rules(image_size=(8000, 8000)), bomb)


def test_the_pixel_bound_applies_before_any_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    image_module = pytest.importorskip("PIL.Image")
    monkeypatch.setattr("ailib.dialects._convert.MAX_DECODE_PIXELS", 50 * 50)
    loads: list[Any] = []
    real_load = image_module.Image.load
    monkeypatch.setattr(
        image_module.Image, "load", lambda self: loads.append(self) or real_load(self)
    )
    block = ContentBlock.image_base64(_png(60, 60))
    loads.clear()  # drawing the test image loaded it
    with pytest.raises(MediaError, match="60x60 pixels it is too large"):
        fit_block(_rules(image_size=(30, 30)), block)
    assert loads == []  # the size came from the header; nothing was decoded
    assert fit_block(_rules(image_size=(30, 30)), ContentBlock.image_base64(_png(40, 40)))


def test_audio_that_decodes_to_too_much_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    soundfile = pytest.importorskip("soundfile")
    numpy = pytest.importorskip("numpy")
    flac = io.BytesIO()  # 10 s of silence: a few kB of FLAC, 320 kB of samples
    soundfile.write(flac, numpy.zeros(160_000, dtype="int16"), 16000, format="FLAC")
    assert len(flac.getvalue()) < 20_000
    monkeypatch.setattr("ailib.dialects._convert.MAX_DECODED_AUDIO_BYTES", 100_000)
    with pytest.raises(MediaError, match="decodes to over 100,000 bytes of samples"):
        fit_block(_rules(audio_formats=("wav",)), ContentBlock.audio(flac.getvalue()))
    short = io.BytesIO()
    soundfile.write(short, numpy.zeros(16_000, dtype="int16"), 16000, format="FLAC")
    fitted = fit_block(_rules(audio_formats=("wav",)), ContentBlock.audio(short.getvalue()))
    assert fitted.media_type == "audio/wav"


def test_conversion_prefers_a_lossless_target() -> None:
    soundfile = pytest.importorskip("soundfile")
    numpy = pytest.importorskip("numpy")
    flac = io.BytesIO()
    soundfile.write(flac, numpy.arange(800, dtype="int16"), 16000, format="FLAC")
    fitted = fit_block(_rules(audio_formats=("mp3", "wav")), ContentBlock.audio(flac.getvalue()))
    assert fitted.media_type == "audio/wav"


def test_a_clip_that_cannot_be_decoded_is_a_media_error() -> None:
    pytest.importorskip("soundfile")
    broken = ContentBlock.audio(b"fLaC" + b"\xff" * 200)  # a FLAC signature, then noise
    with pytest.raises(MediaError, match="cannot be decoded for conversion"):
        fit_block(_rules(audio_formats=("wav",)), broken)


def test_audio_out_is_checked_whatever_the_modalities_spelling() -> None:
    for modalities in (("text", "audio"), ["TEXT", "AUDIO"]):
        with pytest.raises(ParameterError, match="also pass"):
            _encode("openai_chat", Message.user("hi"), modalities=modalities)
        body = _encode("gemini_generate", Message.user("hi"), modalities=modalities)
        assert body["generationConfig"]["responseModalities"] == ["AUDIO"]


def test_raw_pcm_keeps_its_sample_rate_when_wrapped_as_wav(monkeypatch: pytest.MonkeyPatch) -> None:
    _hide(monkeypatch, "soundfile")
    pcm = b"\x01\x00\x02\x00" * 800
    for block in (
        ContentBlock.audio(pcm, "pcm16", sample_rate=16000),
        ContentBlock.audio(pcm, "audio/L16;rate=16000"),
    ):
        assert block.audio_format == "pcm16" and block.media_type in (
            "audio/pcm;rate=16000",
            "audio/l16;rate=16000",
        )
        fitted = fit_block(_rules(audio_formats=("wav", "mp3")), block)
        with wave.open(io.BytesIO(base64.b64decode(fitted.data or ""))) as reader:
            assert reader.getframerate() == 16000 and reader.readframes(4000) == pcm
    default = fit_block(_rules(audio_formats=("wav",)), ContentBlock.audio(pcm, "pcm16"))
    with wave.open(io.BytesIO(base64.b64decode(default.data or ""))) as reader:
        assert reader.getframerate() == 24000  # the documented default
    with pytest.raises(InvalidRequestError, match="sample_rate is for raw pcm16"):
        ContentBlock.audio(wav(), sample_rate=16000)
    with pytest.raises(InvalidRequestError, match="sample_rate must be an int"):
        ContentBlock.audio(pcm, "pcm16", sample_rate=0)
