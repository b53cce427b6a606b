"""Structured output, async: a dataclass schema, JSON mode and repairs (README
"Structured output")."""

import asyncio
from dataclasses import dataclass

from _target import provider_or_mock

from ailib import AsyncAiClient, StructuredOutputError

provider_or_mock("openai")


@dataclass
class Recipe:
    name: str
    minutes: int
    ingredients: list[str]


async def main() -> None:
    async with await AsyncAiClient.create("openai/gpt-4o") as client:
        try:
            resp = await (
                client.chat()
                .user("A quick pasta recipe")
                .response_format(Recipe, max_repairs=2)
                .execute()
            )
        except StructuredOutputError as err:  # still wrong after two repairs
            print(f"no recipe: {err.path} {err.problem}")
        else:
            recipe = resp.parsed
            print(f"{recipe.name}: {recipe.minutes} min, {len(recipe.ingredients)} ingredient(s)")

        anything = await client.chat().user("Three primes as JSON").json_mode().execute()
        print(f"json_mode parsed: {anything.parsed!r}")


asyncio.run(main())
