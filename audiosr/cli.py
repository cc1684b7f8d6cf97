"""The ``audiosr`` command line: a thin shell over the library (plan and up-sample files, inspect, evaluate, train, export, demo, app)."""

from __future__ import annotations

import argparse
import csv
import os
import sys
import warnings
from pathlib import Path

import numpy as np

from . import pretrained
from ._reporting import format_table
from ._version import __version__
from .batch import iter_upsample_files, parse_shard, shard
from .classical import CLASSICAL_METHODS
from .io import AUDIO_EXTENSIONS, ClippingWarning, atomic_output, find_audio_files, info, load
from .metrics import LENGTH_TOLERANCE, length_mismatch, lsd, lsd_hf, snr
from .signal import DECIMATION_METHODS
from .threads import check_threads, inference_threads

__all__ = ["main", "build_parser"]


class CommandError(Exception):
    """A problem with the command's arguments or files, reported without a traceback."""


def build_parser():
    """Build the argument parser of the ``audiosr`` command."""
    parser = argparse.ArgumentParser(
        prog="audiosr",
        description="Audio super-resolution: recover high-sample-rate audio from low-rate audio.",
    )
    parser.add_argument("--version", action="version", version=f"audiosr {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    up = sub.add_parser(
        "upsample",
        help="up-sample audio files or folders",
        description=(
            "Up-sample audio files to a target rate (--sr, any rate above the file's) or by an integer factor "
            "(--rate). Each file gets a plan, printed on stderr: its container rate, the bandwidth its content "
            "really has (detected), the model or method, the resampling steps (soxr) and the output rate. With "
            "one input file, OUT is the output file (or an existing folder); with several inputs or a folder, OUT "
            "is a folder (created if missing) that mirrors the inputs' layout. Files are written atomically; "
            "existing files are never overwritten without --force, and an input is never overwritten."
        ),
    )
    up.add_argument("inputs", nargs="+", metavar="IN", help="audio files or folders (searched recursively)")
    up.add_argument("-o", "--output", required=True, metavar="OUT", help="output file or folder")
    target = up.add_mutually_exclusive_group()
    target.add_argument("--rate", type=int, help="up-sampling factor (integer >= 2); a --model file knows its own")
    target.add_argument("--sr", type=int, metavar="TARGET", help="target sample rate in Hz, any rate above the file's")
    how = up.add_mutually_exclusive_group()
    how.add_argument(
        "--method",
        choices=sorted(CLASSICAL_METHODS),
        default=None,
        help="classical up-sampling method (default: the shipped model for the content's rate and the target, else sinc)",
    )
    how.add_argument(
        "--model",
        metavar="PATH|NAME",
        help=(
            "a shipped model's name (see audiosr.pretrained.list()) or a weights file from audiosr.save_model / "
            "audiosr train (loading one runs no code); pickle/joblib files only with --trust-pickle"
        ),
    )
    up.add_argument(
        "--trust-pickle",
        action="store_true",
        help="allow a pickle/joblib --model file: unpickling runs code from the file, so only for files you made",
    )
    up.add_argument(
        "--input-bandwidth",
        type=float,
        metavar="HZ",
        help="the content's real bandwidth in Hz (instead of detecting it)",
    )
    up.add_argument(
        "--no-detect", action="store_true", help="do not detect the content's bandwidth: trust the file's rate"
    )
    up.add_argument(
        "--force-model",
        action="store_true",
        help="run a model even on a file that is already full band at the target rate",
    )
    up.add_argument("--dry-run", action="store_true", help="print each file's plan and write nothing")
    up.add_argument("--subtype", help="output sample format, e.g. PCM_16, PCM_24, FLOAT (default: the input's)")
    up.add_argument("--force", action="store_true", help="overwrite existing output files")
    up.add_argument("--quiet", action="store_true", help="no progress bar and no plan lines")
    _add_threads_argument(up)
    up.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help=(
            "worker processes that up-sample files in parallel (default: 1; 0: one per CPU); each uses "
            "CPUs/N threads and loads the model once; the output is the same as with 1"
        ),
    )
    up.add_argument(
        "--shard",
        metavar="K/N",
        help=(
            "process only the K-th of N parts of the files (K from 1 to N), e.g. one per machine or array job: "
            "the N runs together do every file exactly once; a file's part depends only on its relative path"
        ),
    )

    ev = sub.add_parser(
        "evaluate",
        help="score estimates against references (SNR, LSD, LSD-HF)",
        description=(
            "Score estimate files against reference files of the same rate. REF and EST are both files or both "
            f"folders (files are paired by relative path). A reference and its estimate may differ in length by "
            f"at most {LENGTH_TOLERANCE} samples (one analysis frame: 43 ms at 48 kHz), which are cut away; a "
            "larger difference is an error unless --trim."
        ),
    )
    ev.add_argument("reference", metavar="REF")
    ev.add_argument("estimate", metavar="EST")
    ev.add_argument(
        "--trim",
        action="store_true",
        help=(
            f"score files whose lengths differ by more than {LENGTH_TOLERANCE} samples over their common part "
            "(the shorter length), with a note, instead of refusing them"
        ),
    )
    ev.add_argument(
        "--rate",
        type=float,
        help="the up-sampling factor the estimates were made with; enables LSD-HF (high band above the input's Nyquist)",
    )
    ev.add_argument("--csv", metavar="PATH", help="also write the per-file figures to this CSV file")
    ev.add_argument("--force", action="store_true", help="overwrite an existing --csv file")
    _add_threads_argument(ev)

    tr = sub.add_parser(
        "train",
        help="train a model on high-rate audio",
        description=(
            "Train DualBranchSR (or AudioUNet, SpectralDNN) on high-rate audio: files, folders, or a dataset "
            "folder with MANIFEST.csv. The low-rate inputs are made by decimation. The model is written to OUT: "
            "a .pt weights file (safe to share) or a .joblib pickle (for your own use: loading it runs code, "
            "so it needs --trust-pickle); `audiosr upsample --model OUT` uses it."
        ),
    )
    tr.add_argument("data", nargs="+", metavar="DATA", help="audio files, folders, or a folder with MANIFEST.csv")
    tr.add_argument("--rate", type=int, required=True, help="up-sampling factor the model learns")
    tr.add_argument("-o", "--output", required=True, metavar="OUT", help="model file (.pt or .joblib)")
    tr.add_argument("--estimator", choices=sorted(ESTIMATORS), default="dualbranch", help="model (default: dualbranch)")
    tr.add_argument("--sr", type=int, help="resample all audio to this high rate first (needed when files differ)")
    tr.add_argument(
        "--preset",
        choices=PRESETS,
        default="defaults",
        help=(
            "configuration: 'defaults' (the estimator's fast defaults), 'recipe' (DualBranchSR's quality recipe, "
            "DualBranchSR.recipe: lower LSD, about 1.5 times the inference time) or 'paper' (the published sizes and "
            "objective, meant for a GPU) (default: defaults)"
        ),
    )
    tr.add_argument(
        "--epochs", type=int, help="maximum passes over the data (default: 20; with --preset paper, the paper's)"
    )
    tr.add_argument(
        "--minutes",
        type=float,
        help="training time budget in minutes, for all the runs that resume one checkpoint together (default: none)",
    )
    ckpt = tr.add_mutually_exclusive_group()
    ckpt.add_argument(
        "--checkpoint",
        metavar="PATH",
        help=(
            "file where the training state is saved after every epoch (default: OUT.ckpt); a run that finds it "
            "resumes there (after Ctrl-C, a crash or a time limit), and it is deleted once OUT is written"
        ),
    )
    ckpt.add_argument("--no-checkpoint", action="store_true", help="save no training state (an interruption loses all)")
    tr.add_argument("--segment", type=int, default=8192, help="training segment length in high-rate samples")
    tr.add_argument("--kind", nargs="*", help="with a MANIFEST.csv: kinds to use (e.g. speech)")
    tr.add_argument("--split", default="train", help="with a MANIFEST.csv: split to use (default: train)")
    tr.add_argument(
        "--decimation",
        choices=["mix", *DECIMATION_METHODS],
        default="iir",
        help=(
            "how the low-rate inputs are made: 'iir' (the TFNet protocol, default), another tool's filter, or 'mix' "
            "(one of several real tools' filters per file, so the model does not depend on how its input was made)"
        ),
    )
    tr.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    tr.add_argument(
        "--device", default="auto", help="auto (CUDA when available, default), cpu, cuda or cuda:N (one process)"
    )
    tr.add_argument(
        "--nproc",
        type=int,
        metavar="N",
        help=(
            "train with N processes on this machine (one per GPU, or N on the CPU): runs "
            "`torchrun --standalone --nproc_per_node N -m audiosr train ...`; for several machines, run torchrun yourself"
        ),
    )
    tr.add_argument(
        "--backend",
        choices=["auto", "gloo", "nccl"],
        default="auto",
        help="with several processes: how they communicate (default: auto, NCCL on CUDA, else Gloo)",
    )
    tr.add_argument("--quiet", action="store_true", help="no progress bar")
    tr.add_argument("--force", action="store_true", help="overwrite OUT")

    demo = sub.add_parser(
        "demo",
        help="run every method on shipped speech and piano clips",
        description="Decimate the shipped speech and piano clips, up-sample them with every method, print SNR / LSD / LSD-HF and write the wav files.",
    )
    demo.add_argument(
        "-o", "--output", default="audiosr-demo", metavar="DIR", help="output folder (default: ./audiosr-demo)"
    )
    demo.add_argument("--rate", type=int, default=4, help="up-sampling factor (default: 4)")
    demo.add_argument("--force", action="store_true", help="overwrite files of an earlier demo run")

    ex = sub.add_parser(
        "export",
        help="export a trained model to ONNX (runs with onnxruntime, without torch)",
        description=(
            "Write a trained model's network to an ONNX file with its metadata (rates, licences, the pipeline "
            "around the network). `audiosr upsample --model OUT` and audiosr.load_model(OUT) run it with "
            "onnxruntime, without torch. Needs the onnx extra: pip install 'audiosr-learn[onnx]'."
        ),
    )
    ex.add_argument(
        "model",
        metavar="MODEL",
        help="a shipped model's name (see audiosr.pretrained.list()) or a weights file from audiosr train / save_model",
    )
    ex.add_argument("-o", "--output", required=True, metavar="OUT", help="the ONNX file to write (.onnx)")
    ex.add_argument(
        "--trust-pickle",
        action="store_true",
        help="allow a pickle/joblib MODEL file: unpickling runs code from the file, so only for files you made",
    )
    ex.add_argument("--force", action="store_true", help="overwrite OUT")

    inf = sub.add_parser(
        "info",
        help="what a file contains: rate, channels, duration, format, real bandwidth, and the plan",
        description=(
            "Print, per file: sample rate, channels, duration, format and subtype, the bandwidth its content "
            "really has (detected), and what `audiosr upsample --sr TARGET` would do with it."
        ),
    )
    inf.add_argument("inputs", nargs="+", metavar="FILE", help="audio files or folders")
    inf.add_argument("--sr", type=int, default=48000, metavar="TARGET", help="target rate of the plan (default: 48000)")

    app = sub.add_parser(
        "app",
        help="a local web page to hear and see the result (needs the app extra)",
        description=(
            "Serve a web page where you drop an audio file (or pick a shipped clip), see what was detected, "
            "choose a target rate and a method, run it, listen to input, output and reference with an A/B switch, "
            "compare spectrograms and scores, and download the result. Everything stays on this computer. "
            "Needs the app extra: pip install 'audiosr-learn[app]'."
        ),
    )
    app.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1, this computer only; 0.0.0.0 exposes it to the network)",
    )
    app.add_argument("--port", type=int, default=8000, help="TCP port (default: 8000; 0 picks a free one)")
    app.add_argument(
        "--max-upload-mb", type=float, default=500.0, metavar="MB", help="largest upload accepted (default: 500)"
    )
    return parser


