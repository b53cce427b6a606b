"""Extension point of the mock server: more dialects register routes here.

A module named ``ailib/testing/dialect_<name>.py`` is imported when the server module
loads; it subclasses :class:`~ailib.testing.dialects.Dialect` and calls
:func:`register` with the routes it answers. Built-in OpenAI, Anthropic and Gemini
routes are handled by the server itself.

Example::

    register("ollama", OllamaDialect(), Route("POST", r"^/api/chat$"), base_path="")
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from ailib.testing.dialects import Dialect


def _model_from_body(match: re.Match[str], payload: dict[str, Any]) -> str:
    return str(payload.get("model") or "unknown")


def _stream_from_body(match: re.Match[str], payload: dict[str, Any], query: dict[str, str]) -> bool:
    return payload.get("stream") is True


@attrs.frozen
class Route:
    """A request the mock answers: method, path regex, how to find model and stream mode."""

    method: str
    pattern: str
    model: Callable[[re.Match[str], dict[str, Any]], str] = _model_from_body
    stream: Callable[[re.Match[str], dict[str, Any], dict[str, str]], bool] = _stream_from_body
    dialect: str = ""

    def match(self, method: str, path: str) -> re.Match[str] | None:
        return re.match(self.pattern, path) if method == self.method else None


ROUTES: list[Route] = []
BASE_PATHS: dict[str, str] = {}


def register(name: str, dialect: Dialect, *routes: Route, base_path: str = "/v1") -> None:
    """Add a dialect and the routes it answers (``base_path`` feeds ``server.base_url``)."""
    from ailib.testing.dialects import DIALECTS

    DIALECTS[name] = dialect
    BASE_PATHS[name] = base_path
    for route in routes:
        ROUTES.append(attrs.evolve(route, dialect=name))


def load_plugins() -> None:
    """Import every ``ailib.testing.dialect_*`` module (each registers itself)."""
    import ailib.testing as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("dialect_"):
            importlib.import_module(f"ailib.testing.{info.name}")
