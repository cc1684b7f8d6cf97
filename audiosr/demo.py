"""The demonstration behind ``audiosr demo``: every method, pretrained models included, on shipped clips."""

from __future__ import annotations

import os
from pathlib import Path

from . import pretrained
from ._reporting import format_table
from ._validation import check_rate
from .classical import CLASSICAL_METHODS
from .datasets import SAMPLES, load_sample, sample_path
from .io import info, save
from .metrics import lsd, lsd_hf, snr
from .plotting import plot_spectrograms
from .processing import upsample
from .signal import decimate

__all__ = ["run_demo"]


def _methods_for(name, rate):
    """Classical methods plus the pretrained model matching the clip's rates, if one ships."""
    sr = info(sample_path(name)).samplerate
    methods = dict.fromkeys(CLASSICAL_METHODS)
    found = pretrained.find(sr // rate, sr) if sr % rate == 0 else None
    if found is not None:
        methods[found] = found
    return methods


def _planned_outputs(out_dir, rate):
    files = []
    for name in SAMPLES:
        files += [
            out_dir / f"{name}_reference.wav",
            out_dir / f"{name}_input_x{rate}.wav",
            out_dir / f"{name}_x{rate}.png",
        ]
        files += [out_dir / f"{name}_{method}_x{rate}.wav" for method in _methods_for(name, rate)]
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
        outputs = {}
        for method, model_name in _methods_for(name, rate).items():
            y_hat = upsample(x, rate, method=pretrained.load(model_name) if model_name else method)
            outputs[method] = y_hat
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
        panels = {f"input ({sr // rate} Hz, shown sinc-interpolated)": outputs["sinc"], "spline": outputs["spline"]}
        panels.update({m: outputs[m] for m in outputs if m not in CLASSICAL_METHODS})
        panels["reference"] = y
        plot_spectrograms(panels, sr, out_dir / f"{name}_x{rate}.png", title=f"{name}: x{rate} to {sr} Hz")
    echo("")
    echo(
        format_table(
            ["clip", "method", "SNR dB", "LSD", "LSD-HF"],
            [[r["clip"], r["method"], r["snr"], r["lsd"], r["lsd_hf"]] for r in results],
        )
    )
    echo("")
    echo("SNR: higher is better. LSD / LSD-HF: log10-power spectral distance over all / high bins, lower is better.")
    for model_name in sorted({m for n in SAMPLES for m in _methods_for(n, rate).values() if m}):
        meta = pretrained.info(model_name)
        echo(
            f"{model_name}: DualBranchSR trained on {', '.join(meta['trained_on']['kinds'])} ({'; '.join(meta['trained_on']['licences'])})"
        )
    echo(f"Wrote {len(planned)} files (wav, and a spectrogram PNG per clip) to {out_dir.resolve()}")
    return results