# ----------------------------------------------------------------------------- upsample


def _plan_outputs(inputs, output):
    """(input, output, relative path) of each file; an output folder inside an input folder is not searched."""
    out = Path(output)
    # An output folder inside an input folder must not feed a second run its own outputs;
    # an output folder that *is* an input folder is refused per file further on.
    inside = out.is_dir() and out.resolve() not in {Path(p).resolve() for p in inputs}
    files = find_audio_files(inputs, exclude=[out] if inside else [])
    if not files:
        raise CommandError(f"no audio files found in {', '.join(inputs)}.")
    folder_mode = (
        len(files) > 1 or any(Path(p).is_dir() for p in inputs) or out.is_dir() or output.endswith(("/", os.sep))
    )
    if folder_mode and not out.is_dir() and out.suffix.lower() in AUDIO_EXTENSIONS:
        raise CommandError(
            f"{len(files)} input files but one output file '{output}': with several inputs OUT is a folder; "
            "name a folder (e.g. -o out/)."
        )
    if folder_mode:
        return [(src, out / rel, rel) for src, rel in files]
    return [(files[0][0], out, files[0][1])]


def _check_upsample_args(args):
    """Everything that can be checked before a file is read or a model loaded."""
    if args.rate is not None and args.rate < 2:
        raise CommandError(f"--rate must be an integer >= 2, got {args.rate}.")
    if args.sr is not None and args.sr <= 0:
        raise CommandError(f"--sr must be a positive sample rate in Hz, got {args.sr}.")
    if args.input_bandwidth is not None and not args.input_bandwidth > 0:
        raise CommandError(f"--input-bandwidth must be a positive frequency in Hz, got {args.input_bandwidth:g}.")
    if args.input_bandwidth is not None and args.no_detect:
        raise CommandError("--input-bandwidth and --no-detect contradict each other; pass one.")
    if args.trust_pickle and not args.model:
        raise CommandError("--trust-pickle goes with --model FILE.")
    if args.model is None and args.rate is None and args.sr is None:
        raise CommandError("pass --rate R or --sr TARGET (or a --model, which knows its rate).")
    if args.jobs < 0:
        raise CommandError(f"--jobs must be a number of worker processes >= 1 (0: one per CPU), got {args.jobs}.")
    if args.shard is not None:
        try:
            parse_shard(args.shard)
        except ValueError as exc:
            raise CommandError(f"--shard: {exc}") from None


