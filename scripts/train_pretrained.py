"""Train, check and ship the pretrained models of ``audiosr/pretrained/`` (the model zoo).

Each model of ``SPECS`` is a ``DualBranchSR`` with the library's defaults (the final
recipe; ``OVERRIDES`` holds any exception), trained for a wall-clock budget on the
``train`` split of the project's data collection (MANIFEST.csv) at the model's output
rate. Its training pairs are drawn with a mix of anti-alias filters and cutoffs
(``make_pairs(method="mix", cutoff=CUTOFF)``), so that it does not depend on which
resampler made its input.

Then the model's output settings, ``keep_low_band`` (the crossover below which the output
is the input's own band) and ``high_band_gain`` (the gain of the band it invents above the
input's Nyquist frequency), are chosen on the ``valid`` split with
:func:`audiosr.evaluation.calibrate_bands`: the lowest mean LSD among the settings that
pass the ship rule there with 0.25 dB of the SNR tolerance kept in reserve. A spectral
loss teaches the model the band's level, but where the band cannot be predicted its phase
is wrong and costs SNR; the gain trades a little of the LSD gain for it
(``benchmarks/results/zoo_calibration.md``).

Then the **ship rule** (:func:`audiosr.evaluation.ship_rule`): on the whole files of
the ``test`` split, for every input maker of :data:`audiosr.evaluation.INPUT_MAKERS`
(scipy's Chebyshev decimation and FIR decimation, resample_poly, soxr HQ and VHQ, FFT
resampling, zero-phase Butterworth), the model's LSD must be below sinc's and its SNR at
least sinc's minus 0.5 dB. The weights are stored in float16 when the round trip changes
no figure by more than ``FLOAT16_TOLERANCE`` (else float32). A model that passes is
written to ``--out`` (default: the package's folder) with its card in ``index.json``:
rates, data and licences, budget, epochs, the command, and the figures of the model and
of sinc per input maker on the test and validation splits. A model that fails gets no
weights file; its index entry says on which maker it failed and by how much.

Resumable: the training state is checkpointed after every epoch in ``--work``, and a
killed run resumes there with what is left of its budget; a finished model in ``--work``
is not trained again (only checked and shipped), unless it was trained with other
parameters than the current recipe, which is refused: delete ``<work>/<name>.pt`` and
``<work>/<name>.ckpt`` to start a model over. Two processes may train different models
(``--only``) at once; they share the index under a lock. A model that fails with an
error does not stop the others (the exit status says so).

Usage (the integrator's run: two background processes, one torch thread each)::

    OMP_NUM_THREADS=1 nohup python scripts/train_pretrained.py --data ../shared/data --minutes 60 \\
        --only speech-x3-48k speech-x2-48k speech-x4-16k piano-x4-44k > zoo-a.log 2>&1 &
    OMP_NUM_THREADS=1 nohup python scripts/train_pretrained.py --data ../shared/data --minutes 60 \\
        --only speech-x4-48k speech-x6-48k speech-x2-16k piano-x2-44k > zoo-b.log 2>&1 &
    python scripts/train_pretrained.py --render     # README table and docs page from index.json

``--smoke`` trains tiny models on a few seconds of data for seconds (for the tests;
point ``--out`` at a temporary folder).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # this checkout's audiosr, whichever is installed

import audiosr  # noqa: E402
from audiosr import DualBranchSR, load_model, make_pairs, save_model  # noqa: E402
from audiosr.datasets import load_manifest  # noqa: E402
from audiosr.evaluation import (  # noqa: E402
    CALIBRATION_MARGIN,
    INPUT_MAKERS,
    SNR_TOLERANCE,
    calibrate_bands,
    evaluate,
    evaluate_input_makers,
    ship_rule,
)
from audiosr.io import atomic_output, load  # noqa: E402
from audiosr.neural._base import checkpoint_progress  # noqa: E402
from audiosr.pretrained import _cards, _read_index  # noqa: E402
from audiosr.signal import MIX_METHODS  # noqa: E402

OUT = Path(audiosr.__file__).parent / "pretrained"
WORK = REPO / "benchmarks" / "work" / "zoo"  # ignored by git (benchmarks/work/)
README = REPO / "README.md"
DOCS_PAGE = REPO / "docs" / "user_guide" / "pretrained.rst"

SPEECH = ["speech", "speech16k"]  # speech16k's files are 16 kHz: min_sr drops them above that
PIANO = ["piano"]  # the drum kits (kind "music") are 3 minutes of one-shots: too little to help

#: name -> what to train: manifest kinds, output rate, factor, description. Names are
#: <data>-x<factor>-<output kHz>; speech-x4-16k, speech-x4-48k and piano-x4-44k keep
#: the names of the first shipped models.
SPECS = {
    "speech-x2-16k": dict(kinds=SPEECH, sr=16000, rate=2, description="speech, 8 kHz -> 16 kHz (telephony)"),
    "speech-x4-16k": dict(kinds=SPEECH, sr=16000, rate=4, description="speech, 4 kHz -> 16 kHz"),
    "speech-x2-48k": dict(kinds=SPEECH, sr=48000, rate=2, description="speech, 24 kHz -> 48 kHz"),
    "speech-x3-48k": dict(kinds=SPEECH, sr=48000, rate=3, description="speech, 16 kHz -> 48 kHz"),
    "speech-x4-48k": dict(kinds=SPEECH, sr=48000, rate=4, description="speech, 12 kHz -> 48 kHz"),
    "speech-x6-48k": dict(kinds=SPEECH, sr=48000, rate=6, description="speech, 8 kHz -> 48 kHz"),
    "piano-x2-44k": dict(kinds=PIANO, sr=44100, rate=2, description="piano, 22.05 kHz -> 44.1 kHz"),
    "piano-x4-44k": dict(kinds=PIANO, sr=44100, rate=4, description="piano, 11.025 kHz -> 44.1 kHz"),
}

#: DualBranchSR parameters that differ from the library's defaults. Empty on purpose: the
#: defaults are the final recipe, so a model is `DualBranchSR(rate=...)` plus the budget.
#: Anything put here is recorded in each model's card ("training"/"overrides").
OVERRIDES = {}

#: Cutoffs of the training pairs' anti-alias filters, drawn per file (fraction of the new
#: Nyquist frequency; see audiosr.signal.decimate): from scipy.signal.decimate's 0.8 (the
#: protocol) to 1.0 (FFT resampling's brick wall, resample_poly's -6 dB point). That
#: brackets the 0.9-0.99 of real tools and soxr's fixed 0.91-0.95, which the mix draws too.
CUTOFF = (0.8, 1.0)
#: Segments quieter than this (RMS) teach nothing; TFNet drops them too.
MIN_RMS = 0.01
#: Segment = this many of the model's patches (8192 samples at x2 and x4), 50 % overlap.
PATCHES_PER_SEGMENT = 4
#: The crossovers (``keep_low_band``) the calibration tries, with every gain of
#: ``audiosr.evaluation.CALIBRATION_GAINS``: the default 0.75 suits inputs whose filter
#: stops at 0.8 of their Nyquist frequency, a higher one inputs that are full up to it.
CROSSOVERS = (0.75, 0.85, 0.95)
#: Largest change of a model figure (any maker) that float16 weights may cause.
FLOAT16_TOLERANCE = {"snr": 0.05, "lsd": 0.005, "lsd_hf": 0.005}
#: The package data limit (weights, index, clips), bytes.
PACKAGE_LIMIT = 30 * 2**20

#: --smoke: a tiny network, a few seconds of a few files per split.
SMOKE_PARAMS = dict(filters=(4, 8), kernel_sizes=(9, 5))
SMOKE_FILES, SMOKE_SECONDS = 3, 2.0

#: Notes on licences that restrict use, keyed by a word of the manifest's licence text.
LICENCE_NOTES = {
    "RAVDESS": "Its training data include RAVDESS (CC BY-NC-SA 4.0): non-commercial use only, share-alike.",
    "kernScores": (
        "Its training data are rendered from kernScores encodings licensed for non-commercial research use only."
    ),
}


def log(name, message):
    print(f"[{time.strftime('%H:%M:%S')}] [{name}] {message}", flush=True)


# ----------------------------------------------------------------------------- data


def load_split(data, spec, split, smoke):
    """The files of one split at the model's output rate (none above it is up-sampled)."""
    found = load_manifest(data, kind=spec["kinds"], split=split, sr=spec["sr"], min_sr=spec["sr"], load_audio=not smoke)
    if smoke:  # read only what is used
        n = int(SMOKE_SECONDS * spec["sr"])
        found.rows, found.paths = found.rows[:SMOKE_FILES], found.paths[:SMOKE_FILES]
        found.signals = [load(p, sr=spec["sr"])[0][:n] for p in found.paths]
    return found


