"""One endpoint of a ``ModelArray``: a client, its weight, and what the array measures.

Example::

    Endpoint(await AsyncAiClient.create("ollama/llama3.1", base_url=host), weight=2)
"""

from __future__ import annotations

import threading
from typing import Any

from ailib.errors import InvalidRequestError


class Endpoint:
    """A client (sync or async) in a ``ModelArray``; ``in_flight`` counts its calls now.

    ``healthy`` is False while the client's circuit breaker is open (clients built with
    ``.with_circuit_breaker(...)`` or ``.production_ready()``; without a breaker an
    endpoint counts as healthy).
    """

    def __init__(self, client: Any, *, weight: float = 1.0, name: str | None = None) -> None:
        if not isinstance(weight, int | float) or isinstance(weight, bool) or weight <= 0:
            raise InvalidRequestError(f"endpoint weight must be a positive number, got {weight!r}")
        if not callable(getattr(client, "execute", None)):
            raise InvalidRequestError(
                f"an endpoint needs an ailib client, got {type(client).__name__}"
            )
        self.client = client
        self.weight = float(weight)
        self.key = _target_key(client)
        self.name = name or self.key
        self._lock = threading.Lock()
        self.in_flight = 0
        self.calls = 0
        self.failures = 0

    @property
    def circuit_state(self) -> str | None:
        state = getattr(self.client, "circuit_state", None)
        return state if isinstance(state, str) else None

    @property
    def healthy(self) -> bool:
        return self.circuit_state != "open"

    def started(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.calls += 1

    def finished(self, *, failed: bool) -> None:
        with self._lock:
            self.in_flight -= 1
            self.failures += int(failed)

    def __repr__(self) -> str:
        return (
            f"Endpoint({self.name!r}, weight={self.weight:g}, in_flight={self.in_flight}, "
            f"circuit={self.circuit_state})"
        )


def _target_key(client: Any) -> str:
    """``provider|base_url|model``, the breaker's key for the client's target."""
    engine = getattr(client, "provider", None)
    base_url = getattr(engine, "base_url", "")
    return f"{getattr(client, 'provider_id', '?')}|{base_url}|{getattr(client, 'model', '?')}"
