"""A list of messages, with sampling parameters (seed "With Messages List")."""

from _target import provider_or_mock

from ailib import AiClient, Message

provider_or_mock("openai")

messages = [
    Message.system("You are a Python expert."),
    Message.user("How do I read a file in Python?"),
]

with AiClient.create("openai/gpt-4o") as client:
    response = client.chat().messages(messages).temperature(0.7).max_tokens(1024).execute()
    print(response.content)

    # OpenAI-style dicts are accepted too
    history = [{"role": "user", "content": "Hi"}, response.to_message(), Message.user("Thanks!")]
    print(client.chat().messages(history).execute().content)
