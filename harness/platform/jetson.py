"""Jetson (L4T) state from files under a root path, ``nvpmodel -q`` and ``tegrastats`` text.

Every reader takes ``root`` so that tests run the same code on a recorded fake root directory.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

GPU_DEVFREQ_NAMES = ("ga10b", "gv11b", "gp10b", "gpu")
_NVPMODEL_RE = re.compile(r"NV Power Mode:[ \t]*(?P<name>\S+)[ \t]*(?:\r?\n\s*(?P<id>\d+))?")
_CONF_MODE_RE = re.compile(r"<\s*POWER_MODEL\s+ID=(?P<id>\d+)\s+NAME=(?P<name>\S+)\s*>")
_L4T_RE = re.compile(r"#\s*R(?P<major>\d+)\s*\(release\),\s*REVISION:\s*(?P<revision>[\d.]+)")


def _read(path: Path) -> str:
    return path.read_text(errors="replace").replace("\x00", "").strip()


def is_jetson(root: Path = Path("/")) -> bool:
    return (root / "etc/nv_tegra_release").is_file()


def parse_nvpmodel(text: str) -> dict[str, Any]:
    """``nvpmodel -q`` prints 'NV Power Mode: MAXN' and the mode id on the next line."""
    match = _NVPMODEL_RE.search(text)
    if not match:
        raise ValueError(f"unrecognized nvpmodel output: {text[:80]!r}")
    return {"name": match["name"], "id": int(match["id"]) if match["id"] else None}


def parse_l4t(text: str) -> dict[str, Any]:
    match = _L4T_RE.search(text)
    if not match:
        raise ValueError(f"unrecognized nv_tegra_release: {text[:80]!r}")
    return {"release": f"R{match['major']}.{match['revision']}", "raw": text.splitlines()[0]}


_CLOCKS_RE = re.compile(r"^(GPU|EMC) MinFreq=(\d+) MaxFreq=(\d+) CurrentFreq=(\d+)", re.MULTILINE)


def parse_jetson_clocks_show(text: str) -> dict[str, Any]:
    """``jetson_clocks --show``: GPU and EMC min/max/current (Hz) and the power mode line."""
    found: dict[str, Any] = {
        name.lower(): {"min_freq": int(lo), "max_freq": int(hi), "cur_freq": int(cur)}
        for name, lo, hi, cur in _CLOCKS_RE.findall(text)
    }
    if "gpu" not in found:
        raise ValueError("no 'GPU MinFreq=' line in jetson_clocks --show output")
    mode = re.search(r"NV Power Mode: (\S+)", text)
    found["power_mode"] = mode[1] if mode else None
    found["gpu_locked"] = found["gpu"]["min_freq"] == found["gpu"]["max_freq"]
    return found


def power_mode_from_files(root: Path) -> dict[str, Any]:
    """nvpmodel's status file ('pmode:0000') and the mode names in /etc/nvpmodel.conf."""
    status = _read(root / "var/lib/nvpmodel/status")
    mode_id = int(status.split("pmode:")[1][:4])
    names = {int(m["id"]): m["name"] for m in _CONF_MODE_RE.finditer(_read(root / "etc/nvpmodel.conf"))}
    return {"name": names.get(mode_id, f"mode{mode_id}"), "id": mode_id}


def devfreq(root: Path) -> dict[str, Any]:
    """GPU frequency (Hz) from the devfreq node whose name is the Jetson GPU."""
    base = root / "sys/class/devfreq"
    for node in sorted(base.glob("*")) if base.is_dir() else []:
        name = node.name.split(".")[-1]
        if name in GPU_DEVFREQ_NAMES:
            return {
                "node": node.name,
                **{key: int(_read(node / key)) for key in ("cur_freq", "min_freq", "max_freq")},
            }
    raise FileNotFoundError(f"no GPU devfreq node under {base}")


def emc(root: Path) -> dict[str, Any]:
    """EMC (memory) clock from the BPMP debugfs clock tree (root only on a device)."""
    base = root / "sys/kernel/debug/bpmp/debug/clk/emc"
    return {
        "cur_freq": int(_read(base / "rate")),
        "min_freq": int(_read(base / "min_rate")),
        "max_freq": int(_read(base / "max_rate")),
    }


def run_command(args: list[str]) -> str:
    if shutil.which(args[0]) is None:
        raise FileNotFoundError(f"{args[0]} not on PATH")
    return subprocess.run(args, capture_output=True, text=True, timeout=10, check=True).stdout


