"""The fast DualBranchSR architecture against the former default, at equal training minutes.

Trains each configuration of ``CONFIGS`` on the speech-multi training split at x4
(16 kHz, the table's pairs of ``quality.py``: Chebyshev decimation, 8192-sample
segments, ``spectral_loss=SPECTRAL_LOSS``) for the same wall-clock budget,
then scores it on the whole test files: SNR, LSD and LSD-HF (default conventions),
LSD on *active* frames only (within 40 dB of each file's loudest frame; the test
split's RAVDESS takes have long room-tone pauses that can flatter a model), and
the same on the VCTK test files alone. The inference real-time factor of each
configuration is measured by ``speed.py``, not here.

Cells (``<work>/arch/*.json``) and models are kept: a rerun scores what is missing.

Usage::

    python benchmarks/architecture.py --data ../shared/data --budget-minutes 8 --jobs 2

Writes ``architecture_sl<spectral_loss>.md`` to ``--out`` (default ``benchmarks/results``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import quality  # noqa: E402  (the table's data, pairs and budgets, so these runs match it)
from _common import git_commit, run_environment  # noqa: E402
from artifacts import tonal_excess  # noqa: E402
from lsd_investigation import diagnose_file  # noqa: E402

#: name -> (DualBranchSR parameters, what it is). "former" is the default before the fast architecture.
FORMER_SIZES = dict(filters=(16, 32, 64, 64), kernel_sizes=(33, 17, 9, 9))
CONFIGS = {
    "former": (
        dict(polyphase=False, overlap=0.5, **FORMER_SIZES),
        "former default: both branches at the high rate, (16, 32, 64, 64) / (33, 17, 9, 9), half-overlapping patches",
    ),
    "fast": (FORMER_SIZES, "both branches at the low rate (polyphase) with the former widths, an eighth of overlap"),
    "fast-wide": (
        dict(filters=(24, 48, 96, 96), kernel_sizes=(17, 9, 7, 5)),
        "polyphase, wider and shorter kernels (24, 48, 96, 96) / (17, 9, 7, 5)",
    ),
    "fast-short": (dict(filters=(16, 32, 64, 64), kernel_sizes=(15, 9, 5, 5)), "polyphase, shorter kernels (15, 9, 5, 5)"),
    "fast-top64": (
        dict(filters=(64, 64, 96, 96), kernel_sizes=(9, 9, 5, 5)),
        "**the default now**: polyphase, wide first blocks and short kernels (64, 64, 96, 96) / (9, 9, 5, 5)",
    ),
    "fast-w32": (
        dict(filters=(32, 64, 128, 128), kernel_sizes=(15, 9, 5, 5)),
        "polyphase, twice the widths and shorter kernels (32, 64, 128, 128) / (15, 9, 5, 5)",
    ),
}
#: spectral_loss of the DualBranchSR configurations: what the committed architecture reports
#: were made with (the recipe of that time; the library's recipe is now ``stft_loss``).
SPECTRAL_LOSS = 0.003
RATE = 4
DATASET = "speech-multi"
SR = 16000


def make_model(name, budget_s, spectral_loss, seed=0, smoke=False):
    from audiosr import DualBranchSR

    params, _ = CONFIGS[name]
    tiny = dict(filters=(4, 8), kernel_sizes=(9, 5)) if smoke else {}
    return DualBranchSR(
        rate=RATE,
        spectral_loss=spectral_loss,
        max_epochs=100_000,
        max_time=budget_s,
        random_state=seed,
        device="cpu",
        **{**params, **tiny},
    )


def score(model, test, names):
    """Whole-file scores, active-frame LSD and the VCTK-only subset."""
    from audiosr.evaluation import evaluate
    from audiosr.metrics import lsd, snr
    from audiosr.signal import decimate

    record = {k: round(v, 4) for k, v in evaluate(model, test, RATE).items() if k in ("snr", "lsd", "lsd_hf")}
    active, vctk_lsd, vctk_snr, references, outputs = [], [], [], [], []
    for name, y in zip(names, test):
        n = len(y) // RATE * RATE
        y = y[:n]
        y_hat = model.transform(decimate(y, RATE)[None])[0]
        references.append(y)
        outputs.append(y_hat)
        per_frame, mask, _, _ = diagnose_file(y, y_hat, RATE)
        active.append(per_frame["all"][mask].mean())
        if "vctk" in name:
            vctk_lsd.append(lsd(y, y_hat))
            vctk_snr.append(snr(y, y_hat))
    record["lsd_active"] = round(float(np.mean(active)), 4)
    record.update({k: round(v, 2) for k, v in tonal_excess(references, outputs, SR, RATE).items()})
    if vctk_lsd:
        record.update(lsd_vctk=round(float(np.mean(vctk_lsd)), 4), snr_vctk=round(float(np.mean(vctk_snr)), 4))
        record["vctk_files"] = len(vctk_lsd)
    return record


def run(name, args):
    import torch

    from audiosr import SincUpsampler, load_model, save_model

    torch.set_num_threads(args.threads)
    work = Path(args.work) / "arch"
    work.mkdir(parents=True, exist_ok=True)
    stem = f"{name}-{args.budget_minutes:g}min" + ("" if name == "sinc" else f"-sl{args.spectral_loss:g}")
    stem += f"-seed{args.seed}" if args.seed and name != "sinc" else ""
    cell = work / f"{stem}.json"
    commit = (git_commit()[0] or "")[:7]
    record = {"config": name, "seed": args.seed, "budget_minutes": args.budget_minutes, "git_commit": commit}
    if cell.exists():
        old = json.loads(cell.read_text())
        if not args.rescore:
            return old
        # Scored again with today's code and settings; the training facts stay those of the run.
        record.update({k: old[k] for k in ("git_commit", "train_seconds", "epochs", "params") if k in old})
        record["scored_commit"] = commit
    train, test, names, _ = quality.load_dataset(DATASET, args.data, args.smoke)
    if name == "sinc":
        model = SincUpsampler(rate=RATE)
    else:
        path = work / f"{stem}.pt"
        if path.exists():
            # Scored with the configuration's inference settings (overlap), which may postdate the file.
            model = load_model(path, allow_pickle=False)
            model.set_params(overlap=make_model(name, 1.0, args.spectral_loss).overlap)
        else:
            X, y = quality.training_pairs(train, RATE, args.smoke)
            model = make_model(name, args.budget_minutes * 60, args.spectral_loss, args.seed, args.smoke)
            start = time.perf_counter()
            model.fit(X, y)
            record.update(
                train_seconds=round(time.perf_counter() - start, 1),
                epochs=round(quality.epochs_reached(model, X, y, RATE), 2),
                params=sum(p.numel() for p in model.module_.parameters()),
            )
            save_model(model, path)
    record.update(score(model, test, names))
    cell.write_text(json.dumps(record))
    return record


def write_report(records, args, out):
    env = run_environment("architecture.py")
    lines = [
        "# The fast DualBranchSR architecture against the former default",
        "",
        f"speech-multi x{RATE} (16 kHz), every model trained for {args.budget_minutes:g} minutes of wall-clock time "
        f"on the training split ({args.threads} torch thread per model, {args.jobs} models at a time), "
        f"Chebyshev-decimated inputs, spectral_loss {args.spectral_loss:g}; scored on the whole test files. LSD active: frames within 40 dB "
        "of each file's loudest. VCTK: the test split's VCTK files alone.",
        "",
        f"Machine: {env.get('cpu', '?')}, {env.get('logical_cpus', '?')} CPUs. Command: "
        f"`python benchmarks/architecture.py --data ../shared/data --budget-minutes {args.budget_minutes:g} "
        f"--jobs {args.jobs} --spectral-loss {args.spectral_loss:g} --seed {args.seed} --configs "
        f"{' '.join(args.configs)}`.",
        "",
        "| configuration | parameters | epochs | SNR dB | LSD | LSD-HF | LSD active | SNR VCTK | LSD VCTK |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        what = CONFIGS[r["config"]][1] if r["config"] in CONFIGS else "windowed-sinc interpolation"
        params = f"{r['params']:,}" if "params" in r else "—"
        lines.append(
            f"| **{r['config']}**: {what} | {params} | {r.get('epochs', '—')} | {r['snr']:.2f} | {r['lsd']:.3f} | "
            f"{r['lsd_hf']:.3f} | {r['lsd_active']:.3f} | {r.get('snr_vctk', float('nan')):.2f} | "
            f"{r.get('lsd_vctk', float('nan')):.3f} |"
        )
    commits = sorted({r["git_commit"] for r in records})
    scored = sorted({r["scored_commit"] for r in records if "scored_commit" in r})
    lines += ["", f"Commits of the training runs: {', '.join(commits)}."]
    if scored:
        lines[-1] += f" Scored again (`--rescore`) at {', '.join(scored)}."
    out.write_text("\n".join(lines) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=os.environ.get("AUDIOSR_DATA", str(HERE.parent.parent / "shared" / "data")))
    parser.add_argument("--budget-minutes", type=float, default=8.0)
    parser.add_argument("--configs", nargs="+", default=["sinc", "former", "fast"], choices=["sinc", *CONFIGS])
    parser.add_argument(
        "--spectral-loss",
        type=float,
        default=SPECTRAL_LOSS,
        help=f"DualBranchSR's spectral_loss (default {SPECTRAL_LOSS:g}, the setting of the committed reports)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random_state of the models")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--work", default=str(HERE / "work"))
    parser.add_argument("--out", default=str(HERE / "results"))
    parser.add_argument("--rescore", action="store_true", help="score saved models again (never retrains)")
    parser.add_argument("--smoke", action="store_true", help="tiny models and 2-s clips: checks the script runs")
    args = parser.parse_args(argv)
    if args.jobs == 1:
        records = [run(name, args) for name in args.configs]
    else:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            records = list(pool.map(run, args.configs, [args] * len(args.configs)))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = out / (f"architecture_sl{args.spectral_loss:g}" + (f"_seed{args.seed}" if args.seed else "") + ".md")
    write_report(records, args, report)
    print(report.read_text())


if __name__ == "__main__":
    main()
