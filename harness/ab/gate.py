"""``tts-harness ab BASE HEAD SUITE``: two code revisions on one machine, in one job.

Blocks alternate base, head, head, base (a round); every round gives each configuration one
paired log ratio of head's RTF over base's, and each configuration's sequential test stops it at an
outcome or at the budget. ABBA order cancels drift that is linear over a round; fresh processes
make per-process offsets noise. ``ab.json`` is rewritten after every block, so an interrupted
comparison resumes (``--resume OUT``) with the rounds it had.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from harness.ab.blocks import Block, run_block
from harness.ab.design import PILOT_CLUSTERS, PILOT_ROUNDS, Components, components
from harness.ab.resident import start_group, stop_group
from harness.ab.sides import Side
from harness.errors import ConfigError, InputError
from harness.results import utc_now
from harness.sequential import Decision, GatePolicy, SequentialTest, round_log_ratio

AB_SCHEMA = "tts-harness/ab"
AB_FILE = "ab.json"
ORDER = ("base", "head", "head", "base")


def _save(state: dict[str, Any], out: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=out, prefix=".ab-", suffix=".json")
    with os.fdopen(fd, "w") as handle:
        json.dump(state, handle, indent=1)
    os.replace(tmp, out / AB_FILE)


def new_state(
    base: Side, head: Side, suite_text: str, policy: GatePolicy, extra: list[str], inject: float
) -> dict[str, Any]:
    return {
        "schema": AB_SCHEMA,
        "schema_version": 1,
        "base": base.as_dict(),
        "head": head.as_dict(),
        "suite_sha256": hashlib.sha256(suite_text.encode()).hexdigest(),
        "policy": asdict(policy),
        "options": {"narrowing": extra, "inject_slowdown": inject},
        "created_utc": utc_now(),
        "finished_utc": "",
        "status": "running",
        "measure_s": 0.0,
        "rounds": [],
        "configs": {},
    }


def read_state(path: Path) -> dict[str, Any]:
    """A comparison's ab.json, checked against its schema (``schemas.AbFile``)."""
    from harness.schemas import read

    return read("ab", path)


def load_state(out: Path, base: Side, head: Side, suite_text: str) -> dict[str, Any]:
    """An interrupted comparison's state; refuses one of other sides or another suite."""
    path = out / AB_FILE
    if not path.is_file():
        raise InputError(f"no {AB_FILE} in {out}: nothing to resume")
    state = read_state(path)
    then = (state["base"]["commit"], state["head"]["commit"], state["suite_sha256"])
    now = (base.commit, head.commit, hashlib.sha256(suite_text.encode()).hexdigest())
    if then != now:
        raise ConfigError(f"{path} compared other commits or another suite: start a new comparison with another --out")
    return state


def _decided(state: dict[str, Any]) -> bool:
    configs = state["configs"]
    return bool(configs) and all(c["decision"]["stopped_by"] or c.get("error") for c in configs.values())


def _going_on(state: dict[str, Any], policy: GatePolicy) -> bool:
    """Another round (or cluster): something is undecided and the budget of rounds and seconds holds
    it whole (a CI job's timeout set to ``--max-seconds`` is not overrun by one last observation)."""
    rounds = state["rounds"]
    within = len(rounds) < policy.max_rounds and state["measure_s"] + _next_s(state) <= policy.max_seconds
    return within and not _decided(state)


def _next_s(state: dict[str, Any]) -> float:
    """Seconds the next observation is expected to take: the design's cluster once chosen, else the
    last observation's (0 before the first: it always runs, and measures the cost)."""
    design = state.get("design", {})
    if "cluster_s" in design:
        return float(design["cluster_s"])
    return sum(b["seconds"] for b in state["rounds"][-1]["blocks"]) if state["rounds"] else 0.0


