"""Test sets: the live-stream set looks like the stream, suites speak it with one reference voice,
and a malformed set is one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.suite_file import load_suite
from harness.textsets import load_test_set
from tests.conftest import REFERENCE, REFERENCE_TEXT
from tests.test_cli import ROOT

SUITE = f"""
texts_from = "live-stream"
[suite]
name = "stream"
[matrix]
model = "tiny"
nfe = 4
[reference]
audio = "{REFERENCE}"
text = "{REFERENCE_TEXT}"
"""


def test_the_live_stream_set_looks_like_a_live_chat() -> None:
    texts = load_test_set(ROOT / "suites" / "texts" / "live-stream.toml")
    assert len(texts) >= 40 and len({t.id for t in texts}) == len(texts)
    langs = {t.lang for t in texts}
    assert langs == {"en", "zh", "mixed"} and sum(t.lang == "zh" for t in texts) >= 8
    assert sum(len(t.text) <= 12 for t in texts) >= 5 and sum(len(t.text) >= 150 for t in texts) >= 3  # short, long
    assert sum(any(ord(c) > 0x1F000 for c in t.text) for t in texts) >= 3  # emoji
    assert sum(any(c.isdigit() for c in t.text) for t in texts) >= 5  # numbers
    assert sum(t.text.rstrip().endswith(("?", "？")) for t in texts) >= 4  # questions


def test_a_suite_speaks_a_test_set_in_its_reference_voice(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text(
        SUITE.replace('"live-stream"', f'"{ROOT / "suites" / "texts" / "live-stream.toml"}"')
    )
    suite = load_suite(tmp_path / "s.toml")
    assert len(suite.texts) >= 40 and {t.reference_audio for t in suite.texts} == {REFERENCE}
    (tmp_path / "no-ref.toml").write_text(SUITE.split("[reference]")[0])
    with pytest.raises(ConfigError, match="texts_from needs \\[reference\\]"):
        load_suite(tmp_path / "no-ref.toml")


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (
            '[[texts]]\nid = "a"\ntext = "x"\nlang = "en"\n[[texts]]\nid = "a"\ntext = "y"\nlang = "en"\n',
            "appears twice",
        ),
        ('[[texts]]\nid = "a"\ntext = " "\nlang = "en"\n', "is empty"),
        ('[[texts]]\nid = "a"\ntext = "x"\nlang = "fr"\n', "has lang 'fr'"),
        ('[[texts]]\nid = "a b"\ntext = "x"\nlang = "en"\n', "must be letters"),
        ('[[texts]]\nid = "a"\ntext = "x"\n', "exactly id, text and lang"),
        ("texts = 3\n", "want [[texts]] tables"),
        ("[[texts\n", "test set"),
    ],
)
def test_a_malformed_test_set_is_one_line(tmp_path: Path, content: str, needle: str) -> None:
    path = tmp_path / "set.toml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=needle.replace("[", "\\[")) as info:
        load_test_set(path)
    assert "\n" not in str(info.value)
