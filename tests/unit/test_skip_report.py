"""A plain ``python -m pytest`` without ``../shared`` says in one line what it skipped.

The hook lives in tests/conftest.py; these tests run pytest in a subprocess on tiny test
folders that use that conftest, and on the real compliance suite with an empty
``COMPLIANCE_DIR``.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent


def run_pytest(args: list[str], cwd: Path, **env: str) -> list[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("COMPLIANCE_DIR", "PYTEST_ADDOPTS")}
    environ.update(env)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.splitlines()


def summary(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("skipped: ")]


def tiny_suite(folder: Path, *, with_skips: bool) -> Path:
    (folder / "conftest.py").write_text((TESTS / "conftest.py").read_text("utf-8"), "utf-8")
    (folder / "test_plain.py").write_text(
        "import pytest\n\n"
        "def test_ok():\n    pass\n\n"
        "@pytest.mark.skip(reason='unrelated')\ndef test_other_skip():\n    pass\n"
    )
    if with_skips:
        (folder / "test_needs_compliance.py").write_text(
            "import pytest\n\n"
            "pytest.skip('COMPLIANCE_DIR is not set and /nowhere/tests/compliance has no cases/"
            " folder', allow_module_level=True)\n"
        )
        (folder / "test_needs_upstream.py").write_text(
            "import pytest\n\n"
            "mark = pytest.mark.skipif(True, reason="
            "'no AI-Protocol manifests under /nowhere/ai-protocol (set AI_PROTOCOL_DIR)')\n\n"
            "@mark\ndef test_one():\n    pass\n\n@mark\ndef test_two():\n    pass\n"
        )
    return folder


def test_one_line_names_each_skipped_suite_and_how_to_run_it(tmp_path: Path) -> None:
    lines = summary(run_pytest([], tiny_suite(tmp_path, with_skips=True)))
    assert len(lines) == 1, lines
    line = lines[0]
    assert "compliance suite (COMPLIANCE_DIR is not set" in line
    assert (
        "run with COMPLIANCE_DIR=<ai-protocol checkout>/tests/compliance python -m pytest" in line
    )
    assert "upstream-manifest tests, 2 tests (no AI-Protocol manifests under /nowhere" in line
    assert "run with AI_PROTOCOL_DIR=<ai-protocol checkout>" in line
    assert "unrelated" not in line


def test_no_line_when_nothing_needing_shared_skipped(tmp_path: Path) -> None:
    assert summary(run_pytest([], tiny_suite(tmp_path, with_skips=False))) == []


def test_the_real_compliance_suite_reports_its_skip(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    lines = run_pytest(["tests/compliance"], ROOT, COMPLIANCE_DIR=str(empty))
    found = summary(lines)
    assert len(found) == 1, lines
    assert f"compliance suite (COMPLIANCE_DIR={empty} has no cases/ folder; run with" in found[0]


def load_compliance_conftest() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "compliance_conftest_copy", TESTS / "compliance" / "conftest.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_compliance_dir_defaults_to_shared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_compliance_conftest()
    monkeypatch.delenv("COMPLIANCE_DIR", raising=False)
    monkeypatch.setattr(module, "SHARED_SUITE", tmp_path / "shared-suite")
    assert module.compliance_dir() is None
    assert "COMPLIANCE_DIR is not set" in module.skip_reason()
    (tmp_path / "shared-suite" / "cases").mkdir(parents=True)
    assert module.compliance_dir() == tmp_path / "shared-suite"
    monkeypatch.setenv("COMPLIANCE_DIR", str(tmp_path / "elsewhere"))  # the variable wins
    assert module.compliance_dir() is None
    assert module.skip_reason() == f"COMPLIANCE_DIR={tmp_path / 'elsewhere'} has no cases/ folder"


def test_the_real_upstream_manifest_tests_report_their_skip(tmp_path: Path) -> None:
    empty = tmp_path / "no-ai-protocol"
    empty.mkdir()
    lines = run_pytest(["tests/unit/test_upgrade.py"], ROOT, AI_PROTOCOL_DIR=str(empty))
    found = summary(lines)
    assert len(found) == 1, lines
    assert found[0].startswith("skipped: upstream-manifest tests, ")
    assert f" tests (no AI-Protocol manifests under {empty}; run with" in found[0]
    assert "run with AI_PROTOCOL_DIR=<ai-protocol checkout>" in found[0]
