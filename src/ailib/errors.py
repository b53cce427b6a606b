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

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from ailib.resilience.cancel import CancelReason
    from ailib.types.response import ChatResponse


class StandardCode(NamedTuple):
    """One AI-Protocol standard error code."""

    code: str
    name: str
    retryable: bool
    fallbackable: bool


STANDARD_CODES: dict[str, StandardCode] = {
    c.code: c
    for c in (
        StandardCode("E1001", "invalid_request", False, False),
        StandardCode("E1002", "authentication", False, True),
        StandardCode("E1003", "permission_denied", False, False),
        StandardCode("E1004", "not_found", False, False),
        StandardCode("E1005", "request_too_large", False, False),
        StandardCode("E2001", "rate_limited", True, True),
        StandardCode("E2002", "quota_exhausted", False, True),
        StandardCode("E3001", "server_error", True, True),
        StandardCode("E3002", "overloaded", True, True),
        StandardCode("E3003", "timeout", True, True),
        StandardCode("E4001", "conflict", True, False),
        StandardCode("E4002", "cancelled", False, False),
        StandardCode("E9999", "unknown", False, False),
    )
}
CODE_BY_NAME: dict[str, StandardCode] = {c.name: c for c in STANDARD_CODES.values()}
# Names some manifests use for the same standard codes.
CODE_BY_NAME.update(
    {
        "capability_not_declared": STANDARD_CODES["E1005"],
        "unsupported_capability": STANDARD_CODES["E1005"],
        "context_length_exceeded": STANDARD_CODES["E1005"],
        "invalid_argument": STANDARD_CODES["E1001"],
        "unauthorized": STANDARD_CODES["E1002"],
        "forbidden": STANDARD_CODES["E1003"],
        "quota_exceeded": STANDARD_CODES["E2002"],
        "insufficient_quota": STANDARD_CODES["E2002"],
        "service_unavailable": STANDARD_CODES["E3002"],
        "internal_error": STANDARD_CODES["E3001"],
    }
)

# Standard HTTP status map (used after provider code and provider HTTP overrides).
STANDARD_HTTP_MAP: dict[int, str] = {
    400: "E1001",
    401: "E1002",
    403: "E1003",
    404: "E1004",
    408: "E3003",
    409: "E4001",
    413: "E1005",
    422: "E1001",
    429: "E2001",
    500: "E3001",
    502: "E3001",
    503: "E3002",
    504: "E3003",
    529: "E3002",
}


def standard_code(code_or_name: str) -> StandardCode:
    """Look up a standard code by ``E....`` code or by name; unknown gives E9999."""
    found = STANDARD_CODES.get(code_or_name) or CODE_BY_NAME.get(code_or_name.lower())
    return found or STANDARD_CODES["E9999"]


class AiLibError(Exception):
    """Base of every ailib error; carries a standard code and retry/fallback flags."""

    default_code = "E9999"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        provider_code: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        provider: str | None = None,
        body: Any = None,
    ) -> None:
        message = _without_keys(message)  # a key a server echoed, wherever it is shown
        super().__init__(message)
        std = standard_code(code or self.default_code)
        self.message = message
        self.code = std.code
        self.name = std.name
        self.retryable = std.retryable
        self.fallbackable = std.fallbackable
        self.status = status
        self.provider_code = provider_code
        self.request_id = request_id
        self.retry_after = retry_after
        self.provider = provider
        self.body = body

    def __str__(self) -> str:
        parts = [f"[{self.code} {self.name}]"]
        if self.provider:
            parts.append(f"{self.provider}:")
        parts.append(self.message)
        extra = []
        if self.status is not None:
            extra.append(f"status={self.status}")
        if self.provider_code:  # server-chosen strings: shown bounded
            extra.append(f"provider_code={_bounded(str(self.provider_code))}")
        if self.request_id:
            extra.append(f"request_id={_bounded(str(self.request_id))}")
        if self.retry_after is not None:
            extra.append(f"retry_after={self.retry_after:g}s")
        if extra:
            parts.append("(" + ", ".join(extra) + ")")
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


def _without_keys(text: str) -> str:
    """``text`` without the whole keys live engines send (and credential query values)."""
    from ailib.runtime.redact import mask_whole_keys  # lazily: redact is a leaf

    return mask_whole_keys(text) if isinstance(text, str) else text


def _bounded(text: str, limit: int = 200) -> str:
    """``text``, cut to ``limit`` characters (a server's header can be kilobytes long)."""
    return text if len(text) <= limit else f"{text[:limit]}...({len(text)} chars)"


class ProtocolError(AiLibError):
    """A manifest or a payload does not follow the protocol."""

    default_code = "E1001"


