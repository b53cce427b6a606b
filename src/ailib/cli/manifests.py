"""``ailib manifest validate|show``, ``ailib providers`` and ``ailib models``.

Example::

    ailib manifest validate manifests/providers/openai.yaml
    ailib manifest show openai --manifest-path ./overrides
    ailib providers
    ailib models anthropic                        # capabilities, audio formats, image limits
"""

from __future__ import annotations

import argparse
import sys

from ailib.cli.terminal import clean
from ailib.errors import AiLibError


def validate(args: argparse.Namespace) -> int:
    from ailib.protocol.loader import load_manifest_file

    status = 0
    for path in args.paths:
        try:
            manifest = load_manifest_file(path)
        except AiLibError as exc:
            print(f"invalid: {clean(exc.message)}", file=sys.stderr)
            status = 1
        else:
            print(clean(f"ok: {path} (provider {manifest.id!r}, dialect {manifest.dialect})"))
    return status


def show(args: argparse.Namespace) -> int:
    import json

    from ailib.protocol.search import resolve

    try:
        found = resolve(args.provider, args.manifest_path)
    except AiLibError as exc:
        print(f"error: {clean(exc.message)}", file=sys.stderr)
        return 1
    print(clean(f"# provider {found.manifest.id!r}: effective manifest (winner: {found.winner})"))
    for source, keys in found.layers:
        print(clean(f"#   {source}: {', '.join(keys)}"))
    print(clean(json.dumps(found.manifest.data, indent=2, ensure_ascii=False), keep_lines=True))
    return 0


def providers(args: argparse.Namespace) -> int:
    from ailib.protocol.search import list_providers

    for provider_id, source in list_providers(args.manifest_path).items():
        print(clean(f"{provider_id:<20} {source}"))
    return 0


def models(args: argparse.Namespace) -> int:
    from ailib.protocol.search import resolve

    try:
        manifest = resolve(args.provider, args.manifest_path).manifest
        models = manifest.models
    except AiLibError as exc:
        print(f"error: {clean(exc.message)}", file=sys.stderr)
        return 1
    caps = manifest.data.get("capabilities")
    listed = (
        [*caps.get("required", []), *caps.get("optional", [])] if isinstance(caps, dict) else caps
    )
    names = [str(c) for c in listed] if isinstance(listed, list) else sorted(manifest.capabilities)
    print(clean(f"# {manifest.id}: {', '.join(names) or '-'}"))
    media = _media_summary(manifest.data.get("multimodal"))
    if media:
        print(clean(f"#   {media}"))
    for name, info in models.items():
        info = info if isinstance(info, dict) else {}
        price = info.get("pricing") or {}
        caps = (
            ",".join(info.get("capabilities", []))
            if isinstance(info.get("capabilities"), list)
            else ""
        )
        window = info.get("context_window", "")
        cost = (
            f"${price.get('input_per_1m', '?')}/${price.get('output_per_1m', '?')} per 1M"
            if isinstance(price, dict) and price
            else ""
        )
        if isinstance(price, dict):
            caps += _audio_prices(price)
        print(clean(f"{name:<32} {window!s:>9}  {cost:<26} {caps}"))
    return 0


def _audio_prices(price: dict[str, object]) -> str:
    """``"  (audio $40/$80 per 1M)"`` where a model bills spoken tokens apart, else ``""``."""
    heard, spoken = price.get("audio_input_per_1m"), price.get("audio_output_per_1m")
    if heard is not None and spoken is not None:
        return f"  (audio ${heard}/${spoken} per 1M)"
    if heard is not None:
        return f"  (audio in ${heard} per 1M)"
    if spoken is not None:
        return f"  (audio out ${spoken} per 1M)"
    return ""


def _media_summary(section: object) -> str:
    """The manifest's declared media rules in one line: audio formats in and out, image limits.

    Example: ``audio in: wav, mp3 · audio out: wav, mp3, pcm · images: 5MB, 8000x8000``.
    """
    if not isinstance(section, dict):
        return ""

    def part(*keys: str) -> dict[str, object]:
        node: object = section
        for key in keys:
            node = node.get(key) if isinstance(node, dict) else None
        return node if isinstance(node, dict) and node.get("supported") is not False else {}

    out = []
    for label, keys in (("audio in", ("input", "audio")), ("audio out", ("output", "audio"))):
        formats = part(*keys).get("formats")
        if isinstance(formats, list) and formats:
            out.append(f"{label}: {', '.join(str(f) for f in formats)}")
    vision = part("input", "vision")
    limits = [str(vision[k]) for k in ("max_file_size", "max_resolution") if vision.get(k)]
    if limits:
        out.append(f"images: {', '.join(limits)}")
    return " · ".join(out)
