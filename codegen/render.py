"""Render the generated file set (in memory) from manifests, templates and async sources."""

from __future__ import annotations

import json
import keyword
import pprint
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jinja2
import jsonschema

from ailib.errors import ManifestError
from ailib.protocol.interpret import candidate_split
from ailib.protocol.loader import parse_text, read_manifest_text, validate
from ailib.protocol.manifest import resolve_extends
from codegen.compile import (
    compile_codes_of,
    compile_event_map,
    compile_message_of,
    compile_params,
    helper_import,
)
from codegen.safe import (
    UnsafeValueError,
    check_plain,
    comment_text,
    doc_literal,
    doc_text,
    identifier,
    py_str,
)
from codegen.unasync import UNASYNC_FILES, unasync

PARAM_TYPES = {
    "float": "float",
    "number": "float",
    "integer": "int",
    "boolean": "bool",
    "string": "str",
    "object": "dict[str, Any]",
    "array": "list[Any]",
    "string_or_array": "str | list[str]",
    "reasoning": "str | int | dict[str, Any]",
    "tool_choice": "str | dict[str, Any]",
}


def ruff_format(text: str, name: str) -> str:
    """Sort imports and format Python source with ruff (deterministic output)."""
    fixed = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--select",
            "I",
            "--fix",
            "--quiet",
            "--stdin-filename",
            name,
            "-",
        ],
        input=text,
        capture_output=True,
        text=True,
        check=False,
    )
    text = fixed.stdout or text
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", name, "-"],
        input=text,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"ruff format failed on {name}:\n{result.stderr}\n{text}")
    return result.stdout


