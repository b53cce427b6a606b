"""The manifest search path: which file defines a provider, and how overrides combine.

Order, first match wins for a whole manifest, overlays merge downwards::

    1. manifest_paths=[...]          (explicit, in the order given)
    2. AI_PROTOCOL_PATH              (os.pathsep-separated directories or files)
    3. user config dir               ($XDG_CONFIG_HOME/ailib/manifests, ~/.config/ailib/manifests)
    4. built-in manifests            (compiled into ailib.providers)

A directory may be laid out like the AI-Protocol repository (``v2/providers/<id>.yaml``,
``v1/providers/<id>.yaml``, ``dist/v2/providers/<id>.json``) or be a flat folder of
``<id>.yaml`` / ``<id>.json`` files. A file holding ``protocol_version`` and
``endpoint`` is a whole manifest; anything else is an overlay deep-merged onto what the
lower layers define. Nothing is ever fetched from the network.

Relative entries (in ``manifest_paths`` and ``AI_PROTOCOL_PATH``) are made absolute against
the current working directory when the search path is read: at each :func:`resolve` call,
and once when a :class:`~ailib.protocol.hot.ProtocolLoader` (or a client that makes one)
is created, which keeps that list for its lifetime. ``~`` in ``AI_PROTOCOL_PATH`` is the
home directory; a relative ``XDG_CONFIG_HOME`` is ignored, as the XDG spec says.
Provider ids are checked (:data:`~ailib.protocol.manifest.PROVIDER_ID`) before any file is
looked up, so an id can never name a path outside the search path.

Example::

    found = resolve("openai", manifest_paths=["./overrides"])
    found.manifest.base_url, found.layers   # [(source, keys it set), ...]
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs

from ailib.errors import ManifestError
from ailib.protocol.manifest import Manifest, deep_merge, provider_id_problem

BUILTIN = "<built-in>"
LAYOUTS = (
    "{id}.yaml",
    "{id}.yml",
    "{id}.json",
    "v2/providers/{id}.yaml",
    "dist/v2/providers/{id}.json",
    "v1/providers/{id}.yaml",
    "dist/v1/providers/{id}.json",
)


def user_config_dir() -> Path:
    """``$XDG_CONFIG_HOME/ailib/manifests`` when that is absolute, else ``~/.config/...``."""
    base = os.environ.get("XDG_CONFIG_HOME", "")
    if not os.path.isabs(base):  # unset, empty or relative: the XDG spec says ignore it
        base = os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "ailib" / "manifests"


def search_dirs(manifest_paths: Sequence[str | os.PathLike[str]] = ()) -> list[Path]:
    """Directories (or files) searched, highest priority first, made absolute now."""
    out = [Path(p) for p in manifest_paths]
    env = os.environ.get("AI_PROTOCOL_PATH", "")
    out.extend(Path(p.strip()).expanduser() for p in env.split(os.pathsep) if p.strip())
    out.append(user_config_dir())
    return [p.absolute() for p in out]


def check_provider_id(provider_id: str) -> str:
    """``provider_id`` itself, or a ManifestError when it is not a valid id (never a path)."""
    problem = provider_id_problem(provider_id)
    if problem is not None:
        raise ManifestError(problem)
    return provider_id


def candidate_files(provider_id: str, dirs: Iterable[Path]) -> list[Path]:
    """Existing files that may define ``provider_id``, highest priority first."""
    check_provider_id(provider_id)
    found: list[Path] = []
    for entry in dirs:
        if entry.is_file():
            if entry.stem == provider_id:
                found.append(entry)
            continue
        for pattern in LAYOUTS:
            path = entry / pattern.format(id=provider_id)
            if path.is_file():
                found.append(path)
                break
    return found


@attrs.frozen
class Resolved:
    """The effective manifest of a provider and where each part came from."""

    manifest: Manifest
    layers: list[tuple[str, list[str]]]  # (source, top-level keys it set), lowest first
    files: list[Path]  # files read (for hot reload), highest priority first
    builtin: bool  # True when no file changed the built-in manifest

    @property
    def winner(self) -> str:
        """The source that defines the provider (the highest whole manifest or overlay)."""
        return self.layers[-1][0]


def _is_whole(data: dict[str, Any]) -> bool:
    return "protocol_version" in data and "endpoint" in data


def _builtin_data(provider_id: str) -> dict[str, Any] | None:
    from ailib.protocol.loader import builtin_manifest

    try:
        return builtin_manifest(provider_id)
    except ManifestError:
        return None


def resolve(
    provider_id: str,
    manifest_paths: Sequence[str | os.PathLike[str]] = (),
    *,
    dirs: Sequence[Path] | None = None,
) -> Resolved:
    """Find and combine the manifest of ``provider_id`` along the search path.

    ``dirs`` (from :func:`search_dirs`) replaces reading the search path now. A file that
    changes a built-in provider's base URL origin or credential source is logged at
    WARNING (see :mod:`ailib.protocol.trust`).
    """
    from ailib.protocol.loader import finish_manifest, read_manifest_file
    from ailib.protocol.trust import warn_overrides

    check_provider_id(provider_id)
    files = candidate_files(provider_id, search_dirs(manifest_paths) if dirs is None else dirs)
    # Walk from the lowest priority up: the first whole manifest found from the top
    # replaces everything below it; overlays above it merge onto it.
    texts = [(path, read_manifest_file(path)) for path in files]
    top_whole = next((i for i, (_, (data, _)) in enumerate(texts) if _is_whole(data)), None)
    stack = texts if top_whole is None else texts[: top_whole + 1]
    layers: list[tuple[str, list[str]]] = []
    steps: list[tuple[str, dict[str, Any]]] = []  # (source, data after it), for the trust log
    builtin = _builtin_data(provider_id)
    data: dict[str, Any] | None = None
    if top_whole is None:
        data = builtin
        if data is None:
            if not files:
                raise ManifestError(f"no manifest for provider {provider_id!r} on the search path")
            raise ManifestError(
                f"{files[-1]} is an overlay but provider {provider_id!r} has no base manifest"
            )
        layers.append((BUILTIN, sorted(data)))
    for path, (layer, tree) in reversed(stack):
        if data is None:  # the whole manifest at the bottom of the stack
            data = finish_manifest(layer, tree, str(path), folder=path.parent, validate_it=False)
            layers.append((str(path), sorted(layer)))
        else:
            data = deep_merge(data, layer)
            layers.append((str(path), leaf_paths(layer)))
        steps.append((str(path), data))
    assert data is not None
    data.setdefault("id", provider_id)
    source = layers[-1][0]
    tree = stack[0][1][1] if stack else None
    final = finish_manifest(data, tree, source, folder=None, validate_it=True)
    if builtin is not None and stack:
        warn_overrides(provider_id, builtin, steps, final)
    return Resolved(Manifest.from_dict(final, source), layers, files, builtin=not stack)


def leaf_paths(data: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted paths of the values an overlay sets (``endpoint.base_url``, ...)."""
    out: list[str] = []
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.extend(leaf_paths(value, path + "."))
        else:
            out.append(path)
    return sorted(out)


def list_providers(manifest_paths: Sequence[str | os.PathLike[str]] = ()) -> dict[str, str]:
    """Provider id → the source that defines it (files on the search path and built-ins)."""
    from ailib.providers._registry import PROVIDERS

    out = {pid: BUILTIN for pid in PROVIDERS}
    for entry in reversed(search_dirs(manifest_paths)):
        paths: list[Path] = []
        if entry.is_file():
            paths = [entry]
        elif entry.is_dir():
            for sub in (
                "",
                "v1/providers",
                "v2/providers",
                "dist/v1/providers",
                "dist/v2/providers",
            ):
                folder = entry / sub if sub else entry
                if folder.is_dir():
                    paths.extend(folder.glob("*.yaml"))
                    paths.extend(folder.glob("*.json"))
        for path in sorted(paths):
            if provider_id_problem(path.stem) is None:  # other files cannot be addressed
                out[path.stem] = str(path)
    return dict(sorted(out.items()))
