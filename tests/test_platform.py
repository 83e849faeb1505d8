"""Platform sources on recorded Jetson outputs (tests/fixtures/jetson/SOURCES.md) and on this machine."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from harness.platform import jetson
from harness.platform.fingerprint import collect, key
from harness.platform.preflight import checks_from
from harness.platform.sampler import Sampler

FIXTURES = Path(__file__).parent / "fixtures" / "jetson"
OUT = FIXTURES / "outputs"


def recorded(name: str) -> object:
    def command(args: list[str]) -> str:
        assert args == ["nvpmodel", "-q"]
        return (OUT / f"{name}-nvpmodel-q.txt").read_text()

    return command


def no_command(args: list[str]) -> str:
    raise FileNotFoundError(f"{args[0]} not on PATH")


def test_agx_orin_fake_root() -> None:
    info = jetson.collect(FIXTURES / "agx-orin", command=recorded("agx-orin"))
    assert isinstance(info, dict)
    assert info["model"] == "NVIDIA Jetson AGX Orin Developer Kit"
    assert info["l4t"]["release"] == "R36.4.4"
    assert info["power_mode"] == {"name": "MAXN", "id": 0}
    assert info["gpu_freq"] == {
        "node": "17000000.gpu",
        "cur_freq": 306000000,
        "min_freq": 306000000,
        "max_freq": 1300500000,
    }
    assert info["emc_freq"]["cur_freq"] == 2133000000
    assert info["clocks_locked"] is False


def test_orin_nano_power_mode_from_files_when_nvpmodel_is_absent() -> None:
    info = jetson.collect(FIXTURES / "orin-nano", command=no_command)
    assert isinstance(info, dict)
    assert info["power_mode"] == {"name": "25W", "id": 1}
    assert info["emc_freq"].startswith("unavailable:")  # no debugfs in this tree: recorded, not raised


def test_locked_clocks_are_recognized(tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(FIXTURES / "agx-orin", root)
    (root / "sys/class/devfreq/17000000.gpu/min_freq").write_text("1300500000\n")
    (root / "sys/class/devfreq/17000000.gpu/cur_freq").write_text("1300500000\n")
    info = jetson.collect(root, command=recorded("agx-orin"))
    assert isinstance(info, dict) and info["clocks_locked"] is True


def test_unreadable_sysfs_is_recorded_not_raised(tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(FIXTURES / "agx-orin", root)
    (root / "sys/class/devfreq/17000000.gpu/cur_freq").write_text("garbage\n")
    (root / "proc/device-tree/model").unlink()
    info = jetson.collect(root, command=no_command)
    assert isinstance(info, dict)
    assert info["gpu_freq"].startswith("unavailable:") and info["model"].startswith("unavailable:")
    assert "clocks_locked" not in info


def test_not_a_jetson(tmp_path: Path) -> None:
    assert jetson.collect(tmp_path) == "unavailable: not a Jetson (no /etc/nv_tegra_release)"


@pytest.mark.parametrize(
    ("name", "mode", "gpu", "locked"),
    [
        ("agx-orin-jetson_clocks-show", None, (306000000, 1300500000, 306000000), False),
        ("orin-nano-jetson_clocks-show", "25W", (306000000, 918000000, 306000000), False),
        ("orin-nano-super-jetson_clocks-show-locked", "MAXN_SUPER", (1020000000, 1020000000, 1020000000), True),
    ],
)
def test_jetson_clocks_show(name: str, mode: str | None, gpu: tuple[int, int, int], locked: bool) -> None:
    parsed = jetson.parse_jetson_clocks_show((OUT / f"{name}.txt").read_text())
    assert (parsed["gpu"]["min_freq"], parsed["gpu"]["max_freq"], parsed["gpu"]["cur_freq"]) == gpu
    assert parsed["power_mode"] == mode and parsed["gpu_locked"] is locked
    assert "emc" in parsed


def test_nvpmodel_output() -> None:
    assert jetson.parse_nvpmodel((OUT / "orin-nano-nvpmodel-q.txt").read_text()) == {"name": "25W", "id": 1}
    with pytest.raises(ValueError, match="unrecognized nvpmodel output"):
        jetson.parse_nvpmodel("NVPM ERROR: failed to read PARAM")


def test_tegrastats_agx_orin() -> None:
    first, second = (OUT / "agx-orin-tegrastats.txt").read_text().splitlines()
    a = jetson.parse_tegrastats(first)
    assert (a["ram_used_mb"], a["ram_total_mb"], a["gpu_load_pct"], a["emc_freq_mhz"]) == (18207, 62841, 0, 2133)
    assert a["temperatures_c"]["tj"] == 52.562
    assert a["rails_w"] == {"VDD_GPU_SOC": 2.412, "VDD_CPU_CV": 1.607, "VIN_SYS_5V0": 4.707}
    assert a["power_w"] == 4.707 and len(a["cpu_load_pct"]) == 12
    b = jetson.parse_tegrastats(second)
    assert b["temperatures_c"]["GPU"] == -256.0 and b["rails_w"]["VDDQ_VDD2_1V8AO"] == 0.301


def test_tegrastats_orin_nano_idle_busy_and_three_value_rails() -> None:
    idle, busy, newer = (
        jetson.parse_tegrastats(line) for line in (OUT / "orin-nano-tegrastats.txt").read_text().splitlines()
    )
    assert (busy["gpu_load_pct"], busy["gpu_freq_mhz"], busy["power_w"]) == (99, 612, 16.321)
    assert idle["power_w"] == 5.251 and busy["temperatures_c"]["gpu"] == 58.625
    assert newer["power_w"] == 3.582 and newer["temperatures_c"]["tj"] == 46.843


def test_tegrastats_of_unknown_format_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="not a tegrastats line"):
        jetson.parse_tegrastats((OUT / "thor-tegrastats-unknown-format.txt").read_text())


def test_ina3221_rails() -> None:
    rails = jetson.ina3221_power_w(FIXTURES / "orin-nano")
    assert rails == pytest.approx({"VDD_IN": 3.58, "VDD_CPU_GPU_CV": 0.525, "VDD_SOC": 1.125})


def wait_for_samples(sampler: Sampler, count: int, timeout_s: float = 30.0) -> None:
    """Until the sampler thread has taken ``count`` samples: a loaded machine may starve it for a
    while, so the test waits for the samples, not for a fixed time."""
    deadline = time.perf_counter() + timeout_s
    while len(sampler.samples) < count and time.perf_counter() < deadline:
        time.sleep(0.05)


def test_sampler_reads_a_jetson_root() -> None:
    sampler = Sampler(hz=50, root=FIXTURES / "orin-nano")
    if sampler.source == "nvml":
        pytest.skip("this machine has NVML; the Jetson source is tried second")
    with sampler:
        wait_for_samples(sampler, 5)
    summary = sampler.summary(audio_s=2.0)
    assert summary["source"] == "jetson" and summary["samples"] >= 5
    assert summary["clock_mhz_max"] == 306.0 and summary["temperature_c_peak"] == 46.843
    assert summary["power_w_mean"] == pytest.approx(5.23) and summary["j_per_audio_s"] > 0


def test_fingerprint_on_this_machine_says_what_is_absent() -> None:
    fp = collect()
    assert fp["cpu"]["cores"] >= 1 and fp["software"]["torch"]
    if not Path("/etc/nv_tegra_release").exists():
        assert fp["jetson"].startswith("unavailable:")
    assert fp["key"] == key(fp)


def test_preflight_on_recorded_jetson_states() -> None:
    unlocked = {"jetson": jetson.collect(FIXTURES / "orin-nano", command=no_command), "cpu": {"loadavg": [7.0, 1, 1]}}
    levels = {c.name: c.level for c in checks_from(unlocked, require_power_mode="MAXN")}
    assert levels == {
        "clocks_locked": "critical",
        "power_mode": "critical",
        "temperature": "unknown",
        "load_average": "warning",
    }
    gpu = {"nvml": {"gpus": [{"throttle_reasons_active": [], "temperature_c": 80}]}, "cpu": {"loadavg": [0.5]}}
    levels = {c.name: c.level for c in checks_from(gpu)}
    assert levels == {"clocks_locked": "good", "temperature": "warning", "load_average": "good"}
    two = {"nvml": {"gpus": [{"index": 0, "persistence_mode": True}, {"index": 1, "persistence_mode": False}]}}
    persistence = next(c for c in checks_from(two) if c.name == "persistence_mode")
    assert persistence.level == "warning" and "GPU 1" in persistence.message
    assert "nvidia-smi -pm 1" in persistence.message
    hot = {"nvml": {"gpus": [{"throttle_reasons_active": ["hw_thermal_slowdown"], "temperature_c": 90}]}, "cpu": {}}
    levels = {c.name: c.level for c in checks_from(hot)}
    assert levels["clocks_locked"] == "critical" and levels["temperature"] == "critical"


def test_sampler_parses_a_live_tegrastats(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in `tegrastats` on PATH replays the recorded Orin Nano lines, as the tool prints them."""
    script = tmp_path / "tegrastats"
    lines = (OUT / "orin-nano-tegrastats.txt").read_text()
    script.write_text(f"#!/bin/sh\nwhile true; do cat <<'EOF'\n{lines}EOF\nsleep 0.02; done\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    sampler = Sampler(hz=20, sources=("tegrastats",))
    assert sampler.source == "tegrastats"
    with sampler:
        wait_for_samples(sampler, 5)
    summary = sampler.summary(audio_s=1.0)
    assert summary["samples"] >= 5 and summary["clock_mhz_max"] in (305, 612)
    assert summary["temperature_c_peak"] >= 46.843 and summary["energy_method"] == "mean power x time"


def test_absent_sources_say_why_and_nothing_crashes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no tegrastats
    sampler = Sampler(hz=50, root=tmp_path, sources=("jetson", "tegrastats", "jtop"))
    assert sampler.source == "none"
    assert sampler.why[:2] == ["unavailable: not a Jetson", "unavailable: tegrastats not on PATH"]
    assert sampler.why[2].startswith("unavailable:")
    with sampler:
        time.sleep(0.05)
    assert sampler.summary(1.0) == {"source": "none", "available": False, "why": "; ".join(sampler.why)}


class _NvmlNames:
    """Stands in for NVML (no GPU here): answers with how a handle was asked for."""

    def nvmlDeviceGetHandleByIndex(self, index: int) -> str:
        return f"index {index}"

    def nvmlDeviceGetHandleByUUID(self, uuid: str) -> str:
        return f"uuid {uuid}"


@pytest.mark.parametrize(
    ("visible", "cuda_index", "handle"),
    [(None, 1, "index 1"), ("2,3", 1, "index 3"), ("3", 0, "index 3"), ("GPU-8f1c, GPU-77aa", 1, "uuid GPU-77aa")],
)
def test_telemetry_samples_the_gpu_the_process_sees(
    monkeypatch: pytest.MonkeyPatch, visible: str | None, cuda_index: int, handle: str
) -> None:
    from harness.platform.nvml import handle_for_cuda_device

    if visible is None:
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    else:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    assert handle_for_cuda_device(_NvmlNames(), cuda_index) == handle
