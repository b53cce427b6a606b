"""A batch's progress display: a bar on a terminal (tqdm, else rich), silent otherwise.

The libraries are optional (``pip install ailib[progress]`` installs tqdm) and imported
only when a bar is shown: on a stream that is a terminal.

Example::

    bar = open_progress(None, sys.stderr, total=1000, initial=120)  # 120 restored
    bar.advance(failed=False)
    bar.close()
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from typing import Any, TextIO

from ailib.errors import ConfigurationError

#: the libraries a bar can be drawn with, in order of preference
LIBRARIES = ("tqdm", "rich")


class Progress:
    """Counts finished items; the base shows nothing."""

    def __init__(self, total: int, initial: int = 0) -> None:
        self.total = total
        self.done = initial
        self.failed = 0

    def advance(self, *, failed: bool) -> None:
        """One more item finished (``failed``: it failed)."""
        self.done += 1
        self.failed += failed
        self._show()

    def _show(self) -> None:
        return None

    def close(self) -> None:
        """The run ended: take the bar down (nothing for a silent display)."""
        return None


class CallbackProgress(Progress):
    """Calls ``on_progress(done, total)`` after each item."""

    def __init__(self, on_progress: Callable[[int, int], Any], total: int, initial: int) -> None:
        super().__init__(total, initial)
        self.on_progress = on_progress

    def _show(self) -> None:
        self.on_progress(self.done, self.total)


class TqdmProgress(Progress):
    """A tqdm bar on ``stream``."""

    def __init__(self, stream: TextIO, total: int, initial: int) -> None:
        super().__init__(total, initial)
        tqdm = importlib.import_module("tqdm").tqdm  # optional: the 'progress' extra
        self.bar = tqdm(total=total, initial=initial, file=stream, unit="item", desc="batch")

    def _show(self) -> None:
        if self.failed:
            self.bar.set_postfix(failed=self.failed, refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


class RichProgress(Progress):
    """A rich progress bar on ``stream``."""

    def __init__(self, stream: TextIO, total: int, initial: int) -> None:
        super().__init__(total, initial)
        console = importlib.import_module("rich.console").Console(file=stream)
        self.bar = importlib.import_module("rich.progress").Progress(console=console)
        self.task = self.bar.add_task("batch", total=total, completed=initial)
        self.bar.start()

    def _show(self) -> None:
        described = f"batch ({self.failed} failed)" if self.failed else "batch"
        self.bar.update(self.task, advance=1, description=described)

    def close(self) -> None:
        self.bar.stop()


def installed_library() -> str | None:
    """The first of :data:`LIBRARIES` that is installed (None: neither)."""
    for name in LIBRARIES:
        if importlib.util.find_spec(name) is not None:
            return name
    return None


def check_progress_setting(setting: Any) -> None:
    """``progress=True`` needs tqdm or rich: a clear error naming the extra if neither."""
    if setting is True and installed_library() is None:
        raise ConfigurationError(
            "BatchConfig(progress=True) draws a bar with tqdm or rich, and neither is"
            " installed: pip install 'ailib[progress]' (or progress=None to show a bar"
            " only when one is installed)"
        )


def open_progress(setting: Any, stream: TextIO | None, total: int, initial: int) -> Progress:
    """The display for ``BatchConfig.progress`` (see :class:`~ailib.batch.BatchConfig`)."""
    if setting is False:
        return Progress(total, initial)
    if callable(setting) and not isinstance(setting, bool):
        return CallbackProgress(setting, total, initial)
    out = sys.stderr if stream is None else stream
    isatty = getattr(out, "isatty", None)
    if not (callable(isatty) and isatty()):
        return Progress(total, initial)
    library = installed_library()
    if library == "tqdm":
        return TqdmProgress(out, total, initial)
    if library == "rich":
        return RichProgress(out, total, initial)
    return Progress(total, initial)
