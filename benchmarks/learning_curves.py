"""Learning curves: quality against training minutes on speech-multi x4.

Each row of ``ROWS`` is trained once per budget of ``--minutes`` (wall-clock
minutes of ``max_time``; the rows of ``--leading`` also for ``--leading-minutes``),
each run from scratch with its own poly learning-rate schedule, on the quality
table's training pairs (``quality.py``: speech-multi at 16 kHz, Chebyshev
decimation, 8192-sample segments). Each model is scored on the whole test files
(``architecture.score``: SNR, LSD, LSD-HF, LSD on active frames, the VCTK files
alone) and the epochs it reached are recorded. The windowed-sinc interpolator is
the reference line.

Resumable: every (row, budget) cell keeps its record in ``--records`` (default
``<out>/curves/*.json``, committed, so that a clean clone rewrites the reports with
``--no-train``), and its model (``*.pt``) and training checkpoint (``*.ckpt``: an
interrupted training resumes there with what is left of its budget) in
``<work>/curves``. A rerun scores or trains only what is missing. The file names
carry a digest of the row's parameters, so editing ``RECIPE`` starts new cells instead of resuming the old ones.

Usage (the integrator's run; 1 torch thread per model, 2 models at a time)::

    python benchmarks/learning_curves.py --data ../shared/data --minutes 2 4 8 15 30 60 \\
        --leading-minutes 120 --jobs 2 --threads 1

Writes ``learning_curves.md`` and ``learning_curves_<metric>.png`` (minutes on a
log axis, a line per row) to ``--out`` (default ``benchmarks/results``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import quality  # noqa: E402  (the table's data, pairs and epochs, so these runs match it)
from _common import git_commit, run_environment  # noqa: E402

from audiosr.neural.tfnet import RECIPE as LIBRARY_RECIPE  # noqa: E402

#: The fast default's training recipe for DualBranchSR, spelled out (it is also the estimator's
#: default, so that the cells keep their meaning if a default changes again); the cells of
#: an edited recipe are new cells (their names carry a digest of it). The candidates below
#: chose it (benchmarks/results/recipes.md): a light multi-resolution STFT loss. The rows
#: "DualBranchSR recipe ..." are this one; the rows "DualBranchSR.recipe ..." are
#: ``DualBranchSR.recipe`` (``LIBRARY_RECIPE``), which the later candidates chose.
RECIPE = {"stft_loss": 0.0003}

#: row -> (estimator, extra parameters, what it is). DualBranchSR uses the fast default
#: architecture (polyphase); "paper objective" is the waveform squared error alone.
ROWS = {
    "DualBranchSR paper objective": (
        "DualBranchSR",
        {"stft_loss": 0.0},
        "fast default architecture, waveform MSE only (the paper's objective)",
    ),
    "DualBranchSR recipe": ("DualBranchSR", RECIPE, "fast default architecture, the library's best recipe (RECIPE)"),
    "DualBranchSR recipe time-only": ("DualBranchSR", {**RECIPE, "branches": "time"}, "the recipe, time branch only"),
    "DualBranchSR recipe frequency-only": (
        "DualBranchSR",
        {**RECIPE, "branches": "frequency"},
        "the recipe, frequency branch only",
    ),
    "AudioUNet": ("AudioUNet", None, "library defaults (quality.py's row)"),
    "SpectralDNN": ("SpectralDNN", None, "library defaults (quality.py's row)"),
}
#: Recipe candidates of the quality issue (item 3), compared at equal budgets beside the
#: recipe row: ``--rows`` picks them (they are not run by default), ``--name recipes``
#: writes their report apart. Weights: the waveform MSE of normalised speech patches is
#: about 4e-4, so a spectral term near 1 weighted 0.003-0.005 is about ten times it.
CANDIDATES = {
    "candidate MR-STFT": ("DualBranchSR", {"stft_loss": 0.005}, "multi-resolution STFT loss instead of the log-spectral"),
    "candidate MR-STFT + log-spectral": (
        "DualBranchSR",
        {"stft_loss": 0.005, "spectral_loss": 0.003},
        "both spectral terms",
    ),
    "candidate adversarial": (
        "DualBranchSR",
        {"stft_loss": 0.005, "adversarial": 0.002},
        "MR-STFT plus multi-period and multi-resolution discriminators with feature matching",
    ),
}
CANDIDATES.update(
    {
        "candidate MR-STFT 0.02": ("DualBranchSR", {"stft_loss": 0.02}, "the MR-STFT loss weighted four times more"),
        "candidate MR-STFT 0.05": ("DualBranchSR", {"stft_loss": 0.05}, "the MR-STFT loss weighted ten times more"),
        "candidate MR-STFT high band": (
            "DualBranchSR",
            {"stft_loss": 0.005, "spectral_band": "high"},
            "the MR-STFT loss on the band above the input's Nyquist frequency only",
        ),
    }
)
CANDIDATES.update(
    {
        "candidate MR-STFT 0.001": ("DualBranchSR", {"stft_loss": 0.001}, "the MR-STFT loss weighted five times less"),
        "candidate MR-STFT 0.001 high band": (
            "DualBranchSR",
            {"stft_loss": 0.001, "spectral_band": "high"},
            "the MR-STFT loss weighted five times less, on the band above the input's Nyquist frequency only",
        ),
        "candidate log frequency branch": (
            "DualBranchSR",
            {"stft_loss": 0.005, "frequency_scale": "log"},
            "MR-STFT 0.005 with a frequency branch on log magnitudes",
        ),
    }
)
#: The second round: the two winners of the first together (the lighter MR-STFT weight and the
#: log-scale frequency branch), then one change at a time on top of them.
_BASE2 = {"stft_loss": 0.001, "frequency_scale": "log"}
CANDIDATES.update(
    {
        "candidate log branch + MR-STFT 0.001": ("DualBranchSR", _BASE2, "the log-scale frequency branch, MR-STFT 0.001"),
        "candidate log branch + MR-STFT 0.0003": (
            "DualBranchSR",
            {**_BASE2, "stft_loss": 0.0003},
            "the log-scale frequency branch, MR-STFT 0.0003",
        ),
        "candidate log branch + MR-STFT 0.001, long patches": (
            "DualBranchSR",
            {**_BASE2, "patch_len": 8192},
            "the log-scale frequency branch, MR-STFT 0.001, patches of 8192 samples",
        ),
        "candidate log branch + MR-STFT 0.001, filter mix": (
            "DualBranchSR",
            _BASE2,
            "the log-scale frequency branch, MR-STFT 0.001, pairs from the filter mix (PAIRS)",
        ),
        "candidate log branch + MR-STFT 0.0003, filter mix": (
            "DualBranchSR",
            {**_BASE2, "stft_loss": 0.0003},
            "the log-scale frequency branch, MR-STFT 0.0003, pairs from the filter mix (PAIRS)",
        ),
        "candidate MR-STFT 0.0003": ("DualBranchSR", {"stft_loss": 0.0003}, "linear frequency branch, MR-STFT 0.0003"),
        "candidate MR-STFT 0.0003, filter mix": (
            "DualBranchSR",
            {"stft_loss": 0.0003},
            "linear frequency branch, MR-STFT 0.0003, pairs from the filter mix (PAIRS)",
        ),
    }
)
#: Item 4 of the quality issue: the lines an aliasing U-Net leaves (findings.md §7).
CANDIDATES["candidate anti-aliased U-Nets"] = (
    "DualBranchSR",
    {**RECIPE, "antialias": True},
    "the recipe with U-Nets that resample without aliasing (blur before strides, linear up-sampling)",
)
CANDIDATES["candidate ICNR"] = (
    "DualBranchSR",
    {**RECIPE, "icnr": True},
    "the recipe with the U-Nets' sub-pixel convolutions started with equal phases (ICNR)",
)
CANDIDATES["candidate line loss"] = (
    "DualBranchSR",
    {**RECIPE, "line_loss": 0.001},
    "the recipe plus a term against lines at the harmonics of the U-Nets' period (periodic_line_loss)",
)
#: Item 3, the SNR gap to AudioUNet (findings.md §5 and §8: it lies around the input's Nyquist
#: frequency): DualBranchSR at the output's rate (the paper's layout, in which AudioUNet
#: continues the harmonics) with AudioUNet's widths and kernels, and AudioUNet with the recipe.
_HIGH_RATE = {"polyphase": False, "filters": (16, 32, 64, 64), "kernel_sizes": (33, 17, 9, 9)}
CANDIDATES["candidate time-only at the high rate"] = (
    "DualBranchSR",
    {**RECIPE, "branches": "time", **_HIGH_RATE},
    "the recipe, time branch only, U-Net at the high rate with AudioUNet's widths and kernels",
)
CANDIDATES["candidate AudioUNet with the recipe"] = (
    "AudioUNet",
    RECIPE,
    "AudioUNet (its per-patch RMSE, biases, no level normalisation) plus the recipe's MR-STFT term",
)
CANDIDATES["candidate AudioUNet with MR-STFT 0.01"] = (
    "AudioUNet",
    {"stft_loss": 0.01},
    "AudioUNet plus an MR-STFT term weighted for its RMSE loss (about the recipe's balance against DualBranchSR's MSE)",
)
CANDIDATES["candidate both branches at the high rate"] = (
    "DualBranchSR",
    {**RECIPE, **_HIGH_RATE},
    "the recipe, both branches at the high rate (the paper's layout) with AudioUNet's widths and kernels",
)
CANDIDATES["candidate time-only at the high rate, spectral band from 1.5"] = (
    "DualBranchSR",
    {**RECIPE, "branches": "time", **_HIGH_RATE, "spectral_band": 1.5},
    "the high-rate time branch with the MR-STFT term above 1.5 times the input's Nyquist frequency only "
    "(3 kHz here): the half-octave above the cut-off is left to the squared error",
)
CANDIDATES["candidate time-only, spectral band from 1.5"] = (
    "DualBranchSR",
    {**RECIPE, "branches": "time", "spectral_band": 1.5},
    "the recipe's time branch (polyphase) with the MR-STFT term above 1.5 times the input's Nyquist frequency",
)
_RMSE_RECIPE = {"stft_loss": 0.003, "loss": "rmse", "branches": "time", **_HIGH_RATE}
CANDIDATES["candidate time-only at the high rate, RMSE + MR-STFT 0.003"] = (
    "DualBranchSR",
    _RMSE_RECIPE,
    "the high-rate time branch on AudioUNet's per-patch RMSE, the MR-STFT term between AudioUNet's two candidates",
)
CANDIDATES["candidate time-only at the high rate, RMSE + MR-STFT 0.003 + adversarial 0.001"] = (
    "DualBranchSR",
    {**_RMSE_RECIPE, "adversarial": 0.001},
    "the RMSE + MR-STFT 0.003 row plus multi-period and multi-resolution discriminators with feature matching "
    "(about as large as the reconstruction terms at the start)",
)
CANDIDATES["candidate time-only at the high rate, RMSE + MR-STFT 0.006"] = (
    "DualBranchSR",
    {**_RMSE_RECIPE, "stft_loss": 0.006},
    "the RMSE + MR-STFT 0.003 row with the spectral term weighted twice",
)
for _weight, _times in ((0.012, "four"), (0.024, "eight")):
    CANDIDATES[f"candidate time-only at the high rate, RMSE + MR-STFT {_weight}"] = (
        "DualBranchSR",
        {**_RMSE_RECIPE, "stft_loss": _weight},
        f"the RMSE + MR-STFT 0.003 row with the spectral term weighted {_times} times",
    )
#: The next question (findings.md §11): whether the frequency branch, at the high rate with the RMSE
#: recipe that met the bar with the time branch alone, keeps the bar (scored with and without
#: ``high_band_smoothing`` by ``postfilter.py``).
CANDIDATES["candidate both branches at the high rate, RMSE + MR-STFT 0.006"] = (
    "DualBranchSR",
    {**_RMSE_RECIPE, "stft_loss": 0.006, "branches": "both"},
    "the RMSE + MR-STFT 0.006 row with both branches (the paper's layout at AudioUNet's widths and kernels)",
)
CANDIDATES["candidate frequency-only at the high rate, RMSE + MR-STFT 0.006"] = (
    "DualBranchSR",
    {**_RMSE_RECIPE, "stft_loss": 0.006, "branches": "frequency"},
    "the RMSE + MR-STFT 0.006 row with the frequency branch alone (item 1's other ablation of that recipe)",
)
ROWS.update(CANDIDATES)
#: ``DualBranchSR.recipe(4)`` with each choice of branches: the quality table's DualBranchSR rows
#: (the paper's model and its two ablations, trained and post-filtered by the library's recipe).
for _branches, _name in (("both", "both branches"), ("time", "time-only"), ("frequency", "frequency-only")):
    ROWS[f"DualBranchSR.recipe {_name}"] = (
        "DualBranchSR",
        {**LIBRARY_RECIPE, "branches": _branches},
        f"DualBranchSR.recipe(4, branches={_branches!r})",
    )
#: Rows whose training pairs are made otherwise than the quality table's (``make_pairs`` options;
#: the scores stay on the table's test inputs, the Chebyshev decimation).
_MIX = {"method": "mix", "cutoff": (0.8, 1.0), "random_state": 0}
PAIRS = {row: _MIX for row in CANDIDATES if row.endswith("filter mix")}

#: Band edges of the error table, fractions of the input's Nyquist frequency (2 kHz here):
#: the band the input keeps, the Chebyshev filter's transition (0.8-1), just above it, the rest.
BANDS = (0.0, 0.8, 0.9, 1.0, 1.1, 1.5, 2.0, 3.0)
#: Rows that also get ``--leading-minutes``.
LEADING = ("DualBranchSR paper objective", "DualBranchSR recipe")
RATE = 4
DATASET = "speech-multi"
SR = 16000  # its rate in quality.py
#: Plotted metrics: key -> (label, higher is better).
METRICS = {
    "snr": ("SNR (dB)", True),
    "lsd": ("LSD (bels)", False),
    "lsd_hf": ("LSD-HF (bels)", False),
    "lsd_active": ("LSD on active frames (bels)", False),
}


#: Parameters that act on the output only (``transform``), not on training: rows that differ
#: only in them share one trained model (``trained_twin``).
OUTPUT_SETTINGS = ("keep_low_band", "high_band_gain", "high_band_smoothing", "remove_lines", "n_threads")


def trained_twin(row, minutes, seed, work):
    """The saved model of another row trained exactly as ``row`` (output settings aside), or None.

    Its ``.pt`` and ``.train.json`` in ``work``; the caller sets this row's output settings on it.
    """
    estimator, params, _ = ROWS[row]

    def training(r):
        e, p, _ = ROWS[r]
        return e, {k: v for k, v in (p or {}).items() if k not in OUTPUT_SETTINGS}, PAIRS.get(r)

    for other in ROWS:
        if other == row or training(other) != training(row):
            continue
        path = Path(work) / f"{stem(other, minutes, seed)}.pt"
        if path.exists() and _train_json(path).exists():
            return path
    return None


def _train_json(pt):
    """The training facts saved beside a cell's model (names hold dots: not ``with_suffix``)."""
    return pt.parent / f"{pt.name[: -len('.pt')]}.train.json"


