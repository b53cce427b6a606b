"""Load and validate manifest files; errors name the file, the line and the key.

Manifests are data, and may be hostile data: every way a file can be malformed ends in a
:class:`~ailib.errors.ManifestError` naming the file (and line where known), raised
quickly. Only regular files are read (a FIFO or a device is refused, never waited on);
text must be UTF-8 without control characters; a file is at most
:data:`MAX_MANIFEST_BYTES`; mapping keys are strings (``429:`` is ``"429"``, and may not
appear twice); values nest at most :data:`MAX_DEPTH` deep; and the loaded document, with
YAML aliases expanded, holds at most :data:`MAX_NODES` values (a "billion laughs" file is
refused instead of being expanded).

Example::

    manifest = load_manifest_file("manifests/providers/openai.yaml")
"""

from __future__ import annotations

import datetime
import functools
import json
import math
import os
import re
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path as FsPath
from typing import Any

from ailib.errors import ManifestError, ProtocolError
from ailib.protocol.manifest import Manifest, provider_id_problem, resolve_extends
from ailib.protocol.trust import printable
from ailib.runtime.redact import looks_secret

SCHEMA_FILE = FsPath(__file__).with_name("provider.schema.json")

#: Largest manifest file read (bytes); real manifests are a few kilobytes.
MAX_MANIFEST_BYTES = 1024 * 1024
#: Deepest nesting of mappings and lists in a manifest.
MAX_DEPTH = 64
#: Most values (mappings, lists and scalars, YAML aliases expanded) in one manifest.
MAX_NODES = 100_000

# C0 controls but tab, LF and CR; DEL; C1 controls but NEL; the non-characters U+FFFE/FFFF:
# the characters YAML forbids in a stream (and nothing a manifest needs).
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_FORBIDDEN_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufffe\uffff]")


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


class _Plain:
    """Copies a loaded tree into plain JSON-like data, within a node and depth budget."""

    def __init__(self, source: str, tree: Any) -> None:
        self.source = source
        self.tree = tree
        self.left = MAX_NODES

    def fail(self, message: str, keys: tuple[Any, ...]) -> ManifestError:
        key = ".".join(str(k) for k in keys)
        return ManifestError(
            message, path=self.source, line=_line_of(self.tree, list(keys)), key=key
        )

    def copy(self, node: Any, keys: tuple[Any, ...] = ()) -> Any:
        self.left -= 1
        if self.left < 0:
            raise self.fail(
                f"the manifest holds more than {MAX_NODES} values (YAML aliases expanding?)", keys
            )
        if isinstance(node, dict | list) and len(keys) >= MAX_DEPTH:
            raise self.fail(f"values are nested more than {MAX_DEPTH} levels deep", keys)
        if isinstance(node, dict):
            out: dict[str, Any] = {}
            for k, v in node.items():
                name = self.key(k, keys)
                if name in out:  # 429: and "429": would silently lose one of them
                    raise self.fail(f"the key {name!r} appears twice", (*keys, k))
                out[name] = self.copy(v, (*keys, k))
            return out
        if isinstance(node, list):
            return [self.copy(v, (*keys, i)) for i, v in enumerate(node)]
        return self.scalar(node, keys)

    def key(self, key: Any, keys: tuple[Any, ...]) -> str:
        """A mapping key as text: strings, and integers (``429:``) as their digits."""
        if isinstance(key, str):
            return str(key)
        if isinstance(key, int) and not isinstance(key, bool):
            return str(int(key))
        raise self.fail(f"a mapping key must be a string, not {_kind(key)}", keys)

    def scalar(self, node: Any, keys: tuple[Any, ...]) -> Any:
        if node is None or type(node) in (str, int, bool):
            return node
        if isinstance(node, str):
            return str(node)
        if isinstance(node, bool) or type(node).__name__ == "ScalarBoolean":
            return bool(node)  # ruamel's anchored booleans subclass int, not bool
        if isinstance(node, int):
            return int(node)
        if isinstance(node, float):
            if not math.isfinite(node):
                raise self.fail(f"{node!r} is not a finite number", keys)
            if node.is_integer() and "." not in repr(node):
                return int(node)
            return float(node)
        if isinstance(node, datetime.date):  # an unquoted YAML date: kept as its text
            return node.isoformat()
        raise self.fail(f"unsupported value of type {type(node).__name__}", keys)


