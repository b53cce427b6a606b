"""Token counting and the cost of each call, async (seed "Token Counting and Cost
Estimation"; README "Tokens and cost")."""

import asyncio

from _target import provider_or_mock

from ailib import AsyncAiClient, Message
from ailib.errors import TokenizerUnavailableError
from ailib.tokens import TokenCounter, estimate_cost, get_model_pricing

provider_or_mock("openai")


async def main() -> None:
    try:
        counter = TokenCounter.for_model("gpt-4o")
    except TokenizerUnavailableError:  # offline, tiktoken cannot fetch its files: estimate
        counter = TokenCounter.for_model("gpt-4o", exact=False)
    prompt = [Message.system("Be brief."), Message.user("Name three rivers.")]
    print(f"Prompt tokens (local count): {counter.count_messages(prompt)}")
    pricing = get_model_pricing("gpt-4o")
    print(f"Input: ${pricing.input_price_per_1k}/1K tokens, context {pricing.context_window}")

    async with await AsyncAiClient.create("openai/gpt-4o") as client:
        try:
            print(f"count_tokens: {await client.count_tokens(prompt)}")
        except TokenizerUnavailableError as err:  # offline without tiktoken's files
            print(f"count_tokens needs tiktoken's files offline ({err.code})")
        response = await client.chat().messages(prompt).execute()
        usage = response.usage
        print(f"usage: {usage.input_tokens} in, {usage.output_tokens} out")
        print(f"cost of this call: ${response.cost.total_cost:.6f}")  # None for unpriced models
        estimate = estimate_cost(
            input_tokens=usage.input_tokens, output_tokens=usage.output_tokens, model="gpt-4o"
        )
        print(f"Estimated cost: ${estimate.total_cost:.6f}")


asyncio.run(main())
