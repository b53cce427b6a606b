"""Basic use: one chat completion (seed "Basic Usage")."""

from _target import provider_or_mock

from ailib import AiClient

provider_or_mock("openai")

client = AiClient.create("openai/gpt-4o")
response = client.chat().user("Hello! What's 2+2?").execute()
print(response.content)
print(f"finish={response.finish_reason} tokens={response.usage.total_tokens}")
client.close()
