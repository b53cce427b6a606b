"""Stopping a stream from another task (seed "Stream Cancellation"; README "Stream
cancellation")."""

import asyncio

from _target import provider_or_mock

from ailib import AsyncAiClient
from ailib.client import CancellableStream, CancelReason, create_cancel_pair
from ailib.errors import CancelledError

provider_or_mock("openai")


async def cancellable_stream() -> None:
    client = await AsyncAiClient.create("openai/gpt-4o")
    token, handle = create_cancel_pair()

    stream = client.chat().user("Write a long story about a lighthouse keeper").stream()
    cancellable = CancellableStream(stream, token)
    first_words = asyncio.Event()
    received = 0

    async def stop_soon() -> None:  # in another task, you can cancel
        await first_words.wait()
        handle.cancel(CancelReason.USER_REQUEST)

    stopper = asyncio.create_task(stop_soon())
    async for event in cancellable:
        if event.is_content_delta:
            print(event.as_content_delta.content, end="", flush=True)
            received += 1
            if received == 3:
                first_words.set()
            await asyncio.sleep(0)  # let the other task run
        if token.is_cancelled:
            print("\n[Cancelled]")
            break
    await stopper
    try:
        await cancellable.final_response()
    except CancelledError as err:  # E4002, with what arrived before the cancel
        print(f"{err.code} ({token.reason}): kept {err.partial.content!r}")
    await client.close()


asyncio.run(cancellable_stream())
