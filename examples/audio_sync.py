"""Audio in and out: a spoken question, a spoken answer saved as WAV, a streamed answer
(README "Audio")."""

import io
import tempfile
import wave
from pathlib import Path

from _target import provider_or_mock

from ailib import AiClient, ContentBlock, Message

provider_or_mock("openai")


def silence_wav(seconds: float = 0.5, rate: int = 24000) -> bytes:
    """A short WAV clip; use ContentBlock.audio_file("question.wav") for a real recording."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as clip:
        clip.setnchannels(1)
        clip.setsampwidth(2)
        clip.setframerate(rate)
        clip.writeframes(b"\x00\x00" * int(seconds * rate))
    return buffer.getvalue()


with AiClient.create("openai/gpt-4o-audio-preview") as client:
    # audio in: the format is read from the bytes
    question = Message.user([ContentBlock.text("What is said?"), ContentBlock.audio(silence_wav())])
    print(client.chat().messages([question]).execute().content)

    # audio out: the spoken answer, decoded
    voice = {"voice": "alloy", "format": "wav"}
    resp = (
        client.chat()
        .messages([question])
        .param("modalities", ["text", "audio"])
        .param("audio", voice)
        .execute()
    )
    answer = Path(tempfile.mkdtemp()) / "answer.wav"
    resp.audio.save(answer)
    print(f"saved {answer.stat().st_size} bytes of {resp.audio.format}")
    print(f"said: {resp.audio.transcript!r}")

    # streamed: the audio deltas join into the final audio
    pcm = {"voice": "alloy", "format": "pcm16"}
    request = client.chat().user("Count to three").param("modalities", ["text", "audio"])
    with request.param("audio", pcm).stream() as stream:
        chunks = [e.as_audio_delta.data for e in stream if e.is_audio_delta]
    print(
        f"streamed {len(chunks)} audio chunks, joined == final: "
        f"{b''.join(chunks) == stream.final_response().audio.data}"
    )
