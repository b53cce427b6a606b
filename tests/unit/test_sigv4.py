"""AWS SigV4 signing against AWS's published example, and the env-based signer."""

from __future__ import annotations

import datetime

import pytest

from ailib.errors import AiLibError
from ailib.transport.sigv4 import sign, signer_from_env

NOW = datetime.datetime(2015, 8, 30, 12, 36, 0, tzinfo=datetime.timezone.utc)


def test_matches_the_aws_documentation_example() -> None:
    # The GET ListUsers example of the AWS "Signature Version 4" documentation.
    added = sign(
        "GET",
        "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08",
        b"",
        {"content-type": "application/x-www-form-urlencoded; charset=utf-8"},
        access_key="AKIDEXAMPLE",
        secret_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        region="us-east-1",
        service="iam",
        now=NOW,
    )
    assert added["x-amz-date"] == "20150830T123600Z"
    assert added["authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date, "
        "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
    )


def test_session_token_is_signed_and_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKID")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "SECRET")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "TOKEN")
    monkeypatch.delenv("AWS_BEARER_TOKEN_BEDROCK", raising=False)
    signer = signer_from_env(service="bedrock", region="eu-west-1")
    added = signer(
        "POST", "https://bedrock-runtime.eu-west-1.amazonaws.com/model/m/converse", b"{}", {}
    )
    assert added["x-amz-security-token"] == "TOKEN"
    assert "x-amz-security-token" in added["authorization"].split("SignedHeaders=")[1]
    assert "/eu-west-1/bedrock/aws4_request" in added["authorization"]


def test_missing_credentials_is_an_authentication_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_BEARER_TOKEN_BEDROCK"):
        monkeypatch.delenv(name, raising=False)
    signer = signer_from_env(service="bedrock", region="us-east-1")
    with pytest.raises(AiLibError) as info:
        signer("POST", "https://x/model/m/converse", b"{}", {})
    assert info.value.code == "E1002" and "AWS_ACCESS_KEY_ID" in str(info.value)


def test_bearer_token_replaces_signing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_BEARER_TOKEN_BEDROCK", raising=False)
    signer = signer_from_env(service="bedrock", region="us-east-1", api_key="abc")
    assert signer("POST", "https://x/", b"", {}) == {"authorization": "Bearer abc"}
