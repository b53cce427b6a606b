"""ProviderSpec: everything the runtime needs to talk to one provider.

A spec is built either from a generated module (compiled functions and dict literals)
or by interpreting a manifest at runtime (``ProviderSpec.interpreted``); both expose
the same callables, so the runtime cannot tell them apart.

Example::

    spec = ProviderSpec.interpreted(manifest)
    spec.map_stream({"choices": [{"delta": {"content": "Hi"}}]})
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import attrs

from ailib.protocol.expr import lookup, parse_path
from ailib.protocol.interpret import Emitted, EventMapper, encode_params
from ailib.protocol.manifest import Manifest
from ailib.runtime.classify import ErrorTables

MapFn = Callable[[Any], list[Emitted]]
ParamFn = Callable[[dict[str, Any]], dict[str, Any]]


@attrs.frozen
class ProviderSpec:
    """Compiled or interpreted behaviour of one provider manifest."""

    manifest: Manifest
    map_stream: MapFn
    map_response: MapFn
    encode_params: ParamFn
    errors: ErrorTables
    compiled: bool = False

    @property
    def id(self) -> str:
        return self.manifest.id

    @classmethod
    def interpreted(cls, manifest: Manifest) -> ProviderSpec:
        """Build a spec by interpreting the manifest (no codegen needed)."""
        stream_mapper = EventMapper.from_config(manifest.streaming)
        response_mapper = EventMapper.from_config(manifest.response)
        declared = manifest.declared_parameters

        def params(values: dict[str, Any]) -> dict[str, Any]:
            return encode_params(declared, values)

        return cls(
            manifest,
            stream_mapper.map,
            response_mapper.map,
            params,
            error_tables(manifest),
            compiled=False,
        )


def error_tables(
    manifest: Manifest,
    codes_of: Callable[[Any], list[str]] | None = None,
    message_of: Callable[[Any], str | None] | None = None,
) -> ErrorTables:
    """Error tables from a manifest; compiled modules pass their own extractors."""
    cfg = manifest.errors
    code_paths = [
        parse_path(p) for p in cfg.get("error_code_paths", ["$.error.code", "$.error.type"])
    ]
    message_path = parse_path(cfg.get("error_message_path", "$.error.message"))

    def interp_codes(body: Any) -> list[str]:
        found: list[str] = []
        for path in code_paths:
            value = lookup(path, body, None)
            items = value if path.has_wildcard and isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, str | int) and not isinstance(item, bool) and str(item):
                    found.append(str(item))
        return found

    def interp_message(body: Any) -> str | None:
        value = lookup(message_path, body, None)
        return value if isinstance(value, str) else None

    rl = manifest.rate_limit_headers
    return ErrorTables(
        provider=manifest.id,
        by_code=dict(cfg.get("by_error_code", {})),
        by_status={int(k): v for k, v in cfg.get("by_http_status", {}).items()},
        patterns=tuple(
            (re.compile(p["pattern"]), p["maps_to"]) for p in cfg.get("by_error_message", [])
        ),
        codes_of=codes_of or interp_codes,
        message_of=message_of or interp_message,
        request_id_headers=tuple(manifest.request_id_headers),
        retry_after_headers=(rl.get("retry_after", "retry-after"),),
        retry_after_ms_headers=(rl.get("retry_after_ms", "retry-after-ms"),),
        code_headers=tuple(cfg.get("error_code_headers", ())),
    )
