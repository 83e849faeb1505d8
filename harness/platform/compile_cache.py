"""TorchInductor's compile cache: its state at the start, its hits and misses, and torch.compiler's
cache artifacts saved with results and hot-loaded by a later sweep."""

from __future__ import annotations

import gzip
import logging
import time
from pathlib import Path
from typing import Any

from harness.errors import first_line

log = logging.getLogger(__name__)


def compile_cache_state() -> dict[str, Any]:
    """Where TorchInductor keeps compiled graphs and how much it held at the start: a sweep that
    starts from an empty cache compiles everything (cold), one that finds it filled reuses it (warm)."""
    from torch._inductor.runtime.cache_dir_utils import cache_dir

    folder = Path(cache_dir())
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) if folder.is_dir() else 0
    return {"inductor_cache_dir": str(folder), "inductor_cache_mib_at_start": round(size / 2**20, 1)}


def fx_graph_cache_counts() -> dict[str, float]:
    """TorchInductor's FX-graph cache hits, misses and bypasses in this process so far: a warm
    sweep shows hits, a cold one misses."""
    from torch._dynamo.utils import counters

    return {f"fxgraph_cache_{k}": float(counters["inductor"][f"fxgraph_cache_{k}"]) for k in ("hit", "miss", "bypass")}


def _entries(info: Any) -> int:
    return sum(len(keys) for keys in info.artifacts.values()) if info is not None else 0


def load_compile_artifacts(folder: Path) -> dict[str, Any]:
    """Hot-load every ``*.bin.gz`` of torch.compiler cache artifacts in ``folder`` (what earlier sweeps,
    or other parts of this one, saved): compiled graphs then load instead of compiling, also on a
    machine whose TorchInductor cache is empty."""
    import torch

    start = time.perf_counter()
    files = sorted(folder.glob("*.bin.gz")) if folder.is_dir() else []
    size = entries = 0
    unreadable = []
    for file in files:
        try:  # a cache: a damaged file costs a compile, not the sweep
            entries += _entries(torch.compiler.load_cache_artifacts(gzip.decompress(file.read_bytes())))
            size += file.stat().st_size
        except Exception as exc:
            log.warning("compile artifacts %s not loaded: %s", file, first_line(exc))
            unreadable.append(file.name)
    return {
        "dir": str(folder),
        "files": len(files) - len(unreadable),
        "unreadable": unreadable,
        "mib": round(size / 2**20, 2),
        "entries": entries,
        "load_s": round(time.perf_counter() - start, 3),
    }


def save_compile_artifacts(path: Path) -> dict[str, Any] | None:
    """Write what this process compiled or loaded as torch.compiler cache artifacts (None: nothing)."""
    import torch

    saved = torch.compiler.save_cache_artifacts()
    if not saved or not saved[0]:
        return None
    data, info = saved
    packed = gzip.compress(data, compresslevel=6)  # kernel binaries shrink several-fold
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(packed)
    partial.replace(path)
    return {"file": str(path), "mib": round(len(packed) / 2**20, 2), "entries": _entries(info)}
