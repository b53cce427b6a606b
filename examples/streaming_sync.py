"""Streaming: print the answer as it arrives (seed "Streaming")."""

from _target import provider_or_mock

from ailib import AiClient

provider_or_mock("anthropic")

with AiClient.create("anthropic/claude-sonnet-4-5") as client:
    request = client.chat().system("You are a helpful assistant.").user("Tell me a short story.")
    with request.stream() as stream:
        for event in stream:
            if event.is_content_delta:
                print(event.as_content_delta.content, end="", flush=True)
    print()
    final = stream.final_response()  # the whole answer, assembled
    print(f"finish={final.finish_reason} output_tokens={final.usage.output_tokens}")
