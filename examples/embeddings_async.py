"""Embeddings and vector search, async (seed "Embeddings"; README "Embeddings")."""

import asyncio

from _target import provider_or_mock

from ailib.embeddings import AsyncEmbeddingClient, find_most_similar

provider_or_mock("openai")


async def main() -> None:
    client = await AsyncEmbeddingClient.create("openai/text-embedding-3-small")

    response = await client.embed("Hello, world!")
    print(f"Dimensions: {len(response.first.vector)}")

    texts = ["Hello", "World", "Python", "AI"]
    response = await client.embed_batch(texts, dimensions=256)
    print(f"batch: {len(response.embeddings)} vectors of {len(response.first.vector)}")

    query = response.embeddings[0].vector
    candidates = [e.vector for e in response.embeddings[1:]]
    for idx, score in find_most_similar(query, candidates, top_k=2):
        print(f"Text '{texts[idx + 1]}' similarity: {score:.4f}")

    await client.close()


asyncio.run(main())
