"""The demonstration behind ``audiosr demo``: every method, the shipped models included, on shipped clips.

What is shown comes from the pretrained index: each shipped model appears on the clip of
the kind it was trained on (speech or piano), at its own rates (the clip is resampled to
the model's output rate where that is lower), beside sinc interpolation. A model added
to the index appears without a change here; one that is not shipped does not.
"""

from __future__ import annotations

import functools
import math
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


@functools.lru_cache(maxsize=None)
def _clip_sr(clip):
    """Sample rate of a shipped clip (read from its header once)."""
    return info(sample_path(clip)).samplerate


def _khz(sr):
    return f"{sr / 1000:g}k"


def _cases(rate):
    """``(clip, output_sr, factor) -> methods`` for every case the demo shows.

    Per clip, the case at the clip's own rate and ``rate`` gets every classical method;
    each shipped model trained on the clip's kind adds (or joins) the case of its rates,
    beside sinc, when its output rate is at most the clip's.
    """
    cases = {}
    for clip in SAMPLES:
        sr = _clip_sr(clip)
        own = {(clip, sr, rate): list(CLASSICAL_METHODS)}
        for name in pretrained.list():
            meta = pretrained.info(name)
            if clip not in meta.get("trained_on", {}).get("kinds", []) or meta["output_sr"] > sr:
                continue
            own.setdefault((clip, meta["output_sr"], meta["rate"]), ["sinc"]).append(name)
        # The classical case first, then by output rate (highest first) and factor.
        first, *others = own
        for case in [first, *sorted(others, key=lambda c: (-c[1], c[2]))]:
            cases[case] = own[case]
    return cases


def _prefix(clip, output_sr):
    """File-name prefix of a case: the clip's name, with the output rate when the clip was resampled."""
    return clip if output_sr == _clip_sr(clip) else f"{clip}_{_khz(output_sr)}"


def _files(out_dir, cases):
    """Every file the demo writes, per case, in order."""
    files = []
    seen = set()
    for (clip, output_sr, rate), methods in cases.items():
        prefix = _prefix(clip, output_sr)
        if prefix not in seen:
            seen.add(prefix)
            files.append(out_dir / f"{prefix}_reference.wav")
        files.append(out_dir / f"{prefix}_input_x{rate}.wav")
        files += [out_dir / f"{prefix}_{method}_x{rate}.wav" for method in methods]
        files.append(out_dir / f"{prefix}_x{rate}.png")
    return files


def _references(cases):
    """``(clip, output_sr) -> reference``: each clip at each output rate, cut to a multiple of its cases' factors."""
    references = {}
    for clip, output_sr in dict.fromkeys((c, sr) for c, sr, _ in cases):
        y, _ = load_sample(clip, sr=output_sr)
        factors = math.lcm(*(r for c, sr, r in cases if (c, sr) == (clip, output_sr)))
        references[(clip, output_sr)] = y[: len(y) // factors * factors]
    return references


def run_demo(out_dir="audiosr-demo", *, rate=4, force=False, echo=print):
    """Decimate the shipped clips, up-sample them with every method and shipped model, score and save them.

    Each clip is decimated by ``rate`` and up-sampled by the classical methods (and the
    shipped models for those rates); each shipped model is also shown on the clip of its
    kind at its own rates, beside sinc (e.g. a 16 kHz -> 48 kHz speech model on the
    speech clip decimated by 3).

    Parameters
    ----------
    out_dir : str or path-like, default="audiosr-demo"
        Folder for the wav files (created if missing).
    rate : int, default=4
        Up-sampling factor of the classical methods (the input is made by ``decimate(y, rate)``).
    force : bool, default=False
        Overwrite files a previous demo left in ``out_dir``; without it an existing
        file is an error and nothing is written.
    echo : callable, default=print
        Where progress and the results table go.

    Returns
    -------
    results : list of dict
        One per case and method: ``clip``, ``input_sr``, ``output_sr``, ``method``,
        ``snr``, ``lsd``, ``lsd_hf``.
    """
    rate = check_rate(rate)
    out_dir = Path(os.fspath(out_dir))
    cases = _cases(rate)
    planned = _files(out_dir, cases)
    existing = [p for p in planned if p.exists()]
    if existing and not force:
        raise FileExistsError(
            f"{len(existing)} demo output(s) already exist in '{out_dir}' (e.g. '{existing[0].name}'); pass --force to overwrite them or choose another folder with -o."
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    references = _references(cases)
    saved = set()
    results = []
    for (clip, sr, factor), methods in cases.items():
        y = references[(clip, sr)]
        low_sr = sr // factor
        prefix = _prefix(clip, sr)
        x = decimate(y, factor)
        echo(f"{clip}: {len(y) / sr:.1f} s at {sr} Hz, input made at {low_sr} Hz (x{factor})")
        if prefix not in saved:
            saved.add(prefix)
            save(out_dir / f"{prefix}_reference.wav", y, sr)
        save(out_dir / f"{prefix}_input_x{factor}.wav", x, low_sr)
        outputs = {}
        for method in methods:
            model = pretrained.load(method) if method not in CLASSICAL_METHODS else method
            y_hat = upsample(x, factor, method=model)
            outputs[method] = y_hat
            save(out_dir / f"{prefix}_{method}_x{factor}.wav", y_hat, sr)
            scores = {"snr": snr(y, y_hat), "lsd": lsd(y, y_hat), "lsd_hf": lsd_hf(y, y_hat, rate=factor)}
            results.append({"clip": clip, "input_sr": low_sr, "output_sr": sr, "method": method, **scores})
        panels = {f"input ({_khz(low_sr)}Hz, shown sinc-interpolated)": outputs["sinc"]}
        panels.update({m: y_hat for m, y_hat in outputs.items() if m not in ("sinc", "bicubic")})
        panels["reference"] = y
        title = f"{clip}: {_khz(low_sr)}Hz to {_khz(sr)}Hz (x{factor})"
        plot_spectrograms(panels, sr, out_dir / f"{prefix}_x{factor}.png", title=title)
    echo("")
    rows = [
        [r["clip"], f"{_khz(r['input_sr'])}->{_khz(r['output_sr'])}", r["method"], r["snr"], r["lsd"], r["lsd_hf"]]
        for r in results
    ]
    echo(format_table(["clip", "rates", "method", "SNR dB", "LSD", "LSD-HF"], rows))
    echo("")
    echo("SNR: higher is better. LSD / LSD-HF: log10-power spectral distance over all / high bins, lower is better.")
    echo("Inputs made by order-8 Chebyshev decimation (scipy.signal.decimate).")
    for name in sorted({m for methods in cases.values() for m in methods if m not in CLASSICAL_METHODS}):
        meta = pretrained.info(name)
        restriction = " Non-commercial." if meta.get("non_commercial") else ""
        echo(
            f"{name}: DualBranchSR trained on {', '.join(meta['trained_on']['kinds'])} "
            f"({'; '.join(meta['trained_on']['licences'])}).{restriction}"
        )
    echo(f"Wrote {len(planned)} files (wav, and a spectrogram PNG per case) to {out_dir.resolve()}")
    return results
