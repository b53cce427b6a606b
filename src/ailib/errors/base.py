"""The standard error codes, the base error and the errors of the wire and of requests:
what a provider, a manifest or a payload got wrong (see :mod:`ailib.errors`)."""

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

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled with its attributes, whatever its constructor takes: an error raised in
        a worker process (``ProcessPoolExecutor``) reaches the caller whole."""
        return (_restore, (type(self), self.args, self.__dict__))


def _restore(cls: type[AiLibError], args: tuple[Any, ...], state: dict[str, Any]) -> AiLibError:
    """An error unpickled: made without its constructor, then given its attributes."""
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


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
