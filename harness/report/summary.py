"""The markdown summary table of a sweep (``summary.md``)."""

from __future__ import annotations

from typing import Any

from harness import scenarios
from harness.results import Record, Results
from harness.table import md_cell


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def verdict(record: Record) -> str:
    if record.status != "ok":
        return "error"
    levels = [v.get("level", "good") for v in record.verdicts.values() if isinstance(v, dict)]
    for level in ("critical", "warning"):
        if level in levels:
            return "FAIL" if level == "critical" else "warning"
    return "pass"


def reason(record: Record) -> str:
    """Why a row is not a pass: its error, or the thresholds it is over (empty for a pass)."""
    from harness.gates import describe

    if record.status != "ok":
        return str((record.error or {}).get("message", "error"))
    bad = [describe(name, v) for name, v in record.verdicts.items() if v.get("level") in ("critical", "warning")]
    return "; ".join(bad)


def stock_speedups(records: list[Record]) -> dict[str, float]:
    """Each measured configuration's speed-up over the stock f5-tts row of the same NFE and text set."""
    stock = {
        r.config["nfe"]: r.rtf["median"]
        for r in records
        if r.rtf and r.config.get("pipeline") == "stock" and r.config.get("batch_size", 1) == 1
    }
    return {
        r.id: stock[r.config["nfe"]] / r.rtf["median"]
        for r in records
        if r.rtf and r.config["nfe"] in stock and r.rtf["median"] > 0
    }


def table(results: Results) -> str:
    header = (
        "| configuration | verdict | RTF median [95% CI] | CV | p95 | runs | vs stock | first call s | audio s "
        "| ode ms | vocoder ms | vocoder share | error |"
    )
    speedups = stock_speedups(results.records)
    lines = [header, "|" + "|".join("---" for _ in range(header.count("|") - 1)) + "|"]
    for record in sorted(results.records, key=lambda r: r.id):
        rtf = record.rtf or {}
        stages = record.stages_ms
        share = stages["vocoder"] / stages["total"] if stages.get("total") and "vocoder" in stages else None
        audio = record.runs[0].audio_s if record.runs else None
        ci = f" [{_fmt(rtf.get('ci_low'))}, {_fmt(rtf.get('ci_high'))}]" if rtf else ""
        error = md_cell((record.error or {}).get("message", "")[:120])
        speedup = f"{speedups[record.id]:.2f}x" if record.id in speedups else "-"
        lines.append(
            f"| {md_cell(record.id)} | {verdict(record)} | {_fmt(rtf.get('median'))}{ci} | "
            f"{_fmt(rtf.get('cv'), 2)} | {_fmt(rtf.get('p95'))} | {len(record.runs) or '-'} | {speedup} | "
            f"{_fmt(record.first_call_s, 3)} | "
            f"{_fmt(audio, 3)} | {_fmt(stages.get('ode'), 4)} | {_fmt(stages.get('vocoder'), 3)} | "
            f"{_fmt(share, 2)} | {error} |"
        )
    return "\n".join(lines)


COST_PHASES = (
    ("startup_s", "startup (imports, checks, device init)"),
    ("build_s", "model builds"),
    ("first_call_s", "first calls (compile)"),
    ("warmup_s", "warm-up"),
    ("timed_s", "timed"),
    ("other_s", "other (quality, saving)"),
)


def cost_split(cost: dict[str, float]) -> tuple[list[tuple[str, float]], float, float] | None:
    """(label, seconds) per phase, the wall time and the share outside the timed regions; None
    before a sweep has finished once. For a split sweep the parts' times are added up."""
    wall = cost.get("wall_s")
    if not wall:
        return None
    return [(label, cost.get(key, 0.0)) for key, label in COST_PHASES], wall, 1 - cost.get("timed_s", 0.0) / wall


def cost_note(cost: dict[str, float]) -> str:
    parts = ""
    if "parts" in cost:
        parts = f"; {int(cost['parts'])} parts or workers, times added up; elapsed {cost['elapsed_s']:.1f} s"
    return f"Model builds: {int(cost.get('model_builds', 0))}; processes: {int(cost.get('processes', 1))}{parts}"


def cost_table(cost: dict[str, float]) -> str:
    split = cost_split(cost)
    if split is None:
        return ""
    phases, wall, outside = split
    return "\n".join(
        [
            "## Sweep cost",
            "",
            f"| {' | '.join(label for label, _ in phases)} | wall s | outside timed regions |",
            "|" + "---|" * (len(phases) + 2),
            f"| {' | '.join(f'{v:.1f} ({v / wall:.0%})' for _, v in phases)} | {wall:.1f} | {outside:.1%} |",
            "",
            cost_note(cost),
        ]
    )


