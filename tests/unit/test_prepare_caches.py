"""prepare()'s per-model chat path cache (runtime/request.py ``chat_path``).

The path depends on the manifest and the model only: it is keyed on the manifest
object itself (a hot reload or an override makes a new one) and the model, and
stays bounded.
"""

from __future__ import annotations

import copy

from ailib.dialects import ChatRequest
from ailib.protocol.manifest import Manifest
from ailib.runtime import request
from ailib.runtime.registry import compiled_spec
from ailib.runtime.request import chat_path, prepare
from ailib.runtime.spec import ProviderSpec
from ailib.types.messages import Message


def manifest_with(chat: str, chat_stream: str | None = None) -> Manifest:
    spec = compiled_spec("openai")
    assert spec is not None
    data = copy.deepcopy(spec.manifest.data)
    data["endpoint"]["chat"] = chat
    if chat_stream is not None:
        data["endpoint"]["chat_stream"] = chat_stream
    return Manifest(data, "test")


def uncached(manifest: Manifest, model: str, stream: bool) -> str:
    from urllib.parse import quote

    return manifest.chat_path(stream=stream).replace("{model}", quote(model, safe=""))


def test_the_cached_path_is_the_one_built_each_time() -> None:
    manifest = manifest_with("/models/{model}:chat", "/models/{model}:stream")
    for model in ("gpt-4o", "a/b c?d", "é", "gpt-4o"):
        for stream in (False, True):
            assert chat_path(manifest, model, stream) == uncached(manifest, model, stream)
    assert chat_path(manifest, "a/b c?d", False) == "/models/a%2Fb%20c%3Fd:chat"
    assert chat_path(manifest, "a/b c?d", True) == "/models/a%2Fb%20c%3Fd:stream"


def test_a_new_manifest_of_the_same_provider_gets_its_own_path() -> None:
    old = manifest_with("/v1/{model}/chat")
    assert chat_path(old, "m1", False) == "/v1/m1/chat"
    reloaded = manifest_with("/v2/{model}/chat")  # same id, new object (a hot reload)
    assert reloaded.id == old.id
    assert chat_path(reloaded, "m1", False) == "/v2/m1/chat"
    assert chat_path(old, "m1", False) == "/v1/m1/chat"
    assert chat_path(old, "m2", False) == "/v1/m2/chat"  # a second model


def test_prepare_follows_a_swapped_spec() -> None:
    req = ChatRequest(model="gpt-4o", messages=[Message.user("hi")])
    urls = []
    for chat in ("/one/{model}", "/two/{model}"):
        spec = ProviderSpec.interpreted(manifest_with(chat))
        urls.append(prepare(spec, req, base_url="https://h/v1/", query={}).url)
    assert urls == ["https://h/v1/one/gpt-4o", "https://h/v1/two/gpt-4o"]


def test_the_cache_stays_bounded() -> None:
    manifest = manifest_with("/{model}")
    for index in range(5000):
        assert chat_path(manifest, f"model-{index}", False) == f"/model-{index}"
        assert len(request._PATHS) <= 4097
