"""The ``ailib`` command.

Example::

    ailib chat --model mock/echo "Hello"          # no key, no network: starts a mock server
    ailib chat --model openai/gpt-4o "Tell a joke"
    ailib manifest validate manifests/providers/openai.yaml
    ailib manifest show openai --manifest-path ./overrides
    ailib providers
    ailib models anthropic                        # capabilities, audio formats, image limits
"""

from __future__ import annotations

import argparse
import re
import sys

from ailib.errors import AiLibError

# C0 and C1 controls and DEL: printed raw, manifest text, error messages or model output
# could drive the terminal (retitle it, clear it, fake lines). Shown escaped instead.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _clean(text: object, *, keep_lines: bool = False) -> str:
    """``text`` safe for a terminal: each control character shown as a ``\\xNN`` escape.

    Example: an ESC in a model name prints as the four characters ``\\x1b``.
    ``keep_lines`` keeps newlines and tabs (multi-line output such as JSON or an answer).
    """
    pattern = _CONTROL_BUT_LINES if keep_lines else _CONTROL
    return pattern.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def _chat(args: argparse.Namespace) -> int:
    from ailib import AiClient

    provider = args.model.partition("/")[0]
    server = None
    base_url = args.base_url
    if provider == "mock" and base_url is None:
        from ailib.testing import MockServer

        server = MockServer()
        server.start()
        base_url = server.base_url("mock")
    try:
        with AiClient.create(args.model, base_url=base_url, api_key=args.api_key) as client:
            builder = client.chat()
            if args.system:
                builder = builder.system(args.system)
            with builder.user(args.prompt).stream() as stream:
                for event in stream:
                    if event.is_content_delta:
                        sys.stdout.write(_clean(event.as_content_delta.content, keep_lines=True))
                        sys.stdout.flush()
                final = stream.final_response()
            sys.stdout.write("\n")
            if args.usage:
                u = final.usage
                print(f"[tokens in={u.input_tokens} out={u.output_tokens}]", file=sys.stderr)
    except AiLibError as exc:
        print(f"error: {_clean(exc)}", file=sys.stderr)
        return 1
    finally:
        if server is not None:
            server.stop()
    return 0


def _validate(args: argparse.Namespace) -> int:
    from ailib.protocol.loader import load_manifest_file

    status = 0
    for path in args.paths:
        try:
            manifest = load_manifest_file(path)
        except AiLibError as exc:
            print(f"invalid: {_clean(exc.message)}", file=sys.stderr)
            status = 1
        else:
            print(_clean(f"ok: {path} (provider {manifest.id!r}, dialect {manifest.dialect})"))
    return status


def _show(args: argparse.Namespace) -> int:
    import json

    from ailib.protocol.search import resolve

    try:
        found = resolve(args.provider, args.manifest_path)
    except AiLibError as exc:
        print(f"error: {_clean(exc.message)}", file=sys.stderr)
        return 1
    print(_clean(f"# provider {found.manifest.id!r}: effective manifest (winner: {found.winner})"))
    for source, keys in found.layers:
        print(_clean(f"#   {source}: {', '.join(keys)}"))
    print(_clean(json.dumps(found.manifest.data, indent=2, ensure_ascii=False), keep_lines=True))
    return 0


def _providers(args: argparse.Namespace) -> int:
    from ailib.protocol.search import list_providers

    for provider_id, source in list_providers(args.manifest_path).items():
        print(_clean(f"{provider_id:<20} {source}"))
    return 0


def _models(args: argparse.Namespace) -> int:
    from ailib.protocol.search import resolve

    try:
        manifest = resolve(args.provider, args.manifest_path).manifest
        models = manifest.models
    except AiLibError as exc:
        print(f"error: {_clean(exc.message)}", file=sys.stderr)
        return 1
    caps = manifest.data.get("capabilities")
    listed = (
        [*caps.get("required", []), *caps.get("optional", [])] if isinstance(caps, dict) else caps
    )
    names = [str(c) for c in listed] if isinstance(listed, list) else sorted(manifest.capabilities)
    print(_clean(f"# {manifest.id}: {', '.join(names) or '-'}"))
    media = _media_summary(manifest.data.get("multimodal"))
    if media:
        print(_clean(f"#   {media}"))
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
        print(_clean(f"{name:<32} {window!s:>9}  {cost:<26} {caps}"))
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ailib", description="One client for every LLM.")
    sub = parser.add_subparsers(dest="command", required=True)
    paths = argparse.ArgumentParser(add_help=False)
    paths.add_argument(
        "--manifest-path",
        action="append",
        default=[],
        metavar="DIR",
        help="search this directory (or file) first; repeatable",
    )
    manifest = sub.add_parser("manifest", help="validate or show manifests")
    msub = manifest.add_subparsers(dest="action", required=True)
    validate = msub.add_parser("validate", help="check manifest files")
    validate.add_argument("paths", nargs="+")
    show = msub.add_parser("show", parents=[paths], help="effective manifest and its sources")
    show.add_argument("provider")
    sub.add_parser("providers", parents=[paths], help="list providers and where they come from")
    models = sub.add_parser("models", parents=[paths], help="list a provider's models")
    models.add_argument("provider")
    chat = sub.add_parser("chat", help="stream an answer to the terminal")
    chat.add_argument("prompt")
    chat.add_argument("--model", required=True, help="provider/model, e.g. mock/echo")
    chat.add_argument("--system", default=None)
    chat.add_argument("--base-url", default=None)
    chat.add_argument("--api-key", default=None, help="defaults to the provider's env var")
    chat.add_argument("--usage", action="store_true", help="print token usage to stderr")
    args = parser.parse_args(argv)
    if args.command == "manifest":
        return _validate(args) if args.action == "validate" else _show(args)
    if args.command == "providers":
        return _providers(args)
    if args.command == "models":
        return _models(args)
    return _chat(args)


if __name__ == "__main__":
    sys.exit(main())
