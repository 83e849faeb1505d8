"""What an ``ab`` budget can buy: rounds that fit, whether they reach ``min_rounds``, and the slowdown
the gate will be able to see at the budget's end.

A round's cost is measured (the first round's four blocks) and remembered per suite and narrowing in
the ``ab`` cache, so the next comparison of the same suite says before its first block whether the
budget can reach an outcome. A budget that cannot is refused in one line (exit 2) unless the user
asks for ``--best-effort``; then the gate runs and says what it will be able to see.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.ab.design import PILOT_CLUSTERS, PILOT_ROUNDS
from harness.errors import ConfigError
from harness.sequential import GatePolicy, boundary, detectable_slowdown, mixture_rho2, small_sample_widening

COSTS_FILE = "ab-round-costs.json"


@dataclass(frozen=True)
class Budget:
    """The policy's budget against an observation's cost in seconds: a round of four fresh-process
    blocks, or (``startup_s`` given) a pilot cluster of resident workers, of which ``startup_s`` is
    the workers' start-up and stop; after the pilot a cluster may serve as few as one round."""

    policy: GatePolicy
    round_s: float
    startup_s: float | None = None

    @property
    def smallest_s(self) -> float:
        """The cheapest observation the design may choose: a cluster of one round after the pilot."""
        if self.startup_s is None:
            return self.round_s
        return self.startup_s + max(0.0, self.round_s - self.startup_s) / PILOT_ROUNDS

    @property
    def rounds(self) -> int:
        """Observations the budget holds at most: the round budget or the seconds budget, whichever
        ends first (after a pilot, at the cheapest clusters)."""
        p = self.policy
        held = math.floor(p.max_seconds / self.round_s)
        if self.startup_s is not None and held >= PILOT_CLUSTERS:
            held = PILOT_CLUSTERS + math.floor((p.max_seconds - PILOT_CLUSTERS * self.round_s) / self.smallest_s)
        return max(0, min(p.max_rounds, held))

    @property
    def min_rounds_s(self) -> float:
        """Seconds the fewest observations with an outcome take."""
        pilot = min(self.policy.min_rounds, PILOT_CLUSTERS) if self.startup_s is not None else self.policy.min_rounds
        return pilot * self.round_s + (self.policy.min_rounds - pilot) * self.smallest_s

    @property
    def reaches_min_rounds(self) -> bool:
        return self.rounds >= self.policy.min_rounds

    def detectable_at_end(self, round_sd: float) -> float:
        """The slowdown the gate would call with the policy's power after ``rounds`` rounds whose log
        ratios scatter by ``round_sd`` (a projection from the rounds so far)."""
        from scipy.stats import norm

        p, t = self.policy, max(self.rounds, 2)
        half = round_sd * boundary(t, mixture_rho2(p.t_opt, p.alpha), p.alpha) * small_sample_widening(t, p.alpha)
        return detectable_slowdown(half, round_sd / math.sqrt(t), p.margin, float(norm.ppf(p.power)))

    def shortfall(self, when: str) -> str:
        if self.startup_s is None:
            cost = f"a round of 4 blocks costs {self.round_s:.0f} s"
        else:
            cost = (
                f"a pilot cluster costs {self.round_s:.0f} s and a later one at least {self.smallest_s:.0f} s "
                f"({self.startup_s:.0f} s of start-up)"
            )
        return (
            f"{when} {cost}: a budget of {self.policy.max_seconds:g} s and {self.policy.max_rounds} rounds holds "
            f"{self.rounds}, and the gate decides nothing before min_rounds = {self.policy.min_rounds} "
            f"(about {self.min_rounds_s:.0f} s): raise --max-seconds, or --best-effort"
        )


def check_rounds(policy: GatePolicy, best_effort: bool) -> str | None:
    """Before anything runs: a round budget below ``min_rounds`` can never decide."""
    if policy.max_rounds >= policy.min_rounds:
        return None
    said = f"--max-rounds {policy.max_rounds} is below the gate's min_rounds = {policy.min_rounds}"
    said += ": no outcome is possible"
    if not best_effort:
        raise ConfigError(f"{said}; raise --max-rounds, lower [gate] min_rounds, or --best-effort")
    return f"{said}; running anyway (--best-effort): every configuration will be inconclusive"


def check(budget: Budget, when: str, best_effort: bool) -> str | None:
    """Refuse (``ConfigError``, exit 2) a budget that cannot reach ``min_rounds``; with ``best_effort``
    return the line that says so instead."""
    if budget.reaches_min_rounds:
        return None
    if not best_effort:
        raise ConfigError(budget.shortfall(when))
    return budget.shortfall(when).replace(": raise --max-seconds, or --best-effort", ": running anyway (--best-effort)")


def _key(suite_text: str, narrowing: list[str]) -> str:
    return hashlib.sha256((suite_text + "\0" + " ".join(narrowing)).encode()).hexdigest()[:16]


