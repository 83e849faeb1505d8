"""What each quality metric costs per audio second on the machine this runs on.

Usage (from the repository root):  .venv/bin/python reports/mos/cost.py reports/mos/cost-<machine>.json
30 s of the reference speech f5-tts ships (tiled), one warm-up call, then the median of 3 calls on
``time.perf_counter`` (UTMOS on a GPU: synchronized before the clock stops). UTMOS runs with seeded
random weights of its network: its cost does not depend on the weights' values (none can be fetched
here). A metric whose package is missing is recorded with the reason.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from harness.pipeline.audio import read_audio

RATE = 24_000
SECONDS = 30


def _median_ms_per_audio_s(
    measure: Callable[[np.ndarray], object], wave: np.ndarray, sync: Callable[[], None]
) -> float:
    measure(wave)
    sync()
    times = []
    for _ in range(3):
        started = time.perf_counter()
        measure(wave)
        sync()
        times.append(time.perf_counter() - started)
    return float(np.median(times)) / SECONDS * 1000


def main(out: Path) -> None:
    import torch

    wave, rate = read_audio("f5tts:infer/examples/basic/basic_ref_en.wav")
    assert rate == RATE
    long = np.tile(wave, 8)[: SECONDS * RATE]
    result: dict[str, Any] = {
        "machine": platform.node(), "cpu_threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "audio_s": SECONDS, "clock": "perf_counter, median of 3 after a warm-up", "ms_per_audio_s": {}, "n/a": {},
    }  # fmt: skip
    costs, missing = result["ms_per_audio_s"], result["n/a"]

    def none() -> None:
        return None

    try:
        from harness.quality import mos

        costs["dnsmos (onnxruntime cpu, 1 thread)"] = _median_ms_per_audio_s(lambda w: mos.score(w, RATE), long, none)
    except Exception as exc:
        missing["dnsmos"] = str(exc).splitlines()[0]
    try:
        from harness.quality import intrusive

        costs["pesq_wb + stoi (cpu)"] = _median_ms_per_audio_s(lambda w: intrusive.score(w, w, RATE), long, none)
    except Exception as exc:
        missing["pesq_wb + stoi"] = str(exc).splitlines()[0]
    from harness.quality import utmos

    torch.manual_seed(0)
    model = utmos.build()
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        model = model.to(device)
        sync = torch.cuda.synchronize if device == "cuda" else none
        costs[f"utmos ({device}, fp32)"] = _median_ms_per_audio_s(
            lambda w, d=device, m=model: utmos.score_with(m, d, w, RATE), long, sync
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    json.dump(result, sys.stdout, indent=1)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