def _chosen_method(args):
    """'auto', a classical method, a shipped model's name, or a model loaded from a file."""
    choice = args.model or args.method
    if choice is None:
        return "auto"
    if choice in CLASSICAL_METHODS or choice in pretrained.list():
        return choice
    from .persistence import load_model

    try:
        model = load_model(choice, allow_pickle=args.trust_pickle)
    except (FileNotFoundError, IsADirectoryError) as exc:
        raise CommandError(
            f"--model: {exc} (not a file, a shipped model {pretrained.list()}, nor one of {sorted(CLASSICAL_METHODS)})."
        ) from None
    except (ValueError, TypeError, ImportError) as exc:
        raise CommandError(f"--model: {exc}") from None
    if not isinstance(getattr(model, "metadata_", None), dict) or "name" not in model.metadata_:
        model.metadata_ = {**getattr(model, "metadata_", {}), "name": Path(choice).name}
    rate = int(getattr(model, "rate_", model.rate))
    if args.rate is not None and args.rate != rate:
        raise CommandError(f"--rate {args.rate} but the model '{choice}' up-samples by {rate}; leave --rate out.")
    return model


class _Progress:
    """A per-file progress bar in audio seconds, on a terminal only, after the first two seconds."""

    def __init__(self, src, sr, quiet):
        self.bar, self.sr = None, sr
        if quiet or not sys.stderr.isatty():
            return
        from tqdm.auto import tqdm

        self.bar = tqdm(
            total=None, desc=Path(src).name, unit="s", unit_scale=False, delay=2.0, leave=False, file=sys.stderr
        )

    def __call__(self, done, total):
        if self.bar is not None:
            self.bar.total = round(total / self.sr, 1)
            self.bar.n = round(done / self.sr, 1)
            self.bar.refresh()

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _report_warnings(src, said):
    for category, message, filename, lineno in said:
        if issubclass(category, ClippingWarning):
            print(f"audiosr upsample: warning: {src}: {message}", file=sys.stderr)
        else:
            warnings.warn_explicit(message, category, filename, lineno)


