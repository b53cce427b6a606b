"""The client as a context manager: closed on exit (seed "Context Manager")."""

from _target import provider_or_mock

from ailib import AiClient

provider_or_mock("openai")

with AiClient.create("openai/gpt-4o") as client:
    response = client.chat().user("Hello!").execute()
    print(response.content)
# client automatically closed
print("closed")
