"""Graphs compiled during a load of mixed batches (sizes 1-3 of 12 live-stream texts, 20 calls)
after the warm-up, the tiny model under torch.compile on this CPU, frames bucketed to 256.
Run: PYTHONPATH=. TORCHINDUCTOR_VEC_ISA_OK=0 python reports/serving/warm-shapes-cpu.py [old]
("old": the warm-up of every size at the longest texts only, as before ``warm_shapes``)."""

import random
import sys
import time
from pathlib import Path

import numpy as np
import torch

from harness.measure import compiled_graphs
from harness.pipeline.build import build_model, build_vocos
from harness.pipeline.synth import Synthesizer
from harness.serving.scenario import warm_shapes
from harness.textsets import load_test_set
from harness.vocoders.torch_backend import TorchVocoder
from tests.conftest import REFERENCE, REFERENCE_TEXT

BUCKET = 256
torch.set_num_threads(2)
model = build_model("tiny", "random", "fp32", "default", "cpu", seed=0)
synth = Synthesizer(model, TorchVocoder(build_vocos("tiny", "random", "cpu"), model.device))
texts = [t.text for t in load_test_set(Path("suites/texts/live-stream.toml"))][:12]


def speak(batch: list[str]) -> list[np.ndarray]:
    return synth.synthesize_texts(REFERENCE, REFERENCE_TEXT, batch, nfe=2, frame_bucket=BUCKET).pieces


def bucket_of(text: str) -> int:
    return synth.bucket(REFERENCE, REFERENCE_TEXT, text, BUCKET)


print("buckets", sorted({bucket_of(t) for t in texts}))
began, before = time.perf_counter(), compiled_graphs()
speak([texts[0]])
spent = warm_shapes(speak, texts, 3, None if "old" in sys.argv[1:] else bucket_of)
print("warm", spent, "graphs", compiled_graphs() - before, "s", round(time.perf_counter() - began, 1))
rng, before, began = random.Random(0), compiled_graphs(), time.perf_counter()
for _ in range(20):
    speak(rng.sample(texts, rng.randint(1, 3)))
print("load: graphs compiled after warm-up", compiled_graphs() - before, "s", round(time.perf_counter() - began, 1))
