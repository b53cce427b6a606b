"""``python -m codegen [--check]``: render every generated file, or check they are fresh.

Generated: ``src/ailib/providers/<id>.py`` per manifest, ``providers/_registry.py`` and
``providers/__init__.py``, the sync twins of the async runtime (an unasync pass), the
runtime copy of the manifest JSON Schema, and the documentation site's provider pages
(``docs/providers/*.md`` and their entries in ``mkdocs.yml``, see ``codegen.docs``).
``--check`` renders in memory, compares the whole file set byte for byte (missing,
changed, orphaned), prints a diff and exits 1.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

from codegen.docs import render_docs
from codegen.render import render_all

ROOT = Path(__file__).resolve().parent.parent
# (directory, pattern): a file there that nothing renders is orphaned
GENERATED_DIRS = [(ROOT / "src/ailib/providers", "*.py"), (ROOT / "docs/providers", "*.md")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codegen")
    parser.add_argument("--check", action="store_true", help="fail if any generated file is stale")
    args = parser.parse_args(argv)
    files = render_all(ROOT)
    files.update(render_docs(ROOT))  # the docs site's provider pages and their nav entries
    existing = {p for d, pattern in GENERATED_DIRS for p in d.glob(pattern)}
    problems = 0
    for path, text in sorted(files.items()):
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        rel = path.relative_to(ROOT)
        if args.check:
            problems += 1
            if current is None:
                print(f"missing: {rel}")
            else:
                print(f"stale: {rel}")
                diff = difflib.unified_diff(
                    current.splitlines(keepends=True),
                    text.splitlines(keepends=True),
                    f"{rel} (on disk)",
                    f"{rel} (rendered)",
                )
                sys.stdout.writelines(list(diff)[:200])
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {rel}")
    for orphan in sorted(existing - set(files)):
        rel = orphan.relative_to(ROOT)
        if args.check:
            problems += 1
            print(f"orphaned: {rel} (no manifest renders it)")
        else:
            orphan.unlink()
            print(f"removed {rel}")
    if args.check:
        if problems:
            print(f"{problems} generated file(s) out of date; run `nox -s codegen`")
            return 1
        print(f"{len(files)} generated files are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
