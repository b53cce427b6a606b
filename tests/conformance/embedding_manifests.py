"""The ``embeddings:`` manifest sections proposed for manifests owned by other engineers.

Until a built-in manifest declares embeddings itself, the conformance and e2e tests
deep-merge the proposal below onto it (and add ``embeddings`` to its optional
capabilities); afterwards the built-in manifest is used as it is.
"""

from __future__ import annotations

from typing import Any

from ailib.protocol.manifest import deep_merge

PROPOSED: dict[str, dict[str, Any]] = {
    "cohere": {
        "embeddings": {
            "path": "/embed",
            "format": "cohere_v2",
            "max_batch": 96,
            "request": {"embedding_types": ["float"], "input_type": "search_document"},
            "parameters": {
                "input_type": {"type": "string", "wire": "input_type"},
                "dimensions": {"type": "integer", "min": 1, "wire": "output_dimension"},
                "truncate": {"type": "string"},
            },
            "response": {
                "vectors": "$.embeddings.float",
                "usage": {
                    "input_tokens": "$.meta.billed_units.input_tokens",
                    "total_tokens": "$.meta.billed_units.input_tokens",
                },
            },
        }
    },
    "mistral": {
        "embeddings": {
            "request": None,  # Mistral rejects unknown body fields: no encoding_format
            "parameters": {
                "user": None,
                "dimensions": {"type": "integer", "min": 1, "wire": "output_dimension"},
                "output_dtype": {"type": "string"},
            },
        }
    },
    "ollama": {
        "embeddings": {
            "path": "/api/embed",
            "format": "ollama",
            "parameters": {
                "dimensions": {"type": "integer", "min": 1, "wire": "dimensions"},
                "truncate": {"type": "boolean"},
                "keep_alive": {"type": "string"},
                "options": {"type": "object"},
            },
            "response": {
                "vectors": "$.embeddings",
                "model": "$.model",
                "usage": {
                    "input_tokens": "$.prompt_eval_count",
                    "total_tokens": "$.prompt_eval_count",
                },
            },
        }
    },
    "azure-openai": {
        "embeddings": {
            "path": "/openai/deployments/{model}/embeddings?api-version=2024-10-21",
        }
    },
}
# The recorded Ollama case used the legacy endpoint (one prompt, one vector per request).
OLLAMA_LEGACY = {
    "embeddings": {
        "path": "/api/embeddings",
        "format": "ollama_legacy",
        "response": {"vectors": "$.embedding"},
    }
}


def ready(data: dict[str, Any]) -> bool:
    """Whether a manifest declares the embeddings capability and has the section."""
    caps = data.get("capabilities", {})
    if isinstance(caps, list):
        names = list(caps)
    else:
        names = [*caps.get("required", []), *caps.get("optional", [])]
    return "embeddings" in names and isinstance(data.get("embeddings"), dict)


def with_proposal(data: dict[str, Any], provider: str) -> dict[str, Any]:
    """The manifest data with the proposed section and the embeddings capability."""
    caps = dict(data.get("capabilities", {}))
    caps["optional"] = [*caps.get("optional", []), "embeddings"]
    return deep_merge(data, {**PROPOSED[provider], "capabilities": caps})
