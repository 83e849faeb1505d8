"""Subcommands beyond ``run``: baselines, vocoder export, preflight."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness.config import parse_list
from harness.errors import ConfigError, GateFailure


def _floats(text: str) -> list[float]:
    return parse_list(text, float, "--slowdown")


def _ints(text: str) -> list[int]:
    return parse_list(text, int, "--repeats")


def cmd_baseline_save(args: argparse.Namespace) -> int:
    from harness.gates import save_baseline
    from harness.results import Results

    sweeps = [Results.load(Path(r)) for r in args.results]
    if args.keep < 1:
        raise ConfigError("--keep must be >= 1")
    path = save_baseline(sweeps, Path(args.dir), keep=args.keep)
    held = json.loads(path.read_text())["sweeps"]
    print(f"baseline saved: {path} ({held} sweep{'s' if held != 1 else ''} per configuration at most)")
    return 0


def cmd_baseline_compare(args: argparse.Namespace) -> int:
    from harness.config import Thresholds, load_suite
    from harness.gates import baseline_path, compare_to_baseline, load_baseline, rows_markdown
    from harness.results import Results

    results = Results.load(Path(args.results))
    path = (
        Path(args.baseline)
        if args.baseline
        else baseline_path(results.platform.get("key", "?"), results.suite.get("name", "suite"), Path(args.dir))
    )
    thresholds = load_suite(args.suite).thresholds if args.suite else Thresholds()
    if args.min_effect is not None:
        thresholds = replace(thresholds, min_effect=args.min_effect)
    rows = compare_to_baseline(results, load_baseline(path), thresholds, source=str(path))
    print(rows_markdown(rows))
    regressions = [r.id for r in rows if r.verdict == "regression"]
    if regressions:
        raise GateFailure(f"{len(regressions)} regression(s) against {path}: {', '.join(regressions)}")
    return 0


def cmd_export_vocoder(args: argparse.Namespace) -> int:
    from harness.vocoders.export import export_onnx

    report = export_onnx(Path(args.out), model=args.model, weights=args.weights, opset=args.opset)
    print(json.dumps(report, indent=1))
    return 0


def cmd_preflight(args: argparse.Namespace) -> int:
    from harness.platform.preflight import preflight_text, run_preflight

    checks = run_preflight(require_power_mode=args.power_mode)
    print(preflight_text(checks))
    if args.policy == "fail" and any(c.level == "critical" for c in checks):
        raise GateFailure("preflight failed: see the critical checks above")
    return 0


def _ready_runner(suite: Any) -> Any:
    """A runner for tools that measure outside a sweep: inputs checked, process settings applied."""
    from harness.runner import Runner, RunOptions

    runner = Runner(suite, RunOptions(out_dir=Path("."), save_audio=False, progress=False, telemetry=False))
    runner.validate_inputs()
    runner.apply_process_settings()
    return runner


def cmd_gate_check(args: argparse.Namespace) -> int:
    from harness import gatecheck
    from harness.config import load_suite

    suite = load_suite(args.suite)
    runner = _ready_runner(suite)
    repeats = args.repeats or [suite.timing.repeats]
    trials = gatecheck.check(runner, suite.runs[0], args.slowdown, repeats, args.trials)
    print(f"{suite.runs[0].id}, min effect {suite.thresholds.min_effect:.0%}, alpha {suite.thresholds.alpha}")
    print(gatecheck.table(trials))
    if args.json:
        Path(args.json).write_text(json.dumps(gatecheck.as_dicts(trials), indent=1))
    return 0


def cmd_profile(args: argparse.Namespace) -> int:
    import logging

    from harness.cli import narrowed_suite
    from harness.profile import profile

    suite = narrowed_suite(args)
    run = suite.runs[0]
    if len(suite.runs) > 1:
        logging.getLogger(__name__).warning(
            "profiling the first of %d configurations, %s: narrow with --nfe, --precision, --compile ...",
            len(suite.runs),
            run.id,
        )
    if args.calls < 1:
        raise ConfigError("--calls must be >= 1")
    runner = _ready_runner(suite)
    made = profile(runner, run, args.calls, Path(args.out))
    print(f"{run.id}: {made['seconds_per_call']:.3f} s per call\n{made['table']}")
    print(f"trace: {made['trace']} (Perfetto or chrome://tracing); table: {made['ops']}")
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    import os

    from harness.tracking.mlflow_sync import sync

    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")  # fail in seconds, not minutes
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    for directory in args.dirs:
        done = sync(Path(directory), args.tracking_uri)
        print(
            f"{directory}: {done['logged']} configuration(s) logged, {done['skipped']} already there "
            f"(experiment {done['experiment']}, parent run {done['parent_run']}, {done['uri']})"
        )
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from harness.report.html import report

    made = report(
        [Path(d) for d in args.dirs],
        Path(args.out) if args.out else None,
        Path(args.baseline) if args.baseline else None,
    )
    print(
        f"report: {made['html']} ({made['records']} configurations, {len(made['plots'])} plots); "
        f"{made['summary']}; {made['junit']}"
    )
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from harness.report.compare import compare_sweeps, load_sides

    a, b = load_sides(args.a, args.tracking_uri), load_sides(args.b, args.tracking_uri)
    print(compare_sweeps(a, b, args.min_effect, plot=Path(args.plot) if args.plot else None))
    return 0


def register(sub: Any) -> None:
    from harness.cli import add_narrowing

    baseline = sub.add_parser("baseline", help="save or compare against a baseline")
    bsub = baseline.add_subparsers(dest="baseline_command", required=True)
    save = bsub.add_parser("save", help="store RESULTS as the baseline of its fingerprint")
    save.add_argument(
        "results",
        nargs="+",
        help="results directory or results.json; several identical sweeps make their spread count as noise",
    )
    save.add_argument("--dir", default="reports/baselines", help="default: reports/baselines")
    save.add_argument(
        "--keep",
        type=int,
        default=1,
        metavar="N",
        help="add to the stored baseline's sweeps and keep the newest N (a rolling baseline; default 1: replace)",
    )
    save.set_defaults(func=cmd_baseline_save)
    comp = bsub.add_parser("compare", help="compare RESULTS with the baseline of its fingerprint")
    comp.add_argument("results", help="results directory or results.json")
    comp.add_argument("--baseline", help="baseline file (default: the one keyed by the fingerprint)")
    comp.add_argument("--dir", default="reports/baselines", help="default: reports/baselines")
    comp.add_argument("--suite", help="suite whose thresholds (min_effect, alpha) apply")
    comp.add_argument("--min-effect", type=float, help="smallest slowdown called a regression (default: 0.05)")
    comp.set_defaults(func=cmd_baseline_compare)

    export = sub.add_parser("export-vocoder", help="export Vocos to ONNX and validate it against PyTorch")
    export.add_argument("--out", required=True, help="output directory")
    export.add_argument("--model", default="f5tts_v1_base", help="model preset (default: f5tts_v1_base)")
    export.add_argument("--weights", default="hf", help="random, hf or path:<dir> (default: hf)")
    export.add_argument("--opset", type=int, default=17, help="ONNX opset (default: 17)")
    export.set_defaults(func=cmd_export_vocoder)

    gate = sub.add_parser("gate-check", help="interleaved A/A and A/B runs with a real injected slowdown")
    gate.add_argument("suite", help="suite whose first configuration is measured")
    gate.add_argument("--slowdown", type=_floats, default=[0.10], help="fractions, e.g. 0.05,0.1 (default: 0.1)")
    gate.add_argument("--repeats", type=_ints, help="repetition counts to try (default: the suite's)")
    gate.add_argument("--trials", type=int, default=1, help="trials per setting (default: 1)")
    gate.add_argument("--json", help="also write the trials to this JSON file")
    gate.set_defaults(func=cmd_gate_check)

    sync = sub.add_parser("sync", help="log finished sweeps to MLflow (idempotent)")
    sync.add_argument("dirs", nargs="+", help="results directories")
    sync.add_argument("--tracking-uri", help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI or reports/mlflow.db)")
    sync.set_defaults(func=cmd_sync)

    rep = sub.add_parser("report", help="report.html, summary.md, junit.xml and plots for one or more results dirs")
    rep.add_argument("dirs", nargs="+", help="results directories (several: merged into one report)")
    rep.add_argument("--out", help="output directory (default: the first results directory)")
    rep.add_argument("--baseline", help="baseline file to show deltas against (default: none)")
    rep.set_defaults(func=cmd_report)

    cmp_ = sub.add_parser("compare", help="deltas between two sweeps (directories or MLflow run ids)")
    cmp_.add_argument("a", help="the baseline: a sweep, or identical sweeps A1,A2 (their spread counts as noise)")
    cmp_.add_argument("b", help="the candidate, likewise")
    cmp_.add_argument("--plot", metavar="PNG", help="also draw every ratio with its interval into PNG")
    cmp_.add_argument(
        "--min-effect", type=float, default=0.05, help="smallest change called slower/faster (default: 0.05)"
    )
    cmp_.add_argument(
        "--tracking-uri", help="MLflow URI for run ids (default: $MLFLOW_TRACKING_URI or reports/mlflow.db)"
    )
    cmp_.set_defaults(func=cmd_compare)

    prof = sub.add_parser("profile", help="torch.profiler trace and operator table of one configuration")
    prof.add_argument("suite", help="suite TOML file or name; the first configuration after narrowing is profiled")
    prof.add_argument("--calls", type=int, default=3, help="syntheses profiled after the warm-up (default 3)")
    prof.add_argument("--out", default="reports/runs/profile", help="default: reports/runs/profile")
    add_narrowing(prof)
    prof.set_defaults(func=cmd_profile)

    pre = sub.add_parser("preflight", help="check clocks, power mode, temperature and load")
    pre.add_argument("--policy", choices=("fail", "warn", "tag"), default="warn", help="default: warn")
    pre.add_argument("--power-mode", help="required power mode, e.g. MAXN (default: any)")
    pre.set_defaults(func=cmd_preflight)