def _shard_of_outputs(outputs, args):
    """This run's share of the files with --shard K/N (all of them without)."""
    if args.shard is None:
        return outputs
    k, n = parse_shard(args.shard)
    mine = shard(outputs, k, n, key=lambda triple: triple[2])
    if not args.quiet:
        print(f"audiosr upsample: shard {k}/{n}: {len(mine)} of {len(outputs)} file(s)", file=sys.stderr)
    return mine


def _cmd_upsample(args):
    _check_upsample_args(args)
    try:
        outputs = _plan_outputs(args.inputs, args.output)
    except FileNotFoundError as exc:
        raise CommandError(str(exc)) from None
    outputs = _shard_of_outputs(outputs, args)
    method = _chosen_method(args)

    def on_plan(src, description):
        if not args.quiet or args.dry_run:
            print(f"audiosr upsample: plan: {description}", file=sys.stderr)

    results = iter_upsample_files(
        [(src, dst) for src, dst, _ in outputs],
        args.sr,
        rate=args.rate,
        method=method,
        input_bandwidth=args.input_bandwidth,
        detect=not args.no_detect,
        force_model=args.force_model,
        subtype=args.subtype,
        overwrite=args.force,
        dry_run=args.dry_run,
        jobs=args.jobs,
        threads=args.threads,
        on_plan=on_plan,
        progress=lambda src, the_plan: _Progress(src, the_plan.input_sr, args.quiet),
        overwrite_hint="--force",
    )
    failures = skipped = seen = 0
    stop = None
    for result in results:
        seen += 1
        if result.status == "skipped":
            skipped += 1
        elif result.status == "written":
            _report_warnings(result.source, result.warnings)
            print(
                f"{result.source} -> {result.destination} "
                f"({result.input_sr} Hz -> {result.output_sr} Hz, {result.method_label})"
            )
        elif result.status == "failed":
            failures += 1
            print(f"audiosr upsample: error: {result.source}: {result.error}", file=sys.stderr)
            stop = result.stop or stop
    if stop is not None and seen < len(outputs):
        left = len(outputs) - seen
        print(f"audiosr upsample: stopping: {stop} ({left} file(s) not processed).", file=sys.stderr)
        failures += left
    if skipped and not args.dry_run:
        print(f"audiosr upsample: {skipped} file(s) had nothing to add and were not written.", file=sys.stderr)
    if failures:
        print(f"audiosr upsample: {failures} of {len(outputs)} file(s) failed.", file=sys.stderr)
        return 1
    return 0


