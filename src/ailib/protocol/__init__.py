"""AI-Protocol manifests: loading, validation, the search path and hot reload.

Example::

    from ailib.protocol import ProtocolLoader

    loader = ProtocolLoader(hot_reload=True)   # edits to manifest files apply to new calls
    loader.get("openai").manifest.base_url

Names load lazily: ``import ailib.protocol`` imports nothing else (no YAML, no schema).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ailib.protocol.hot import ProtocolLoader
    from ailib.protocol.loader import builtin_manifest, load_manifest_file, load_manifest_text
    from ailib.protocol.manifest import Manifest
    from ailib.protocol.search import Resolved, list_providers, resolve

_EXPORTS = {
    "ProtocolLoader": "ailib.protocol.hot",
    "Manifest": "ailib.protocol.manifest",
    "load_manifest_file": "ailib.protocol.loader",
    "load_manifest_text": "ailib.protocol.loader",
    "builtin_manifest": "ailib.protocol.loader",
    "resolve": "ailib.protocol.search",
    "Resolved": "ailib.protocol.search",
    "list_providers": "ailib.protocol.search",
}

__all__ = [
    "Manifest",
    "ProtocolLoader",
    "Resolved",
    "builtin_manifest",
    "list_providers",
    "load_manifest_file",
    "load_manifest_text",
    "resolve",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ailib.protocol' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
