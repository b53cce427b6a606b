"""Errors raised by ailib, and the 13 AI-Protocol standard error codes.

Every error carries a standard code (``err.code == "E2001"``), its name, and whether
retrying or falling back to another provider may help::

    AiLibError                    base; .code .name .retryable .fallbackable
    ├── ProtocolError             a manifest or a wire payload is wrong
    │   ├── ManifestError         bad manifest: names file, line and key
    │   ├── StreamDecodeError     malformed stream: byte offset and the bytes
    │   │   └── ResponseDecodeError  a 200 body that is not JSON or holds no response
    │   ├── InvalidRequestError   bad input caught before sending (E1001)
    │   │   ├── ParameterError    undeclared parameter, or a value not fit to send (E1001)
    │   │   ├── MediaError        media type contradicting the bytes, bad file (E1001)
    │   │   ├── ConfigurationError  a bad create() option: model, base_url, timeout... (E1001)
    │   │   └── ToolDefinitionError  bad tool definition or tool_choice (E1001); .tool
    │   ├── CapabilityError       provider/model lacks a capability (E1005)
    │   ├── InsecureTransportError  credentials over plain http:// to a remote host (E1001)
    │   └── ResponseTooLargeError  a body over Limits.max_body_bytes or an inflation bomb
    ├── TransportError            no HTTP response (connect, read, timeout)
    │   └── StreamInterruptedError  the stream broke after bytes arrived; .partial
    ├── RemoteError               the provider answered with an error (status, body)
    │   └── RedirectError         a 3xx answer ailib did not follow; .location
    └── StructuredOutputError     the answer is not the JSON asked for; .raw .path

Example::

    try:
        client.chat().user("hi").execute()
    except RemoteError as err:
        if err.code == "E2001":
            time.sleep(err.retry_after or 1)
"""

from ailib.errors.base import (
    CODE_BY_NAME,
    STANDARD_CODES,
    STANDARD_HTTP_MAP,
    AiLibError,
    CancelledError,
    CapabilityError,
    ConfigurationError,
    InsecureTransportError,
    InvalidRequestError,
    ManifestError,
    MediaError,
    ParameterError,
    ProtocolError,
    RedirectError,
    RemoteError,
    ResponseDecodeError,
    ResponseTooLargeError,
    StandardCode,
    StreamDecodeError,
    StreamInterruptedError,
    ToolDefinitionError,
    TransportError,
    standard_code,
)
from ailib.errors.local import (
    BackpressureError,
    BatchCheckpointError,
    BatchItemError,
    BatchJobError,
    BatchTimeoutError,
    CircuitOpenError,
    PriceNotFoundError,
    RateLimitExceededError,
    StateStoreError,
    StructuredOutputError,
    TokenizerUnavailableError,
)

__all__ = [
    "CODE_BY_NAME",
    "STANDARD_CODES",
    "STANDARD_HTTP_MAP",
    "AiLibError",
    "BackpressureError",
    "BatchCheckpointError",
    "BatchItemError",
    "BatchJobError",
    "BatchTimeoutError",
    "CancelledError",
    "CapabilityError",
    "CircuitOpenError",
    "ConfigurationError",
    "InsecureTransportError",
    "InvalidRequestError",
    "ManifestError",
    "MediaError",
    "ParameterError",
    "PriceNotFoundError",
    "ProtocolError",
    "RateLimitExceededError",
    "RedirectError",
    "RemoteError",
    "ResponseDecodeError",
    "ResponseTooLargeError",
    "StandardCode",
    "StateStoreError",
    "StreamDecodeError",
    "StreamInterruptedError",
    "StructuredOutputError",
    "TokenizerUnavailableError",
    "ToolDefinitionError",
    "TransportError",
    "standard_code",
]

for _name in __all__:  # tracebacks, reprs and pickles name them ailib.errors.X, as before
    _value = globals()[_name]
    if isinstance(_value, type):
        _value.__module__ = __name__
del _name, _value
