"""``tts-harness report``: report.html (table + plots), summary.md, junit.xml and the CI job summary.

Several results directories (parts of a split sweep) are merged into one report.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from harness.errors import InputError
from harness.gates import (
    BaselineRow,
    compare_to_baseline,
    judged,
    load_baseline,
    recorded_policy,
    recorded_thresholds,
    rows_markdown,
    save_comparison,
)
from harness.noise import floors_for
from harness.report.plots import all_plots
from harness.report.summary import cost_note, cost_split, markdown, reason, stock_speedups, verdict
from harness.results import Results
from harness.table import Table


def merge(parts: list[Results]) -> Results:
    """One sweep from parts measured on the same kind of machine (same fingerprint key)."""
    if not parts:
        raise InputError("no results to report")
    keys = {p.platform.get("key") for p in parts}
    if len(keys) > 1:
        raise InputError(
            f"parts were measured on different platforms ({', '.join(sorted(map(str, keys)))}): report them separately"
        )
    planned = sorted({run_id for p in parts for run_id in p.suite.get("planned", [])})
    suite = {**parts[0].suite, **({"planned": planned} if planned else {})}
    merged = Results(suite=suite, platform=parts[0].platform, git=parts[0].git, options=parts[0].options)
    for index, part in enumerate(parts, start=1):
        for record in part.records:
            if merged.record(record.id) is not None:
                raise InputError(f"configuration {record.id} appears in more than one part")
            # Parts take each other's builds: the merged record keeps where it was measured.
            record.part = {"index": index, "cuda_visible_devices": part.platform.get("cuda_visible_devices")}
            merged.upsert(record)
    merged.status = "complete" if all(p.status == "complete" for p in parts) else "incomplete"
    merged.created_utc = min(p.created_utc for p in parts)
    merged.finished_utc = max(p.finished_utc for p in parts)
    costs: dict[str, float] = {}
    for part in parts:
        for k, v in part.sweep_cost_s.items():
            costs[k] = costs.get(k, 0.0) + v
    if len(parts) > 1 and costs:  # parts run side by side: the sweep took as long as the longest
        costs["parts"] = float(len(parts))
        costs["elapsed_s"] = max(p.sweep_cost_s.get("wall_s", 0.0) for p in parts)
    merged.sweep_cost_s = costs
    return merged


def _configurations(results: Results) -> dict[str, Any]:
    """The main table: head, and per configuration its cells, row class and audio samples."""
    head = [
        "configuration",
        "verdict",
        "RTF median",
        "95% CI",
        "CV",
        "runs",
        "vs stock",
        "first call s",
        "vocoder share",
        "J / audio s",
        "of peak",
        "quality",
        "why",
    ]
    rows = []
    speedups = stock_speedups(results.records)
    for r in sorted(results.records, key=lambda r: r.id):
        rtf: dict[str, Any] = r.rtf or {}
        stages = r.stages_ms
        share = stages["vocoder"] / stages["total"] if stages.get("total") and "vocoder" in stages else None
        q = r.quality
        quality = ""
        if "fidelity" in q:
            quality = f"MCD {q['fidelity']['mcd_db']:.2f} dB"
        if q.get("asr", {}).get("meaningful"):
            quality += f", WER {q['asr']['wer']:.2f}"
        cells = [
            r.id,
            verdict(r),
            f"{rtf['median']:.4g}" if rtf else "-",
            f"{rtf['ci_low']:.4g}-{rtf['ci_high']:.4g}" if rtf else "-",
            f"{rtf['cv']:.3f}" if rtf else "-",
            str(len(r.runs) or "-"),
            f"{speedups[r.id]:.2f}x" if r.id in speedups else "-",
            f"{r.first_call_s:.3g}" if r.first_call_s is not None else "-",
            f"{share:.3f}" if share is not None else "-",
            f"{r.telemetry['j_per_audio_s']:.3g}" if r.telemetry.get("j_per_audio_s") else "-",
            f"{r.roofline['fraction_of_peak']:.1%}" if "fraction_of_peak" in r.roofline else "-",
            quality or "-",
            reason(r),
        ]
        css = {"FAIL": "fail", "error": "fail", "warning": "warn"}.get(cells[1], "pass")
        rows.append({"cells": cells, "css": css, "samples": list(r.samples)})
    return {"head": head, "rows": rows}


def _cost_section(cost: dict[str, float]) -> Table | None:
    split = cost_split(cost)
    if split is None:
        return None
    phases, wall, outside = split
    return Table(
        title="Sweep cost",
        head=[*(label for label, _ in phases), "wall", "outside timed regions"],
        rows=[[*(f"{v:.1f} s ({v / wall:.0%})" for _, v in phases), f"{wall:.1f} s", f"{outside:.1%}"]],
        after=[cost_note(cost)],
        id="cost",
    )


def _baseline_section(rows: list[BaselineRow]) -> Table:
    return Table(
        title="Against the baseline",
        head=["configuration", "outcome", "RTF ratio", "CI", "detectable slowdown"],
        rows=[
            [
                r.id,
                r.outcome,
                "" if r.ratio is None else f"{r.ratio:.3f}",
                "" if r.ci is None else f"{r.ci[0]:.3f}-{r.ci[1]:.3f}",
                "" if r.detectable is None else f"{r.detectable:.1%}",
            ]
            for r in rows
        ],
        after=sorted({r.noise for r in rows if r.noise}),
        id="baseline",
    )


def _baseline_rows(results: Results, baseline: Path | None) -> list[BaselineRow] | None:
    """Against a baseline under the gate policy the sweep recorded: the same rows `baseline compare` gives."""
    if baseline is None:
        return None
    stored = load_baseline(baseline)  # a baseline asked for and missing is an error, never a silent pass
    floors = floors_for([results], None, baseline.parent)
    return compare_to_baseline(results, stored, recorded_policy(results), str(baseline), floors)


def write_html(results: Results, out: Path, plots: dict[str, Path], rows: list[BaselineRow] | None) -> Path:
    """report.html from an autoescaping template: every value from results.json is data."""
    import jinja2

    from harness import scenarios
    from harness.platform.fingerprint import accelerator_name
    from harness.report.limits import latency_table, roofline_table
    from harness.report.plots import CAPTIONS

    sections = [t for t in (roofline_table(results), latency_table(results)) if t]
    sections += scenarios.tables(results.records)
    if cost := _cost_section(results.sweep_cost_s):
        sections.append(cost)
    sections += [_baseline_section(rows)] if rows else []
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("harness.report", "templates"), autoescape=True, undefined=jinja2.StrictUndefined
    )
    page = env.get_template("report.html.j2").render(
        name=str(results.suite.get("name")),
        count=len(results.records),
        status=results.status,
        machine=accelerator_name(results.platform),
        key=str(results.platform.get("key")),
        clocks_locked=str(results.platform.get("clocks_locked")),
        commit=str(results.git.get("commit")),
        started=results.created_utc,
        finished=results.finished_utc or "-",
        configurations=_configurations(results),
        sections=sections,
        figures=[{"src": _data_uri(p), "caption": CAPTIONS.get(name, name)} for name, p in plots.items()],
    )
    path = out / "report.html"
    path.write_text(page)
    return path


def _data_uri(png: Path) -> str:
    """A plot inside the page: report.html shows its plots wherever it is opened (MLflow's artifact
    viewer renders a page without its folder, so relative links break there)."""
    import base64

    return "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode()


def write_junit(results: Results, out: Path, rows: list[BaselineRow] | None = None) -> Path:
    """A test case per configuration (thresholds), and one per baseline comparison (the gate):
    a regression fails, an inconclusive comparison is skipped with the slowdown it could not rule out."""
    suite = ET.Element("testsuite", name=f"tts-harness.{results.suite.get('name')}")
    failures = errors = skipped = 0
    for r in sorted(results.records, key=lambda r: r.id):
        case = ET.SubElement(
            suite,
            "testcase",
            classname=str(results.suite.get("name")),
            name=r.id,
            time=f"{sum(s.total_s for s in r.runs):.3f}",
        )
        v = verdict(r)
        if v == "error":
            errors += 1
            ET.SubElement(case, "error", message=(r.error or {}).get("message", "")[:500])
        elif v == "FAIL":
            failures += 1
            bad = [k for k, x in r.verdicts.items() if x.get("level") == "critical"]
            ET.SubElement(case, "failure", message=f"critical: {', '.join(bad)}")
    for row in rows or []:
        case = ET.SubElement(suite, "testcase", classname=f"{results.suite.get('name')}.baseline", name=row.id)
        text = "" if row.ratio is None else f"ratio {row.ratio:.4f}, detectable slowdown {row.detectable:.1%}"
        if row.outcome == "regression":
            failures += 1
            ET.SubElement(case, "failure", message=f"regression: {text}")
        elif row.outcome == "inconclusive":
            skipped += 1
            ET.SubElement(case, "skipped", message=f"inconclusive: {text}")
        ET.SubElement(case, "system-out").text = f"{row.outcome}: {text}"
    suite.set("tests", str(len(results.records) + len(rows or [])))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", str(skipped))
    path = out / "junit.xml"
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
    return path


def report(dirs: list[Path], out: Path | None = None, baseline: Path | None = None) -> dict[str, Any]:
    parts = [Results.load(d) for d in dirs]
    out = out or dirs[0]
    for part, folder in zip(parts, dirs, strict=True):  # audio stays in each part's folder: point at it
        prefix = os.path.relpath(folder, out)
        for record in part.records:
            record.samples = [os.path.normpath(os.path.join(prefix, s)) for s in record.samples]
    results = merge(parts) if len(parts) > 1 else parts[0]
    out.mkdir(parents=True, exist_ok=True)
    if len(parts) > 1 or out.resolve() != dirs[0].resolve():
        results.save(out)
    results = judged(results, recorded_thresholds(results))  # verdicts are computed here, when read
    plots = all_plots(results.records, out / "plots", results.suite.get("thresholds"))
    rows = _baseline_rows(results, baseline)
    summary = markdown(results)
    if rows:
        summary += "\n## Against the baseline\n\n" + rows_markdown(rows, recorded_policy(results)) + "\n"
        save_comparison(out, rows, recorded_policy(results), str(baseline))
    (out / "summary.md").write_text(summary)
    page = write_html(results, out, plots, rows)
    junit = write_junit(results, out, rows)
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a") as handle:
            handle.write(summary + "\n")
    return {
        "html": page,
        "summary": out / "summary.md",
        "junit": junit,
        "plots": plots,
        "records": len(results.records),
        "status": results.status,
    }
