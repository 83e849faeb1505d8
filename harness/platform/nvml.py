"""Discrete NVIDIA GPUs through NVML (``nvidia-ml-py``): identity, clocks, throttle reasons, power."""

from __future__ import annotations

import contextlib
import os
from typing import Any

# NVML clock-event (throttle) reason bits; "GPU idle" and "applications clocks" are benign.
THROTTLE_REASONS = {
    0x1: "gpu_idle",
    0x2: "applications_clocks_setting",
    0x4: "sw_power_cap",
    0x8: "hw_slowdown",
    0x10: "sync_boost",
    0x20: "sw_thermal_slowdown",
    0x40: "hw_thermal_slowdown",
    0x80: "hw_power_brake_slowdown",
    0x100: "display_clock_setting",
}
BENIGN = {"gpu_idle", "applications_clocks_setting"}


def decode_reasons(mask: int) -> list[str]:
    return [name for bit, name in THROTTLE_REASONS.items() if mask & bit]


def _init() -> Any:
    import pynvml

    pynvml.nvmlInit()
    return pynvml


def _safe(fn: Any, *args: Any) -> Any:
    try:
        value = fn(*args)
    except Exception as exc:  # NVMLError_NotSupported and friends: a recorded fact
        return f"unavailable: {exc}"
    return value.decode() if isinstance(value, bytes) else value


def gpu_state(nv: Any, handle: Any) -> dict[str, Any]:
    """Fast-changing values (what the sampler reads)."""
    clocks = _safe(nv.nvmlDeviceGetClockInfo, handle, nv.NVML_CLOCK_SM)
    reasons = _safe(nv.nvmlDeviceGetCurrentClocksEventReasons, handle)
    power_mw = _safe(nv.nvmlDeviceGetPowerUsage, handle)
    return {
        "sm_clock_mhz": clocks,
        "mem_clock_mhz": _safe(nv.nvmlDeviceGetClockInfo, handle, nv.NVML_CLOCK_MEM),
        "temperature_c": _safe(nv.nvmlDeviceGetTemperature, handle, nv.NVML_TEMPERATURE_GPU),
        "power_w": power_mw / 1000.0 if isinstance(power_mw, int) else power_mw,
        "energy_mj": _safe(nv.nvmlDeviceGetTotalEnergyConsumption, handle),
        "throttle_reasons": decode_reasons(reasons) if isinstance(reasons, int) else reasons,
    }


def handle_for_cuda_device(nv: Any, cuda_index: int = 0) -> Any:
    """The NVML handle of CUDA device ``cuda_index`` as this process numbers it: NVML ignores
    ``CUDA_VISIBLE_DEVICES`` (an index or a ``GPU-`` UUID per entry), CUDA does not."""
    entries = [e.strip() for e in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if e.strip()]
    if cuda_index < len(entries):
        entry = entries[cuda_index]
        if entry.isdigit():
            return nv.nvmlDeviceGetHandleByIndex(int(entry))
        return nv.nvmlDeviceGetHandleByUUID(entry)
    return nv.nvmlDeviceGetHandleByIndex(cuda_index)


def collect() -> dict[str, Any]:
    """Identity and state of every GPU NVML sees, or 'unavailable: why'."""
    try:
        nv = _init()
    except Exception as exc:
        return {"available": False, "why": f"unavailable: {exc}"}
    try:
        gpus = []
        for index in range(nv.nvmlDeviceGetCount()):
            handle = nv.nvmlDeviceGetHandleByIndex(index)
            state = gpu_state(nv, handle)
            reasons = state["throttle_reasons"]
            limit = _safe(nv.nvmlDeviceGetPowerManagementLimit, handle)
            persistence = _safe(nv.nvmlDeviceGetPersistenceMode, handle)
            gpus.append(
                {
                    "index": index,
                    "name": _safe(nv.nvmlDeviceGetName, handle),
                    "max_sm_clock_mhz": _safe(nv.nvmlDeviceGetMaxClockInfo, handle, nv.NVML_CLOCK_SM),
                    "max_mem_clock_mhz": _safe(nv.nvmlDeviceGetMaxClockInfo, handle, nv.NVML_CLOCK_MEM),
                    "power_limit_w": limit / 1000.0 if isinstance(limit, int) else limit,
                    "persistence_mode": bool(persistence) if isinstance(persistence, int) else persistence,
                    **state,
                    "throttle_reasons_active": [r for r in reasons if r not in BENIGN]
                    if isinstance(reasons, list)
                    else [],
                }
            )
        return {
            "available": True,
            "driver": _safe(nv.nvmlSystemGetDriverVersion),
            "cuda_driver": _safe(nv.nvmlSystemGetCudaDriverVersion_v2),
            "gpus": gpus,
        }
    finally:
        with contextlib.suppress(Exception):
            nv.nvmlShutdown()