class ManifestError(ProtocolError):
    """A manifest is invalid; the message names the file, the line and the key."""

    def __init__(
        self, message: str, *, path: str | None = None, line: int | None = None, key: str = ""
    ) -> None:
        where = path or "<manifest>"
        if line is not None:
            where += f":{line}"
        if key:
            where += f" at '{key}'"
        super().__init__(f"{where}: {message}")
        self.detail = _without_keys(message)
        self.path = path
        self.line = line
        self.key = key


class StreamDecodeError(ProtocolError):
    """A stream could not be decoded; names the byte offset and shows the bytes there.

    ``data`` keeps at most ``excerpt_bytes`` (``Limits.excerpt_bytes``) of the offending
    bytes, never all of them.

    Example::

        except StreamDecodeError as err:
            print(err.offset, err.data[:40])
    """

    default_code = "E9999"

    def __init__(
        self,
        message: str,
        *,
        offset: int,
        data: bytes | bytearray | memoryview,
        excerpt_bytes: int = 512,  # the default of Limits.excerpt_bytes
    ) -> None:
        excerpt = bytes(data[:excerpt_bytes])
        more = "..." if len(data) > min(len(excerpt), 200) else ""
        # an echoed key is not kept in the excerpt either (latin-1: every byte round-trips)
        excerpt = _without_keys(excerpt.decode("latin-1")).encode("latin-1")
        shown = excerpt[:200]
        super().__init__(f"{message} at byte offset {offset}: {shown!r}{more}")
        self.offset = offset
        self.data = excerpt
        #: in a stream: what arrived before the bad bytes (set by the stream)
        self.partial: ChatResponse | None = None


class ResponseDecodeError(StreamDecodeError):
    """A non-streamed body is not JSON, is nested too deep, or holds no response.

    A subclass of :class:`StreamDecodeError` (a body is a byte stream too): ``data``
    shows the start of the body. A 200 body that carries an error object instead raises
    the :class:`RemoteError` classified from it.

    Example::

        try:
            client.chat().user("hi").execute()
        except ResponseDecodeError as err:
            print(err.data)  # b'{}'
    """


class InvalidRequestError(ProtocolError):
    """Bad input caught before sending (E1001): a wrong type, value or shape.

    Example::

        try:
            client.chat().user(123)
        except InvalidRequestError as err:
            print(err)  # [E1001 invalid_request] user content must be a str or ...
    """

    default_code = "E1001"


class ParameterError(InvalidRequestError):
    """A parameter the manifest does not declare, or a bad value (E1001, before sending)."""

    default_code = "E1001"


class MediaError(InvalidRequestError):
    """An image, audio clip or document that cannot be sent as given (E1001, before sending).

    A declared media type the bytes contradict, a missing or oversized file, a format
    the provider cannot take (and no optional extra installed to convert it).
    ``media_type`` is what the bytes are (when known), ``path`` the file (when one).

    Example::

        try:
            ContentBlock.image_base64(png_bytes, "image/jpeg")
        except MediaError as err:
            print(err.media_type)  # 'image/png'
    """

    default_code = "E1001"

    def __init__(
        self, message: str, *, media_type: str | None = None, path: str | None = None, **kw: Any
    ) -> None:
        super().__init__(message, **kw)
        self.media_type = media_type
        self.path = path


class ConfigurationError(InvalidRequestError):
    """A client option is wrong (E1001): raised by ``create()`` or a provider's constructor.

    Example::

        try:
            AiClient.create("openai/gpt-4o", base_url="api.openai.com/v1")
        except ConfigurationError as err:
            print(err)  # [E1001 invalid_request] base_url 'api.openai.com/v1' has no scheme...
    """

    default_code = "E1001"


class CapabilityError(ProtocolError):
    """The provider or model does not declare a capability the request needs."""

    default_code = "E1005"


