"""Audio, async: a spoken answer, then the next turn built on it (README "Audio")."""

import asyncio
import io
import wave

from _target import provider_or_mock

from ailib import AsyncAiClient, ContentBlock, Message

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


async def main() -> None:
    async with await AsyncAiClient.create("openai/gpt-4o-audio-preview") as client:
        question = Message.user(
            [ContentBlock.text("What is said?"), ContentBlock.audio(silence_wav())]
        )
        voice = {"voice": "alloy", "format": "wav"}
        resp = await (
            client.chat()
            .messages([question])
            .param("modalities", ["text", "audio"])
            .param("audio", voice)
            .execute()
        )
        print(f"spoken answer: {len(resp.audio.data)} bytes of {resp.audio.format}")
        print(f"transcript: {resp.audio.transcript!r}")

        # next turn: OpenAI gets the answer back by its audio id, others its transcript
        history = [question, resp.to_message(), Message.user("Say it slower")]
        print((await client.chat().messages(history).execute()).content)


asyncio.run(main())
