"""The README's ``ailib`` command section runs as shown (mock models: no key, no network)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from ailib.cli import main
from ailib.testing import MockServer, Scenario

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
SECTION = README.split("## The `ailib` command", 1)[1].split("\n## ", 1)[0]


def _block(language: str) -> str:
    match = re.search(rf"```{language}\n(.*?)```", SECTION, re.S)
    assert match, f"no {language} block in the README's ailib section"
    return match.group(1)


def _command() -> list[str]:
    script = Path(sys.executable).with_name("ailib")  # the installed entry point
    return [str(script)] if script.exists() else [sys.executable, "-m", "ailib.cli"]


COMMANDS = [line for line in _block("bash").splitlines() if line.strip()]


@pytest.mark.parametrize("line", COMMANDS)
def test_readme_command_runs_as_shown(line: str) -> None:
    words = shlex.split(line, comments=True)
    assert words[0] == "ailib"
    result = subprocess.run(
        [*_command(), *words[1:]],
        stdin=subprocess.DEVNULL,  # the conversation ends at once (end of input)
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    shown = line.partition("#")[2].strip().removesuffix("...}")
    if shown[:1] in "[{" and shown:  # the comment shows (the start of) what is printed
        assert shown in result.stdout + result.stderr
    if "--json" not in words and words[-1] != "mock/echo":
        assert result.stdout.strip() == f"echo: {words[-1]}"


def test_readme_tools_file_is_offered_and_run(
    tmp_path: Path, mock_server: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    calc = tmp_path / "calc.py"
    calc.write_text(_block("python"))
    mock_server.push(Scenario(tool_calls=[("add", {"a": 2, "b": 3})]), Scenario(text="5"))
    url = mock_server.base_url("mock")
    argv = ["chat", "--model", "mock/tools", "--base-url", url, "--tools", str(calc), "2+3?"]
    assert main(argv) == 0
    assert capsys.readouterr().out == "5\n"
    tool = mock_server.requests[0].json()["tools"][0]["function"]
    assert (tool["name"], tool["description"]) == ("add", "Add two integers.")
    answer = mock_server.requests[1].json()["messages"][-1]
    assert (answer["role"], answer["content"]) == ("tool", "5")
