"""Command-line options shared by ``run`` and the other subcommands: one definition, one help text."""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from harness.choices import parse_list
from harness.config import NARROWING, SuiteConfig, check_weights
from harness.errors import ConfigError, redact
from harness.tracking.mlflow_sync import DEFAULT_URI

TRACKING_HELP = f"MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else {DEFAULT_URI})"


def csv(kind: Callable[[str], object]) -> Callable[[str], list[object]]:
    """A comma-separated option value, as argparse's ``type``."""

    def parse(text: str) -> list[object]:
        try:
            return parse_list(text, kind)
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


INJECT_HELP = (
    "spend FRACTION of each timed call's time in a busy wait inside the timed region (gate checks; default: 0)"
)


def add_inject_slowdown(parser: argparse.ArgumentParser, help_text: str = INJECT_HELP) -> None:
    parser.add_argument("--inject-slowdown", type=float, default=0.0, metavar="FRACTION", help=help_text)


def add_tracking_uri(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tracking-uri", help=TRACKING_HELP)


def add_narrowing(parser: argparse.ArgumentParser) -> None:
    """The matrix filters (``config.NARROWING``) and the model and weights overrides."""
    for name, (option, keeps) in NARROWING.items():
        parser.add_argument(option, dest=name, type=csv(int if name == "nfe" else str), help=f"keep these {keeps}")
    parser.add_argument("--model", help="run every configuration with this model preset instead of the suite's")
    parser.add_argument("--weights", help="random, hf or path:DIR instead of the suite's weights")


def narrowed_suite(args: argparse.Namespace) -> SuiteConfig:
    """The suite named on the command line, as ``narrow`` makes it."""
    from harness.suite_file import load_suite

    return narrow(load_suite(args.suite), args)


def narrow(suite: SuiteConfig, args: argparse.Namespace) -> SuiteConfig:
    """``suite`` narrowed by ``add_narrowing``'s filters, its model and weights replaced where asked."""
    suite = suite.narrowed(**{name: getattr(args, name) for name in NARROWING})
    changes = {k: v for k, v in (("model", args.model), ("weights", args.weights)) if v is not None}
    if not changes:
        return suite
    if args.weights is not None:
        check_weights(args.weights)
    try:
        runs = tuple(dict.fromkeys(replace(run, **changes) for run in suite.runs))
    except ConfigError as exc:
        raise ConfigError(f"--model/--weights: {exc}") from None
    return replace(suite, runs=runs)


# What shapes the set of configurations and their timings: recorded in results.json, reused by --resume.
PLAN_OPTIONS = (*NARROWING, "model", "weights", "inject_slowdown", "min_time", "cpus")


def _option(name: str) -> str:
    return NARROWING[name][0] if name in NARROWING else "--" + name.replace("_", "-")


def narrowing_arguments(args: argparse.Namespace) -> list[str]:
    """The matrix filters given on the command line, as arguments for another command."""
    return plan_arguments({name: getattr(args, name) for name in NARROWING if getattr(args, name, None)})


def run_plan(args: argparse.Namespace) -> dict[str, object]:
    """The options of this ``run`` that decide what is measured (unset ones left out)."""
    return {name: getattr(args, name) for name in PLAN_OPTIONS if getattr(args, name, None) not in (None, 0.0)}


def adopt_plan(args: argparse.Namespace, recorded: dict[str, object], where: Path) -> None:
    """``--resume``: take the interrupted sweep's recorded plan; an option that says otherwise is refused."""
    for name in PLAN_OPTIONS:
        given, then = getattr(args, name, None), recorded.get(name)
        if given in (None, 0.0):
            setattr(args, name, then if then is not None else given)
        elif given != then:
            planned = "no " + _option(name) if then is None else " ".join(plan_arguments({name: then}))
            raise ConfigError(
                f"--resume {where}: that sweep was planned with {planned}; this command says "
                f"{' '.join(plan_arguments({name: given}))}: leave it out (the recorded plan is reused) "
                "or use another --out"
            )


def plan_arguments(plan: dict[str, object]) -> list[str]:
    """A plan as command-line arguments (for printed hints and the parts of a multi-GPU sweep)."""
    out: list[str] = []
    for name, value in plan.items():
        text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
        out += [_option(name), text]
    return out


def resume_hint(args: argparse.Namespace, out: Path, extra: list[str] | None = None) -> str:
    """The command that completes this ``run``: its plan, its tracking choice, ``extra`` (e.g. --gpus)."""
    words = ["tts-harness", "run", str(args.suite), *(extra or []), "--resume", str(out)]
    words += plan_arguments(run_plan(args))
    if getattr(args, "no_track", False):
        words.append("--no-track")
    elif getattr(args, "tracking_uri", None):
        words += ["--tracking-uri", redact(args.tracking_uri)]
    return shlex.join(words)
