"""Does the MOS proxy see what listeners hear? Real speech (the reference speech f5-tts ships and
espeak-ng renders of the live-stream test set), degraded in known steps, scored with DNSMOS; the
paired quality gate run on 20 dB noise against clean and on an A/A pair.

Usage (from the repository root, after `make test` or `make bench` installed the venv):
    .venv/bin/python reports/mos/validate.py reports/mos
Writes OUT/scores.csv, OUT/summary.md and OUT/mos-vs-degradation.png.
"""

from __future__ import annotations

import csv
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import numpy as np
import soundfile as sf

from harness.pipeline.audio import read_audio
from harness.quality import intrusive
from harness.quality.mos import SCORES, score
from harness.quality.paired import paired
from harness.textsets import load_test_set

RATE = 24_000
NOISE_SNR_DB = (40, 20, 10, 0)


def espeak(text: str, lang: str, path: Path) -> np.ndarray:
    voice = "cmn" if lang == "zh" else "en-us"
    subprocess.run(["espeak-ng", "-v", voice, "-s", "160", "-w", str(path), text], check=True, capture_output=True)
    subprocess.run(["sox", "-D", str(path), "-r", str(RATE), str(path) + ".24k.wav"], check=True)
    wave, _ = sf.read(str(path) + ".24k.wav", dtype="float32")
    return np.asarray(wave, dtype=np.float32)


def noisy(wave: np.ndarray, snr_db: float, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0.0, np.sqrt(np.mean(wave**2) / 10 ** (snr_db / 10)), wave.size)
    return np.clip(wave + noise, -1, 1).astype(np.float32)


def sox_round_trip(wave: np.ndarray, folder: Path, *middle: str) -> np.ndarray:
    """Through sox: to the middle format (a codec or a rate) and back to 24 kHz WAV (dither off)."""
    src, mid, out = folder / "src.wav", folder / f"mid.{middle[-1]}", folder / "out.wav"
    sf.write(str(src), wave, RATE, subtype="PCM_16")
    subprocess.run(["sox", "-D", str(src), *middle[:-1], str(mid)], check=True, capture_output=True)
    subprocess.run(["sox", "-D", str(mid), "-r", str(RATE), "-c", "1", str(out)], check=True, capture_output=True)
    back, _ = sf.read(str(out), dtype="float32")
    return np.asarray(back, dtype=np.float32)[: wave.size]


def degradations(wave: np.ndarray, seed: int, folder: Path) -> dict[str, np.ndarray]:
    out = {"clean": wave}
    for snr in NOISE_SNR_DB:
        out[f"noise {snr} dB"] = noisy(wave, snr, seed)
    out["noise 40 dB (A/A)"] = noisy(wave, 40, seed + 1000)  # another draw of the mildest step
    out["clipped (x8)"] = np.clip(wave * 8, -0.5, 0.5).astype(np.float32) * 2
    out["band-limited 8 kHz"] = sox_round_trip(wave, folder, "-r", "8000", "wav")
    out["GSM 06.10 codec"] = sox_round_trip(wave, folder, "-r", "8000", "-c", "1", "gsm")
    return out


def score_all(scorer: Callable[[np.ndarray, np.ndarray], dict[str, object]]) -> list[dict[str, object]]:
    """Every clip under every degradation, scored by ``scorer(degraded, clean)``."""
    texts = load_test_set(Path("suites/texts/live-stream.toml"))
    clips: list[tuple[str, np.ndarray]] = []
    reference, rate = read_audio("f5tts:infer/examples/basic/basic_ref_en.wav")
    assert rate == RATE
    clips.append(("reference-speech", reference))
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for item in texts:
            wave = espeak(item.text, item.lang, Path(tmp) / f"{item.id}.wav")
            if wave.size >= RATE:  # DNSMOS says n/a under a second: keep clips it scores
                clips.append((item.id, wave))
        for index, (clip, wave) in enumerate(clips):
            for name, degraded in degradations(wave, index, Path(tmp)).items():
                rows.append({"clip": clip, "degradation": name, **scorer(degraded, wave)})
    return rows


def dnsmos(degraded: np.ndarray, clean: np.ndarray) -> dict[str, object]:
    mos = score(degraded, RATE)
    return {k: getattr(mos, k) for k in SCORES}


def pesq_stoi(degraded: np.ndarray, clean: np.ndarray) -> dict[str, object]:
    return intrusive.score(clean, degraded, RATE).as_dict()


def cached(path: Path, scorer: Callable[[np.ndarray, np.ndarray], dict[str, object]]) -> list[dict[str, object]]:
    """The scores in ``path`` (CSV) when present, else every clip scored and written there."""
    if path.is_file():
        with open(path) as handle:
            return [
                {k: (v if k in ("clip", "degradation", "reason") else (float(v) if v else None)) for k, v in r.items()}
                for r in csv.DictReader(handle)
            ]
    rows = score_all(scorer)
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows


def cost_ms_per_audio_s(measure: Callable[[np.ndarray], object], repeats: int = 3) -> float:
    """Time per audio second: 30 s of the reference speech, after one warm-up call (median)."""
    wave, _ = read_audio("f5tts:infer/examples/basic/basic_ref_en.wav")
    long = np.tile(wave, 6)[: 30 * RATE]
    measure(long)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        measure(long)
        times.append(time.perf_counter() - started)
    return float(np.median(times)) / 30 * 1000