def scenario_tables(results: Results) -> str:
    """Throughput by batch size (offline scenario), then each scenario's own section (the server
    scenario's latency percentiles, the load scenario's time to first audio, drops and rate)."""
    out = []
    batched = sorted((r for r in results.records if r.rtf and r.config.get("batch_size", 1) > 1), key=lambda r: r.id)
    if batched:
        singles = {
            (r.config["nfe"], r.config["precision"], r.config["compile_mode"]): r
            for r in results.records
            if r.rtf and r.config.get("batch_size", 1) == 1
        }
        out += [
            "## Offline scenario (batched synthesis)",
            "",
            "| configuration | batch | audio s per wall s | time vs one request |",
            "|---|---|---|---|",
        ]
        for r in batched:
            one = singles.get((r.config["nfe"], r.config["precision"], r.config["compile_mode"]))
            ratio = "-"
            if one is not None and one.stages_ms.get("total"):
                ratio = f"{r.stages_ms['total'] / one.stages_ms['total']:.2f}x"
            out.append(f"| {r.id} | {r.config['batch_size']} | {1 / r.rtf['median']:.1f} | {ratio} |")  # type: ignore[index]
    for table in scenarios.tables(results.records):
        out += ["", table.markdown()]
    return "\n".join(out).strip("\n")


def markdown(results: Results) -> str:
    platform = results.platform
    from harness.platform.fingerprint import accelerator_name

    ok = sum(r.status == "ok" for r in results.records)
    failed = len(results.records) - ok
    head = [
        f"# {md_cell(results.suite.get('name', 'sweep'))}: {ok} measured, {failed} failed ({md_cell(results.status)})",
        "",
        f"- machine: {md_cell(accelerator_name(platform))}; fingerprint `{md_cell(platform.get('key', '?'))}`; "
        f"clocks locked: {md_cell(platform.get('clocks_locked'))}",
        f"- weights: {', '.join(sorted({r.weights_kind for r in results.records if r.weights_kind})) or '-'}"
        f"; clock: {', '.join(sorted({r.clock for r in results.records if r.clock})) or '-'}",
        f"- git: {md_cell(results.git.get('commit', '?'))}{' (dirty)' if results.git.get('dirty') else ''}; "
        f"started {results.created_utc}, finished {results.finished_utc or '-'}",
    ]
    process = results.options.get("process", {})
    compiled = any(r.config.get("compile_mode", "none") != "none" for r in results.records)
    if compiled and "inductor_cache_mib_at_start" in process:
        mib = process["inductor_cache_mib_at_start"]
        if mib:
            state = "kept from earlier runs: compiled graphs may load, not compile"
        elif process.get("compile_artifacts_loaded", {}).get("entries"):
            state = "empty, then filled from the compile artifacts below"
        else:
            state = "empty: a cold sweep"
        head.append(f"- TorchInductor cache at the start: {mib} MiB in `{process['inductor_cache_dir']}` ({state})")
    cost = results.sweep_cost_s
    if compiled and "fxgraph_cache_miss" in cost:
        head.append(
            f"- FX-graph cache over the sweep: {int(cost['fxgraph_cache_hit'])} hits (loaded), "
            f"{int(cost['fxgraph_cache_miss'])} misses (compiled), {int(cost['fxgraph_cache_bypass'])} bypassed"
        )
    loaded, saved = process.get("compile_artifacts_loaded"), results.options.get("compile_artifacts_saved")
    if loaded:
        head.append(
            f"- compile artifacts loaded at the start: {loaded['files']} file(s), {loaded['mib']} MiB, "
            f"{loaded['entries']} entries from `{loaded['dir']}` in {loaded['load_s']} s"
        )
    if saved:
        head.append(f"- compile artifacts saved: `{saved['file']}` ({saved['mib']} MiB, {saved['entries']} entries)")
    missing = sorted(set(results.suite.get("planned", [])) - {r.id for r in results.records})
    if missing:
        head.append(
            f"- not measured yet ({len(missing)}; `tts-harness run --resume` completes them): {', '.join(missing)}"
        )
    from harness.report.limits import latency_table, roofline_table

    sections = (
        *(t.markdown() for t in (roofline_table(results), latency_table(results)) if t),
        scenario_tables(results),
        cost_table(results.sweep_cost_s),
    )
    extra = [part for part in sections if part]
    return "\n".join([*head, "", table(results), "", *(f"{part}\n" for part in extra)])
