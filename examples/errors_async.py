"""Typed errors, async: handle many calls' failures by their standard code (README
"Errors")."""

import asyncio

from _target import provider_or_mock

from ailib import AiLibError, AsyncAiClient, InsecureTransportError

provider_or_mock("openai")


async def ask(model: str, question: str) -> str:
    async with await AsyncAiClient.create(model) as client:
        return (await client.chat().user(question).execute()).content


async def main() -> None:
    results = await asyncio.gather(
        ask("openai/gpt-4o", "Hello"),
        ask("openai/gpt-does-not-exist", "Hello"),
        return_exceptions=True,
    )
    for result in results:
        if isinstance(result, AiLibError):
            print(
                f"failed: {result.code} {result.name} (status {result.status}, "
                f"retryable={result.retryable}, fallbackable={result.fallbackable})"
            )
        else:
            print(f"answer: {result}")

    try:  # keys never travel over plain http to a non-loopback host
        await AsyncAiClient.create("openai/gpt-4o", base_url="http://example.com/v1")
    except InsecureTransportError as err:
        print(f"{err.code} {err.name}: {type(err).__name__}")


asyncio.run(main())
