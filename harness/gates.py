"""Thresholds and baseline comparison: verdicts from results, never from models."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.config import Level, Thresholds
from harness.errors import InputError
from harness.noise import NoiseFloor
from harness.noise import describe as noise_source
from harness.results import Record, Results, utc_now
from harness.sequential import GatePolicy
from harness.stats import compare_repeated

BASELINE_SCHEMA = "tts-harness/baseline"
BASELINE_DIR = Path("reports/baselines")


def level_of(value: float, level: Level) -> str:
    if value > level.critical:
        return "critical"
    if value >= level.warning:
        return "warning"
    return "good"


def threshold_verdicts(record: Record, thresholds: Thresholds) -> dict[str, Any]:
    """Per metric: measured value, its CI where it has one, the threshold and the level."""
    out: dict[str, Any] = {}
    rtf = record.rtf
    if rtf is None:
        return out
    if thresholds.rtf is not None:
        out["rtf"] = {
            "value": rtf["median"],
            "ci": [rtf["ci_low"], rtf["ci_high"]],
            "warning": thresholds.rtf.warning,
            "critical": thresholds.rtf.critical,
            "level": level_of(rtf["median"], thresholds.rtf),
        }
    if thresholds.cv is not None and rtf["n"] > 1:
        out["cv"] = {
            "value": rtf["cv"],
            "warning": thresholds.cv.warning,
            "critical": thresholds.cv.critical,
            "level": level_of(rtf["cv"], thresholds.cv),
        }
    out.update(quality_verdicts(record, thresholds))
    out.update(serving_verdicts(record, thresholds))
    snr = record.vocoder.get("parity", {}).get("snr_db")
    if thresholds.vocoder_snr_db_min is not None and snr is not None:
        out["vocoder_snr_db"] = _bound(snr, thresholds.vocoder_snr_db_min, upper=False)
    return out


def _bound(value: float, limit: float, upper: bool) -> dict[str, Any]:
    bad = value > limit if upper else value < limit
    return {"value": value, "critical": limit, "level": "critical" if bad else "good", "upper": upper}


def serving_verdicts(record: Record, thresholds: Thresholds) -> dict[str, Any]:
    """The load scenario against the plan's batching criteria: batch time, p99 TTFA, rate."""
    load = record.scenario if record.scenario.get("kind") == "load" else None
    if not load:
        return {}
    out: dict[str, Any] = {}
    scaling = load.get("batch_scaling")
    if scaling and thresholds.max_batch_time_ratio is not None:
        out["batch_time_ratio"] = _bound(scaling["ratio"], thresholds.max_batch_time_ratio, upper=True)
    if thresholds.max_ttfa_p99_s is not None:
        ttfa = (load["summary"].get("ttfa_s") or {}).get("p99", math.inf)
        out["ttfa_p99_s"] = _bound(ttfa, thresholds.max_ttfa_p99_s, upper=True)
    if thresholds.min_rate_per_min is not None:
        search = load.get("search")
        rate = search.get("sustainable_rate_per_s") if search else load["summary"].get("served_rate_per_s")
        out["rate_per_min"] = _bound(60 * (rate or 0.0), thresholds.min_rate_per_min, upper=False)
    return out