def row_digest(row):
    """8 hex digits of the row's definition: cells of an edited row are new cells."""
    estimator, params, _ = ROWS[row]
    definition = [estimator, params] + ([PAIRS[row]] if row in PAIRS else [])
    text = json.dumps(definition, sort_keys=True, default=repr)
    return hashlib.blake2b(text.encode(), digest_size=4).hexdigest()


def stem(row, minutes, seed=0):
    slug = row.lower().replace(" ", "-")
    return f"{slug}-{minutes:g}min-{row_digest(row)}" + (f"-seed{seed}" if seed else "")


def make_model(row, budget_s, checkpoint, seed=0, smoke=False):
    """The estimator of one row with the time budget and its checkpoint file."""
    from audiosr import DualBranchSR

    estimator, params, _ = ROWS[row]
    if params is None or estimator != "DualBranchSR":
        # quality.py's row (plus the row's parameters), so that the curves end where its table stands
        model = quality.make_estimator(estimator, RATE, budget_s, smoke)
        return model.set_params(random_state=seed, checkpoint=str(checkpoint), **(params or {}))
    tiny = dict(filters=(4, 8), kernel_sizes=(9, 5)) if smoke else {}
    common = dict(max_epochs=100_000, max_time=budget_s, random_state=seed, device="cpu", checkpoint=str(checkpoint))
    return DualBranchSR(rate=RATE, **common, **{**params, **tiny})


