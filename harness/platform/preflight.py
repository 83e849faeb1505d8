"""Preflight: is the machine in a state whose timings can be trusted and compared?

Levels follow the service's maintenance plan: temperature warning 75 C / critical 85 C, load
average warning 6 / critical 8; clocks must be locked (Jetson: ``jetson_clocks`` active or GPU at
max frequency; NVIDIA GPUs: no throttle reasons but idle); the power mode must be the one the suite
names (MAXN for the Jetson suite).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

TEMP_WARNING_C, TEMP_CRITICAL_C = 75.0, 85.0
LOAD_WARNING, LOAD_CRITICAL = 6.0, 8.0


@dataclass(frozen=True)
class Check:
    name: str
    level: str  # good | warning | critical | unknown
    value: Any
    message: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _band(name: str, value: float, warning: float, critical: float, unit: str) -> Check:
    level = "critical" if value > critical else "warning" if value >= warning else "good"
    return Check(name, level, value, f"{name} {value:g}{unit} (warning {warning:g}, critical {critical:g})")


def checks_from(fingerprint: dict[str, Any], require_power_mode: str | None = None) -> list[Check]:
    out: list[Check] = []
    jet = fingerprint.get("jetson")
    nvml = fingerprint.get("nvml")
    gpus = nvml.get("gpus") if isinstance(nvml, dict) else None
    if isinstance(jet, dict):
        locked = jet.get("clocks_locked")
        freq = jet.get("gpu_freq")
        detail = (
            f"GPU {freq['cur_freq'] / 1e6:.0f} MHz, min {freq['min_freq'] / 1e6:.0f}, max {freq['max_freq'] / 1e6:.0f}"
            if isinstance(freq, dict)
            else str(freq)
        )
        if locked is None:
            out.append(Check("clocks_locked", "unknown", None, f"cannot tell: {detail}"))
        else:
            out.append(
                Check(
                    "clocks_locked",
                    "good" if locked else "critical",
                    locked,
                    f"{detail}; {'locked' if locked else 'not locked: run sudo jetson_clocks'}",
                )
            )
    elif gpus:
        active = sorted({r for g in gpus for r in g.get("throttle_reasons_active", [])})
        out.append(
            Check(
                "clocks_locked",
                "critical" if active else "good",
                not active,
                f"throttle reasons: {', '.join(active)}" if active else "no throttle reasons but idle",
            )
        )
    else:
        out.append(Check("clocks_locked", "unknown", None, "no GPU telemetry source on this machine"))

    off = [str(g.get("index", "?")) for g in gpus or [] if g.get("persistence_mode") is False]
    if off:
        out.append(
            Check(
                "persistence_mode",
                "warning",
                False,
                f"off on GPU {', '.join(off)}: every new process pays the driver's start-up (sudo nvidia-smi -pm 1)",
            )
        )
    elif any(g.get("persistence_mode") is True for g in gpus or []):
        out.append(Check("persistence_mode", "good", True, "on"))

    if require_power_mode:
        mode = jet.get("power_mode") if isinstance(jet, dict) else None
        name = mode.get("name") if isinstance(mode, dict) else None
        if name is None:
            out.append(
                Check(
                    "power_mode",
                    "critical",
                    None,
                    f"power mode unknown ({mode if isinstance(jet, dict) else jet}); suite needs {require_power_mode}",
                )
            )
        else:
            ok = name == require_power_mode
            out.append(
                Check(
                    "power_mode",
                    "good" if ok else "critical",
                    name,
                    f"power mode {name}" + ("" if ok else f", suite needs {require_power_mode}: sudo nvpmodel -m 0"),
                )
            )

    temps = [g["temperature_c"] for g in gpus or [] if isinstance(g.get("temperature_c"), (int, float))]
    if isinstance(jet, dict) and isinstance(jet.get("temperature_c"), (int, float)):
        temps.append(jet["temperature_c"])
    if temps:
        out.append(_band("temperature", float(max(temps)), TEMP_WARNING_C, TEMP_CRITICAL_C, " C"))
    else:
        out.append(Check("temperature", "unknown", None, "no temperature source"))

    load = fingerprint.get("cpu", {}).get("loadavg")
    if isinstance(load, list) and load:
        out.append(_band("load_average", float(load[0]), LOAD_WARNING, LOAD_CRITICAL, ""))
    else:
        out.append(Check("load_average", "unknown", None, f"load average {load}"))
    return out


def run_preflight(require_power_mode: str | None = None, root: Path = Path("/")) -> list[Check]:
    from harness.platform.fingerprint import collect

    return checks_from(collect(root), require_power_mode)


def preflight_text(checks: list[Check]) -> str:
    return "\n".join(f"{c.level.upper():8} {c.name}: {c.message}" for c in checks)