def _kind(value: Any) -> str:
    """What a YAML value is, in words (for errors): ``the number 1.5``, ``a list``."""
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, bytes):
        return "binary data"
    if isinstance(value, Sequence) and not isinstance(value, str):
        return "a list"
    if isinstance(value, bool) or type(value).__name__ == "ScalarBoolean":
        kind = "the boolean"
    elif isinstance(value, int | float):
        kind = "the number"
    elif isinstance(value, datetime.date):
        kind = "the date"
    else:
        kind = f"a {type(value).__name__}"
    return printable(f"{kind} {value!s:.40}")


def _plain(node: Any, source: str = "<manifest>", tree: Any = None) -> Any:
    """Plain data (dicts, lists, str, int, float, bool, None) with aliases expanded, bounded."""
    return _Plain(source, node if tree is None else tree).copy(node)


def decode_manifest(raw: bytes, source: str) -> str:
    """Manifest bytes as text: UTF-8 (a leading BOM is dropped), at most MAX_MANIFEST_BYTES."""
    if len(raw) > MAX_MANIFEST_BYTES:
        raise ManifestError(
            f"the file is larger than {MAX_MANIFEST_BYTES} bytes; not read as a manifest",
            path=source,
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ManifestError(
            f"not UTF-8 text: byte 0x{raw[exc.start]:02x} at offset {exc.start} is invalid",
            path=source,
            line=line,
        ) from None
    return text.removeprefix("\ufeff")


def read_manifest_text(path: str | os.PathLike[str]) -> str:
    """Read one manifest file as text (size-capped, strict UTF-8); errors name the file."""
    source = os.fspath(path)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; only regular files are read
        fd = os.open(source, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise ManifestError(f"cannot read manifest: {exc.strerror}", path=source) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ManifestError("not a regular file; not read as a manifest", path=source)
        with open(fd, "rb", closefd=False) as handle:
            raw = handle.read(MAX_MANIFEST_BYTES + 1)
    except OSError as exc:
        raise ManifestError(f"cannot read manifest: {exc.strerror}", path=source) from None
    finally:
        os.close(fd)
    return decode_manifest(raw, source)


def _check_characters(text: str, source: str) -> None:
    bad = _FORBIDDEN_CHAR.search(text)
    if bad is not None:
        char = bad.group()
        raise ManifestError(
            f"control character U+{ord(char):04X} is not allowed in a manifest",
            path=source,
            line=text.count("\n", 0, bad.start()) + 1,
        )


def _too_deep(source: str, line: int | None = None) -> ManifestError:
    return ManifestError(
        f"values are nested more than {MAX_DEPTH} levels deep", path=source, line=line
    )


_BRACKET = re.compile(r"[\[\]{}]")


def _check_flow_depth(text: str, source: str) -> None:
    """Refuse YAML flow collections nested deeper than MAX_DEPTH before ruamel sees them.

    ruamel's scanner does work proportional to the flow depth for every token, so
    ``[[[[...`` 100k deep would take seconds before failing. Brackets are counted
    everywhere (also inside strings): an over-estimate that no real manifest reaches.
    """
    depth = 0
    for bracket in _BRACKET.finditer(text):
        depth = depth + 1 if bracket.group() in "[{" else max(depth - 1, 0)
        if depth > MAX_DEPTH:
            raise _too_deep(source, text.count("\n", 0, bracket.start()) + 1)


def _json_tree(text: str, data: Any) -> Any:
    """JSON is YAML: read it once more with ruamel to know each key's line."""
    from ruamel.yaml import YAML

    try:
        return YAML(typ="rt").load(text)
    except Exception:  # rare JSON that YAML rejects (e.g. tabs); no line info then
        return data


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a finite number")


def _parse_json(text: str, source: str) -> tuple[Any, Any]:
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ManifestError(exc.msg, path=source, line=exc.lineno) from None
    except RecursionError:
        raise _too_deep(source) from None
    except ValueError as exc:
        raise ManifestError(str(exc), path=source) from None
    data = _plain(data, source)  # depth and size bounds, before ruamel reads it again
    return data, _json_tree(text, data)


def _parse_yaml(text: str, source: str) -> tuple[Any, Any]:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError
    from ruamel.yaml.reader import ReaderError

    _check_flow_depth(text, source)
    try:
        tree = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise ManifestError(printable(str(exc.problem)), path=source, line=line) from None
    except ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise ManifestError(exc.reason, path=source, line=line) from None
    except RecursionError:
        raise _too_deep(source) from None
    except Exception as exc:  # hostile input may trip any constructor (e.g. a bad date)
        raise ManifestError(printable(f"not valid YAML: {exc}"), path=source) from None
    return _plain(tree, source), tree


def parse_text(text: str, source: str) -> tuple[dict[str, Any], Any]:
    """Parse YAML or JSON text; return (plain data, tree with line info)."""
    _check_characters(text, source)
    parse = _parse_json if source.endswith(".json") else _parse_yaml
    data, tree = parse(text, source)
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
        message = err.message
        if any(looks_secret(str(k)) for k in keys):  # a key pasted into the auth section
            message = message.replace(repr(err.instance), "(value hidden)")
        raise ManifestError(
            message,
            path=source,
            line=_line_of(tree, keys),
            key=".".join(str(k) for k in keys),
        )
    _validate_ids(data, tree, source)
    _validate_token_env(data, tree, source)
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


def _validate_ids(data: dict[str, Any], tree: Any, source: str) -> None:
    """Ids name files: checked whole (the schema's regex ``$`` lets a trailing newline by)."""
    named: list[tuple[list[Any], Any]] = [
        (["id"], data.get("id")),
        (["extends"], data.get("extends")),
    ]
    named += [(["aliases", i], alias) for i, alias in enumerate(data.get("aliases", []))]
    for keys, value in named:
        problem = None if value is None else provider_id_problem(value)
        if problem is not None:
            key = ".".join(str(k) for k in keys)
            raise ManifestError(problem, path=source, line=_line_of(tree, keys), key=key)


def _validate_token_env(data: dict[str, Any], tree: Any, source: str) -> None:
    """``token_env`` names environment variables; a pasted key is refused, never echoed."""
    auth = (
        data.get("endpoint", {}).get("auth", {}) if isinstance(data.get("endpoint"), dict) else {}
    )
    names = auth.get("token_env") if isinstance(auth, dict) else None
    for i, name in enumerate([names] if isinstance(names, str) else names or []):
        if not isinstance(name, str) or not _ENV_NAME.match(name):
            keys = ["endpoint", "auth", "token_env"] + ([] if isinstance(names, str) else [i])
            raise ManifestError(
                "token_env must name an environment variable (letters, digits, '_'), such as "
                "'OPENAI_API_KEY', not hold the key itself (value hidden)",
                path=source,
                line=_line_of(tree, keys),
                key=".".join(map(str, keys)),
            )


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
        problem = provider_id_problem(provider_id)
        if problem is not None:  # before any file is looked up
            raise ValueError(f"'extends' names an {problem}")
        if folder is not None:
            for name in (f"{provider_id}.yaml", f"{provider_id}.yml", f"{provider_id}.json"):
                path = folder / name
                if path.is_file():
                    return parse_text(read_manifest_text(path), str(path))[0]
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
    return parse_text(read_manifest_text(source), source)


def load_manifest_file(path: str | os.PathLike[str]) -> Manifest:
    """Load one manifest file (YAML or JSON) into a validated Manifest."""
    source = os.fspath(path)
    data, tree = read_manifest_file(source)
    final = finish_manifest(data, tree, source, folder=FsPath(source).parent)
    return Manifest.from_dict(final, source)