def run_cell(row, minutes, seed, args):
    """Train (unless its model is saved) and score one (row, budget) cell; returns its record."""
    import torch

    from architecture import score

    from audiosr import SincUpsampler, load_model, save_model

    torch.set_num_threads(args.threads)
    work = Path(args.work) / "curves"
    work.mkdir(parents=True, exist_ok=True)
    name = "sinc" if row == "Sinc" else stem(row, minutes, seed)
    record_dir = Path(args.records)
    record_dir.mkdir(parents=True, exist_ok=True)
    cell = record_dir / f"{name}.json"
    if cell.exists():
        return add_makers(add_output_scores(json.loads(cell.read_text()), cell, args), cell, args)
    if args.no_train and row != "Sinc":
        return None  # reported as not run yet
    train, test, names, _ = quality.load_dataset(DATASET, args.data, args.smoke)
    record = {"row": row, "minutes": minutes, "seed": seed, "git_commit": (git_commit()[0] or "")[:7]}
    if row == "Sinc":
        model = SincUpsampler(rate=RATE)
    else:
        path = work / f"{name}.pt"
        twin = None if path.exists() else trained_twin(row, minutes, seed, work)
        if twin is not None:
            # Trained exactly as this row: its model with this row's output settings.
            settings = {k: v for k, v in (ROWS[row][1] or {}).items() if k in OUTPUT_SETTINGS}
            model = load_model(twin, allow_pickle=False)
            save_model(model.set_params(**settings), path)
            training = {**json.loads(_train_json(twin).read_text()), "twin": twin.name[: -len(".pt")]}
            (work / f"{name}.train.json").write_text(json.dumps(training))
        if path.exists():
            model = load_model(path, allow_pickle=False)
            record.update(json.loads((work / f"{name}.train.json").read_text()))
        else:
            X, y = quality.training_pairs(train, RATE, args.smoke, **PAIRS.get(row, {}))
            model = make_model(row, minutes * 60, work / f"{name}.ckpt", seed, args.smoke)
            start = time.perf_counter()
            model.fit(X, y)
            training = {
                # Seconds of this process: a resumed cell's earlier runs are in its checkpoint's budget.
                "train_seconds": round(time.perf_counter() - start, 1),
                "epochs": round(quality.epochs_reached(model, X, y, RATE), 3),
                "params": sum(p.numel() for p in model.module_.parameters()),
                "train_pairs": len(X),
            }
            save_model(model.set_params(checkpoint=None), path)
            (work / f"{name}.train.json").write_text(json.dumps(training))
            record.update(training)
    record.update(score(model, test, names))
    cell.write_text(json.dumps(record))
    return add_makers(add_output_scores(record, cell, args, model, test), cell, args, model, test)


