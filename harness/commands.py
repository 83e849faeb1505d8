"""Subcommands beyond ``run``: baselines, vocoder export, preflight."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, GateFailure
from harness.measure import ready_measurer
from harness.options import TRACKING_HELP, add_narrowing, narrowed_suite
from harness.schemas import KINDS


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


def cmd_profile(args: argparse.Namespace) -> int:
    import logging

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
    measurer = ready_measurer(suite)
    made = profile(measurer, run, args.calls, Path(args.out))
    print(f"{run.id}: {made['seconds_per_call']:.3f} s per call\n{made['table']}")
    print(f"trace: {made['trace']} (Perfetto or chrome://tracing); table: {made['ops']}")
    return 0


def cmd_sync(args: argparse.Namespace) -> int:

    from harness.tracking.mlflow_sync import run_url, sync

    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")  # fail in seconds, not minutes
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    for directory in args.dirs:
        done = sync(Path(directory), args.tracking_uri)
        print(
            f"{directory}: {done['logged']} configuration(s) logged, {done['skipped']} already there: "
            f"{run_url(done['uri'], done['experiment'], done['parent_run'])}"
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


def cmd_judge(args: argparse.Namespace) -> int:
    """A stored sweep judged again: with another suite's thresholds, or with its own (nothing is
    measured and results.json is not changed); exit 1 when a configuration fails a threshold."""
    from harness.gates import judged, recorded_thresholds
    from harness.report.summary import table
    from harness.results import Results
    from harness.suite_file import load_suite

    results = Results.load(Path(args.dir))
    thresholds = load_suite(args.suite).thresholds if args.suite else recorded_thresholds(results)
    again = judged(results, thresholds)
    print(table(again))
    failed = [r.id for r in again.records if any(v.get("level") == "critical" for v in r.verdicts.values())]
    if failed:
        raise GateFailure(f"{len(failed)} configuration(s) over a critical threshold: {', '.join(failed)}")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from harness.schemas import schema_text

    print(schema_text(args.kind), end="")
    return 0


def register(sub: Any) -> None:
    from harness import gate_commands
    from harness.serving import commands as serving_commands

    gate_commands.register(sub)
    serving_commands.register(sub)
    export = sub.add_parser("export-vocoder", help="export Vocos to ONNX and validate it against PyTorch")
    export.add_argument("--out", required=True, help="output directory")
    export.add_argument("--model", default="f5tts_v1_base", help="model preset (default: f5tts_v1_base)")
    export.add_argument("--weights", default="hf", help="random, hf or path:<dir> (default: hf)")
    export.add_argument("--opset", type=int, default=17, help="ONNX opset (default: 17)")
    export.set_defaults(func=cmd_export_vocoder)

    sync = sub.add_parser("sync", help="log finished sweeps to MLflow (idempotent)")
    sync.add_argument("dirs", nargs="+", help="results directories")
    sync.add_argument("--tracking-uri", help=TRACKING_HELP)
    sync.set_defaults(func=cmd_sync)

    rep = sub.add_parser("report", help="report.html, summary.md, junit.xml and plots for one or more results dirs")
    rep.add_argument("dirs", nargs="+", help="results directories (several: merged into one report)")
    rep.add_argument("--out", help="output directory (default: the first results directory)")
    rep.add_argument("--baseline", help="baseline file to show deltas against (default: none)")
    rep.set_defaults(func=cmd_report)

    prof = sub.add_parser("profile", help="torch.profiler trace and operator table of one configuration")
    prof.add_argument("suite", help="suite TOML file or name; the first configuration after narrowing is profiled")
    prof.add_argument("--calls", type=int, default=3, help="syntheses profiled after the warm-up (default 3)")
    prof.add_argument("--out", default="reports/runs/profile", help="default: reports/runs/profile")
    add_narrowing(prof)
    prof.set_defaults(func=cmd_profile)

    judge = sub.add_parser("judge", help="judge a stored sweep again, e.g. with a new suite's thresholds")
    judge.add_argument("dir", help="results directory")
    judge.add_argument("--suite", help="take the thresholds of this suite file or name (default: the sweep's own)")
    judge.set_defaults(func=cmd_judge)

    sch = sub.add_parser("schema", help="the JSON Schema of a file the harness reads (for editors and tools)")
    sch.add_argument("kind", choices=KINDS, help="which file")
    sch.set_defaults(func=cmd_schema)

    pre = sub.add_parser("preflight", help="check clocks, power mode, temperature and load")
    pre.add_argument("--policy", choices=("fail", "warn", "tag"), default="warn", help="default: warn")
    pre.add_argument("--power-mode", help="required power mode, e.g. MAXN (default: any)")
    pre.set_defaults(func=cmd_preflight)
