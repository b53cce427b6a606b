"""Manifest files that are not regular files, long ``extends`` chains, capitalised
provider ids, and hostile manifest text reaching a terminal or a log line.

- ``ailib manifest validate`` (and every manifest read) on a FIFO, a device or a
  directory refuses at once instead of waiting for a writer or reading forever.
- An ``extends`` chain longer than ``MAX_EXTENDS`` is refused with a message saying so
  (not a misleading nesting error from deep recursion).
- ``"OpenAI/gpt-4o"`` means the ``openai`` provider: ids are lowercase, so the provider
  part is lowercased (the model id is kept as given).
- Control characters from manifest text (``"\\e]0;pwn\\a"`` retitles a terminal) are
  shown escaped in CLI output and in the trust warning, never written raw.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from ailib import AiClient, AsyncAiClient
from ailib.cli import main as cli_main
from ailib.errors import ManifestError
from ailib.protocol.loader import load_manifest_file
from ailib.protocol.manifest import MAX_EXTENDS
from ailib.runtime.registry import split_model

ESC = "\x1b"
BEL = "\x07"


@pytest.fixture(autouse=True)
def isolated_search_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AI_PROTOCOL_PATH", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_is_refused_without_waiting_for_a_writer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "openai.yaml"
    os.mkfifo(fifo)
    with pytest.raises(ManifestError, match="not a regular file") as caught:
        load_manifest_file(fifo)  # old code: open() blocked here until a writer came
    assert str(fifo) in str(caught.value)
    assert cli_main(["manifest", "validate", str(fifo)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a regular file" in err[0]


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_a_device_or_a_directory_is_not_read(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="not a regular file"):
        load_manifest_file("/dev/zero")
    with pytest.raises(ManifestError, match="not a regular file"):
        load_manifest_file(tmp_path)


def _chain(folder: Path, steps: int) -> Path:
    """p0 extends p1 ... extends p<steps-1> extends openai: ``steps`` extends steps."""
    for i in range(steps - 1):
        (folder / f"p{i}.yaml").write_text(f"id: p{i}\nextends: p{i + 1}\n")
    (folder / f"p{steps - 1}.yaml").write_text(f"id: p{steps - 1}\nextends: openai\n")
    return folder / "p0.yaml"


def test_an_extends_chain_at_the_limit_loads(tmp_path: Path) -> None:
    manifest = load_manifest_file(_chain(tmp_path, MAX_EXTENDS))
    assert manifest.id == "p0"
    assert manifest.base_url == "https://api.openai.com/v1"


@pytest.mark.parametrize("steps", [MAX_EXTENDS + 1, 1000])
def test_a_longer_extends_chain_is_refused_clearly(tmp_path: Path, steps: int) -> None:
    first = _chain(tmp_path, steps)
    with pytest.raises(ManifestError, match=f"more than {MAX_EXTENDS} steps") as caught:
        load_manifest_file(first)
    assert caught.value.key == "extends"
    assert str(first) in str(caught.value)


def test_capitalised_provider_part_means_the_lowercase_id() -> None:
    assert split_model("OpenAI/gpt-4o") == ("openai", "gpt-4o")
    assert split_model("DeepSeek/DeepSeek-Chat") == ("deepseek", "DeepSeek-Chat")
    assert split_model("ZAI/glm-4") == ("zhipu", "glm-4")  # aliases after folding


def test_capitalised_provider_creates_the_client_sync() -> None:
    with AiClient.create("OpenAI/gpt-4o", api_key="k") as client:
        assert (client.provider_id, client.model) == ("openai", "gpt-4o")


async def test_capitalised_provider_creates_the_client_async() -> None:
    client = await AsyncAiClient.create("OpenAI/gpt-4o", api_key="k")
    async with client:
        assert (client.provider_id, client.model) == ("openai", "gpt-4o")


HOSTILE_MODELS = (
    "metadata:\n"
    "  models:\n"
    '    "gpt\\e]0;pwn\\a":\n'
    '      context_window: "\\e[31mred"\n'
    '      capabilities: ["x\\e[2J", "line\\nforged"]\n'
)


def test_cli_models_escapes_control_characters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "openai.yaml").write_text(HOSTILE_MODELS)
    assert cli_main(["models", "openai", "--manifest-path", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert ESC not in out and BEL not in out
    hostile = [line for line in out.splitlines() if "pwn" in line]
    assert hostile == [hostile[0]] and "gpt\\x1b]0;pwn\\x07" in hostile[0]
    assert "line\\x0aforged" in hostile[0]  # a newline cannot forge a line either


def test_cli_show_and_validate_escape_control_characters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "openai.yaml").write_text(HOSTILE_MODELS.replace("\\e", "\\x9b"))
    assert cli_main(["manifest", "show", "openai", "--manifest-path", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "\x9b" not in out and "\\x9b" in out  # C1 CSI: JSON leaves it raw, the CLI not
    bad = tmp_path / "dup.yaml"
    bad.write_text('id: a\nid: "b\\e]0;pwn\\a"\n')  # the parser's message quotes the value
    assert cli_main(["manifest", "validate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert ESC not in err and BEL not in err and "\\x1b]0;pwn" in err


def test_cli_chat_output_escapes_control_characters(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["chat", "--model", "mock/echo", f"hi {ESC}]0;pwn{BEL}\nthere"]) == 0
    out = capsys.readouterr().out
    assert ESC not in out and "\\x1b]0;pwn\\x07" in out
    assert "\nthere" in out  # newlines of an answer are kept


def test_trust_warning_escapes_control_characters(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from ailib.protocol.search import resolve

    (tmp_path / "mistral.yaml").write_text('endpoint:\n  base_url: "http://x\\e]0;pwn\\a.test"\n')
    with caplog.at_level(logging.WARNING, logger="ailib.protocol"):
        resolve("mistral", [tmp_path])
    [record] = [r for r in caplog.records if "mistral" in r.getMessage()]
    message = record.getMessage()
    assert ESC not in message and BEL not in message
    assert "http://x\\x1b]0;pwn\\x07.test" in message
    assert str(tmp_path / "mistral.yaml") in message


def test_library_errors_quoting_manifest_text_escape_control_characters(tmp_path: Path) -> None:
    """The YAML parser's messages quote values; a logged ManifestError stays one clean line."""
    bad = tmp_path / "dup.yaml"
    bad.write_text('id: a\nid: "b\\e]0;pwn\\a\\nforged"\n')
    with pytest.raises(ManifestError) as caught:
        load_manifest_file(bad)
    text = str(caught.value)
    assert ESC not in text and BEL not in text and "\n" not in text
    assert "\\x1b]0;pwn\\x07" in text


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("null: y\n", "not null"),
        ("[a]: z\n", "not a list"),
        ("? {a: 1}\n: z\n", "not a mapping"),
        ("true: 1\n", "not the boolean True"),
        ("1.5: x\n", "not the number 1.5"),
        ("2024-01-01: x\n", "not the date 2024-01-01"),
    ],
)
def test_mapping_keys_must_be_strings(text: str, shown: str) -> None:
    from ailib.protocol.loader import load_manifest_text

    with pytest.raises(ManifestError, match=f"a mapping key must be a string, {shown}"):
        load_manifest_text(text, "m.yaml", partial=True)


def test_integer_keys_are_text_and_may_not_collide(tmp_path: Path) -> None:
    """``429:`` is the key "429"; written twice (``429:`` and ``"429":``) it is refused
    instead of one of them winning silently."""
    from ailib.protocol.loader import load_manifest_text
    from ailib.protocol.search import resolve

    assert load_manifest_text("429: x\n", "m.yaml", partial=True) == {"429": "x"}
    overlay = "error_classification:\n  by_http_status:\n    429: server_error\n"
    (tmp_path / "mistral.yaml").write_text(overlay + '    "429": rate_limited\n')
    with pytest.raises(ManifestError, match="the key '429' appears twice") as caught:
        resolve("mistral", [tmp_path])
    assert caught.value.line == 4
