"""Can a layout learn the missing harmonics? A synthetic task whose high band is a function of its low band.

Band-limited sawtooth tones (harmonics k = 1 .. up to 7.9 kHz with amplitudes 1/k, harmonic k
starting at k times one random phase, fundamental 150-400 Hz, 16 kHz) are decimated by 4 (to
the 2 kHz band) and up-sampled back by each model. Because the phases are coherent, the band
above the input's Nyquist frequency is determined by the band below it, sample by sample: a
model that has learned it scores well above 0 dB of SNR on the high band alone, the spline (which
leaves it empty) 0 dB. With random phases no estimate could beat leaving it out in squared
error, and on tones the LSD is decided by the floor between the harmonics, so neither would say
whether a model learned; ``tests/test_tfnet.py`` and ``tests/test_audiounet.py`` use the same
task at the tests' sizes.

Rows: DualBranchSR's default (polyphase) layout and the paper's layout (U-Nets at the output's
rate), each with both branches and time-only, and AudioUNet; all with the tests' tiny widths
(8, 16) and kernels (17, 9), 512-sample patches, learning rate 3e-3, 16 training tones of
0.5 s, 4 held-out tones. Each cell is the mean over ``--seeds``, with the range.

    python benchmarks/harmonic_task.py --epochs 6 20 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import HERE, run_environment  # noqa: E402

SR, RATE, LENGTH = 16000, 4, 8192

ROWS = {
    "DualBranchSR default (polyphase, both branches)": ("DualBranchSR", {}),
    "DualBranchSR polyphase, time only": ("DualBranchSR", {"branches": "time"}),
    "DualBranchSR at the output's rate, both branches": ("DualBranchSR", {"polyphase": False}),
    "DualBranchSR at the output's rate, time only": ("DualBranchSR", {"polyphase": False, "branches": "time"}),
    "AudioUNet": ("AudioUNet", {}),
}


def sawtooth_tones(n_clips, seed):
    """Band-limited sawtooth tones at random fundamentals and offsets, shape (n_clips, LENGTH)."""
    rng = np.random.default_rng(seed)
    t = np.arange(LENGTH) / SR
    clips = []
    for _ in range(n_clips):
        f0 = rng.uniform(150, 400)
        k = np.arange(1, int(7900 // f0) + 1)[:, None]
        clips.append(0.3 * np.sum(np.sin(2 * np.pi * f0 * k * t + k * rng.uniform(0, 2 * np.pi)) / k, axis=0))
    return np.stack(clips)


def high_band(x):
    """``x`` with the bins below the input's Nyquist frequency zeroed."""
    spectrum = np.fft.rfft(x, axis=-1)
    spectrum[..., : spectrum.shape[-1] // RATE] = 0
    return np.fft.irfft(spectrum, n=x.shape[-1], axis=-1)


def scores(reference, output):
    from audiosr.metrics import lsd, snr

    return {
        "high_band_snr": snr(high_band(reference), high_band(output)),
        "snr": snr(reference, output),
        "lsd": lsd(reference, output),
    }


def make_model(row, epochs, seed):
    import audiosr

    name, params = ROWS[row]
    common = dict(filters=(8, 16), kernel_sizes=(17, 9), patch_len=512, learning_rate=3e-3, batch_size=16)
    return getattr(audiosr, name)(
        rate=RATE, max_epochs=epochs, random_state=seed, device="cpu", **common, **params
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, nargs="+", default=[6, 20])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--name", default="harmonic_task")
    parser.add_argument("--out", default=str(HERE / "results"))
    args = parser.parse_args(argv)

    import torch

    from audiosr import SplineUpsampler, decimate, make_pairs

    torch.set_num_threads(1)
    X, y = make_pairs(list(sawtooth_tones(16, seed=0)), RATE, segment=1024)
    test = sawtooth_tones(4, seed=1)
    X_test = decimate(test, RATE)
    spline = scores(test, SplineUpsampler(rate=RATE).transform(X_test))

    env = run_environment("harmonic_task.py")
    lines = [
        "# Learning the missing harmonics: a synthetic task (16 kHz, ×4)",
        "",
        "Coherent-phase sawtooth tones, so the high band is a function of the low band; see the "
        "script's docstring. Mean over seeds " + ", ".join(map(str, args.seeds)) + " (range in brackets); "
        "one torch thread.",
        "",
        f"Machine: {env['cpu']}; torch {env['torch']}. Command: `{env['command']}`.",
        "",
        "| row | epochs | high-band SNR dB | SNR dB | LSD | fit s |",
        "|---|---|---|---|---|---|",
        f"| Spline | — | {spline['high_band_snr']:.2f} | {spline['snr']:.2f} | {spline['lsd']:.3f} | — |",
    ]
    for row in ROWS:
        for epochs in args.epochs:
            cells, seconds = [], []
            for seed in args.seeds:
                start = time.perf_counter()
                model = make_model(row, epochs, seed).fit(X, y)
                seconds.append(time.perf_counter() - start)
                cells.append(scores(test, model.transform(X_test)))
            parts = []
            for key, spec in (("high_band_snr", ".2f"), ("snr", ".2f"), ("lsd", ".3f")):
                values = [c[key] for c in cells]
                parts.append(f"{np.mean(values):{spec}} [{min(values):{spec}}, {max(values):{spec}}]")
            lines.append(f"| {row} | {epochs} | " + " | ".join(parts) + f" | {np.mean(seconds):.1f} |")
            print(lines[-1], flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.name}.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
