"""Process-wide settings a suite asks for (torch threads, matmul precision), the devices' start-up,
and the compile cache's state: applied once before measuring and recorded with the results."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from harness.config import SuiteConfig
from harness.errors import InputError


def pin_cpus(cores: list[int]) -> None:
    """Run this process, and the threads it starts, on ``cores`` only (``run --cpus``): fresh
    processes of the same code then share the host's speed instead of wherever the scheduler put them."""
    allowed = sorted(os.sched_getaffinity(0))
    if not cores or not set(cores) <= set(allowed):
        raise InputError(f"--cpus {','.join(map(str, cores))}: this process may run on cores {_ranges(allowed)} only")
    os.sched_setaffinity(0, cores)


def _ranges(cores: list[int]) -> str:
    """Sorted core numbers as taskset writes them: ``0-3,8,10-11``."""
    runs: list[list[int]] = []
    for core in cores:
        if runs and core == runs[-1][-1] + 1:
            runs[-1].append(core)
        else:
            runs.append([core])
    return ",".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)


def cpu_placement() -> dict[str, Any]:
    """The cores this process may run on and their clocks now (Linux cpufreq, where the kernel has it)."""
    cores = sorted(os.sched_getaffinity(0))
    mhz = {}
    for core in cores[:64]:
        freq = Path(f"/sys/devices/system/cpu/cpu{core}/cpufreq/scaling_cur_freq")
        if freq.is_file():
            mhz[str(core)] = round(int(freq.read_text()) / 1000)
    return {"cpu_affinity": _ranges(cores), "cpu_affinity_count": len(cores), **({"cpu_mhz": mhz} if mhz else {})}


def apply_process_settings(suite: SuiteConfig, compile_artifacts: Path | None = None) -> dict[str, Any]:
    """Apply the suite's torch settings; returns what the process now runs with."""
    import torch

    from harness.platform.compile_cache import compile_cache_state, load_compile_artifacts

    if suite.timing.threads:
        torch.set_num_threads(suite.timing.threads)
    torch.set_float32_matmul_precision(suite.timing.matmul_precision)
    started = time.perf_counter()
    for device in sorted({r.device for r in suite.runs if r.device.startswith("cuda")}):
        torch.zeros(1, device=device)  # the driver's and CUDA's start-up, counted as startup
        torch.cuda.synchronize(device)
    return {
        "device_init_s": round(time.perf_counter() - started, 3),
        "torch_threads": torch.get_num_threads(),
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
        "cudnn_deterministic": torch.backends.cudnn.deterministic,
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
        **cpu_placement(),
        **compile_cache_state(),
        **({"compile_artifacts_loaded": load_compile_artifacts(compile_artifacts.parent)} if compile_artifacts else {}),
    }


def validate_inputs(suite: SuiteConfig) -> None:
    """Fail fast, before any build, on what would fail every configuration alike."""
    from harness.pipeline.audio import read_audio
    from harness.pipeline.build import check_device
    from harness.pipeline.presets import get_preset
    from harness.pipeline.weights import resolve

    for device in sorted({r.device for r in suite.runs}):
        check_device(device)
    for model, weights in sorted({(r.model, r.weights) for r in suite.runs}):
        resolve(weights, get_preset(model))
    for item in suite.texts:
        samples, rate = read_audio(item.reference_audio)
        if samples.size / rate > MAX_REFERENCE_S:
            raise InputError(
                f"reference audio {item.reference_audio} is {samples.size / rate:.0f} s long; F5-TTS conditions on "
                f"a few seconds of speech (at most {MAX_REFERENCE_S:.0f} s here): trim it"
            )


MAX_REFERENCE_S = 30.0  # f5-tts clips references to about 12 s in its own pipeline; longer ones exhaust memory
