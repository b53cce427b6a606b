"""The seed README's "Stream Cancellation" example runs as written (ailib names), async
and sync, against the mock server (pointed at by a manifest overlay, as in test_readme).

Both ways of stopping are exercised: a cancel from another task or thread while the loop
waits (the example's comment), and the example's own ``if token.is_cancelled: ... break``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ailib.client import CancelHandle, CancelToken, create_cancel_pair
from ailib.testing import MockServer, Scenario

SEED_ASYNC = """
from ailib import AsyncAiClient
from ailib.client import create_cancel_pair, CancellableStream, CancelReason

async def cancellable_stream():
    client = await AsyncAiClient.create("openai/gpt-4o")

    # Create cancel token and handle
    token, handle = create_cancel_pair()

    # Start streaming with cancellation support
    stream = client.chat().user("Write a long story...").stream()
    cancellable = CancellableStream(stream, token)

    # In another task, you can cancel:
    # handle.cancel(CancelReason.USER_REQUEST)

    async for event in cancellable:
        if event.is_content_delta:
            print(event.as_content_delta.content, end="")

        # Check if cancelled
        if token.is_cancelled:
            print("\\n[Cancelled]")
            break
"""

SEED_SYNC = """
from ailib import AiClient
from ailib.client import create_cancel_pair, CancellableStream, CancelReason

def cancellable_stream():
    client = AiClient.create("openai/gpt-4o")

    # Create cancel token and handle
    token, handle = create_cancel_pair()

    # Start streaming with cancellation support
    stream = client.chat().user("Write a long story...").stream()
    cancellable = CancellableStream(stream, token)

    # In another thread, you can cancel:
    # handle.cancel(CancelReason.USER_REQUEST)

    for event in cancellable:
        if event.is_content_delta:
            print(event.as_content_delta.content, end="")

        # Check if cancelled
        if token.is_cancelled:
            print("\\n[Cancelled]")
            break
"""

STORY = " ".join(f"w{i}" for i in range(200))  # 0.05 s apart: 10 s to the end
PROMPT = 5.0


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MockServer]:
    with MockServer() as srv:
        (tmp_path / "openai.yaml").write_text(f"endpoint:\n  base_url: {srv.base_url('openai')}\n")
        monkeypatch.setenv("AI_PROTOCOL_PATH", str(tmp_path))
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        srv.push(Scenario(text=STORY, chunk_delay=0.05))
        yield srv


class Recorder:
    """Stands in for the example's ``create_cancel_pair`` and ``print``: keeps the handle,
    the printed text, and cancels once ``cancel_on`` is printed (when given)."""

    def __init__(self, cancel_on: str | None = None) -> None:
        self.handles: list[CancelHandle] = []
        self.out = ""
        self.cancel_on = cancel_on

    def create_cancel_pair(self) -> tuple[CancelToken, CancelHandle]:
        token, handle = create_cancel_pair()
        self.handles.append(handle)
        return token, handle

    def print(self, *parts: Any, end: str = "\n") -> None:
        text = " ".join(map(str, parts)) + end
        self.out += text
        if self.cancel_on is not None and text.strip() == self.cancel_on:
            self.handles[0].cancel()


def run_example(source: str, recorder: Recorder) -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    exec(compile(source, "README.md", "exec"), namespace)
    namespace["create_cancel_pair"] = recorder.create_cancel_pair
    namespace["print"] = recorder.print
    return namespace


async def test_seed_example_cancelled_from_another_task_async(server: MockServer) -> None:
    recorder = Recorder()
    namespace = run_example(SEED_ASYNC, recorder)
    task = asyncio.create_task(namespace["cancellable_stream"]())
    for _ in range(int(PROMPT / 0.02)):
        if "w3" in recorder.out:
            break
        await asyncio.sleep(0.02)
    cancelled_at = time.monotonic()
    recorder.handles[0].cancel()
    await asyncio.wait_for(task, PROMPT)
    assert time.monotonic() - cancelled_at < PROMPT
    assert recorder.out.startswith("w0 w1 w2 w3") and "w199" not in recorder.out
    while server.aborted_streams < 1 and time.monotonic() - cancelled_at < PROMPT:
        await asyncio.sleep(0.02)
    assert server.aborted_streams == 1  # the server saw the connection end


async def test_seed_example_breaks_on_its_own_check_async(server: MockServer) -> None:
    recorder = Recorder(cancel_on="w3")  # cancelled from inside the loop's body
    namespace = run_example(SEED_ASYNC, recorder)
    await asyncio.wait_for(namespace["cancellable_stream"](), PROMPT)
    assert recorder.out == "w0 w1 w2 w3\n[Cancelled]\n"
    started = time.monotonic()
    while server.aborted_streams < 1 and time.monotonic() - started < PROMPT:
        await asyncio.sleep(0.02)
    assert server.aborted_streams == 1


def test_seed_example_cancelled_from_another_thread_sync(server: MockServer) -> None:
    recorder = Recorder()
    namespace = run_example(SEED_SYNC, recorder)
    runner = threading.Thread(target=namespace["cancellable_stream"])
    runner.start()
    deadline = time.monotonic() + PROMPT
    while "w3" not in recorder.out and time.monotonic() < deadline:
        time.sleep(0.02)
    cancelled_at = time.monotonic()
    recorder.handles[0].cancel()
    runner.join(PROMPT)
    assert not runner.is_alive()
    assert time.monotonic() - cancelled_at < PROMPT
    assert recorder.out.startswith("w0 w1 w2 w3") and "w199" not in recorder.out
    while server.aborted_streams < 1 and time.monotonic() - cancelled_at < PROMPT:
        time.sleep(0.02)
    assert server.aborted_streams == 1


def test_seed_example_breaks_on_its_own_check_sync(server: MockServer) -> None:
    recorder = Recorder(cancel_on="w3")
    namespace = run_example(SEED_SYNC, recorder)
    namespace["cancellable_stream"]()
    assert recorder.out == "w0 w1 w2 w3\n[Cancelled]\n"
    started = time.monotonic()
    while server.aborted_streams < 1 and time.monotonic() - started < PROMPT:
        time.sleep(0.02)
    assert server.aborted_streams == 1
