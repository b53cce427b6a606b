"""``ailib chat`` driven through a pseudo-terminal: conversation, commands, Ctrl-C, Ctrl-D."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from ailib.testing import MockServer, Scenario

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")

WAIT = 30.0  # generous: the machine may be loaded; nothing here is a speed assertion


class Terminal:
    """``python -m ailib.cli ...`` on a pseudo-terminal; read what it shows, type into it."""

    def __init__(self, *args: str) -> None:
        self.master, slave = os.openpty()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ailib.cli", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            close_fds=True,
            env={**os.environ, "TERM": "dumb"},
        )
        os.close(slave)
        self.seen = ""

    def expect(self, pattern: str, wait: float = WAIT) -> str:
        """Wait until ``pattern`` (a regex) appears after what earlier calls consumed."""
        deadline = time.monotonic() + wait
        while True:
            match = re.search(pattern, self.seen)
            if match:
                shown, self.seen = self.seen[: match.end()], self.seen[match.end() :]
                return shown
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{pattern!r} not shown; the terminal shows {self.seen!r}")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:  # EIO: the process is gone
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"{pattern!r} not shown before exit: {self.seen!r}")
                self.seen += chunk.decode("utf-8", "replace").replace("\r\n", "\n")

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def ask(self, line: str) -> None:
        self.expect(r"you> ")
        self.type(line + "\n")

    def interrupt(self) -> None:
        self.proc.send_signal(signal.SIGINT)  # what Ctrl-C sends to the foreground process

    def interrupt_at_the_prompt(self, shown: str) -> None:
        """Ctrl-C until ``shown`` appears. The line editor (readline) notices a signal only
        while it waits for a key: one landing while it is still drawing the last key is
        taken at the next key or signal, so a second Ctrl-C is sent then, as a person would.
        """
        for _ in range(10):
            self.interrupt()
            try:
                self.expect(shown, wait=2.0)
            except AssertionError:
                continue
            return
        self.expect(shown)

    def wait(self) -> int:
        """The exit code, once the process has closed the terminal."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.5)
            try:
                chunk = os.read(self.master, 4096) if ready else b"."
            except OSError:  # EIO: the process is gone
                break
            if not chunk:
                break
        return self.proc.wait(timeout=WAIT)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    opened: list[Terminal] = []
    yield opened
    for terminal in opened:
        terminal.close()


def start(terminals: list[Terminal], *args: str) -> Terminal:
    terminal = Terminal(*args)
    terminals.append(terminal)
    return terminal


def test_a_conversation_keeps_history_and_obeys_commands(
    mock_server: MockServer, terminals: list[Terminal]
) -> None:
    chat = start(
        terminals, "chat", "--model", "mock/echo", "--base-url", mock_server.base_url("mock")
    )
    chat.expect(r"/help lists commands")
    chat.ask("Hello")
    chat.expect(r"echo: Hello")
    chat.ask("Again")
    chat.expect(r"echo: Again")
    second = mock_server.requests[-1].json()["messages"]
    assert [(m["role"], m["content"]) for m in second] == [
        ("user", "Hello"),
        ("assistant", "echo: Hello"),
        ("user", "Again"),
    ]
    chat.ask("/cost")
    chat.expect(r"tokens in=\d+ out=\d+ total=\d+ · cost \$0\.000000 over 2 calls")
    chat.ask("/system Be brief.")
    chat.expect(r"\[system: Be brief\.\]")
    chat.ask("/model mock/tools")
    chat.expect(r"\[model: mock/tools\]")
    chat.ask("Third")
    chat.expect(r"echo: Third")
    third = mock_server.requests[-1].json()
    assert third["model"] == "tools" and third["messages"][0]["content"] == "Be brief."
    assert len(third["messages"]) == 6  # system + three questions + two answers
    chat.ask("/reset")
    chat.expect(r"\[conversation forgotten\]")
    chat.ask("Fourth")
    chat.expect(r"echo: Fourth")
    roles = [m["role"] for m in mock_server.requests[-1].json()["messages"]]
    assert roles == ["system", "user"]
    chat.ask("/model nope/x")
    chat.expect(r"ailib: E1004 not_found: unknown provider 'nope'")
    chat.ask("/help")
    chat.expect(r"/exit +leave")
    chat.ask("/exit")
    assert chat.wait() == 0


