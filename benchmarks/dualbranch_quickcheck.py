"""Quick check of DualBranchSR's CPU-friendly defaults on real speech.

Trains each configuration for a fixed wall-clock budget on the training split of
the shared speech (resampled to 16 kHz), then scores whole test files against the
spline interpolator. It is a sanity check of the defaults, not the paper's table
(that is ``benchmarks/quality.py``).

Usage::

    python benchmarks/dualbranch_quickcheck.py --data ../shared/data --minutes 4

Writes ``benchmarks/results/dualbranch_quickcheck.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from audiosr import DualBranchSR, SplineUpsampler, make_pairs
from audiosr.datasets import load_manifest
from audiosr.evaluation import evaluate


def train_for(model, X, y, minutes, chunk=32, seed=0):
    """Fit on random chunks of pairs (warm start) until the budget is spent.

    A full epoch over the corpus takes longer than the budget on a 2-core CPU, so
    training proceeds in small random chunks; ``n_iter_`` then counts chunks.
    """
    rng = np.random.default_rng(seed)
    model.set_params(warm_start=True, max_epochs=1, lr_schedule="constant")
    start = time.perf_counter()
    seen = 0
    while time.perf_counter() - start < minutes * 60:
        idx = rng.choice(len(X), size=min(chunk, len(X)), replace=False)
        model.fit(X[idx], y[idx])
        seen += len(idx)
    return model, time.perf_counter() - start, seen / len(X)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=os.environ.get("AUDIOSR_DATA", "../shared/data"))
    parser.add_argument("--minutes", type=float, default=4.0, help="training budget per configuration")
    parser.add_argument("--rate", type=int, default=4)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "dualbranch_quickcheck.md"))
    args = parser.parse_args(argv)
    torch.set_num_threads(os.cpu_count() or 1)
    sr = 16000
    train = load_manifest(args.data, kind=["speech", "speech16k"], split="train", sr=sr, min_sr=sr)
    test = load_manifest(args.data, kind=["speech", "speech16k"], split="test", sr=sr, min_sr=sr)
    X, y = make_pairs(train.signals, args.rate, segment=8192, hop=4096, min_rms=0.01)
    print(
        f"{len(X)} training pairs of {y.shape[1]} samples from {len(train.signals)} files; {len(test.signals)} test files"
    )
    configs = {
        "spline": None,
        "DualBranchSR() defaults": DualBranchSR(rate=args.rate, random_state=0, device="cpu"),
        "DualBranchSR(branches='time')": DualBranchSR(rate=args.rate, branches="time", random_state=0, device="cpu"),
    }
    lines = [
        "# DualBranchSR quick check on real speech",
        "",
        f"Command: `python benchmarks/dualbranch_quickcheck.py --minutes {args.minutes:g} --rate {args.rate}`",
        f"Machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}.",
        f"Data: shared speech + speech16k, train split -> {len(X)} pairs of 8192 samples at 16 kHz (hop 4096, near-silent segments dropped); "
        f"test split: {len(test.signals)} whole files. Input: order-8 Chebyshev decimation by {args.rate}.",
        f"Budget: {args.minutes:g} min of training per model (constant learning rate 1e-3, batch 16, random chunks of 32 pairs; 'epochs' counts passes over the training pairs).",
        "",
        "| model | params | epochs | train s | SNR dB | LSD | LSD-HF |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, model in configs.items():
        if model is None:
            model, seconds, epochs, params = SplineUpsampler(rate=args.rate), 0.0, "-", "-"
        else:
            model, seconds, epochs = train_for(model, X, y, args.minutes)
            epochs, params = f"{epochs:.2f}", f"{sum(p.numel() for p in model.module_.parameters()):,}"
        scores = evaluate(model, test.signals, args.rate)
        s_, d, h = scores["snr"], scores["lsd"], scores["lsd_hf"]
        lines.append(f"| {name} | {params} | {epochs} | {seconds:.0f} | {s_:.2f} | {d:.3f} | {h:.3f} |")
        print(lines[-1], flush=True)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
