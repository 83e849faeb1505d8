"""A corpus of hostile input: each case one line on stderr, the documented exit code, no traceback,
nothing written outside the output folder. Faults (a crash, SIGTERM) get their own exit codes."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from harness.errors import EXIT_CRASH, EXIT_INPUT, EXIT_INTERRUPTED
from tests.conftest import SUITE_TEMPLATE, suite_values
from tests.test_cli import assert_one_line_error, cli_in_process, run_until_first_record

GOOD_SUITE = SUITE_TEMPLATE.format(**suite_values(name="bad"))

# Suites whose tables or values are of the wrong kind: refused before anything is measured.
SUITES = {
    "suite-is-a-number": "suite = 5\n",
    "matrix-is-a-number": '[suite]\nname = "x"\nmatrix = 7\n',
    "texts-are-numbers": '[suite]\nname = "x"\ntexts = [1, 2]\n',
    "texts-is-a-string": '[suite]\nname = "x"\ntexts = "hello"\n',
    "text-entry-incomplete": '[suite]\nname = "x"\n[[texts]]\nid = "a"\n',
    "nfe-is-a-string": GOOD_SUITE.replace("nfe = [4]", 'nfe = "many"'),
    "nfe-is-a-float": GOOD_SUITE.replace("nfe = [4]", "nfe = [2.5]"),
    "nfe-negative": GOOD_SUITE.replace("nfe = [4]", "nfe = [-3]"),
    "unknown-axis": GOOD_SUITE.replace("[matrix]", "[matrix]\nbatch = [1]"),
    "unknown-table": GOOD_SUITE + "\n[timming]\nwarmup = 1\n",
    "precision-unknown": GOOD_SUITE.replace('precision = "fp32"', 'precision = "fp12"'),
    "compile-unknown": GOOD_SUITE.replace('compile = "none"', 'compile = "fastest"'),
    "vocoder-unknown": GOOD_SUITE.replace('vocoder = "torch"', 'vocoder = "magic"'),
    "repeats-zero": GOOD_SUITE.replace("repeats = 2", "repeats = 0"),
    "repeats-a-string": GOOD_SUITE.replace("repeats = 2", 'repeats = "two"'),
    "threads-a-string": GOOD_SUITE.replace("threads = 1", 'threads = "all"'),
    "empty-text": GOOD_SUITE.replace('text = "A short sentence to speak."', 'text = ""'),
    "missing-reference": GOOD_SUITE.replace("f5tts:infer/examples/basic/basic_ref_en.wav", "/no/such.wav"),
    "not-toml": "[suite\nname = ",
    "not-utf8": "\udcff",
    "gate-alpha-too-large": GOOD_SUITE + "\n[gate]\nalpha = 0.9\n",
    "gate-min-effect-negative": GOOD_SUITE + "\n[gate]\nmin_effect = -0.1\n",
    "gate-inconclusive-unknown": GOOD_SUITE + '\n[gate]\ninconclusive = "maybe"\n',
    "gate-unknown-key": GOOD_SUITE + "\n[gate]\nalfa = 0.1\n",
    "weights-unknown": GOOD_SUITE.replace('weights = "random"', 'weights = "cloud"'),
    "weights-missing-path": GOOD_SUITE.replace('weights = "random"', 'weights = "path:/no/such/dir"'),
    "device-unknown": GOOD_SUITE.replace('device = "cpu"', 'device = "tpu"'),
    "name-escapes-the-runs-folder": GOOD_SUITE.replace('name = "bad"', 'name = "../../../escaped"'),
    "name-absolute": GOOD_SUITE.replace('name = "bad"', 'name = "/tmp/escaped"'),
    "name-hidden": GOOD_SUITE.replace('name = "bad"', 'name = ".."'),
    "name-a-number": GOOD_SUITE.replace('name = "bad"', "name = 5"),
    "text-id-markup": GOOD_SUITE.replace('id = "t1"', 'id = "<script>x</script>"'),
    "text-ids-repeated": GOOD_SUITE + '\n[[texts]]\nid = "t1"\ntext = "b"\nreference_audio = "a"\nreference_text = "r"',
    "duration-a-string": GOOD_SUITE.replace('id = "t1"', 'id = "t1"\nduration_s = "long"'),
    "quality-enabled-a-string": GOOD_SUITE + '\n[quality]\nenabled = "false"\n',
    "seed-a-string": GOOD_SUITE + '\n[synthesis]\nseed = "abc"\n',
    "cfg-a-string": GOOD_SUITE + '\n[synthesis]\ncfg_strength = "high"\n',
    "use-epss-a-number": GOOD_SUITE + "\n[synthesis]\nuse_epss = 3\n",
    "threads-huge": GOOD_SUITE.replace("threads = 1", "threads = 100000"),
    "nfe-huge": GOOD_SUITE.replace("nfe = [4]", "nfe = [100000]"),
    "text-huge": GOOD_SUITE.replace('text = "A short sentence to speak."', f'text = "{"word " * 10000}"'),
    "scenario-rate-a-string": GOOD_SUITE + '\n[scenario]\nkind = "server"\nrate_per_s = "fast"\n',
    "gate-min-rounds-a-float": GOOD_SUITE + "\n[gate]\nmin_rounds = 2.5\n",
}


@pytest.mark.parametrize("name", sorted(SUITES))
def test_a_malformed_suite_is_one_line_and_exit_2(name: str, tmp_path: Path) -> None:
    suite = tmp_path / "s.toml"
    text = SUITES[name]
    suite.write_bytes(text.encode("utf-8", "surrogateescape"))
    out = tmp_path / "out"
    proc = cli_in_process("run", str(suite), "--out", str(out), "--no-progress", "--no-track")
    assert proc.returncode == EXIT_INPUT, proc.stderr
    assert_one_line_error(proc)
    assert not (out / "results.json").exists()


def _results(**changes: object) -> dict[str, object]:
    record = {"id": "a", "config": {}, "runs": [{"total_s": 1.0, "audio_s": 1.0, "rtf": 1.0, "stages_s": {}}]}
    data: dict[str, object] = {"schema": "tts-harness/results", "schema_version": 1, "suite": {}, "records": [record]}
    data.update(changes)
    return data


RECORD = {"id": "a", "config": {}}
SLOW_RUN = {"total_s": 1, "audio_s": 1, "rtf": "fast", "stages_s": {}}
RESULTS = {
    "records-a-string": _results(records="abc"),
    "records-of-numbers": _results(records=[1, 2]),
    "record-without-id": _results(records=[{"config": {}}]),
    "record-id-a-number": _results(records=[{"id": 3}]),
    "rtf-a-string": _results(records=[{**RECORD, "runs": [SLOW_RUN]}]),
    "run-missing-fields": _results(records=[{**RECORD, "runs": [{"rtf": 1.0}]}]),
    "runs-of-strings": _results(records=[{**RECORD, "runs": ["x"]}]),
    "stages-null": _results(records=[{**RECORD, "stages_ms": None}]),
    "quality-a-list": _results(records=[{**RECORD, "quality": [1]}]),
    "summary-a-number": _results(records=[{**RECORD, "rtf": 5}]),
    "platform-a-string": _results(platform="x"),
    "suite-a-list": _results(suite=[1]),
    "options-a-number": _results(options=3),
    "schema-version-0": _results(schema_version=0),
    "other-schema": _results(schema="something/else"),
    "suite-name-a-path": _results(suite={"name": "../../outside"}),
    "platform-key-a-path": _results(platform={"key": "../../outside"}),
    "unknown-record-key": _results(records=[{**RECORD, "rtf_medain": 0.1}]),  # a typo, never dropped
    "unknown-top-key": _results(recrods=[]),
    "a-list": [1, 2, 3],
}


@pytest.mark.parametrize("command", ["report", "compare", "sync", "noise", "baseline-save"])
@pytest.mark.parametrize("name", sorted(RESULTS))
def test_a_malformed_results_file_is_one_line_and_exit_2(name: str, command: str, tmp_path: Path) -> None:
    folder = tmp_path / "r"
    folder.mkdir()
    (folder / "results.json").write_text(json.dumps(RESULTS[name]))
    argv = {
        "report": ["report", str(folder)],
        "compare": ["compare", str(folder), str(folder)],
        "sync": ["sync", str(folder), "--tracking-uri", f"sqlite:///{tmp_path / 'm.db'}"],
        "noise": ["noise", "record", str(folder), str(folder), "--dir", str(tmp_path / "n")],
        "baseline-save": ["baseline", "save", str(folder), "--dir", str(tmp_path / "b")],
    }[command]
    proc = cli_in_process(*argv)
    assert proc.returncode == EXIT_INPUT, proc.stderr
    assert_one_line_error(proc)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]  # nothing written beside it


def test_a_crash_is_exit_3_with_its_traceback_never_the_regression_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug (here: a command that raises what no input explains) must not read as a regression."""
    import harness.commands

    def broken(args: object) -> int:
        raise RuntimeError("an unexpected state")

    monkeypatch.setattr(harness.commands, "cmd_preflight", broken)
    proc = cli_in_process("preflight")
    assert proc.returncode == EXIT_CRASH != 1
    assert "Traceback" in proc.stderr and "internal error: an unexpected state (exit 3" in proc.stderr


