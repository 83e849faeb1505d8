"""Test sets: named files of texts (``suites/texts/<name>.toml``) a suite speaks instead of listing
``[[texts]]``, each text with an id and a language, all spoken against one reference voice."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import tomllib

from harness.errors import ConfigError
from harness.results import SAFE_ID

LANGUAGES = ("en", "zh", "mixed")


@dataclass(frozen=True)
class SetText:
    id: str
    text: str
    lang: str


def test_set_path(name: str, suite_path: Path) -> Path:
    """``name`` as a file, else ``suites/texts/<name>.toml`` beside the suite or under the working folder."""
    given = Path(name)
    candidates = [given, suite_path.parent / "texts" / f"{name}.toml", Path("suites") / "texts" / f"{name}.toml"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ConfigError(f"no test set {name!r} (looked for {', '.join(map(str, candidates))})")


def load_test_set(path: Path) -> list[SetText]:
    """The texts of a test set file; a duplicate id, an empty text or an unknown language is one line."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"test set {path}: {str(exc).splitlines()[0]}") from None
    items = data.get("texts")
    if set(data) != {"texts"} or not isinstance(items, list) or not items:
        raise ConfigError(f"test set {path}: want [[texts]] tables (id, text, lang) and nothing else")
    out: list[SetText] = []
    for item in items:
        if not isinstance(item, dict) or set(item) != {"id", "text", "lang"}:
            raise ConfigError(f"test set {path}: each [[texts]] has exactly id, text and lang; got {item!r:.80}")
        text_id, text, lang = item["id"], item["text"], item["lang"]
        if not isinstance(text_id, str) or not SAFE_ID.fullmatch(text_id):
            raise ConfigError(f"test set {path}: id {text_id!r:.40} must be letters, digits, '.', '_' or '-'")
        if not isinstance(text, str) or not text.strip():
            raise ConfigError(f"test set {path}: text {text_id!r} is empty")
        if lang not in LANGUAGES:
            raise ConfigError(f"test set {path}: text {text_id!r} has lang {lang!r}; use {', '.join(LANGUAGES)}")
        if any(t.id == text_id for t in out):
            raise ConfigError(f"test set {path}: id {text_id!r} appears twice")
        out.append(SetText(text_id, text, lang))
    return out
