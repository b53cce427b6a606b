"""``ailib chat`` without a prompt (or with ``-i``): a conversation in the terminal.

The history is kept across turns. Ctrl-C stops the answer being written (the stream is
closed; the question and the partial answer stay in the history) and the conversation
goes on; Ctrl-D or ``/exit`` leaves.

Example::

    $ ailib chat --model mock/echo
    you> Hello
    echo: Hello
    you> /cost
    tokens in=1 out=2 total=3 · cost $0.000000
"""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING

from ailib.cli.terminal import UsageError, clean, explain

if TYPE_CHECKING:
    from ailib.cli.session import ChatSession

PROMPT = "you> "

HELP = """commands:
  /model NAME    talk to another model from now on (the history is kept)
  /system TEXT   set the system prompt (/system alone removes it)
  /reset         forget the conversation (the model and system prompt stay)
  /cost          tokens and cost of this session so far
  /help          this list
  /exit          leave (or Ctrl-D)
Ctrl-C stops an answer; the question and the partial answer stay in the history."""


def run_interactive(session: ChatSession, first: str | None = None) -> int:
    """Read questions until Ctrl-D or ``/exit``; returns the exit code (0)."""
    with contextlib.suppress(ImportError):  # not on every platform
        import readline  # noqa: F401  (line editing and history for input())
    err = sys.stderr
    print(
        clean(f"ailib chat with {session.model}: /help lists commands, Ctrl-D leaves"),
        file=err,
        flush=True,
    )
    prompt = PROMPT if sys.stdin.isatty() else ""  # piped questions: answers only
    if first:
        _turn(session, first)
    while True:
        try:
            line = input(prompt)
        except EOFError:  # Ctrl-D
            if prompt:
                print(file=sys.stdout)  # the shell's prompt on a line of its own
            return 0
        except KeyboardInterrupt:
            print("\n(Ctrl-D or /exit leaves)", file=err, flush=True)
            continue
        line = line.strip()
        if not line:
            continue
        if line.startswith("/"):
            if _command(session, line) == "exit":
                return 0
            continue
        _turn(session, line)


def _turn(session: ChatSession, text: str) -> None:
    err = sys.stderr
    try:
        session.ask(text)
    except KeyboardInterrupt:
        sys.stdout.write("\n")
        print("[stopped; the partial answer is kept in the history]", file=err, flush=True)
    except Exception as exc:
        line, _ = explain(exc, key_names=session.key_names, secret=session.settings.api_key)
        print(line, file=err, flush=True)


def _command(session: ChatSession, line: str) -> str | None:
    name, _, rest = line.partition(" ")
    rest = rest.strip()
    err = sys.stderr
    if name in ("/exit", "/quit"):
        return "exit"
    if name == "/help":
        print(HELP, file=err, flush=True)
    elif name == "/model":
        if not rest:
            print(clean(f"[model: {session.model}] (/model NAME switches)"), file=err)
            return None
        try:
            session.switch_model(rest)
        except Exception as exc:
            line, _ = explain(exc, key_names=session.key_names, secret=session.settings.api_key)
            print(line, file=err, flush=True)
        else:
            print(clean(f"[model: {session.model}]"), file=err, flush=True)
    elif name == "/system":
        session.settings.system = rest or None
        shown = f"[system: {rest}]" if rest else "[system prompt removed]"
        print(clean(shown), file=err, flush=True)
    elif name == "/reset":
        session.history.clear()
        print("[conversation forgotten]", file=err, flush=True)
    elif name == "/cost":
        totals = session.totals
        print(f"{totals.describe()} over {totals.calls} calls", file=err, flush=True)
    else:
        line, _ = explain(UsageError(f"unknown command {name}; /help lists them"))
        print(line, file=err, flush=True)
    return None
