"""``tts-harness profile``: where one configuration's time goes, operator by operator.

After the configuration's first call and warm-up (as in a sweep), ``calls`` syntheses run under
``torch.profiler``; the trace opens in Perfetto or ``chrome://tracing``, the table ranks operators by
their own device time (CPU time on a CPU). With CUDA graphs, kernels appear inside graph launches.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.config import RunConfig
from harness.measure import Measurer


def profile(measurer: Measurer, run: RunConfig, calls: int, out: Path, top: int = 25) -> dict[str, Any]:
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    synth = measurer.prepared(run)
    on_gpu = synth.model.device.type == "cuda"
    activities = [ProfilerActivity.CPU, *([ProfilerActivity.CUDA] if on_gpu else [])]
    with torch_profile(activities=activities) as prof:
        totals = [measurer.call(synth, run, 0).total_s for _ in range(calls)]
    out.mkdir(parents=True, exist_ok=True)
    trace = out / "trace.json"
    prof.export_chrome_trace(str(trace))
    sort = "self_device_time_total" if on_gpu else "self_cpu_time_total"
    table = prof.key_averages().table(sort_by=sort, row_limit=top)
    ops = out / "ops.txt"
    ops.write_text(f"{run.id}: {calls} call(s) profiled, {sum(totals) / calls:.3f} s each\n{table}\n")
    return {"trace": trace, "ops": ops, "table": table, "seconds_per_call": sum(totals) / calls}
