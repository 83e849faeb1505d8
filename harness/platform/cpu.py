"""CPU, memory and load: read from /proc and /sys, each field 'unavailable: why' on failure."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any


def _read(path: Path) -> str:
    return path.read_text().strip()


def cpu_info(root: Path = Path("/")) -> dict[str, Any]:
    info: dict[str, Any] = {"machine": platform.machine(), "cores": os.cpu_count()}
    try:
        for line in _read(root / "proc/cpuinfo").splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Model") and value.strip():
                info["model"] = value.strip()
                break
        else:
            info["model"] = platform.processor() or "unknown"
    except OSError as exc:
        info["model"] = f"unavailable: {exc.strerror or exc}"
    try:
        info["governor"] = _read(root / "sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")
    except OSError as exc:
        info["governor"] = f"unavailable: {exc.strerror or exc}"
    try:
        info["loadavg"] = [float(v) for v in _read(root / "proc/loadavg").split()[:3]]
    except (OSError, ValueError) as exc:
        info["loadavg"] = f"unavailable: {exc}"
    try:
        meminfo = dict(line.split(":", 1) for line in _read(root / "proc/meminfo").splitlines() if ":" in line)
        info["mem_total_gib"] = round(int(meminfo["MemTotal"].split()[0]) / 2**20, 2)
        info["mem_available_gib"] = round(int(meminfo["MemAvailable"].split()[0]) / 2**20, 2)
    except (OSError, KeyError, ValueError) as exc:
        info["mem_total_gib"] = f"unavailable: {exc}"
    return info
