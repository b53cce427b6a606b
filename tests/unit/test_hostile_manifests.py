"""Manifests are data, even hostile data (issue 6, items 11 and 12).

Every malformed file is a ManifestError naming the file (and line where known), from the
library, the loader and the CLI; provider ids and ``extends:`` are checked as ids before
any file is looked up, so nothing outside the search path is ever read.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ailib import AiClient, AsyncAiClient
from ailib.cli import main as cli_main
from ailib.errors import InvalidRequestError, ManifestError
from ailib.protocol import loader as loader_module
from ailib.protocol.hot import ProtocolLoader
from ailib.protocol.loader import load_manifest_file, load_manifest_text
from ailib.protocol.search import candidate_files, resolve
from ailib.runtime.registry import split_model

GOOD_OVERLAY = "endpoint:\n  base_url: http://127.0.0.1:9/v1\n"


@pytest.fixture(autouse=True)
def isolated_search_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AI_PROTOCOL_PATH", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


def billion_laughs() -> str:
    """Nine levels of ten aliases each: 10**9 values once expanded."""
    lines = ["id: openai", "lol0: &lol0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, 9):
        refs = ", ".join([f"*lol{level - 1}"] * 10)
        lines.append(f"lol{level}: &lol{level} [{refs}]")
    return "\n".join(lines) + "\n"


#: name -> (file name, bytes, expected message part, expected line or None)
HOSTILE: dict[str, tuple[str, bytes, str, int | None]] = {
    "not-utf8": ("openai.yaml", b"endpoint:\n  base_url: caf\xe9\n", "not UTF-8", 2),
    "control-char-yaml": (
        "openai.yaml",
        b"endpoint:\n  base_url: a\x01b\n",
        "control character U+0001",
        2,
    ),
    "control-char-json": (
        "openai.json",
        b'{"endpoint":\n {"base_url": "a\x1bb"}}',
        "control character U+001B",
        2,
    ),
    "nul-byte": ("openai.yaml", b"endpoint: {}\x00\n", "control character U+0000", 1),
    "billion-laughs": ("openai.yaml", billion_laughs().encode(), "more than 100000 values", None),
    "json-100k-deep": (
        "openai.json",
        b'{"endpoint": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        "nested more than 64 levels",
        None,
    ),
    "yaml-flow-100k-deep": (
        "openai.yaml",
        b"endpoint: " + b"[" * 100_000 + b"]" * 100_000 + b"\n",
        "nested more than 64 levels",
        1,
    ),
    "yaml-block-deep": (
        "openai.yaml",
        "".join(" " * i + f"k{i}:\n" for i in range(400)).encode(),
        "nested more than 64 levels",
        None,
    ),
    "yaml-bad-date": ("openai.yaml", b"endpoint: {}\nwhen: 2024-13-45\n", "not valid YAML", None),
    "yaml-nan": ("openai.yaml", b"retry_policy:\n  jitter: .nan\n", "not a finite number", 2),
    "json-nan": ("openai.json", b'{"retry_policy": {"jitter": NaN}}', "not a finite number", None),
}


def write_hostile(folder: Path, case: str) -> tuple[Path, str, int | None]:
    name, raw, message, line = HOSTILE[case]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(raw)
    return path, message, line


def assert_names_file(error: ManifestError, path: Path, message: str, line: int | None) -> None:
    assert message in str(error)
    assert error.path == str(path) and str(path) in str(error)
    if line is not None:
        assert error.line == line and f"{path}:{line}" in str(error)


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_file_is_a_manifest_error_from_the_library(tmp_path: Path, case: str) -> None:
    path, message, line = write_hostile(tmp_path, case)
    with pytest.raises(ManifestError) as caught:
        load_manifest_file(path)
    assert_names_file(caught.value, path, message, line)


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_file_on_the_search_path(tmp_path: Path, case: str) -> None:
    path, message, line = write_hostile(tmp_path / "overrides", case)
    with pytest.raises(ManifestError) as caught:
        resolve("openai", [tmp_path / "overrides"])
    assert_names_file(caught.value, path, message, line)
    with pytest.raises(ManifestError):
        ProtocolLoader([tmp_path / "overrides"]).get("openai")


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_file_through_the_client_sync(tmp_path: Path, case: str) -> None:
    _, message, _ = write_hostile(tmp_path, case)
    with pytest.raises(ManifestError, match=re.escape(message)):
        AiClient.create("openai/gpt-4o", api_key="k", manifest_paths=[tmp_path])


@pytest.mark.parametrize("case", ["not-utf8", "control-char-yaml", "billion-laughs"])
async def test_hostile_file_through_the_client_async(tmp_path: Path, case: str) -> None:
    _, message, _ = write_hostile(tmp_path, case)
    with pytest.raises(ManifestError, match=re.escape(message)):
        await AsyncAiClient.create("openai/gpt-4o", api_key="k", manifest_paths=[tmp_path])


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_cli_validate_prints_one_line_and_fails(
    tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path, message, _ = write_hostile(tmp_path, case)
    assert cli_main(["manifest", "validate", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"invalid: {path}") and message in lines[0]


def test_cli_show_of_a_hostile_override_fails_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, message, _ = write_hostile(tmp_path, "not-utf8")
    assert cli_main(["manifest", "show", "openai", "--manifest-path", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(path) in err[0] and message in err[0]


def test_manifest_text_with_control_characters_or_aliases() -> None:
    with pytest.raises(ManifestError, match=r"x\.yaml:3: control character U\+007F"):
        load_manifest_text("a: 1\nb: 2\nc: \x7f\n", "x.yaml")
    with pytest.raises(ManifestError, match="more than 100000 values"):
        load_manifest_text(billion_laughs(), "laughs.yaml")


def test_shared_aliases_within_bounds_still_load(tmp_path: Path) -> None:
    """Built-in manifests use anchors (gemini's event map): modest aliasing stays fine."""
    overlay = (
        "x-timeouts: &t {timeout_ms: 30000}\n"
        "endpoint:\n  base_url: http://127.0.0.1:9/v1\n  <<: *t\n"
        "flags: &f [true, false]\nmore_flags: *f\n"
    )
    (tmp_path / "openai.yaml").write_text(overlay)
    found = resolve("openai", [tmp_path])
    assert found.manifest.endpoint["timeout_ms"] == 30000
    assert found.manifest.data["more_flags"] == [True, False]


def test_dates_and_anchored_booleans_become_plain_values(tmp_path: Path) -> None:
    data = load_manifest_text(
        "flag: &b true\nagain: *b\nreleased: 2024-05-13\nhex: 0x10\n", "x.yaml", partial=True
    )
    assert data == {"flag": True, "again": True, "released": "2024-05-13", "hex": 16}
    assert [type(v) for v in data.values()] == [bool, bool, str, int]
    json.dumps(data)  # `ailib manifest show` prints it


def test_a_huge_file_is_refused_without_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loader_module, "MAX_MANIFEST_BYTES", 1000)
    path = tmp_path / "openai.yaml"
    path.write_text("endpoint: {}\n" + "# padding\n" * 200)
    with pytest.raises(ManifestError, match="larger than 1000 bytes"):
        load_manifest_file(path)