def _attempt(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except (OSError, ValueError, IndexError, subprocess.SubprocessError) as exc:
        return f"unavailable: {exc}"


def collect(root: Path = Path("/"), command: Any = run_command) -> dict[str, Any] | str:
    """The Jetson part of the fingerprint, or 'unavailable: not a Jetson'."""
    if not is_jetson(root):
        return "unavailable: not a Jetson (no /etc/nv_tegra_release)"
    info: dict[str, Any] = {
        "model": _attempt(lambda: _read(root / "proc/device-tree/model")),
        "l4t": _attempt(lambda: parse_l4t(_read(root / "etc/nv_tegra_release"))),
    }
    mode = _attempt(lambda: parse_nvpmodel(command(["nvpmodel", "-q"])))
    if isinstance(mode, str):
        mode = _attempt(power_mode_from_files, root)
    info["power_mode"] = mode
    info["gpu_freq"] = _attempt(devfreq, root)
    info["emc_freq"] = _attempt(emc, root)
    gpu = info["gpu_freq"]
    if isinstance(gpu, dict):
        # jetson_clocks pins min to max; "at max" alone also counts as locked for the preflight.
        info["clocks_locked"] = gpu["min_freq"] == gpu["max_freq"] or gpu["cur_freq"] >= gpu["max_freq"]
    return info


# ---- tegrastats ------------------------------------------------------------------------------

_RAM_RE = re.compile(r"RAM (\d+)/(\d+)MB")
_GR3D_RE = re.compile(r"GR3D_FREQ (\d+)%(?:@\[?(\d+)(?:,\d+)*\]?)?")
_EMC_RE = re.compile(r"EMC_FREQ (\d+)%(?:@(\d+))?")
_TEMP_RE = re.compile(r"\b([A-Za-z0-9_]+)@(-?[\d.]+)C\b")
_RAIL_RE = re.compile(r"\b([A-Z][A-Z0-9_]+) (\d+)mW/(\d+)mW")
_CPU_RE = re.compile(r"CPU \[([^\]]*)\]")


def parse_tegrastats(line: str) -> dict[str, Any]:
    """One ``tegrastats`` line (Xavier/Orin formats) to numbers; rails in W, clocks in MHz."""
    ram = _RAM_RE.search(line)
    gr3d = _GR3D_RE.search(line)
    if not ram or not gr3d:
        raise ValueError(f"not a tegrastats line: {line[:60]!r}")
    out: dict[str, Any] = {
        "ram_used_mb": int(ram[1]),
        "ram_total_mb": int(ram[2]),
        "gpu_load_pct": int(gr3d[1]),
        "gpu_freq_mhz": int(gr3d[2]) if gr3d[2] else None,
        "temperatures_c": {name: float(value) for name, value in _TEMP_RE.findall(line)},
        "rails_w": {name: int(now) / 1000.0 for name, now, _avg in _RAIL_RE.findall(line)},
    }
    emc_match = _EMC_RE.search(line)
    if emc_match:
        out["emc_load_pct"] = int(emc_match[1])
        out["emc_freq_mhz"] = int(emc_match[2]) if emc_match[2] else None
    cpu = _CPU_RE.search(line)
    if cpu:
        out["cpu_load_pct"] = [int(c.split("%")[0]) for c in cpu[1].split(",") if "%" in c]
    total = [w for name, w in out["rails_w"].items() if name in ("VDD_IN", "VIN_SYS_5V0", "POM_5V_IN")]
    out["power_w"] = total[0] if total else sum(out["rails_w"].values()) or None
    return out


def ina3221_power_w(root: Path) -> dict[str, float]:
    """Per-rail power from the INA3221 hwmon nodes (in*_input mV x curr*_input mA)."""
    rails: dict[str, float] = {}
    for hwmon in sorted(root.glob("sys/bus/i2c/drivers/ina3221/*/hwmon/hwmon*")):
        for label in sorted(hwmon.glob("in*_label")):
            channel = label.name[2:].split("_")[0]
            try:
                millivolts = int(_read(hwmon / f"in{channel}_input"))
                milliamps = int(_read(hwmon / f"curr{channel}_input"))
            except (OSError, ValueError):
                continue
            rails[_read(label)] = millivolts * milliamps / 1e6
    return rails
