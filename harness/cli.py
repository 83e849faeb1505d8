"""Console script ``tts-harness``: parse, delegate, turn errors into one line and an exit code."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from harness.config import SuiteConfig
from harness.errors import (
    EXIT_CRASH,
    EXIT_ENVIRONMENT,
    EXIT_INTERRUPTED,
    ConfigError,
    HarnessError,
    Terminated,
    first_line,
    redact,
)
from harness.executors.base import Backend
from harness.options import (
    add_inject_slowdown,
    add_narrowing,
    add_tracking_uri,
    adopt_plan,
    csv,
    narrowed_suite,
    narrowing_arguments,
    resume_hint,
    run_plan,
)
from harness.results import Results
from harness.tracking.mlflow_sync import tracking_uri

_STARTED = time.perf_counter()  # the sweep's cost counts imports and checks from here


def _shard(text: str) -> tuple[int, int]:
    index, _, count = text.partition("/")
    if not (index.isdigit() and count.isdigit()) or not 1 <= int(index) <= int(count):
        raise argparse.ArgumentTypeError(f"--shard wants I/N with 1 <= I <= N, e.g. 2/4; got {text!r}")
    return int(index), int(count)


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"want a number of seconds > 0; got {text!r}")
    return value


def cmd_run(args: argparse.Namespace) -> int:
    from harness.gates import judged
    from harness.report.summary import markdown
    from harness.sweep import Sweep, SweepOptions
    from harness.tracking.live import LiveTracking

    if args.resume:  # the interrupted sweep's narrowing and options, not this command's defaults
        adopt_plan(args, recorded_plan(Path(args.resume)), Path(args.resume))
    suite = narrowed_suite(args)
    if args.min_time is not None:
        try:
            suite = replace(suite, timing=replace(suite.timing, min_time_s=args.min_time))
        except ConfigError as exc:
            raise ConfigError(f"--min-time: {exc}") from None
    if args.shard and args.gpus:
        raise ConfigError("--gpus splits the sweep itself: leave out --shard")
    if args.shard:
        suite = suite.shard(*args.shard)
    if args.ids:  # a worker of `run --gpus`: one build group
        suite = only(suite, args.ids)
    out = Path(args.resume or args.out or Path("reports/runs") / suite.name)
    if args.inject_slowdown < 0:
        raise ConfigError("--inject-slowdown must be >= 0")
    if args.cpus and (args.gpus or args.ray):
        raise ConfigError("--cpus pins one process: with --gpus each worker gets its GPU's share of the cores")
    backend, where = executor(args, out, suite)
    track = not (args.no_track or os.environ.get("TTS_HARNESS_NO_TRACK"))
    live = LiveTracking(out, tracking_uri(args.tracking_uri)) if track else None
    options = SweepOptions(out, resume=bool(args.resume), retry_failed=args.retry_failed,
                           progress=not args.no_progress, inject_slowdown=args.inject_slowdown,
                           plan=run_plan(args))  # fmt: skip
    try:
        results = Sweep(suite, backend, options, after_each=live).run(process_start=_STARTED)
    except KeyboardInterrupt:
        hint = resume_hint(args, out, where)
        print(f"interrupted: finished configurations are kept in {out}; complete them with `{hint}`", file=sys.stderr)
        return 130
    text = markdown(judged(results, suite.thresholds))
    (out / "summary.md").write_text(text)
    print(text)
    lost = results.options.get("cluster", {}).get("lost", [])
    print(f"results: {out / 'results.json'}" + (f" ({backend.name}: {len(lost)} group(s) lost and submitted again)"
                                                 if where else ""))  # fmt: skip
    if live is not None and live.where:
        print(f"MLflow: {live.where} (--no-track: none)")
    if results.status == "stopped":
        _say_stopped(results.options.get("stop_reason", "stopped"), resume_hint(args, out, where))
    failed = [r for r in results.records if r.status != "ok"]
    return 1 if failed and args.strict else 0


def executor(args: argparse.Namespace, out: Path, suite: SuiteConfig) -> tuple[Backend, list[str]]:
    """What measures the sweep's build groups: this process, this host's GPUs (``--gpus``) or a Ray
    cluster (``--ray``); and the options a resume repeats to use it again."""
    if args.ray:
        from harness.executors.ray_backend import RayBackend, check_ray_options, parse_resources

        check_ray_options(args)
        cuda = any(run.device.startswith("cuda") for run in suite.runs)
        resources = parse_resources(args.ray_resources)
        ray = RayBackend(args.ray, resources, cuda, telemetry=not args.no_telemetry,
                         inject_slowdown=args.inject_slowdown)  # fmt: skip
        return ray, ["--ray", args.ray]
    if args.gpus:
        from harness.executors.local_gpus import LocalGpus

        gpus = args.gpus[: len(suite.build_groups())]
        if len(gpus) < len(args.gpus):
            logging.getLogger(__name__).warning("only %d model builds: using GPUs %s", len(gpus), ",".join(gpus))
        return LocalGpus(args.suite, gpus, out, _passed_on(args), args.time_limit), ["--gpus", ",".join(args.gpus)]
    from harness.executors.in_process import InProcess
    from harness.measure import MeasureOptions

    if args.cpus:
        from harness.platform.process import pin_cpus

        pin_cpus(args.cpus)
    measure = MeasureOptions(out_dir=out, inject_slowdown=args.inject_slowdown, telemetry=not args.no_telemetry,
                             save_audio=not args.no_audio)  # fmt: skip
    return InProcess(suite, measure, progress=not args.no_progress, time_limit_s=args.time_limit,
                     compile_artifacts=artifacts_file(args), process_start=_STARTED), []  # fmt: skip


def recorded_plan(folder: Path) -> dict[str, object]:
    """The plan an interrupted sweep recorded: in its results.json, or a multi-GPU sweep's first part's."""
    for candidate in (folder, *sorted(folder.glob("part*"))):
        if (candidate / "results.json").is_file():
            plan: dict[str, object] = Results.load(candidate).options.get("plan", {})
            return plan
    return {}  # nothing recorded there: the sweep itself says there is nothing to resume


def artifacts_file(args: argparse.Namespace) -> Path | None:
    """This process's file in ``--compile-artifacts DIR``: one per part of a split sweep."""
    if not args.compile_artifacts:
        return None
    name = f"part{args.shard[0]}of{args.shard[1]}.bin.gz" if args.shard else "sweep.bin.gz"
    return Path(args.compile_artifacts) / name


