"""Chunking, cross-fades and playback accounting (no model, no clock)."""

from __future__ import annotations

import numpy as np
import pytest

from harness.serving.chunking import crossfade_join, split_text
from harness.serving.playback import play
from harness.serving.service import BatchOptions, PipelineService, Request, StreamOptions


def test_the_first_chunk_is_shorter_and_the_chunks_give_the_text_back() -> None:
    text = "Hello from Lisbon, what a great stream tonight. The second sentence is here! And a third one?"
    chunks = split_text(text, first_chars=20, max_chars=60)
    assert chunks[0] == "Hello from Lisbon," and all(len(c) <= 60 for c in chunks[1:])
    assert " ".join(chunks).split() == text.split()


def test_chinese_without_spaces_is_cut_by_characters() -> None:
    text = "今天的直播真的太精彩了我们明天再见吧。谢谢大家！"
    chunks = split_text(text, first_chars=6)
    assert chunks[0] == "今天的直播真" and "".join(c.replace(" ", "") for c in chunks) == text


def test_a_short_text_is_one_chunk_and_bad_bounds_are_refused() -> None:
    assert split_text("GG!") == ["GG!"]
    with pytest.raises(ValueError):
        split_text("a", first_chars=10, max_chars=5)


def test_a_crossfade_overlaps_by_its_length() -> None:
    rate, pieces = 1000, [np.ones(500, np.float32), np.ones(300, np.float32)]
    joined = crossfade_join(pieces, rate, crossfade_s=0.1)
    assert len(joined) == 700 and np.allclose(joined, 1.0)  # a fade between equal signals changes nothing
    assert len(crossfade_join([np.ones(50, np.float32), np.ones(30, np.float32)], rate, 0.1)) == 50


def test_playback_counts_underruns_and_the_silence_heard() -> None:
    # chunks ready at 1, 2.5, 3 s, each 1 s long: plays 1-2, silence 2-2.5, plays 2.5-3.5, 3.5-4.5
    p = play([1.0, 2.5, 3.0], [1.0, 1.0, 1.0])
    assert p.first_audio_s == 1.0 and p.underruns == 1 and p.silence_s == pytest.approx(0.5)
    assert p.gaps_s == [1.5, 0.5] and p.ends_s == pytest.approx(4.5)
    assert play([0.2, 0.4], [1.0, 1.0]).underruns == 0


def test_streamed_hand_overs_join_into_the_cross_faded_whole() -> None:
    rate = 1000
    rng = np.random.default_rng(0)
    made: dict[str, np.ndarray] = {}

    def speak(texts: list[str]) -> list[np.ndarray]:
        return [made.setdefault(t, rng.standard_normal(200 + 10 * len(t)).astype(np.float32)) for t in texts]

    service = PipelineService(speak, rate, StreamOptions(True, 12, 40, 0.05), BatchOptions(1, 0.0))
    try:
        text = "First words, then a longer second part. And the end."
        got: list[np.ndarray] = []
        service.handle(Request(0, text, "t", 0.0), got.append)
    finally:
        service.close()
    parts = service.chunks(text)
    assert len(got) == len(parts) == 2
    assert np.allclose(np.concatenate(got), crossfade_join([made[p] for p in parts], rate, 0.05))


def test_the_batcher_thread_finds_the_cuda_graph_trees_of_the_thread_that_built_the_model() -> None:
    """torch keeps CUDA-graph trees per thread: a graph first recorded in another Python thread
    fails an assertion (pytorch#123177; a streamed CUDA-graph row failed so on an H100). The batcher
    takes over the state of the thread that made it; a plain thread has none."""
    import threading

    from torch._inductor import cudagraph_trees as trees

    from harness.serving.service import Batcher

    def lookup() -> object:  # what cudagraphify asks for when it records a new graph
        return trees.get_obj(trees.local, "tree_manager_containers")

    seen: dict[str, object] = {}

    def plain() -> None:
        try:
            seen["plain"] = lookup()
        except AssertionError:
            seen["plain"] = "AssertionError"

    thread = threading.Thread(target=plain)
    thread.start()
    thread.join()

    def speak(texts: list[str]) -> list[np.ndarray]:
        seen["batcher"] = lookup()
        return [np.zeros(8, dtype=np.float32) for _ in texts]

    batcher = Batcher(speak, BatchOptions())
    batcher.submit("a").result(timeout=30)
    batcher.close()
    assert seen["plain"] == "AssertionError"
    assert seen["batcher"] is trees.local.tree_manager_containers
