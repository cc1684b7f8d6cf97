"""Live streaming on the CPU: latency and real-time factor of :class:`audiosr.Stream`.

For each shipped speech model (and sinc interpolation as a reference), the shipped
speech clip is brought to the model's output rate, decimated to its input rate
(:func:`audiosr.decimate`, as in training), repeated to ``--seconds``, and pushed
through a :class:`audiosr.Stream` in chunks of ``--chunk-ms`` (20 ms), at each
``--block-seconds`` value. Per configuration:

* the latency (``Stream.latency``, input samples and ms), the block and the context;
* the real-time factor: compute seconds of all pushes and the flush per second of
  audio (< 1 is faster than real time), median of ``--repeats`` runs after a warm-up;
* the median and largest time of one push, and the share of pushes that took longer
  than the chunk lasts (those that run a block through the model);
* the offline real-time factor (:func:`audiosr.upsample` on the whole signal) and the
  largest difference between the streamed and the offline output.

Usage::

    python benchmarks/streaming.py [--seconds 10] [--threads 1]

Writes ``streaming.md`` to ``--out`` (default ``benchmarks/results``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import git_commit, run_environment  # noqa: E402

MODELS = ("speech-x4-16k", "speech-x4-48k")


def low_rate_speech(seconds, input_sr, output_sr, rate):
    """The shipped speech clip at ``output_sr``, decimated to ``input_sr`` and repeated to ``seconds``."""
    import audiosr

    clip, _ = audiosr.datasets.load_sample("speech", sr=output_sr)
    low = audiosr.decimate(clip[: clip.size // rate * rate], rate)
    return np.tile(low, int(np.ceil(seconds * input_sr / low.size)))[: int(seconds * input_sr)]


def stream_once(stream, x, chunk):
    """Push ``x`` in chunks; return (output, seconds per push, flush seconds)."""
    stream.reset()
    parts, times = [], []
    for start in range(0, x.size, chunk):
        t0 = time.perf_counter()
        parts.append(stream.push(x[start : start + chunk]))
        times.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    parts.append(stream.flush())
    return np.concatenate(parts), times, time.perf_counter() - t0


def measure(model, input_sr, output_sr, block_seconds, x, chunk_ms, repeats):
    import audiosr

    stream = audiosr.Stream(model, sr=input_sr, target_sr=output_sr, block_seconds=block_seconds)
    chunk = round(chunk_ms * input_sr / 1000)
    seconds = x.size / input_sr
    stream_once(stream, x[: input_sr], chunk)  # warm-up (torch's first calls)
    runs = []
    for _ in range(repeats):
        y, times, flush = stream_once(stream, x, chunk)
        runs.append((sum(times) + flush, times, y))
    total, times, y = sorted(runs, key=lambda r: r[0])[len(runs) // 2]
    method = stream.model
    audiosr.upsample(x[: input_sr], sr=input_sr, target_sr=output_sr, method=method)
    t0 = time.perf_counter()
    offline = audiosr.upsample(x, sr=input_sr, target_sr=output_sr, method=method)
    offline_rtf = (time.perf_counter() - t0) / seconds
    budget = chunk / input_sr
    return {
        "model": model,
        "rates": f"{input_sr} -> {output_sr}",
        "block_ms": 1000 * stream.block / input_sr,
        "context_ms": 1000 * stream.context / input_sr,
        "latency": stream.latency,
        "latency_ms": 1000 * stream.latency_seconds,
        "chunk": chunk,
        "rtf": total / seconds,
        "rtf_runs": [round(r[0] / seconds, 3) for r in runs],
        "median_push_ms": 1000 * statistics.median(times),
        "max_push_ms": 1000 * max(times),
        "over_budget": sum(t > budget for t in times) / len(times),
        "offline_rtf": offline_rtf,
        "max_diff": float(np.max(np.abs(y - offline))),
    }


def report(rows, env, args):
    lines = [
        "# Live streaming on the CPU",
        "",
        f"Produced by `{env['command'].strip()}` on {env['cpu']} ({env['logical_cpus']} logical CPUs, no GPU), "
        f"{args.threads} torch thread(s); torch {env['torch']}, numpy {env['numpy']}, audiosr {env['audiosr']}, "
        f"commit `{env['git_commit']}`. Load average (1, 5, 15 min) before the run: "
        f"{', '.join(f'{v:.2f}' for v in env['load'][0])}; after: {', '.join(f'{v:.2f}' for v in env['load'][1])} "
        "(other jobs may share the machine: a load above the run's own 1 slows it down).",
        "",
        f"{args.seconds:g} s of the shipped speech clip, decimated to the model's input rate, pushed through "
        f"`audiosr.Stream` in {args.chunk_ms:g}-ms chunks. **Latency** = `Stream.latency` (block + context - 1 input "
        "samples): the output lags the input by exactly this much. **RTF** = compute seconds of all pushes and the "
        f"flush per second of audio, median of {args.repeats} runs after a warm-up (< 1 is faster than real time). "
        "**Push** = time of one `push`: most only buffer, the one that completes a block runs it through the model "
        f"with its context on both sides; **over budget** = pushes that took longer than a chunk lasts "
        f"({args.chunk_ms:g} ms). **Offline RTF** = `audiosr.upsample` on the whole signal. **Max diff** = largest "
        "difference between the streamed and the offline output.",
        "",
        "| model | rates (Hz) | block ms | context ms | latency (samples) | latency ms | RTF | median push ms "
        "| max push ms | over budget | offline RTF | max diff |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['rates']} | {r['block_ms']:.1f} | {r['context_ms']:.1f} | {r['latency']} "
            f"| {r['latency_ms']:.1f} | {r['rtf']:.2g} | {r['median_push_ms']:.2g} | {r['max_push_ms']:.3g} "
            f"| {100 * r['over_budget']:.0f} % | {r['offline_rtf']:.2g} | {r['max_diff']:.1g} |"
        )
    lines += [
        "",
        "RTF of each run: " + "; ".join(f"{r['model']} block {r['block_ms']:.0f} ms: {r['rtf_runs']}" for r in rows),
    ]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="audio per run")
    parser.add_argument("--chunk-ms", type=float, default=20.0, help="chunk length in milliseconds")
    parser.add_argument("--block-seconds", type=float, nargs="+", default=[0.01, 0.05, 0.2], help="Stream block sizes")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per figure (the median is kept)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--out", default=str(HERE / "results"))
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.chunk_ms <= 0 or args.repeats < 1 or args.threads < 1:
        parser.error("--seconds, --chunk-ms, --repeats and --threads must be positive")
    import torch

    import audiosr
    from audiosr import pretrained

    torch.set_num_threads(args.threads)
    cases = [(name, *(pretrained.info(name)[k] for k in ("input_sr", "output_sr", "rate"))) for name in MODELS]
    cases.append(("sinc", 4000, 16000, 4))
    rows = []
    load_before = os.getloadavg()
    for name, input_sr, output_sr, rate in cases:
        x = low_rate_speech(args.seconds, input_sr, output_sr, rate)
        blocks = {}
        for block_seconds in args.block_seconds:
            # Block sizes round up to the chain's grid: measure each real size once.
            stream = audiosr.Stream(name, sr=input_sr, target_sr=output_sr, block_seconds=block_seconds)
            blocks.setdefault(stream.block, block_seconds)
        for block_seconds in blocks.values():
            row = measure(name, input_sr, output_sr, block_seconds, x, args.chunk_ms, args.repeats)
            print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
            rows.append(row)
    commit, dirty = git_commit()
    env = {
        **run_environment("streaming.py"),
        "git_commit": (commit[:7] + ("+" if dirty else "")) if commit else None,
        "load": (load_before, os.getloadavg()),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "streaming.md").write_text(report(rows, env, args))
    print(f"wrote {out / 'streaming.md'}")


if __name__ == "__main__":
    main()
