"""Subcommands about comparisons and the gate: baselines, compare, gate-check and ab."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from harness.choices import parse_list
from harness.errors import ConfigError, GateFailure
from harness.gates import BASELINE_DIR
from harness.measure import ready_measurer
from harness.options import (
    TRACKING_HELP,
    add_inject_slowdown,
    add_narrowing,
    csv,
    narrow,
    narrowed_suite,
    narrowing_arguments,
)
from harness.sequential import GatePolicy


def _floats(text: str) -> list[float]:
    return parse_list(text, float, "--slowdown")


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


def gate_policy(args: argparse.Namespace, recorded: GatePolicy) -> GatePolicy:
    """The policy a comparison applies: ``--suite``'s ``[gate]``, else the one the results recorded,
    with ``--min-effect`` over either."""
    from harness.suite_file import load_suite

    policy = load_suite(args.suite).gate if getattr(args, "suite", None) else recorded
    if args.min_effect is not None:
        try:
            policy = replace(policy, min_effect=args.min_effect)
        except ConfigError as exc:
            raise ConfigError(f"--min-effect: {exc}") from None
    return policy


def fail_on(outcomes: dict[str, str], policy: GatePolicy, strict: bool, against: str) -> None:
    """Raise the gate's failure (exit 1) naming the configurations whose outcome fails it."""
    from harness.gates import failing

    bad = [run_id for run_id, outcome in outcomes.items() if failing([outcome], policy, strict)]
    if bad:
        kinds = sorted({outcomes[run_id] for run_id in bad})
        raise GateFailure(f"{len(bad)} configuration(s) {' or '.join(kinds)} against {against}: {', '.join(bad)}")


def cmd_baseline_compare(args: argparse.Namespace) -> int:
    from harness.gates import (
        baseline_path,
        compare_to_baseline,
        load_baseline,
        recorded_policy,
        rows_markdown,
        save_comparison,
    )
    from harness.noise import floors_for
    from harness.results import Results

    results = Results.load(Path(args.results))
    path = (
        Path(args.baseline)
        if args.baseline
        else baseline_path(results.platform.get("key", "?"), results.suite.get("name", "suite"), Path(args.dir))
    )
    policy = gate_policy(args, recorded_policy(results))
    floors = floors_for([results], Path(args.noise) if args.noise else None, path.parent)  # beside the baseline
    rows = compare_to_baseline(results, load_baseline(path), policy, str(path), floors)
    print(rows_markdown(rows, policy))
    if Path(args.results).is_dir():
        save_comparison(Path(args.results), rows, policy, str(path))
    fail_on({r.id: r.outcome for r in rows}, policy, args.strict, str(path))
    return 0


def policy_with_budget(policy: GatePolicy, args: argparse.Namespace) -> GatePolicy:
    """The suite's ``[gate]`` with ``--max-rounds``, ``--max-seconds`` and ``--min-effect`` over it."""
    changes = {
        name: getattr(args, name)
        for name in ("max_rounds", "max_seconds", "min_effect")
        if getattr(args, name, None) is not None
    }
    try:
        return replace(policy, **changes)
    except ConfigError as exc:
        raise ConfigError(f"options: {exc}") from None