def run_rounds(
    sides: dict[str, Side],
    state: dict[str, Any],
    policy: GatePolicy,
    suite: Path,
    out: Path,
    on_round: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Rounds of blocks until every configuration has an outcome or the budget is spent."""
    tests = _tests_from(state, policy)
    extra, inject = state["options"]["narrowing"], state["options"]["inject_slowdown"]
    while _going_on(state, policy):
        number = len(state["rounds"])
        blocks: list[Block] = []
        for position, name in enumerate(ORDER):
            folder = out / "blocks" / f"r{number:03d}-{position}-{name}"
            block = run_block(sides[name], suite, folder, extra, inject if name == "head" else 0.0)
            blocks.append(block)
            state["measure_s"] += block.seconds
        state["rounds"].append(_round(blocks, tests, state, policy))
        _save(state, out)
        if on_round:
            on_round(state)
    return _finish(state, policy, out)


def _tests_from(state: dict[str, Any], policy: GatePolicy) -> dict[str, SequentialTest]:
    """Each configuration's test with the observations it had (a resumed comparison goes on)."""
    tests: dict[str, SequentialTest] = {}
    for past in state["rounds"]:
        for run_id, log_ratio in past["log_ratios"].items():
            tests.setdefault(run_id, SequentialTest(policy)).add(log_ratio)
    for config in state["configs"].values():  # an earlier budget's end is not an outcome: go on
        if config["decision"].get("stopped_by") in ("rounds", "seconds"):
            config["decision"]["stopped_by"] = ""
    state["status"] = "running"
    return tests


def _finish(state: dict[str, Any], policy: GatePolicy, out: Path) -> dict[str, Any]:
    for config in state["configs"].values():  # the budget ended what had no outcome yet
        if not config["decision"]["stopped_by"] and not config.get("error"):
            reason = "rounds" if len(state["rounds"]) >= policy.max_rounds else "seconds"
            config["decision"]["stopped_by"] = reason
    state["status"] = "complete"
    state["finished_utc"] = utc_now()
    _save(state, out)
    return state


def run_clusters(
    sides: dict[str, Side],
    state: dict[str, Any],
    policy: GatePolicy,
    suite: Path,
    out: Path,
    on_round: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Clusters of resident workers (``design``) until every configuration has an outcome or the
    budget is spent: each cluster starts four workers (base, head, head, base), serves ``k`` rounds
    of blocks in that order and gives each configuration's test one value, the mean of its rounds'
    log ratios."""
    tests = _tests_from(state, policy)
    extra, inject = state["options"]["narrowing"], state["options"]["inject_slowdown"]
    state["design"] = {"kind": "resident", **state.get("design", {})}
    while _going_on(state, policy):
        number, k = len(state["rounds"]), _rounds_per_cluster(state, policy)
        workers, startup = start_group([sides[n] for n in ORDER], suite, extra, out / "blocks" / f"c{number:03d}")
        state["measure_s"] += startup
        rounds: list[list[Block]] = []
        try:
            for _ in range(k):
                blocks = [w.block(policy.block_calls, inject if w.side.name == "head" else 0.0) for w in workers]
                state["measure_s"] += sum(b.seconds for b in blocks)
                rounds.append(blocks)
        finally:
            stopping = stop_group(workers)
        state["measure_s"] += stopping
        cluster = _round([b for blocks in rounds for b in blocks], tests, state, policy, per_round=len(ORDER))
        # the cluster's fixed cost S: its workers' start-up and their stop
        cluster["blocks"].insert(0, {"side": "start-up", "seconds": round(startup + stopping, 3)})
        state["rounds"].append(cluster)
        _rounds_per_cluster(state, policy)  # after the pilot: the design, before the budget is checked
        _save(state, out)
        if on_round:
            on_round(state)
    return _finish(state, policy, out)


def _rounds_per_cluster(state: dict[str, Any], policy: GatePolicy) -> int:
    """The pilot's rounds per cluster, then ``k*`` from the pilot's variance components and costs
    (the median over configurations), or fewer where the budget could not otherwise reach
    ``min_rounds`` clusters; fixed for the rest of the comparison (``design``: the costs, both
    choices, and the cluster's cost that follows)."""
    design = state["design"]
    if "rounds_per_cluster" in design:
        return int(design["rounds_per_cluster"])
    clusters = state["rounds"]
    if len(clusters) < PILOT_CLUSTERS:
        return PILOT_ROUNDS
    startup = float(np.mean([c["blocks"][0]["seconds"] for c in clusters]))
    round_s = float(np.mean([sum(b["seconds"] for b in c["blocks"][1:]) / c["k"] for c in clusters]))
    chosen = []
    for run_id in state["configs"]:
        ratios = [c["round_ratios"][run_id] for c in clusters if run_id in c["round_ratios"]]
        found = components(ratios, startup, round_s)
        if found is not None:
            chosen.append(found.best_rounds())
            design.setdefault("components", {})[run_id] = asdict(found)
    k = design["rounds_by_variance"] = int(np.median(chosen)) if chosen else PILOT_ROUNDS
    left = policy.min_rounds - len(clusters)
    if left > 0:
        cost = Components(0.0, 0.0, startup, round_s)
        fit = design["rounds_by_budget"] = max(0, cost.rounds_that_fit(policy.max_seconds - state["measure_s"], left))
        k = max(1, min(k, fit))
    design["rounds_per_cluster"] = k
    design["cluster_s"] = round(startup + k * round_s, 3)
    return k


def _round(
    blocks: list[Block],
    tests: dict[str, SequentialTest],
    state: dict[str, Any],
    policy: GatePolicy,
    per_round: int | None = None,
) -> dict[str, Any]:
    """Fold one round's blocks into every configuration's test; returns the round's record."""
    ids = sorted({run_id for b in blocks for run_id in (*b.rtf, *b.errors)})
    log_ratios: dict[str, float] = {}
    round_ratios: dict[str, list[float]] = {}
    for run_id in ids:
        config = state["configs"].setdefault(run_id, {"base_rtf": [], "head_rtf": [], "decision": {}})
        failed = {b.side: b.errors[run_id] for b in blocks if run_id in b.errors}
        if failed:
            # head failing where base ran is a break the gate fails on; base failing, no comparison
            config["error"] = {"outcome": "broken" if "base" not in failed else "error", "messages": failed}
            continue
        if config["decision"].get("stopped_by"):
            continue  # decided in an earlier round: its outcome stands
        calls = {name: [x for b in blocks if b.side == name for x in b.rtf[run_id]] for name in ("base", "head")}
        config["base_rtf"] += calls["base"]
        config["head_rtf"] += calls["head"]
        groups = [blocks[i : i + (per_round or len(blocks))] for i in range(0, len(blocks), per_round or len(blocks))]
        ratios = [
            round_log_ratio(*([x for b in group if b.side == name for x in b.rtf[run_id]] for name in ("base", "head")))
            for group in groups
        ]
        round_ratios[run_id] = ratios
        log_ratios[run_id] = float(np.mean(ratios))
        test = tests.setdefault(run_id, SequentialTest(policy))
        test.add(log_ratios[run_id])
        config["decision"] = test.decision(state["measure_s"]).as_dict()
    made: dict[str, Any] = {"blocks": [{"side": b.side, "seconds": round(b.seconds, 3)} for b in blocks]}
    made["log_ratios"] = log_ratios
    if per_round:  # a cluster: its rounds' own ratios, for the variance components
        made.update(k=len(blocks) // per_round, round_ratios=round_ratios)
    return made


def outcomes(state: dict[str, Any]) -> dict[str, str]:
    """Each configuration's outcome (``broken``: head fails where base runs)."""
    return {
        run_id: c["error"]["outcome"] if c.get("error") else c["decision"].get("outcome", "inconclusive")
        for run_id, c in sorted(state["configs"].items())
    }


def markdown(state: dict[str, Any]) -> str:
    """The comparison as a table, with the sides, the policy and what it cost."""
    policy = GatePolicy(**state["policy"])
    base, head = state["base"], state["head"]
    design = state.get("design", {})
    if design.get("kind") == "resident":
        k = design.get("rounds_per_cluster", PILOT_ROUNDS)
        how = (
            f"{len(state['rounds'])} clusters of 4 resident worker processes (base, head, head, base), "
            f"{k} rounds of blocks each after a pilot of {PILOT_CLUSTERS} clusters of {PILOT_ROUNDS} "
            f"({policy.block_calls} calls per configuration a block; two-stage design, docs/gate.md)"
        )
    else:
        how = (
            f"{len(state['rounds'])} rounds of 4 blocks (base, head, head, base; {policy.block_calls} calls per "
            "configuration each, a fresh process per block)"
        )
    lines = [
        f"# ab: head {head['spec']} ({head['commit'][:10] or 'no git'}) against base {base['spec']} "
        f"({base['commit'][:10] or 'no git'})",
        "",
        f"{how}, {state['measure_s']:.0f} s of measuring; margin "
        f"{policy.min_effect:.0%}, alpha {policy.alpha:g} over all rounds, detectable slowdown at "
        f"{policy.power:.0%} power. Method: {Decision.__dataclass_fields__['method'].default}.",
    ]
    for name in ("base", "head"):
        env = state.get("environments", {}).get(name, {})
        if env:
            packages = ", ".join(f"{k} {v}" for k, v in env.get("packages", {}).items())
            code = env.get("f5_tts", {})
            lines.append(
                f"\n{name}: Python {env.get('python')} ({env.get('executable')}); {packages}; "
                f"f5_tts {code.get('sha256')} from {code.get('path')}"
            )
    if state.get("environments", {}).get("differ"):
        lines.append("\nthe environments differ: " + "; ".join(state["environments"]["differ"]))
    if state["options"]["inject_slowdown"]:
        lines.append(f"\nhead's calls carry an injected slowdown of {state['options']['inject_slowdown']:.0%}.")
    lines += [
        "",
        "| configuration | outcome | head / base | CI | rounds | detectable slowdown | base RTF | head RTF |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run_id, outcome in outcomes(state).items():
        config = state["configs"][run_id]
        d = config["decision"]
        if config.get("error"):
            messages = "; ".join(f"{side}: {text}" for side, text in config["error"]["messages"].items())
            lines.append(f"| {run_id} | {outcome} | - | - | - | - | - | {messages[:200]} |")
            continue
        if d.get("ratio") is None:  # fewer than two rounds
            lines.append(f"| {run_id} | {outcome} | - | - | {d.get('rounds', 0)} | - | - | - |")
            continue
        lines.append(
            f"| {run_id} | {outcome} | {d['ratio']:.4f} | {d['ci_low']:.4f}-{d['ci_high']:.4f} | {d['rounds']} | "
            f"{d['detectable']:.1%} | {np.median(config['base_rtf']):.4g} | {np.median(config['head_rtf']):.4g} |"
        )
    return "\n".join(lines)
