"""Issue 30: is a call of one text slower behind a max_batch 4 batcher, or after the batch warm-up,
than at max_batch 1? (On the H100: 0.166 s against 0.152 s, median of the calls of one in each
row's loads; low-load-batching.py.) Here the same texts, one at a time, through the batcher at
max_batch 1 and 4 in turn, before and after ``warm_shapes`` up to 4: the tiny model, eager, NFE 4,
one thread, this CPU. Clock: perf_counter around each ``speak`` call (the batcher's own call).
Run: PYTHONPATH=. python reports/serving/calls-of-one-cpu.py"""

import statistics
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

torch.set_num_threads(1)
model = build_model("tiny", "random", "fp32", "none", "cpu", seed=0)
synth = Synthesizer(model, TorchVocoder(build_vocos("tiny", "random", "cpu"), model.device))
texts = [t.text for t in load_test_set(Path("suites/texts/live-stream.toml"))][:10]
calls: list[float] = []


def speak(batch: list[str]) -> list[np.ndarray]:
    began = time.perf_counter()
    pieces = synth.synthesize_texts(REFERENCE, REFERENCE_TEXT, batch, nfe=4).pieces
    calls.append(time.perf_counter() - began)
    return pieces


def singles(max_batch: int) -> float:
    """Median seconds of a call of one: every text twice, one request at a time."""
    service = PipelineService(speak, synth.sample_rate, StreamOptions(), BatchOptions(max_batch, 5.0))
    calls.clear()
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
    )