# ----------------------------------------------------------------------------- info


def _cmd_info(args):
    from .bandwidth import file_bandwidth
    from .planning import plan

    if args.sr <= 0:
        raise CommandError(f"--sr must be a positive sample rate in Hz, got {args.sr}.")
    try:
        files = find_audio_files(args.inputs)
    except FileNotFoundError as exc:
        raise CommandError(str(exc)) from None
    if not files:
        raise CommandError(f"no audio files found in {', '.join(args.inputs)}.")
    failures = 0
    for src, _ in files:
        try:
            i = info(src)
            bw = file_bandwidth(src)
            print(f"{src}")
            print(f"  rate      {i.samplerate} Hz, {i.channels} channel(s), {i.frames / i.samplerate:.2f} s")
            print(f"  format    {i.format} / {i.subtype}")
            if bw.hz > 0:
                print(f"  content   to {bw.hz / 1000:.2f} kHz (confidence {bw.confidence:.2f}; {bw.evidence})")
            else:
                print(f"  content   none active ({bw.evidence})")
            try:
                the_plan = plan(src, target_sr=args.sr, input_bandwidth=bw if bw.hz > 0 else None, detect=bw.hz > 0)
                what = the_plan.describe().split(": ", 1)[1]
            except ValueError as exc:
                what = str(exc)
            print(f"  --sr {args.sr}: {what}")
        except (ValueError, TypeError, OSError) as exc:
            failures += 1
            print(f"audiosr info: error: {src}: {exc}", file=sys.stderr)
    return 1 if failures else 0


# ----------------------------------------------------------------------------- evaluate


def _pair_files(reference, estimate):
    ref, est = Path(reference), Path(estimate)
    for p in (ref, est):
        if not p.exists():
            raise CommandError(f"no such file or folder: '{p}'")
    if ref.is_dir() != est.is_dir():
        raise CommandError("REF and EST must both be files or both be folders.")
    if not ref.is_dir():
        return [(ref.name, ref, est)], []
    refs = {rel: f for f, rel in find_audio_files([ref])}
    ests = {rel: f for f, rel in find_audio_files([est])}
    pairs = [(str(rel), refs[rel], ests[rel]) for rel in sorted(refs) if rel in ests]
    missing = [str(rel) for rel in sorted(refs) if rel not in ests]
    if not pairs:
        raise CommandError(f"no file of '{ref}' has a counterpart of the same relative path in '{est}'.")
    return pairs, missing


def _evaluate_one(ref_path, est_path, rate, trim=False):
    """Scores of one pair, and a note to print (or None) when --trim cut a long difference."""
    y, sr_ref = load(ref_path, mono=False, dtype=np.float64)
    y_hat, sr_est = load(est_path, mono=False, dtype=np.float64)
    if sr_ref != sr_est:
        raise CommandError(f"sample rates differ: reference {sr_ref} Hz, estimate {sr_est} Hz.")
    if y.shape[0] != y_hat.shape[0]:
        raise CommandError(f"channel counts differ: reference {y.shape[0]}, estimate {y_hat.shape[0]}.")
    n = min(y.shape[-1], y_hat.shape[-1])
    common = f"the first {n} samples ({n / sr_ref:.3f} s)"
    note = None
    # The metrics' own rule (they would only warn): a large difference means the wrong pair.
    mismatch = length_mismatch(y.shape[-1], y_hat.shape[-1], sr=sr_ref, names=("the reference", "the estimate"))
    if mismatch is not None and not trim:
        raise CommandError(
            f"{mismatch}: probably not the same recording, or not made at the same rate. "
            f"Pass --trim to score {common} only."
        )
    if mismatch is not None:
        note = f"{mismatch}; scored {common} only (--trim)."
    y, y_hat = y[..., :n], y_hat[..., :n]
    row = {"snr": snr(y, y_hat), "lsd": lsd(y, y_hat)}
    row["lsd_hf"] = lsd_hf(y, y_hat, rate=rate) if rate else None
    return row, note


