"""Rebuild the TFNet paper's comparison table on the shared recordings.

Every cell is one (dataset, rate, method): the classical rows are scored directly,
the neural rows are first trained for the same wall-clock budget
(``--budget-minutes``; ``--ablation-minutes`` in the speech-multi ×4 cell, where the
paper's ablation and the learning curves run) on the dataset's training split. Scores are SNR, LSD and
LSD-HF in the library's default conventions plus LSD in the kuleshov2017
convention, each a mean over whole test files (``audiosr.evaluation.evaluate``).

Finished cells (``--cells``, default ``<out>/quality_cells/*.json``: committed, so that a
run spread over several sessions or machines keeps its cells) and trained models
(``<work>/models/*.pt``, not committed) are kept, so an interrupted run resumes at the first
unfinished cell and
``--reevaluate`` re-scores saved models without training. A cell interrupted during
training starts its training again (a resumed budget would not be equal). A neural
cell's name carries its budget and a digest of its estimator's parameters, so a
changed budget or default makes new cells instead of reusing old ones. In the
speech-multi ×4 cell a model that ``learning_curves.py`` trained with the same
parameters, pairs, seed and budget is scored instead of being trained twice.

Each dataset's block is followed by the paper's own figures for it (Lim et al.
2018, from the poster: ``PAPER``) and a sentence, computed from both, on where the
two agree.

The tables score inputs made by the protocol's Chebyshev decimation
(``decimate(method="iir")``). ``--input-methods iir poly soxr_hq fft`` also scores
every cell on inputs made by those methods (``audiosr.signal.DECIMATION_METHODS``,
the filters of the tools real low-rate files come from) and adds an "Input made
by" section and ``quality_inputs.csv``; saved cells lacking a listed method are
scored again (never retrained).

Usage::

    python benchmarks/quality.py --data ../shared/data --budget-minutes 15 --ablation-minutes 60 --jobs 2 --threads 1

Writes ``quality.md``, ``quality.csv``, ``quality_env.json`` and
``quality_<dataset>.png`` to ``--out`` (default ``benchmarks/results``).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from functools import lru_cache
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import git_commit, run_environment  # noqa: E402

from audiosr.signal import DECIMATION_METHODS  # noqa: E402

DATASETS = ("speech-single", "speech-multi", "piano", "piano-44k")
RATES = (4, 6, 8)
CLASSICAL = ("Bicubic", "Spline", "Sinc")
NEURAL = ("SpectralDNN", "AudioUNet", "DualBranchSR")
ABLATION = ("DualBranchSR time-only", "DualBranchSR frequency-only")
ROWS = CLASSICAL + NEURAL + ABLATION
#: Where the paper's ablation was run; the ablation rows are only trained there.
ABLATION_CELLS = {("speech-multi", 4)}
SPEECH = ("speech", "speech16k")
#: The TFNet paper's table (Lim et al., ICASSP 2018, from the authors' poster;
#: shared/reference/published-systems.md §1.4): (SNR dB, LSD in the paper's own units),
#: keyed by our dataset and rate, then by our row for each of the paper's rows.
PAPER = {
    ("speech-single", 4): {"Bicubic": (14.8, 8.2), "SpectralDNN": (15.9, 4.9), "AudioUNet": (17.1, 3.6),
                           "DualBranchSR": (18.5, 1.3)},
    ("speech-multi", 4): {"Bicubic": (13.0, 14.9), "SpectralDNN": (14.9, 5.8), "AudioUNet": (16.1, 3.5),
                          "DualBranchSR": (17.5, 1.27)},
    ("piano", 4): {"Bicubic": (22.2, 5.8), "SpectralDNN": (23.0, 5.2), "AudioUNet": (23.5, 3.6),
                   "DualBranchSR": (23.1, 3.4)},
    ("speech-single", 6): {"Bicubic": (10.4, 10.3), "AudioUNet": (14.4, 3.4)},
    ("speech-multi", 6): {"Bicubic": (9.1, 10.1), "AudioUNet": (10.0, 3.7)},
    ("piano", 6): {"Bicubic": (15.4, 7.3), "AudioUNet": (16.1, 4.4)},
    ("speech-single", 8): {"Bicubic": (9.9, 20.5), "DualBranchSR": (15.0, 1.89)},
    ("speech-multi", 8): {"Bicubic": (8.7, 18.34), "DualBranchSR": (12.0, 1.90)},
    ("piano", 8): {"Bicubic": (14.5, 11.59), "DualBranchSR": (15.69, 9.64)},
}  # fmt: skip
#: The paper's ablation (VCTK multi-speaker, ×4).
PAPER_ABLATION = {"DualBranchSR": (17.5, 1.27), "DualBranchSR time-only": (11.71, 4.89),
                  "DualBranchSR frequency-only": (7.73, 1.5)}  # fmt: skip
#: Why a block has no paper figures beside it.
NO_PAPER = {"piano-44k": "The paper has no block at 44.1 kHz: its piano figures are at 16 kHz (the `piano` block)."}
#: Our rows under the paper's names.
PAPER_NAMES = {"Bicubic": "Bicubic", "SpectralDNN": "Li et al.", "AudioUNet": "Kuleshov et al.", "DualBranchSR": "TFNet"}
#: Rows of the ablation cell that ``learning_curves.py`` trains with the same pairs, seed and
#: budget (its row names): a saved curve model with equal parameters is scored, not retrained.
CURVE_ROWS = {
    "DualBranchSR": "DualBranchSR.recipe both branches",
    "DualBranchSR time-only": "DualBranchSR.recipe time-only",
    "DualBranchSR frequency-only": "DualBranchSR.recipe frequency-only",
    "AudioUNet": "AudioUNet",
    "SpectralDNN": "SpectralDNN",
}
#: Share of p225's utterances held out for speech-single (the paper's VCTKs uses 85/15).
SINGLE_TEST_FRACTION = 0.15


# ----------------------------------------------------------------------------- data


@lru_cache(maxsize=len(DATASETS))
def load_dataset(name, root, smoke=False):
    """(train signals, test signals, test names, sample rate) of one benchmark dataset."""
    from audiosr.datasets import load_manifest

    if name == "speech-single":
        data = load_manifest(root, kind=SPEECH, speaker="p225", sr=16000, min_sr=16000)
        # p225 sits in one split of the manifest, so split its utterances here. The
        # NU-Wave excerpts may share utterances with each other, so they stay in training.
        names = [p.name for p in data.paths]
        candidates = [i for i, n in enumerate(names) if "nuwave" not in n]
        n_test = max(1, math.ceil(SINGLE_TEST_FRACTION * len(names)))
        test_idx = set(np.random.default_rng(0).permutation(candidates)[:n_test].tolist())
        train = [s for i, s in enumerate(data.signals) if i not in test_idx]
        test = [(names[i], data.signals[i]) for i in sorted(test_idx)]
        result = train, [s for _, s in test], [n for n, _ in test], data.sr
    else:
        kind, sr = {
            "speech-multi": (SPEECH, 16000),
            "piano": ("piano", 16000),
            "piano-44k": ("piano", None),
        }[name]
        train = load_manifest(root, kind=kind, split="train", sr=sr, min_sr=sr)
        test = load_manifest(root, kind=kind, split="test", sr=sr, min_sr=sr)
        result = train.signals, test.signals, [p.name for p in test.paths], test.sr
    if smoke:  # a few seconds of each, for the test suite
        train, test, names, sr = result
        result = [s[: 2 * sr] for s in train[:4]], [s[: 2 * sr] for s in test[:2]], names[:2], sr
    return result


def segment_length(rate):
    """Training segment: the paper's 8192 samples, or 8448 where 8192 is not a multiple of 2 * rate.

    8448 is 4 of the models' default patches at rates 3 and 6 (2112 samples).
    """
    return 8192 if 8192 % (2 * rate) == 0 else 8448


def training_pairs(train, rate, smoke=False, **options):
    """The table's training pairs; ``options`` go to ``make_pairs`` (e.g. ``method="mix"``)."""
    from audiosr import make_pairs

    segment = segment_length(rate) // (2 if smoke else 1)
    # 50 % overlap; near-silent segments teach nothing (TFNet drops them too).
    return make_pairs(train, rate, segment=segment, hop=segment // 2, min_rms=0.0 if smoke else 0.01, **options)


# ----------------------------------------------------------------------------- models


def make_estimator(row, rate, budget_s, smoke=False):
    """The estimator of one table row, with the library's defaults and the time budget."""
    from audiosr import AudioUNet, BicubicUpsampler, DualBranchSR, SincUpsampler, SpectralDNN, SplineUpsampler

    classical = {"Bicubic": BicubicUpsampler, "Spline": SplineUpsampler, "Sinc": SincUpsampler}
    if row in classical:
        return classical[row](rate=rate)
    common = dict(rate=rate, max_epochs=100_000, max_time=budget_s, random_state=0, device="cpu")
    tiny = dict(filters=(4, 8), kernel_sizes=(9, 5)) if smoke else {}
    if row == "SpectralDNN":
        return SpectralDNN(**common, **({"n_fft": 256, "hidden_layer_sizes": (32,)} if smoke else {}))
    if row == "AudioUNet":
        return AudioUNet(**common, **tiny)
    branches = {"DualBranchSR": "both", "DualBranchSR time-only": "time", "DualBranchSR frequency-only": "frequency"}
    # The library's quality recipe (findings.md §11-§12), not the fast defaults: this is the quality table.
    return DualBranchSR.recipe(branches=branches[row], **common, **tiny)


def cell_minutes(dataset, rate, args):
    """Training minutes of a cell's neural models: ``--ablation-minutes`` in the ablation cell."""
    return args.ablation_minutes if (dataset, rate) in ABLATION_CELLS else args.budget_minutes


def _definition(row, rate, smoke=False):
    """The row's estimator parameters that define what is trained (not where it is saved)."""
    params = make_estimator(row, rate, 0.0, smoke).get_params()
    return {k: v for k, v in params.items() if k not in ("checkpoint", "max_time")}


def cell_id(dataset, rate, row, minutes=None, smoke=False):
    """File name of a cell: neural cells carry their budget and a digest of their parameters."""
    name = f"{dataset}-x{rate}-{row.replace(' ', '_')}"
    if row in CLASSICAL:
        return name
    text = json.dumps(_definition(row, rate, smoke), sort_keys=True, default=repr)
    return f"{name}-{minutes:g}min-{hashlib.blake2b(text.encode(), digest_size=4).hexdigest()}"


def model_path(work, dataset, rate, row, minutes, smoke=False):
    """Where the cell's trained model is saved."""
    return Path(work) / "models" / f"{cell_id(dataset, rate, row, minutes, smoke)}.pt"


def saved_models(work, dataset, rate, row, minutes):
    """Models this script saved for a cell at that budget, newest first, whatever their definition."""
    pattern = f"{cell_id(dataset, rate, row, minutes).rsplit('-', 1)[0]}-*.pt"
    return sorted((Path(work) / "models").glob(pattern), key=lambda p: p.stat().st_mtime, reverse=True)


def trained_model(dataset, rate, row, minutes, args):
    """``(model, training record)`` of the cell's saved model, or of the learning curves' equal one, or None."""
    from audiosr import load_model

    path = model_path(args.work, dataset, rate, row, minutes, args.smoke)
    meta = path.with_suffix(".json")
    if path.exists() and meta.exists():
        return load_model(path, allow_pickle=False), json.loads(meta.read_text())
    return trained_by_curves(dataset, rate, row, minutes, args)


def trained_by_curves(dataset, rate, row, minutes, args):
    """``(model, training record)`` of the learning curves' cell that equals this one, or None.

    Equal means the same estimator parameters (budget and seed included) and the same
    training pairs; the curves' script is imported here, not at the top, because it
    imports this one.
    """
    if (dataset, rate) not in ABLATION_CELLS or row not in CURVE_ROWS:
        return None
    import learning_curves

    from audiosr import load_model

    curve_row = CURVE_ROWS[row]
    if (dataset, rate) != (learning_curves.DATASET, learning_curves.RATE) or learning_curves.PAIRS.get(curve_row):
        return None
    folder, stem = Path(args.work) / "curves", learning_curves.stem(curve_row, minutes)
    pt, train = folder / f"{stem}.pt", folder / f"{stem}.train.json"
    if not (pt.exists() and train.exists()):
        return None
    model = load_model(pt, allow_pickle=False)
    expected = {**_definition(row, rate, args.smoke), "max_time": minutes * 60}
    found = {k: v for k, v in model.get_params().items() if k != "checkpoint"}
    if json.dumps(found, sort_keys=True, default=repr) != json.dumps(expected, sort_keys=True, default=repr):
        return None
    return model, {**json.loads(train.read_text()), "trained_by": "learning_curves.py"}


def tasks(datasets, rates, rows):
    for dataset in datasets:
        for rate in rates:
            for row in rows:
                if row in ABLATION and (dataset, rate) not in ABLATION_CELLS:
                    continue
                yield dataset, rate, row


# ----------------------------------------------------------------------------- one cell


def run_cell(dataset, rate, row, args):
    """Train (neural rows, unless a saved model exists) and score one cell; returns its record."""
    import torch

    from audiosr import save_model
    from audiosr.evaluation import evaluate

    torch.set_num_threads(args.threads)
    minutes = cell_minutes(dataset, rate, args)
    train, test, _, sr = load_dataset(dataset, args.data, args.smoke)
    model = make_estimator(row, rate, minutes * 60, args.smoke)
    record = {"dataset": dataset, "rate": rate, "row": row, "sr": sr, "test_files": len(test)}
    record["git_commit"] = (git_commit()[0] or "")[:7]  # cells can be re-run by later commits
    if row not in CLASSICAL:
        found = trained_model(dataset, rate, row, minutes, args)
        if found is not None:
            model, training = found
            record.update(training, budget_minutes=minutes)
        else:
            X, y = training_pairs(train, rate, args.smoke)
            start = time.perf_counter()
            model.fit(X, y)
            record.update(
                train_seconds=round(time.perf_counter() - start, 1),
                train_pairs=len(X),
                epochs=round(epochs_reached(model, X, y, rate), 3),
                params=sum(p.numel() for p in model.module_.parameters()),
                budget_minutes=minutes,
            )
            path = model_path(args.work, dataset, rate, row, minutes, args.smoke)
            path.parent.mkdir(parents=True, exist_ok=True)
            save_model(model, path)
            path.with_suffix(".json").write_text(json.dumps({k: record[k] for k in TRAINING_KEYS if k in record}))
    start = time.perf_counter()
    makers = input_makers(args)
    rows = evaluate(model, test, rate, decimation=makers, lsd_conventions=("kuleshov2017",))
    record.update({k: round(v, 4) for k, v in rows[0].items() if k not in ("files", "decimation")})
    if len(makers) > 1:
        record["inputs"] = {r["decimation"]: {k: round(r[k], 4) for k in INPUT_KEYS} for r in rows}
    record["eval_seconds"] = round(time.perf_counter() - start, 1)
    return record


#: Scores kept per input maker (``--input-methods``).
INPUT_KEYS = ("snr", "lsd", "lsd_hf")


def input_makers(args):
    """The protocol's "iir" first (the main tables), then the other ``--input-methods``."""
    return ["iir"] + [m for m in args.input_methods if m != "iir"]


def needs_scoring(record, args):
    """Whether a saved cell lacks the scores of an input maker asked for."""
    makers = input_makers(args)
    return len(makers) > 1 and not set(makers) <= set(record.get("inputs", {}))


def _run_all(todo, args):
    """Yield ``(task, (record, error))`` as cells finish: in this process, or ``args.jobs`` workers."""
    if args.jobs == 1:
        for task in todo:
            yield task, _run_cell_safely(*task, args)
        return
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(_run_cell_safely, *task, args): task for task in todo}
        for future in as_completed(futures):
            yield futures[future], future.result()


