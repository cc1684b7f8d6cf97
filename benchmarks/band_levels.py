"""Where a model's LSD lies: its output's log level against the reference's, per band and frame class.

For one saved model on speech-multi x4 (a learning-curves cell's ``.pt``, any saved
model file, or a shipped one by name), on the whole test files, in the metric's own
STFT (2048/512, periodic Hann, ``audiosr.metrics``' power floor):

* per band (edges in units of the input's Nyquist frequency f_N) and per frame class
  (active: within 40 dB of the file's loudest frame, as ``lsd_investigation.py``; quiet:
  the rest): the **bias**, the mean of ``10 log10(P_out / P_ref)`` in dB; the **spread**,
  its standard deviation; and the band's **share of the LSD**, its part of the frames'
  mean squared log difference. A bias far from zero is a level a gain can fix; the
  spread is fine structure (harmonics, noise) that a gain cannot.
* **gains**: the same output with a gain per band above f_N (applied in that STFT and
  resynthesised by overlap-add), scored like a model (SNR and LSD of whole files). Uniform
  gains of ``--gains`` dB, and "level-matched": each band above f_N raised by minus its
  active-frame bias measured on the **validation** files, so that the test files do not
  choose it. What a gain buys in LSD and costs in SNR says whether a model is held back
  by its level (what a loss weight moves) or by its fine structure.

Usage::

    python benchmarks/band_levels.py --data ../shared/data \\
        --model benchmarks/work/curves/<cell>.pt --label "<row>, 60 min" --name band_levels

Writes ``<name>.md`` to ``--out`` (default ``benchmarks/results``).
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
from lsd_investigation import ACTIVE_DB, active_frames, frame_powers  # noqa: E402

RATE = 4
DATASET = "speech-multi"
N_FFT, HOP = 2048, 512
#: Band edges in units of the input's Nyquist frequency (2 kHz here): the band the input keeps,
#: the Chebyshev filter's transition, then the invented band in half-octaves and octaves.
EDGES = (0.0, 0.8, 1.0, 1.5, 2.0, 3.0, 4.0)
#: Index of the first band above f_N, the bands a gain applies to.
FIRST_HIGH = EDGES.index(1.0)


def _stft(x):
    from scipy.signal import stft

    return stft(x, nperseg=N_FFT, noverlap=N_FFT - HOP, window="hann", boundary="even", padded=True)[2]


def _istft(spec, n):
    from scipy.signal import istft

    return istft(spec, nperseg=N_FFT, noverlap=N_FFT - HOP, window="hann", boundary=True)[1][:n]


def band_bins(edges=EDGES, n_bins=N_FFT // 2 + 1):
    """Bin slices of each band: ``edges`` in units of f_N, the last edge the output's Nyquist frequency."""
    scale = (n_bins - 1) / edges[-1]
    cuts = [int(round(e * scale)) for e in edges]
    cuts[-1] = n_bins
    return [slice(a, b) for a, b in zip(cuts[:-1], cuts[1:])]


def level_table(references, outputs):
    """Per band and frame class: bias and spread of the log power (dB), share of the LSD, reference energy share."""
    from audiosr.metrics import _POWER_FLOOR

    bands = band_bins()
    diffs = {c: [[] for _ in bands] for c in ("active", "quiet")}
    sq_total = {"active": 0.0, "quiet": 0.0}
    sq_band = {c: np.zeros(len(bands)) for c in ("active", "quiet")}
    energy = np.zeros(len(bands))
    for y, z in zip(references, outputs):
        p, q = frame_powers(y), frame_powers(z)
        d = np.log10(np.maximum(q, _POWER_FLOOR)) - np.log10(np.maximum(p, _POWER_FLOOR))
        active = active_frames(p)
        for cls, mask in (("active", active), ("quiet", ~active)):
            sq_total[cls] += float((d[mask] ** 2).sum())
            for i, b in enumerate(bands):
                diffs[cls][i].append(10 * d[mask, b].ravel())
                sq_band[cls][i] += float((d[mask, b] ** 2).sum())
        energy += [p[:, b].sum() / p.sum() for b in bands]
    table = {}
    for cls in diffs:
        values = [np.concatenate(v) for v in diffs[cls]]
        table[cls] = {  # a class without frames (no quiet frame in a file) has no figures: nan
            "bias": [float(v.mean()) if v.size else np.nan for v in values],
            "spread": [float(v.std()) if v.size else np.nan for v in values],
            "share": [float(s / max(sq_total[cls], 1e-30)) for s in sq_band[cls]],
        }
    table["energy"] = [float(v) for v in energy / len(references) * 100]
    return table


def with_band_gains(z, gains_db):
    """``z`` with each band above f_N scaled by ``gains_db`` (one value per band from f_N up)."""
    spec = _stft(z)
    for b, g in zip(band_bins()[FIRST_HIGH:], gains_db):
        spec[b] *= 10 ** (g / 20)
    return _istft(spec, len(z))