def _cmd_evaluate(args):
    if args.rate is not None and not args.rate > 1:
        raise CommandError(f"--rate must be > 1, got {args.rate}.")
    if args.csv and os.path.exists(args.csv) and not args.force:
        raise CommandError(f"'{args.csv}' exists; pass --force to overwrite it.")
    if args.csv and not Path(args.csv).resolve().parent.is_dir():
        raise CommandError(f"the folder of the --csv file '{args.csv}' does not exist.")
    pairs, missing = _pair_files(args.reference, args.estimate)
    for rel in missing:
        print(f"audiosr evaluate: warning: no estimate for '{rel}'", file=sys.stderr)
    rows, failures = [], 0
    for name, ref_path, est_path in pairs:
        try:
            row, note = _evaluate_one(ref_path, est_path, args.rate, args.trim)
            if note is not None:
                print(f"audiosr evaluate: note: {name}: {note}", file=sys.stderr)
            rows.append({"file": name, **row})
        except (CommandError, ValueError, TypeError, OSError) as exc:
            failures += 1
            print(f"audiosr evaluate: error: {name}: {exc}", file=sys.stderr)
    if rows:
        mean = {
            "file": "mean",
            "snr": float(np.mean([r["snr"] for r in rows])),
            "lsd": float(np.mean([r["lsd"] for r in rows])),
        }
        mean["lsd_hf"] = float(np.mean([r["lsd_hf"] for r in rows])) if args.rate else None
        table = [[r["file"], r["snr"], r["lsd"], r["lsd_hf"]] for r in rows + [mean]]
        print(format_table(["file", "SNR dB", "LSD", "LSD-HF"], table, digits=3))
        if not args.rate:
            print("(LSD-HF needs --rate, the factor the estimates were up-sampled by.)")
        if args.csv:
            _write_csv(args.csv, rows + [mean])
            print(f"Wrote {args.csv}")
    return 1 if failures or missing else 0


def _write_csv(path, rows):
    path = Path(path)
    with atomic_output(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["file", "snr", "lsd", "lsd_hf"])
        writer.writeheader()
        writer.writerows({k: ("" if v is None else v) for k, v in r.items()} for r in rows)


# ----------------------------------------------------------------------------- train

ESTIMATORS = {"dualbranch": "DualBranchSR", "audiounet": "AudioUNet", "spectraldnn": "SpectralDNN"}
#: ``audiosr train --preset``: the estimator's constructor, ``DualBranchSR.recipe`` or ``.paper``.
PRESETS = ("defaults", "recipe", "paper")


def _training_signals(args):
    from .datasets import load_manifest

    if len(args.data) == 1 and (Path(args.data[0]) / "MANIFEST.csv").is_file():
        data = load_manifest(args.data[0], kind=args.kind, split=args.split, sr=args.sr, min_sr=args.sr)
        return data.signals, data.sr, f"{args.data[0]} (MANIFEST.csv, split {args.split}, kinds {args.kind or 'all'})"
    files = find_audio_files(args.data)
    if not files:
        raise CommandError(f"no audio files found in {', '.join(args.data)}.")
    signals, rates = [], set()
    for path, _ in files:
        y, sr = load(path, sr=args.sr)
        signals.append(y)
        rates.add(sr)
    if len(rates) > 1:
        raise CommandError(f"the files have different sample rates {sorted(rates)}; pass --sr to resample them to one.")
    return signals, rates.pop(), f"{len(files)} files from {', '.join(args.data)}"


def _train_outputs(args):
    """The model file and checkpoint of ``audiosr train``, checked (with the numbers) before anything runs."""
    out = Path(args.output)
    if out.suffix.lower() not in (".pt", ".joblib"):
        raise CommandError(f"-o must end in .pt (weights file, safe to share) or .joblib, got '{out}'.")
    if out.exists() and not args.force:
        raise CommandError(f"'{out}' exists; pass --force to overwrite it.")
    if not out.parent.is_dir():
        raise CommandError(f"the folder of '{out}' does not exist.")
    if args.epochs is not None and args.epochs < 1:
        raise CommandError(f"--epochs must be >= 1, got {args.epochs}.")
    if args.preset == "recipe" and args.estimator != "dualbranch":
        raise CommandError(
            f"--preset recipe is DualBranchSR's quality recipe; {ESTIMATORS[args.estimator]} has none. "
            "Use --estimator dualbranch, or --preset defaults or paper."
        )
    if args.minutes is not None and not args.minutes > 0:
        raise CommandError(f"--minutes must be > 0, got {args.minutes}.")
    checkpoint = None if args.no_checkpoint else Path(args.checkpoint or f"{out}.ckpt")
    if checkpoint is not None and not checkpoint.parent.is_dir():
        raise CommandError(f"the folder of the checkpoint '{checkpoint}' does not exist.")
    return out, checkpoint


