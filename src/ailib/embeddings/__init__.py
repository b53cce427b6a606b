"""Embeddings: vectors for texts from any provider whose manifest declares them.

Example::

    from ailib.embeddings import EmbeddingClient, find_most_similar

    with EmbeddingClient.create("openai/text-embedding-3-small") as client:
        resp = client.embed_batch(["Hello", "World", "Python"], dimensions=256)
        query = client.embed("Hi there").first.vector
        print(find_most_similar(query, resp.vectors, top_k=2))  # [(index, score), ...]

The async twin is ``AsyncEmbeddingClient`` (``client = await AsyncEmbeddingClient.create(...)``).
"""

from ailib.embeddings._async import AsyncEmbeddingClient
from ailib.embeddings._codec import decode_base64
from ailib.embeddings._sync import EmbeddingClient
from ailib.embeddings._types import Embedding, EmbeddingResponse
from ailib.embeddings._vectors import (
    cosine_similarity,
    dot_product,
    euclidean_distance,
    find_most_similar,
    norm,
    normalize,
)

__all__ = [
    "AsyncEmbeddingClient",
    "Embedding",
    "EmbeddingClient",
    "EmbeddingResponse",
    "cosine_similarity",
    "decode_base64",
    "dot_product",
    "euclidean_distance",
    "find_most_similar",
    "norm",
    "normalize",
]