def test_sigterm_mid_sweep_saves_marks_interrupted_and_says_how_to_resume(write_suite: object, tmp_path: Path) -> None:
    from harness.results import Results

    path = write_suite(nfe="[2, 3, 4]", repeats=3)  # type: ignore[operator]
    out = tmp_path / "out"
    proc = run_until_first_record(path, out)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == EXIT_INTERRUPTED and "Traceback" not in stderr
    assert f"--resume {out}" in stderr
    partial = Results.load(out)
    assert partial.status == "interrupted" and 1 <= len(partial.records) < 3
    assert not list(out.glob(".results-*"))  # no temporary file left behind


def test_a_run_argument_parse_error_is_exit_2(tmp_path: Path) -> None:
    proc = cli_in_process("run", "smoke", "--nfe", "x")
    assert proc.returncode == EXIT_INPUT and isinstance(proc, subprocess.CompletedProcess)


def test_a_ten_minute_reference_is_refused_before_the_sweep_with_the_limit(tmp_path: Path) -> None:
    import numpy as np
    import soundfile as sf

    long = tmp_path / "long.wav"
    sf.write(str(long), np.zeros(24_000 * 600, dtype=np.float32), 24_000)
    suite = tmp_path / "s.toml"
    suite.write_text(GOOD_SUITE.replace("f5tts:infer/examples/basic/basic_ref_en.wav", str(long)))
    proc = cli_in_process("run", str(suite), "--out", str(tmp_path / "out"), "--no-progress", "--no-track")
    assert proc.returncode == EXIT_INPUT
    assert_one_line_error(proc, "is 600 s long", "at most 30 s")


