"""What a load drives: a service that takes one request and hands its audio over chunk by chunk.

``PipelineService`` serves the harness's own pipeline in this process: a text (or each streamed
chunk of it) is a job; one worker thread takes jobs first come, first served, gathering up to
``max_batch`` of them (waiting at most ``max_wait_ms`` after the first) into one ODE call, as a
dynamic batcher does (Triton's: max batch 4, 1 ms queue delay in f5-tts's runtime). ``max_batch = 1``
is today's service: one request at a time. The HTTP client in ``harness.serving.http`` is the other
service: the same requests, sent to a running server.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from harness.errors import ConfigError
from harness.serving.chunking import crossfade_join, split_text

# One ODE call over texts: each text's samples, in order.
SpeakFn = Callable[[list[str]], list[np.ndarray]]
ChunkFn = Callable[[np.ndarray], None]  # called with each chunk of audio (float32 samples) as it is handed over
StartFn = Callable[[], None]  # called when the service starts computing a request (its first batch begins)
MAX_BATCH = 64


@dataclass(frozen=True)
class Request:
    index: int
    text: str
    text_id: str
    arrival_s: float  # seconds from the start of the load


class Service(Protocol):
    sample_rate: int

    def handle(self, request: Request, on_chunk: ChunkFn, on_start: StartFn | None = None) -> None:
        """Serve one request, calling ``on_chunk`` as each piece of audio is ready; raise on failure.
        ``on_start``, where the service can tell: when its computing begins (the end of its queueing)."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class StreamOptions:
    """Streaming synthesis: the text in chunks (the first shorter), each handed over when made."""

    enabled: bool = False
    first_chars: int = 40
    max_chars: int = 135
    crossfade_s: float = 0.15

    def __post_init__(self) -> None:
        if not 1 <= self.first_chars <= self.max_chars <= 2000:
            raise ConfigError("streaming needs 1 <= first_chars <= max_chars <= 2000")
        if not 0 <= self.crossfade_s <= 1:
            raise ConfigError("streaming crossfade_s must be between 0 and 1 second")


@dataclass(frozen=True)
class BatchOptions:
    """Dynamic batching: up to ``max_batch`` jobs in one call, waiting at most ``max_wait_ms``."""

    max_batch: int = 1
    max_wait_ms: float = 0.0

    def __post_init__(self) -> None:
        if not 1 <= self.max_batch <= MAX_BATCH:
            raise ConfigError(f"max_batch must be between 1 and {MAX_BATCH}, got {self.max_batch}")
        if not 0 <= self.max_wait_ms <= 10_000:
            raise ConfigError(f"max_wait_ms must be between 0 and 10000, got {self.max_wait_ms}")


@dataclass
class _Job:
    text: str
    on_start: StartFn | None = None
    result: Future[np.ndarray] = field(default_factory=Future)


@dataclass
class BatchStats:
    """The batches a batcher ran: their sizes and seconds (for the report's batch histogram)."""

    sizes: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)


CUDAGRAPH_TLS = ("tree_manager_containers", "tree_manager_locks")


def cudagraph_state() -> dict[str, Any]:
    """This thread's CUDA-graph-tree state, where a CUDA-graph row made one (torch keeps it per
    thread, and a graph first met in another Python thread fails an assertion: pytorch#123177)."""
    trees = sys.modules.get("torch._inductor.cudagraph_trees")
    local = getattr(trees, "local", None)
    return {name: getattr(local, name) for name in CUDAGRAPH_TLS if hasattr(local, name)}


def adopt_cudagraph_state(state: dict[str, Any]) -> None:
    """Give the calling thread ``state`` (on torch's own ``threading.local``, which its lookup reads
    first), so the batcher records new graphs into the trees of the thread that built the model.
    Python clears it when the thread ends (torch's C++ thread-local store would release it without
    the GIL: a later segfault)."""
    trees = sys.modules.get("torch._inductor.cudagraph_trees")
    if trees is None:
        return
    for name, value in state.items():
        setattr(trees.local, name, value)


class Batcher:
    """One worker thread: gathers jobs into batches and runs each batch as one call of ``speak``."""

    def __init__(self, speak: SpeakFn, options: BatchOptions) -> None:
        self.speak = speak
        self.options = options
        self.stats = BatchStats()
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._graphs = cudagraph_state()  # the compiling thread's, taken over by the worker
        self._thread = threading.Thread(target=self._work, name="tts-batcher", daemon=True)
        self._thread.start()

    def submit(self, text: str, on_start: StartFn | None = None) -> Future[np.ndarray]:
        """``text`` queued for a batch; ``on_start`` is called (in the worker) as its batch begins."""
        job = _Job(text, on_start)
        self._jobs.put(job)
        return job.result

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join(timeout=60)

    def _gather(self, first: _Job) -> tuple[list[_Job], bool]:
        batch, deadline = [first], time.perf_counter() + self.options.max_wait_ms / 1000
        while len(batch) < self.options.max_batch:
            try:
                job = self._jobs.get(timeout=max(0.0, deadline - time.perf_counter()))
            except queue.Empty:
                break
            if job is None:
                return batch, True
            batch.append(job)
        return batch, False

    def _work(self) -> None:
        adopt_cudagraph_state(self._graphs)
        stop = False
        while not stop:
            first = self._jobs.get()
            if first is None:
                return
            batch, stop = self._gather(first)
            for job in batch:
                if job.on_start is not None:
                    job.on_start()
            began = time.perf_counter()
            try:
                pieces = self.speak([job.text for job in batch])
            except BaseException as exc:  # a failed batch fails its requests, never the worker
                for job in batch:
                    job.result.set_exception(exc)
                continue
            finally:
                self.stats.sizes.append(len(batch))
                self.stats.seconds.append(time.perf_counter() - began)
            for job, piece in zip(batch, pieces, strict=True):
                job.result.set_result(piece)


class PipelineService:
    """The harness's pipeline behind a batcher; streamed or whole responses."""

    def __init__(self, speak: SpeakFn, sample_rate: int, stream: StreamOptions, batch: BatchOptions) -> None:
        self.sample_rate = sample_rate
        self.stream = stream
        self.batcher = Batcher(speak, batch)

    def chunks(self, text: str) -> list[str]:
        if not self.stream.enabled:
            return [text]
        return split_text(text, self.stream.first_chars, self.stream.max_chars) or [text]

    def handle(self, request: Request, on_chunk: ChunkFn, on_start: StartFn | None = None) -> None:
        """Each chunk handed over as soon as it is made, less the tail its cross-fade with the next
        chunk needs: the hand-overs joined are exactly the cross-faded whole. ``on_start``: as the
        first chunk's batch begins (time spent waiting for the batcher is queueing, not compute)."""
        parts = self.chunks(request.text)
        overlap = int(self.stream.crossfade_s * self.sample_rate) if len(parts) > 1 else 0
        tail = np.zeros(0, dtype=np.float32)
        for i, part in enumerate(parts):
            piece = self.batcher.submit(part, on_start if i == 0 else None).result()
            if tail.size:
                piece = crossfade_join([tail, piece], self.sample_rate, self.stream.crossfade_s)
            hold = min(overlap, len(piece)) if i < len(parts) - 1 else 0
            tail = piece[len(piece) - hold :]
            on_chunk(piece[: len(piece) - hold])

    def close(self) -> None:
        self.batcher.close()
