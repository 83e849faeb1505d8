"""Issue 30: is a call of one text slower behind a max_batch 4 batcher, or after the batch warm-up,
than at max_batch 1? (On the H100: 1.25x per request, the same requests alone and idle;
low-load-batching.py.) The same texts, one at a time, through the batcher at max_batch 1 and 4 in
turn (three times each, interleaved), before and after ``warm_shapes`` up to 4. Clock:
perf_counter around each ``speak`` call (the batcher's own call; the audio is copied to the host,
which waits for the GPU).
Run: PYTHONPATH=. python reports/serving/calls-of-one.py            (the tiny model, this CPU)
     PYTHONPATH=. python reports/serving/calls-of-one.py cuda OUT   (F5TTS_v1_Base fp16 eager, random
     weights; OUT gets torch.profiler's table of one call of one at max_batch 1 and at 4, after
     the warm-up, sorted by CUDA time)"""

import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from harness.pipeline.build import build_model, build_vocos
from harness.pipeline.synth import Synthesizer
from harness.serving.scenario import warm_shapes
from harness.serving.service import BatchOptions, PipelineService, Request, StreamOptions
from harness.textsets import load_test_set
from harness.vocoders.torch_backend import TorchVocoder
from tests.conftest import REFERENCE, REFERENCE_TEXT

device = sys.argv[1] if len(sys.argv) > 1 else "cpu"
out = Path(sys.argv[2]) if len(sys.argv) > 2 else None
preset, precision, nfe = ("tiny", "fp32", 4) if device == "cpu" else ("f5tts_v1_base", "fp16", 8)
torch.set_num_threads(1)
model = build_model(preset, "random", precision, "none", device, seed=0)
synth = Synthesizer(model, TorchVocoder(build_vocos(preset, "random", device), model.device))
texts = [t.text for t in load_test_set(Path("suites/texts/live-stream.toml"))][:10]
calls: list[float] = []


profile_next: list[Path] = []  # a table to write: the next call runs under torch.profiler


def speak(batch: list[str]) -> list[np.ndarray]:
    if profile_next:  # in the batcher's thread, where the call runs (the profiler records this thread's ops)
        from torch.profiler import ProfilerActivity, profile

        activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device != "cpu" else [])
        with profile(activities=activities) as prof:
            pieces = synth.synthesize_texts(REFERENCE, REFERENCE_TEXT, batch, nfe=nfe).pieces
        key = "cuda_time_total" if device != "cpu" else "cpu_time_total"
        profile_next.pop().write_text(prof.key_averages().table(sort_by=key, row_limit=40))
        return pieces
    began = time.perf_counter()
    pieces = synth.synthesize_texts(REFERENCE, REFERENCE_TEXT, batch, nfe=nfe).pieces
    calls.append(time.perf_counter() - began)
    return pieces


def singles(max_batch: int, profile: Path | None = None) -> float:
    """Median seconds of a call of one: every text twice, one request at a time (``profile``: the
    first call under torch.profiler, its table written there)."""
    service = PipelineService(speak, synth.sample_rate, StreamOptions(), BatchOptions(max_batch, 5.0))
    calls.clear()
    if profile is not None:
        profile_next.append(profile)
        service.handle(Request(0, texts[0], "0", 0.0), lambda piece: None)
    for i, text in enumerate(texts * 2):
        service.handle(Request(i, text, str(i), 0.0), lambda piece: None)
    service.close()
    return statistics.median(calls)


speak([texts[0]])
for phase in ("before the warm-up", "after the warm-up"):
    if phase.startswith("after"):
        print("warm_shapes up to 4:", warm_shapes(speak, texts, 4))
    medians: dict[int, list[float]] = {1: [], 4: []}
    for _ in range(3):  # interleaved, so drift reaches both alike
        for max_batch in (1, 4):
            medians[max_batch].append(singles(max_batch))
    print(
        phase,
        {mb: [round(m, 4) for m in ms] for mb, ms in medians.items()},
        "ratio mb4/mb1 %.3f" % (statistics.median(medians[4]) / statistics.median(medians[1])),
        flush=True,
    )
if out is not None:
    out.mkdir(parents=True, exist_ok=True)
    for max_batch in (1, 4):
        singles(max_batch, out / f"profile-mb{max_batch}.txt")