def _passed_on(args: argparse.Namespace) -> list[str]:
    """The options of ``run`` that every worker of a multi-GPU sweep repeats."""
    extra = [f"--inject-slowdown={args.inject_slowdown}"] if args.inject_slowdown else []
    for name in ("min_time", "compile_artifacts", "model", "weights"):
        if getattr(args, name) is not None:
            extra.append(f"--{name.replace('_', '-')}={getattr(args, name)}")
    for flag in ("no_telemetry", "no_audio"):
        if getattr(args, flag):
            extra.append("--" + flag.replace("_", "-"))
    return extra + narrowing_arguments(args)


def only(suite: SuiteConfig, ids: list[str]) -> SuiteConfig:
    """``suite`` cut to the configurations ``ids`` names (all of them must be there)."""
    missing = sorted(set(ids) - {run.id for run in suite.runs})
    if missing:
        raise ConfigError(f"--ids: no configuration {missing[0]!r} in {suite.name} (after narrowing)")
    return replace(suite, runs=tuple(run for run in suite.runs if run.id in set(ids)))


def _say_stopped(reason: str, resume_command: str) -> None:
    print(f"{reason}: `{resume_command}` completes the sweep in a fresh process", file=sys.stderr)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tts-harness")
    except PackageNotFoundError:  # a source tree that was never installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tts-harness",
        description="Benchmarks and regression gates for F5-TTS + Vocos: sweeps, comparisons, reports.",
        epilog="`tts-harness COMMAND --help` for a command's options; docs/cli.md lists them all.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run every configuration of a suite and write results.json")
    run.add_argument("suite", help="suite TOML file, or a name under suites/ (e.g. smoke)")
    run.add_argument("--out", help="results directory (default: reports/runs/<suite name>)")
    run.add_argument("--resume", metavar="DIR", help="complete an interrupted sweep in DIR")
    add_inject_slowdown(run)
    run.add_argument("--retry-failed", action="store_true", help="with --resume: measure errored configurations again")
    run.add_argument("--strict", action="store_true", help="exit 1 when a configuration failed")
    run.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_tracking_uri(run)
    run.add_argument("--no-track", action="store_true", help="do not log to MLflow (results.json is always written)")
    run.add_argument("--no-telemetry", action="store_true", help="no clock/power sampling beside timed runs")
    run.add_argument("--no-audio", action="store_true", help="do not keep a WAV of each configuration")
    run.add_argument(
        "--shard",
        type=_shard,
        metavar="I/N",
        help="measure part I of N (one process per GPU with CUDA_VISIBLE_DEVICES; `report` merges the parts)",
    )
    run.add_argument("--ids", type=csv(str), help=argparse.SUPPRESS)  # set by --gpus for its workers
    run.add_argument(
        "--min-time",
        type=float,
        metavar="S",
        help="time at least S seconds per configuration (the suite's [timing] min_time_s; more runs, tighter CIs)",
    )
    run.add_argument(
        "--time-limit",
        type=_positive,
        metavar="S",
        help="start no configuration expected to end later than S seconds after the start (compile "
        "estimates scaled by the compiles seen so far); `--resume` measures the rest",
    )
    run.add_argument(
        "--compile-artifacts",
        metavar="DIR",
        help="hot-load torch.compiler cache artifacts from DIR before the sweep and save this process's "
        "there after it: compiled graphs travel with results to machines with an empty TorchInductor cache",
    )
    run.add_argument(
        "--cpus",
        type=csv(int),
        metavar="LIST",
        help="run this process on these CPU cores only (e.g. 3 or 2,3): fresh processes of the same code "
        "then share the host's speed; recorded with the results (cpu_affinity)",
    )
    run.add_argument(
        "--gpus",
        type=csv(str),
        metavar="LIST",
        help="spread the model-build groups over these GPUs, a worker process each at a time (e.g. 0,1,2,3); "
        "one results.json in OUT, worker logs in OUT/workers",
    )
    run.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="spread the model-build groups over a Ray cluster (e.g. 127.0.0.1:6379; auto: RAY_ADDRESS); "
        "run it in a network namespace of its own (docs/cluster.md)",
    )
    run.add_argument(
        "--ray-resources", metavar="JSON", help="custom resources each group needs, e.g. '{\"jetson_orin\": 1}'"
    )
    add_narrowing(run)
    run.set_defaults(func=cmd_run)

    from harness import commands

    commands.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminated) if main_thread else None
    try:
        code: int = args.func(args)
        return code
    except HarnessError as exc:
        print(f"tts-harness: error: {redact(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("tts-harness: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except MemoryError:
        print("tts-harness: environment: out of memory", file=sys.stderr)
        return EXIT_ENVIRONMENT
    except OSError as exc:  # disk full, a folder not writable, a file vanished: the machine, not the input
        print(f"tts-harness: environment: {redact(first_line(exc))}", file=sys.stderr)
        return EXIT_ENVIRONMENT
    except Exception as exc:  # a bug: its traceback for the report, and an exit code no gate uses
        traceback.print_exc()
        said = f"tts-harness: internal error: {redact(first_line(exc))} (exit {EXIT_CRASH}: a bug, not a verdict)"
        print(said, file=sys.stderr)
        return EXIT_CRASH
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _terminated(signum: int, frame: object) -> None:
    raise Terminated()
