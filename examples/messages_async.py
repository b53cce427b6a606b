"""A list of messages, with sampling parameters, async (seed "With Messages List")."""

import asyncio

from _target import provider_or_mock

from ailib import AsyncAiClient, Message

provider_or_mock("openai")

messages = [
    Message.system("You are a Python expert."),
    Message.user("How do I read a file in Python?"),
]


async def main() -> None:
    async with await AsyncAiClient.create("openai/gpt-4o") as client:
        response = await (
            client.chat().messages(messages).temperature(0.7).max_tokens(1024).execute()
        )
        print(response.content)

        # OpenAI-style dicts are accepted too
        history = [
            {"role": "user", "content": "Hi"},
            response.to_message(),
            Message.user("Thanks!"),
        ]
        print((await client.chat().messages(history).execute()).content)


asyncio.run(main())
