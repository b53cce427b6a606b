"""Stopping a stream part-way: cooperative cancellation (seed "Stream Cancellation";
README "Stream cancellation")."""

from _target import provider_or_mock

from ailib import AiClient
from ailib.client import CancellableStream, CancelReason, create_cancel_pair
from ailib.errors import CancelledError

provider_or_mock("openai")

with AiClient.create("openai/gpt-4o") as client:
    token, handle = create_cancel_pair()  # the handle may be given to another thread
    stream = client.chat().user("Write a long story about a lighthouse keeper").stream()
    cancellable = CancellableStream(stream, token)

    received = 0
    for event in cancellable:
        if event.is_content_delta:
            print(event.as_content_delta.content, end="", flush=True)
            received += 1
            if received == 3:  # e.g. the user pressed "stop"
                handle.cancel(CancelReason.USER_REQUEST)
        if token.is_cancelled:
            print("\n[Cancelled]")
            break

    try:
        cancellable.final_response()
    except CancelledError as err:  # E4002, with what arrived before the cancel
        print(f"{err.code}: kept {err.partial.content!r}")
