"""The ``ailib`` command.

Example::

    ailib chat --model mock/echo "Hello"          # no key, no network: starts a mock server
    ailib chat --model openai/gpt-4o "Tell a joke"
"""

from __future__ import annotations

import argparse
import sys

from ailib.errors import AiLibError


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
                        sys.stdout.write(event.as_content_delta.content)
                        sys.stdout.flush()
                final = stream.final_response()
            sys.stdout.write("\n")
            if args.usage:
                u = final.usage
                print(f"[tokens in={u.input_tokens} out={u.output_tokens}]", file=sys.stderr)
    except AiLibError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if server is not None:
            server.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ailib", description="One client for every LLM.")
    sub = parser.add_subparsers(dest="command", required=True)
    chat = sub.add_parser("chat", help="stream an answer to the terminal")
    chat.add_argument("prompt")
    chat.add_argument("--model", required=True, help="provider/model, e.g. mock/echo")
    chat.add_argument("--system", default=None)
    chat.add_argument("--base-url", default=None)
    chat.add_argument("--api-key", default=None, help="defaults to the provider's env var")
    chat.add_argument("--usage", action="store_true", help="print token usage to stderr")
    args = parser.parse_args(argv)
    return _chat(args)


if __name__ == "__main__":
    sys.exit(main())
