"""Tokens and cost: count tokens, price calls, ask providers for their own counts.

Example::

    from ailib.tokens import TokenCounter, estimate_cost, get_model_pricing

    counter = TokenCounter.for_model("gpt-4o")      # exact with tiktoken (ailib[tokens])
    counter.count("Hello, how are you?")
    counter.count_messages([Message.user("Hi")], tools=[weather])
    estimate_cost(input_tokens=1000, output_tokens=500, model="gpt-4o").total_cost
    get_model_pricing("gpt-4o").input_price_per_1k   # prices from the manifests

Responses carry ``resp.cost`` (None for a model without a price); providers with a
counting endpoint answer ``client.count_tokens(messages)`` themselves.
"""

from ailib.errors import PriceNotFoundError, TokenizerUnavailableError
from ailib.tokens._async_endpoints import acount_tokens, alist_models
from ailib.tokens._sync_endpoints import count_tokens, list_models
from ailib.tokens._tiktoken import encoding_for_model
from ailib.tokens.counter import TokenCounter
from ailib.tokens.heuristic import HeuristicEstimator, estimate_text_tokens
from ailib.tokens.pricing import (
    ModelPricing,
    Rates,
    attach_cost,
    estimate_cost,
    get_model_pricing,
)
from ailib.tokens.services import ModelInfo, TokenCount
from ailib.types.response import Cost

#: The seed library's name for what ``estimate_cost`` returns.
CostEstimate = Cost

__all__ = [
    "Cost",
    "CostEstimate",
    "HeuristicEstimator",
    "ModelInfo",
    "ModelPricing",
    "PriceNotFoundError",
    "Rates",
    "TokenCount",
    "TokenCounter",
    "TokenizerUnavailableError",
    "acount_tokens",
    "alist_models",
    "attach_cost",
    "count_tokens",
    "encoding_for_model",
    "estimate_cost",
    "estimate_text_tokens",
    "get_model_pricing",
    "list_models",
]
