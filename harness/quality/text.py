"""Text normalization before scoring (``NORMALIZER`` names it in every result).

Steps: Unicode NFKC, lower case, digits spelled out as English words (integers up to 999,999;
a decimal point is read "point"), apostrophes kept inside words, every other punctuation mark
replaced by a space, whitespace collapsed. Lower-casing and punctuation removal match f5-tts's own
WER evaluation; spelling numbers out makes "1990" and "nineteen ninety" comparable.
"""

from __future__ import annotations

import re
import unicodedata

NORMALIZER = "tts-harness-en-v1 (nfkc, lower, digits->words, punctuation->space)"
_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def number_words(n: int) -> str:
    if n < 0:
        return "minus " + number_words(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " " + number_words(rest))
    if n < 1_000_000:
        rest = n % 1000
        return number_words(n // 1000) + " thousand" + ("" if rest == 0 else " " + number_words(rest))
    return " ".join(_ONES[int(d)] for d in str(n))  # read long numbers digit by digit


def _spell(match: re.Match[str]) -> str:
    whole, _, fraction = match.group(0).partition(".")
    words = number_words(int(whole.replace(",", "")))
    if fraction:
        words += " point " + " ".join(_ONES[int(d)] for d in fraction)
    return f" {words} "


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower().replace("’", "'")
    text = re.sub(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?", _spell, text)
    text = re.sub(r"(?<![a-z])'|'(?![a-z])", " ", text)  # quotes, not apostrophes inside words
    text = re.sub(r"[^\w' ]+|_", " ", text)
    return " ".join(text.split())
