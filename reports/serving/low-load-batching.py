"""Issue 30: why max_batch 4 added about 60 ms to a request's "compute" at low load on the H100
(gpu-h100/results.json, eager). Prints, per row, the batch calls of all its loads by size (count,
median seconds) and, for the low-load summary (0.83 req/s), the requests that shared a batch
(same end time) and the median "compute" (end - start) of the requests alone in theirs.
Run: python reports/serving/low-load-batching.py"""

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
    print(f"max_batch {scenario['max_batch']}: calls by size (count, median s) "
          + ", ".join(f"{k}: ({len(v)}, {statistics.median(v):.3f})" for k, v in sorted(calls.items()))
          + f"; low load: compute p50 {summary:.3f} s, {shared} of {len(scenario['requests'])} requests shared"
          f" a batch, the others' compute p50 {statistics.median(alone):.3f} s")