def licences(rows):
    return sorted({r.get("license") or "unknown" for r in rows})


def licence_facts(names):
    """(non_commercial, note) of a list of licence texts."""
    non_commercial = any("NC" in text or "non-commercial" in text.lower() for text in names)
    notes = [note for word, note in LICENCE_NOTES.items() if any(word in text for text in names)]
    return non_commercial, " ".join(notes)


# ----------------------------------------------------------------------------- training


#: Estimator parameters of a run, not of the recipe: a finished model is reused whatever they are.
_RUN_PARAMS = {
    "checkpoint", "max_time", "max_epochs", "verbose", "device", "n_threads", "warm_start",
    "keep_low_band", "high_band_gain",  # chosen after training (calibrate)
}  # fmt: skip


def make_estimator(name, spec, minutes, work, smoke):
    params = {**OVERRIDES, **(SMOKE_PARAMS if smoke else {})}
    return DualBranchSR(
        rate=spec["rate"],
        max_epochs=100_000,  # the budget ends training
        max_time=minutes * 60,
        random_state=0,
        checkpoint=work / f"{name}.ckpt",
        **params,
    )


def command_of(name, minutes, args):
    """The command that reproduces one model (its budget included)."""
    parts = ["python scripts/train_pretrained.py", f"--data {args.data}", f"--minutes {minutes:g}"]
    parts.append(f"--only {name}")
    if args.threads != 1:
        parts.append(f"--threads {args.threads}")
    if args.smoke:
        parts.append("--smoke")
    return " ".join(parts)