def _cmd_train(args):
    from .neural.distributed import launched_by_torchrun, process_group

    _train_outputs(args)  # before torchrun starts processes that would each say what is wrong
    if args.nproc is not None:
        if args.nproc < 1:
            raise CommandError(f"--nproc must be >= 1, got {args.nproc}.")
        if launched_by_torchrun():
            raise CommandError("--nproc starts torchrun itself: under torchrun, leave it out (--nproc_per_node).")
        if args.nproc > 1:
            return _launch_torchrun(args)
    with process_group(args.backend, args.device) as context:
        if context.world_size > 1 or launched_by_torchrun():
            said = context.describe()  # every rank takes part
            if context.is_main:
                print(f"audiosr train: training with {said}", file=sys.stderr)
        return _train_in_group(args, context)


def _launch_torchrun(args):
    """``audiosr train --nproc N``: the same command under torchrun, N processes on this machine."""
    import subprocess

    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={args.nproc}"]
    command += ["-m", "audiosr", *_without_nproc(args.argv)]
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:  # torchrun has passed it on to its processes
        return 130


def _without_nproc(argv):
    """``argv`` without ``--nproc N`` (or an abbreviation of it): torchrun would take it for its own option."""
    kept, skip = [], False
    for token in argv:
        name, eq, _ = token.partition("=")
        if skip or (len(name) >= 4 and "--nproc".startswith(name)):
            skip = not skip and not eq
            continue
        kept.append(token)
    return kept


def _train_in_group(args, context):
    """The training of ``audiosr train`` in one process of the group (every output from rank 0 alone)."""
    import joblib

    import audiosr

    from .persistence import save_model
    from .signal import make_pairs

    def say(*what, **kwargs):
        if context.is_main:
            print(*what, **kwargs)

    out, checkpoint = _train_outputs(args)
    try:
        signals, sr, described = _training_signals(args)
    except FileNotFoundError as exc:
        raise CommandError(str(exc)) from None
    if sr % args.rate:
        raise CommandError(f"the audio's rate {sr} Hz is not a multiple of --rate {args.rate}.")
    X, y = make_pairs(
        signals,
        args.rate,
        segment=args.segment,
        hop=args.segment // 2 // args.rate * args.rate,
        min_rms=0.01,
        method=args.decimation,
        random_state=args.seed,
    )
    say(
        f"training {ESTIMATORS[args.estimator]} x{args.rate} on {len(X)} segments of {args.segment} samples at {sr} Hz ({described})"
    )
    cls = getattr(audiosr, ESTIMATORS[args.estimator])
    build = {"defaults": cls, "recipe": getattr(cls, "recipe", None), "paper": cls.paper}[args.preset]
    epochs = {} if args.epochs is None and args.preset == "paper" else {"max_epochs": args.epochs or 20}
    model = build(
        rate=args.rate,
        **epochs,
        max_time=None if args.minutes is None else args.minutes * 60,
        random_state=args.seed,
        verbose=0 if args.quiet else 1,
        checkpoint=None if checkpoint is None else str(checkpoint),
        device=args.device,
    )
    if not _fit_resumably(model, X, y, checkpoint, args, say):
        return 130  # as a shell reports a process ended by Ctrl-C
    if not context.is_main:
        return 0  # rank 0 writes the model
    metadata = {
        "rate": args.rate,
        "input_sr": sr // args.rate,
        "output_sr": sr,
        "trained_on": described,
        "decimation": args.decimation,
        "epochs": model.n_iter_,
    }
    if out.suffix.lower() == ".pt":
        save_model(model, out, metadata=metadata)
    else:
        model.metadata_ = metadata
        with atomic_output(out) as tmp:
            joblib.dump(model, tmp)
    trust = " --trust-pickle" if out.suffix.lower() == ".joblib" else ""
    if checkpoint is not None:
        checkpoint.unlink(missing_ok=True)  # the model is written: nothing left to resume
    print(
        f"wrote {out} ({model.n_iter_} epochs, final loss {model.loss_curve_[-1]:.4g}); "
        f"use it with: audiosr upsample IN -o OUT --model {out}{trust}"
    )
    return 0