class ToolDefinitionError(InvalidRequestError):
    """A tool definition or ``tool_choice`` is invalid (raised before sending); ``.tool`` names it.

    Example::

        try:
            client.chat().user("hi").tools([ToolDefinition("get weather")]).execute()
        except ToolDefinitionError as err:
            print(err.tool)  # 'get weather'
    """

    default_code = "E1001"

    def __init__(self, message: str, *, tool: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.tool = tool


class InsecureTransportError(ProtocolError):
    """Credentials would go over plain ``http://`` to a host that is not loopback (E1001).

    Raised when the client or provider is created; ``allow_insecure_http=True`` opts in::

        AiClient.create("openai/gpt-4o", base_url="http://10.0.0.5/v1", allow_insecure_http=True)
    """

    default_code = "E1001"


class ResponseTooLargeError(ProtocolError):
    """A response body crossed a bound of ``Limits``: its size or its inflation ratio.

    Reading stops as soon as the bound is crossed, so the excess is never held in memory.
    Not retryable (the same server would send the same body). ``limit`` is the bound,
    ``received`` the bytes read when it was crossed, ``status`` the HTTP status.

    Example::

        try:
            client.chat().user("hi").execute()
        except ResponseTooLargeError as err:
            print(err.limit, err.received)
    """

    default_code = "E9999"

    def __init__(self, message: str, *, limit: float, received: int, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.limit = limit
        self.received = received


class TransportError(AiLibError):
    """No usable HTTP response: connection refused, reset, or timed out."""

    default_code = "E3003"


class StreamInterruptedError(TransportError):
    """A stream broke after data arrived; ``partial`` holds what was received."""

    default_code = "E3001"

    def __init__(self, message: str, *, partial: ChatResponse | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.partial = partial


class RemoteError(AiLibError):
    """The provider answered with an error (an HTTP error status or an error in a stream).

    For an error inside a 200 stream, ``partial`` holds what arrived before it;
    ``headers`` are the error answer's response headers (rate-limit state, request ids).
    """

    partial: ChatResponse | None = None
    headers: Any = None


class RedirectError(RemoteError):
    """The server answered with a redirect (3xx) that ailib did not follow.

    ailib follows redirects only when the ``http_client`` passed in has
    ``follow_redirects=True`` (dropping every credential on a hop to another origin);
    otherwise, or after too many hops, this error names the status and ``location``.

    Example::

        except RedirectError as err:
            print(err.status, err.location)  # 301 https://api.example.com/v2/chat
    """

    def __init__(self, message: str, *, location: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.location = location


class CancelledError(AiLibError):
    """The operation was cancelled by the caller (E4002: neither retried nor fallen back).

    An ordinary exception, not :class:`asyncio.CancelledError`. ``reason`` is the
    :class:`~ailib.client.CancelReason`; for a stream, ``partial`` holds what arrived.

    Example::

        try:
            final = cancellable.final_response()
        except CancelledError as err:
            print(err.reason, err.partial.content if err.partial else "")
    """

    default_code = "E4002"

    def __init__(
        self,
        message: str,
        *,
        partial: ChatResponse | None = None,
        reason: CancelReason | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(message, **kw)
        self.partial = partial
        self.reason = reason


class CircuitOpenError(AiLibError):
    """A circuit breaker is open: the call failed at once and nothing was sent (E3002).

    Not retryable (retrying at once meets the same open breaker); fallbackable (another
    target may serve the call). ``breaker_key`` names the breaker
    (``provider|base_url|model``); ``retry_after`` is the seconds until it lets a probe
    call through (half-open).

    Example::

        except CircuitOpenError as err:
            print(err.breaker_key, err.retry_after)
    """

    default_code = "E3002"

    def __init__(self, message: str, *, breaker_key: str, retry_after: float, **kw: Any) -> None:
        super().__init__(message, retry_after=retry_after, **kw)
        self.breaker_key = breaker_key
        self.retryable = False
        self.fallbackable = True


class StateStoreError(AiLibError):
    """The shared state store (e.g. Redis) failed or is out of reach; names the store.

    Raised by the layers that keep state there (circuit breaker, limiter, in-flight
    counter) instead of letting the call go on without its gates.

    Example::

        except StateStoreError as err:
            print(err)  # [E9999 unknown] state store redis://127.0.0.1:6379/0: ...
    """

    default_code = "E9999"


class RateLimitExceededError(AiLibError):
    """The client's own rate limiter would have to wait longer than allowed (E2001).

    Raised before anything is sent. Not retryable (the limit is local: retrying at once
    meets it again); fallbackable (another target has its own budget). The message names
    the limit and the wait it needed; ``retry_after`` is that wait in seconds (None when
    no wait can help); ``limit`` names it (``"requests_per_second"``...); ``key`` is the
    target (``provider|base_url|model``).

    Example::

        except RateLimitExceededError as err:
            print(err.limit, err.retry_after)  # requests_per_minute 41.5
    """

    default_code = "E2001"

    def __init__(
        self, message: str, *, limit: str, key: str, retry_after: float | None, **kw: Any
    ) -> None:
        super().__init__(message, retry_after=retry_after, **kw)
        self.limit = limit
        self.key = key
        self.retryable = False
        self.fallbackable = True


class BackpressureError(AiLibError):
    """Too many calls in flight: no slot freed within the queue timeout (E3002).

    Raised before anything is sent. Neither retryable nor fallbackable (the client itself
    is saturated, whichever target it calls). ``max_inflight`` is the bound and
    ``waited`` the seconds the call queued.

    Example::

        except BackpressureError as err:
            print(err.max_inflight, err.waited)  # 20 30.0
    """

    default_code = "E3002"

    def __init__(self, message: str, *, max_inflight: int, waited: float, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.max_inflight = max_inflight
        self.waited = waited
        self.retryable = False
        self.fallbackable = False


class TokenizerUnavailableError(AiLibError):
    """Exact token counting is not possible here (E1001): tiktoken is not installed, or its
    encoding file could not be read (offline, no ``TIKTOKEN_CACHE_DIR`` holding it).

    Neither retryable nor fallbackable: the local setup must change. ``encoding`` names
    the tiktoken encoding (``"o200k_base"``) when one was being loaded.

    Example::

        except TokenizerUnavailableError as err:
            print(err)  # ... set TIKTOKEN_CACHE_DIR to a directory holding the file ...
    """

    default_code = "E1001"

    def __init__(self, message: str, *, encoding: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.encoding = encoding


class PriceNotFoundError(AiLibError):
    """No manifest gives a price for the model (E1004); ``model`` names it.

    Example::

        except PriceNotFoundError as err:
            print(err.model)
    """

    default_code = "E1004"

    def __init__(self, message: str, *, model: str, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.model = model


class StructuredOutputError(AiLibError):
    """The model's answer is not the JSON the structured output asked for (E9999).

    ``raw`` is the answer's text, ``path`` the JSON path of the first problem in it
    (``"$.temperature_c"``; ``"$"`` when the text is not JSON at all), ``schema_path``
    where in the JSON Schema the rule that failed is (``"properties/temperature_c/type"``),
    ``problem`` what is wrong, ``response`` the ChatResponse that carried it and
    ``attempts`` how many answers were tried (``max_repairs`` + 1 at most).

    Example::

        try:
            client.chat().user("Weather?").response_format(Weather, max_repairs=1).execute()
        except StructuredOutputError as err:
            print(err.path, err.problem, err.raw[:80])
    """

    def __init__(
        self,
        message: str,
        *,
        raw: str,
        path: str = "$",
        schema_path: str = "",
        problem: str = "",
        response: ChatResponse | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(message, **kw)
        self.raw = raw
        self.path = path
        self.schema_path = schema_path
        self.problem = problem or message
        self.response = response
        self.attempts = 1


class BatchTimeoutError(AiLibError):
    """A batch item ran past the batch's per-item timeout (E3003).

    ``index`` is the item's position in the input, ``timeout`` the limit in seconds.
    The async executor cancelled the item's task (abandoned after ``cancel_grace`` if it
    swallowed the cancellation); the thread executor stopped waiting for it (the worker
    thread is abandoned; ailib calls inside end by the same deadline). A result the item
    gives after its timeout is discarded.

    Example::

        for index, err in result.get_errors():
            if isinstance(err, BatchTimeoutError):
                print(index, err.timeout)
    """

    default_code = "E3003"

    def __init__(self, message: str, *, index: int, timeout: float, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.index = index
        self.timeout = timeout


class BatchCheckpointError(ConfigurationError):
    """A batch checkpoint file cannot be used (E1001): a malformed or over-long line, an
    item key that does not match the input, a header naming another function, a path
    that is a symbolic link or no regular file, or a result that cannot be written to it.

    ``path`` names the file, ``line`` the 1-based line and ``offset`` the byte offset
    where that line starts (None: not about one line).

    Example::

        except BatchCheckpointError as err:
            print(err.path, err.line, err.offset)
    """

    def __init__(
        self,
        message: str,
        *,
        path: str,
        line: int | None = None,
        offset: int | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(message, **kw)
        self.path = path
        self.line = line
        self.offset = offset


class BatchItemError(AiLibError):
    """An item's error restored from a batch checkpoint (the original is not rebuilt).

    ``code`` is the original error's standard code (E9999 for a non-ailib exception),
    ``error_type`` the original's class name, ``index`` the item's position; the
    retryable/fallbackable flags are the original's.

    Example::

        for index, err in result.get_errors():
            print(index, err.code, getattr(err, "error_type", type(err).__name__))
    """

    def __init__(self, message: str, *, index: int, error_type: str, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.index = index
        self.error_type = error_type


class BatchJobError(ProtocolError):
    """A provider batch job (``client.batches``) went wrong outside any one HTTP answer.

    A batch or file id unfit for a URL path (E1001, raised before sending), a status the
    manifest does not map, a malformed results line (``line``: its 1-based number; the
    other lines are still delivered), or an item that ended unanswered (cancelled:
    E4002, expired: E3003); ``custom_id`` names the item where there is one.

    Example::

        for custom_id, outcome in client.batches.results(job.id):
            if isinstance(outcome, BatchJobError):
                print(custom_id, outcome.line, outcome.code)
    """

    default_code = "E9999"

    def __init__(
        self, message: str, *, custom_id: str | None = None, line: int | None = None, **kw: Any
    ) -> None:
        super().__init__(message, **kw)
        self.custom_id = custom_id
        self.line = line