def git_commit():
    try:
        done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    except OSError:
        return None
    return done.stdout.strip() or None


def train(name, spec, args):
    """The trained model and its training record; a finished model in the work folder is reused."""
    import torch

    finished = args.work / f"{name}.pt"
    model = make_estimator(name, spec, args.minutes, args.work, args.smoke)
    if finished.exists():
        done = load_model(finished)
        changed = sorted(
            k for k, v in model.get_params().items() if k not in _RUN_PARAMS and repr(done.get_params()[k]) != repr(v)
        )
        if changed:
            raise ValueError(
                f"{finished} was trained with other parameters ({', '.join(changed)}): delete it and "
                f"{model.checkpoint} to train {name} with the current recipe."
            )
        record = done.metadata_["training_record"]
        log(name, f"finished model found in {finished} ({record['budget_minutes']:g} min): not trained again")
        return done, record
    train_set = load_split(args.data, spec, "train", args.smoke)
    patch_len = model._resolved_patch_len(spec["rate"])
    segment = PATCHES_PER_SEGMENT * patch_len if not args.smoke else 2 * patch_len
    X, y = make_pairs(
        train_set.signals,
        spec["rate"],
        segment=segment,
        hop=segment // 2,
        method="mix",
        cutoff=CUTOFF,
        min_rms=0.0 if args.smoke else MIN_RMS,
        random_state=0,
    )
    train_set.signals = None  # the pairs hold what training needs
    progress = checkpoint_progress(model.checkpoint)
    where = "from scratch"
    if progress is not None:
        where = f"resuming after epoch {progress['epoch']}, {progress['elapsed']:.0f} s"
    log(name, f"{len(X)} pairs of {segment} samples from {len(train_set.rows)} files; training {where}")
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    model.fit(X, y)
    done = checkpoint_progress(model.checkpoint)
    seconds = done["elapsed"] if done is not None else time.perf_counter() - start
    examples = len(X) * (segment // patch_len)
    threads = torch.get_num_threads()
    kinds = sorted({r["kind"] for r in train_set.rows})
    record = {
        "budget_minutes": args.minutes,
        "kinds": kinds,
        "files": len(train_set.rows),
        "pairs": int(len(X)),
        "segment": int(segment),
        "hop": int(segment // 2),
        "licences": licences(train_set.rows),
        "seconds": round(float(seconds), 1),
        "epochs": round(model.t_ / examples, 3),
        "epochs_begun": int(model.n_iter_),
        "parameters": int(sum(p.numel() for p in model.module_.parameters())),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {threads} torch thread{'s' * (threads != 1)}",
        "torch": torch.__version__,
        "git_commit": git_commit(),
    }
    args.work.mkdir(parents=True, exist_ok=True)
    save_model(model, finished, metadata={"training_record": record})
    log(name, f"trained: {record['epochs']} epochs in {seconds:.0f} s; saved {finished}")
    return model, record


# ----------------------------------------------------------------------------- checking


def rounded(scores):
    return {
        maker: {who: {k: round(v, 4) for k, v in figures.items()} for who, figures in row.items()}
        for maker, row in scores.items()
    }


def float16_change(scores32, scores16):
    """Largest change per figure of the model's scores, over the makers."""
    return {
        key: max(abs(scores16[m]["model"][key] - scores32[m]["model"][key]) for m in scores32)
        for key in FLOAT16_TOLERANCE
    }


def calibrate(name, spec, model, args):
    """Choose the model's crossover and high-band gain on the validation split (its defaults without one)."""
    try:
        valid = load_split(args.data, spec, "valid", args.smoke)
    except ValueError as exc:  # a collection without a validation split
        log(name, f"no validation split ({exc}): keep_low_band and high_band_gain stay as they are")
        return None
    start = time.perf_counter()
    found = calibrate_bands(model, valid.signals, spec["rate"], makers=INPUT_MAKERS, crossovers=CROSSOVERS)
    candidates = found["candidates"]
    if found["high_band_gain"] is None:
        # Nothing passes: the setting that loses least SNR on its worst maker, for the record.
        chosen = max(candidates, key=lambda c: min(_snr_margins(c["scores"]).values()))
        log(name, "no setting passes on the validation split; the least bad is recorded")
    else:
        chosen = next(
            c
            for c in candidates
            if (c["keep_low_band"], c["high_band_gain"]) == (found["keep_low_band"], found["high_band_gain"])
        )
    setting = {"keep_low_band": chosen["keep_low_band"], "high_band_gain": chosen["high_band_gain"]}
    log(
        name,
        f"validation split, {len(valid.signals)} files: keep_low_band {setting['keep_low_band']:g}, "
        f"high_band_gain {setting['high_band_gain']:g} ({time.perf_counter() - start:.0f} s)",
    )
    calibration = {
        **setting,
        "split": "valid",
        "files": len(valid.signals),
        "rule": (
            f"the lowest mean LSD among the settings whose figures on the validation split pass the ship rule "
            f"with {SNR_TOLERANCE - CALIBRATION_MARGIN:g} dB instead of {SNR_TOLERANCE:g} dB"
        ),
        "candidates": [
            {
                "keep_low_band": c["keep_low_band"],
                "high_band_gain": c["high_band_gain"],
                "lsd": round(float(np.mean([row["model"]["lsd"] for row in c["scores"].values()])), 4),
                "worst_snr_margin_db": round(min(_snr_margins(c["scores"]).values()), 3),
                "passes": not c["failures"],
            }
            for c in candidates
        ],
    }
    return {"files": len(valid.signals), "makers": rounded(chosen["scores"]), "calibration": calibration}


def _snr_margins(scores):
    """Model SNR minus sinc's, per maker."""
    return {m: row["model"]["snr"] - row["sinc"]["snr"] for m, row in scores.items()}


def check(name, spec, model, args):
    """The calibrated gain, test figures per maker, the float16 decision, the ship rule's verdict."""
    rate = spec["rate"]
    model.set_params(n_threads=args.threads)
    validation = calibrate(name, spec, model, args)
    if validation is not None:
        calibration = validation["calibration"]
        model.set_params(keep_low_band=calibration["keep_low_band"], high_band_gain=calibration["high_band_gain"])
    test = load_split(args.data, spec, "test", args.smoke)
    start = time.perf_counter()
    scores = evaluate_input_makers(model, test.signals, rate, makers=INPUT_MAKERS)
    spline = {k: v for k, v in evaluate("spline", test.signals, rate).items() if k != "files"}
    log(name, f"test split, {len(test.signals)} files, {len(INPUT_MAKERS)} makers: {time.perf_counter() - start:.0f} s")

    with tempfile.TemporaryDirectory() as tmp:
        save_model(model, Path(tmp) / "half.pt", dtype="float16")
        half = load_model(Path(tmp) / "half.pt").set_params(n_threads=args.threads)
    half_scores = evaluate_input_makers(half, test.signals, rate, makers=INPUT_MAKERS, baseline=None)
    for maker in scores:
        half_scores[maker]["sinc"] = scores[maker]["sinc"]
    change = float16_change(scores, half_scores)
    same_verdict = set(ship_rule(half_scores)) == set(ship_rule(scores))
    use_half = same_verdict and all(change[k] <= FLOAT16_TOLERANCE[k] for k in FLOAT16_TOLERANCE)
    dtype = "float16" if use_half else "float32"
    if use_half:
        model, scores = half, half_scores  # what ships is what was scored
    changes = ", ".join(f"{k} {v:.2g}" for k, v in change.items())
    log(name, f"float16 weights change the figures by at most {changes}: stored in {dtype}")

    if validation is not None:
        # The validation figures are the float32 model's (the calibration's); float16 changes them as little.
        validation = {"split": "valid", **validation}
    failures = ship_rule(scores)
    iir = scores.get("iir", next(iter(scores.values())))
    result = {
        "test": {
            "split": "test",
            "files": len(test.signals),
            "metric": "default conventions (SNR dB, LSD and LSD-HF in bels), mean over whole files",
            "baseline": "sinc",
            "makers": rounded(scores),
            # The protocol's maker under the first models' keys, for code that reads them.
            "scores": rounded({"iir": {"DualBranchSR": iir["model"], "sinc": iir["sinc"], "spline": spline}})["iir"],
        },
        "validation": validation,
        "ship_rule": {
            "rule": (
                f"on the whole test files, for every input maker ({', '.join(INPUT_MAKERS)}): "
                f"LSD below sinc's and SNR at least sinc's - {SNR_TOLERANCE:g} dB"
            ),
            "snr_tolerance_db": SNR_TOLERANCE,
            "makers": list(INPUT_MAKERS),
            "failures": failures,
        },
        "float16": {"change": {k: round(v, 5) for k, v in change.items()}, "tolerance": FLOAT16_TOLERANCE},
    }
    return model, dtype, result


def card(name, spec, record, dtype, result, args):
    """The model's metadata: index entry and what its weights file carries."""
    non_commercial, note = licence_facts(record["licences"])
    return {
        "name": name,
        "description": spec["description"],
        "rate": spec["rate"],
        "input_sr": spec["sr"] // spec["rate"],
        "output_sr": spec["sr"],
        "shipped": not result["ship_rule"]["failures"],
        "non_commercial": non_commercial,
        "licence_note": note,
        "trained_on": {
            "collection": "audiosr shared data (MANIFEST.csv), split 'train'",
            "kinds": record["kinds"],
            "files": record["files"],
            "pairs": record["pairs"],
            "segment": record["segment"],
            "hop": record["hop"],
            "licences": record["licences"],
            "input_makers": list(MIX_METHODS),
            "cutoff": list(CUTOFF),
        },
        "training": {
            "command": command_of(name, record["budget_minutes"], args),
            "budget_minutes": record["budget_minutes"],
            "seconds": record["seconds"],
            "epochs": record["epochs"],
            "epochs_begun": record["epochs_begun"],
            "estimator": "DualBranchSR",
            "overrides": {k: list(v) if isinstance(v, tuple) else v for k, v in OVERRIDES.items()},
            "smoke": bool(args.smoke),
            "parameters": record["parameters"],
            "weights_dtype": dtype,
            "float16": result["float16"],
            "machine": record["machine"],
            "torch": record["torch"],
            "audiosr": audiosr.__version__,
            "git_commit": record["git_commit"],
        },
        "validation": result["validation"],
        "test": result["test"],
        "ship_rule": result["ship_rule"],
    }


# ----------------------------------------------------------------------------- shipping


@contextlib.contextmanager
def index_lock(folder):
    """Hold an exclusive lock on ``folder`` while the index is read and rewritten (POSIX)."""
    try:
        import fcntl
    except ImportError:  # Windows: one process at a time
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def ship(name, model, metadata, dtype, out):
    """Write the weights (or remove them, for a model that failed) and the model's index entry."""
    out.mkdir(parents=True, exist_ok=True)
    with index_lock(out):
        path = out / "index.json"
        index = json.loads(path.read_text()) if path.exists() else {}
        if metadata["shipped"]:
            save_model(model, out / f"{name}.pt", metadata=metadata, dtype=dtype)
        else:
            (out / f"{name}.pt").unlink(missing_ok=True)
        index[name] = metadata
        with atomic_output(path) as tmp:
            # Models by name; within an entry the card's own order (makers: the protocol's first).
            Path(tmp).write_text(json.dumps(dict(sorted(index.items())), indent=2) + "\n")


def package_data_bytes(package):
    """Bytes of the package's data files: everything under it but Python sources and caches."""
    return sum(
        p.stat().st_size
        for p in Path(package).rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
    )


def run_one(name, args):
    spec = SPECS[name]
    model, record = train(name, spec, args)
    model, dtype, result = check(name, spec, model, args)
    metadata = card(name, spec, record, dtype, result, args)
    ship(name, model, metadata, dtype, args.out)
    if metadata["shipped"]:
        log(name, f"passes the ship rule: {args.out / (name + '.pt')} ({dtype})")
    else:
        for maker, why in metadata["ship_rule"]["failures"].items():
            log(name, f"NOT SHIPPED: {maker}: {why}")
    return metadata


# ----------------------------------------------------------------------------- docs


def render(out, readme=README, docs_page=DOCS_PAGE):
    """Rewrite the generated parts of the README and the docs page from ``out``'s index.

    Returns the files that changed.
    """
    index = _read_index(out)
    changed = []
    for target, fmt, block in (
        (Path(readme), "markdown", _cards.markdown_table(index)),
        (Path(docs_page), "rst", _cards.rst_block(index)),
    ):
        text = target.read_text()
        new = _cards.render_into(text, block, fmt)
        if new != text:
            target.write_text(new)
            changed.append(target)
    return changed


# ----------------------------------------------------------------------------- main


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=os.environ.get("AUDIOSR_DATA", "../shared/data"), help="dataset folder")
    parser.add_argument(
        "--minutes", type=float, default=None, help="training budget per model (default 60; smoke 0.05)"
    )
    parser.add_argument(
        "--only", nargs="+", choices=sorted(SPECS), metavar="NAME", help=f"models to make: {sorted(SPECS)}"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads for training and inference (default 1)")
    parser.add_argument("--work", type=Path, default=None, help=f"checkpoints and finished models (default {WORK})")
    parser.add_argument(
        "--out", type=Path, default=OUT, help="where shipped models and index.json go (default: the package)"
    )
    parser.add_argument("--smoke", action="store_true", help="tiny models on seconds of data, for tests")
    parser.add_argument(
        "--render", action="store_true", help="only rewrite the README table and the docs page from --out's index"
    )
    parser.add_argument("--readme", type=Path, default=README, help=argparse.SUPPRESS)
    parser.add_argument("--docs-page", type=Path, default=DOCS_PAGE, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.minutes is None:
        args.minutes = 0.05 if args.smoke else 60.0
    if not args.minutes > 0 or not math.isfinite(args.minutes):
        parser.error(f"--minutes must be a positive number, got {args.minutes}.")
    if args.threads < 1:
        parser.error(f"--threads must be >= 1, got {args.threads}.")
    if args.work is None:
        args.work = WORK.with_name("zoo-smoke") if args.smoke else WORK
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.render:
        for path in render(args.out, args.readme, args.docs_page):
            print(f"rewrote {path}")
        return 0
    args.work.mkdir(parents=True, exist_ok=True)
    failed = []
    for name in args.only or SPECS:
        try:
            run_one(name, args)
        except Exception as exc:  # one model's trouble must not stop the others of a long run
            log(name, f"ERROR, nothing written for it: {type(exc).__name__}: {exc}")
            failed.append(name)
    size = package_data_bytes(OUT.parent)
    if args.out.resolve() == OUT.resolve():
        verdict = "within" if size <= PACKAGE_LIMIT else "OVER"
        print(f"package data: {size / 2**20:.1f} MB, {verdict} the {PACKAGE_LIMIT / 2**20:.0f} MB limit", flush=True)
        print("Next: python scripts/train_pretrained.py --render (README table and docs page)", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)} (see the ERROR lines above)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
