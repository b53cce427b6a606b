"""Run the mock LLM server: ``python -m ailib.testing --host 127.0.0.1 --port 8000``."""

from __future__ import annotations

import argparse
import signal
import time
from types import FrameType

from ailib.testing.server import MockServer


def main(argv: list[str] | None = None) -> int:
    """Serve until Ctrl-C (or SIGTERM), printing the per-dialect base URLs."""
    parser = argparse.ArgumentParser(
        prog="python -m ailib.testing",
        description="Loopback server impersonating OpenAI, Anthropic and Gemini (echo answers).",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="interface to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=8000, help="port, 0 = any free port (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    server = MockServer(host=args.host, port=args.port).start()

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)  # stop cleanly on SIGTERM like on Ctrl-C
    # Ctrl-C works even when started in the background of a shell, which ignores SIGINT
    signal.signal(signal.SIGINT, interrupt)
    print(f"ailib mock server listening on {server.url}", flush=True)
    for dialect in ("openai", "anthropic", "gemini", "mock"):
        print(f"  {dialect:<10} {server.base_url(dialect)}", flush=True)
    print("Press Ctrl-C to stop.", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
