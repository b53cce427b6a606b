"""Audio in and out end to end, through the mock server's OpenAI and Gemini dialects.

Every provider-facing test has a sync and an async twin. The README's audio example runs
as shown against the mock (its manifests pointed there by an overlay).
"""

from __future__ import annotations

import base64
import io
import re
import wave
from pathlib import Path
from typing import Any

import pytest

from ailib import AiClient, AsyncAiClient, ContentBlock, Message
from ailib.errors import CapabilityError, MediaError, ParameterError
from ailib.testing import MockServer, Scenario

SPEAK = {"voice": "alloy", "format": "wav"}
PCM = {"voice": "alloy", "format": "pcm16"}


def wav_clip(seconds: float = 0.25, rate: int = 16000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(b"\x01\x00" * int(rate * seconds))
    return out.getvalue()


def question() -> Message:
    return Message.user([ContentBlock.text("What is said?"), ContentBlock.audio(wav_clip())])


def _openai(server: MockServer) -> dict[str, Any]:
    return {"api_key": "k", "base_url": server.base_url("openai")}


def _gemini(server: MockServer) -> dict[str, Any]:
    return {"api_key": "k", "base_url": server.base_url("gemini")}


def _is_wav(data: bytes) -> bool:
    return data[:4] == b"RIFF" and data[8:12] == b"WAVE"


# ---- audio in -----------------------------------------------------------------------------


def test_audio_in_openai_and_gemini_sync(mock_server: MockServer) -> None:
    with AiClient.create("openai/gpt-4o-audio-preview", **_openai(mock_server)) as client:
        resp = client.chat().messages([question()]).execute()
    assert resp.content == "echo: What is said? [heard wav audio, 0.25 s]"
    part = mock_server.requests[-1].json()["messages"][0]["content"][1]
    assert part["type"] == "input_audio" and part["input_audio"]["format"] == "wav"
    assert base64.b64decode(part["input_audio"]["data"]) == wav_clip()
    with AiClient.create("gemini/gemini-2.5-flash", **_gemini(mock_server)) as client:
        resp = client.chat().messages([question()]).execute()
    assert resp.content == "echo: What is said? [heard wav audio, 0.25 s]"
    inline = mock_server.requests[-1].json()["contents"][0]["parts"][1]["inlineData"]
    assert inline["mimeType"] == "audio/wav" and base64.b64decode(inline["data"]) == wav_clip()


async def test_audio_in_openai_and_gemini_async(mock_server: MockServer) -> None:
    client = await AsyncAiClient.create("openai/gpt-4o-audio-preview", **_openai(mock_server))
    async with client:
        resp = await client.chat().messages([question()]).execute()
    assert resp.content == "echo: What is said? [heard wav audio, 0.25 s]"
    client = await AsyncAiClient.create("gemini/gemini-2.5-flash", **_gemini(mock_server))
    async with client:
        resp = await client.chat().messages([question()]).execute()
    assert resp.content == "echo: What is said? [heard wav audio, 0.25 s]"
    assert mock_server.requests[-1].json()["contents"][0]["parts"][1]["inlineData"]["data"]


def test_audio_in_is_refused_before_sending_sync(mock_server: MockServer) -> None:
    base = mock_server.base_url("anthropic")
    with AiClient.create("anthropic/claude-sonnet-4-5", api_key="k", base_url=base) as client:
        refused = pytest.raises(CapabilityError, match="'audio_in'")
        with refused as info:
            client.chat().messages([question()]).execute()
    assert info.value.code == "E1005"
    with AiClient.create("openai/gpt-4o", **_openai(mock_server)) as client:  # model lacks it
        refused = pytest.raises(CapabilityError, match="model 'gpt-4o'")
        with refused:
            client.chat().messages([question()]).execute()
    assert mock_server.requests == []


async def test_audio_in_is_refused_before_sending_async(mock_server: MockServer) -> None:
    base = mock_server.base_url("anthropic")
    client = await AsyncAiClient.create("anthropic/claude-sonnet-4-5", api_key="k", base_url=base)
    async with client:
        with pytest.raises(CapabilityError, match="'audio_in'"):
            await client.chat().messages([question()]).execute()
    assert mock_server.requests == []


def test_a_flac_clip_is_converted_for_openai_sync(mock_server: MockServer) -> None:
    soundfile = pytest.importorskip("soundfile")
    numpy = pytest.importorskip("numpy")
    flac = io.BytesIO()
    soundfile.write(flac, numpy.zeros(1600, dtype="int16"), 16000, format="FLAC")
    clip = Message.user([ContentBlock.text("hi"), ContentBlock.audio(flac.getvalue())])
    with AiClient.create("openai/gpt-4o-audio-preview", **_openai(mock_server)) as client:
        client.chat().messages([clip]).execute()
    audio = mock_server.requests[-1].json()["messages"][0]["content"][1]["input_audio"]
    assert audio["format"] == "wav" and _is_wav(base64.b64decode(audio["data"]))


async def test_a_flac_clip_is_converted_for_openai_async(mock_server: MockServer) -> None:
    soundfile = pytest.importorskip("soundfile")
    numpy = pytest.importorskip("numpy")
    flac = io.BytesIO()
    soundfile.write(flac, numpy.zeros(1600, dtype="int16"), 16000, format="FLAC")
    clip = Message.user([ContentBlock.text("hi"), ContentBlock.audio(flac.getvalue())])
    client = await AsyncAiClient.create("openai/gpt-4o-audio-preview", **_openai(mock_server))
    async with client:
        await client.chat().messages([clip]).execute()
    audio = mock_server.requests[-1].json()["messages"][0]["content"][1]["input_audio"]
    assert audio["format"] == "wav"


def test_a_contradicting_declared_type_never_reaches_the_wire() -> None:
    with pytest.raises(MediaError, match="declared 'audio/mpeg' but its bytes are 'audio/wav'"):
        ContentBlock.audio(wav_clip(), "mp3")


# ---- audio out ----------------------------------------------------------------------------


def test_spoken_answer_and_its_id_next_turn_sync(mock_server: MockServer) -> None:
    mock_server.push(Scenario(text="Hello there, friend"), Scenario(text="again"))
    with AiClient.create("openai/gpt-4o-audio-preview", **_openai(mock_server)) as client:
        builder = client.chat().user("Say hello").param("modalities", ["text", "audio"])
        resp = builder.param("audio", SPEAK).execute()
        assert mock_server.requests[-1].json()["audio"] == SPEAK
        audio = resp.audio
        assert audio is not None and audio.format == "wav" and _is_wav(audio.data)
        assert audio.transcript == "Hello there, friend" and audio.id and audio.expires_at
        history = [Message.user("Say hello"), resp.to_message(), Message.user("Again")]
        client.chat().messages(history).execute()
    replayed = mock_server.requests[-1].json()["messages"][1]
    assert replayed == {"role": "assistant", "audio": {"id": audio.id}, "content": None}


async def test_spoken_answer_and_its_id_next_turn_async(mock_server: MockServer) -> None:
    mock_server.push(Scenario(text="Hello there, friend"), Scenario(text="again"))
    client = await AsyncAiClient.create("openai/gpt-4o-audio-preview", **_openai(mock_server))
    async with client:
        builder = client.chat().user("Say hello").param("modalities", ["text", "audio"])
        resp = await builder.param("audio", SPEAK).execute()
        assert resp.audio is not None and resp.audio.transcript == "Hello there, friend"
        history = [Message.user("Say hello"), resp.to_message(), Message.user("Again")]
        await client.chat().messages(history).execute()
    replayed = mock_server.requests[-1].json()["messages"][1]
    assert replayed["audio"] == {"id": resp.audio.id}


def test_streamed_audio_deltas_join_into_the_final_audio_sync(mock_server: MockServer) -> None:
    mock_server.push(Scenario(text="one two three four"))
    with AiClient.create("openai/gpt-4o-audio-preview", **_openai(mock_server)) as client:
        builder = client.chat().user("Count").param("modalities", ["text", "audio"])
        with builder.param("audio", PCM).stream() as stream:
            deltas = [e.as_audio_delta for e in stream if e.is_audio_delta]
            final = stream.final_response()
    assert final.audio is not None and final.audio.format == "pcm16"
    assert final.audio.sample_rate == 24000
    assert len([d for d in deltas if d.data]) > 1
    assert b"".join(d.data for d in deltas) == final.audio.data
    assert "".join(d.transcript for d in deltas) == final.audio.transcript == "one two three four"
    assert _is_wav(final.audio.wav_bytes())


async def test_streamed_audio_deltas_join_into_the_final_audio_async(
    mock_server: MockServer,
) -> None:
    mock_server.push(Scenario(text="one two three four"))
    client = await AsyncAiClient.create("openai/gpt-4o-audio-preview", **_openai(mock_server))
    async with client:
        builder = client.chat().user("Count").param("modalities", ["text", "audio"])
        async with builder.param("audio", PCM).stream() as stream:
            deltas = [e.as_audio_delta async for e in stream if e.is_audio_delta]
            final = await stream.final_response()
    assert final.audio is not None
    assert b"".join(d.data for d in deltas) == final.audio.data
    assert "".join(d.transcript for d in deltas) == final.audio.transcript


def test_gemini_speech_sync(mock_server: MockServer) -> None:
    model = "gemini/gemini-2.5-flash-preview-tts"
    with AiClient.create(model, **_gemini(mock_server)) as client:
        builder = client.chat().user("Say hi").param("modalities", ["audio"])
        resp = builder.param("audio", {"voice": "Kore"}).execute()
        body = mock_server.requests[-1].json()["generationConfig"]
        with client.chat().user("Say hi there").param("modalities", ["audio"]).stream() as stream:
            chunks = [e.as_audio_delta.data for e in stream if e.is_audio_delta]
            final = stream.final_response()
    assert body["responseModalities"] == ["AUDIO"]
    assert body["speechConfig"]["voiceConfig"]["prebuiltVoiceConfig"]["voiceName"] == "Kore"
    assert resp.audio is not None and resp.audio.format == "pcm16"
    assert resp.audio.sample_rate == 24000 and len(resp.audio.data) % 2 == 0
    assert final.audio is not None and len(chunks) > 1 and b"".join(chunks) == final.audio.data


async def test_gemini_speech_async(mock_server: MockServer) -> None:
    client = await AsyncAiClient.create(
        "gemini/gemini-2.5-flash-preview-tts", **_gemini(mock_server)
    )
    async with client:
        builder = client.chat().user("Say hi").param("modalities", ["audio"])
        resp = await builder.execute()
        async with client.chat().user("Say hi there").param("modalities", ["audio"]).stream() as st:
            chunks = [e.as_audio_delta.data async for e in st if e.is_audio_delta]
            final = await st.final_response()
    assert resp.audio is not None and resp.audio.format == "pcm16"
    assert final.audio is not None and b"".join(chunks) == final.audio.data


def test_audio_out_is_refused_where_undeclared_sync(mock_server: MockServer) -> None:
    with AiClient.create("openai/gpt-4o", **_openai(mock_server)) as client:
        speak = client.chat().user("hi").param("modalities", ["text", "audio"])
        with pytest.raises(CapabilityError, match="'audio_out'"):
            speak.param("audio", SPEAK).execute()
    with AiClient.create("openai/gpt-4o-audio-preview", **_openai(mock_server)) as client:
        with pytest.raises(ParameterError, match="also pass"):  # no voice/format given
            client.chat().user("hi").param("modalities", ["text", "audio"]).execute()
        with pytest.raises(ParameterError, match="not 'ogg'"):  # not a format it answers in
            client.chat().user("hi").param("modalities", ["audio"]).param(
                "audio", {"voice": "alloy", "format": "ogg"}
            ).execute()
    assert mock_server.requests == []


async def test_audio_out_is_refused_where_undeclared_async(mock_server: MockServer) -> None:
    client = await AsyncAiClient.create("openai/gpt-4o", **_openai(mock_server))
    async with client:
        speak = client.chat().user("hi").param("modalities", ["text", "audio"])
        with pytest.raises(CapabilityError, match="'audio_out'"):
            await speak.param("audio", SPEAK).execute()
    assert mock_server.requests == []


# ---- the README example ----------------------------------------------------------------------

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")


def test_readme_audio_example_runs_as_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mock_server: MockServer
) -> None:
    overlay = tmp_path / "manifests"
    overlay.mkdir()
    for provider in ("openai", "gemini"):
        (overlay / f"{provider}.yaml").write_text(
            f"endpoint:\n  base_url: {mock_server.base_url(provider)}\n"
        )
    monkeypatch.setenv("AI_PROTOCOL_PATH", str(overlay))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("GEMINI_API_KEY", "g-test")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "question.wav").write_bytes(wav_clip())
    section = README.split("### Audio", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None
    exec(compile(match.group(1), "README.md", "exec"), {})
    assert _is_wav((tmp_path / "answer.wav").read_bytes())
    assert _is_wav((tmp_path / "day.wav").read_bytes())
    paths = [r.path for r in mock_server.requests]
    assert paths[:4] == ["/v1/chat/completions"] * 4
    assert mock_server.requests[3].json()["messages"][1]["audio"]["id"].startswith("audio_")
    assert paths[-1].endswith(":generateContent")


# ---- images fitted to the provider's declared limits on the way out -------------------------


def _tall_png() -> bytes:
    image_module = pytest.importorskip("PIL.Image")
    out = io.BytesIO()
    image_module.new("RGB", (40, 9000), (10, 120, 200)).save(out, format="PNG")
    return out.getvalue()


def _sent_size(server: MockServer) -> tuple[int, int]:
    image_module = pytest.importorskip("PIL.Image")
    source = server.requests[-1].json()["messages"][0]["content"][1]["source"]
    with image_module.open(io.BytesIO(base64.b64decode(source["data"]))) as image:
        return tuple(image.size)  # type: ignore[return-value]


def test_an_image_over_anthropics_pixel_limit_is_downscaled_sync(mock_server: MockServer) -> None:
    message = Message.user([ContentBlock.text("what?"), ContentBlock.image_base64(_tall_png())])
    base = mock_server.base_url("anthropic")
    with AiClient.create("anthropic/claude-sonnet-4-5", api_key="k", base_url=base) as client:
        client.chat().messages([message]).execute()
    width, height = _sent_size(mock_server)
    assert height == 8000 and width in (35, 36)


async def test_an_image_over_anthropics_pixel_limit_is_downscaled_async(
    mock_server: MockServer,
) -> None:
    message = Message.user([ContentBlock.text("what?"), ContentBlock.image_base64(_tall_png())])
    base = mock_server.base_url("anthropic")
    client = await AsyncAiClient.create("anthropic/claude-sonnet-4-5", api_key="k", base_url=base)
    async with client:
        await client.chat().messages([message]).execute()
    assert _sent_size(mock_server)[1] == 8000