def _model_file(cell, args):
    """The saved model of the cell whose record is ``cell``."""
    return Path(args.work) / "curves" / cell.with_suffix(".pt").name


def add_output_scores(record, cell, args, model=None, test=None):
    """Scores a cell's test outputs for what its record lacks: tonal lines and error per band.

    ``lines_grid``/``lines_top`` are ``artifacts.tonal_excess``; ``bands`` the error energy per
    band of ``BANDS`` as a share of the reference's (``zoo_calibration.band_errors``, mean over
    the files). Cells made before either score existed are filled in by a run without
    ``--no-train`` (which only reads records).
    """
    if args.no_train or ("lines_grid" in record and "bands" in record):
        return record
    import numpy as np
    from artifacts import tonal_excess
    from zoo_calibration import band_errors

    from audiosr import SincUpsampler, load_model
    from audiosr.signal import decimate

    if model is None:
        pt = _model_file(cell, args)
        if record["row"] != "Sinc" and not pt.exists():
            return record  # the model is gone: nothing more to score
        model = SincUpsampler(rate=RATE) if record["row"] == "Sinc" else load_model(pt, allow_pickle=False)
    _, all_test, _, sr = quality.load_dataset(DATASET, args.data, args.smoke)
    refs = [y[: len(y) // RATE * RATE] for y in (all_test if test is None else test)]
    outs = [model.transform(decimate(y, RATE)[None])[0] for y in refs]
    record.update({k: round(v, 2) for k, v in tonal_excess(refs, outs, sr, RATE).items()})
    shares = [band_errors(y, {"model": z}, RATE, BANDS)[1] for y, z in zip(refs, outs)]
    record["bands"] = {
        "edges": [e for e in BANDS if e < RATE] + [RATE],
        "reference": [round(float(v), 6) for v in np.mean([s["reference"] for s in shares], axis=0) * 100],
        "error": [round(float(v), 6) for v in np.mean([s["model"] for s in shares], axis=0) * 100],
    }
    cell.write_text(json.dumps(record))
    return record


def add_makers(record, cell, args, model=None, test=None):
    """The cell's SNR and LSD on inputs made by each of ``--makers`` (kept in its record)."""
    from audiosr.evaluation import evaluate

    done = record.get("makers", {})
    missing = [m for m in args.makers if m not in done]
    if not missing:
        return record
    if model is None:
        from audiosr import SincUpsampler, load_model

        pt = _model_file(cell, args)
        if record["row"] != "Sinc" and not pt.exists():
            return record  # the model is gone: no scores on other inputs
        model = SincUpsampler(rate=RATE) if record["row"] == "Sinc" else load_model(pt, allow_pickle=False)
    if test is None:
        _, test, _, _ = quality.load_dataset(DATASET, args.data, args.smoke)
    for row in evaluate(model, test, RATE, decimation=missing):
        done[row["decimation"]] = {"snr": round(row["snr"], 4), "lsd": round(row["lsd"], 4)}
    record["makers"] = done
    cell.write_text(json.dumps(record))
    return record


def tasks(args):
    """(row, minutes) of every cell, shortest budgets first (the curves fill from the left)."""
    todo = [("Sinc", 0.0, 0)]  # the reference line, always
    for row in (r for r in args.rows if r != "Sinc"):
        budgets = list(args.minutes) + (list(args.leading_minutes) if row in args.leading else [])
        todo += [(row, m, seed) for m in budgets for seed in args.seed]
    return sorted(dict.fromkeys(todo), key=lambda t: (t[1], t[2], list(ROWS).index(t[0]) if t[0] in ROWS else -1))


def run_all(todo, args):
    """Records of every cell (in this process, or ``--jobs`` workers); failures are reported, not fatal."""
    records, failures = [], {}
    if args.jobs == 1 or args.no_train:
        for task in todo:
            try:
                records.append(run_cell(*task, args))
            except Exception as exc:  # one bad cell must not lose the others' hours
                failures[task] = f"{type(exc).__name__}: {exc}"
        return [r for r in records if r is not None], failures
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(run_cell, *task, args): task for task in todo}
        for future in as_completed(futures):
            try:
                records.append(future.result())
            except Exception as exc:
                failures[futures[future]] = f"{type(exc).__name__}: {exc}"
    return [r for r in records if r is not None], failures


def fmt(value, digits):
    return "—" if value is None else f"{value:.{digits}f}"


def command(args):
    parts = ["python benchmarks/learning_curves.py --data ../shared/data --minutes", *[f"{m:g}" for m in args.minutes]]
    if args.leading_minutes:
        parts += ["--leading-minutes", *[f"{m:g}" for m in args.leading_minutes]]
    parts += ["--jobs", str(args.jobs), "--threads", str(args.threads)]
    if args.rows != [r for r in ROWS if r not in CANDIDATES]:
        parts += ["--rows", *[f'"{r}"' for r in args.rows]]
    if args.name != "learning_curves":
        parts += ["--name", args.name]
    if args.seed != [0]:
        parts += ["--seed", *map(str, args.seed)]
    if args.makers:
        parts += ["--makers", *args.makers]
    if args.no_train:
        parts.append("--no-train")
    return " ".join(parts)


def write_report(records, failures, args, out):
    env = run_environment("learning_curves.py")
    sinc = next((r for r in records if r["row"] == "Sinc"), None)
    lines = [
        "# Learning curves: quality against training minutes",
        "",
        f"{DATASET} x{RATE} ({SR / 1000:g} kHz). Every model trained from scratch for each budget (wall-clock `max_time`, "
        f"its poly learning-rate schedule ending at the budget) on the quality table's training pairs, "
        f"{args.threads} torch thread(s) per model, {args.jobs} model(s) at a time; scored on the whole test "
        "files. LSD active: frames within 40 dB of each file's loudest. VCTK: the test split's VCTK files alone. "
        "Lines: how much more tonal the band above the input's Nyquist frequency is than the reference's "
        "(`artifacts.tonal_excess`, dB): the mean excess at the multiples of 1/8 of the input's rate, where an "
        "aliasing U-Net leaves lines / the mean of the 10 strongest excess peaks. "
        "Epochs: passes over the training patches (frames for SpectralDNN), partial ones included.",
        "",
        f"Machine: {env['cpu']}, {env['logical_cpus']} logical CPUs, no GPU; torch {env['torch']}. ",
        f"Command: `{command(args)}`."
        + (
            " (`--no-train`: this report gathers the cells that runs of the same command without it trained, "
            "a few rows at a time.)"
            if args.no_train
            else ""
        ),
        "",
    ]
    if sinc is not None:
        lines += [
            f"Reference, windowed-sinc interpolation: SNR {sinc['snr']:.2f} dB, LSD {sinc['lsd']:.3f}, "
            f"LSD-HF {sinc['lsd_hf']:.3f}, LSD active {sinc['lsd_active']:.3f}"
            + (f", lines {sinc['lines_grid']:.1f} / {sinc['lines_top']:.1f} dB." if "lines_grid" in sinc else "."),
            "",
        ]
    lines += summary_tables(records, args)
    lines += band_table(records)
    for row in [r for r in ROWS if r in args.rows]:
        cells = sorted((r for r in records if r["row"] == row), key=lambda r: (r["minutes"], r.get("seed", 0)))
        if not cells:
            continue
        estimator, params, what = ROWS[row]
        shown = "" if params is None else f" Parameters: `{json.dumps(params, sort_keys=True)}`."
        if row in PAIRS:
            shown += f" Training pairs: `make_pairs(..., {', '.join(f'{k}={v!r}' for k, v in PAIRS[row].items())})`."
        lines += [f"## {row}", "", f"{estimator}: {what}.{shown}", ""]
        lines += score_table("minutes", [(f"{r['minutes']:g}", r) for r in cells])
        lines.append("")
    for metric in METRICS:
        if (out / f"{args.name}_{metric}.png").exists():
            lines += [f"![{METRICS[metric][0]} against training minutes]({args.name}_{metric}.png)", ""]
    done = {(r["row"], r["minutes"], r.get("seed", 0)) for r in records}
    missing = [(row, m, seed) for row, m, seed in tasks(args) if row != "Sinc" and (row, m, seed) not in done]
    if missing and args.no_train:
        lines += ["Not run yet (cells of the command above without a record):", ""]
        for row in dict.fromkeys(r for r, _, _ in missing):
            parts = []
            for seed in sorted({sd for r, _, sd in missing if r == row}):
                budgets = ", ".join(f"{m:g}" for r, m, sd in missing if r == row and sd == seed)
                parts.append(f"{budgets} min" + (f" (seed {seed})" if seed else ""))
            lines.append(f"* {row}: {'; '.join(parts)}")
        lines.append("")
    commits = sorted({r.get("git_commit", "") for r in records} - {""})
    lines += [f"Commits of the cells: {', '.join(commits) or '—'}.", ""]
    if failures:
        lines += ["## Failed cells", "", *[f"* {row}, {m:g} min: {e}" for (row, m, *_), e in sorted(failures.items())], ""]
    (out / f"{args.name}.md").write_text("\n".join(lines))


def score_table(first, rows):
    """Markdown lines of a scores table: ``first`` names the first column, ``rows`` are (label, cell)."""
    lines = [
        f"| {first} | epochs | SNR dB | LSD | LSD-HF | LSD active | SNR VCTK | LSD VCTK | lines dB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, r in rows:
        seed = f" (seed {r['seed']})" if r.get("seed") else ""
        lines.append(
            f"| {label}{seed} | {fmt(r.get('epochs'), 2)} | {r['snr']:.2f} | {r['lsd']:.3f} | {r['lsd_hf']:.3f} | "
            f"{r['lsd_active']:.3f} | {fmt(r.get('snr_vctk'), 2)} | {fmt(r.get('lsd_vctk'), 3)} | "
            f"{fmt(r.get('lines_grid'), 1)} / {fmt(r.get('lines_top'), 1)} |"
        )
    return lines


def summary_tables(records, args):
    """One line per row at each budget (the rows side by side), and the scores per input maker."""
    lines = []
    for minutes in sorted({r["minutes"] for r in records if r["row"] != "Sinc"}):
        cells = [r for row in ROWS for r in records if r["row"] == row and r["minutes"] == minutes]
        if len(cells) < 2:
            continue
        lines += [f"## All rows at {minutes:g} minutes", ""]
        lines += score_table("row", [(r["row"], r) for r in cells])
        lines.append("")
    if args.makers:
        rows = [r for r in records if r.get("makers")]
        rows.sort(key=lambda r: (r["row"] != "Sinc", r["minutes"]))
        lines += [
            "## SNR dB / LSD on inputs made by other tools",
            "",
            "The same test files decimated by each method of `audiosr.signal.decimate` (`iir` is the protocol "
            "above, scipy's Chebyshev; `poly` scipy's resample_poly; `soxr_hq`/`soxr_vhq` soxr; `fft` FFT "
            "resampling; `fir` scipy's FIR decimation; `butter` a zero-phase Butterworth).",
            "",
            "| row | minutes | " + " | ".join(args.makers) + " |",
            "|---|---|" + "---|" * len(args.makers),
        ]
        for r in rows:
            seed = f" (seed {r['seed']})" if r.get("seed") else ""
            scores = [r["makers"].get(m) for m in args.makers]
            lines.append(
                f"| {r['row']}{seed} | {r['minutes']:g} | "
                + " | ".join("—" if s is None else f"{s['snr']:.2f} / {s['lsd']:.3f}" for s in scores)
                + " |"
            )
        lines.append("")
    return lines


def band_table(records):
    """Where the error lies, at the longest budget with at least two rows scored per band."""
    scored = [r for r in records if "bands" in r and r["row"] != "Sinc" and not r.get("seed")]
    budgets = [m for m in sorted({r["minutes"] for r in scored}) if sum(r["minutes"] == m for r in scored) >= 2]
    if not budgets:
        return []
    minutes = budgets[-1]
    cells = [r for row in ROWS for r in scored if r["row"] == row and r["minutes"] == minutes]
    cells += [r for r in records if r["row"] == "Sinc" and "bands" in r]
    edges = cells[0]["bands"]["edges"]
    nyquist = SR / RATE / 2  # the input's, Hz
    labels = [f"{lo * nyquist / 1000:g}-{hi * nyquist / 1000:g}" for lo, hi in zip(edges[:-1], edges[1:])]
    lines = [
        f"## Where the error lies, at {minutes:g} minutes",
        "",
        "Error energy per band (kHz) as a percentage of the reference's energy, mean over the test files "
        "(`zoo_calibration.band_errors`); the input's Nyquist frequency is "
        f"{nyquist / 1000:g} kHz and the Chebyshev decimation keeps up to 0.8 of it. Where a model's error "
        "is below the reference's own energy it recovers part of the band with the right phase; above it, "
        "it adds content the reference does not have.",
        "",
        "| row | " + " | ".join(labels) + " | all |",
        "|---|" + "---|" * (len(labels) + 1),
        "| reference's own energy | "
        + " | ".join(f"{v:.3f}" for v in cells[0]["bands"]["reference"])
        + f" | {sum(cells[0]['bands']['reference']):.1f} |",
    ]
    for r in cells:
        error = r["bands"]["error"]
        lines.append(f"| {r['row']} | " + " | ".join(f"{v:.3f}" for v in error) + f" | {sum(error):.3f} |")
    return lines + [""]


def plot_curves(records, out, name="learning_curves"):
    """One PNG per metric: minutes on a log axis, a line per row (the mean over its seeds), the sinc reference."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    sinc = next((r for r in records if r["row"] == "Sinc"), None)
    if len({r["minutes"] for r in records if r["row"] != "Sinc"}) < 2:
        return  # one budget: the summary table says it all, a curve needs two points
    for metric, (label, higher) in METRICS.items():
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for row in ROWS:
            by_budget = {}
            for r in records:
                if r["row"] == row and metric in r:
                    by_budget.setdefault(r["minutes"], []).append(r[metric])
            if by_budget:
                budgets = sorted(by_budget)
                ax.plot(budgets, [sum(by_budget[m]) / len(by_budget[m]) for m in budgets], marker="o", label=row)
        if sinc is not None and metric in sinc:
            ax.axhline(sinc[metric], color="grey", linestyle="--", label="Sinc (reference)")
        ax.set_xscale("log")
        budgets = sorted({r["minutes"] for r in records if r["row"] != "Sinc"})
        if budgets:  # the budgets themselves as ticks, in plain minutes
            ax.set_xticks(budgets, [f"{m:g}" for m in budgets])
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("training minutes (log scale)")
        ax.set_ylabel(label + (" (higher is better)" if higher else " (lower is better)"))
        ax.set_title(f"{DATASET} x{RATE}: {label}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / f"{name}_{metric}.png", dpi=110)
        plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=os.environ.get("AUDIOSR_DATA", str(HERE.parent.parent / "shared" / "data")))
    parser.add_argument("--minutes", type=float, nargs="+", default=[2, 4, 8, 15, 30, 60])
    parser.add_argument("--leading-minutes", type=float, nargs="*", default=[], help="more budgets for --leading rows")
    parser.add_argument("--leading", nargs="*", default=list(LEADING), choices=list(ROWS))
    parser.add_argument(
        "--rows", nargs="+", default=[r for r in ROWS if r not in CANDIDATES], choices=["Sinc", *ROWS]
    )
    parser.add_argument("--name", default="learning_curves", help="file name of the report and prefix of the plots")
    parser.add_argument("--seed", type=int, nargs="+", default=[0], help="random_state of the models (one cell each)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--work", default=str(HERE / "work"), help="models and checkpoints (not committed)")
    parser.add_argument("--records", help="the cells' records (committed; default: <out>/curves)")
    parser.add_argument("--out", default=str(HERE / "results"))
    parser.add_argument("--smoke", action="store_true", help="tiny models and 2-s clips: checks the script runs")
    parser.add_argument(
        "--makers",
        nargs="*",
        default=[],
        help="also score every cell on inputs made by these audiosr.signal.decimate methods (e.g. poly soxr_hq)",
    )
    parser.add_argument(
        "--no-train",
        action="store_true",
        help="report the cells already trained and leave the others out (listed as not run yet)",
    )
    args = parser.parse_args(argv)
    args.records = args.records or str(Path(args.out) / "curves")
    if any(m <= 0 for m in [*args.minutes, *args.leading_minutes]):
        parser.error("budgets must be positive numbers of minutes")
    records, failures = run_all(tasks(args), args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    records = [r for r in records if r["row"] in args.rows or r["row"] == "Sinc"]
    plot_curves(records, out, args.name)
    write_report(records, failures, args, out)
    print((out / f"{args.name}.md").read_text())
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
