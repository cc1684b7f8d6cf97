"""How low can LSD go when the high band's phase is not known? Oracles on the test split.

Each oracle keeps the reference's low band (below the input's Nyquist frequency) and
rebuilds the high band from the reference's own STFT (the metric's: 2048/512, periodic
Hann) with something taken away, then scores the result like a model's output (whole
files, ``audiosr.metrics`` defaults):

* ``exact envelope, random phase``: each high-band bin keeps its exact magnitude and gets a
  random phase (what a model would do that knew the spectrogram but not the waveform);
* ``smoothed envelope, random phase``: magnitudes smoothed over 31 bins (about 240 Hz at
  16 kHz) and over 3 frames: the level of each band in each frame right, the fine
  structure (harmonics) lost;
* ``smoothed envelope, noise``: the smoothed magnitudes times Rayleigh-distributed
  factors (a noise-like high band with the right envelope), random phase;
* ``envelope off by 3 dB``: the smoothed-envelope noise, 3 dB too dark everywhere.

After the inverse STFT the overlap-add mixes neighbouring frames, so the rebuilt
spectrogram is not exactly the one put in; its LSD is what a waveform with that
content scores. Writes ``lsd_floor.md``.

Usage::

    python benchmarks/lsd_floor.py --data ../shared/data
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import quality  # noqa: E402
from _common import run_environment  # noqa: E402

N_FFT, HOP = 2048, 512
ORACLES = (
    "exact envelope, random phase",
    "smoothed envelope, random phase",
    "smoothed envelope, noise",
    "envelope off by 3 dB",
)


def rebuild(y, rate, oracle, rng):
    """``y`` with its high band rebuilt by one oracle (same length)."""
    from scipy.ndimage import uniform_filter
    from scipy.signal import istft, stft

    window = "hann"
    _, _, spec = stft(y, nperseg=N_FFT, noverlap=N_FFT - HOP, window=window, boundary="even", padded=True)
    k = N_FFT // 2 // rate + 1  # first bin above the input's Nyquist frequency
    mag = np.abs(spec[k:])
    if oracle != "exact envelope, random phase":
        power = uniform_filter(mag**2, size=(31, 3), mode="nearest")
        mag = np.sqrt(np.maximum(power, 0.0))  # the running sums can round below zero in silence
        if oracle != "smoothed envelope, random phase":
            mag = mag * rng.rayleigh(scale=np.sqrt(0.5), size=mag.shape)  # E[factor^2] = 1: the level is kept
        if oracle == "envelope off by 3 dB":
            mag = mag * 10 ** (-3 / 20)
    spec = spec.copy()
    spec[k:] = mag * np.exp(2j * np.pi * rng.random(mag.shape))
    _, out = istft(spec, nperseg=N_FFT, noverlap=N_FFT - HOP, window=window, boundary=True)
    return out[: len(y)]


def main(argv=None):
    from audiosr.metrics import lsd, lsd_hf, snr

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=os.environ.get("AUDIOSR_DATA", str(HERE.parent.parent / "shared" / "data")))
    parser.add_argument("--dataset", default="speech-multi", choices=quality.DATASETS)
    parser.add_argument("--rate", type=int, default=4)
    parser.add_argument("--out", default=str(HERE / "results"))
    parser.add_argument("--smoke", action="store_true", help="2-s clips: checks the script runs")
    args = parser.parse_args(argv)
    _, test, _, sr = quality.load_dataset(args.dataset, args.data, args.smoke)
    rng = np.random.default_rng(0)
    rows = []
    for oracle in ORACLES:
        scores = []
        for y in test:
            y = np.asarray(y, dtype=np.float64)[: len(y) // args.rate * args.rate]
            y_hat = rebuild(y, args.rate, oracle, rng)
            scores.append((snr(y, y_hat), lsd(y, y_hat), lsd_hf(y, y_hat, rate=args.rate)))
        rows.append((oracle, *np.mean(scores, axis=0)))
    env = run_environment("lsd_floor.py")
    command = f"python benchmarks/lsd_floor.py --data ../shared/data --dataset {args.dataset} --rate {args.rate}"
    lines = [
        "# How low LSD goes without the high band's phase: oracles",
        "",
        f"{args.dataset} x{args.rate} ({sr} Hz), {len(test)} whole test files. Each oracle keeps the reference's "
        "low band and rebuilds the band above the input's Nyquist frequency from the reference's own STFT "
        f"({N_FFT}/{HOP}) with something taken away (see the script's docstring). Default metric conventions.",
        "",
        f"Machine: {env['cpu']}; numpy {np.__version__}. Command: `{command}`.",
        "",
        "| oracle | SNR dB | LSD | LSD-HF |",
        "|---|---|---|---|",
        *[f"| {name} | {s:.2f} | {d:.3f} | {h:.3f} |" for name, s, d, h in rows],
        "",
    ]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "lsd_floor.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
