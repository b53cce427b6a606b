"""Model routing, async: choose a model, then spread concurrent calls over endpoints
(seed "Model Routing & Selection"; README "Model routing")."""

import asyncio

from _target import provider_or_mock

from ailib import AsyncAiClient
from ailib.routing import AsyncModelArray, CostBasedSelector, RoundRobinSelector, create_models

provider_or_mock("openai")


async def main() -> None:
    manager = create_models("openai", "anthropic", "gemini")
    tool_models = manager.filter_by_capability("function_calling")
    cheapest = CostBasedSelector().select(tool_models)
    print(f"{len(tool_models)} models call tools; cheapest: {cheapest.name}")

    clients = [
        await AsyncAiClient.create(model) for model in ("openai/gpt-4o", "openai/gpt-4o-mini")
    ]
    async with AsyncModelArray("assistant", clients, selector=RoundRobinSelector()) as array:
        answers = await asyncio.gather(
            *(array.chat().user(f"Question {i}").execute() for i in range(4))
        )
        for answer in answers:
            print(answer.content, "| served by", answer.served_by)
        for endpoint, stats in array.stats().items():
            print(f"{endpoint}: calls={stats['calls']} failures={stats['failures']}")


asyncio.run(main())
