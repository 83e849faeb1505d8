"""The docs cannot drift: the CLI reference is the parser's, the suite keys and result fields are the
code's, and every command a doc shows parses with the real CLI and names a suite that loads."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import fields
from pathlib import Path

import pytest

from harness import config, suite_file
from harness.cli import build_parser
from harness.cli_reference import cli_reference
from harness.results import Record, Results
from harness.sequential import GatePolicy
from harness.serving.config import ServingConfig

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("kind", ["results", "suite", "baseline", "noise", "comparison", "ab"])
def test_the_published_json_schemas_are_generated_from_the_dataclasses(kind: str) -> None:
    from harness.schemas import schema_text

    published = ROOT / "docs" / "schemas" / f"{kind}.schema.json"
    assert published.read_text() == schema_text(kind), f"stale: tts-harness schema {kind} > {published}"


def test_every_suite_and_results_file_here_validates_against_its_schema() -> None:
    import jsonschema
    import tomllib

    from harness.schemas import schema

    suites = sorted((ROOT / "suites").glob("*.toml"))
    for path in suites:
        jsonschema.validate(tomllib.loads(path.read_text()), schema("suite"))
    results = sorted((ROOT / "reports").rglob("results.json"))
    for path in results:
        jsonschema.validate(json.loads(path.read_text()), schema("results"))
    comparisons = sorted((ROOT / "reports").rglob("*ab.json"))
    for path in comparisons:
        jsonschema.validate(json.loads(path.read_text()), schema("ab"))
    assert len(suites) >= 10 and len(results) >= 20 and comparisons


def test_the_gate_files_the_harness_writes_validate_against_their_published_schemas(tmp_path: Path) -> None:
    import jsonschema

    from tests.test_bad_input import _gate_files

    for kind, path in _gate_files(tmp_path).items():
        published = json.loads((ROOT / "docs" / "schemas" / f"{kind}.schema.json").read_text())
        jsonschema.validate(json.loads(path.read_text()), published)


def test_the_cli_reference_is_generated_from_the_parser() -> None:
    assert (ROOT / "docs" / "cli.md").read_text() == cli_reference(), (
        "docs/cli.md is stale: python -m harness.cli_reference > docs/cli.md"
    )


def _keys(section: str, text: str) -> set[str]:
    """The backquoted keys in the first column of a ``## `[section]` ...`` table of docs/suites.md."""
    part = text.split(f"## `{section}`", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z_0-9]+)` \|", part, flags=re.M))


@pytest.mark.parametrize(
    ("section", "keys"),
    [
        ("[matrix]", set(suite_file._MATRIX_AXES)),
        ("[synthesis]", set(suite_file._SYNTHESIS_KEYS)),
        ("[[texts]]", {f.name for f in fields(config.TextItem)}),
        ("[timing]", {f.name for f in fields(config.TimingConfig)}),
        ("[thresholds]", {f.name for f in fields(config.Thresholds)}),
        ("[gate]", {f.name for f in fields(GatePolicy)}),
        ("[quality]", {f.name for f in fields(config.QualityConfig)}),
        ("[scenario]", {f.name for f in fields(config.ScenarioConfig)}),
        ("[roofline]", {f.name for f in fields(config.RooflineConfig)}),
        ("[serving]", {f.name for f in fields(ServingConfig)}),
    ],
)
def test_every_suite_key_is_documented_and_every_documented_key_exists(section: str, keys: set[str]) -> None:
    assert _keys(section, (ROOT / "docs" / "suites.md").read_text()) == keys


@pytest.mark.parametrize(("heading", "cls"), [("## The sweep", Results), ("## One configuration", Record)])
def test_every_result_field_is_documented(heading: str, cls: type) -> None:
    part = (ROOT / "docs" / "results.md").read_text().split(heading, 1)[1].split("\n## ", 1)[0]
    documented = {
        name for cell in re.findall(r"^\| ([^|]+) \|", part, flags=re.M) for name in re.findall(r"`(\w+)`", cell)
    }
    assert documented == {f.name for f in fields(cls)}


def _commands() -> list[tuple[str, str]]:
    """(file, command) for every indented command line of the docs."""
    found = []
    for path in DOCS:
        text = re.sub(r"\\\n\s+", "", path.read_text())  # join continued lines
        for line in text.splitlines():
            match = re.match(r"^ {4}(?:\.venv/bin/)?((?:tts-harness|make|pytest) .*?)\s*(?:#.*)?$", line)
            if match:
                found.append((path.name, match.group(1)))
    return found


def test_the_docs_show_commands() -> None:
    assert len(_commands()) > 20 and ("README.md", "make test") in _commands()


@pytest.mark.parametrize(("doc", "command"), _commands(), ids=[f"{d}:{c[:60]}" for d, c in _commands()])
def test_every_command_a_doc_shows_parses_and_names_what_exists(
    doc: str, command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A command the CLI would refuse, a make target that is gone or a suite that does not load
    fails here. (What they do is tested where their behaviour is: a GPU sweep cannot run on CI.)"""
    monkeypatch.chdir(ROOT)
    words = shlex.split(re.sub(r"\$\([^)]*\)", "main", command))  # a $(...) revision stands for one
    tool, args = words[0], words[1:]
    if tool == "make":
        targets = re.findall(r"^([a-z]+):", (ROOT / "Makefile").read_text(), flags=re.M)
        assert set(args) <= set(targets)
        return
    if tool == "pytest":
        assert args[0] == "suites/" and "--suite" in args
        suite_file.load_suite(args[args.index("--suite") + 1])
        return
    parsed = build_parser().parse_args(args)  # argparse exits (SystemExit) on an unknown option
    suite = getattr(parsed, "suite", None)
    if suite and suite not in ("SUITE",):
        suite_file.load_suite(suite)
