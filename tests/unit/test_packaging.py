"""Packaging: the wheel holds the library (generated modules, manifests' runtime copy,
licence) and nothing else, its extras are complete, and it runs without the source tree.

The wheel is built offline with the installed hatchling (a dev dependency). The
install-from-the-registry check (``pip install ailib[all]`` in a fresh venv, then
``ailib chat``) needs the network, so it is a step of ``.ci/run``, not a test here.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ailib.runtime.compiled_helpers import dig, is_code
from codegen.compile import HELPER_MODULE, HELPERS

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
#: Extras that are not runtime features: left out of ``all``.
NOT_RUNTIME_EXTRAS = {"all", "dev", "codegen", "docs"}
PIP = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [
            *PIP,
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-w",
            str(out),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (built,) = out.glob("ailib-*.whl")
    return built


@pytest.fixture(scope="module")
def names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def _metadata(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as archive:
        (meta,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return archive.read(meta).decode()


def test_wheel_holds_every_generated_provider_module(names: set[str]) -> None:
    generated = sorted((SRC / "ailib/providers").glob("*.py"))
    assert len(generated) > 30  # every manifest compiles to one module
    for path in generated:
        assert path.relative_to(SRC).as_posix() in names
    assert "ailib/runtime/compiled_helpers.py" in names  # what the generated modules import


def test_wheel_holds_the_manifests_runtime_copy_and_sync_twins(names: set[str]) -> None:
    # The manifests ship compiled into ailib.providers (MANIFEST literals) plus the schema.
    assert "ailib/protocol/provider.schema.json" in names
    assert "ailib/py.typed" in names
    twins = [p.relative_to(SRC).as_posix() for p in SRC.glob("ailib/**/_sync_*.py")]
    assert twins and set(twins) <= names


def test_wheel_holds_no_tests_caches_or_repo_files(names: set[str]) -> None:
    for name in names:
        top = name.split("/")[0]
        assert top == "ailib" or top.endswith(".dist-info"), name
        assert "__pycache__" not in name and not name.endswith(".pyc"), name
        assert not re.search(r"(^|/)(tests?|conftest\.py|test_[^/]*\.py)($|/)", name), name


def test_wheel_metadata_has_licence_entry_point_and_extras(wheel: Path, names: set[str]) -> None:
    meta = _metadata(wheel)
    assert "License-Expression: MIT" in meta
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    extras = set(re.findall(r"^Provides-Extra: (\S+)$", meta, re.M))
    assert {"tokens", "redis", "otel", "hot", "all"} <= extras
    with zipfile.ZipFile(wheel) as archive:
        (entry,) = [n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt")]
        assert "ailib = ailib.cli:main" in archive.read(entry).decode()


def test_all_extra_is_the_union_of_the_runtime_extras(wheel: Path) -> None:
    by_extra: dict[str, set[str]] = {}
    for req, extra in re.findall(
        r"^Requires-Dist: (.+?); extra == '([^']+)'$", _metadata(wheel), re.M
    ):
        by_extra.setdefault(extra, set()).add(req)
    runtime = set().union(*(r for e, r in by_extra.items() if e not in NOT_RUNTIME_EXTRAS))
    assert runtime and by_extra["all"] == runtime


def test_installed_wheel_runs_the_cli_without_the_source_tree(wheel: Path, tmp_path: Path) -> None:
    """A fresh venv gets the wheel (no source tree, no editable install) and chats offline.

    Its dependencies come from this environment's site-packages through a path file, so
    no registry is needed; the editable ailib there is not picked up (its own path file
    is not read from a directory added that way), which the module path check confirms.
    """
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site_of = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    fresh_site = subprocess.run(
        [str(python), "-c", site_of], capture_output=True, text=True, check=True
    ).stdout.strip()
    dev_site = subprocess.run(
        [sys.executable, "-c", site_of], capture_output=True, text=True, check=True
    ).stdout.strip()
    Path(fresh_site, "ailib_test_deps.pth").write_text(dev_site + "\n")
    install = subprocess.run(
        [*PIP, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    where = subprocess.run(
        [str(python), "-c", "import ailib; print(ailib.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert where.returncode == 0, where.stderr
    assert where.stdout.strip().startswith(fresh_site), where.stdout
    chat = subprocess.run(
        [str(venv / "bin" / "ailib"), "chat", "--model", "mock/echo", "hi"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert chat.returncode == 0, chat.stdout + chat.stderr
    assert "echo: hi" in chat.stdout


def test_generated_modules_import_shared_helpers_and_keep_imports_at_the_top() -> None:
    """No generated module repeats a runtime helper; its imports precede all other code."""
    helpers = set(HELPERS.values())
    for path in sorted((SRC / "ailib/providers").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        body = tree.body[1:] if isinstance(tree.body[0], ast.Expr) else tree.body  # docstring
        first_code = next(
            (n for n, node in enumerate(body) if not isinstance(node, ast.Import | ast.ImportFrom)),
            len(body),
        )
        late = [
            node.lineno
            for node in body[first_code:]
            if isinstance(node, ast.Import | ast.ImportFrom)
        ]
        assert not late, f"{path.name}: imports after code at lines {late}"
        defined = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
        assert not defined & (set(HELPERS) | helpers), path.name
        for node in body[:first_code]:
            if isinstance(node, ast.ImportFrom) and node.module == HELPER_MODULE:
                assert {alias.name for alias in node.names} <= helpers, path.name


def test_compiled_helpers_behave() -> None:
    assert dig({"a": [{"b": 1}]}, ("a", 0, "b")) == 1
    assert dig({"a": [1, 2]}, ("a", -1)) == 2
    assert dig({"a": [1]}, ("a", 5)) is None
    assert dig({"a": 1}, ("a", "b")) is None
    assert is_code("rate_limit") and is_code(429) and is_code(0)
    assert not is_code(True) and not is_code("") and not is_code(None) and not is_code(1.5)
