"""The results folder as a journal: one writer at a time, nothing replaced silently, nothing left
half-written when the disk fills."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.errors import EXIT_ENVIRONMENT
from harness.results import Results
from tests.test_cli import CLI_ENV, ROOT, assert_one_line_error, cli_in_process, run_until_first_record


def test_a_second_run_on_a_folder_being_written_is_refused_and_the_first_loses_nothing(
    write_suite: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_suite(nfe="[2, 3, 4]", repeats=40)  # seconds a configuration: the first is still busy
    out = tmp_path / "out"
    first = run_until_first_record(path, out)
    second = cli_in_process("run", str(path), "--out", str(out), "--nfe", "2", "--no-progress")
    assert_one_line_error(second, f"{out} is being written by pid {first.pid}")
    resumed = cli_in_process("run", str(path), "--resume", str(out), "--no-progress")
    assert_one_line_error(resumed, "is being written by")  # a resume waits its turn too
    first.send_signal(signal.SIGINT)
    assert first.wait(timeout=300) == 130  # then the first stops, and the lock goes with it
    measured = {r.id: r.finished_utc for r in Results.load(out).records}
    write_suite(nfe="[2, 3, 4]", repeats=2)  # the same suite, fewer timed calls: the resume's are not the test
    assert cli_in_process("run", str(path), "--resume", str(out), "--no-progress").returncode == 0
    final = Results.load(out)
    assert sorted(r.config["nfe"] for r in final.records) == [2, 3, 4]
    assert all(final.record(i).finished_utc == t for i, t in measured.items())  # type: ignore[union-attr]


def test_a_new_run_keeps_a_finished_sweep_and_refuses_an_unfinished_one(
    write_suite: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_suite(nfe="[2]")
    out = tmp_path / "out"
    assert cli_in_process("run", str(path), "--out", str(out), "--no-progress").returncode == 0
    earlier = Results.load(out)
    again = cli_in_process("run", str(path), "--out", str(out), "--no-progress")
    assert again.returncode == 0 and "held a finished sweep: kept in" in again.stderr
    (kept,) = (out / "previous").iterdir()
    assert Results.load(kept).created_utc == earlier.created_utc and (kept / "summary.md").is_file()
    data = json.loads((out / "results.json").read_text())
    data["status"] = "interrupted"
    (out / "results.json").write_text(json.dumps(data))
    assert_one_line_error(
        cli_in_process("run", str(path), "--out", str(out), "--no-progress"),
        "holds an unfinished sweep (interrupted, 1 configuration(s) measured)",
        f"--resume {out}",
    )
    assert json.loads((out / "results.json").read_text())["status"] == "interrupted"  # untouched


def test_resume_into_another_suites_folder_is_refused(write_suite: Callable[..., Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert cli_in_process("run", str(write_suite(name="one")), "--out", str(out), "--no-progress").returncode == 0
    other = cli_in_process("run", str(write_suite(name="two")), "--resume", str(out), "--no-progress")
    assert_one_line_error(other, "holds a sweep of suite 'one', not 'two'")


def _can_mount_tmpfs() -> bool:
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    return probe.returncode == 0 and shutil.which("mount") is not None


@pytest.mark.skipif(not _can_mount_tmpfs(), reason="needs root for a private tmpfs (unshare -m)")
def test_a_full_disk_mid_sweep_is_one_line_exit_4_with_the_last_results_intact(
    write_suite: Callable[..., Path], tmp_path: Path
) -> None:
    """The sweep's folder on a 20 KiB tmpfs: the first records fit (a save holds the old file and the
    new one, about 3 KiB a record here), a later save does not."""
    path = write_suite(nfe="[2, 3, 4, 5, 6, 7, 8]", repeats=2)
    disk, keep = tmp_path / "disk", tmp_path / "keep"
    disk.mkdir()
    run = [sys.executable, "-m", "harness", "run", str(path), "--out", str(disk / "out"), "--no-progress"]
    script = (
        f"mount -t tmpfs -o size=20k tmpfs {disk} && {{ {' '.join(run)} --no-audio 2>{tmp_path}/err; "
        f"echo $? > {tmp_path}/code; cp -r {disk}/out {keep}; }}"
    )
    subprocess.run(["unshare", "-m", "sh", "-c", script], cwd=ROOT, env={**os.environ, **CLI_ENV}, timeout=600)
    stderr = (tmp_path / "err").read_text()
    assert int((tmp_path / "code").read_text()) == EXIT_ENVIRONMENT, stderr
    assert "tts-harness: environment: [Errno 28] No space left on device" in stderr and "Traceback" not in stderr
    assert not list(keep.glob(".results-*"))  # no temporary file left behind
    saved = Results.load(keep)  # the last complete file: valid, every record it holds measured
    assert 1 <= len(saved.records) < 7 and all(r.status == "ok" for r in saved.records)
