"""ailib errors survive pickling with every attribute (a worker process's error reaches
the caller whole), whatever their constructors take."""

from __future__ import annotations

import pickle
from concurrent.futures import ProcessPoolExecutor

import httpx
import pytest

from ailib.errors import (
    AiLibError,
    BatchTimeoutError,
    CircuitOpenError,
    ManifestError,
    RemoteError,
    StreamInterruptedError,
)
from ailib.types.response import ChatResponse


def _errors() -> list[AiLibError]:
    remote = RemoteError(
        "overloaded", code="E2002", status=529, request_id="req_1", retry_after=2.0
    )
    remote.headers = httpx.Headers({"retry-after": "2"})
    return [
        CircuitOpenError("open", breaker_key="openai|u|m", retry_after=1.5),
        BatchTimeoutError("slow", index=3, timeout=0.5),
        ManifestError("bad key", path="openai.yaml", line=3, key="endpoint"),
        StreamInterruptedError("cut", code="E3001", partial=ChatResponse(content="a b")),
        remote,
    ]


@pytest.mark.parametrize("error", _errors(), ids=lambda e: type(e).__name__)
def test_an_error_survives_pickling_whole(error: AiLibError) -> None:
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is type(error) and str(back) == str(error)
    assert (back.code, back.retryable, back.fallbackable) == (
        error.code,
        error.retryable,
        error.fallbackable,
    )
    for name, value in vars(error).items():
        if name == "headers":
            assert dict(back.headers) == dict(value)
        else:
            assert getattr(back, name) == value, name


def _raise_in_worker() -> None:
    raise CircuitOpenError("open", breaker_key="k", retry_after=1.0)


def test_an_error_raised_in_a_worker_process_reaches_the_caller() -> None:
    with ProcessPoolExecutor(1) as pool, pytest.raises(CircuitOpenError) as info:
        pool.submit(_raise_in_worker).result(timeout=60)
    assert info.value.breaker_key == "k" and info.value.code == "E3002"