def test_a_baseline_asked_for_and_missing_is_an_error_never_a_silent_pass(tmp_path: Path) -> None:
    from tests.test_gates import results_with

    results_with({"a": [1.0, 1.1]}).save(tmp_path / "r")
    proc = cli_in_process("report", str(tmp_path / "r"), "--baseline", str(tmp_path / "missing.json"))
    assert proc.returncode == EXIT_INPUT
    assert_one_line_error(proc, "no baseline at")


def _gate_files(tmp_path: Path) -> dict[str, Path]:
    """A baseline, a noise floor and a comparison.json written by the harness from two sweeps."""
    from tests.test_gates import results_with

    for name, values in (("a", [1.0, 1.1, 0.9]), ("b", [1.02, 1.05, 0.98])):
        results = results_with({"x": values})
        results.git = {"commit": None}  # measured outside a git tree, as the tests' sweeps are
        results.save(tmp_path / name)
    assert cli_in_process("baseline", "save", str(tmp_path / "a"), "--dir", str(tmp_path / "bl")).returncode == 0
    noise = cli_in_process("noise", "record", str(tmp_path / "a"), str(tmp_path / "b"), "--dir", str(tmp_path / "nf"))
    assert noise.returncode == 0, noise.stderr
    cli_in_process("baseline", "compare", str(tmp_path / "b"), "--dir", str(tmp_path / "bl"))
    files = {"baseline": next((tmp_path / "bl").glob("*.json")), "noise": next((tmp_path / "nf").glob("*.json"))}
    return files | {"comparison": tmp_path / "b" / "comparison.json"}


# Each file's first-level fault: a key this version does not know, a wrong kind, a missing key.
GATE_FILE_FAULTS = {
    "unknown-key": lambda d: {**d, "sweepz": 1},
    "wrong-kind": lambda d: {**d, "saved_utc": 5, "configs": [], "against": 7},
    "missing-key": lambda d: {k: v for k, v in d.items() if k not in ("records", "configs", "rows")},
}


@pytest.mark.parametrize("fault", sorted(GATE_FILE_FAULTS))
def test_a_malformed_baseline_noise_floor_or_comparison_is_one_line_and_exit_2(fault: str, tmp_path: Path) -> None:
    files = _gate_files(tmp_path)
    for path in files.values():
        path.write_text(json.dumps(GATE_FILE_FAULTS[fault](json.loads(path.read_text()))))
    compare = cli_in_process("baseline", "compare", str(tmp_path / "b"), "--dir", str(tmp_path / "bl"))
    assert compare.returncode == EXIT_INPUT and "is not a tts-harness baseline" in compare.stderr, compare.stderr
    assert_one_line_error(compare)
    (tmp_path / "bl" / files["baseline"].name).unlink()
    noise = cli_in_process("compare", str(tmp_path / "a"), str(tmp_path / "b"), "--noise-dir", str(tmp_path / "nf"))
    assert noise.returncode == EXIT_INPUT and "is not a tts-harness noise floor" in noise.stderr, noise.stderr
    sync = cli_in_process("sync", str(tmp_path / "b"), "--tracking-uri", f"sqlite:///{tmp_path / 'm.db'}")
    assert sync.returncode == EXIT_INPUT and "is not a tts-harness comparison.json" in sync.stderr, sync.stderr
    assert not (tmp_path / "m.db").exists()  # refused before anything was logged
