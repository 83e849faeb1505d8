"""The load scenario of a sweep on the real tiny pipeline: rows for streaming and batching, every
request accounted for, the batcher gathering a burst, the report's table and curve. Only what holds
with a wide margin on 2 noisy cores is asserted (no latency figure)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.gates import load_judged
from tests.test_cli import cli

LOAD = """
[scenario]
kind = "load"
requests = 4
[serving]
arrivals = "trace"
trace = "burst.jsonl"
max_wait_ms = 300.0
first_chars = 12
slo = {{ ttfa_p99_s = 600.0 }}
search_start_rate = 1.0
search_max_rate = 2.0
search_steps = 0
[thresholds]
max_batch_time_ratio = 100.0
min_rate_per_min = {min_rate}
"""
TEXT = "Hello chat, this is a longer comment. It has two sentences."


@pytest.mark.slow
def test_a_load_sweep_serves_every_request_and_reports_it(write_suite: Callable[..., Path], tmp_path: Path) -> None:
    burst = [{"t": 0.0, "text": TEXT if i % 2 else "GG, nice one!"} for i in range(4)]
    (tmp_path / "burst.jsonl").write_text("".join(json.dumps(b) + "\n" for b in burst))
    suite = write_suite(
        name="load", nfe="[1]", matrix="stream = [false, true]\nmax_batch = [1, 2]", text=TEXT,
        extra=LOAD.format(min_rate=6000.0),
    )  # fmt: skip
    out = tmp_path / "out"
    proc = cli("run", str(suite), "--out", str(out), "--no-progress", "--no-telemetry", "--no-track", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    records = {r["id"]: r for r in json.loads((out / "results.json").read_text())["records"]}
    assert len(records) == 4 and all(r["status"] == "ok" for r in records.values())
    verdicts = {r.id: r.verdicts for r in load_judged(out).records}  # computed when read
    for run_id, record in records.items():
        load = record["scenario"]
        assert load["summary"]["counts"] == {"ok": 4, "dropped": 0, "error": 0, "unfinished": 0}, run_id
        assert [p["met"] for p in load["search"]["points"]] == [True, True]
        assert verdicts[run_id]["rate_per_min"]["level"] == "critical" and "verdicts" not in record
        assert len(record["runs"]) >= 4  # every batcher call is one timed run
        if "stream" in run_id:
            (fidelity,) = load["stream_fidelity"].values()
            assert fidelity["chunks"] >= 2 and fidelity["mel_l1"] >= 0
            assert all(len(r["chunks"]) >= 1 for r in load["requests"])
        if "mb2" in run_id:
            assert list(load["warm_batches_s"]) == ["2"]  # the pair size called once, untimed, before any load
            assert max(load["batches"]["sizes"]) == 2  # four at once: the batcher gathered them in pairs
            assert load["batch_scaling"]["batch"] == 2 and verdicts[run_id]["batch_time_ratio"]["level"] == "good"
    report = cli("report", str(out), cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    summary = (out / "summary.md").read_text()
    assert "## Load scenario" in summary and "| nfe1-fp32-compile_none-voc_torch-stream-mb2 |" in summary
    assert "Load scenario" in (out / "report.html").read_text() and (out / "plots" / "load_curve.png").is_file()


def test_every_batch_size_is_called_once_before_a_load_longest_texts_first() -> None:
    import numpy as np

    from harness.serving.scenario import warm_shapes

    calls: list[list[str]] = []

    def speak(texts: list[str]) -> list[np.ndarray]:  # the batcher's interface, recording what it is given
        calls.append(texts)
        return [np.zeros(1) for _ in texts]

    spent = warm_shapes(speak, ["ok", "a longer comment", "GG"], 4)
    assert [len(c) for c in calls] == [2, 3, 4] and list(spent) == ["2", "3", "4"]
    assert calls[0] == ["a longer comment", "ok"] and calls[2][3] == "a longer comment"  # wraps round
    assert warm_shapes(speak, ["ok"], 1) == {}  # one at a time: nothing to warm


def test_a_compiled_row_warms_every_size_at_every_bucket_its_texts_reach() -> None:
    """A batch's shape is its size and the bucket of its longest text: each (size, bucket) once,
    led by the bucket's longest text, filled with the shortest, as a load's mixed batches are."""
    import numpy as np

    from harness.serving.scenario import warm_shapes

    def bucket_of(text: str) -> int:  # 10 characters a bucket
        return -(-len(text) // 10) * 10

    calls: list[list[str]] = []

    def speak(texts: list[str]) -> list[np.ndarray]:
        calls.append(texts)
        return [np.zeros(1) for _ in texts]

    units = ["hi", "a comment", "a longer comment", "a far longer comment here", "x" * 24]
    spent = warm_shapes(speak, units, 3, bucket_of)
    shapes = {(len(c), max(bucket_of(t) for t in c)) for c in calls}
    assert shapes == {(size, bucket) for size in (1, 2, 3) for bucket in (10, 20, 30)} and len(calls) == 9
    assert list(spent)[:3] == ["1x10", "2x10", "3x10"] and all(c[0] == "a far longer comment here" for c in calls[6:])
    assert calls[7] == ["a far longer comment here", "hi"]  # the rest: the shortest texts
