"""Typed errors with standard codes, raised before sending where possible (README
"Errors")."""

from _target import provider_or_mock

from ailib import AiClient, AiLibError, ConfigurationError, ParameterError, RemoteError

provider_or_mock("openai")

with AiClient.create("openai/gpt-4o") as client:
    try:  # a parameter the manifest does not declare: refused before anything is sent
        client.chat().user("Hi").param("temprature", 0.2).execute()
    except ParameterError as err:
        print(f"{err.code} {err.name}: {type(err).__name__}, retryable={err.retryable}")

    try:  # wrong input is an InvalidRequestError (E1001), not a crash deep inside
        client.chat().user(123).execute()
    except AiLibError as err:
        print(f"{err.code} {err.name}: {type(err).__name__}")

try:  # an error answer from the provider, classified into the 13 standard codes
    with AiClient.create("openai/gpt-does-not-exist") as client:
        client.chat().user("Hi").execute()
except RemoteError as err:
    print(f"{err.code} {err.name}: status={err.status}, retryable={err.retryable}")

try:  # configuration mistakes fail at create()
    AiClient.create("openai/gpt-4o", base_url="ftp://example.com")
except ConfigurationError as err:
    print(f"{err.code} {err.name}: {type(err).__name__}")
