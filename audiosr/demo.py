"""The demonstration behind ``audiosr demo``: every method on shipped speech and piano clips."""

from __future__ import annotations

import os
from pathlib import Path

from ._reporting import format_table
from ._validation import check_rate
from .classical import CLASSICAL_METHODS
from .datasets import SAMPLES, load_sample
from .io import save
from .metrics import lsd, lsd_hf, snr
from .processing import upsample
from .signal import decimate

__all__ = ["run_demo"]


def _planned_outputs(out_dir, rate):
    files = []
    for name in SAMPLES:
        files += [out_dir / f"{name}_reference.wav", out_dir / f"{name}_input_x{rate}.wav"]
        files += [out_dir / f"{name}_{method}_x{rate}.wav" for method in CLASSICAL_METHODS]
    return files


def run_demo(out_dir="audiosr-demo", *, rate=4, force=False, echo=print):
    """Decimate the shipped clips, up-sample them with every method, score and save them.

    Parameters
    ----------
    out_dir : str or path-like, default="audiosr-demo"
        Folder for the wav files (created if missing).
    rate : int, default=4
        Up-sampling factor (the input is made by ``decimate(y, rate)``).
    force : bool, default=False
        Overwrite files a previous demo left in ``out_dir``; without it an existing
        file is an error and nothing is written.
    echo : callable, default=print
        Where progress and the results table go.

    Returns
    -------
    results : list of dict
        One per clip and method: ``clip``, ``method``, ``snr``, ``lsd``, ``lsd_hf``.
    """
    rate = check_rate(rate)
    out_dir = Path(os.fspath(out_dir))
    planned = _planned_outputs(out_dir, rate)
    existing = [p for p in planned if p.exists()]
    if existing and not force:
        raise FileExistsError(
            f"{len(existing)} demo output(s) already exist in '{out_dir}' (e.g. '{existing[0].name}'); pass --force to overwrite them or choose another folder with -o."
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for name in SAMPLES:
        y, sr = load_sample(name)
        y = y[: len(y) // rate * rate]
        x = decimate(y, rate)
        echo(f"{name}: {len(y) / sr:.1f} s at {sr} Hz, input made at {sr // rate} Hz (x{rate})")
        save(out_dir / f"{name}_reference.wav", y, sr)
        save(out_dir / f"{name}_input_x{rate}.wav", x, sr // rate)
        for method in CLASSICAL_METHODS:
            y_hat = upsample(x, rate, method=method)
            save(out_dir / f"{name}_{method}_x{rate}.wav", y_hat, sr)
            results.append(
                {
                    "clip": name,
                    "method": method,
                    "snr": snr(y, y_hat),
                    "lsd": lsd(y, y_hat),
                    "lsd_hf": lsd_hf(y, y_hat, rate=rate),
                }
            )
    echo("")
    echo(
        format_table(
            ["clip", "method", "SNR dB", "LSD", "LSD-HF"],
            [[r["clip"], r["method"], r["snr"], r["lsd"], r["lsd_hf"]] for r in results],
        )
    )
    echo("")
    echo("SNR: higher is better. LSD / LSD-HF: log10-power spectral distance over all / high bins, lower is better.")
    echo(f"Wrote {len(planned)} wav files to {out_dir.resolve()}")
    return results
