"""Text into the chunks a streaming service speaks, and the chunks' audio back into one stream.

As f5-tts's streaming server does: sentences are gathered into chunks of at most ``max_chars``
characters, and the first chunk is cut shorter (``first_chars``, at a clause or word boundary) so
the first audio comes sooner. Neighbouring chunks' audio is joined with a linear cross-fade.
"""

from __future__ import annotations

import re

import numpy as np

SENTENCE_END = re.compile(r"(?<=[.!?;:。！？；：…])\s*")
CLAUSE_MARKS = (",", "，", "、")


def _split_first(sentence: str, first_chars: int) -> list[str]:
    """The first sentence cut at its last clause mark (else space) within ``first_chars``; text
    without either (Chinese) is cut at ``first_chars`` characters."""
    if len(sentence) <= first_chars:
        return [sentence]
    window = sentence[: first_chars + 1]
    cut = max(window.rfind(mark) for mark in CLAUSE_MARKS) + 1 or window.rfind(" ")
    if cut <= 0:
        cut = first_chars if not sentence.isascii() else len(sentence)
    head, tail = sentence[:cut].strip(), sentence[cut:].strip()
    return [head, tail] if head and tail else [sentence]


def split_text(text: str, first_chars: int = 40, max_chars: int = 135) -> list[str]:
    """The chunks of ``text`` in order; joined with spaces they give the text back (whitespace aside)."""
    if first_chars < 1 or max_chars < first_chars:
        raise ValueError(f"need 1 <= first_chars <= max_chars, got {first_chars} and {max_chars}")
    sentences = [s.strip() for s in SENTENCE_END.split(text.strip()) if s.strip()]
    if not sentences:
        return []
    pieces = _split_first(sentences[0], first_chars) + sentences[1:]
    chunks = [pieces[0]]
    for piece in pieces[1:]:
        if len(chunks) > 1 and len(chunks[-1]) + 1 + len(piece) <= max_chars:
            chunks[-1] = f"{chunks[-1]} {piece}"
        else:
            chunks.append(piece)
    return chunks


def crossfade_join(pieces: list[np.ndarray], sample_rate: int, crossfade_s: float = 0.15) -> np.ndarray:
    """The pieces end to end, each seam a linear cross-fade of ``crossfade_s`` (shorter pieces: less)."""
    if not pieces:
        return np.zeros(0, dtype=np.float32)
    out = np.asarray(pieces[0], dtype=np.float32)
    for piece in pieces[1:]:
        piece = np.asarray(piece, dtype=np.float32)
        overlap = min(int(crossfade_s * sample_rate), len(out), len(piece))
        if overlap == 0:
            out = np.concatenate([out, piece])
            continue
        fade = np.linspace(0.0, 1.0, overlap, dtype=np.float32)
        seam = out[-overlap:] * (1.0 - fade) + piece[:overlap] * fade
        out = np.concatenate([out[:-overlap], seam, piece[overlap:]])
    return out
