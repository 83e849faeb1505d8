"""Issue 30: why max_batch 4 added about 60 ms to a request's "compute" at low load on the H100
(gpu-h100/results.json, eager). Prints, per row, the batch calls of all its loads by size (count,
median seconds) and, for the low-load summary (0.83 req/s), the requests that shared a batch
(same end time) and the median "compute" (end - start) of the requests alone in theirs; then the
same requests (same texts, same arrival times) alone, with nothing running when they came, in the
max_batch 1 and 4 rows side by side. Run: python reports/serving/low-load-batching.py"""

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

path = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "gpu-h100" / "results.json")
for record in json.loads(path.read_text())["records"]:
    scenario = record["scenario"]
    calls = defaultdict(list)
    for size, seconds in zip(scenario["batches"]["sizes"], scenario["batches"]["seconds"], strict=True):
        calls[size].append(seconds)
    by_end = defaultdict(list)
    for request in scenario["requests"]:
        by_end[round(request["end_s"], 3)].append(request)
    alone = [r["end_s"] - r["start_s"] for group in by_end.values() if len(group) == 1 for r in group]
    shared = sum(len(group) for group in by_end.values() if len(group) > 1)
    summary = scenario["summary"]["compute_s"]["p50"]
    print(
        f"max_batch {scenario['max_batch']}: calls by size (count, median s) "
        + ", ".join(f"{k}: ({len(v)}, {statistics.median(v):.3f})" for k, v in sorted(calls.items()))
        + f"; low load: compute p50 {summary:.3f} s, {shared} of {len(scenario['requests'])} requests shared"
        f" a batch, the others' compute p50 {statistics.median(alone):.3f} s"
    )


def alone_and_idle(requests: list[dict]) -> dict[int, float]:
    """Compute seconds of each request that came while nothing ran and shared no call."""
    out = {}
    for r in requests:
        busy = any(o["start_s"] <= r["arrival_s"] < o["end_s"] for o in requests if o["arrival_s"] < r["arrival_s"])
        shared = any(abs(o["end_s"] - r["end_s"]) < 1e-3 for o in requests if o is not r)
        if not (busy or shared):
            out[r["index"]] = r["end_s"] - r["start_s"]
    return out


rows = {
    r["scenario"]["max_batch"]: alone_and_idle(r["scenario"]["requests"])
    for r in json.loads(path.read_text())["records"]
}
if 1 in rows and 4 in rows:
    both = sorted(set(rows[1]) & set(rows[4]))
    ratios = [rows[4][i] / rows[1][i] for i in both]
    one, four = (statistics.median(rows[mb][i] for i in both) for mb in (1, 4))
    print(
        f"the same {len(both)} requests, alone and idle: max_batch 1 {one:.3f} s, max_batch 4 {four:.3f} s"
        " (medians); per request 4/1:"
        f" median {statistics.median(ratios):.3f}, {min(ratios):.3f}-{max(ratios):.3f}"
    )