def cmd_gate_check(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from harness.ab.interleave import Trial, pipeline_call, power_check, power_table

    suite = narrowed_suite(args)
    policy = policy_with_budget(suite.gate, args)
    if args.trials < 1 or (args.aa_trials is not None and args.aa_trials < 0):
        raise ConfigError("--trials must be >= 1 and --aa-trials >= 0")
    if any(s < 0 for s in args.slowdown):
        raise ConfigError("--slowdown fractions must be >= 0")
    run = suite.runs[0]
    measurer = ready_measurer(suite)
    aa_trials = 2 * args.trials if args.aa_trials is None else args.aa_trials
    total = sum(aa_trials if s == 0 else args.trials for s in args.slowdown)
    started = time.perf_counter()
    call = pipeline_call(measurer, run)
    done: list[Trial] = []

    def save(trial: Trial) -> None:  # after every trial: a run cut short keeps what it measured
        done.append(trial)
        bar.update(1)
        if args.json:
            record = {"config": run.full_id, "policy": asdict(policy), "wall_s": time.perf_counter() - started}
            Path(args.json).write_text(json.dumps({**record, "trials": [t.as_dict() for t in done]}, indent=1))

    with tqdm(total=total, unit="trial", disable=args.no_progress) as bar:
        trials = power_check(call, args.slowdown, args.trials, aa_trials, policy, on_trial=save)
    seconds = time.perf_counter() - started
    print(
        f"{run.full_id}: margin {policy.min_effect:.0%}, alpha {policy.alpha}, power {policy.power:.0%}, "
        f"{policy.min_rounds}-{policy.max_rounds} rounds of A B B A or {policy.max_seconds:g} s per trial"
    )
    print(power_table(trials))
    print(f"{len(trials)} trials in {seconds:.0f} s (prepare and warm-up included)")
    if args.plot:
        from harness.report.plots import power_curve

        print(f"plot: {power_curve(trials, Path(args.plot), policy)}")
    return 0


def cmd_ab(args: argparse.Namespace) -> int:
    """Check everything that can refuse first (revisions, dirty trees, suites, budget); then check out,
    prime compiled graphs and alternate the sides' blocks."""
    import tempfile

    from tqdm import tqdm

    from harness.ab import gate, sides
    from harness.ab.blocks import block_suite, run_block
    from harness.ab.budget import Budget, RoundWatch, check, check_rounds, remembered_cost
    from harness.ab.environment import check_stated, with_environment
    from harness.ab.resident import has_worker
    from harness.ab.sides import cache_dir
    from harness.platform.process import pin_cpus
    from harness.suite_file import load_suite

    repo = Path(sides.git(Path.cwd(), "rev-parse", "--show-toplevel"))
    base = with_environment(sides.resolve("base", args.base, repo, args.allow_dirty), args.base_python, args.base_f5tts)
    head = with_environment(sides.resolve("head", args.head, repo, args.allow_dirty), args.head_python, args.head_f5tts)
    asked = any((args.base_python, args.head_python, args.base_f5tts, args.head_f5tts))
    differs = check_stated(base, head, asked)
    text = sides.same_suite(base, head, args.suite, repo).decode()
    with tempfile.TemporaryDirectory() as tmp:  # the suite, narrowed, must load here before any block runs
        probe = Path(tmp) / "suite.toml"
        probe.write_text(text)
        suite = narrow(load_suite(probe), args)
    policy = policy_with_budget(suite.gate, args)
    if args.inject_slowdown < 0:
        raise ConfigError("--inject-slowdown must be >= 0")
    extra = narrowing_arguments(args)
    said = check_rounds(policy, args.best_effort)
    remembered = remembered_cost(cache_dir(), text, extra)
    if remembered is not None and not said:  # before any block: what the last comparison of this suite here cost
        said = check(Budget(policy, *remembered), "Measured last time on this machine,", args.best_effort)
    if said:
        print(said, file=sys.stderr)
    out = Path(args.resume or args.out or Path("reports/runs") / f"ab-{suite.name}")
    if args.resume:
        state = gate.load_state(out, base, head, text)
    elif (out / gate.AB_FILE).exists():
        raise ConfigError(f"{out} holds an earlier comparison: --resume {out}, or choose another --out")
    else:
        state = gate.new_state(base, head, text, policy, extra, args.inject_slowdown)
    cpus = args.cpus or state["options"].get("cpus")
    if cpus:  # blocks and resident workers inherit it
        pin_cpus(cpus)
        state["options"]["cpus"] = cpus
    out.mkdir(parents=True, exist_ok=True)
    block_path = out / "block-suite.toml"
    overrides = {k: v for k, v in (("model", args.model), ("weights", args.weights)) if v is not None}
    block_path.write_text(block_suite(text, policy, overrides))
    chosen = {"base": sides.checkout(base, repo), "head": sides.checkout(head, repo)}
    print(f"base: {base.label}\nhead: {head.label}\nresults: {out}", file=sys.stderr)
    if differs:
        print("environments differ: " + "; ".join(differs), file=sys.stderr)
    state["environments"] = {"base": base.environment, "head": head.environment, "differ": differs}
    if args.resume:  # a comparison keeps its design (those from before designs had fresh processes)
        kind = state.get("design", {}).get("kind", "process")
    else:
        kind = "process" if args.design == "process" else "resident"
    if kind == "resident" and not all(has_worker(side) for side in chosen.values()):
        if args.design == "resident":
            raise ConfigError("--design resident: a side's tree has no resident worker (harness/ab/worker.py)")
        print("a side has no resident worker (an older revision): a fresh process per block", file=sys.stderr)
        kind = "process"
    state["design"] = {**state.get("design", {}), "kind": kind}
    run = gate.run_clusters if kind == "resident" else gate.run_rounds
    if not args.resume and any(r.compile_mode != "none" for r in suite.runs):
        for name, side in chosen.items():  # compile once per side, untimed: later blocks load the graphs
            run_block(side, block_path, out / "blocks" / f"prime-{name}", extra)
    expected = Budget(policy, *remembered).rounds if remembered else policy.max_rounds
    try:
        with tqdm(total=expected, initial=len(state["rounds"]), unit="round", disable=args.no_progress) as bar:
            watch = RoundWatch(policy, bar, len(state["rounds"]), (text, extra), args.best_effort, out)
            state = run(chosen, state, policy, block_path, out, on_round=watch)
    except KeyboardInterrupt:
        words = ["tts-harness", "ab", args.base, args.head, args.suite, "--resume", str(out), *extra]
        words += [f"--{k.replace('_', '-')}={v}" for k, v in vars(args).items() if k in BUDGET and v is not None]
        if args.inject_slowdown:
            words.append(f"--inject-slowdown={args.inject_slowdown}")
        if cpus:
            words.append(f"--cpus={','.join(map(str, cpus))}")
        print(f"interrupted: rounds so far are in {out}; continue with `{shlex.join(words)}`", file=sys.stderr)
        return 130
    text = gate.markdown(state)
    (out / "summary.md").write_text(text + "\n")
    print(text)
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a") as handle:
            handle.write(text + "\n")
    outcomes = gate.outcomes(state)
    fail_on({k: "regression" if v == "broken" else v for k, v in outcomes.items()}, policy, args.strict, base.spec)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from harness.gates import recorded_policy
    from harness.noise import floors_for
    from harness.report.compare import compare_sweeps, load_sides

    a, b = load_sides(args.a, args.tracking_uri), load_sides(args.b, args.tracking_uri)
    policy = gate_policy(args, recorded_policy(b[0]))
    floors = floors_for([*a, *b], Path(args.noise) if args.noise else None, Path(args.noise_dir))
    from harness.quality.compare import together
    from harness.serving.report import rate_comparison

    made = compare_sweeps(a, b, policy, Path(args.plot) if args.plot else None, floors)
    rates, rate_outcomes = rate_comparison(a, b, policy.min_effect)
    speed = {row.id: (row.result.ratio, row.result.outcome) for row in made.rows}
    quality, quality_outcomes = together(a, b, speed, policy.alpha)
    print(made.text + "".join(f"\n{section}" for section in (rates, quality) if section))
    if args.json:
        Path(args.json).write_text(json.dumps([row.as_dict() for row in made.rows], indent=1))
    outcomes = {row.id: row.result.outcome for row in made.rows} | rate_outcomes | quality_outcomes
    fail_on(outcomes, policy, args.strict, args.a)
    return 0


def cmd_noise_record(args: argparse.Namespace) -> int:
    from harness.noise import floor_of, load_noise_file, record_noise
    from harness.report.compare import load_side

    path = record_noise([load_side(spec) for spec in args.sweeps], Path(args.dir))
    configs = load_noise_file(path)["configs"]
    print(f"noise floor: {path} ({len(configs)} configuration(s))")
    print("| configuration | sweeps recorded | df | sd of a sweep's log median |\n|---|---|---|---|")
    for run_id, groups in sorted(configs.items()):
        floor = floor_of(groups, str(path))
        sweeps = sum(len(g["log_medians"]) for g in groups)
        print(f"| {run_id} | {sweeps} | {floor.df} | {floor.sd:.2%} |")
    return 0


def cmd_bisect(args: argparse.Namespace) -> int:
    """Refuse a bad range before anything runs; then ab steps until the first slow commit is known
    or a step cannot tell."""
    from harness.ab.bisect import Search, ab_step, bisect, commit_range, describe
    from harness.ab.sides import git

    repo = Path(git(Path.cwd(), "rev-parse", "--show-toplevel"))
    good, bad, candidates = commit_range(repo, args.good, args.bad)
    out = Path(args.out or Path("reports/runs") / f"bisect-{Path(args.suite).stem}")
    if (out / "bisect.json").exists():
        raise ConfigError(f"{out} holds an earlier bisect: choose another --out")
    budget = [f"--{k.replace('_', '-')}={v}" for k, v in vars(args).items() if k in BUDGET and v is not None]
    options = narrowing_arguments(args) + budget
    print(f"bisecting {len(candidates)} commit(s) after {good[:10]} up to {bad[:10]}: {out}", file=sys.stderr)
    search = bisect(Search(good, bad, candidates), ab_step(args.suite, args.config, options, repo), out)
    text = describe(search)
    (out / "summary.md").write_text(text + "\n")
    print(text)
    return 0


BUDGET = ("max_rounds", "max_seconds", "min_effect")


def add_budget(parser: argparse.ArgumentParser) -> None:
    """The sequential gate's budget and margin, over the suite's ``[gate]``."""
    parser.add_argument("--max-rounds", type=int, help="rounds before an undecided comparison is inconclusive")
    parser.add_argument("--max-seconds", type=float, help="seconds likewise (default: the [gate]'s)")
    parser.add_argument("--min-effect", type=float, help=MIN_EFFECT_HELP)


MIN_EFFECT_HELP = "the practical margin: slower by more is a regression, within it unchanged (default: the [gate]'s)"


NOISE_HELP = (
    "noise floor file (default: the fingerprint's noise--KEY.json in the folder, if any); one sweep a side "
    "without one is inconclusive"
)


STRICT_HELP = "exit 1 on an inconclusive outcome too, unless the [gate] says inconclusive = 'pass'"


def register(sub: Any) -> None:
    baseline = sub.add_parser("baseline", help="save or compare against a baseline")
    bsub = baseline.add_subparsers(dest="baseline_command", required=True)
    save = bsub.add_parser("save", help="store RESULTS as the baseline of its fingerprint")
    save.add_argument(
        "results",
        nargs="+",
        help="results directory or results.json; several identical sweeps make their spread count as noise",
    )
    save.add_argument("--dir", default=str(BASELINE_DIR), help=f"default: {BASELINE_DIR}")
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
    comp.add_argument("--dir", default=str(BASELINE_DIR), help=f"baselines and noise floors (default: {BASELINE_DIR})")
    comp.add_argument("--noise", metavar="FILE", help=NOISE_HELP.replace("the folder", "the baseline's folder"))
    comp.add_argument("--suite", help="suite whose [gate] policy applies (default: the one the results recorded)")
    comp.add_argument("--min-effect", type=float, help=MIN_EFFECT_HELP)
    comp.add_argument("--strict", action="store_true", help=STRICT_HELP)
    comp.set_defaults(func=cmd_baseline_compare)

    gate = sub.add_parser(
        "gate-check",
        help="how often the sequential gate calls a known, injected slowdown (A/B and A/A in one process)",
    )
    gate.add_argument("suite", help="suite whose first configuration (after narrowing) is measured")
    gate.add_argument(
        "--slowdown", type=_floats, default=[0.0, 0.05, 0.1], help="fractions; 0 is A/A (default: 0,0.05,0.1)"
    )
    gate.add_argument("--trials", type=int, default=20, help="sequential trials per slowdown (default: 20)")
    gate.add_argument("--aa-trials", type=int, help="trials at slowdown 0 (default: twice --trials)")
    add_budget(gate)
    gate.add_argument("--json", help="also write every trial to this JSON file")
    gate.add_argument("--plot", metavar="PNG", help="also draw the power curve into PNG")
    gate.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_narrowing(gate)
    gate.set_defaults(func=cmd_gate_check)

    cmp_ = sub.add_parser(
        "compare",
        help="deltas between two sweeps (directories or MLflow run ids); exits 1 when a configuration regressed",
    )
    cmp_.add_argument("a", help="the baseline: a sweep, or identical sweeps A1,A2 (their spread counts as noise)")
    cmp_.add_argument("b", help="the candidate, likewise")
    cmp_.add_argument("--plot", metavar="PNG", help="also draw every ratio with its interval into PNG")
    cmp_.add_argument("--suite", help="suite whose [gate] policy applies (default: the one B recorded)")
    cmp_.add_argument("--min-effect", type=float, help=MIN_EFFECT_HELP)
    cmp_.add_argument("--strict", action="store_true", help=STRICT_HELP)
    cmp_.add_argument("--json", metavar="FILE", help="also write every compared configuration to FILE as JSON")
    cmp_.add_argument("--noise", metavar="FILE", help=NOISE_HELP)
    cmp_.add_argument(
        "--noise-dir",
        default=str(BASELINE_DIR),
        help=f"where the fingerprint's noise floor is looked up (default: {BASELINE_DIR})",
    )
    cmp_.add_argument("--tracking-uri", help=TRACKING_HELP)
    cmp_.set_defaults(func=cmd_compare)

    noise = sub.add_parser("noise", help="the machine's between-sweep noise floor (identical sweeps)")
    nsub = noise.add_subparsers(dest="noise_command", required=True)
    rec = nsub.add_parser(
        "record", help="add identical sweeps (same commit, suite, fingerprint) to the fingerprint's noise floor"
    )
    rec.add_argument("sweeps", nargs="+", help="two or more results directories of identical code")
    rec.add_argument("--dir", default=str(BASELINE_DIR), help=f"default: {BASELINE_DIR}")
    rec.set_defaults(func=cmd_noise_record)

    bis = sub.add_parser(
        "bisect",
        help="the first commit between GOOD and BAD that made a configuration slower (each step an ab)",
    )
    bis.add_argument("good", help="a revision known fast (an ancestor of BAD)")
    bis.add_argument("bad", help="a revision known slow")
    bis.add_argument("suite", help="suite file or name, read from each side")
    bis.add_argument("--config", help="the configuration to follow (default: the suite's only one after narrowing)")
    bis.add_argument("--out", help="folder of the steps (default: reports/runs/bisect-<suite>)")
    add_budget(bis)
    add_narrowing(bis)
    bis.set_defaults(func=cmd_bisect)

    ab = sub.add_parser(
        "ab",
        help="compare two revisions on this machine: alternating processes, sequential gate; exit 1 on a regression",
    )
    ab.add_argument("base", help="git revision (e.g. the merge base) or a project folder")
    ab.add_argument("head", help="git revision or a project folder (e.g. . for the work tree)")
    ab.add_argument("suite", help="suite file or name, read from each side (it must be the same on both)")
    ab.add_argument("--out", help="results folder (default: reports/runs/ab-<suite name>)")
    ab.add_argument("--resume", metavar="DIR", help="continue an interrupted comparison in DIR")
    for name in ("base", "head"):
        ab.add_argument(
            f"--{name}-python",
            metavar="PYTHON",
            help=f"{name}'s interpreter, e.g. a venv's bin/python (default: this one)",
        )
        ab.add_argument(
            f"--{name}-f5tts",
            metavar="DIR",
            help=f"an f5-tts source tree first on {name}'s path (DIR or DIR/src holds f5_tts)",
        )
    ab.add_argument("--allow-dirty", action="store_true", help="measure a folder with uncommitted changes as it is")
    add_inject_slowdown(ab, "slow head's timed calls by FRACTION (a busy wait: to see the gate catch it; default 0)")
    ab.add_argument("--strict", action="store_true", help=STRICT_HELP)
    ab.add_argument("--no-progress", action="store_true", help="no progress bar")
    ab.add_argument(
        "--cpus",
        type=csv(int),
        metavar="LIST",
        help="run the comparison and every block of both sides on these CPU cores only (e.g. 2,3): "
        "processes then share the host's speed; recorded in ab.json and kept by --resume",
    )
    ab.add_argument(
        "--design",
        choices=("auto", "resident", "process"),
        default="auto",
        help="resident: clusters of worker processes serving several blocks (two-stage design, needs both "
        "sides to have it); process: a fresh process per block; auto: resident where both sides can "
        "(default: auto)",
    )
    ab.add_argument(
        "--best-effort",
        action="store_true",
        help="run even when the budget cannot reach min_rounds, and say what it will be able to see "
        "(default: refuse, exit 2)",
    )
    add_budget(ab)
    add_narrowing(ab)
    ab.set_defaults(func=cmd_ab)
