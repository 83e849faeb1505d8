"""`compare` answers speed and quality together: the speed ratio beside the paired gate of every
per-text quality score both sides measured; a quality regression fails the gate (seeded scores)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.results import Record, Results, RunSample
from tests.test_cli import cli

TEXTS = 20


def sweep(folder: Path, rtf: float, mos: np.ndarray | None) -> Path:
    runs = [RunSample(rtf * 5 * (1 + i / 100), 5.0, rtf * (1 + i / 100), {}) for i in range(5)]
    quality = {"fidelity": {"mcd_db": 1.0}}
    if mos is None:
        quality["mos"] = {"meaningful": False, "skipped": "random weights"}
    else:
        quality["mos"] = {"meaningful": True, "per_text": [{"p808": float(v)} for v in mos]}
        quality["intrusive"] = {"meaningful": True, "per_text": [{"pesq_wb": 4.0, "stoi": 0.99}] * TEXTS}
    record = Record(id="nfe8", config={}, runs=runs, quality=quality)
    record.summarize()
    Results(suite={"name": "s"}, records=[record], status="complete").save(folder)
    return folder


def test_faster_with_mos_unchanged_is_one_sentence(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    base_mos = rng.uniform(2.5, 4.0, TEXTS)
    a = sweep(tmp_path / "a", 0.10, base_mos)
    b = sweep(tmp_path / "b", 0.077, base_mos + rng.normal(0, 0.01, TEXTS))
    proc = cli("compare", str(a), str(b))
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("- nfe8: "))
    assert line.startswith("- nfe8: 1.30x faster (")
    assert "MOS unchanged (" in line and "pesq_wb unchanged (" in line and "stoi unchanged (" in line


def test_a_mos_drop_fails_the_gate_even_when_faster(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    base_mos = rng.uniform(2.5, 4.0, TEXTS)
    a = sweep(tmp_path / "a", 0.10, base_mos)
    b = sweep(tmp_path / "b", 0.05, base_mos - 0.4 + rng.normal(0, 0.05, TEXTS))
    proc = cli("compare", str(a), str(b))
    assert proc.returncode == 1 and "2.00x faster" in proc.stdout and "MOS regression (" in proc.stdout
    assert "nfe8 (mos)" in proc.stderr


def test_random_weights_say_quality_was_not_compared(tmp_path: Path) -> None:
    a, b = sweep(tmp_path / "a", 0.10, None), sweep(tmp_path / "b", 0.10, None)
    proc = cli("compare", str(a), str(b))
    assert proc.returncode == 0 and "quality not compared (no per-text scores of speech" in proc.stdout
