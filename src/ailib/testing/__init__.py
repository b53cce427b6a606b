"""Loopback LLM provider impersonation for end-to-end tests, demos and benchmarks.

Example::

    from ailib.testing import MockServer, Scenario

    with MockServer() as server:
        server.push(Scenario(text="Hello!"))
        # point any OpenAI/Anthropic/Gemini client at server.base_url("openai"), ...

Pytest users can enable the fixtures with
``pytest_plugins = ["ailib.testing.pytest_plugin"]``.
"""

from ailib.testing.scenario import RawArguments, RecordedRequest, Scenario
from ailib.testing.server import MockServer

__all__ = ["MockServer", "RawArguments", "RecordedRequest", "Scenario"]
