"""Command-line options shared by ``run`` and the other subcommands: one definition, one help text."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import replace

from harness.choices import parse_list
from harness.config import NARROWING, SuiteConfig, check_weights
from harness.errors import ConfigError
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