def quality_verdicts(record: Record, thresholds: Thresholds) -> dict[str, Any]:
    """Quality gates; WER and speaker similarity only where they are meaningful (real weights)."""
    quality = record.quality
    out: dict[str, Any] = {}
    asr, fidelity, speaker = quality.get("asr"), quality.get("fidelity"), quality.get("speaker")
    if asr and asr.get("meaningful"):
        if thresholds.max_wer is not None:
            out["wer"] = _bound(asr["wer"], thresholds.max_wer, upper=True)
        if thresholds.max_wer_increase is not None:
            out["wer_increase"] = _bound(asr["wer_increase"], thresholds.max_wer_increase, upper=True)
    if fidelity and record.config.get("pipeline") == "stock":
        # f5-tts's own pipeline chunks the text and draws its noise its own way: its render is not
        # the harness's fp32 render of the same call, so the distance says nothing about numerics.
        for name, limit in (("mcd_db", thresholds.max_mcd_db), ("lsd_db", thresholds.max_lsd_db)):
            if limit is not None:
                out[name] = {"value": fidelity[name], "level": "n/a", "why": STOCK_FIDELITY_NOTE}
    elif fidelity:
        if thresholds.max_mcd_db is not None:
            out["mcd_db"] = _bound(fidelity["mcd_db"], thresholds.max_mcd_db, upper=True)
        if thresholds.max_lsd_db is not None:
            out["lsd_db"] = _bound(fidelity["lsd_db"], thresholds.max_lsd_db, upper=True)
    mos = quality.get("mos")
    if mos and mos.get("meaningful") and "drop" in mos and thresholds.max_mos_drop is not None:
        out["mos_drop"] = _bound(mos["drop"], thresholds.max_mos_drop, upper=True)
    utmos = quality.get("utmos")
    if utmos and utmos.get("meaningful") and thresholds.max_utmos_drop is not None:
        out["utmos_drop"] = (_bound(utmos["drop"], thresholds.max_utmos_drop, upper=True) if "drop" in utmos
                             else {"value": None, "level": "n/a", "why": utmos.get("reason", "no score")})  # fmt: skip
    intrusive = quality.get("intrusive")
    if intrusive and intrusive.get("meaningful") and record.config.get("pipeline") != "stock":
        for name, limit in (("pesq_wb", thresholds.min_pesq_wb), ("stoi", thresholds.min_stoi)):
            if limit is not None and intrusive.get(name) is not None:
                out[name] = _bound(intrusive[name], limit, upper=False)
    if speaker and speaker.get("meaningful") and thresholds.min_speaker_similarity is not None:
        out["speaker_similarity"] = _bound(speaker["similarity"], thresholds.min_speaker_similarity, upper=False)
    return out


STOCK_FIDELITY_NOTE = "not comparable: f5-tts's own pipeline is another render path (its noise and chunking differ)"


def unquantized_twin(record: Record, records: list[Record]) -> Record | None:
    """The measured record of the same configuration without quantization."""
    want = {**record.config, "quant": "none"}
    return next((r for r in records if r.rtf and {**r.config, "quant": r.config.get("quant", "none")} == want), None)


def quant_speedups(records: list[Record]) -> dict[str, float]:
    """Each quantized row's speed-up over its unquantized twin (twin RTF / its RTF)."""
    out = {}
    for record in records:
        if record.rtf and record.config.get("quant", "none") != "none":
            twin = unquantized_twin(record, records)
            if twin is not None and twin.rtf:
                out[record.id] = twin.rtf["median"] / record.rtf["median"]
    return out


def apply_cross_verdicts(records: list[Record], thresholds: Thresholds) -> None:
    """Verdicts that need another row: a quantized row's speed-up over its twin (``min_quant_speedup``)."""
    if thresholds.min_quant_speedup is None:
        return
    for run_id, speedup in quant_speedups(records).items():
        record = next(r for r in records if r.id == run_id)
        record.verdicts["quant_speedup"] = _bound(speedup, thresholds.min_quant_speedup, upper=False)


def recorded_thresholds(results: Results) -> Thresholds:
    """The thresholds a sweep recorded (keys this version does not know are left out)."""
    from dataclasses import fields

    raw = dict(results.suite.get("thresholds") or {})
    known = {f.name for f in fields(Thresholds)}
    rtf, cv = (Level(**raw[k]) if isinstance(raw.get(k), dict) else None for k in ("rtf", "cv"))
    rest = {k: v for k, v in raw.items() if k in known and k not in ("rtf", "cv")}
    return Thresholds(rtf=rtf, cv=cv, **rest)


def judged(results: Results, thresholds: Thresholds) -> Results:
    """A copy of ``results`` with every verdict computed again under ``thresholds`` (the stored
    results are left as they are: judging happens when results are read)."""
    import copy

    out = copy.deepcopy(results)
    judge(out.records, thresholds)
    return out


def load_judged(where: Path) -> Results:
    """A stored sweep with its verdicts, computed now under the thresholds it recorded."""
    results = Results.load(where)
    return judged(results, recorded_thresholds(results))


def judge(records: list[Record], thresholds: Thresholds) -> None:
    """Every record's verdicts under ``thresholds``: its own (measured rows only), then those that
    compare rows. The one place sweeps, the plugin, cluster runs and ``judge`` compute them."""
    for record in records:
        record.verdicts = threshold_verdicts(record, thresholds) if record.status == "ok" else {}
    apply_cross_verdicts(records, thresholds)


