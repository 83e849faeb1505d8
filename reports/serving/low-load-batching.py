"""Issue 30: why max_batch 4 added about 60 ms to a request's "compute" at low load on the H100
(gpu-h100/results.json, eager). Prints, per row, the batch calls of all its loads by size (count,
median seconds) and, for the low-load summary (0.83 req/s), its compute p50 and how many requests
shared a call (the same end time); then the same requests (same texts, same arrival times) that
came while nothing ran and shared no call, in the max_batch 1 and 4 rows side by side.
Run: python reports/serving/low-load-batching.py"""

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

path = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "gpu-h100" / "results.json")
records = json.loads(path.read_text())["records"]


def shared(request: dict[str, Any], requests: list[dict[str, Any]]) -> bool:
    return any(abs(o["end_s"] - request["end_s"]) < 1e-3 for o in requests if o is not request)


def alone_and_idle(requests: list[dict[str, Any]]) -> dict[int, float]:
    """Compute seconds of each request that came while nothing ran and shared no call."""
    return {
        r["index"]: r["end_s"] - r["start_s"]
        for r in requests
        if not shared(r, requests)
        and not any(o["start_s"] <= r["arrival_s"] < o["end_s"] for o in requests if o["arrival_s"] < r["arrival_s"])
    }


for record in records:
    scenario, requests = record["scenario"], record["scenario"]["requests"]
    calls = defaultdict(list)
    for size, seconds in zip(scenario["batches"]["sizes"], scenario["batches"]["seconds"], strict=True):
        calls[size].append(seconds)
    print(
        f"max_batch {scenario['max_batch']}: calls by size (count, median s) "
        + ", ".join(f"{k}: ({len(v)}, {statistics.median(v):.3f})" for k, v in sorted(calls.items()))
        + f"; low load: compute p50 {scenario['summary']['compute_s']['p50']:.3f} s,"
        f" {sum(shared(r, requests) for r in requests)} of {len(requests)} requests shared a call"
    )

rows = {r["scenario"]["max_batch"]: alone_and_idle(r["scenario"]["requests"]) for r in records}
if 1 in rows and 4 in rows:
    both = sorted(set(rows[1]) & set(rows[4]))
    ratios = [rows[4][i] / rows[1][i] for i in both]
    one, four = (statistics.median(rows[mb][i] for i in both) for mb in (1, 4))
    print(
        f"the same {len(both)} requests, alone and idle: max_batch 1 {one:.3f} s, max_batch 4 {four:.3f} s"
        f" (medians); per request 4/1: median {statistics.median(ratios):.3f}, {min(ratios):.3f}-{max(ratios):.3f}"
    )
