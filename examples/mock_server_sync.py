"""The local mock server with scripted faults: a 429 retried, a failing provider replaced
by a fallback, a stream cut mid-way (README "Local mock provider", "Faults survived").

Always local: real providers cannot be told to fail on cue.
"""

from ailib import AiClient, StreamInterruptedError
from ailib.resilience import FallbackTarget, RetryConfig
from ailib.testing import MockServer, Scenario

with MockServer() as server:  # a free loopback port; also: python -m ailib.testing --port 8000
    print(f"using the local mock server at {server.url} (scripted faults)")
    claude = FallbackTarget("anthropic/claude-sonnet-4-5", "test-key", server.base_url("anthropic"))
    client = (
        AiClient.builder()
        .model("openai/gpt-4o")
        .base_url(server.base_url("openai"))
        .api_key("test-key")
        .with_retry(RetryConfig(max_retries=2, min_delay_ms=10))
        .with_fallbacks([claude])
        .build()
    )
    with client:
        server.push(Scenario(status=429, retry_after=0.05), Scenario(text="after one retry"))
        response = client.chat().user("Hello").execute()
        print(f"{response.content} | retries: {client.get_resilience_stats().retries}")

        server.push(Scenario(status=503, repeat=3))  # the primary keeps failing
        response = client.chat().user("Hello").execute()
        print(f"{response.content} | served by {response.served_by}")

        server.push(Scenario(text="one two three four", cut_after=2))
        try:
            with client.chat().user("Count").stream() as stream:
                for event in stream:
                    if event.is_content_delta:
                        print(f"received {event.as_content_delta.content!r}")
        except StreamInterruptedError as err:  # never retried after the first event
            print(f"{err.code} {type(err).__name__}, partial: {err.partial.content!r}")

    print(f"requests the server saw: {[r.path for r in server.requests]}")
