"""The two-stage design of ``ab``: how many rounds a group of worker processes serves.

Each observation the sequential test sees is one **cluster**: four fresh worker processes (base,
head, head, base) that build and warm up once, then serve ``k`` rounds of blocks in that order;
the cluster's value is the mean of its ``k`` per-round log ratios. The unit is the process group,
as pyperf spreads values over processes (processes x values): what differs between processes (the
process-level offset, variance ``V_b`` of a cluster's log ratio) enters every cluster once, so the
test sees it, and what differs between rounds inside a process (``V_w``) shrinks by ``k``.

A cluster costs ``S + k R`` (``S``: the workers' start-up, ``R``: one round of blocks) and its
value has variance ``V_b + V_w / k``: the cost of a given precision, ``(S + k R)(V_b + V_w / k)``,
is least at ``k* = sqrt(S V_w / (R V_b))`` (Cochran, *Sampling Techniques*, 3rd ed., section 10.6:
the optimum second-stage sample size of two-stage sampling). The first ``PILOT_CLUSTERS`` clusters
serve ``PILOT_ROUNDS`` rounds each to measure ``S``, ``R``, ``V_w`` and ``V_b``; then ``k*`` holds,
unless fewer rounds a cluster are what lets the budget reach ``min_rounds`` clusters (an outcome
needs them: precision the budget cannot finish buys nothing). With ``k = 1`` the design is the
fresh-process-per-block one; it is chosen whenever start-up is cheap or the process offset dominates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

PILOT_CLUSTERS = 3
PILOT_ROUNDS = 3
MAX_ROUNDS_PER_CLUSTER = 12


@dataclass(frozen=True)
class Components:
    """Variance components of per-round log ratios, and the costs that price them (seconds)."""

    within: float  # V_w: variance of one round's log ratio inside a cluster's processes
    between: float  # V_b: variance of a cluster's log ratio from its processes' offsets
    startup_s: float  # S: starting and warming a cluster's workers
    round_s: float  # R: one round of blocks in warm workers

    def best_rounds(self, cap: int = MAX_ROUNDS_PER_CLUSTER) -> int:
        """``k*``, rounded and kept within ``[1, cap]`` (no process offset seen: ``cap``)."""
        if self.within <= 0:
            return 1
        if self.between <= 0:
            return cap
        k = math.sqrt(self.startup_s * self.within / (self.round_s * self.between))
        return max(1, min(cap, round(k)))

    def rounds_that_fit(self, seconds_left: float, clusters_left: int) -> int:
        """The most rounds a cluster may serve for ``clusters_left`` more clusters to fit in
        ``seconds_left`` (0 or less: not even one round each)."""
        return math.floor((seconds_left / clusters_left - self.startup_s) / self.round_s)

    def cost_of_precision(self, k: int) -> float:
        """Seconds times variance of one cluster: what a design with ``k`` rounds pays per unit of information."""
        return (self.startup_s + k * self.round_s) * (self.between + self.within / k)


def components(clusters: Sequence[Sequence[float]], startup_s: float, round_s: float) -> Components | None:
    """Estimate ``V_w`` (pooled within clusters) and ``V_b`` (the spread of cluster means less what
    ``V_w`` explains) from each cluster's per-round log ratios; None before two clusters of two
    rounds or more."""
    usable = [np.asarray(c, dtype=float) for c in clusters if len(c) >= 2]
    if len(usable) < 2:
        return None
    within_ss = sum(float(((c - c.mean()) ** 2).sum()) for c in usable)
    within = within_ss / sum(c.size - 1 for c in usable)
    means = np.array([c.mean() for c in usable])
    mean_k = float(np.mean([c.size for c in usable]))
    between = max(0.0, float(means.var(ddof=1)) - within / mean_k)
    return Components(within, between, startup_s, round_s)