# --- item 12: ids are ids, never paths --------------------------------------------------

BAD_IDS = ["..", "../x", "../../etc/passwd", "/abs/path", ".hidden", "Open", "a b", "x\n", ""]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_search_refuses_ids_that_are_not_ids(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ManifestError, match="invalid provider id"):
        resolve(bad, [tmp_path])
    with pytest.raises(ManifestError, match="invalid provider id"):
        candidate_files(bad, [tmp_path])


def test_a_dotted_id_never_reads_the_file_it_points_at(tmp_path: Path) -> None:
    """Before: ``resolve('../outside/evil')`` read ``<search dir>/../outside/evil.yaml``."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "evil.yaml").write_text(
        "id: evil\nprotocol_version: '2.0'\nendpoint: {base_url: 'http://127.0.0.1:1/v1'}\n"
    )
    search = tmp_path / "search"
    search.mkdir()
    with pytest.raises(ManifestError, match=r"invalid provider id '\.\./outside/evil'"):
        resolve("../outside/evil", [search])


@pytest.mark.parametrize("target", ["../outside/evil", "/abs/path", "../../etc/passwd", "x\n"])
def test_extends_is_an_id_not_a_path(
    tmp_path: Path, target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "evil.yaml").write_text("endpoint: {base_url: 'http://evil.invalid'}\n")
    folder = tmp_path / "search"
    folder.mkdir()
    child = folder / "mine.yaml"
    child.write_text(
        f"id: mine\nprotocol_version: '2.0'\nextends: {json.dumps(target)}\n"
        "endpoint: {base_url: 'http://127.0.0.1:1/v1'}\n"
    )
    opened: list[str] = []
    real = loader_module.read_manifest_text

    def spy(path: object) -> str:
        opened.append(str(path))
        return real(path)  # type: ignore[arg-type]

    monkeypatch.setattr(loader_module, "read_manifest_text", spy)
    with pytest.raises(ManifestError) as caught:
        load_manifest_file(child)
    error = caught.value
    assert "invalid provider id" in str(error) and repr(target) in str(error)
    assert error.key == "extends" and error.line == 3
    assert opened == [str(child)]  # nothing but the child itself was read
    with pytest.raises(ManifestError, match="invalid provider id"):
        resolve("mine", [folder])


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('id: "openai\\n"\n', "id"),
        ('id: ok\naliases: [fine, "up\\n"]\n', "aliases.1"),
    ],
)
def test_ids_inside_a_manifest_are_checked_whole(text: str, key: str) -> None:
    """The schema's ``^...$`` lets a trailing newline through; the loader does not."""
    base = "protocol_version: '2.0'\nendpoint: {base_url: 'http://127.0.0.1:1/v1'}\n"
    with pytest.raises(ManifestError, match="invalid provider id") as caught:
        load_manifest_text(text + base, "m.yaml")
    assert caught.value.key == key


