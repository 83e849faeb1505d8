"""An ESTIMATE, not a measurement: what `ab` would cost on gate-gpu's CUDA-graph row (H100) and on the
Jetson AGX Orin's pull-request gate (jetson-orin suite), from the one H100 trial in `h100-ab/ab.json`
(its pilot's start-up, round cost and variance components) and the assumptions stated below.

    .venv/bin/python reports/gate-power/gate-estimate.py
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

from scipy.stats import norm

from harness.ab.design import PILOT_CLUSTERS, PILOT_ROUNDS, Components, components
from harness.sequential import GatePolicy, boundary, detectable_slowdown, mixture_rho2, small_sample_widening

HERE = Path(__file__).parent
STOP_S = 2.0  # ASSUMED: a cluster's stop since workers exit at end of input (18 s measured before)
PRIME_S = 85.0 + 55.0  # measured: the two untimed prime blocks that compile once per side (h100-ab/blocks)

# ASSUMED for the Orin (nothing here was measured on one): the plan's RTF 0.278 on the suite's
# 10 s sentence; a cluster's start-up three times the H100 host's (12 Cortex-A78AE cores against 16
# Xeon cores: imports, build, loading compiled graphs); per-round noise and process offsets as on the
# H100, relative to the call (a 2.8 s call likely scatters less: the low-noise row halves V_w).
ORIN_CALL_S = 0.278 * 10.0
ORIN_STARTUP_FACTOR = 3.0


def measured() -> Components:
    state = json.loads((HERE / "h100-ab" / "ab.json").read_text())
    clusters = state["rounds"]
    ratios = [c["round_ratios"][k] for c in clusters for k in c["round_ratios"]]
    startup = sum(c["blocks"][0]["seconds"] for c in clusters) / len(clusters) + STOP_S
    round_s = sum(sum(b["seconds"] for b in c["blocks"][1:]) / c["k"] for c in clusters) / len(clusters)
    found = components(ratios, startup, round_s)
    assert found is not None
    return found


def row(name: str, c: Components, policy: GatePolicy) -> str:
    """The design as `ab` runs it: a pilot of 3 clusters of 3 rounds, then ``k`` (``k*``, or fewer
    where the budget could not otherwise reach ``min_rounds`` clusters)."""
    pilot_s = PILOT_CLUSTERS * (c.startup_s + PILOT_ROUNDS * c.round_s)
    fit = c.rounds_that_fit(policy.max_seconds - pilot_s, policy.min_rounds - PILOT_CLUSTERS)
    k = max(1, min(c.best_rounds(), fit))
    cluster_s = c.startup_s + k * c.round_s
    clusters = min(policy.max_rounds, PILOT_CLUSTERS + math.floor((policy.max_seconds - pilot_s) / cluster_s))
    first = PRIME_S + pilot_s + (policy.min_rounds - PILOT_CLUSTERS) * cluster_s
    pilot_var, var = c.between + c.within / PILOT_ROUNDS, c.between + c.within / k
    sd = math.sqrt((PILOT_CLUSTERS * pilot_var + (clusters - PILOT_CLUSTERS) * var) / clusters)
    rho2 = mixture_rho2(policy.t_opt, policy.alpha)
    half = sd * boundary(clusters, rho2, policy.alpha) * small_sample_widening(clusters, policy.alpha)
    detectable = detectable_slowdown(half, sd / math.sqrt(clusters), policy.margin, float(norm.ppf(policy.power)))
    return (
        f"| {name} | {c.startup_s:.0f} | {c.round_s:.2f} | {math.sqrt(c.within):.3f} | {math.sqrt(c.between):.3f} | "
        f"{c.best_rounds()} | {k} | {cluster_s:.0f} | {first / 60:.1f} | {clusters} | {detectable:.1%} | "
        f"{math.expm1(half):.1%} |"
    )


def main() -> None:
    h100 = measured()
    print(
        "| case (ESTIMATE) | S s | R s | sd V_w | sd V_b | k* | k | cluster s | first possible verdict, min |"
        " clusters in budget | detectable at budget's end | half-width at budget's end |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    gpu = GatePolicy(max_seconds=1800.0, max_rounds=300)
    print(row("H100 gate-gpu CUDA graphs, 3 calls a block, 30 min", h100, gpu))
    for calls in (3, 1):
        for noise, label in ((1.0, "H100's noise"), (0.5, "half V_w")):
            within = h100.within * noise * 3 / calls  # V_w of a round's mean log ratio scales as 1 / calls
            orin = replace(
                h100, within=within, startup_s=h100.startup_s * ORIN_STARTUP_FACTOR, round_s=4 * calls * ORIN_CALL_S
            )
            policy = GatePolicy(max_seconds=3000.0, block_calls=calls)
            print(row(f"Orin jetson-orin, {calls} call(s) a block, {label}, 50 min", orin, policy))


if __name__ == "__main__":
    main()
