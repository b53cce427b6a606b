"""Token counting, cost estimation and model prices (seed "Token Counting and Cost
Estimation"; README "Tokens and cost")."""

from _target import provider_or_mock

from ailib import AiClient, Message
from ailib.errors import TokenizerUnavailableError
from ailib.tokens import TokenCounter, estimate_cost, get_model_pricing

provider_or_mock("openai")

try:
    counter = TokenCounter.for_model("gpt-4o")  # exact with tiktoken: pip install 'ailib[tokens]'
except TokenizerUnavailableError:  # offline, tiktoken cannot fetch its files: estimate
    counter = TokenCounter.for_model("gpt-4o", exact=False)
print(f"Token count: {counter.count('Hello, how are you?')}")
messages = [Message.user("Hello!"), Message.assistant("Hi there!")]
print(f"Message tokens: {counter.count_messages(messages)}")

cost = estimate_cost(input_tokens=1000, output_tokens=500, model="gpt-4o")
print(f"Estimated cost: ${cost.total_cost:.4f}")

pricing = get_model_pricing("gpt-4o")
print(f"Input: ${pricing.input_price_per_1k}/1K tokens")
print(f"Context window: {pricing.context_window} tokens")

with AiClient.create("openai/gpt-4o") as client:
    response = client.chat().user("Hi").execute()
    print(f"usage: {response.usage.input_tokens} in, {response.usage.output_tokens} out")
    print(f"cost of this call: ${response.cost.total_cost:.6f}")  # None for unpriced models
    try:
        print(f"counted before sending: {client.count_tokens([Message.user('Hi')])}")
    except TokenizerUnavailableError as err:  # offline without tiktoken's files
        print(f"count_tokens needs tiktoken's files offline ({err.code})")
