"""Load and validate manifest files; errors name the file, the line and the key.

Example::

    manifest = load_manifest_file("manifests/providers/openai.yaml")
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path as FsPath
from typing import Any

from ailib.errors import ManifestError, ProtocolError
from ailib.protocol.manifest import Manifest, resolve_extends

SCHEMA_FILE = FsPath(__file__).with_name("provider.schema.json")


@functools.lru_cache(maxsize=1)
def _validator() -> Any:
    import jsonschema

    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def _line_of(node: Any, keys: list[Any]) -> int | None:
    """Best line (1-based) for a key path in a ruamel round-trip tree."""
    line: int | None = None
    for key in keys:
        lc = getattr(node, "lc", None)
        try:
            if lc is not None:
                line = (lc.item(key) if isinstance(key, int) else lc.key(key))[0] + 1
            node = node[key]
        except (KeyError, IndexError, TypeError, AttributeError):
            break
    return line


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, float) and node.is_integer() and "." not in repr(node):
        return int(node)
    return node


def _json_tree(text: str, data: Any) -> Any:
    """JSON is YAML: read it once more with ruamel to know each key's line."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        return YAML(typ="rt").load(text)
    except YAMLError:  # rare JSON that YAML rejects (e.g. tabs); no line info then
        return data


def parse_text(text: str, source: str) -> tuple[dict[str, Any], Any]:
    """Parse YAML or JSON text; return (plain data, tree with line info)."""
    if source.endswith(".json"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ManifestError(exc.msg, path=source, line=exc.lineno) from None
        tree = _json_tree(text, data)
    else:
        from ruamel.yaml import YAML
        from ruamel.yaml.error import MarkedYAMLError

        yaml = YAML(typ="rt")
        try:
            tree = yaml.load(text)
        except MarkedYAMLError as exc:
            mark = exc.problem_mark
            line = mark.line + 1 if mark is not None else None
            raise ManifestError(str(exc.problem), path=source, line=line) from None
        data = _plain(tree)
    if not isinstance(data, dict):
        raise ManifestError("a manifest must be a mapping", path=source, line=1)
    return data, tree


def validate(data: dict[str, Any], tree: Any, source: str, validator: Any = None) -> None:
    """Check the manifest against the schema and compile its expressions."""
    validator = validator or _validator()
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        keys = list(err.absolute_path)
        raise ManifestError(
            err.message,
            path=source,
            line=_line_of(tree, keys),
            key=".".join(str(k) for k in keys),
        )
    from ailib.protocol.expr import parse_path
    from ailib.protocol.interpret import EventMapper

    for section in ("streaming", "response"):
        for i, rule in enumerate(data.get(section, {}).get("event_map", [])):
            keys = [section, "event_map", i]
            try:
                EventMapper.from_config({"event_map": [rule]})
            except ProtocolError as exc:
                raise ManifestError(
                    exc.message,
                    path=source,
                    line=_line_of(tree, keys),
                    key=f"{section}.event_map.{i}",
                ) from None
    for i, p in enumerate(data.get("error_classification", {}).get("error_code_paths", [])):
        try:
            parse_path(p)
        except ProtocolError as exc:
            keys = ["error_classification", "error_code_paths", i]
            raise ManifestError(
                exc.message, path=source, line=_line_of(tree, keys), key=".".join(map(str, keys))
            ) from None


def builtin_manifest(provider_id: str) -> dict[str, Any]:
    """The effective manifest data a generated provider module was compiled from."""
    import importlib

    from ailib.providers._registry import PROVIDERS

    entry = PROVIDERS.get(provider_id)
    if entry is None:
        raise ManifestError(f"no manifest named {provider_id!r} to extend")
    data: dict[str, Any] = importlib.import_module(f"ailib.providers.{entry[0]}").MANIFEST
    return data


def _sibling_or_builtin(folder: FsPath | None) -> Any:
    def load(provider_id: str) -> dict[str, Any]:
        if folder is not None:
            for name in (f"{provider_id}.yaml", f"{provider_id}.yml", f"{provider_id}.json"):
                path = folder / name
                if path.exists():
                    return parse_text(path.read_text(encoding="utf-8"), str(path))[0]
        return builtin_manifest(provider_id)

    return load


def _upgrade_upstream(data: dict[str, Any], tree: Any, source: str) -> dict[str, Any]:
    """AI-Protocol v1/v2 manifests (no ailib ``dialect``) become ailib manifests in memory."""
    from ailib.protocol.upgrade import is_upstream, to_ailib

    if not is_upstream(data):
        return data
    try:
        return to_ailib(data, source)
    except ManifestError as exc:
        if exc.line is None and exc.key:
            keys: list[Any] = [int(k) if k.isdigit() else k for k in exc.key.split(".")]
            line = _line_of(tree, keys)
            raise ManifestError(exc.detail, path=source, line=line, key=exc.key) from None
        raise


def finish_manifest(
    data: dict[str, Any],
    tree: Any,
    source: str,
    *,
    folder: FsPath | None,
    validate_it: bool = True,
) -> dict[str, Any]:
    """Upgrade an upstream manifest, resolve ``extends`` and validate."""
    data = _upgrade_upstream(data, tree, source)
    if data.get("extends"):
        try:
            data = resolve_extends(data, _sibling_or_builtin(folder))
        except ValueError as exc:
            raise ManifestError(
                str(exc), path=source, line=_line_of(tree, ["extends"]), key="extends"
            ) from None
    if validate_it:
        validate(data, tree, source)
    return data


def load_manifest_text(
    text: str, source: str, *, partial: bool = False, folder: FsPath | None = None
) -> dict[str, Any]:
    """Parse, resolve ``extends`` (sibling file, else built-in) and validate manifest text."""
    data, tree = parse_text(text, source)
    if partial:
        return data
    return finish_manifest(data, tree, source, folder=folder)


def read_manifest_file(path: str | os.PathLike[str]) -> tuple[dict[str, Any], Any]:
    """Parse one manifest file: (plain data, tree with line info). Not validated."""
    source = os.fspath(path)
    try:
        text = FsPath(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise ManifestError(f"cannot read manifest: {exc.strerror}", path=source) from None
    return parse_text(text, source)


def load_manifest_file(path: str | os.PathLike[str]) -> Manifest:
    """Load one manifest file (YAML or JSON) into a validated Manifest."""
    source = os.fspath(path)
    data, tree = read_manifest_file(source)
    final = finish_manifest(data, tree, source, folder=FsPath(source).parent)
    return Manifest.from_dict(final, source)
