"""Discovery of the AI-Protocol cross-runtime compliance cases.

The suite lives in the directory named by ``COMPLIANCE_DIR``, by default the vendored
``../shared/ai-protocol/tests/compliance`` beside the project (as CI runs it); without
either the suite skips and the run's summary says so in one line (tests/conftest.py).
Each ``cases/<group>/<file>.yaml`` holds several YAML documents, one case each; case ids
repeat upstream, so a case is keyed by its file and its 1-based position among the file's
non-empty documents: ``04-streaming/sse-decode.yaml#2``.

``NOT_APPLICABLE.yaml`` (next to this file) lists the cases that cannot apply to ailib, each
with its reason. A key names a whole file, or positions: ``file.yaml#1,2,4`` / ``file.yaml#5-8``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import attrs
from ruamel.yaml import YAML

HERE = Path(__file__).resolve().parent


@attrs.frozen
class Case:
    key: str  # "04-streaming/sse-decode.yaml#2"
    file: Path
    data: dict[str, Any]

    @property
    def op(self) -> str:
        return str(self.data["input"]["type"])

    @property
    def upstream_id(self) -> str:
        return str(self.data.get("id", "?"))


#: used when COMPLIANCE_DIR is unset: the suite vendored beside the project, as CI runs it
SHARED_SUITE = HERE.parents[2] / "shared" / "ai-protocol" / "tests" / "compliance"


def compliance_dir() -> Path | None:
    """The suite's folder: ``$COMPLIANCE_DIR``, else ``../shared/...`` when present."""
    value = os.environ.get("COMPLIANCE_DIR")
    path = Path(value).resolve() if value else SHARED_SUITE
    return path if (path / "cases").is_dir() else None


def skip_reason() -> str:
    value = os.environ.get("COMPLIANCE_DIR")
    if not value:
        return f"COMPLIANCE_DIR is not set and {SHARED_SUITE} has no cases/ folder"
    return f"COMPLIANCE_DIR={value} has no cases/ folder"


def load_cases(root: Path) -> list[Case]:
    yaml = YAML(typ="safe", pure=True)
    cases: list[Case] = []
    for path in sorted((root / "cases").glob("*/*.yaml")):
        docs = [d for d in yaml.load_all(path.read_text(encoding="utf-8")) if isinstance(d, dict)]
        rel = f"{path.parent.name}/{path.name}"
        cases.extend(Case(f"{rel}#{n}", path, doc) for n, doc in enumerate(docs, 1))
    return cases


def expand_key(key: str) -> tuple[str, set[int] | None]:
    """``file.yaml#1,3-4`` -> ("file.yaml", {1, 3, 4}); no ``#`` -> every case of the file."""
    name, _, positions = key.partition("#")
    if not positions:
        return name, None
    out: set[int] = set()
    for part in positions.split(","):
        low, _, high = part.partition("-")
        out.update(range(int(low), int(high or low) + 1))
    return name, out


def not_applicable() -> dict[str, str]:
    """Case key -> reason, with the file-level and ranged keys expanded by the caller."""
    data = YAML(typ="safe", pure=True).load((HERE / "NOT_APPLICABLE.yaml").read_text("utf-8"))
    return {str(k): " ".join(str(v).split()) for k, v in (data or {}).items()}


def reason_for(case: Case, table: dict[str, str]) -> str | None:
    name, _, number = case.key.partition("#")
    for key, reason in table.items():
        file, positions = expand_key(key)
        if file == name and (positions is None or int(number) in positions):
            return reason
    return None