def main(out: Path) -> None:
    """Score every clip under every degradation, then summarize (scores.csv is reused when present)."""
    out.mkdir(parents=True, exist_ok=True)
    rows = cached(out / "scores.csv", dnsmos)
    clips = len({r["clip"] for r in rows})
    order = list(dict.fromkeys(r["degradation"] for r in rows))
    table = {name: {k: np.mean([r[k] for r in rows if r["degradation"] == name]) for k in SCORES} for name in order}
    dnsmos_cost = cost_ms_per_audio_s(lambda w: score(w, RATE))
    lines = [
        f"{clips} clips ({clips - 1} espeak-ng renders of the live-stream set, 1 s or longer, and the reference "
        f"speech f5-tts ships). DNSMOS costs {dnsmos_cost:.0f} ms per audio second on this CPU (one "
        "thread; 30 s of speech, median of 3 after a warm-up).",
        "",
        "| degradation | " + " | ".join(SCORES) + " |",
        "|---|" + "---|" * len(SCORES),
    ]
    lines += [f"| {name} | " + " | ".join(f"{table[name][k]:.3f}" for k in SCORES) + " |" for name in order]
    ladder = ["clean", *(f"noise {snr} dB" for snr in NOISE_SNR_DB)]
    lines += ["", "Monotonic along clean > 40 > 20 > 10 > 0 dB (mean over clips):"]
    for k in SCORES:
        values = [table[name][k] for name in ladder]
        falls = all(a > b for a, b in pairwise(values))
        lines.append(f"- {k}: {'yes' if falls else 'NO'} ({', '.join(f'{v:.2f}' for v in values)})")
    lines += ["", "Every other degradation below clean:"]
    for name in ("clipped (x8)", "band-limited 8 kHz", "GSM 06.10 codec"):
        below = [k for k in SCORES if table[name][k] < table["clean"][k]]
        lines.append(f"- {name}: {', '.join(below) or 'none'} below clean")
    for headline in ("p808", "ovrl"):
        lines += ["", f"Paired quality gate (DNSMOS {headline} per clip, margin 0.1, alpha 0.05):"]
        per = {name: [r[headline] for r in rows if r["degradation"] == name] for name in order}
        for a, b in (("clean", "noise 20 dB"), ("noise 40 dB", "noise 40 dB (A/A)"), ("clean", "noise 40 dB")):
            lines.append(f"- {b} against {a}: {paired(per[a], per[b], metric='mos', margin=0.1).sentence()}")
    lines += ["", *intrusive_summary(out)]
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    plot(order, {k: [table[name][k] for name in order] for k in SCORES}, "DNSMOS (mean over clips)",
         out / "mos-vs-degradation.png")  # fmt: skip


def plot(order: list[str], series: dict[str, list[float]], label: str, path: Path) -> None:
    """One line per score across the degradations."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.5))
    for k, values in series.items():
        ax.plot(range(len(order)), values, marker="o", label=k)
    ax.set_xticks(range(len(order)), order, rotation=30, ha="right")
    ax.set_ylabel(label)
    ax.set_title(f"{label.split(' (')[0]} of real speech clips, degraded in known steps")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def intrusive_summary(out: Path) -> list[str]:
    """PESQ-WB and STOI of every degraded clip against its clean self (intrusive.csv)."""
    rows = cached(out / "intrusive.csv", pesq_stoi)
    order = list(dict.fromkeys(str(r["degradation"]) for r in rows))
    names = intrusive.SCORES

    def mean(name: str, key: str) -> float:
        return float(np.mean([r[key] for r in rows if r["degradation"] == name and r[key] is not None]))

    cost = cost_ms_per_audio_s(lambda w: intrusive.score(w, w, RATE))
    lines = [
        f"PESQ-WB and STOI against the clean clip ({cost:.0f} ms per audio second for both on this CPU, "
        f"median of 3 after a warm-up; clips PESQ or STOI cannot score: "
        f"{sum(1 for r in rows if r['reason'])} of {len(rows)}):",
        "",
        "| degradation | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
        *(f"| {name} | " + " | ".join(f"{mean(name, k):.3f}" for k in names) + " |" for name in order),
        "",
        "Monotonic along clean > 40 > 20 > 10 > 0 dB (mean over clips):",
    ]
    ladder = ["clean", *(f"noise {snr} dB" for snr in NOISE_SNR_DB)]
    for k in names:
        values = [mean(name, k) for name in ladder]
        falls = all(a > b for a, b in pairwise(values))
        lines.append(f"- {k}: {'yes' if falls else 'NO'} ({', '.join(f'{v:.2f}' for v in values)})")
    plot(order, {k: [mean(name, k) for name in order] for k in names}, "PESQ-WB / STOI (mean over clips)",
         out / "intrusive-vs-degradation.png")  # fmt: skip
    lines += ["", "Paired quality gate (per clip, alpha 0.05, the metric's default margin):"]
    for k in names:
        per = {name: [r[k] for r in rows if r["degradation"] == name] for name in order}
        for a, b in (("clean", "noise 20 dB"), ("noise 40 dB", "noise 40 dB (A/A)")):
            pairs = [(x, y) for x, y in zip(per[a], per[b], strict=True) if x is not None and y is not None]
            result = paired([x for x, _ in pairs], [y for _, y in pairs], metric=k)
            lines.append(f"- {k}, {b} against {a}: {result.sentence()}")
    return lines


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "reports/mos"))
