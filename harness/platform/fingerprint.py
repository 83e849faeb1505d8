"""The platform fingerprint recorded with every sweep and used to key baselines."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from harness.platform.cpu import cpu_info
from harness.platform.software import versions


def _cuda_devices() -> list[dict[str, Any]] | str:
    try:
        import torch

        if not torch.cuda.is_available():
            return "unavailable: no CUDA device"
        return [
            {
                "index": i,
                "name": torch.cuda.get_device_name(i),
                "capability": ".".join(map(str, torch.cuda.get_device_capability(i))),
                "memory_gib": round(torch.cuda.get_device_properties(i).total_memory / 2**30, 1),
            }
            for i in range(torch.cuda.device_count())
        ]
    except Exception as exc:  # any driver failure is a fact to record, not a crash
        return f"unavailable: {exc}"


def collect(root: Path = Path("/")) -> dict[str, Any]:
    """Everything known about the machine now; sources that are absent say why."""
    from harness.platform import jetson, nvml

    fingerprint: dict[str, Any] = {
        "cpu": cpu_info(root),
        "software": versions(),
        "cuda_devices": _cuda_devices(),
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "jetson": jetson.collect(root),
        "nvml": nvml.collect(),
    }
    fingerprint["key"] = key(fingerprint)
    fingerprint["clocks_locked"] = clocks_locked(fingerprint)
    return fingerprint


def accelerator_name(fingerprint: dict[str, Any]) -> str:
    """The GPU or SoC that runs the model: Jetson model, else first CUDA device, else the CPU."""
    jet = fingerprint.get("jetson") or {}
    if isinstance(jet, dict) and jet.get("model"):
        return str(jet["model"])
    devices = fingerprint.get("cuda_devices")
    if isinstance(devices, list) and devices:
        return str(devices[0]["name"])
    return f"cpu:{fingerprint.get('cpu', {}).get('model', 'unknown')}"


def key_fields(fingerprint: dict[str, Any]) -> dict[str, Any]:
    """What must match for two sweeps' timings to be comparable."""
    software = fingerprint.get("software", {})
    jet = fingerprint.get("jetson") or {}
    return {
        "accelerator": accelerator_name(fingerprint),
        "power_mode": jet.get("power_mode", {}).get("name") if isinstance(jet, dict) else None,
        "torch": software.get("torch"),
        "cuda": software.get("cuda"),
        "f5-tts": software.get("f5-tts"),
        "vocos": software.get("vocos"),
        "tensorrt": software.get("tensorrt"),
    }


def key(fingerprint: dict[str, Any]) -> str:
    """Short stable id of ``key_fields``: names a baseline file."""
    fields = key_fields(fingerprint)
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:12]
    name = "".join(c if c.isalnum() else "-" for c in str(fields["accelerator"]).lower()).strip("-")
    return f"{name[:40]}-{digest}"


def clocks_locked(fingerprint: dict[str, Any]) -> bool | None:
    """True/False where a source can tell, None where none can (a CPU-only machine)."""
    jet = fingerprint.get("jetson")
    if isinstance(jet, dict) and "clocks_locked" in jet:
        return bool(jet["clocks_locked"])
    gpus = fingerprint.get("nvml")
    if isinstance(gpus, dict) and isinstance(gpus.get("gpus"), list) and gpus["gpus"]:
        return all(not g.get("throttle_reasons_active") for g in gpus["gpus"])
    return None
