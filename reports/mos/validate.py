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
from itertools import pairwise
from pathlib import Path

import numpy as np
import soundfile as sf

from harness.pipeline.audio import read_audio
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


def score_all() -> list[dict[str, object]]:
    """Every clip under every degradation, scored."""
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
                mos = score(degraded, RATE)
                rows.append({"clip": clip, "degradation": name, **{k: getattr(mos, k) for k in SCORES}})
    return rows


def cost_ms_per_audio_s(repeats: int = 3) -> float:
    """DNSMOS time per audio second: 30 s of the reference speech, after one warm-up call (median)."""
    wave, _ = read_audio("f5tts:infer/examples/basic/basic_ref_en.wav")
    long = np.tile(wave, 6)[: 30 * RATE]
    score(long, RATE)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        score(long, RATE)
        times.append(time.perf_counter() - started)
    return float(np.median(times)) / 30 * 1000


def main(out: Path) -> None:
    """Score every clip under every degradation, then summarize (scores.csv is reused when present)."""
    out.mkdir(parents=True, exist_ok=True)
    if (out / "scores.csv").is_file():
        with open(out / "scores.csv") as handle:
            rows = [
                {k: (v if k in ("clip", "degradation") else float(v)) for k, v in r.items()}
                for r in csv.DictReader(handle)
            ]
    else:
        rows = score_all()
        with open(out / "scores.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    clips = len({r["clip"] for r in rows})
    order = list(dict.fromkeys(r["degradation"] for r in rows))
    table = {name: {k: np.mean([r[k] for r in rows if r["degradation"] == name]) for k in SCORES} for name in order}
    lines = [
        f"{clips} clips ({clips - 1} espeak-ng renders of the live-stream set, 1 s or longer, and the reference "
        f"speech f5-tts ships). DNSMOS costs {cost_ms_per_audio_s():.0f} ms per audio second on this CPU (one "
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
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.5))
    for k in SCORES:
        ax.plot(range(len(order)), [table[name][k] for name in order], marker="o", label=k)
    ax.set_xticks(range(len(order)), order, rotation=30, ha="right")
    ax.set_ylabel("DNSMOS (mean over clips)")
    ax.set_title(f"DNSMOS of {clips} real speech clips, degraded in known steps")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "mos-vs-degradation.png", dpi=80)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "reports/mos"))
