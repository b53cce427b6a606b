"""``ailib chat`` options, each against the loopback mock server (in process)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from ailib.cli import main
from ailib.testing import MockServer, Scenario

ESC, BEL, CSI = "\x1b", "\x07", "\x9b"
KEY = "sk-cli-test-5f3a9c1e7b"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["chat", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def mock_args(server: MockServer) -> list[str]:
    return ["--model", "mock/echo", "--base-url", server.base_url("mock")]


def openai_args(server: MockServer) -> list[str]:
    return ["--model", "openai/gpt-4o", "--base-url", server.base_url("openai"), "--api-key", KEY]


def test_streams_by_default_and_no_stream_waits(
    mock_server: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, *mock_args(mock_server), "Hello")[:2] == (0, "echo: Hello\n")
    assert mock_server.requests[-1].json()["stream"] is True
    assert run(capsys, *mock_args(mock_server), "--no-stream", "Hello")[:2] == (0, "echo: Hello\n")
    assert "stream" not in mock_server.requests[-1].json()


def test_usage_prints_tokens_and_cost(
    mock_server: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    mock_server.push(Scenario(text="hi", usage=(1000, 500)))
    code, out, err = run(capsys, *openai_args(mock_server), "--usage", "Hello")
    assert (code, out) == (0, "hi\n")
    # gpt-4o: $2.50 / $10 per 1M tokens
    assert "tokens in=1000 out=500 total=1500 · cost $0.007500 · openai/gpt-4o" in err
    mock_server.push(Scenario(text="hi", usage=(1000, 500)))
    assert "tokens" not in run(capsys, *openai_args(mock_server), "Hello")[2]


def test_base_url_and_api_key_are_used_and_the_key_never_shown(
    mock_server: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    mock_server.push(Scenario(text="ok"))
    assert run(capsys, *openai_args(mock_server), "Hello")[0] == 0
    assert mock_server.requests[-1].headers["authorization"] == f"Bearer {KEY}"
    body = {"error": {"message": f"Incorrect API key provided: {KEY}", "code": "invalid_api_key"}}
    mock_server.push(Scenario(status=401, error_body=body))
    code, out, err = run(capsys, *openai_args(mock_server), "--debug", "Hello")
    assert code == 1 and "E1002" in err and KEY not in out + err


def test_json_stream_is_one_object_per_event_then_the_response(
    mock_server: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, *mock_args(mock_server), "--json", "Hi there")
    objects = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(objects) > 3
    deltas = [o["content"] for o in objects if o["type"] == "content_delta"]
    assert "".join(deltas) == "echo: Hi there"
    assert {"stream_end", "usage"} <= {o["type"] for o in objects}
    final = objects[-1]
    assert final["type"] == "response" and final["content"] == "echo: Hi there"
    assert final["usage"]["total_tokens"] > 0 and final["cost"]["currency"] == "USD"


def test_json_without_stream_is_one_object(
    mock_server: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, *mock_args(mock_server), "--json", "--no-stream", "Hi")
    assert code == 0 and len(out.splitlines()) == 1
    final = json.loads(out)
    assert (final["type"], final["content"], final["served_by"]) == (
        "response",
        "echo: Hi",
        "mock/echo",
    )


def test_system_temperature_max_tokens_and_reasoning_reach_the_request(
    mock_server: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--system", "Be brief.", "--temperature", "0.25", "--max-tokens", "7"]
    assert run(capsys, *mock_args(mock_server), *argv, "--reasoning", "low", "Hi")[0] == 0
    body = mock_server.requests[-1].json()
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert (body["temperature"], body["max_tokens"], body["reasoning_effort"]) == (0.25, 7, "low")
    assert run(capsys, *mock_args(mock_server), "Hi")[0] == 0
    plain = mock_server.requests[-1].json()
    assert {"temperature", "max_tokens", "reasoning_effort"}.isdisjoint(plain)
    assert plain["messages"][0]["role"] == "user"


def test_fallback_answers_when_the_model_fails(
    mock_server: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    mock_server.set_default(
        lambda body: Scenario(status=401) if body["model"] == "echo" else Scenario(text="backup")
    )
    code, _, err = run(capsys, *mock_args(mock_server), "Hi")
    assert code == 1 and err.count("\n") == 1 and "E1002" in err
    code, out, err = run(
        capsys, *mock_args(mock_server), "--fallback", "mock/tools", "--usage", "Hi"
    )
    assert (code, out) == (0, "backup\n") and "mock/tools]" in err
    assert [r.json()["model"] for r in mock_server.requests][-2:] == ["echo", "tools"]


def test_the_answer_is_shown_escaped(
    mock_server: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile = f"{ESC}]0;pwn{BEL} {CSI}31mred{ESC}[2J\nnext line"
    for mode in ("--stream", "--no-stream"):
        mock_server.push(Scenario(text=hostile))
        code, out, _ = run(capsys, *mock_args(mock_server), mode, "Hi")
        assert code == 0 and not {ESC, BEL, CSI} & set(out)
        assert "\\x1b]0;pwn\\x07" in out and "\\x9b31mred\\x1b[2J\nnext line" in out
    mock_server.push(Scenario(text=hostile))
    out = run(capsys, *mock_args(mock_server), "--json", "--no-stream", "Hi")[1]
    assert not {ESC, BEL, CSI} & set(out) and json.loads(out)["content"] == hostile


def test_prompt_then_interactive_keeps_the_history(
    mock_server: MockServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("second\n/cost\n"))
    code, out, err = run(capsys, *mock_args(mock_server), "-i", "first")
    assert (code, out) == (0, "echo: first\necho: second\n")  # no prompts when piped
    roles = [m["role"] for m in mock_server.requests[-1].json()["messages"]]
    assert roles == ["user", "assistant", "user"]
    assert "over 2 calls" in err


# ---- --tools ---------------------------------------------------------------------------

CALC = '''
from typing import Literal


def add(a: int, b: int) -> int:
    """Add two numbers.

    Args:
        a: first
        b: second
    """
    return a + b


def fail(reason: str) -> str:
    raise ValueError(reason)


def _hidden(x):
    return x
'''


@pytest.mark.parametrize("mode", ["--stream", "--no-stream"])
def test_tools_file_runs_the_tool_loop(
    mode: str, tmp_path: Path, mock_server: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    calc = tmp_path / "calc.py"
    calc.write_text(CALC)
    mock_server.push(
        Scenario(tool_calls=[("add", {"a": 2, "b": 3}), ("fail", {"reason": "nope"})]),
        Scenario(text="It is 5."),
    )
    code, out, err = run(capsys, *mock_args(mock_server), mode, "--tools", str(calc), "2+3?")
    assert (code, out) == (0, "It is 5.\n")
    first, second = (r.json() for r in mock_server.requests)
    offered = {t["function"]["name"]: t["function"] for t in first["tools"]}
    assert set(offered) == {"add", "fail"}
    assert offered["add"]["parameters"]["properties"]["a"]["type"] == "integer"
    results = [m["content"] for m in second["messages"] if m["role"] == "tool"]
    assert results == ["5", '{"error": "ValueError: nope"}']
    assert '[tool add({"a": 2, "b": 3}) -> 5]' in err


def test_tools_in_json_mode_show_each_result(
    tmp_path: Path, mock_server: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    calc = tmp_path / "calc.py"
    calc.write_text(CALC)
    mock_server.push(Scenario(tool_calls=[("add", {"a": 1, "b": 1})]), Scenario(text="2"))
    out = run(capsys, *mock_args(mock_server), "--json", "--tools", str(calc), "1+1?")[1]
    objects = [json.loads(line) for line in out.splitlines()]
    result = next(o for o in objects if o["type"] == "tool_result")
    assert (result["name"], result["arguments"], result["result"]) == ("add", {"a": 1, "b": 1}, 2)
    assert objects[-1]["content"] == "2"
    mock_server.push(Scenario(tool_calls=[("add", {"a": 1, "b": 1})]), Scenario(text="2"))
    argv = ["--json", "--no-stream", "--tools", str(calc), "1+1?"]
    out = run(capsys, *mock_args(mock_server), *argv)[1]
    assert [json.loads(line)["type"] for line in out.splitlines()] == ["response"]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def add(a: int, b):\n    return a + b\n", "add() has no type hint for parameter 'b'"),
        ("raise RuntimeError('boom')\n", "cannot import: RuntimeError: boom"),
        ("def add(a: int) -> int\n", "cannot import: line 1:"),
        ("import sys\nsys.exit(3)\n", "cannot import: SystemExit: 3"),
        ("X = 1\n", "no public functions"),
        ("__all__ = ['X']\nX = 1\n", "__all__ names 'X', not a function"),
    ],
)
def test_a_tools_file_that_cannot_be_used_is_one_usage_line(
    source: str,
    expected: str,
    tmp_path: Path,
    mock_server: MockServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(source)
    code, out, err = run(capsys, *mock_args(mock_server), "--tools", str(bad), "Hi")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith(f"ailib: usage error: --tools {bad}") and expected in err
    assert "Traceback" not in err and mock_server.requests == []


def test_a_missing_tools_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "--model", "mock/echo", "--tools", str(tmp_path / "no.py"), "Hi")
    assert code == 2 and "no such file" in err


def test_a_model_that_never_stops_calling_tools_is_stopped(
    tmp_path: Path, mock_server: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    calc = tmp_path / "calc.py"
    calc.write_text(CALC)
    mock_server.set_default(Scenario(tool_calls=[("add", {"a": 1, "b": 1})]))
    code, _, err = run(capsys, *mock_args(mock_server), "--tools", str(calc), "loop")
    assert code == 1 and err.splitlines()[-1] == (
        "ailib: error: the model still asked for tools after 10 rounds; stopped"
    )
    assert len(mock_server.requests) == 11


def test_fallback_to_a_mock_model_starts_the_mock_server(
    mock_server: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    mock_server.push(Scenario(status=401))
    code, out, err = run(capsys, *openai_args(mock_server), "--fallback", "mock/echo", "Hi")
    assert (code, out) == (0, "echo: Hi\n"), err
    assert len(mock_server.requests) == 1  # the fallback was served by a server of its own


def test_a_stream_cut_midway_keeps_what_came_and_fails_with_one_line(
    mock_server: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    mock_server.set_default(Scenario(text="one two three four", cut_after=2))
    code, out, err = run(capsys, *mock_args(mock_server), "Hi")
    assert code == 1 and out.startswith("one") and "four" not in out
    assert out.endswith("\n")  # the answer so far, ended by a newline
    assert err.count("\n") == 1 and err.startswith("ailib: E3001 server_error: ")
