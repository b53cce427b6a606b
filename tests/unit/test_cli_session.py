"""The conversation behind ``ailib chat``: what the history keeps after Ctrl-C or an error."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from ailib.cli.session import ChatSession, ChatSettings, Totals
from ailib.cli.tools_file import ToolFile
from ailib.errors import AiLibError
from ailib.testing import MockServer, Scenario

TOOLS = '''
def stop_here(x: int) -> int:
    """A tool during which the user presses Ctrl-C."""
    raise KeyboardInterrupt
'''


def session(server: MockServer, tmp_path: Path) -> ChatSession:
    path = tmp_path / "tools.py"
    path.write_text(TOOLS)
    settings = ChatSettings(
        model="mock/echo", base_url=server.base_url("mock"), tools=ToolFile.load(str(path))
    )
    return ChatSession(settings, out=io.StringIO())


def test_ctrl_c_during_a_tool_drops_the_unfinished_round(
    mock_server: MockServer, tmp_path: Path
) -> None:
    chat = session(mock_server, tmp_path)
    try:
        chat.ask("First")
        assert [m.role.value for m in chat.history] == ["user", "assistant"]
        mock_server.push(Scenario(tool_calls=[("stop_here", {"x": 1})]))
        with pytest.raises(KeyboardInterrupt):
            chat.ask("Second")
        # the question got no answer and its tool round was cut: nothing of it stays
        assert [m.role.value for m in chat.history] == ["user", "assistant"]
        mock_server.push(Scenario(text="Half an answer", tool_calls=[("stop_here", {"x": 1})]))
        with pytest.raises(KeyboardInterrupt):
            chat.ask("Third")
        kept = [(m.role.value, m.text) for m in chat.history[2:]]
        assert kept == [("user", "Third"), ("assistant", "Half an answer")]
        chat.ask("Fourth")  # the history is valid for the provider again
        sent = mock_server.requests[-1].json()["messages"]
        assert [m["role"] for m in sent] == ["user", "assistant"] * 2 + ["user"]
    finally:
        chat.close()


def test_a_failed_question_leaves_the_history_as_it_was(
    mock_server: MockServer, tmp_path: Path
) -> None:
    chat = session(mock_server, tmp_path)
    try:
        chat.ask("First")
        mock_server.push(Scenario(status=400))
        with pytest.raises(AiLibError):
            chat.ask("Second")
        assert [m.text for m in chat.history] == ["First", "echo: First"]
        assert chat.totals.calls == 1
    finally:
        chat.close()


def test_totals_add_up_and_say_when_a_price_is_missing() -> None:
    from ailib.types.response import ChatResponse, Cost, Usage

    totals = Totals()
    totals.add(ChatResponse("a", usage=Usage(10, 5, 15), cost=Cost(0.001, 0.002)))
    totals.add(ChatResponse("b", usage=Usage(1, 1, 2), cost=Cost(0.0, 0.0005)))
    assert totals.describe() == "tokens in=11 out=6 total=17 · cost $0.003500"
    totals.add(ChatResponse("c", usage=Usage(1, 1, 2)))
    assert totals.describe().endswith("cost unknown (no price)")
