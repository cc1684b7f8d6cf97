"""Data-parallel training on the CPU: 2 processes (torchrun, Gloo) against 1.

A small :class:`audiosr.DualBranchSR` (the defaults) trains on real speech: the first
``--seconds`` of the training split's speech files at or above 16 kHz, brought to
16 kHz, cut into 8192-sample segments with 50 % overlap as ``audiosr train`` cuts them,
at rate 2. Three configurations, each in a fresh process (or processes), same global
batch (``--batch``), seed and epochs:

* 1 process, 1 thread;
* 1 process, ``--threads`` threads (PyTorch's intra-op parallelism, the default way to
  use the cores);
* ``--nproc`` processes of 1 thread each, under ``torchrun`` with Gloo
  (:func:`audiosr.neural.fit_distributed`).

For each: seconds per epoch (the median of the epochs after the first, which carries
the warm-up), target samples trained per second, and the final training loss. The
first epoch and the start-up (Python, torch, the process group) are reported apart.

Usage::

    python benchmarks/distributed.py --data ../shared/data [--seconds 30] [--epochs 3]

Writes ``distributed.md`` to ``--out`` (default ``benchmarks/results``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import git_commit, run_environment  # noqa: E402

SR, RATE, SEGMENT = 16000, 2, 8192


def speech_pairs(data, seconds):
    """Low/high-rate training pairs from the first ``seconds`` of real training speech at 16 kHz."""
    import audiosr

    files = audiosr.datasets.load_manifest(data, kind="speech", split="train", min_sr=SR, load_audio=False).paths
    signals, total = [], 0.0
    for path in files:
        y, _ = audiosr.io.load(path, sr=SR)
        signals.append(y)
        total += y.size / SR
        if total >= seconds:
            break
    X, y = audiosr.make_pairs(signals, RATE, segment=SEGMENT, hop=SEGMENT // 2, min_rms=0.01, random_state=0)
    return X, y, total


def worker(args):
    """One configuration's training (one process of it under torchrun); rank 0 writes the figures."""
    import torch

    import audiosr
    from audiosr.neural import NeuralUpsampler, fit_distributed

    torch.set_num_threads(args.threads)
    X, y, seconds = speech_pairs(args.data, args.seconds)
    epochs = []
    original = NeuralUpsampler._run_epoch

    def timed(self, *a, **k):
        t0 = time.perf_counter()
        out = original(self, *a, **k)
        epochs.append(time.perf_counter() - t0)
        return out

    NeuralUpsampler._run_epoch = timed
    model = audiosr.DualBranchSR(
        rate=RATE, batch_size=args.batch, max_epochs=args.epochs, random_state=0, device="cpu"
    )
    t0 = time.perf_counter()
    fit_distributed(model, X, y)
    fit_seconds = time.perf_counter() - t0
    if int(os.environ.get("RANK", "0")) == 0:
        steady = statistics.median(epochs[1:]) if len(epochs) > 1 else epochs[0]
        samples = len(X) * (y.shape[1] // model.patch_len_) * model.patch_len_  # target samples per epoch
        report = {
            "audio_seconds": seconds,
            "segments": len(X),
            "patches": samples // model.patch_len_,
            "patch_len": model.patch_len_,
            "epochs": epochs,
            "seconds_per_epoch": steady,
            "samples_per_second": samples / steady,
            "fit_seconds": fit_seconds,
            "final_loss": model.loss_curve_[-1],
            "threads": torch.get_num_threads(),
        }
        Path(args.report).write_text(json.dumps(report))


def run_config(args, name, nproc, threads, report):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(var, None)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE.parent), *filter(None, [env.get("PYTHONPATH")])])
    inner = [str(HERE / "distributed.py"), "--worker", "--data", str(args.data), "--seconds", str(args.seconds)]
    inner += ["--epochs", str(args.epochs), "--batch", str(args.batch), "--threads", str(threads), "--report", report]
    if nproc == 1:
        command = [sys.executable, *inner]
    else:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", *inner]
    t0 = time.perf_counter()
    subprocess.run(command, env=env, check=True)
    wall = time.perf_counter() - t0
    result = json.loads(Path(report).read_text())
    result.update(name=name, nproc=nproc, wall_seconds=wall)
    print(f"{name}: {result['seconds_per_epoch']:.2f} s/epoch, {result['samples_per_second']:.0f} samples/s", flush=True)
    return result


def write_report(results, args, env, load_before, load_after, path):
    commit, dirty = git_commit()
    first = results[0]
    base = next(r for r in results if r["nproc"] == 1 and r["threads"] == args.threads)
    lines = [
        "# Data-parallel training on the CPU (torchrun, Gloo)",
        "",
        f"Command: `{env['command']}` (from the repository root).",
        "",
        f"DualBranchSR (defaults: filters (16, 32, 64, 64), dropout 0.1) at rate {RATE}, trained on "
        f"{first['audio_seconds']:.1f} s of real training speech from the data folder at {SR} Hz: "
        f"{first['segments']} segments of {SEGMENT} samples, {first['patches']} patches of {first['patch_len']} "
        f"(all trained on: no early stopping), global batch {args.batch}, {args.epochs} epochs, seed 0. "
        "Each configuration ran in fresh processes; seconds per epoch is the median of the epochs after the first.",
        "",
        "| configuration | s / epoch | target samples / s | speed-up | first epoch (s) | whole run, start-up included (s) "
        "| final loss |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r['name']} | {r['seconds_per_epoch']:.2f} | {r['samples_per_second']:,.0f} | "
            f"{base['seconds_per_epoch'] / r['seconds_per_epoch']:.2f} | {r['epochs'][0]:.2f} | "
            f"{r['wall_seconds']:.1f} | {r['final_loss']:.4g} |"
        )
    lines += [
        "",
        f"Speed-up: against 1 process with {args.threads} threads. Load average (1 min) before the runs "
        f"{load_before:.2f}, after {load_after:.2f}, on {env['logical_cpus']} logical CPUs: other jobs shared the "
        "machine, so the figures carry their noise.",
        "",
        f"Machine: {env['cpu']}, {env['logical_cpus']} logical CPUs; Python {env['python']}, torch {env['torch']}, "
        f"numpy {env['numpy']}, audiosr {env['audiosr']}; commit {commit}{' (uncommitted changes)' if dirty else ''}.",
        "",
    ]
    path.write_text("\n".join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data")
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds of speech to train on")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=32, help="global batch size")
    parser.add_argument("--threads", type=int, default=2, help="threads of the one-process run")
    parser.add_argument("--nproc", type=int, default=2, help="processes of the distributed run")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--report", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args)
        return 0
    env = run_environment("distributed.py")
    load_before = os.getloadavg()[0]
    configs = [
        ("1 process, 1 thread", 1, 1),
        (f"1 process, {args.threads} threads", 1, args.threads),
        (f"{args.nproc} processes x 1 thread (torchrun, gloo)", args.nproc, 1),
    ]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, nproc, threads) in enumerate(configs):
            results.append(run_config(args, name, nproc, threads, os.path.join(tmp, f"{i}.json")))
    args.out.mkdir(parents=True, exist_ok=True)
    write_report(results, args, env, load_before, os.getloadavg()[0], args.out / "distributed.md")
    print(f"wrote {args.out / 'distributed.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
