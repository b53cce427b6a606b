"""Find the provider class for a ``provider/model`` string (generated modules load lazily).

Example::

    split_model("openai/gpt-4o")            # ("openai", "gpt-4o")
    provider_class("openai", asynchronous=False)  # ailib.providers.openai.OpenAI
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

from ailib.errors import AiLibError, InvalidRequestError

if TYPE_CHECKING:
    from ailib.protocol.manifest import Manifest
    from ailib.runtime.spec import ProviderSpec


def split_model(model: str) -> tuple[str, str]:
    """Split ``provider/model-id`` (aliases resolved); the model id may contain slashes.

    The provider part must be a provider id (it names manifest files), checked here before
    any file is looked up: ``"../../x/model"`` is an InvalidRequestError (E1001). Its ASCII
    letters are lowercased first (``"OpenAI/gpt-4o"`` is ``openai``); the model id is kept.
    """
    from ailib.protocol.manifest import provider_id_problem

    if not isinstance(model, str):
        raise InvalidRequestError(
            f"model must be a 'provider/model-id' str (e.g. 'openai/gpt-4o'), got {model!r}"
        )
    provider, sep, model_id = model.partition("/")
    if not sep or not provider or not model_id:
        raise InvalidRequestError(
            f"model must look like 'provider/model-id' (e.g. 'openai/gpt-4o'), got {model!r}"
        )
    if provider.isascii() and provider_id_problem(provider.lower()) is None:
        provider = provider.lower()  # "OpenAI/gpt-4o" means openai: ids are lowercase
    problem = provider_id_problem(provider)
    if problem is not None:
        raise InvalidRequestError(f"model {model!r}: {problem}")
    return canonical(provider), model_id


def canonical(provider_id: str) -> str:
    """The provider id an alias stands for (``zai`` → ``zhipu``); others unchanged."""
    from ailib.providers._registry import ALIASES

    return ALIASES.get(provider_id, provider_id)


def provider_class(provider_id: str, *, asynchronous: bool) -> Any:
    """The generated provider class, imported on first use."""
    from ailib.providers._registry import PROVIDERS

    entry = PROVIDERS.get(provider_id)
    if entry is None:
        known = ", ".join(sorted(PROVIDERS))
        raise AiLibError(f"unknown provider {provider_id!r}; known: {known}", code="E1004")
    module_name, sync_name, async_name = entry
    module = importlib.import_module(f"ailib.providers.{module_name}")
    return getattr(module, async_name if asynchronous else sync_name)


def interpreted_spec(manifest: str | os.PathLike[str] | Manifest, provider_id: str) -> ProviderSpec:
    """An interpreted spec for a manifest file or object; its id must match the model prefix."""
    from ailib.protocol.loader import load_manifest_file
    from ailib.protocol.manifest import Manifest
    from ailib.runtime.spec import ProviderSpec

    loaded = manifest if isinstance(manifest, Manifest) else load_manifest_file(manifest)
    if loaded.id != provider_id:
        raise AiLibError(
            f"manifest {loaded.source} is for provider {loaded.id!r}, not {provider_id!r}",
            code="E1001",
        )
    return ProviderSpec.interpreted(loaded)


def compiled_spec(provider_id: str) -> ProviderSpec | None:
    """The compiled spec of a built-in provider, or None."""
    from ailib.providers._registry import PROVIDERS

    entry = PROVIDERS.get(provider_id)
    if entry is None:
        return None
    spec: ProviderSpec = importlib.import_module(f"ailib.providers.{entry[0]}").SPEC
    return spec


def has_overrides(provider_id: str) -> bool:
    """Whether AI_PROTOCOL_PATH or the user config dir holds a file for this provider."""
    from ailib.protocol.search import candidate_files, search_dirs

    return bool(candidate_files(provider_id, search_dirs()))


def overridden_spec(provider_id: str) -> ProviderSpec:
    """The spec of ``provider_id`` with the files on the search path (AI_PROTOCOL_PATH, the
    user config dir) applied: what ``AiClient.create`` uses, for a typed class made
    directly (``OpenAI()``). Invalid files raise the loader's typed error."""
    from ailib.protocol.hot import ProtocolLoader

    loader = ProtocolLoader()
    try:
        return loader.get(provider_id)
    finally:
        loader.close()
