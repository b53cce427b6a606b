"""Codegen escapes every manifest string it writes into Python (issue 6, item 14).

A manifest with hostile strings in every field that reaches a template (name, model
names, parameter names, descriptions and wire paths, event-map predicates, paths and
field names, error codes, patterns, header names, the source path) renders to a module
that compiles, holds only the statements a provider module holds, imports without side
effects, and keeps every value exactly.
"""

from __future__ import annotations

import ast
import copy
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ailib.errors import ManifestError
from ailib.protocol.loader import validate
from codegen.render import plan_provider, render_provider, template_env
from codegen.safe import comment_text, doc_literal, doc_text, py_str

ROOT = Path(__file__).resolve().parents[2]

PAYLOAD = 'x"""\nimport os; os.system("echo pwned")\n"""'
#: Anything a YAML double-quoted string can hold: quotes of both kinds, a backslash,
#: newlines, NUL, a line separator, a lone surrogate, Jinja and comment markers.
HOSTILE = PAYLOAD + "'''\\ \r\x00\u2028\ud800 }}{{ {% # \\N{BULLET}"
#: For places with grammar (paths, predicates): no single quote, no backslash.
IN_PATH = PAYLOAD + " }}{{ #"
SOURCE = 'manifests/providers/evil"""\nimport os\n#.yaml'


def hostile_manifest() -> dict[str, Any]:
    from ailib.providers.openai import MANIFEST

    data = copy.deepcopy(MANIFEST)
    data.update(id="hostile", name=HOSTILE)
    data.pop("class_name")
    data["metadata"] = {"description": HOSTILE, "models": {HOSTILE: {"description": HOSTILE}}}
    data["parameters"][HOSTILE] = {"type": "string", "description": HOSTILE, "wire": HOSTILE}
    data["parameters"]["evil_param"] = {
        "type": "string",
        "description": HOSTILE,
        "wire": f"outer.{HOSTILE}",
    }
    rule = {
        "match": f"$.type == '{IN_PATH}' && exists($['{IN_PATH}'])",
        "emit": "content",
        "fields": {HOSTILE: f"$['{IN_PATH}']", "const": HOSTILE},
    }
    data["streaming"]["event_map"] = [rule, *data["streaming"]["event_map"]]
    data["response"]["event_map"] = [*data["response"]["event_map"], rule]
    errors = data["error_classification"]
    errors["by_error_code"][HOSTILE] = "rate_limited"
    errors["by_error_message"].append({"pattern": re.escape(HOSTILE), "maps_to": "rate_limited"})
    errors["error_code_paths"].append(f"$.error['{IN_PATH}']")
    errors["error_message_path"] = f"$['{IN_PATH}']"
    errors["error_code_headers"] = [HOSTILE]
    data["request_id_headers"] = [HOSTILE]
    data["rate_limit_headers"].update(retry_after=HOSTILE, retry_after_ms=HOSTILE)
    data["endpoint"]["base_url"] = "https://h.example/" + HOSTILE
    return data


ALLOWED_TOP_LEVEL = {
    ast.ImportFrom: None,
    ast.Import: {"re"},
    ast.FunctionDef: {
        "_dig",
        "_is_code",
        "_stream_one",
        "_response_one",
        "_codes_of",
        "_message_of",
        "_encode_params",
        "map_stream",
        "map_response",
    },
    ast.ClassDef: {"Hostile", "AsyncHostile"},
    ast.AnnAssign: {"MANIFEST", "_E", "_EMPTY_LIST", "_STREAM_SPLIT", "_RESPONSE_SPLIT"},
    ast.Assign: {"ERRORS", "SPEC", "_response_one"},
}


def _name_of(node: ast.stmt) -> str:
    if isinstance(node, ast.FunctionDef | ast.ClassDef):
        return node.name
    if isinstance(node, ast.AnnAssign):
        assert isinstance(node.target, ast.Name)
        return node.target.id
    if isinstance(node, ast.Assign):
        assert len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
        return node.targets[0].id
    if isinstance(node, ast.Import):
        return ",".join(alias.name for alias in node.names)
    raise AssertionError(f"unexpected statement {ast.dump(node)[:200]}")


@pytest.fixture(scope="module")
def rendered() -> tuple[dict[str, Any], str]:
    data = hostile_manifest()
    validate(data, None, SOURCE)  # the loader lets all of it through to codegen
    return data, render_provider(template_env(ROOT), plan_provider(data, SOURCE))


