"""Typed provider modules: every manifest parameter is a typed keyword (README "Typed
provider modules")."""

from _target import base_url, provider_or_mock

from ailib import Message
from ailib.providers.openai import OpenAI

provider_or_mock("openai")

# typed classes are compiled from the built-in manifest: base_url=None is api.openai.com
with OpenAI(base_url=base_url("openai")) as provider:  # key from OPENAI_API_KEY
    resp = provider.chat(model="gpt-4o", messages=[Message.user("Hi")], temperature=0.2)
    print(resp.content)

    stream = provider.chat(model="gpt-4o", messages=[Message.user("Hi again")], stream=True)
    with stream:
        text = "".join(e.as_content_delta.content for e in stream if e.is_content_delta)
    print(f"streamed: {text}")