PATH_MODELS = ["../../x/model", "./openai/gpt", ".hidden/m", "Open AI/gpt", "openai\n/gpt"]


@pytest.mark.parametrize("model", PATH_MODELS)
def test_create_refuses_a_provider_that_is_not_an_id_sync(model: str) -> None:
    with pytest.raises(InvalidRequestError, match="invalid provider id") as caught:
        AiClient.create(model, api_key="k")
    assert caught.value.code == "E1001"
    assert repr(model.partition("/")[0]) in str(caught.value)
    with pytest.raises(InvalidRequestError):
        AiClient.create("/etc/passwd", api_key="k")  # no provider part at all


@pytest.mark.parametrize("model", PATH_MODELS)
async def test_create_refuses_a_provider_that_is_not_an_id_async(model: str) -> None:
    with pytest.raises(InvalidRequestError, match="invalid provider id") as caught:
        await AsyncAiClient.create(model, api_key="k")
    assert repr(model.partition("/")[0]) in str(caught.value)


def test_model_ids_may_hold_slashes_only_the_provider_is_an_id() -> None:
    assert split_model("openrouter/anthropic/claude-3") == ("openrouter", "anthropic/claude-3")
    assert split_model("zai/glm-4") == ("zhipu", "glm-4")
    with pytest.raises(InvalidRequestError):
        split_model(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("command", [["manifest", "show"], ["models"]])
def test_cli_refuses_a_path_as_provider(
    tmp_path: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "x.yaml").write_text(GOOD_OVERLAY)
    search = tmp_path / "search"
    search.mkdir()
    assert cli_main([*command, "../x", "--manifest-path", str(search)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "invalid provider id '../x'" in err[0]


def test_listing_skips_files_whose_names_are_not_ids(tmp_path: Path) -> None:
    from ailib.protocol.search import list_providers

    (tmp_path / "Not An Id.yaml").write_text(GOOD_OVERLAY)
    (tmp_path / "fine-id.yaml").write_text(GOOD_OVERLAY)
    listed = list_providers([tmp_path])
    assert "fine-id" in listed and "Not An Id" not in listed


def test_builtin_lookup_for_extends_is_also_checked() -> None:
    from ailib.protocol.manifest import resolve_extends

    def load(provider_id: str) -> dict[str, object]:
        raise AssertionError(f"looked up {provider_id!r}")

    with pytest.raises(ValueError, match="invalid provider id '/etc/passwd'"):
        resolve_extends({"id": "x", "extends": "/etc/passwd"}, load)
