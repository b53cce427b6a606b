"""The documentation site's generated pages: one per manifest, fresh, complete and escaped.

The strict site build itself (``mkdocs build --strict``) runs in CI (``.ci/run``) and in
``nox -s docs``, not here: it takes about 15 s, and this file checks what can drift
without it (page content, escaping, ``--check`` catching stale pages, the examples of the
testing guide).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import codegen.__main__ as codegen_main
from codegen.docs import docs_env, plan_page, render_docs, replace_nav
from codegen.docs_markdown import code, link, md_text, number, price
from codegen.render import load_manifests

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def manifests() -> list[tuple[dict[str, Any], str]]:
    return load_manifests(ROOT)


@pytest.fixture(scope="module")
def rendered() -> dict[Path, str]:
    return render_docs(ROOT)


def page_of(rendered: dict[Path, str], pid: str) -> str:
    return rendered[ROOT / "docs/providers" / f"{pid}.md"]


def test_a_page_per_manifest_and_an_index(manifests, rendered) -> None:
    ids = {data["id"] for data, _ in manifests}
    pages = {p.stem for p in rendered if p.parent == ROOT / "docs/providers"}
    assert pages == ids | {"index"}
    index = page_of(rendered, "index")
    for pid in ids:
        assert f"]({pid}.md)" in index, pid
    nav = rendered[ROOT / "mkdocs.yml"]
    for pid in ids:
        assert f"      - providers/{pid}.md\n" in nav, pid


def test_pages_on_disk_are_the_rendered_ones(rendered) -> None:
    for path, text in rendered.items():
        assert path.read_text(encoding="utf-8") == text, f"{path} is stale: run python -m codegen"


def test_pages_show_models_prices_and_environment(manifests, rendered) -> None:
    for data, source in manifests:
        page = page_of(rendered, data["id"])
        assert f"from {source}" in page
        auth = data["endpoint"].get("auth", {})
        names = auth.get("token_env") or []
        names = [names] if isinstance(names, str) else names
        for name in [*names, *auth.get("token_env_fallbacks", [])]:
            assert str(code(name)) in page, (data["id"], name)
        for name in data["endpoint"].get("region_env", []):
            assert str(code(name)) in page, (data["id"], name)
        for model_id, info in data.get("metadata", {}).get("models", {}).items():
            row = next(line for line in page.splitlines() if line.startswith(f"| {code(model_id)}"))
            if "context_window" in info:
                assert f"| {number(info['context_window'])} |" in row, (data["id"], model_id)
            pricing = info.get("pricing")
            if pricing:
                cells = [cell.strip() for cell in row.split("|")]
                assert cells[4].split()[0] == price(pricing["input_per_1m"]), row
                assert cells[5].split()[0] == price(pricing["output_per_1m"]), row


def test_openai_page_reads_as_expected(rendered) -> None:
    page = page_of(rendered, "openai")
    assert page.splitlines()[1] == "# OpenAI"
    assert "| <code>OPENAI_API_KEY</code> | API key |" in page
    assert "| <code>gpt-4o</code> | 128,000 | 16,384 | 2.5 | 10 | 1.25 |" in page
    assert "<code>https://api.openai.com/v1</code>" in page
    assert "| chat | <code>/chat/completions</code> |" in page
    bedrock = page_of(rendered, "bedrock")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"):
        assert str(code(name)) in bedrock
    assert "default us-east-1" in bedrock


# ---- escaping: a manifest is data, even hostile data ------------------------------------

HOSTILE = "<script>alert(1)</script>|`x`*[a](javascript:b)\n# h\x1b\u202e"


def hostile_manifest() -> dict[str, Any]:
    return {
        "id": "evil",
        "name": HOSTILE,
        "dialect": "openai_chat",
        "endpoint": {
            "base_url": "https://x.example/<img src=x onerror=alert(1)>",
            "chat": "/chat|x",
            "auth": {"type": "bearer", "token_env": "EVIL_KEY", "token_env_fallbacks": [HOSTILE]},
        },
        "capabilities": {"required": ["text", HOSTILE]},
        "parameters": {HOSTILE: {"type": "float", "range": [0, HOSTILE]}},
        "metadata": {
            "docs": "javascript:alert(1)",
            "api_compatibility": HOSTILE,
            "regional": {HOSTILE: HOSTILE},
            "models": {
                HOSTILE: {
                    "context_window": 1000,
                    "capabilities": [HOSTILE],
                    "pricing": {"input_per_1m": 1.5, "output_per_1m": 3, "currency": HOSTILE},
                },
                "plain-model": {"context_window": 2000},
            },
        },
    }


def hostile_page() -> str:
    data = hostile_manifest()
    plan = plan_page(data, "manifests/providers/evil.yaml", [HOSTILE, "more\nnotes"])
    return docs_env(ROOT).get_template("docs_provider.md.jinja").render(**plan)


def test_md_text_escapes_markup() -> None:
    assert md_text("gpt-4o") == "gpt-4o"
    assert md_text("a|b") == "a&#124;b"
    assert md_text("<b>") == "&#60;b&#62;"
    assert md_text("-x") == "&#45;x"
    assert md_text("OPENAI_API_KEY") == "OPENAI_API_KEY"
    assert md_text("_x_ a__b") == "&#95;x&#95; a&#95;&#95;b"  # no emphasis, in or out of words
    assert md_text("a\nb\x1b") == "a&#92;nb&#92;x1b"
    assert md_text("模型") == "模型"
    assert str(link("javascript:alert(1)")) == md_text("javascript:alert(1)")
    assert (
        str(link("https://example.com/docs"))
        == "[https://example.com/docs](https://example.com/docs)"
    )


def test_hostile_values_cannot_inject_html_or_break_tables() -> None:
    page = hostile_page()
    body = page.split("\n", 1)[1]  # the generated-page comment is the template's own HTML
    # fenced code shows text as is (checked below and by the HTML test): not Markdown here
    body = re.sub(r"```python\n.*?```", "", body, flags=re.S)
    tags = set(re.findall(r"<(/?[a-zA-Z]+)", body))
    assert tags <= {"code", "/code"}, tags
    assert "](javascript" not in body
    # every table row has as many cells as its header
    lines = page.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("|---"):
            width = line.count("|")
            assert lines[i - 1].count("|") == width
            j = i + 1
            while j < len(lines) and lines[j].startswith("|"):
                assert lines[j].count("|") == width, lines[j]
                j += 1
    # a value never leaves its line: the hostile newline and controls show as escapes
    assert "&#92;n" in page and "&#92;x1b" in page and "&#92;u202e" in page
    assert "\x1b" not in page and "\u202e" not in page
    # the example in the fenced code block is one Python string literal on one line
    example = next(line for line in lines if "AiClient.create(" in line)
    assert example.startswith('with AiClient.create("evil/<script>')
    assert "\\n" in example and "```" not in example


def test_hostile_page_renders_to_safe_html() -> None:
    markdown = pytest.importorskip(
        "markdown", reason="Python-Markdown comes with mkdocs (docs extra)"
    )
    html = markdown.markdown(hostile_page(), extensions=["tables", "fenced_code"])
    assert "<script" not in html and "<img" not in html
    assert 'href="javascript' not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html or "&#60;script&#62;" in html
    for table in re.findall(r"<table>.*?</table>", html, re.S):
        widths = {
            row.count("<td") + row.count("<th") for row in re.findall(r"<tr>.*?</tr>", table, re.S)
        }
        assert len(widths) == 1, table


def test_provider_ids_that_cannot_name_a_page_are_refused() -> None:
    data = hostile_manifest()
    data["id"] = "../etc/passwd"
    with pytest.raises(SystemExit, match="cannot name a docs page"):
        plan_page(data, "x.yaml", [])


def test_a_tree_without_mkdocs_yml_has_no_pages(tmp_path: Path) -> None:
    assert render_docs(tmp_path) == {}


def test_nav_region_is_replaced_and_required() -> None:
    text = "nav:\n" + "      # BEGIN GENERATED provider pages (python -m codegen)\n"
    text += "      - providers/old.md\n      # END GENERATED provider pages\n  - Other: x.md\n"
    out = replace_nav(text, ["a", "b-c"])
    assert "old.md" not in out and "      - providers/b-c.md\n" in out
    assert out.endswith("      # END GENERATED provider pages\n  - Other: x.md\n")
    with pytest.raises(SystemExit, match="missing"):
        replace_nav("nav: []\n", ["a"])


# ---- python -m codegen --check fails on stale, missing and orphaned pages ------------------


@pytest.fixture
def docs_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of what the docs pages are rendered from; codegen pointed at it, docs only."""
    shutil.copytree(ROOT / "manifests", tmp_path / "manifests")
    shutil.copytree(ROOT / "codegen/templates", tmp_path / "codegen/templates")
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    monkeypatch.setattr(codegen_main, "ROOT", tmp_path)
    monkeypatch.setattr(codegen_main, "GENERATED_DIRS", [(tmp_path / "docs/providers", "*.md")])
    monkeypatch.setattr(codegen_main, "render_all", lambda root: {})  # Python files: elsewhere
    return tmp_path


