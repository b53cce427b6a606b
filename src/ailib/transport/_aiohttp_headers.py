"""The response headers of the aiohttp backend: an ``httpx.Headers`` read through aiohttp's.

aiohttp has already parsed a response's headers into a case-insensitive multidict (in
C); building an ``httpx.Headers`` from them again and reading it (each ``get`` a scan of
every header, bytes decoded on the way) cost more than the rest of the response's
handling. :class:`AiohttpHeaders` is an ``httpx.Headers`` (``isinstance`` holds, every
method is there) whose ``get``, ``[]`` and ``in`` ask aiohttp's multidict directly; the
httpx list behind every other method is built only when one is used.

The shortcut is taken only where it gives exactly httpx's answer: when every header name
and value is ASCII (as HTTP asks; httpx would fall back to UTF-8 or Latin-1 for the
whole set otherwise) and the name asked for is ASCII too. Repeated headers are joined
with ", " as httpx joins them. A change to the headers (``h["x"] = "1"``, ``del``,
``update``, a new ``encoding``) leaves the shortcut for good. Pickled or copied, the
headers are a plain ``httpx.Headers`` again.

Example::

    headers = AiohttpHeaders(raw.raw_headers, raw.headers)  # raw: aiohttp.ClientResponse
    headers.get("content-type")  # 'application/json' (as httpx.Headers would say it)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

__all__ = ["AiohttpHeaders", "response_headers"]

#: (raw name, raw value) pairs as they came off the wire
RawPairs = tuple[tuple[bytes, bytes], ...]


def response_headers(raw: Any) -> httpx.Headers:
    """The headers of aiohttp response ``raw``: an :class:`AiohttpHeaders`, or a plain
    ``httpx.Headers`` should an httpx release keep its headers otherwise than as read here.
    """
    if _FITS:
        return AiohttpHeaders(raw.raw_headers, raw.headers)
    return httpx.Headers(raw.raw_headers)


class AiohttpHeaders(httpx.Headers):
    """An ``httpx.Headers`` over an aiohttp response's headers, read without a copy.

    Example::

        headers = AiohttpHeaders(response.raw_headers, response.headers)
        "x-request-id" in headers, headers["content-type"], headers.get_list("via")
    """

    def __init__(self, raw: RawPairs, parsed: Mapping[str, str]) -> None:
        # httpx.Headers.__init__ is not called: its list is made when first needed
        self._raw_pairs = raw
        self._encoding: str | None = None
        ascii_only = "".join(parsed.keys()).isascii() and "".join(parsed.values()).isascii()
        self._parsed: Any = parsed if ascii_only else None  # None: the httpx way only
        self._full: list[tuple[bytes, bytes, bytes]] | None = None

    @property
    def _list(self) -> list[tuple[bytes, bytes, bytes]]:
        """httpx's own list (name, lower-case name, value), made on first use."""
        full = self._full
        if full is None:
            full = self._full = [(name, name.lower(), value) for name, value in self._raw_pairs]
        return full

    @_list.setter
    def _list(self, value: list[tuple[bytes, bytes, bytes]]) -> None:
        self._parsed = None
        self._full = value

    @property
    def encoding(self) -> str:
        return httpx.Headers.encoding.fget(self)  # type: ignore[attr-defined,no-any-return]

    @encoding.setter
    def encoding(self, value: str) -> None:
        self._parsed = None  # values decoded another way from now on
        self._encoding = value

    def get(self, key: str, default: Any = None) -> Any:
        parsed = self._parsed
        if parsed is not None and type(key) is str and key.isascii():
            values = parsed.getall(key, None)
            if values is None:
                return default
            return values[0] if len(values) == 1 else ", ".join(values)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        parsed = self._parsed
        if parsed is not None and type(key) is str and key.isascii():
            values = parsed.getall(key, None)
            if values is None:
                raise KeyError(key)
            return values[0] if len(values) == 1 else ", ".join(values)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        parsed = self._parsed
        if parsed is not None and type(key) is str and key.isascii():
            return key in parsed
        return super().__contains__(key)

    def __setitem__(self, key: str, value: str) -> None:
        self._parsed = None
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self._parsed = None
        super().__delitem__(key)

    def update(self, headers: Any = None) -> None:  # type: ignore[override]
        self._parsed = None
        super().update(headers)

    def __repr__(self) -> str:
        """As an ``httpx.Headers`` shows itself (its class name included)."""
        return "Headers" + super().__repr__().removeprefix(type(self).__name__)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled (or copied) as the ``httpx.Headers`` it stands for."""
        return (httpx.Headers, (self.raw, self._encoding))


#: httpx.Headers keeps (name, lower-case name, value) in ``_list`` and the encoding in
#: ``_encoding``, as :class:`AiohttpHeaders` provides them
_FITS = sorted(vars(httpx.Headers([("A", "b")]))) == ["_encoding", "_list"] and (
    httpx.Headers([("A", "b")])._list == [(b"A", b"a", b"b")]
)
