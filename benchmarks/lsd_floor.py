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

A second table maps the trade between the two metrics when part of the high band is
right in phase and the rest is not (``--exact-to``, ``--gains``): the reference kept
exactly up to c times the input's Nyquist frequency f_N (more than any model recovers:
the learning curves' models have more error than the reference has energy above 1.5 f_N),
and above it the smoothed-envelope noise at each gain (``off``: nothing, a band-limited
reference). Noise costs its own power in SNR, and no level of it reaches the reference's
LSD, so each row is the best (SNR, LSD) any output with that much of the band in phase
can have.

After the inverse STFT the overlap-add mixes neighbouring frames, so the rebuilt
spectrogram is not exactly the one put in; its LSD is what a waveform with that
content scores. Writes ``lsd_floor.md``.

Usage::

    python benchmarks/lsd_floor.py --data ../shared/data
    python benchmarks/lsd_floor.py --data ../shared/data --exact-to 1 1.5 2 --gains off -10 -6 -3 0
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


def rebuild(y, rate, oracle, rng, exact_to=1.0, gain_db=0.0):
    """``y`` with its band above ``exact_to`` times the input's Nyquist frequency rebuilt by one oracle.

    ``gain_db`` scales the rebuilt band (``-inf``: leaves it empty); same length as ``y``.
    """
    from scipy.ndimage import uniform_filter
    from scipy.signal import istft, stft

    window = "hann"
    _, _, spec = stft(y, nperseg=N_FFT, noverlap=N_FFT - HOP, window=window, boundary="even", padded=True)
    k = int(round(N_FFT // 2 // rate * exact_to)) + 1  # first bin rebuilt
    mag = np.abs(spec[k:])
    if oracle != "exact envelope, random phase":
        power = uniform_filter(mag**2, size=(31, 3), mode="nearest")
        mag = np.sqrt(np.maximum(power, 0.0))  # the running sums can round below zero in silence
        if oracle != "smoothed envelope, random phase":
            mag = mag * rng.rayleigh(scale=np.sqrt(0.5), size=mag.shape)  # E[factor^2] = 1: the level is kept
        if oracle == "envelope off by 3 dB":
            mag = mag * 10 ** (-3 / 20)
    mag = mag * 10 ** (gain_db / 20)
    spec = spec.copy()
    spec[k:] = mag * np.exp(2j * np.pi * rng.random(mag.shape))
    _, out = istft(spec, nperseg=N_FFT, noverlap=N_FFT - HOP, window=window, boundary=True)
    return out[: len(y)]


def _gain(text):
    """A gain in dB, or 'off' for none (argparse would read '-inf' as an option)."""
    return -np.inf if text == "off" else float(text)


def _gain_text(gain):
    return "off" if gain == -np.inf else f"{gain:g}"


def main(argv=None):
    from audiosr.metrics import lsd, lsd_hf, snr

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=os.environ.get("AUDIOSR_DATA", str(HERE.parent.parent / "shared" / "data")))
    parser.add_argument("--dataset", default="speech-multi", choices=quality.DATASETS)
    parser.add_argument("--rate", type=int, default=4)
    parser.add_argument("--out", default=str(HERE / "results"))
    parser.add_argument("--smoke", action="store_true", help="2-s clips: checks the script runs")
    parser.add_argument(
        "--exact-to", type=float, nargs="*", default=[], help="trade table: exact up to these multiples of f_N"
    )
    parser.add_argument(
        "--gains", type=_gain, nargs="*", default=[-np.inf, -10.0, -6.0, -3.0, 0.0],
        help="trade table: gains of the envelope noise above, dB ('off': none)",
    )
    args = parser.parse_args(argv)
    _, test, _, sr = quality.load_dataset(args.dataset, args.data, args.smoke)
    rng = np.random.default_rng(0)
    test = [np.asarray(y, dtype=np.float64)[: len(y) // args.rate * args.rate] for y in test]

    def scored(oracle, **kwargs):
        scores = []
        for y in test:
            y_hat = rebuild(y, args.rate, oracle, rng, **kwargs)
            scores.append((snr(y, y_hat), lsd(y, y_hat), lsd_hf(y, y_hat, rate=args.rate)))
        return np.mean(scores, axis=0)

    rows = [(oracle, *scored(oracle)) for oracle in ORACLES]
    trade = [
        (c, g, *scored("smoothed envelope, noise", exact_to=c, gain_db=g)) for c in args.exact_to for g in args.gains
    ]
    env = run_environment("lsd_floor.py")
    command = f"python benchmarks/lsd_floor.py --data ../shared/data --dataset {args.dataset} --rate {args.rate}"
    if args.exact_to:
        command += " --exact-to " + " ".join(f"{c:g}" for c in args.exact_to)
        command += " --gains " + " ".join(map(_gain_text, args.gains))
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
    if trade:
        lines += [
            "## The trade: part of the band in phase, envelope noise above",
            "",
            "The reference exact up to c · f_N, the smoothed-envelope noise above at a gain (off: nothing).",
            "",
            "| exact up to | noise gain dB | SNR dB | LSD | LSD-HF |",
            "|---|---|---|---|---|",
            *[f"| {c:g} f_N | {_gain_text(g)} | {s:.2f} | {d:.3f} | {h:.3f} |" for c, g, s, d, h in trade],
            "",
        ]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "lsd_floor.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
