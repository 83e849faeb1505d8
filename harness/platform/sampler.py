"""Telemetry sampled beside the timed region by a background thread (default 20 Hz).

Sources, tried in order: NVML (discrete GPUs; energy from its total-energy counter), Jetson sysfs
(GPU devfreq clock, thermal zones, INA3221 rails), a running ``tegrastats``, jetson-stats' ``jtop``.
Each sample is a dict; the summary gives
energy, peak temperature, min/max clock and any throttle reasons seen.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

Reader = Callable[[], dict[str, Any]]


def nvml_reader(index: int = 0) -> tuple[Reader, Callable[[], None]] | str:
    try:
        import pynvml

        from harness.platform.nvml import gpu_state, handle_for_cuda_device

        pynvml.nvmlInit()
        handle = handle_for_cuda_device(pynvml, index)
    except ImportError:
        return "unavailable: NVML: nvidia-ml-py is not installed (the 'nvml' extra)"
    except Exception as exc:
        return f"unavailable: NVML: {exc}"

    return (lambda: gpu_state(pynvml, handle)), pynvml.nvmlShutdown


def jetson_reader(root: Path = Path("/")) -> tuple[Reader, Callable[[], None]] | str:
    from harness.platform import jetson

    if not jetson.is_jetson(root):
        return "unavailable: not a Jetson"

    def read() -> dict[str, Any]:
        sample: dict[str, Any] = {}
        try:
            sample["sm_clock_mhz"] = jetson.devfreq(root)["cur_freq"] / 1e6
        except (OSError, ValueError) as exc:
            sample["sm_clock_mhz"] = f"unavailable: {exc}"
        temps = []
        for zone in root.glob("sys/class/thermal/thermal_zone*/temp"):
            try:
                temps.append(int(zone.read_text()) / 1000.0)
            except (OSError, ValueError):
                continue
        sample["temperature_c"] = max(temps) if temps else "unavailable: no thermal zones"
        rails = jetson.ina3221_power_w(root)
        if rails:
            sample["power_w"] = sum(rails.values())
            sample["rails_w"] = rails
        return sample

    return read, lambda: None


def tegrastats_reader(interval_ms: int = 50) -> tuple[Reader, Callable[[], None]] | str:
    """Parse a running ``tegrastats --interval N``; each read returns the newest parsed line."""
    import shutil
    import subprocess

    from harness.platform.jetson import parse_tegrastats

    if shutil.which("tegrastats") is None:
        return "unavailable: tegrastats not on PATH"
    proc = subprocess.Popen(
        ["tegrastats", "--interval", str(interval_ms)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    latest: dict[str, Any] = {}

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                parsed = parse_tegrastats(line)
            except ValueError as exc:
                latest.clear()
                latest["error"] = f"unavailable: {exc}"
                continue
            latest.clear()
            latest.update(
                {
                    "sm_clock_mhz": parsed["gpu_freq_mhz"],
                    "temperature_c": max(parsed["temperatures_c"].values(), default=None),
                    "power_w": parsed["power_w"],
                    "rails_w": parsed["rails_w"],
                }
            )

    threading.Thread(target=pump, name="tegrastats-reader", daemon=True).start()

    def close() -> None:
        proc.terminate()
        proc.wait(timeout=5)

    return (lambda: dict(latest)), close


def jtop_reader() -> tuple[Reader, Callable[[], None]] | str:
    """jetson-stats' ``jtop`` service (optional): temperatures and total power from ``jtop.stats``."""
    try:
        from jtop import jtop
    except ImportError:
        return "unavailable: jetson-stats (jtop) is not installed"
    handle = jtop()
    try:
        handle.start()
    except Exception as exc:  # jtop raises its own JtopException when the service is down
        return f"unavailable: jtop: {exc}"

    def read() -> dict[str, Any]:
        stats = dict(handle.stats)
        temps = [v for k, v in stats.items() if k.startswith("Temp") and isinstance(v, (int, float)) and v > -100]
        power = stats.get("Power TOT")
        return {
            "temperature_c": max(temps) if temps else "unavailable: no temperature in jtop stats",
            "power_w": power / 1000.0 if isinstance(power, (int, float)) else "unavailable: no Power TOT",
        }

    return read, handle.close


class Sampler:
    """``with Sampler(device) as s: ...`` then ``s.summary(audio_s)``."""

    def __init__(
        self, device_index: int = 0, hz: float = 20.0, root: Path = Path("/"), sources: tuple[str, ...] | None = None
    ) -> None:
        self.period = 1.0 / hz
        self.samples: list[dict[str, Any]] = []
        self.source = "none"
        self.why: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._read: Reader | None = None
        self._close: Callable[[], None] = lambda: None
        known: dict[str, Callable[[], tuple[Reader, Callable[[], None]] | str]] = {
            "nvml": lambda: nvml_reader(device_index),
            "jetson": lambda: jetson_reader(root),
            "tegrastats": lambda: tegrastats_reader(int(1000 / hz)),
            "jtop": jtop_reader,
        }
        for name in sources or tuple(known):
            make = known[name]
            made = make()
            if isinstance(made, str):
                self.why.append(made)
                continue
            self._read, self._close = made
            self.source = name
            break

    def _loop(self) -> None:
        assert self._read is not None
        while not self._stop.is_set():
            sample = self._read()
            sample["t"] = time.perf_counter()
            self.samples.append(sample)
            self._stop.wait(self.period)

    def __enter__(self) -> Sampler:
        if self._read is not None:
            self._thread = threading.Thread(target=self._loop, name="tts-harness-sampler", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            if self._read is not None:  # one last sample closes the energy interval
                self.samples.append({**self._read(), "t": time.perf_counter()})
        self._close()

    def summary(self, audio_s: float) -> dict[str, Any]:
        if not self.samples:
            return {"source": self.source, "available": False, "why": "; ".join(self.why) or "no samples"}

        def numbers(key: str) -> list[float]:
            return [float(s[key]) for s in self.samples if isinstance(s.get(key), (int, float))]

        clocks, temps, power = numbers("sm_clock_mhz"), numbers("temperature_c"), numbers("power_w")
        span = self.samples[-1]["t"] - self.samples[0]["t"]
        energy = numbers("energy_mj")
        if len(energy) >= 2:
            joules, method = (energy[-1] - energy[0]) / 1000.0, "nvml total-energy counter"
        elif power:
            joules, method = sum(power) / len(power) * span, "mean power x time"
        else:
            joules, method = None, "unavailable"
        reasons = sorted(
            {
                r
                for s in self.samples
                for r in (s.get("throttle_reasons") or [])
                if isinstance(s.get("throttle_reasons"), list)
            }
        )
        return {
            "source": self.source,
            "available": True,
            "samples": len(self.samples),
            "rate_hz": (len(self.samples) - 1) / span if span > 0 else None,
            "clock_mhz_min": min(clocks) if clocks else None,
            "clock_mhz_max": max(clocks) if clocks else None,
            "temperature_c_peak": max(temps) if temps else None,
            "power_w_mean": sum(power) / len(power) if power else None,
            "energy_j": joules,
            "energy_method": method,
            "j_per_audio_s": joules / audio_s if joules is not None and audio_s > 0 else None,
            "throttle_reasons_seen": [r for r in reasons if r not in ("gpu_idle", "applications_clocks_setting")],
        }
