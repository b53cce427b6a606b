"""Embeddings and vector search (seed "Embeddings"; README "Embeddings")."""

from _target import provider_or_mock

from ailib.embeddings import EmbeddingClient, cosine_similarity, find_most_similar

provider_or_mock("openai")

with EmbeddingClient.create("openai/text-embedding-3-small") as client:
    response = client.embed("Hello, world!")
    embedding = response.first.vector
    print(f"Dimensions: {len(embedding)}")

    texts = ["Hello", "World", "Python", "AI"]
    response = client.embed_batch(texts)

    query = response.embeddings[0].vector
    candidates = [e.vector for e in response.embeddings[1:]]
    for idx, score in find_most_similar(query, candidates, top_k=2):
        print(f"Text '{texts[idx + 1]}' similarity: {score:.4f}")
    print(f"self-similarity: {cosine_similarity(query, query):.4f}")
