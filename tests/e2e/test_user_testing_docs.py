"""The README's "Testing your code" blocks are a user's test suite, and it passes.

Each python block in that section starts with ``# <file name>``; the blocks are written
to a fresh folder (no ailib conftest, no pytest configuration: what a user has) and run
by pytest in a subprocess. Every ``test_`` function in the blocks must pass: the
``ailib.testing`` fixtures and the respx routes, sync and async. Nothing leaves the
machine: the mock listens on 127.0.0.1 and respx answers inside the process (an
unmatched request is an error, not a connection).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
HEADING = "## Testing your code"


def section_files() -> dict[str, str]:
    """File name -> content, from the section's python blocks (``# name.py`` first line)."""
    section = README.split(HEADING, 1)[1].split("\n## ", 1)[0]
    files: dict[str, str] = {}
    for block in re.findall(r"```python\n(.*?)```", section, re.S):
        first, _, _ = block.partition("\n")
        assert re.fullmatch(r"# [\w.]+\.py", first), f"block without '# file.py': {first!r}"
        name = first[2:]
        files[name] = files.get(name, "") + block
    return files


def test_the_section_has_both_ways_sync_and_async() -> None:
    files = section_files()
    assert set(files) == {"conftest.py", "test_with_mock_server.py", "test_with_respx.py"}
    assert "ailib.testing.pytest_plugin" in files["conftest.py"]
    for name in ("test_with_mock_server.py", "test_with_respx.py"):
        assert re.search(r"^def test_", files[name], re.M), name
        assert re.search(r"^async def test_\w+_async", files[name], re.M), name
    assert "respx.post(" in files["test_with_respx.py"]


@pytest.mark.httpx_only  # the user suite's respx half intercepts httpx
def test_the_section_runs_as_a_user_test_suite(tmp_path: Path) -> None:
    files = section_files()
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    expected = sum(len(re.findall(r"^(?:async )?def test_", t, re.M)) for t in files.values())
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith("_API_KEY") and k not in ("AI_PROTOCOL_PATH", "PYTEST_ADDOPTS")
    }
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")  # no user manifests
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert f"{expected} passed" in done.stdout, done.stdout[-2000:]
