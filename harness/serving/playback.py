"""What a listener hears of a streamed response: first audio, gaps, and underruns.

Playback starts when the first chunk arrives and plays chunks back to back. A chunk that arrives
after the previous one finished playing is an underrun: the listener heard silence from the end of
the previous chunk until it arrived. All times are seconds from the request's arrival.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise


@dataclass(frozen=True)
class Playback:
    first_audio_s: float  # time to first audio (TTFA)
    gaps_s: list[float]  # between consecutive chunk arrivals
    underruns: int
    silence_s: float  # silence heard inside the response, summed over underruns
    ends_s: float  # when the last chunk finished playing


def play(ready_s: list[float], durations_s: list[float]) -> Playback:
    """Playback of chunks that became ready at ``ready_s`` and last ``durations_s`` each."""
    if not ready_s or len(ready_s) != len(durations_s):
        raise ValueError("need one duration per chunk and at least one chunk")
    if any(b < a for a, b in pairwise(ready_s)):
        raise ValueError("chunks must be ready in order")
    end = ready_s[0] + durations_s[0]
    underruns, silence = 0, 0.0
    for ready, duration in zip(ready_s[1:], durations_s[1:], strict=True):
        if ready > end:
            underruns += 1
            silence += ready - end
            end = ready
        end += duration
    gaps = [b - a for a, b in pairwise(ready_s)]
    return Playback(ready_s[0], gaps, underruns, silence, end)