def _fit_resumably(model, X, y, checkpoint, args, say=print):
    """Fit, resuming from ``checkpoint`` when it exists; False after Ctrl-C, having said what was kept."""
    from .neural._base import checkpoint_progress
    from .neural.distributed import fit_distributed

    def where(progress):
        budget = f" of {args.minutes:g}" if args.minutes is not None else ""
        return f"epoch {progress['epoch']} of {model.max_epochs}, {progress['elapsed'] / 60:.1f}{budget} min trained"

    progress = None if checkpoint is None else checkpoint_progress(checkpoint)
    if progress is not None:
        say(f"audiosr train: resuming from {checkpoint} ({where(progress)})", file=sys.stderr)
    try:
        fit_distributed(model, X, y, backend=args.backend)  # a plain fit outside torchrun
    except KeyboardInterrupt:
        progress = None if checkpoint is None else checkpoint_progress(checkpoint)
        if progress is not None:
            said = (
                f"interrupted; the checkpoint {checkpoint} was kept ({where(progress)}): "
                "run the same command again to resume from it."
            )
        elif checkpoint is None:
            said = "interrupted; nothing was saved (--no-checkpoint)."
        else:
            said = "interrupted before the first epoch ended; there is nothing to resume."
        say(f"audiosr train: {said}", file=sys.stderr)
        return False
    except ValueError as exc:
        if checkpoint is not None and str(exc).startswith("checkpoint"):
            raise CommandError(f"{exc} (--checkpoint PATH chooses another file, --no-checkpoint none).") from None
        raise
    return True


# ----------------------------------------------------------------------------- export


def _cmd_export(args):
    from .export import OnnxUpsampler, export_onnx
    from .persistence import load_model

    out = Path(args.output)
    if out.suffix.lower() != ".onnx":
        raise CommandError(f"-o must name an .onnx file, got '{out}'.")
    if out.exists() and not args.force:
        raise CommandError(f"'{out}' exists; pass --force to overwrite it.")
    if not out.parent.is_dir():
        raise CommandError(f"the folder of '{out}' does not exist.")
    if args.model in pretrained.list():
        model = pretrained.load(args.model)
        metadata = {**pretrained.info(args.model), "name": args.model}
    else:
        try:
            model = load_model(args.model, allow_pickle=args.trust_pickle)
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise CommandError(f"{exc} (not a file, nor a shipped model {pretrained.list()}).") from None
        except (ValueError, TypeError, ImportError) as exc:
            raise CommandError(str(exc)) from None
        if isinstance(model, OnnxUpsampler):
            raise CommandError(f"'{args.model}' is already an ONNX model.")
        own = getattr(model, "metadata_", None)
        metadata = {"name": Path(args.model).stem, **(own if isinstance(own, dict) else {})}
    try:
        export_onnx(model, out, metadata=metadata)
    except ImportError as exc:
        raise CommandError(str(exc)) from None
    rates = ""
    if {"input_sr", "output_sr"} <= set(metadata):
        rates = f", {metadata['input_sr']} Hz -> {metadata['output_sr']} Hz"
    print(
        f"wrote {out} ({type(model).__name__} x{model.rate_}{rates}, {out.stat().st_size / 1e6:.1f} MB); "
        f"use it with: audiosr upsample IN -o OUT --model {out}"
    )
    return 0


# ----------------------------------------------------------------------------- demo


def _cmd_demo(args):
    from .demo import run_demo

    try:
        run_demo(args.output, rate=args.rate, force=args.force)
    except FileExistsError as exc:
        raise CommandError(str(exc)) from None
    return 0


# ----------------------------------------------------------------------------- app


def _cmd_app(args):
    from .app import serve

    if not 0 <= args.port <= 65535:
        raise CommandError(f"--port must be between 0 and 65535, got {args.port}.")
    if not args.max_upload_mb > 0:
        raise CommandError(f"--max-upload-mb must be positive, got {args.max_upload_mb:g}.")
    try:
        serve(args.host, args.port, max_upload_mb=args.max_upload_mb, echo=lambda line: print(line, flush=True))
    except ImportError as exc:
        raise CommandError(str(exc)) from None
    return 0


_COMMANDS = {
    "upsample": _cmd_upsample,
    "evaluate": _cmd_evaluate,
    "train": _cmd_train,
    "demo": _cmd_demo,
    "export": _cmd_export,
    "info": _cmd_info,
    "app": _cmd_app,
}


def _threads(text):
    try:
        return check_threads(int(text), "--threads")
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None


def _add_threads_argument(parser):
    parser.add_argument(
        "--threads",
        type=_threads,
        metavar="N",
        help=(
            "CPU threads for the models, each computing on its own part of every batch (default: every CPU this "
            "process may use, at most OMP_NUM_THREADS when set); does not stall when other programs load the machine"
        ),
    )


def main(argv=None):
    """Run the ``audiosr`` command.

    Parameters
    ----------
    argv : list of str or None
        Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns
    -------
    status : int
        0 on success, 1 when some file failed, 2 for bad usage.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # what `train --nproc` passes on to torchrun
    try:
        with inference_threads(getattr(args, "threads", None)):
            return _COMMANDS[args.command](args)
    except (CommandError, ValueError, TypeError, OSError) as exc:
        print(f"audiosr {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"audiosr {args.command}: interrupted", file=sys.stderr)
        return 130
