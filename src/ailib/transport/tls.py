"""One TLS context for every client ailib creates, whose CA bundle loads on first use.

httpx builds an ``ssl.SSLContext`` and reads the whole CA bundle (certifi's, ~200 KB of
PEM) when a client is created, even for a client that only ever talks ``http://`` to a
local server. ailib passes :func:`shared_tls_context` instead: a context made once per
process, which reads the CA bundle only when the first TLS handshake starts. Clients
for ``http://`` URLs never load it; all https clients share one loaded context.

The trust store is the one httpx would use: ``SSL_CERT_FILE``, else ``SSL_CERT_DIR``,
else certifi's bundle (the system's default paths when certifi is missing).

Example::

    ctx = shared_tls_context()          # cheap: no file read yet
    httpx.AsyncClient(verify=ctx)       # the bundle loads at the first https handshake
"""

from __future__ import annotations

import os
import ssl
import sys
import threading
from typing import Any

__all__ = ["LazyTLSContext", "shared_tls_context"]


class LazyTLSContext(ssl.SSLContext):
    """A client ``SSLContext`` (hostname checked, certificate required) that loads its
    CA certificates the first time it wraps a socket or a memory BIO.

    Example::

        ctx = LazyTLSContext()
        ctx.loaded        # False until the first handshake
    """

    _lock: threading.Lock
    loaded: bool

    def __new__(cls, *args: Any, **kwargs: Any) -> LazyTLSContext:
        context = super().__new__(cls, ssl.PROTOCOL_TLS_CLIENT)
        context._lock = threading.Lock()
        context.loaded = False
        return context

    def load_now(self) -> None:
        """Read the trust store (once; later calls return at once)."""
        if self.loaded:
            return
        with self._lock:
            if self.loaded:
                return
            cafile = os.environ.get("SSL_CERT_FILE") or None
            capath = None if cafile else os.environ.get("SSL_CERT_DIR") or None
            if cafile is None and capath is None:
                try:
                    import certifi

                    cafile = certifi.where()
                except ImportError:  # no certifi: the platform's trust store
                    self.load_default_certs(ssl.Purpose.SERVER_AUTH)
            if cafile is not None or capath is not None:
                try:
                    self.load_verify_locations(cafile=cafile, capath=capath)
                except (OSError, ssl.SSLError) as exc:  # a typo in SSL_CERT_FILE: not retried
                    failure = _unloadable(cafile or capath or "", exc)
                    raise failure from None
            keylog = os.environ.get("SSLKEYLOGFILE")
            if keylog and not sys.flags.ignore_environment:  # as ssl.create_default_context
                self.keylog_filename = keylog
            self.loaded = True

    def wrap_socket(self, *args: Any, **kwargs: Any) -> Any:  # sync clients
        self.load_now()
        return super().wrap_socket(*args, **kwargs)

    def wrap_bio(self, *args: Any, **kwargs: Any) -> Any:  # asyncio / anyio clients
        self.load_now()
        return super().wrap_bio(*args, **kwargs)


def _unloadable(where: str, exc: BaseException) -> Exception:
    """The ConfigurationError for a trust store that cannot be read."""
    from ailib.errors import ConfigurationError

    return ConfigurationError(
        f"the CA certificates at {where!r} could not be loaded ({type(exc).__name__}: {exc}):"
        " check SSL_CERT_FILE / SSL_CERT_DIR, or unset them to use certifi's bundle"
    )


_shared: LazyTLSContext | None = None
_shared_lock = threading.Lock()


def shared_tls_context() -> LazyTLSContext:
    """The process-wide lazy TLS context every client ailib creates uses."""
    global _shared
    if _shared is None:
        with _shared_lock:
            if _shared is None:
                _shared = LazyTLSContext()
    return _shared