def scores(references, outputs):
    from audiosr.metrics import lsd, snr

    return float(np.mean([snr(y, z) for y, z in zip(references, outputs)])), float(
        np.mean([lsd(y, z) for y, z in zip(references, outputs)])
    )


def run_model(model, signals):
    from audiosr.signal import decimate

    refs = [y[: len(y) // RATE * RATE] for y in signals]
    return refs, [model.transform(decimate(y, RATE)[None])[0] for y in refs]


def load(spec):
    """A saved model file, a classical method's name (a reference), or a shipped model's name."""
    from audiosr import load_model, pretrained
    from audiosr.classical import CLASSICAL_METHODS
    from audiosr.processing import resolve_upsampler

    if Path(spec).exists():
        return load_model(spec, allow_pickle=False)
    if spec in CLASSICAL_METHODS:
        return resolve_upsampler(spec, RATE)[0]
    return pretrained.load(spec)


def _fmt(value, spec):
    return "—" if np.isnan(value) else format(value, spec)


def report(args):
    import torch

    from audiosr.datasets import load_manifest

    torch.set_num_threads(args.threads)
    model = load(args.model)
    _, test, _, _ = quality.load_dataset(DATASET, args.data, args.smoke)
    valid = load_manifest(args.data, kind=quality.SPEECH, split="valid", sr=16000, min_sr=16000).signals
    if args.smoke:
        valid = [s[: 2 * 16000] for s in valid[:2]]
    refs, outs = run_model(model, test)
    table = level_table(refs, outs)
    v_refs, v_outs = run_model(model, valid)
    matched = [-b for b in level_table(v_refs, v_outs)["active"]["bias"][FIRST_HIGH:]]

    labels = [f"{a:g}–{b:g}" for a, b in zip(EDGES[:-1], EDGES[1:])]
    env = run_environment("band_levels.py")
    command = "python benchmarks/band_levels.py " + " ".join(
        f'"{a}"' if " " in a else a for a in (args.argv or [])
    )
    lines = [
        f"# Where the LSD lies: {args.label or args.model}",
        "",
        f"{DATASET} ×{RATE}, {len(refs)} whole test files; the metric's STFT (2048/512). Bands in units of the "
        f"input's Nyquist frequency f_N (2 kHz). Active frames: within {ACTIVE_DB:g} dB of the file's loudest frame. "
        "Bias: mean of 10 log10(P_out / P_ref), dB; spread: its standard deviation, dB; share: the band's part of "
        "the frames' mean squared log difference (what the LSD is the root of). See the script's docstring.",
        "",
        f"Machine: {env['cpu']}; torch threads {args.threads}. Command: `{command}`.",
        "",
        "| frames | " + " | ".join(labels) + " |",
        "|---|" + "---|" * len(labels),
        "| reference energy, % | " + " | ".join(f"{v:.3g}" for v in table["energy"]) + " |",
    ]
    for cls in ("active", "quiet"):
        t = table[cls]
        lines.append(f"| {cls}: bias dB | " + " | ".join(_fmt(v, "+.1f") for v in t["bias"]) + " |")
        lines.append(f"| {cls}: spread dB | " + " | ".join(_fmt(v, ".1f") for v in t["spread"]) + " |")
        lines.append(f"| {cls}: share of LSD² | " + " | ".join(f"{v:.2f}" for v in t["share"]) + " |")
    lines += [
        "",
        "## Gains above f_N",
        "",
        "| gains per band above f_N, dB (" + ", ".join(labels[FIRST_HIGH:]) + ") | SNR dB | LSD |",
        "|---|---|---|",
    ]
    variants = [(f"uniform {g:+g}", [g] * len(matched)) for g in args.gains]
    variants.append(("level-matched on the validation files", matched))
    variants.append(("half of the level match", [g / 2 for g in matched]))
    for name, gains in variants:
        s, l = scores(refs, outs if not any(gains) else [with_band_gains(z, gains) for z in outs])
        shown = ", ".join(f"{g:+.1f}" for g in gains)
        lines.append(f"| {name} ({shown}) | {s:.2f} | {l:.3f} |")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=os.environ.get("AUDIOSR_DATA", str(HERE.parent.parent / "shared" / "data")))
    parser.add_argument("--model", required=True, help="a saved model file, a shipped model's name, or sinc")
    parser.add_argument("--label", default="", help="what the model is, for the report's title")
    parser.add_argument("--gains", type=float, nargs="*", default=[0.0, 3.0, 6.0], help="uniform gains to try, dB")
    parser.add_argument("--name", default="band_levels")
    parser.add_argument("--out", default=str(HERE / "results"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--smoke", action="store_true", help="2-s clips of a few files: checks the script runs")
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    report(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
