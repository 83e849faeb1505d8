"""Dense peak throughput and memory bandwidth of known accelerators: the roofline's ceilings.

Dense (no 2:4 sparsity) tensor-core figures per number format, TFLOP/s (TOPS for int8), and DRAM
bandwidth in GB/s. Data-center cards: NVIDIA's datasheets (SXM where there are several forms). The
Jetson figures are computed the way NVIDIA's Jetson Orin technical brief counts them: 64 (AGX Orin)
or 32 (Orin Nano) third-generation tensor cores x 512 dense fp16 FLOP per clock x the maximum GPU
clock (1.3 GHz AGX Orin 64GB, 625 MHz Orin Nano 8GB), int8 twice that, fp32 from the CUDA cores;
they match the briefs' 170 / 40 sparse int8 TOPS. A suite's ``[roofline]`` table overrides them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Peak:
    card: str
    tflops: dict[str, float]  # number format -> dense peak (fp32, tf32, fp16, bf16, fp8, int8)
    bandwidth_gbs: float
    source: str
    match: tuple[str, ...] = field(default=())  # substrings of the device name (lower case)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("match")
        return out


_HOPPER = {"fp32": 67.0, "tf32": 494.7, "fp16": 989.4, "bf16": 989.4, "fp8": 1978.9, "int8": 1978.9}
PEAKS = (
    Peak("H200", _HOPPER, 4800.0, "NVIDIA H200 Tensor Core GPU datasheet (SXM), dense", ("h200",)),
    Peak("H100", _HOPPER, 3350.0, "NVIDIA H100 Tensor Core GPU datasheet (SXM), dense", ("h100",)),
    Peak(
        "A100",
        {"fp32": 19.5, "tf32": 156.0, "fp16": 312.0, "bf16": 312.0, "int8": 624.0},
        2039.0,
        "NVIDIA A100 Tensor Core GPU datasheet (SXM 80GB), dense",
        ("a100",),
    ),
    Peak(
        "L20",
        {"fp32": 59.8, "tf32": 59.8, "fp16": 119.5, "bf16": 119.5, "fp8": 239.0, "int8": 239.0},
        864.0,
        "NVIDIA L20 datasheet, dense",
        ("l20",),
    ),
    Peak(
        "L4",
        {"fp32": 30.3, "tf32": 60.0, "fp16": 121.0, "bf16": 121.0, "fp8": 242.0, "int8": 242.0},
        300.0,
        "NVIDIA L4 Tensor Core GPU datasheet, dense",
        ("l4",),
    ),
    Peak(
        "Jetson Orin Nano 8GB",
        {"fp32": 1.28, "tf32": 5.1, "fp16": 10.2, "bf16": 10.2, "int8": 20.5},
        68.0,
        "computed: 32 tensor cores x 512 FLOP/clock x 625 MHz (Jetson Orin Nano technical brief: 40 sparse TOPS)",
        ("orin nano",),
    ),
    Peak(
        "Jetson AGX Orin 64GB",
        {"fp32": 5.3, "tf32": 21.3, "fp16": 42.6, "bf16": 42.6, "int8": 85.2},
        204.8,
        "computed: 64 tensor cores x 512 FLOP/clock x 1.3 GHz (Jetson AGX Orin technical brief: 170 sparse TOPS)",
        ("agx orin",),
    ),
)


def peak_for(device_name: str) -> Peak | None:
    """The table's entry for a device name (``NVIDIA H200``, ``Orin``, the Jetson's model string)."""
    name = device_name.lower()
    for peak in PEAKS:
        if any(m in name for m in peak.match) and not (peak.card == "L4" and "l40" in name):
            return peak
    return None


def compute_format(precision: str, quant: str, matmul_precision: str) -> str:
    """The number format the DiT's matmuls run in: what the peak is read for."""
    if quant == "fp8":
        return "fp8"
    if quant == "int8-dynamic":
        return "int8"
    if precision in ("fp16", "amp-fp16"):
        return "fp16"
    if precision in ("bf16", "amp-bf16"):
        return "bf16"
    return "fp32" if matmul_precision == "highest" else "tf32"
