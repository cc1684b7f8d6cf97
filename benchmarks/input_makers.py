"""How much the shipped pretrained models depend on how their low-rate input was made.

The pretrained models were trained on inputs made by one anti-alias filter (the
protocol's order-8 Chebyshev, ``decimate(method="iir")``); real low-rate files come
from soxr, scipy, librosa, sox and hand-written filters. This scores each shipped
model, the sinc and the spline interpolators on the test split of the shared data
with the input made by every method of ``audiosr.signal.DECIMATION_METHODS``
(``audiosr.evaluation.evaluate(decimation=[...])``: SNR, LSD and LSD-HF in the
default conventions, means over files).

To keep it to a few CPU minutes, each model gets at most ``--max-files`` test files
(drawn with seed 0) and the middle ``--clip-seconds`` of each.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/input_makers.py --data ../shared/data

Writes ``input_makers.md`` and ``input_makers.csv`` to ``--out`` (default ``benchmarks/results``).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import git_commit, run_environment  # noqa: E402

from audiosr.signal import DECIMATION_METHODS  # noqa: E402

MODELS = ("speech-x4-16k", "speech-x4-48k", "piano-x4-44k")
METRICS = (("snr", "SNR", 2), ("lsd", "LSD", 3), ("lsd_hf", "LSD-HF", 3))
UPSAMPLERS = ("model", "sinc", "spline")
#: Bands of the error diagnosis, in units of the input's Nyquist frequency: below the
#: protocol filter's pass-band edge, the top fifth of the input band, above the input band.
BANDS = ((0.0, 0.8), (0.8, 1.0), (1.0, None))


def clips_of(name, data, max_files, clip_seconds):
    """The model's rates and up to ``max_files`` clips of its test split, with their file names."""
    from audiosr import pretrained
    from audiosr.datasets import load_manifest

    meta = pretrained.info(name)
    sr, rate = meta["output_sr"], meta["rate"]
    # As scripts/train_pretrained.py scores them: the model's kinds, split "test", at its output rate.
    test = load_manifest(data, kind=meta["trained_on"]["kinds"], split="test", sr=sr, min_sr=sr)
    order = np.random.default_rng(0).permutation(len(test.signals))[:max_files]
    clip = int(clip_seconds * sr)
    clips, names = [], []
    for i in sorted(order.tolist()):
        y = test.signals[i]
        start = max(0, (len(y) - clip) // 2)
        clips.append(y[start : start + clip])
        names.append(test.paths[i].name)
    return clips, names, sr, rate, len(test.signals)


def score_model(name, args):
    """One record per (input method, up-sampler)."""
    from audiosr import pretrained
    from audiosr.evaluation import evaluate

    clips, names, sr, rate, n_test = clips_of(name, args.data, args.max_files, args.clip_seconds)
    model = pretrained.load(name)
    records = []
    for label, method in zip(UPSAMPLERS, (model, "sinc", "spline")):
        start = time.perf_counter()
        rows = evaluate(method, clips, rate, decimation=args.methods)
        seconds = time.perf_counter() - start
        for row in rows:
            records.append({"model": name, "upsampler": label, "input": row["decimation"], **row})
        print(f"[{name}] {label}: {len(clips)} clips x {len(rows)} input makers in {seconds:.0f} s", flush=True)
    info = {
        "sr": sr,
        "rate": rate,
        "files": len(clips),
        "test_files": n_test,
        "seconds": sum(len(c) for c in clips) / sr,
        "names": names,
    }
    return records, info


def band_errors(name, args):
    """Error energy of the model and of sinc per band, in dB relative to the references' energy."""
    from audiosr import decimate, pretrained, upsample

    clips, _, _, rate, _ = clips_of(name, args.data, args.diagnose_files, args.clip_seconds)
    model = pretrained.load(name)
    result = {}
    for method in args.diagnose_methods:
        error = {label: np.zeros(len(BANDS)) for label in ("model", "sinc")}
        total = 0.0
        for y in clips:
            y = y[: len(y) // rate * rate]
            x = decimate(y, rate, method=method)
            freq = np.fft.rfftfreq(len(y)) * 2 * rate  # in units of the input's Nyquist
            total += np.sum(np.abs(np.fft.rfft(y)) ** 2)
            for label, upsampler in (("model", model), ("sinc", "sinc")):
                power = np.abs(np.fft.rfft(upsample(x, rate, method=upsampler) - y)) ** 2
                for i, (low, high) in enumerate(BANDS):
                    error[label][i] += power[(freq >= low) & (freq < (high or np.inf))].sum()
        result[method] = {label: 10 * np.log10(e / total) for label, e in error.items()}
    return result, len(clips)


def band_table(errors):
    names = [f"{low:g}–{high:g}" if high else f"> {low:g}" for low, high in BANDS]
    lines = [
        "| input made by | " + " | ".join(f"model {n}" for n in names) + " | " + " | ".join(f"sinc {n}" for n in names) + " |",
        "|---|" + "---|" * (2 * len(BANDS)),
    ]
    for method, e in errors.items():
        lines.append(
            f"| `{method}` | " + " | ".join(f"{v:.1f}" for v in e["model"]) + " | "
            + " | ".join(f"{v:.1f}" for v in e["sinc"]) + " |"
        )
    return lines


def summary_table(records, models, methods):
    """Per model: model minus sinc on the protocol's input, and its range over the other input makers."""
    others = [m for m in methods if m != "iir"]
    lines = [
        "| model | SNR model − sinc, `iir` input | same, other inputs (min … max) | LSD model − sinc, `iir` input "
        "| same, other inputs (min … max) |",
        "|---|---|---|---|---|",
    ]
    for name in models:
        by = {(r["upsampler"], r["input"]): r for r in records if r["model"] == name}

        def gap(key, m):
            return by[("model", m)][key] - by[("sinc", m)][key]

        cells = []
        for key, digits in (("snr", 2), ("lsd", 3)):
            cells.append(f"{gap(key, 'iir'):+.{digits}f}" if "iir" in methods else "—")
            values = [gap(key, m) for m in others]
            cells.append(f"{min(values):+.{digits}f} … {max(values):+.{digits}f}" if values else "—")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def model_table(records, name, methods):
    """A row per input method; per metric the model, sinc and spline, and the model minus sinc."""
    by = {(r["upsampler"], r["input"]): r for r in records if r["model"] == name}
    header = "| input made by |"
    rule = "|---|"
    for _, label, _ in METRICS:
        header += f" {label} model | {label} sinc | {label} spline | {label} model − sinc |"
        rule += "---|---|---|---|"
    lines = [header, rule]
    for m in methods:
        text = []
        for key, _, digits in METRICS:
            values = [by[(u, m)][key] for u in UPSAMPLERS]
            text += [f"{v:.{digits}f}" for v in values] + [f"{values[0] - values[1]:+.{digits}f}"]
        lines.append(f"| `{m}` | " + " | ".join(text) + " |")
    return lines


def command_line(argv):
    env = " ".join(f"{k}={os.environ[k]}" for k in ("OMP_NUM_THREADS", "PYTHONPATH") if k in os.environ)
    args = " ".join(sys.argv[1:] if argv is None else argv)
    return f"{env + ' ' if env else ''}python benchmarks/input_makers.py {args}".rstrip()


def write_report(records, infos, diagnosis, args, env, command, seconds):
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    keys = ["model", "input", "upsampler", "snr", "lsd", "lsd_hf", "files"]
    with open(out / "input_makers.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        for r in records:
            writer.writerow({k: round(r[k], 4) if isinstance(r[k], float) else r[k] for k in keys})
    commit, dirty = git_commit()
    lines = [
        "# The shipped models and the input maker",
        "",
        f"Produced by `{command}` on {env['cpu']} ({env['logical_cpus']} logical CPUs, no GPU), "
        f"{args.threads} torch thread(s), in {seconds / 60:.1f} min; numpy {env['numpy']}, scipy {env['scipy']}, "
        f"torch {env['torch']}, audiosr {env['audiosr']}, commit `{(commit or '')[:7]}`"
        f"{' (with uncommitted changes)' if dirty else ''}.",
        "",
        "**Question.** The pretrained models (`audiosr.pretrained`) were trained on low-rate inputs made by "
        "the protocol's order-8 Chebyshev-I zero-phase filter (`decimate(method=\"iir\")`, pass band to 0.8 of the "
        "new Nyquist). Real low-rate files are made by other tools. How do the models do, against sinc and "
        "spline, when the same references are decimated by each method of `audiosr.signal.decimate`?",
        "",
        "**Input makers** (`audiosr.signal.decimate(method=...)`, default cutoffs): `iir` the protocol "
        "(scipy.signal.decimate); `fir` scipy's FIR decimation (Hamming, −6 dB at the new Nyquist); "
        "`subsample` no filter (aliasing); `poly` scipy.signal.resample_poly (Kaiser β=5, −6 dB at the new "
        "Nyquist); `soxr_hq` / `soxr_vhq` the SoX resampler (librosa's default; flat to 0.91, stop band from "
        "the new Nyquist); `fft` scipy.signal.resample (brick wall at the new Nyquist); `butter` an order-6 "
        "Butterworth at the new Nyquist, zero phase (sosfiltfilt).",
        "",
        f"**Protocol:** `audiosr.evaluation.evaluate(upsampler, clips, rate, decimation={list(args.methods)})`: "
        "each clip decimated by each method, up-sampled, scored against itself; SNR in dB, LSD and LSD-HF "
        "(the band above the input's Nyquist) in bels, log10 power, STFT 2048/512; means over clips. "
        f"Clips: the test split each model was scored on (scripts/train_pretrained.py), at most {args.max_files} "
        f"files per model drawn with seed 0, the middle {args.clip_seconds:g} s of each.",
        "",
        "## Summary",
        "",
        *summary_table(records, args.models, args.methods),
        "",
        "SNR in dB (positive: the model is better), LSD in bels (negative: the model is better).",
        "",
    ]
    for name in args.models:
        info = infos[name]
        lines += [
            f"## {name} ({info['sr'] // info['rate']} Hz → {info['sr']} Hz)",
            "",
            f"{info['files']} of the {info['test_files']} test files, {info['seconds']:.0f} s in all: "
            + ", ".join(f"`{n}`" for n in info["names"])
            + ".",
            "",
            *model_table(records, name, args.methods),
            "",
        ]
        if name in diagnosis:
            errors, n_files = diagnosis[name]
            lines += [
                f"Where the error is (the first {n_files} of these files): error energy per band of the input's "
                "Nyquist frequency (0–0.8: below the protocol filter's pass-band edge; 0.8–1: the top fifth of the "
                "input band, which the protocol's input lacks and the others keep; > 1: the band the model adds), "
                "in dB relative to the references' total energy.",
                "",
                *band_table(errors),
                "",
            ]
    (out / "input_makers.md").write_text("\n".join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=os.environ.get("AUDIOSR_DATA", str(HERE.parent.parent / "shared" / "data")))
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--methods", nargs="+", default=list(DECIMATION_METHODS), choices=DECIMATION_METHODS)
    parser.add_argument("--max-files", type=int, default=10, help="test files per model")
    parser.add_argument("--clip-seconds", type=float, default=4.0, help="middle part of each file scored")
    parser.add_argument("--diagnose-methods", nargs="*", default=["iir", "poly", "soxr_hq"], choices=DECIMATION_METHODS,
                        help="input makers whose error is split by band (none: no diagnosis)")  # fmt: skip
    parser.add_argument("--diagnose-files", type=int, default=5, help="files of the band diagnosis")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--out", default=str(HERE / "results"))
    args = parser.parse_args(argv)
    if not (Path(args.data) / "MANIFEST.csv").exists():
        parser.error(f"no MANIFEST.csv in {args.data}; pass --data DIR or set AUDIOSR_DATA")
    if args.max_files < 1 or args.clip_seconds <= 0:
        parser.error("--max-files must be at least 1 and --clip-seconds positive")
    import torch

    torch.set_num_threads(args.threads)
    command = command_line(argv)
    start = time.perf_counter()
    records, infos, diagnosis = [], {}, {}
    for name in args.models:
        model_records, infos[name] = score_model(name, args)
        records += model_records
        if args.diagnose_methods:
            diagnosis[name] = band_errors(name, args)
    write_report(records, infos, diagnosis, args, run_environment("input_makers.py"), command, time.perf_counter() - start)
    print(f"wrote {Path(args.out) / 'input_makers.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