def test_check_fails_when_pages_are_stale(docs_root: Path, capsys) -> None:
    assert codegen_main.main(["--check"]) == 1
    assert "missing: docs/providers/openai.md" in capsys.readouterr().out
    assert codegen_main.main([]) == 0
    assert codegen_main.main(["--check"]) == 0
    capsys.readouterr()

    page = docs_root / "docs/providers/openai.md"
    page.write_text(page.read_text().replace("128,000", "64,000"))
    (docs_root / "docs/providers/gone.md").write_text("# a provider whose manifest left\n")
    mkdocs_yml = docs_root / "mkdocs.yml"
    mkdocs_yml.write_text(mkdocs_yml.read_text().replace("      - providers/yi.md\n", ""))
    assert codegen_main.main(["--check"]) == 1
    out = capsys.readouterr().out
    assert "stale: docs/providers/openai.md" in out and "+| <code>gpt-4o</code> | 128,000" in out
    assert "orphaned: docs/providers/gone.md" in out
    assert "stale: mkdocs.yml" in out

    assert codegen_main.main([]) == 0
    assert not (docs_root / "docs/providers/gone.md").exists()
    assert codegen_main.main(["--check"]) == 0


# ---- the testing guide's examples run as written -------------------------------------------


def test_testing_guide_examples_pass(tmp_path: Path) -> None:
    """Each ``# <file>.py`` block of docs/guides/testing.md is written out and run by pytest.

    Both ways of testing one's own code (the mock server fixtures and respx), sync and async.
    """
    pytest.importorskip("respx", reason="respx is a dev dependency")
    text = (ROOT / "docs/guides/testing.md").read_text(encoding="utf-8")
    files = []
    for block in re.findall(r"```python\n(.*?)```", text, re.S):
        name = re.match(r"# (\w+\.py)\n", block)
        if name:
            (tmp_path / name.group(1)).write_text(block, encoding="utf-8")
            files.append(name.group(1))
    assert {"conftest.py", "test_summary_mock.py", "test_summary_respx.py"} <= set(files)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "asyncio_mode=strict",
         "-W", "ignore::DeprecationWarning", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "6 passed" in result.stdout, result.stdout


def test_docstring_markup_reads_as_markdown() -> None:
    pytest.importorskip("griffe", reason="griffe comes with mkdocstrings-python (docs extra)")
    from codegen.docs_griffe import to_markdown

    text = "Uses :class:`~ailib.cache.CacheManager`, :func:`ailib.tokens.estimate_cost`.\n\n"
    text += "Example::\n\n    client = AiClient.create('mock/echo')\n"
    assert to_markdown(text) == (
        "Uses `CacheManager`, `ailib.tokens.estimate_cost`.\n\n"
        "Example:\n\n    client = AiClient.create('mock/echo')\n"
    )
    assert to_markdown("See :meth:`the builder <ailib.AiClient.builder>`.") == "See `the builder`."