def describe(name: str, verdict: dict[str, Any]) -> str:
    if verdict["level"] == "n/a":
        return f"{name} {verdict['value']:.4g}: {verdict['why']}"
    ci = verdict.get("ci")
    ci_text = f" (95% CI {ci[0]:.4g}-{ci[1]:.4g})" if ci else ""
    bound = "below" if verdict.get("upper") is False else "over"
    limit = verdict["critical"] if verdict["level"] == "critical" else verdict.get("warning")
    return f"{name} {verdict['value']:.4g}{ci_text} is {bound} the {verdict['level']} threshold {limit}"


# ---- baselines ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BaselineRow:
    id: str
    outcome: str  # one of sequential.OUTCOMES, or missing | new | error
    ratio: float | None = None
    ci: tuple[float, float] | None = None
    p_value: float | None = None
    detectable: float | None = None  # smallest slowdown this comparison would have called a regression
    noise: str = ""  # where the between-sweep noise came from


def recorded_policy(results: Results) -> GatePolicy:
    """The gate policy a sweep was measured under (defaults for sweeps that recorded none)."""
    return GatePolicy(**results.suite.get("gate", {}))


def failing(outcomes: list[str], policy: GatePolicy, strict: bool) -> list[str]:
    """The outcomes that fail a gate: regressions; with ``strict``, inconclusive ones too unless the
    policy lets them pass."""
    bad = {"regression"} | ({"inconclusive"} if strict and policy.inconclusive == "fail" else set())
    return [o for o in outcomes if o in bad]


def baseline_path(fingerprint_key: str, suite: str, directory: Path = BASELINE_DIR) -> Path:
    return directory / f"{suite}--{fingerprint_key}.json"


