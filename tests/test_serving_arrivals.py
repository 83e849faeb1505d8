"""Arrival processes and traces (seeded, no clock), and the shipped live-chat trace."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from harness.errors import ConfigError, InputError
from harness.serving.arrivals import chat_trace, drawn, gaps, load_trace, scaled, write_trace
from harness.textsets import load_test_set

ROOT = Path(__file__).resolve().parents[1]
TRACE = ROOT / "suites" / "traces" / "live-chat.jsonl"


@pytest.mark.parametrize("process", ["poisson", "gamma"])
def test_drawn_gaps_have_the_asked_mean_rate(process: str) -> None:
    x = gaps(process, 4.0, 20_000, seed=1, burstiness=3.0)
    assert abs(x.mean() - 0.25) < 0.01


def test_burstiness_spreads_the_gaps_and_one_is_poisson() -> None:
    cv = {b: float(np.std(g) / np.mean(g)) for b in (1.0, 4.0) for g in [gaps("gamma", 2.0, 20_000, 0, b)]}
    assert abs(cv[1.0] - 1.0) < 0.05  # exponential gaps: coefficient of variation 1
    assert abs(cv[4.0] - 2.0) < 0.1  # gamma shape 1/4: CV sqrt(4)


def test_a_drawn_schedule_starts_at_zero_and_cycles_the_texts() -> None:
    arrivals = drawn("poisson", 1.0, 5, 0, [("a", "A."), ("b", "B.")])
    assert arrivals[0].t == 0 and [a.text_id for a in arrivals] == ["a", "b", "a", "b", "a"]
    assert all(b.t >= a.t for a, b in pairwise(arrivals))
    assert drawn("poisson", 1.0, 5, 0, [("a", "A.")]) == drawn("poisson", 1.0, 5, 0, [("a", "A.")])


@pytest.mark.parametrize(
    ("rate", "count", "burstiness", "message"),
    [(0.0, 5, 1.0, "positive number"), (-1.0, 5, 1.0, "positive"), (float("nan"), 5, 1.0, "positive"),
     (1.0, 0, 1.0, "between 1"), (1.0, 5, 0.0, "burstiness")],
)  # fmt: skip
def test_bad_rates_counts_and_burstiness_are_one_line(rate: float, count: int, burstiness: float, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        gaps("gamma", rate, count, 0, burstiness)


@pytest.mark.parametrize(
    "lines",
    [
        ['{"t": 1, "text": "a"}', '{"t": 0.5, "text": "b"}'],  # unsorted
        ['{"t": -1, "text": "a"}'],
        ['{"t": 0, "text": "  "}'],
        ['{"t": 0}'],
        ["not json"],
        ['{"t": "soon", "text": "a"}'],
        ['{"t": 0, "text": "a", "voice": "x"}'],
        [""],
    ],
)
def test_a_bad_trace_is_one_line_naming_the_file(tmp_path: Path, lines: list[str]) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(lines))
    with pytest.raises(InputError, match=r"trace .*t\.jsonl"):
        load_trace(path)


def test_a_trace_starts_at_zero_and_rescales_keeping_its_bursts(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"t": 10, "text": "a"}\n{"t": 10.5, "text": "b", "id": "x"}\n{"t": 14, "text": "c"}\n')
    trace = load_trace(path)
    assert [a.t for a in trace] == [0, 0.5, 4] and trace[1].text_id == "x" and trace[0].text_id == "line1"
    faster = scaled(trace, 1.0)  # 2 gaps in 2 s
    assert [round(a.t, 6) for a in faster] == [0, 0.25, 2]


def test_the_shipped_live_chat_trace_is_what_its_generator_makes(tmp_path: Path) -> None:
    texts = [(t.id, t.text) for t in load_test_set(ROOT / "suites" / "texts" / "live-stream.toml")]
    write_trace(chat_trace(texts, 300.0, seed=0), tmp_path / "again.jsonl")
    assert (tmp_path / "again.jsonl").read_text(encoding="utf-8") == TRACE.read_text(encoding="utf-8")
    trace = load_trace(TRACE)
    gaps_s = np.diff([a.t for a in trace])
    assert len(trace) > 60 and np.std(gaps_s) / np.mean(gaps_s) > 1.3  # burstier than Poisson
    assert any(not a.text.isascii() for a in trace)  # emoji and Chinese among the comments
    assert all(json.loads(line)["text"].strip() for line in TRACE.read_text(encoding="utf-8").splitlines())