@pytest.fixture
def own_server() -> Iterator[MockServer]:
    """A server of the test's own: its ``aborted_streams`` counts this test's streams only
    (the session server's count also holds streams earlier tests of the process closed)."""
    with MockServer() as server:
        yield server


def test_ctrl_c_stops_the_answer_and_the_conversation_goes_on(
    own_server: MockServer, terminals: list[Terminal]
) -> None:
    mock_server = own_server
    words = " ".join(f"w{i}" for i in range(400))
    mock_server.push(Scenario(text=words, chunk_delay=0.05))
    chat = start(
        terminals, "chat", "--model", "mock/echo", "--base-url", mock_server.base_url("mock")
    )
    chat.ask("Tell me a long story")
    chat.expect(r"w0 w1 w2")
    chat.interrupt()
    chat.expect(r"\[stopped; the partial answer is kept in the history\]")
    assert chat.proc.poll() is None  # still there
    chat.ask("Next")
    chat.expect(r"echo: Next")
    messages = mock_server.requests[-1].json()["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    partial = messages[1]["content"]
    assert partial.startswith("w0 w1 w2") and len(partial) < len(words)
    deadline = time.monotonic() + WAIT
    while mock_server.aborted_streams < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert mock_server.aborted_streams == 1  # the stream was closed, not read to its end
    chat.expect(r"you> ")
    chat.type("\x04")  # Ctrl-D at the prompt leaves
    assert chat.wait() == 0


def test_ctrl_c_at_the_prompt_drops_the_line_and_does_not_leave(
    mock_server: MockServer, terminals: list[Terminal]
) -> None:
    chat = start(
        terminals, "chat", "--model", "mock/echo", "--base-url", mock_server.base_url("mock")
    )
    chat.expect(r"you> ")
    chat.type("half a line")
    chat.expect(r"half a line")  # shown once the line editor has read it
    chat.interrupt_at_the_prompt(r"\(Ctrl-D or /exit leaves\)")
    chat.ask("Still here?")
    chat.expect(r"echo: Still here\?")
    assert mock_server.requests[-1].json()["messages"] == [
        {"role": "user", "content": "Still here?"}
    ]
    chat.expect(r"you> ")
    chat.type("\x04")
    assert chat.wait() == 0


def test_ctrl_c_during_a_one_shot_answer_exits_130(
    mock_server: MockServer, terminals: list[Terminal]
) -> None:
    mock_server.push(Scenario(text=" ".join(["word"] * 400), chunk_delay=0.05))
    url = mock_server.base_url("mock")
    chat = start(terminals, "chat", "--model", "mock/echo", "--base-url", url, "Go")
    chat.expect(r"word word word")
    chat.interrupt()
    chat.expect(r"ailib: interrupted")
    assert chat.wait() == 130


def test_hostile_answer_is_escaped_on_the_terminal(
    mock_server: MockServer, terminals: list[Terminal]
) -> None:
    mock_server.push(Scenario(text="\x1b]0;pwn\x07 \x1b[2J done"))
    chat = start(
        terminals, "chat", "--model", "mock/echo", "--base-url", mock_server.base_url("mock")
    )
    chat.ask("Hi")
    shown = chat.expect(r"done")
    assert "\\x1b]0;pwn\\x07 \\x1b[2J done" in shown
    assert "\x1b]0;pwn" not in shown and "\x1b[2J" not in shown
    chat.ask("/exit")
    assert chat.wait() == 0