def save_baseline(results: Results | list[Results], directory: Path = BASELINE_DIR, keep: int = 1) -> Path:
    """Store one sweep, or several identical sweeps (their spread then counts as noise in a compare).

    ``keep`` > 1 adds them to the sweeps the stored baseline already holds and keeps the newest
    ``keep`` per configuration: a nightly job's rolling baseline.
    """
    sweeps = results if isinstance(results, list) else [results]
    first = sweeps[0]
    if not first.platform.get("key"):
        raise InputError("results carry no platform fingerprint: cannot key a baseline")
    for other in sweeps[1:]:
        if (other.platform.get("key"), other.suite.get("name")) != (first.platform.get("key"), first.suite.get("name")):
            raise InputError(
                "a baseline of several sweeps needs one suite on one fingerprint: got "
                f"{first.suite.get('name')!r} on {first.platform.get('key')!r} and "
                f"{other.suite.get('name')!r} on {other.platform.get('key')!r}"
            )
    path = baseline_path(first.platform["key"], first.suite.get("name", "suite"), directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    records: dict[str, Any] = {}
    if keep > 1 and path.is_file():
        stored = load_baseline(path)
        if stored.get("fingerprint", {}).get("key") != first.platform.get("key"):
            raise InputError(f"{path} holds another fingerprint's sweeps: not added to")
        for run_id, entry in stored["records"].items():
            records[run_id] = {"config": entry["config"], "rtf_sweeps": stored_sweeps(entry)}
    for sweep in sweeps:
        for r in sweep.records:
            if r.status == "ok" and r.runs:
                entry = records.setdefault(r.id, {"config": r.config, "rtf_sweeps": []})
                entry["rtf_sweeps"].append([s.rtf for s in r.runs])
    for entry in records.values():
        entry["rtf_sweeps"] = entry["rtf_sweeps"][-max(keep, len(sweeps)) :]
    data = {
        "schema": BASELINE_SCHEMA,
        "saved_utc": utc_now(),
        "suite": first.suite.get("name"),
        "fingerprint": first.platform,
        "git": first.git,
        "sweeps": max(len(e["rtf_sweeps"]) for e in records.values()) if records else 0,
        "records": records,
    }
    path.write_text(json.dumps(data, indent=1, sort_keys=True))
    return path


def stored_sweeps(entry: dict[str, Any]) -> list[list[float]]:
    """A baseline configuration's runs per sweep (files of one sweep kept them as ``rtf_samples``)."""
    sweeps: list[list[float]] = entry.get("rtf_sweeps") or [entry["rtf_samples"]]
    return sweeps


def load_baseline(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise InputError(f"no baseline at {path}: save one with `tts-harness baseline save RESULTS`")
    from harness.schemas import read

    return read("baseline", path)


def compare_to_baseline(
    results: Results,
    baseline: dict[str, Any],
    policy: GatePolicy,
    source: str = "baseline",
    floors: dict[str, NoiseFloor] | None = None,
) -> list[BaselineRow]:
    """Rows per configuration; refuses a baseline of another fingerprint or clock state. The
    between-sweep noise comes from the baseline's own sweeps and the machine's noise ``floors``."""
    theirs = baseline.get("fingerprint", {})
    if theirs.get("key") != results.platform.get("key"):
        raise InputError(
            f"{source} was measured on fingerprint {theirs.get('key')!r}, these results on "
            f"{results.platform.get('key')!r}: timings from different platforms are not compared"
        )
    if theirs.get("clocks_locked") and results.platform.get("clocks_locked") is False:
        raise InputError(
            f"these results were measured with clocks unlocked or throttling; {source} was locked: "
            "lock the clocks (sudo jetson_clocks) and measure again"
        )
    rows: list[BaselineRow] = []
    base_records = baseline["records"]
    for record in sorted(results.records, key=lambda r: r.id):
        base = base_records.get(record.id)
        if record.status != "ok":
            rows.append(BaselineRow(record.id, "error"))
        elif base is None:
            rows.append(BaselineRow(record.id, "new"))
        else:
            candidate = [[s.rtf for s in record.runs]]
            floor = (floors or {}).get(record.id)
            c = compare_repeated(stored_sweeps(base), candidate, policy.min_effect, policy.alpha, policy.power, floor)
            rows.append(
                BaselineRow(
                    record.id,
                    c.outcome,
                    c.ratio,
                    (c.ci_low, c.ci_high) if math.isfinite(c.ci_high) else None,
                    c.p_value,
                    c.detectable if math.isfinite(c.detectable) else None,
                    noise_source(floor, len(stored_sweeps(base)) - 1),
                )
            )
    for missing in sorted(set(base_records) - {r.id for r in results.records}):
        rows.append(BaselineRow(missing, "missing"))
    return rows


COMPARISON_FILE = "comparison.json"
COMPARISON_SCHEMA = "tts-harness/comparison"


def save_comparison(results_dir: Path, rows: list[BaselineRow], policy: GatePolicy, against: str) -> Path:
    """The gate's rows beside the results they judge: ``report`` (JUnit) and ``sync`` (MLflow) show them."""
    from dataclasses import asdict

    path = results_dir / COMPARISON_FILE
    data = {"schema": COMPARISON_SCHEMA, "against": against, "policy": asdict(policy), "saved_utc": utc_now(),
            "rows": [asdict(r) for r in rows]}  # fmt: skip
    path.write_text(json.dumps(data, indent=1))
    return path


def load_comparison(results_dir: Path) -> dict[str, dict[str, Any]]:
    """The saved gate rows of a results folder by configuration id (none saved: empty)."""
    from harness.schemas import read

    path = results_dir / COMPARISON_FILE
    if not path.is_file():
        return {}
    return {row["id"]: row for row in read("comparison", path)["rows"]}


def rows_markdown(rows: list[BaselineRow], policy: GatePolicy) -> str:
    level = f"{1 - policy.alpha:.0%}"
    lines = [
        f"| configuration | outcome | RTF ratio | {level} CI | p | detectable slowdown |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        ci = f"{row.ci[0]:.3f}-{row.ci[1]:.3f}" if row.ci else "-"
        ratio = f"{row.ratio:.3f}" if row.ratio is not None else "-"
        p_value = f"{row.p_value:.3g}" if row.p_value is not None else "-"
        detectable = f"{row.detectable:.1%}" if row.detectable is not None else "-"
        lines.append(f"| {row.id} | {row.outcome} | {ratio} | {ci} | {p_value} | {detectable} |")
    sources = sorted({row.noise for row in rows if row.noise})
    if sources:
        lines += ["", "between-sweep noise: " + "; ".join(sources)]
    return "\n".join(lines)