def epochs_reached(model, X, y, rate):
    """Passes the optimiser made over the training examples cut from the pairs (X, y)."""
    per_pair = len(model._training_data(X[:1], y[:1], rate)[0])  # patches or frames of one pair
    return model.t_ / (per_pair * len(X))


TRAINING_KEYS = ("train_seconds", "train_pairs", "epochs", "params", "budget_minutes", "trained_by")


def _run_cell_safely(dataset, rate, row, args):
    try:
        return run_cell(dataset, rate, row, args), None
    except Exception as exc:  # one failed cell must not lose the others
        return None, f"{type(exc).__name__}: {exc}"


# ----------------------------------------------------------------------------- report


def fmt(value, digits):
    return "—" if value is None else f"{value:.{digits}f}"


METRICS = (
    ("snr", "SNR", 2, max),
    ("lsd", "LSD", 3, min),
    ("lsd_hf", "LSD-HF", 3, min),
    ("lsd_kuleshov2017", "LSD (K17)", 2, min),
)


def dataset_table(cells, dataset, rates, rows):
    """The paper's layout: a row per (rate, metric), a column per method; best in bold."""
    shown = [r for r in rows if r not in ABLATION]
    lines = ["| rate | metric | " + " | ".join(shown) + " |", "|---|---|" + "---|" * len(shown)]
    for rate in rates:
        for key, label, digits, best in METRICS:
            values = [cells.get((dataset, rate, r), {}).get(key) for r in shown]
            present = [v for v in values if v is not None]
            top = best(present) if present else None
            text = [fmt(v, digits) if v is None or v != top else f"**{fmt(v, digits)}**" for v in values]
            lines.append(f"| ×{rate} | {label} | " + " | ".join(text) + " |")
    return lines


