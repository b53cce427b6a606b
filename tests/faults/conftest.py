"""Fixtures of the fault-injection suite: the faulty proxy in front of the mock server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ailib.testing import MockServer
from ailib.testing.faulty_proxy import FaultyProxy


@pytest.fixture(scope="session")
def proxy_session(mock_server_session: MockServer) -> Iterator[FaultyProxy]:
    with FaultyProxy(mock_server_session) as proxy:
        yield proxy


@pytest.fixture
def proxy(proxy_session: FaultyProxy, mock_server: MockServer) -> Iterator[FaultyProxy]:
    """The session proxy (pass-through, port open, counters cleared) before the
    per-test mock server."""
    proxy_session.reset()
    yield proxy_session
    proxy_session.reset()
