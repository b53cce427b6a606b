"""``ailib`` errors: one line on stderr with the standard code and what to do; exit codes."""

from __future__ import annotations

import socket

import pytest

from ailib.cli import main
from ailib.cli.terminal import EXIT_CODES_HELP
from ailib.testing import MockServer, Scenario


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line(err: str) -> str:
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


def test_missing_key_names_the_environment_variables_tried(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("GEMINI_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    code, out, err = run(capsys, "chat", "--model", "gemini/gemini-2.0-flash", "Hi")
    line = one_line(err)
    assert (code, out) == (1, "")
    assert line.startswith("ailib: E1002 authentication: no API key for provider 'gemini'")
    assert "GEMINI_API_KEY, GOOGLE_API_KEY" in line and "--api-key" in line


def test_rate_limit_says_how_long_to_wait(
    mock_server: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    mock_server.set_default(Scenario(status=429, retry_after=0.01))
    url = mock_server.base_url("mock")
    code, _, err = run(capsys, "chat", "--model", "mock/echo", "--base-url", url, "Hi")
    line = one_line(err)
    assert code == 1 and line.startswith("ailib: E2001 rate_limited: mock: ")
    assert "(HTTP 429)" in line and "wait 0.01s and try again" in line


def test_network_error_names_the_address(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:  # a port nobody listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    code, _, err = run(capsys, "chat", "--model", "mock/echo", "--base-url", url, "Hi")
    line = one_line(err)
    assert code == 1 and f"127.0.0.1:{port}" in line and "check the network" in line


@pytest.mark.parametrize(
    ("model", "status", "expected"),
    [
        ("nope/x", 1, "ailib: E1004 not_found: unknown provider 'nope'"),
        ("gpt-4o", 2, "ailib: E1001 invalid_request: model must look like 'provider/model-id'"),
    ],
)
def test_bad_model(
    model: str, status: int, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "chat", "--model", model, "Hi")
    assert code == status and one_line(err).startswith(expected)


def test_an_option_the_model_lacks_is_a_usage_error(
    mock_server: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    url = mock_server.base_url("mock")
    argv = ["chat", "--model", "mock/tools", "--base-url", url, "--reasoning", "high", "Hi"]
    code, _, err = run(capsys, *argv)
    assert code == 2 and one_line(err).startswith("ailib: E1005") and "reasoning" in err
    assert mock_server.requests == []
    code, _, err = run(capsys, "chat", "--model", "mock/echo", "--reasoning", "extreme", "Hi")
    assert code == 2 and one_line(err).startswith("ailib: E1001")


@pytest.mark.parametrize(
    "argv",
    [
        ["chat", "--model", "mock/echo", "--temperature", "hot", "Hi"],
        ["chat", "--model", "mock/echo", "--max-tokens", "many", "Hi"],
        ["chat", "Hi"],
        ["chat", "--model", "mock/echo", "--nope", "Hi"],
        ["frobnicate"],
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, *argv)
    assert (code, out) == (2, "") and one_line(err).startswith("ailib: usage error: ")


def test_debug_shows_the_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--debug", "chat"], ["chat", "--debug"]):
        code, _, err = run(capsys, *argv, "--model", "nope/x", "Hi")
        assert code == 1 and "Traceback (most recent call last)" in err
        assert err.rstrip().splitlines()[-1].startswith("ailib: E1004")


def test_help_documents_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--help"], ["chat", "--help"]):
        code, out, _ = run(capsys, *argv)
        flat = " ".join(out.split())
        assert code == 0 and "0 ok; 1 provider or runtime error" in flat
        assert "2 usage error" in flat and "130 interrupted (Ctrl-C)" in flat
    assert "130 interrupted" in EXIT_CODES_HELP


def test_errors_are_shown_escaped(
    mock_server: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    body = {"error": {"message": "bad \x1b]0;pwn\x07 \x9b2J\nforged line", "type": "x"}}
    mock_server.push(Scenario(status=400, error_body=body))
    url = mock_server.base_url("mock")
    code, _, err = run(capsys, "chat", "--model", "mock/echo", "--base-url", url, "Hi")
    assert code == 1 and "\\x1b]0;pwn\\x07 \\x9b2J\\x0aforged line" in one_line(err)
