"""Why does (or doesn't) DualBranchSR win on LSD? The investigation behind quality.md.

Two parts, both on one cell of ``quality.py`` (default speech-multi, ×4):

``--diagnose``
    Loads the models ``quality.py`` trained and saved (``<work>/models``) and splits
    each method's LSD over the test files into *active* frames (within 40 dB of the
    file's loudest frame) and *quiet* ones, and measures the high band's energy in the
    output against the reference's on active frames (dB; negative = too dark). A
    waveform MSE objective predicts the conditional mean of what it cannot predict
    exactly, which for a random-phase high band is a *shrunken* band; a log-power
    objective (SpectralDNN) predicts its level instead.

``--weights W ...``
    Trains each of ``--rows`` once per ``spectral_loss`` weight (and, for
    DualBranchSR, per ``--normalize`` value) for ``--budget-minutes`` (the quality
    table's equal budget) and scores it with the quality protocol.

Usage::

    python benchmarks/lsd_investigation.py --diagnose
    python benchmarks/lsd_investigation.py --weights 0 0.003 --normalize 0 1 --rows DualBranchSR AudioUNet

Each part writes its own section file; ``lsd_investigation.md`` joins them.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import quality  # noqa: E402  (the table's data, pairs and estimators, so these runs match it)

ACTIVE_DB = 40.0


def frame_powers(y, n_fft=2048, hop=512):
    from audiosr.metrics import _stft_power_chunks

    return np.concatenate(list(_stft_power_chunks(np.asarray(y, dtype=np.float64), n_fft, hop)))


def diagnose_file(y, y_hat, rate):
    """Per-frame LSD over all, low and high bins; active mask; high-band energies on active frames."""
    from audiosr.metrics import _POWER_FLOOR, hf_cutoff_bin

    p, p_hat = frame_powers(y), frame_powers(y_hat)
    sq = (np.log10(np.maximum(p, _POWER_FLOOR)) - np.log10(np.maximum(p_hat, _POWER_FLOOR))) ** 2
    k = hf_cutoff_bin(rate)
    per_frame = {
        "all": np.sqrt(sq.mean(axis=-1)),
        "low": np.sqrt(sq[:, :k].mean(axis=-1)),
        "high": np.sqrt(sq[:, k:].mean(axis=-1)),
    }
    active = active_frames(p)
    return per_frame, active, p_hat[active, k:].sum(), p[active, k:].sum()


def active_frames(p):
    """Mask of the frames of power spectrogram ``p`` within ``ACTIVE_DB`` of its loudest frame."""
    energy = p.sum(axis=-1)
    return 10 * np.log10(np.maximum(energy, 1e-20)) > 10 * np.log10(energy.max() + 1e-20) - ACTIVE_DB


def diagnose(args):
    from audiosr import load_model, upsample
    from audiosr.signal import decimate

    _, test, _, _ = quality.load_dataset(args.dataset, args.data)
    rows = ["Spline", "Sinc", "SpectralDNN", "AudioUNet", "DualBranchSR", *quality.ABLATION]
    lines = [
        f"## Where the LSD comes from: {args.dataset}, ×{args.rate}",
        "",
        f"Command: `python benchmarks/lsd_investigation.py --diagnose --table-minutes {args.table_minutes:g}` "
        f"(models saved by `quality.py` at {args.table_minutes:g} minutes). "
        f"Active frames: within {ACTIVE_DB:g} dB of the file's loudest STFT frame (2048/512); LSD means over files "
        "of each file's frame mean; high-band energy: output over reference above the input's Nyquist, active frames, dB.",
        "",
        "| method | LSD | LSD-LF | LSD-HF | LSD active frames | LSD quiet frames | share of quiet frames "
        "| high-band energy dB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        saved = [] if row in quality.CLASSICAL else quality.saved_models(
            args.work, args.dataset, args.rate, row, args.table_minutes
        )
        if row in quality.CLASSICAL:
            method = row.lower()
        elif saved:
            method = load_model(saved[0], allow_pickle=False)
        else:
            continue
        all_, low, high, act, quiet, share, e_hat, e_ref = [], [], [], [], [], [], 0.0, 0.0
        for y in test:
            y = y[: len(y) // args.rate * args.rate]
            y_hat = upsample(decimate(y, args.rate), args.rate, method=method)
            per_frame, active, eh, er = diagnose_file(y, y_hat, args.rate)
            all_.append(per_frame["all"].mean())
            low.append(per_frame["low"].mean())
            high.append(per_frame["high"].mean())
            act.append(per_frame["all"][active].mean())
            if (~active).any():
                quiet.append(per_frame["all"][~active].mean())
            share.append(1 - active.mean())
            e_hat, e_ref = e_hat + eh, e_ref + er
        lines.append(
            f"| {row} | {np.mean(all_):.3f} | {np.mean(low):.3f} | {np.mean(high):.3f} | {np.mean(act):.3f} | {f'{np.mean(quiet):.3f}' if quiet else '—'} | {np.mean(share):.0%} | "
            f"{10 * np.log10(e_hat / e_ref):+.1f} |"
        )
        print(lines[-1], flush=True)
    return lines


def weights(args):
    import torch

    from audiosr.evaluation import evaluate

    torch.set_num_threads(args.threads)
    train, test, _, _ = quality.load_dataset(args.dataset, args.data)
    X, y = quality.training_pairs(train, args.rate)
    lines = [
        f"## `spectral_loss` at the table's budget: {args.dataset}, ×{args.rate}",
        "",
        f"Command: `python benchmarks/lsd_investigation.py {' '.join(sys.argv[1:])}`; {args.budget_minutes:g} min "
        f"of training per model, {args.threads} torch thread(s), {len(X)} training pairs, {len(test)} whole test "
        "files, the protocol of `quality.py`.",
        "",
        "| model | normalize | spectral_loss | epochs | SNR | LSD | LSD-HF | LSD (K17) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    variants = [(row, bool(n), w) for row in args.rows for n in args.normalize for w in args.weights]
    # Only DualBranchSR normalises, and SpectralDNN has no spectral_loss (its loss is log-spectral).
    variants = dict.fromkeys(
        (r, n if r == "DualBranchSR" else None, None if r == "SpectralDNN" else w) for r, n, w in variants
    )
    for row, normalize, weight in variants:
        model = quality.make_estimator(row, args.rate, args.budget_minutes * 60)
        if weight is not None:
            model.set_params(spectral_loss=weight)
        if normalize is not None:
            model.set_params(normalize=normalize)
        start = time.perf_counter()
        model.fit(X, y)
        epochs = quality.epochs_reached(model, X, y, args.rate)
        s = evaluate(model, test, args.rate, lsd_conventions=("kuleshov2017",))
        lines.append(
            f"| {row} | {'—' if normalize is None else normalize} | {'—' if weight is None else f'{weight:g}'} | {epochs:.2f} | "
            f"{s['snr']:.2f} | {s['lsd']:.3f} | {s['lsd_hf']:.3f} | {s['lsd_kuleshov2017']:.2f} |"
        )
        print(lines[-1], f"({time.perf_counter() - start:.0f} s)", flush=True)
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=os.environ.get("AUDIOSR_DATA", str(HERE.parent.parent / "shared" / "data")))
    parser.add_argument("--work", default=str(HERE / "work"))
    parser.add_argument("--dataset", default="speech-multi", choices=quality.DATASETS)
    parser.add_argument("--rate", type=int, default=4)
    parser.add_argument("--diagnose", action="store_true")
    parser.add_argument("--weights", nargs="+", type=float, default=None)
    parser.add_argument(
        "--normalize", nargs="+", type=int, default=[1], choices=(0, 1), help="DualBranchSR normalize values"
    )
    parser.add_argument(
        "--rows", nargs="+", default=["DualBranchSR"], choices=("SpectralDNN", "AudioUNet", "DualBranchSR")
    )
    parser.add_argument("--budget-minutes", type=float, default=4.0, help="training time of the weight variants")
    parser.add_argument(
        "--table-minutes", type=float, default=15.0, help="--diagnose: the budget of the quality table's models"
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(HERE / "results"))
    parser.add_argument("--join", action="store_true", help="only rebuild lsd_investigation.md from the sections")
    parser.add_argument("--tag", default="", help="suffix of this run's section file (keeps other runs' sections)")
    args = parser.parse_args(argv)
    if not (args.diagnose or args.weights or args.join):
        parser.error("pass --diagnose and/or --weights W ..., or --join")
    out = Path(args.out)
    for name, run in {"diagnose": diagnose, "weights": weights}.items():
        if getattr(args, name):
            (out / f"lsd_investigation_{name}{args.tag}.md.part").write_text("\n".join(run(args)) + "\n")
    sections = [p.read_text() for p in sorted(out.glob("lsd_investigation_*.md.part"))]
    (out / "lsd_investigation.md").write_text("# LSD investigation (issue #8)\n\n" + "\n".join(sections))
    print(f"wrote {out / 'lsd_investigation.md'}")


if __name__ == "__main__":
    main()
