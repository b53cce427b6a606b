"""The ``ailib`` command.

Example::

    ailib chat --model mock/echo "Hello"          # no key, no network: starts a mock server
    ailib chat --model openai/gpt-4o --usage "Tell a joke"
    ailib chat --model openai/gpt-4o --tools calc.py "What is 2+3?"
    ailib chat --model anthropic/claude-sonnet-4-5      # no prompt: a conversation
    ailib manifest validate manifests/providers/openai.yaml
    ailib manifest show openai --manifest-path ./overrides
    ailib providers
    ailib models anthropic                        # capabilities, audio formats, image limits
"""

from __future__ import annotations

import argparse
import sys
import traceback
from typing import NoReturn

from ailib.cli.terminal import (
    EXIT_CODES_HELP,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    clean,
    explain,
)

__all__ = ["main"]

# the name earlier versions (and their tests) used
_clean = clean


class _Parser(argparse.ArgumentParser):
    """An argument parser whose mistakes are one line on stderr (exit 2)."""

    def error(self, message: str) -> NoReturn:
        print(
            clean(f"ailib: usage error: {message} (see {self.prog} --help)"),
            file=sys.stderr,
        )
        raise SystemExit(EXIT_USAGE)


def _reasoning(value: str) -> str | int:
    return int(value) if value.isdigit() else value


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ailib",
        description="One client for every LLM.",
        epilog=EXIT_CODES_HELP,
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    sub = parser.add_subparsers(dest="command", required=True)
    paths = _Parser(add_help=False)
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
    _chat_parser(sub)
    return parser


def _chat_parser(sub: argparse._SubParsersAction[_Parser]) -> None:
    chat = sub.add_parser(
        "chat",
        help="ask a model (streams to the terminal); no prompt: a conversation",
        description="Ask a model. Without a prompt (or with -i): an interactive "
        "conversation with /model NAME, /system TEXT, /reset, /cost, /help and /exit; "
        "Ctrl-C stops an answer, Ctrl-D leaves.",
        epilog=EXIT_CODES_HELP,
    )
    chat.add_argument("prompt", nargs="?", help="the question; none: interactive")
    chat.add_argument("-i", "--interactive", action="store_true", help="go on after the prompt")
    chat.add_argument("--model", required=True, help="provider/model, e.g. mock/echo")
    chat.add_argument("--system", default=None, metavar="TEXT", help="system prompt")
    chat.add_argument("--temperature", type=float, default=None, metavar="T")
    chat.add_argument("--max-tokens", type=int, default=None, metavar="N")
    chat.add_argument(
        "--reasoning",
        type=_reasoning,
        default=None,
        metavar="EFFORT",
        help="none, minimal, low, medium, high, xhigh or a token budget",
    )
    chat.add_argument(
        "--stream",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="print the answer as it comes (default); --no-stream waits for all of it",
    )
    chat.add_argument(
        "--json",
        action="store_true",
        help="JSON lines: one per stream event and a final 'response' object "
        "(with --no-stream: the final object only)",
    )
    chat.add_argument(
        "--usage", action="store_true", help="print tokens and cost to stderr after each answer"
    )
    chat.add_argument(
        "--tools",
        metavar="FILE.py",
        default=None,
        help="offer the typed functions of this file as tools and run the calls",
    )
    chat.add_argument(
        "--fallback",
        action="append",
        default=[],
        metavar="MODEL",
        help="try this model when the first fails (repeatable, in order)",
    )
    chat.add_argument("--base-url", default=None, metavar="URL", help="the provider's endpoint")
    chat.add_argument(
        "--api-key", default=None, metavar="KEY", help="default: the provider's env variable"
    )
    chat.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks of errors"
    )


def _chat(args: argparse.Namespace) -> int:
    from ailib.cli.session import ChatSession, ChatSettings

    tools = None
    if args.tools is not None:
        from ailib.cli.tools_file import ToolFile

        tools = ToolFile.load(args.tools)
    settings = ChatSettings(
        model=args.model,
        system=args.system,
        stream=args.stream,
        json=args.json,
        usage=args.usage,
        temperature=args.temperature,
        max_tokens=args.max_tokens,
        reasoning=args.reasoning,
        fallbacks=list(args.fallback),
        base_url=args.base_url,
        api_key=args.api_key,
        tools=tools,
    )
    session = ChatSession(settings)
    args.session = session
    try:
        session.client()  # a wrong model or option fails here, before any question
        if args.prompt is None or args.interactive:
            from ailib.cli.interactive import run_interactive

            return run_interactive(session, args.prompt)
        session.ask(args.prompt)
        return EXIT_OK
    finally:
        session.close()


def _run(args: argparse.Namespace) -> int:
    from ailib.cli import manifests

    if args.command == "manifest":
        return manifests.validate(args) if args.action == "validate" else manifests.show(args)
    if args.command == "providers":
        return manifests.providers(args)
    if args.command == "models":
        return manifests.models(args)
    return _chat(args)


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit code (see ``ailib --help``)."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already printed
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return _run(args)
    except KeyboardInterrupt:
        sys.stdout.write("\n")
        print("ailib: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        secret = getattr(args, "api_key", None)
        if args.debug:  # error text can come from a server: escaped, and no key in it
            shown = traceback.format_exc()
            print(
                clean(shown.replace(secret, "***") if secret else shown, keep_lines=True),
                end="",
                file=sys.stderr,
            )
        session = getattr(args, "session", None)
        line, status = explain(
            exc,
            key_names=session.key_names if session is not None else (),
            secret=secret,
        )
        print(line, file=sys.stderr)
        return status
