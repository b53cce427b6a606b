"""Pytest fixtures for :class:`~ailib.testing.MockServer`.

Enable in ``conftest.py``::

    pytest_plugins = ["ailib.testing.pytest_plugin"]

    def test_hello(mock_server):
        mock_server.push(Scenario(text="hi"))
        ...  # call mock_server.base_url("openai") with any client
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ailib.testing.server import MockServer

__all__ = ["mock_server", "mock_server_session"]


@pytest.fixture(scope="session")
def mock_server_session() -> Iterator[MockServer]:
    """One mock server for the whole test session."""
    with MockServer() as server:
        yield server


@pytest.fixture
def mock_server(mock_server_session: MockServer) -> Iterator[MockServer]:
    """The session server, reset (empty queue, echo default, no recorded requests)."""
    mock_server_session.reset()
    yield mock_server_session
    mock_server_session.reset()
