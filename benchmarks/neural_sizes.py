"""Parameter count and CPU speed of DualBranchSR's (and AudioUNet's) default and paper configurations.

Usage::

    python benchmarks/neural_sizes.py

Measures, for rate 4 at 16 kHz output: parameters; training throughput (target
samples per second over timed Adam steps on random patches, after a warm-up step);
inference real-time factor (seconds of compute per second of audio) of
``transform`` on 10 s of audio, the median of 3 runs. Writes
``benchmarks/results/neural_sizes.md``.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from audiosr import AudioUNet, DualBranchSR


def measure(name, model, rate=4, sr=16000, steps=3, runs=3):
    rng = np.random.default_rng(0)
    patch = model._resolved_patch_len(rate)
    batch = model.batch_size
    X = rng.standard_normal((batch, patch // rate)).astype(np.float32)
    y = rng.standard_normal((batch, patch)).astype(np.float32)
    model.set_params(max_epochs=1, warm_start=True, device="cpu", lr_schedule="constant")
    model.fit(X, y)  # warm-up: builds the module, first allocations
    start = time.perf_counter()
    for _ in range(steps):
        model.fit(X, y)  # one epoch = one step of `batch` patches
    train_rate = steps * batch * patch / (time.perf_counter() - start)
    x = rng.standard_normal((1, 10 * sr // rate)).astype(np.float32)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        model.transform(x)
        times.append(time.perf_counter() - start)
    rtf = statistics.median(times) / 10.0
    params = sum(p.numel() for p in model.module_.parameters())
    return f"| {name} | {params:,} | {patch} | {batch} | {train_rate:,.0f} | {rtf:.3f} |"


def main():
    threads = torch.get_num_threads()
    rows = [
        measure("DualBranchSR(rate=4) defaults", DualBranchSR(rate=4, random_state=0)),
        measure("DualBranchSR(rate=4, branches='time')", DualBranchSR(rate=4, branches="time", random_state=0)),
        measure("AudioUNet(rate=4) defaults", AudioUNet(rate=4, random_state=0)),
        measure("DualBranchSR.paper(4)", DualBranchSR.paper(4, random_state=0, batch_size=8), steps=1, runs=1),
    ]
    lines = [
        "# Neural model sizes and CPU speed",
        "",
        "Command: `python benchmarks/neural_sizes.py`",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores, {threads} torch threads, torch {torch.__version__}.",
        "Rate 4, 16 kHz output. Training: target samples per second over Adam steps on random patches "
        "(the paper preset measured at batch 8 instead of 128 to fit the time). "
        "Inference: real-time factor of `transform` on 10 s of audio (median of 3 runs, 1 for the paper preset; < 1 is faster than real time).",
        "",
        "| configuration | parameters | patch | batch | training samples/s | inference RTF |",
        "|---|---|---|---|---|---|",
        *rows,
    ]
    out = Path(__file__).parent / "results" / "neural_sizes.md"
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