def remembered_cost(cache: Path, suite_text: str, narrowing: list[str]) -> tuple[float, float | None] | None:
    """The observation's cost (and a cluster's start-up, for resident workers) that the last
    comparison of this suite and narrowing measured on this machine."""
    try:
        value = json.loads((cache / COSTS_FILE).read_text()).get(_key(suite_text, narrowing))
    except (OSError, ValueError, AttributeError):
        return None
    if isinstance(value, (int, float)) and value > 0:
        return float(value), None
    if isinstance(value, dict) and isinstance(value.get("round_s"), (int, float)) and value["round_s"] > 0:
        startup = value.get("startup_s")
        return float(value["round_s"]), float(startup) if isinstance(startup, (int, float)) else None
    return None


def remember_cost(cache: Path, suite_text: str, narrowing: list[str], budget: Budget) -> None:
    """Keep a measured observation's cost for the next comparison (best effort: a cache, not a result)."""
    path = cache / COSTS_FILE
    try:
        data = json.loads(path.read_text()) if path.is_file() else {}
        if not isinstance(data, dict):
            data = {}
        data[_key(suite_text, narrowing)] = {"round_s": round(budget.round_s, 3), "startup_s": budget.startup_s}
        cache.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache, prefix=".costs-", suffix=".json")
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle)
        os.replace(tmp, path)
    except (OSError, ValueError):
        pass


def observed(policy: GatePolicy, observation: dict[str, Any], seconds: float | None = None) -> Budget:
    """The budget against an observation (a round, or a pilot cluster: its first block is the
    workers' start-up) that cost ``seconds`` (default: its blocks' sum)."""
    blocks = observation["blocks"]
    startup = float(blocks[0]["seconds"]) if blocks and blocks[0]["side"] == "start-up" else None
    return Budget(policy, sum(b["seconds"] for b in blocks) if seconds is None else seconds, startup)


def clusters_reached(policy: GatePolicy, state: dict[str, Any]) -> int:
    """Clusters a resident comparison will have at the budget's end, once its design fixed a
    cluster's cost: those it has and those the seconds left hold."""
    more = math.floor(max(0.0, policy.max_seconds - float(state["measure_s"])) / float(state["design"]["cluster_s"]))
    return int(min(policy.max_rounds, len(state["rounds"]) + more))


class RoundWatch:
    """``ab``'s hook after every round: the progress bar (its total from the budget), then, after
    this process's first round, the budget against the round's measured cost (refused, or said with
    ``best_effort``), again once the resident design has fixed a cluster's cost, and after two
    rounds the slowdown the budget's end will be able to see."""

    def __init__(
        self, policy: GatePolicy, bar: Any, first: int, key: tuple[str, list[str]], best_effort: bool, out: Path
    ) -> None:
        self.policy, self.bar, self.first, self.key = policy, bar, first, key
        self.best_effort, self.out = best_effort, out
        self.design_checked = False

    def _check_design(self, state: dict[str, Any]) -> None:
        design = state.get("design", {})
        if self.design_checked or "cluster_s" not in design:
            return
        self.design_checked = True
        reached = clusters_reached(self.policy, state)
        self.bar.total = max(reached, len(state["rounds"]))
        self.bar.refresh()
        if reached >= self.policy.min_rounds:
            return
        said = (
            f"After the pilot: a cluster of {design['rounds_per_cluster']} round(s) costs {design['cluster_s']:.0f} s, "
            f"and the budget's end holds {reached} clusters; the gate decides nothing before "
            f"min_rounds = {self.policy.min_rounds}"
        )
        if not self.best_effort:
            raise ConfigError(f"{said}: raise --max-seconds (--resume {self.out} continues), or --best-effort")
        self.bar.write(f"{said}: running anyway (--best-effort)", file=sys.stderr)

    def __call__(self, state: dict[str, Any]) -> None:
        from harness.ab.sides import cache_dir

        self.bar.update(1)
        rounds = state["rounds"]
        if len(rounds) - self.first == 1 and "cluster_s" not in state.get("design", {}):
            budget = observed(self.policy, rounds[-1])
            remember_cost(cache_dir(), *self.key, budget)
            self.bar.total = max(budget.rounds, len(rounds))
            self.bar.refresh()
            try:
                said = check(budget, "Measured:", self.best_effort)
            except ConfigError as exc:
                raise ConfigError(f"{exc}; the round is kept in {self.out} (--resume {self.out} continues)") from None
            if said:
                self.bar.write(said, file=sys.stderr)
        self._check_design(state)
        both = [k for k in rounds[-1]["log_ratios"] if k in rounds[0]["log_ratios"]] if len(rounds) == 2 else []
        if both:
            budget = observed(self.policy, rounds[-1], state["measure_s"] / 2)
            spread = max(float(np.std([r["log_ratios"][k] for r in rounds], ddof=1)) for k in both)
            self.bar.write(
                f"after {budget.rounds} observations (the budget's end) this gate will see slowdowns of about "
                f"{budget.detectable_at_end(spread):.0%} or more (projected from the first 2)",
                file=sys.stderr,
            )