def paper_table(dataset, rates):
    """The paper's figures for one dataset: a row per rate, a column per paper row (SNR / LSD)."""
    blocks = [(rate, PAPER[(dataset, rate)]) for rate in rates if (dataset, rate) in PAPER]
    if not blocks:
        return []
    names = [r for r in PAPER_NAMES if any(r in figures for _, figures in blocks)]
    lines = [
        "| rate | " + " | ".join(f"{PAPER_NAMES[r]} ({r})" if PAPER_NAMES[r] != r else r for r in names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for rate, figures in blocks:
        text = [f"{figures[r][0]:g} / {figures[r][1]:g}" if r in figures else "—" for r in names]
        lines.append(f"| ×{rate} | " + " | ".join(text) + " |")
    return lines


def _order(values, higher_is_better):
    ranked = sorted(values, key=lambda r: values[r], reverse=higher_is_better)
    return ", ".join(PAPER_NAMES[r] for r in ranked)


def agreement(cells, dataset, rates):
    """One sentence, computed from the paper's figures and ours, on where they agree.

    Absolute SNRs differ with the data, so the comparison is each neural row's SNR gain
    over Bicubic on its own data, and the order of the rows (LSD only by order: the
    paper's LSD unit is not ours, nor the same for all its rows).
    """
    gains, orders = [], []
    for rate in rates:
        paper = PAPER.get((dataset, rate), {})
        ours = {r: cells[(dataset, rate, r)] for r in paper if (dataset, rate, r) in cells}
        if "Bicubic" not in paper or "Bicubic" not in ours:
            continue
        rows = [r for r in paper if r != "Bicubic" and r in ours]
        gains += [
            f"×{rate} {PAPER_NAMES[r]} {paper[r][0] - paper['Bicubic'][0]:+.1f} → "
            f"{ours[r]['snr'] - ours['Bicubic']['snr']:+.2f} dB"
            for r in rows
        ]
        if len(rows) < 2:
            continue
        for label, index, key, higher in (("SNR", 0, "snr", True), ("LSD", 1, "lsd", False)):
            theirs = _order({r: paper[r][index] for r in rows}, higher)
            mine = _order({r: ours[r][key] for r in rows}, higher)
            verdict = "ours too" if theirs == mine else f"ours is {mine}"
            orders.append(f"at ×{rate} the paper's {label} order, best first, is {theirs}: {verdict}")
    if not gains:
        return []
    sentence = "**Against the paper**: SNR gain over Bicubic, the paper's → ours: " + "; ".join(gains)
    sentence += ("; " + "; ".join(orders)) if orders else ""
    # The last name may already end the sentence ("et al.").
    return [sentence if sentence.endswith(".") else sentence + "."]


def ablation_table(cells):
    lines = [
        "| dataset | rate | model | params | epochs | SNR | LSD | LSD-HF | LSD (K17) | the paper: SNR / LSD |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for dataset, rate in sorted(ABLATION_CELLS):
        for row in ("Spline", "AudioUNet", "DualBranchSR", *ABLATION):
            c = cells.get((dataset, rate, row))
            if c is None:
                continue
            params = f"{c['params']:,}" if "params" in c else "—"
            figures = PAPER_ABLATION.get(row) or PAPER.get((dataset, rate), {}).get(row)
            paper = f"{figures[0]:g} / {figures[1]:g}" if figures else "—"
            epochs = f"{c['epochs']:.2f}" if "epochs" in c else "—"
            lines.append(
                f"| {dataset} | ×{rate} | {row} | {params} | {epochs} | {fmt(c['snr'], 2)} | {fmt(c['lsd'], 3)} | "
                f"{fmt(c['lsd_hf'], 3)} | {fmt(c['lsd_kuleshov2017'], 2)} | {paper} |"
            )
    return lines


def training_table(cells):
    lines = [
        "| dataset | rate | model | params | training pairs | train s | epochs reached | eval s | commit |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for (dataset, rate, row), c in sorted(
        cells.items(), key=lambda kv: (DATASETS.index(kv[0][0]), kv[0][1], ROWS.index(kv[0][2]))
    ):
        if "params" in c:
            lines.append(
                f"| {dataset} | ×{rate} | {row} | {c['params']:,} | {c['train_pairs']:,} | {c['train_seconds']:.0f} | "
                f"{c['epochs']:.2f} | {c['eval_seconds']:.0f} | `{c.get('git_commit', '')}`"
                + (f" (trained by {c['trained_by']})" if c.get("trained_by") else "")
                + " |"
            )
    return lines


def inputs_table(cells, dataset):
    """One row per scored cell, one column per input maker: SNR / LSD-HF."""
    scored = [c for c in cells.values() if c["dataset"] == dataset and "inputs" in c]
    if not scored:
        return []
    makers = [m for m in DECIMATION_METHODS if any(m in c["inputs"] for c in scored)]
    lines = ["| rate | method | " + " | ".join(makers) + " |", "|---|---|" + "---|" * len(makers)]
    for c in sorted(scored, key=lambda c: (c["rate"], ROWS.index(c["row"]))):
        text = [
            f"{fmt(c['inputs'][m]['snr'], 2)} / {fmt(c['inputs'][m]['lsd_hf'], 3)}" if m in c["inputs"] else "—"
            for m in makers
        ]
        lines.append(f"| ×{c['rate']} | {c['row']} | " + " | ".join(text) + " |")
    return lines


def write_inputs_csv(ordered, out):
    with open(out / "quality_inputs.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["dataset", "rate", "row", "input", *INPUT_KEYS])
        writer.writeheader()
        for c in ordered:
            for maker, scores in c.get("inputs", {}).items():
                writer.writerow({"dataset": c["dataset"], "rate": c["rate"], "row": c["row"], "input": maker, **scores})


INPUTS_NOTE = (
    "Every cell scored again on low-rate inputs made by other tools' anti-alias filters "
    "(`audiosr.signal.decimate(method=...)`: `iir` is the protocol above, `poly` scipy's `resample_poly`, "
    "`soxr_hq` / `soxr_vhq` the SoX resampler as librosa uses it, `fft` scipy's `resample`, `butter` a "
    "zero-phase order-6 Butterworth at the new Nyquist, `fir` scipy's FIR decimation, `subsample` no filter). "
    "Each entry is SNR (dB) / LSD-HF (bels), means over the same test files; all figures are in "
    "quality_inputs.csv."
)


def environment(args):
    commit, dirty = git_commit()
    run_file = Path(args.cells) / "run.json"
    run = json.loads(run_file.read_text()) if run_file.exists() else {}
    return {
        **run_environment("quality.py"),
        "budget_minutes_per_neural_model": args.budget_minutes,
        "budget_minutes_in_the_ablation_cell": args.ablation_minutes,
        "jobs": args.jobs,
        "torch_threads_per_job": args.threads,
        "gpu": "none (all training and inference on CPU)",
        "git_commit": commit,
        "git_dirty": dirty,
        # Cells keep what trained them: the commit of the run that started these cells.
        "git_commit_first_run": run.get("git_commit"),
        "first_run_started": run.get("started"),
    }


PAPER_NOTE = """\
## Reading the paper's figures beside ours

The paper's table (Lim et al., ICASSP 2018; transcribed from the authors' poster in
`shared/reference/published-systems.md` §1.4) is on VCTK at 16 kHz (single speaker p225,
and the 100/9 multi-speaker split) and on piano at 16 kHz, with models trained for up
to 200 epochs on a GPU. Two things matter when it is set beside ours:

* **Its LSD is in another unit, and maybe not one unit.** TFNet's code computes LSD
  from one full FFT of each 8192-sample patch (our `tfnet2018` convention); the
  AudioUNet and DNN rows it quotes appear to come from Kuleshov et al., whose code uses
  the natural log, averages over time first and clips at 10 (our `kuleshov2017`
  convention). On the same output the three conventions give ≈0.93, 1.82 and 3.83
  (reference notes §1.3). So the sentences above compare LSD by order only, and the
  **LSD (K17)** rows are the ones to read beside Kuleshov-style figures.
* **Its data and budget differ.** The paper trains on tens of hours of VCTK; our
  speech-multi training split is 30 minutes of 45 speakers, speech-single is 85 s of
  p225, and every neural model here had minutes of CPU training. The sentences
  therefore compare each row's SNR gain over Bicubic on its own data, not absolute SNRs.

A nearby independent anchor: a reproduction thesis (giorgiobini, reduced VCTK,
40 training speakers, ×4 at 16 kHz, Kuleshov-style LSD) measured spline / TFNet at
SNR 13.60 / 15.57 dB and LSD 5.97 / 3.57 on the multi-speaker validation set.
"""


def write_report(cells, failures, args, out):
    out.mkdir(parents=True, exist_ok=True)
    datasets = [d for d in DATASETS if any(c["dataset"] == d for c in cells.values())]
    rates = sorted({c["rate"] for c in cells.values()})
    ordered = sorted(cells.values(), key=lambda c: (DATASETS.index(c["dataset"]), c["rate"], ROWS.index(c["row"])))
    keys = [
        "dataset",
        "rate",
        "row",
        "sr",
        "test_files",
        "snr",
        "lsd",
        "lsd_hf",
        "lsd_kuleshov2017",
        "eval_seconds",
        *TRAINING_KEYS,
    ]
    with open(out / "quality.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        for c in ordered:
            writer.writerow({k: c.get(k, "") for k in keys})
    env = environment(args)
    (out / "quality_env.json").write_text(json.dumps(env, indent=2) + "\n")
    by_key = {(c["dataset"], c["rate"], c["row"]): c for c in ordered}
    lines = [
        "# Quality: the TFNet comparison on the shared recordings",
        "",
        f"Produced by `{env['command']}` on {env['cpu']} ({env['logical_cpus']} logical CPUs, no GPU), "
        f"{args.jobs} cell(s) at a time with {args.threads} torch thread(s) each; torch {env['torch']}, "
        f"audiosr {env['audiosr']}; cells first run at commit `{env['git_commit_first_run']}` "
        f"(started {env['first_run_started']}), report written at `{env['git_commit']}`; the commit that trained "
        "each neural cell is in the training table and quality.csv.",
        "",
        f"**Budget:** every neural model trained for **{args.budget_minutes:g} minutes** of wall-clock time "
        + (
            f"(`max_time`; **{args.ablation_minutes:g}** in the speech-multi ×4 cell) "
            if args.ablation_minutes != args.budget_minutes
            else "(`max_time`) "
        )
        + "from the library's settings for each model (for DualBranchSR its quality preset, below), seed 0, with the poly learning-rate "
        "schedule decaying to zero at the deadline. Epochs reached are in the training table below. "
        "The DualBranchSR rows are `DualBranchSR.recipe(rate, branches=...)`: both branches (the paper's model) "
        "and the two ablations, trained by the library's quality recipe, which differs from the paper in its "
        "sizes (AudioUNet's widths and kernels at the output's rate), its objective (AudioUNet's per-patch RMSE "
        "plus a multi-resolution STFT term weighted 0.006), per-patch level normalisation, and two output "
        "settings (the U-Net's lines removed, the invented band's magnitudes smoothed over 15 bins); "
        "`DualBranchSR.paper(rate)` is the paper's model and objective. Why, and what each is worth in LSD and "
        "costs in SNR: [findings.md](findings.md) §11-§12. AudioUNet and SpectralDNN are as published.",
        "",
        "**Protocol:** the test split's whole files, each cut to a multiple of the rate, decimated by the "
        "order-8 Chebyshev-I zero-phase filter (`audiosr.signal.decimate`), up-sampled, and scored against "
        "the original; figures are means over files. SNR in dB; LSD and LSD-HF (the band above the input's "
        "Nyquist) in bels, log10 power, STFT 2048/512 (`audiosr.metrics` defaults); LSD (K17) is the "
        "`kuleshov2017` convention (natural log, time-first, clipped at 10). Training pairs: "
        "8192-sample segments (8448 at ×6) with 50 % overlap, near-silent ones (RMS < 0.01) dropped.",
        "",
        "**Datasets** (`../shared/data/MANIFEST.csv`):",
        "",
    ]
    describe = {
        "speech-single": "speaker p225 at 16 kHz, split by utterance (15 % held out, seed 0; the NU-Wave excerpts stay in training)",
        "speech-multi": "all speech and speech16k at 16 kHz, the manifest's speaker split",
        "piano": "the Beethoven sonatas at 16 kHz, the manifest's split by sonata",
        "piano-44k": "the same at the native 44.1 kHz (full band)",
    }
    for d in datasets:
        train, test, _, sr = load_dataset(d, args.data, args.smoke)
        minutes = sum(len(s) for s in train) / sr / 60
        lines.append(
            f"* `{d}`: {describe[d]}; {len(train)} training files ({minutes:.1f} min), {len(test)} test files."
        )
    lines.append("")
    for d in datasets:
        lines += [f"## {d}", "", *dataset_table(by_key, d, rates, ROWS), ""]
        if paper_table(d, rates):
            lines += [
                "The paper's figures (SNR dB / LSD in its own units; Lim et al. 2018, from the poster):",
                "",
                *paper_table(d, rates),
                "",
                *agreement(by_key, d, rates),
                "",
            ]
        elif d in NO_PAPER:
            lines += [NO_PAPER[d], ""]
        if (out / f"quality_{d}.png").exists():
            lines += [f"![{d}: spectrograms](quality_{d}.png)", ""]
    lines += [
        "## Ablation (speech-multi, ×4)",
        "",
        *ablation_table(by_key),
        "",
        "## Training",
        "",
        *training_table(by_key),
        "",
    ]
    if any("inputs" in c for c in ordered):
        write_inputs_csv(ordered, out)
        lines += ["## Input made by other tools", "", INPUTS_NOTE, ""]
        for d in datasets:
            table = inputs_table(by_key, d)
            if table:
                lines += [f"### {d}", "", *table, ""]
    if failures:
        lines += ["## Failed cells", "", *[f"* {k}: {v}" for k, v in sorted(failures.items())], ""]
    lines.append(PAPER_NOTE)
    (out / "quality.md").write_text("\n".join(lines))


def spectrogram_figures(args, out):
    """Low-rate input, Spline, DualBranchSR and reference for the first test clip of each dataset at ×4."""
    from audiosr import upsample
    from audiosr.plotting import plot_spectrograms
    from audiosr.signal import decimate

    rate = 4 if 4 in args.rates else args.rates[0]
    for d in args.datasets:
        minutes = cell_minutes(d, rate, args)
        found = trained_model(d, rate, "DualBranchSR", minutes, args)
        if found is None:
            continue
        model = found[0]
        _, test, names, sr = load_dataset(d, args.data, args.smoke)
        y = test[0][: min(len(test[0]), 4 * sr) // rate * rate]
        x = decimate(y, rate)
        signals = {
            f"low-rate input ({sr // rate} Hz, shown at {sr} Hz)": upsample(x, rate, method="sinc"),
            "Spline": upsample(x, rate, method="spline"),
            "DualBranchSR": model.transform(x[None])[0],
            "reference": y,
        }
        plot_spectrograms(signals, sr, out / f"quality_{d}.png", title=f"{d}, ×{rate}: {names[0]}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=os.environ.get("AUDIOSR_DATA", str(HERE.parent.parent / "shared" / "data")))
    parser.add_argument("--budget-minutes", type=float, default=15.0, help="training time per neural model")
    parser.add_argument(
        "--ablation-minutes",
        type=float,
        default=None,
        help="training time per neural model in the speech-multi ×4 cell (default: --budget-minutes)",
    )
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--rates", nargs="+", type=int, default=list(RATES))
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=ROWS, metavar="ROW")
    parser.add_argument("--jobs", type=int, default=1, help="cells trained at the same time (processes)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads per job (default: CPUs / jobs)")
    parser.add_argument("--work", default=str(HERE / "work"), help="trained models (not committed)")
    parser.add_argument("--cells", help="finished cells, resumed from (committed; default: <out>/quality_cells)")
    parser.add_argument("--out", default=str(HERE / "results"))
    parser.add_argument("--reevaluate", action="store_true", help="score saved models again (never retrains)")
    parser.add_argument("--smoke", action="store_true", help="tiny models and 2-s clips: checks the script runs")
    parser.add_argument(
        "--input-methods",
        nargs="+",
        default=["iir"],
        choices=DECIMATION_METHODS,
        metavar="METHOD",
        help="also score every cell on inputs made by these decimation methods "
        f"({', '.join(DECIMATION_METHODS)}); the tables stay on 'iir'",
    )
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    if not args.budget_minutes > 0:
        parser.error(f"--budget-minutes must be positive, got {args.budget_minutes}")
    if args.ablation_minutes is None:
        args.ablation_minutes = args.budget_minutes
    if not args.ablation_minutes > 0:
        parser.error(f"--ablation-minutes must be positive, got {args.ablation_minutes}")
    args.threads = args.threads or max(1, (os.cpu_count() or 1) // args.jobs)
    if not (Path(args.data) / "MANIFEST.csv").exists():
        parser.error(f"no MANIFEST.csv in {args.data}; pass --data DIR or set AUDIOSR_DATA")
    args.cells = args.cells or str(Path(args.out) / "quality_cells")
    out, cells_dir = Path(args.out), Path(args.cells)
    cells_dir.mkdir(parents=True, exist_ok=True)
    if not (cells_dir / "run.json").exists():
        commit, dirty = git_commit()
        started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        (cells_dir / "run.json").write_text(
            json.dumps({"git_commit": commit, "git_dirty": dirty, "started": started})
        )
    # Every finished cell of these budgets, also those of earlier runs with other selections,
    # goes in the report; cells of other budgets or definitions keep their own names.
    def name_of(task):
        return cell_id(*task, cell_minutes(task[0], task[1], args), args.smoke)

    cells = {}
    for task in tasks(DATASETS, sorted(set(RATES) | set(args.rates)), ROWS):
        path = cells_dir / f"{name_of(task)}.json"
        if path.exists():
            cells[task] = json.loads(path.read_text())
    selected = list(tasks(args.datasets, args.rates, [r for r in ROWS if r in args.rows]))
    todo = [task for task in selected if args.reevaluate or task not in cells or needs_scoring(cells[task], args)]
    failures = {}
    print(
        f"{len(selected) - len(todo)} cells done, {len(todo)} to run ({args.jobs} at a time, {args.threads} thread(s) each)",
        flush=True,
    )
    for task, (record, error) in _run_all(todo, args):
        if error is not None:
            failures[name_of(task)] = error
            print(f"FAILED {name_of(task)}: {error}", flush=True)
            continue
        cells[task] = record
        (cells_dir / f"{name_of(task)}.json").write_text(json.dumps(record, indent=1))
        print(
            f"{name_of(task)}: SNR {record['snr']:.2f} LSD {record['lsd']:.3f} LSD-HF {record['lsd_hf']:.3f}"
            + (f" ({record['epochs']:.2f} epochs)" if "epochs" in record else ""),
            flush=True,
        )
    out.mkdir(parents=True, exist_ok=True)
    first_commit = json.loads((cells_dir / "run.json").read_text()).get("git_commit") or ""
    for record in cells.values():
        record.setdefault("git_commit", first_commit[:7])  # cells of the first run predate the field
    spectrogram_figures(args, out)
    write_report(cells, failures, args, out)
    print(f"wrote {out / 'quality.md'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