def template_env(root: Path) -> jinja2.Environment:
    """Templates with the filters that write manifest values safely (see ``codegen.safe``)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(root / "codegen/templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters.update(py_str=py_str, doc=doc_text, doc_literal=doc_literal, comment=comment_text)
    return env


def _response_map(data: dict[str, Any]) -> str:
    """The compiled non-stream map; shared with the stream map when the rules are equal."""
    rules = data.get("response", {}).get("event_map", [])
    if rules and rules == data.get("streaming", {}).get("event_map"):
        return "_response_one = _stream_one  # the same rules serve whole responses\n"
    return compile_event_map("_response_one", rules)


_PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _identifiers(data: dict[str, Any], source: str) -> tuple[str, str]:
    """(module name, class name) for a manifest: plain ASCII identifiers, else an error."""
    pid = str(data["id"])
    derived = data.get("class_name") is None
    cls = data.get("class_name") or pid.title().replace("-", "").replace("_", "")
    try:
        check_plain(data)
        module = identifier(pid.replace("-", "_"), "module name from id")
        cls = identifier(cls, "class name from id" if derived else "class_name")
    except UnsafeValueError as exc:
        raise ManifestError(str(exc), path=source) from None
    return module, cls


_COMPILED = ("stream_map", "response_map", "codes_of", "message_of", "encode_params")


def _helpers_used(plan: dict[str, Any]) -> str:
    """The runtime-helper import line for the compiled functions a plan still holds."""
    return helper_import(*(plan[name] for name in _COMPILED))


def plan_provider(data: dict[str, Any], source: str) -> dict[str, Any]:
    """Everything one provider template needs, computed from its manifest.

    Identifiers are checked, and every other manifest value reaches the templates as a
    repr-built literal or through the ``py_str``/``doc``/``comment`` filters.
    """
    pid = data["id"]
    module, cls = _identifiers(data, source)
    params = []
    for key, spec in data.get("parameters", {}).items():
        if (
            not _PARAM_NAME.fullmatch(key)
            or keyword.iskeyword(key)
            or key in ("model", "messages", "tools", "stream", "extra_body")
        ):
            continue  # still usable through ChatBuilder.param()
        params.append({"key": key, "name": key, "type": PARAM_TYPES.get(spec["type"], "Any")})
    errors = data.get("error_classification", {})
    rl = data.get("rate_limit_headers", {})
    models = list(data.get("metadata", {}).get("models", {}))
    plan = {
        "id": pid,
        "module": module,
        "name": data.get("name", pid),
        "dialect": data.get("dialect", "openai_chat"),
        "source": source,
        "sync_cls": cls,
        "async_cls": f"Async{cls}",
        "example_model": models[0] if models else "model-id",
        "manifest_literal": pprint.pformat(data, sort_dicts=False, width=100),
        "stream_map": compile_event_map(
            "_stream_one", data.get("streaming", {}).get("event_map", [])
        ),
        "response_map": _response_map(data),
        "codes_of": compile_codes_of(
            "_codes_of", errors.get("error_code_paths", ["$.error.code", "$.error.type"])
        ),
        "message_of": compile_message_of(
            "_message_of", errors.get("error_message_path", "$.error.message")
        ),
        "encode_params": compile_params("_encode_params", data.get("parameters", {})),
        "stream_split": repr(candidate_split(data.get("streaming", {}))),
        "response_split": repr(candidate_split(data.get("response", {}))),
        "by_code": repr(dict(errors.get("by_error_code", {}))),
        "by_status": repr({int(k): v for k, v in errors.get("by_http_status", {}).items()}),
        "patterns": [(p["pattern"], p["maps_to"]) for p in errors.get("by_error_message", [])],
        "request_id_headers": repr(
            tuple(data.get("request_id_headers", ["x-request-id", "request-id"]))
        ),
        "retry_after_headers": repr((rl.get("retry_after", "retry-after"),)),
        "retry_after_ms_headers": repr((rl.get("retry_after_ms", "retry-after-ms"),)),
        "code_headers": repr(tuple(errors.get("error_code_headers", ()))),
        "params": params,
        "shared_maps": {},  # owner module -> compiled map names imported from it
        "aliases": sorted(data.get("aliases", [])),
    }
    plan["helper_import"] = _helpers_used(plan)
    return plan


def load_manifests(root: Path) -> list[tuple[dict[str, Any], str]]:
    schema_path = root / "manifests/schema/provider.schema.json"
    validator = jsonschema.Draft202012Validator(json.loads(schema_path.read_text()))
    parsed: dict[str, tuple[dict[str, Any], Any, str]] = {}
    for path in sorted((root / "manifests/providers").glob("*.yaml")):
        source = path.relative_to(root).as_posix()
        data, tree = parse_text(read_manifest_text(path), source)
        parsed[path.stem] = (data, tree, source)

    def base_of(provider_id: str) -> dict[str, Any]:
        if provider_id not in parsed:
            raise SystemExit(f"manifest extends unknown provider {provider_id!r}")
        return parsed[provider_id][0]

    out = []
    for data, tree, source in parsed.values():
        effective = resolve_extends(data, base_of)
        validate(effective, tree, source, validator)
        out.append((effective, source))
    return out


def _extends_depth(root: Path) -> dict[str, int]:
    """How many ``extends`` hops each manifest is from a standalone one."""
    parents: dict[str, str | None] = {}
    for path in (root / "manifests/providers").glob("*.yaml"):
        data, _ = parse_text(read_manifest_text(path), str(path))
        parents[path.stem] = data.get("extends")

    def depth(pid: str) -> int:
        parent = parents.get(pid)
        return 0 if not parent else 1 + depth(parent)

    return {pid: depth(pid) for pid in parents}


def share_event_maps(plans: list[dict[str, Any]], depth: dict[str, int]) -> None:
    """A compiled event map identical to another provider's is imported, not compiled again.

    The owner of each distinct map is the first provider in (extends depth, id) order that
    has it (e.g. openai-compatible for its vendors); imports only go from later to earlier
    providers in that order, so they can never form a cycle.
    """
    ordered = sorted(plans, key=lambda p: (depth.get(p["id"], 0), p["id"]))
    owners: dict[tuple[str, str], str] = {}
    for plan in ordered:
        for name in ("stream_map", "response_map"):
            source = plan[name]
            if not source.startswith("def "):
                continue  # an alias line such as `_response_one = _stream_one`
            owner = owners.setdefault((name, source), plan["module"])
            if owner != plan["module"]:
                func = "_stream_one" if name == "stream_map" else "_response_one"
                plan["shared_maps"].setdefault(owner, []).append(func)
                plan[name] = ""
        plan["helper_import"] = _helpers_used(plan)


def render_provider(env: jinja2.Environment, plan: dict[str, Any]) -> str:
    """The source of one generated provider module, formatted.

    Its imports all sit at the top: the runtime helpers its compiled functions use and
    the compiled maps it shares with an earlier provider.
    """
    text = env.get_template("provider.py.jinja").render(**plan)
    text = re.sub(r"\n{3,}(?=\s*@overload|\s*(async )?def chat)", "\n\n", text)
    return ruff_format(text, f"{plan['module']}.py")


def render_all(root: Path) -> dict[Path, str]:
    env = template_env(root)
    files: dict[Path, str] = {}
    plans = [plan_provider(data, source) for data, source in load_manifests(root)]
    share_event_maps(plans, _extends_depth(root))
    pkg = root / "src/ailib/providers"
    for plan in plans:
        files[pkg / f"{plan['module']}.py"] = render_provider(env, plan)
    files[pkg / "_registry.py"] = ruff_format(
        env.get_template("_registry.py.jinja").render(providers=plans), "_registry.py"
    )
    files[pkg / "__init__.py"] = ruff_format(
        env.get_template("__init__.py.jinja").render(providers=plans), "__init__.py"
    )
    for src_rel, dst_rel in UNASYNC_FILES:
        source = (root / src_rel).read_text(encoding="utf-8")
        files[root / dst_rel] = ruff_format(unasync(source, src_rel), Path(dst_rel).name)
    schema = json.loads((root / "manifests/schema/provider.schema.json").read_text())
    schema = {
        "$comment": "GENERATED by `python -m codegen` from manifests/schema/provider.schema.json",
        **schema,
    }
    files[root / "src/ailib/protocol/provider.schema.json"] = (
        json.dumps(schema, indent=2, sort_keys=True) + "\n"
    )
    return files