def test_hostile_module_compiles_with_only_the_expected_statements(
    rendered: tuple[dict[str, Any], str],
) -> None:
    _, text = rendered
    tree = ast.parse(text)
    compile(tree, "hostile.py", "exec")
    body = tree.body
    assert isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
    for node in body[1:]:
        allowed = ALLOWED_TOP_LEVEL.get(type(node), set())
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            assert module in ("__future__", "collections.abc", "typing") or module.startswith(
                "ailib."
            )
            continue
        assert allowed and _name_of(node) in allowed, ast.dump(node)[:300]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = [node.module] if isinstance(node, ast.ImportFrom) else []
            modules += [a.name for a in node.names] if isinstance(node, ast.Import) else []
            assert not any(m and m.split(".")[0] in ("os", "subprocess") for m in modules)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            assert node.func.attr != "system"
    assert "\x00" not in text and "\u2028" not in text


def test_hostile_module_imports_without_side_effects_and_keeps_every_value(
    rendered: tuple[dict[str, Any], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data, text = rendered
    calls: list[object] = []
    monkeypatch.setattr(os, "system", lambda *a: calls.append(a) or 0)
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: calls.append(a))
    namespace: dict[str, Any] = {"__name__": "hostile_generated"}
    exec(compile(text, "hostile.py", "exec"), namespace)
    assert calls == []
    assert namespace["MANIFEST"] == data  # every string survives exactly
    spec = namespace["SPEC"]
    assert spec.manifest.name == HOSTILE and spec.manifest.source == SOURCE
    assert spec.errors.patterns[-1][0].pattern == re.escape(HOSTILE)
    assert HOSTILE in spec.errors.request_id_headers
    frame = {"type": IN_PATH, IN_PATH: "v"}
    assert spec.map_stream(frame)[0] == ("content", 0, {HOSTILE: "v", "const": HOSTILE})
    *parents, leaf = f"outer.{HOSTILE}".split(".")  # a wire path: dots nest
    expected: dict[str, Any] = {leaf: 1}
    for part in reversed(parents):
        expected = {part: expected}
    assert spec.encode_params({"evil_param": 1}) == expected
    # docstrings show the name as text
    assert namespace["__doc__"].startswith('x"""\\nimport os; os.system("echo pwned")')
    assert namespace["__doc__"].startswith(comment_text(HOSTILE))
    assert comment_text(HOSTILE) in namespace["Hostile"].__doc__


def test_registry_escapes_ids_and_aliases(rendered: tuple[dict[str, Any], str]) -> None:
    data, _ = rendered
    plan = plan_provider(data, SOURCE)
    plan["aliases"] = [HOSTILE]
    env = template_env(ROOT)
    text = env.get_template("_registry.py.jinja").render(providers=[plan])
    namespace: dict[str, Any] = {}
    exec(compile(text, "_registry.py", "exec"), namespace)
    assert namespace["ALIASES"] == {HOSTILE: "hostile"}
    assert namespace["PROVIDERS"] == {"hostile": ("hostile", "Hostile", "AsyncHostile")}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"class_name": "X(object): pass\nimport os\nclass Y"}, "class_name"),
        ({"class_name": "class"}, "class_name"),
        ({"class_name": "Ünïcode"}, "class_name"),
        ({"id": "360ai"}, "module name from id"),
        ({"id": "os.system"}, "module name from id"),
        ({"metadata": {"x": float("nan")}}, "not a finite number"),
        ({"metadata": {"x": object()}}, "cannot write a object"),
    ],
)
def test_values_that_cannot_be_made_safe_are_refused(change: dict[str, Any], message: str) -> None:
    data = {**hostile_manifest(), **change}
    with pytest.raises(ManifestError, match=re.escape(message)) as caught:
        plan_provider(data, SOURCE)
    assert caught.value.path == SOURCE


def test_non_ascii_parameter_names_stay_out_of_signatures() -> None:
    data = hostile_manifest()
    data["parameters"] = {"ﬁlter": {"type": "string"}, "fine_name": {"type": "string"}}
    plan = plan_provider(data, SOURCE)
    assert [p["name"] for p in plan["params"]] == ["fine_name"]


@pytest.mark.parametrize("text", [HOSTILE, '"', '""', 'a"', "\\", '\\\\"', "\n", "\ud800", ""])
def test_filters_round_trip(text: str) -> None:
    assert ast.literal_eval(py_str(text)) == text
    assert "\n" not in py_str(text) and "\n" not in doc_text(text)
    shown = comment_text(text)  # non-printables as escapes, on one line
    assert "\n" not in shown and "\r" not in shown
    assert ast.literal_eval('"""' + doc_text(text) + '"""') == shown
    assert ast.literal_eval('"""m=' + doc_literal(text) + ', """') == f"m={py_str(text)}, "
