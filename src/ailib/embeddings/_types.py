"""Embedding results: one vector per input text, in input order."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs

from ailib.types.response import Usage


def _short(vector: list[float]) -> str:
    head = ", ".join(f"{x:.4g}" for x in vector[:3])
    more = ", ..." if len(vector) > 3 else ""
    return f"[{head}{more}] ({len(vector)} dims)"


@attrs.frozen
class Embedding:
    """The vector of one input; ``index`` is the input's position in the request.

    Example::

        emb = client.embed("Hello").first
        emb.index, len(emb.vector), emb.dimensions
    """

    index: int
    vector: list[float] = attrs.field(repr=_short)

    @property
    def dimensions(self) -> int:
        return len(self.vector)


@attrs.frozen
class EmbeddingResponse:
    """The unified answer of an embeddings call.

    ``embeddings`` are sorted by input position; ``usage.input_tokens`` and
    ``usage.total_tokens`` are what the provider reported (0 when it reports nothing).

    Example::

        resp = client.embed_batch(["Hello", "World"])
        resp.first.vector, resp.embeddings[1].index, resp.usage.total_tokens, resp.model
    """

    embeddings: list[Embedding]
    usage: Usage = attrs.field(factory=Usage)
    model: str | None = None
    request_id: str | None = None
    raw: Any = attrs.field(default=None, repr=False, eq=False)

    @property
    def first(self) -> Embedding:
        """The first embedding (the only one for ``embed(text)``)."""
        if not self.embeddings:
            raise IndexError("the response holds no embeddings")
        return self.embeddings[0]

    @property
    def vectors(self) -> list[list[float]]:
        """All vectors, in input order."""
        return [e.vector for e in self.embeddings]

    @property
    def dimensions(self) -> int:
        """Length of the vectors (0 when there are none)."""
        return len(self.embeddings[0].vector) if self.embeddings else 0

    def __len__(self) -> int:
        return len(self.embeddings)

    def __iter__(self) -> Iterator[Embedding]:
        return iter(self.embeddings)
