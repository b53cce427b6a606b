"""Errors of ailib's own gates and features, not of a provider: an open circuit
breaker, a rate limit or in-flight cap refusing a call, the shared state store, token
counting, prices, structured output and batch runs (see :mod:`ailib.errors`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ailib.errors.base import AiLibError, ConfigurationError, ProtocolError

if TYPE_CHECKING:
    from ailib.types.response import ChatResponse


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
