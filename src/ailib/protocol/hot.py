"""ProtocolLoader: effective manifests from the search path, optionally hot-reloaded.

With ``hot_reload=True`` the files that define a provider are watched (by polling their
size and mtime, at most every ``poll_interval`` seconds; through watchdog when it is
installed): a changed manifest takes effect for the next request, requests in flight
finish on the manifest they started with, and an invalid edit (whatever is wrong with it:
bad schema, bad YAML, not UTF-8, control characters, aliases that explode, nesting too
deep) is rejected with a clear error (a ManifestError kept in ``loader.errors``, logged)
while the last good manifest stays in force.

The search path (relative entries made absolute against the current directory,
``AI_PROTOCOL_PATH`` and the user config dir read from the environment) is fixed when the
loader is created.

Example::

    loader = ProtocolLoader(manifest_paths=["./manifests"], hot_reload=True)
    spec = loader.get("openai")          # compiled when nothing overrides the built-in
    loader.resolved("openai").layers     # where each part came from
"""

from __future__ import annotations

import logging
import os
import threading
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from ailib.errors import AiLibError, ManifestError
from ailib.protocol.search import Resolved, candidate_files, resolve, search_dirs
from ailib.runtime.spec import ProviderSpec

log = logging.getLogger("ailib")

Signature = tuple[tuple[str, int, int], ...]


@attrs.define
class _Entry:
    resolved: Resolved
    spec: ProviderSpec
    signature: Signature
    checked: float


def _signature(files: Sequence[Path]) -> Signature:
    out = []
    for path in files:
        try:
            st = path.stat()
        except OSError:
            continue
        out.append((str(path), st.st_mtime_ns, st.st_size))
    return tuple(out)


def spec_for(resolved: Resolved) -> ProviderSpec:
    """The compiled spec when nothing overrides the built-in, else an interpreted one."""
    manifest = resolved.manifest
    if resolved.builtin:
        from ailib.runtime.registry import compiled_spec

        compiled = compiled_spec(manifest.id)
        if compiled is not None:
            return compiled
    spec = ProviderSpec.interpreted(manifest)
    _warn_new_shape(spec)
    return spec


def _warn_new_shape(spec: ProviderSpec) -> None:
    from ailib.runtime.registry import compiled_spec

    compiled = compiled_spec(spec.id)
    if compiled is None:
        return
    added = sorted(
        set(spec.manifest.declared_parameters) - set(compiled.manifest.declared_parameters)
    )
    if added:
        warnings.warn(
            f"manifest override of {spec.id!r} declares new parameters {added}: they work through "
            "ChatBuilder.param(), and `nox -s codegen` would give them types",
            stacklevel=3,
        )


def _unexpected(exc: Exception, entry: _Entry) -> ManifestError:
    """A ManifestError for an error no check foresaw, naming the files of the provider."""
    files = ", ".join(str(p) for p in entry.resolved.files) or entry.resolved.winner
    return ManifestError(
        f"cannot load the edited manifest: {type(exc).__name__}: {exc}", path=files
    )


class ProtocolLoader:
    """Resolves provider manifests along the search path; caches; can hot-reload."""

    def __init__(
        self,
        manifest_paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] = (),
        *,
        hot_reload: bool = False,
        poll_interval: float = 1.0,
    ) -> None:
        from ailib.runtime.create_args import manifest_path_list  # one str is one path

        self.manifest_paths = [Path(p) for p in manifest_path_list(manifest_paths)]
        self.search_dirs = search_dirs(self.manifest_paths)  # fixed now: cwd and env of today
        self.hot_reload = hot_reload
        self.poll_interval = poll_interval
        self.errors: dict[str, AiLibError] = {}
        self.reloads = 0
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self._dirty = threading.Event()
        self._observer: Any = None
        if hot_reload:
            self._start_watchdog()

    def __repr__(self) -> str:
        mode = "hot" if self.hot_reload else "static"
        return f"ProtocolLoader({[str(p) for p in self.manifest_paths]!r}, {mode})"

    def resolved(self, provider_id: str) -> Resolved:
        """The effective manifest and its layers (loads it if needed)."""
        self.get(provider_id)
        return self._entries[provider_id].resolved

    def get(self, provider_id: str) -> ProviderSpec:
        """The spec to use for the next request to ``provider_id``."""
        with self._lock:
            entry = self._entries.get(provider_id)
            if entry is None:
                entry = self._entries[provider_id] = self._load(provider_id)
            elif self.hot_reload and self._due(entry):
                self._maybe_reload(provider_id, entry)
            return self._entries[provider_id].spec

    def _due(self, entry: _Entry) -> bool:
        if self._dirty.is_set():
            self._dirty.clear()
            return True
        return time.monotonic() - entry.checked >= self.poll_interval

    def _files(self, provider_id: str) -> list[Path]:
        return candidate_files(provider_id, self.search_dirs)

    def _load(self, provider_id: str) -> _Entry:
        files = self._files(provider_id)
        resolved = resolve(provider_id, dirs=self.search_dirs)
        return _Entry(resolved, spec_for(resolved), _signature(files), time.monotonic())

    def _maybe_reload(self, provider_id: str, entry: _Entry) -> None:
        entry.checked = time.monotonic()
        signature = _signature(self._files(provider_id))
        if signature == entry.signature:
            return
        try:
            fresh = self._load(provider_id)
        except Exception as exc:  # no edit may break requests: keep the last good manifest
            error = exc if isinstance(exc, AiLibError) else _unexpected(exc, entry)
            entry.signature = signature  # report once per edit
            self.errors[provider_id] = error
            log.error(
                "ailib: rejected manifest change for %r, keeping the last good one: %s",
                provider_id,
                error,
            )
            return
        self.errors.pop(provider_id, None)
        self.reloads += 1
        self._entries[provider_id] = fresh
        log.info("ailib: reloaded manifest for %r from %s", provider_id, fresh.resolved.winner)

    def _start_watchdog(self) -> None:
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError:
            return  # polling only
        dirty = self._dirty

        class _Handler(FileSystemEventHandler):  # type: ignore[misc,unused-ignore]
            def on_any_event(self, event: Any) -> None:
                dirty.set()

        observer = Observer()
        for folder in self.search_dirs:
            target = folder if folder.is_dir() else folder.parent
            if target.is_dir():
                observer.schedule(_Handler(), str(target), recursive=True)
        observer.daemon = True
        observer.start()
        self._observer = observer

    def close(self) -> None:
        """Stop the watchdog observer, if one runs."""
        if self._observer is not None:
            self._observer.stop()
            self._observer = None
