"""The high band's smoothing (``high_band_smoothing``), chosen on validation files, scored on the test files.

For saved models on speech-multi x4 (learning-curves cells' ``.pt`` files, any saved model):

1. **Choice, on the validation files** (``load_manifest(split="valid")``, speakers apart from
   the test split's): the model's output once, then :func:`audiosr.postfilter.smooth_high_band`
   at each of ``--widths`` (bins of the 2048-point STFT, the library's edge, 1.5 times the
   input's Nyquist frequency). The chosen width is the one with the lowest LSD among those
   whose SNR is not below the plain output's, so the test files choose nothing.
   ``--edges`` also maps the edge for the first model (what chose the library's constant).
2. **Test**: the model as saved and with ``high_band_smoothing`` set to the chosen width,
   each through ``transform`` (the library's path), scored like the learning curves' cells
   (SNR, LSD, LSD-HF, LSD on active frames, the VCTK files alone, tonal lines).
3. ``--remove-lines``: for U-Net models also with ``remove_lines`` (the U-Net's lines subtracted,
   :func:`audiosr.postfilter.remove_period_lines`), alone and before the chosen smoothing, on the
   validation files and on the test files.

Usage::

    python benchmarks/postfilter.py --data ../shared/data \\
        --models benchmarks/work/curves/<cell>.pt ... --labels "<row>, 60 min" ... --name postfilter

Writes ``<name>.md`` to ``--out`` (default ``benchmarks/results``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import quality  # noqa: E402
from _common import git_commit, run_environment  # noqa: E402
from band_levels import run_model as outputs  # noqa: E402  (references cut to the rate, and outputs)
from band_levels import scores  # noqa: E402

RATE = 4
DATASET = "speech-multi"
SR = 16000


def validation_signals(root, smoke=False):
    from audiosr.datasets import load_manifest

    valid = load_manifest(root, kind=quality.SPEECH, split="valid", sr=SR, min_sr=SR).signals
    return [s[: 2 * SR] for s in valid[:2]] if smoke else valid


def grid(refs, outs, widths, edge):
    """``{width: (SNR, LSD)}`` of the outputs smoothed at ``edge`` (width 0: as they are)."""
    from audiosr.postfilter import smooth_high_band

    return {w: scores(refs, [smooth_high_band(z[None], RATE, w, edge=edge)[0] for z in outs]) for w in widths}


def choose(table):
    """The width of lowest LSD among those whose SNR is not below the plain output's (width 0)."""
    plain_snr = table[0][0]
    allowed = [w for w, (s, _) in table.items() if s >= plain_snr]
    return min(allowed, key=lambda w: table[w][1])


def score_model(path, label, args, valid, test, names, map_edges=False):
    from architecture import score

    from audiosr import load_model
    from audiosr.postfilter import SMOOTHING_EDGE

    model = load_model(path, allow_pickle=False)
    model.set_params(high_band_smoothing=0)
    v_refs, v_outs = outputs(model, valid)
    widths = sorted(set([0, *args.widths]))
    table = grid(v_refs, v_outs, widths, SMOOTHING_EDGE)
    edges = {}
    if map_edges:
        edges = {e: grid(v_refs, v_outs, widths, e) for e in args.edges}
    chosen = choose(table)
    plain = score(model, test, names)
    smoothed = score(model.set_params(high_band_smoothing=chosen), test, names) if chosen > 1 else plain
    lines = {}
    if args.remove_lines and hasattr(model, "remove_lines"):
        from audiosr.postfilter import remove_period_lines

        period = model._line_period(RATE)
        cleaned = [remove_period_lines(z[None], RATE, period)[0] for z in v_outs]
        lines["validation"] = {str(w): v for w, v in grid(v_refs, cleaned, sorted({0, chosen}), SMOOTHING_EDGE).items()}
        lines["plain"] = score(model.set_params(remove_lines=True, high_band_smoothing=0), test, names)
        if chosen > 1:
            lines["smoothed"] = score(model.set_params(high_band_smoothing=chosen), test, names)
        model.set_params(remove_lines=False)
    return {
        "label": label,
        "model": os.fspath(path),
        "validation": {str(w): v for w, v in table.items()},
        "edges": {str(e): {str(w): v for w, v in t.items()} for e, t in edges.items()},
        "chosen": chosen,
        "plain": plain,
        "smoothed": smoothed,
        "lines": lines,
    }


def _row(name, r):
    vctk = f"{r['snr_vctk']:.2f} / {r['lsd_vctk']:.3f}" if "lsd_vctk" in r else "–"
    return (
        f"| {name} | {r['snr']:.2f} | {r['lsd']:.3f} | {r['lsd_hf']:.3f} | {r['lsd_active']:.3f} | {vctk} | "
        f"{r['lines_grid']:.1f} / {r['lines_top']:.1f} |"
    )


def report(results, sinc, args, seconds):
    env = run_environment("postfilter.py")
    cmd = ["python benchmarks/postfilter.py --data ../shared/data --models"]
    cmd += [f'"{m}"' for m in args.models] + ["--labels"] + [f'"{label}"' for label in args.labels]
    cmd += ["--widths", *map(str, args.widths)] + (["--edges", *map(str, args.edges)] if args.edges else [])
    cmd += ["--name", args.name] + (["--remove-lines"] if args.remove_lines else [])
    cmd += ["--smoke"] if args.smoke else []
    lines = [
        "# The high band's smoothing, chosen on validation files",
        "",
        f"speech-multi ×4 ({SR // 1000} kHz). `high_band_smoothing`: in the metric's STFT (2048/512), every "
        "magnitude above 1.5 times the input's Nyquist frequency (3 kHz here) replaced by the root mean power of "
        "the bins around it, phases kept (`audiosr.postfilter.smooth_high_band`). The width is chosen on the "
        "validation files (the lowest LSD among widths whose SNR is not below the plain output's) and then "
        "scored on the test files through the model's `transform`. See the script's docstring.",
        "",
        f"Machine: {env['cpu']}, {env['logical_cpus']} logical CPUs; torch {env['torch']}, 1 thread; "
        f"{seconds / 60:.0f} minutes. "
        f"Commit `{(git_commit()[0] or '')[:7]}`. Command: `{' '.join(cmd)}`.",
        "",
        "## Test files: each model as trained and with the width chosen on validation",
        "",
        "| model | SNR dB | LSD | LSD-HF | LSD active | SNR / LSD, VCTK | lines dB |",
        "|---|---|---|---|---|---|---|",
        _row("Sinc", sinc),
    ]
    for r in results:
        lines.append(_row(f"{r['label']}", r["plain"]))
        if r["chosen"] > 1:
            lines.append(_row(f"{r['label']}, smoothing {r['chosen']}", r["smoothed"]))
        else:
            lines.append(f"| {r['label']}: no width kept the validation SNR | | | | | | |")
        if r.get("lines"):
            lines.append(_row(f"{r['label']}, lines removed", r["lines"]["plain"]))
            if "smoothed" in r["lines"]:
                lines.append(_row(f"{r['label']}, lines removed, smoothing {r['chosen']}", r["lines"]["smoothed"]))
    lines += ["", "## Validation files: SNR dB / LSD by width (bins)", ""]
    widths = list(results[0]["validation"])
    lines += ["| model | " + " | ".join(widths) + " | chosen |", "|---|" + "---|" * (len(widths) + 1)]
    for r in results:
        cells = [f"{r['validation'][w][0]:.3f} / {r['validation'][w][1]:.4f}" for w in widths]
        lines.append(f"| {r['label']} | " + " | ".join(cells) + f" | {r['chosen']} |")
    cleaned = [r for r in results if r.get("lines")]
    if cleaned:
        lines += ["", "## Validation files: with the U-Net's lines removed (SNR dB / LSD by width)", ""]
        lines += ["| model | width 0, as trained | width 0, lines removed | chosen width, lines removed |"]
        lines += ["|---|---|---|---|"]
        for r in cleaned:
            v, c = r["validation"], r["lines"]["validation"]
            cells = [f"{v['0'][0]:.3f} / {v['0'][1]:.4f}", f"{c['0'][0]:.3f} / {c['0'][1]:.4f}"]
            chosen = str(r["chosen"])
            cells.append(f"{c[chosen][0]:.3f} / {c[chosen][1]:.4f}" if chosen in c and chosen != "0" else "–")
            lines.append(f"| {r['label']} | " + " | ".join(cells) + " |")
    for r in results:
        if r["edges"]:
            lines += ["", f"## Validation files: the edge, for {r['label']} (SNR dB / LSD)", ""]
            lines += ["| edge (× f_N) | " + " | ".join(widths) + " |", "|---|" + "---|" * len(widths)]
            for e, t in r["edges"].items():
                lines.append(f"| {e} | " + " | ".join(f"{t[w][0]:.3f} / {t[w][1]:.4f}" for w in widths) + " |")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.name}.md").write_text("\n".join(lines) + "\n")
    (out / f"{args.name}.json").write_text(json.dumps({"sinc": sinc, "models": results}, indent=1))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=os.environ.get("AUDIOSR_DATA", str(HERE.parent.parent / "shared" / "data")))
    parser.add_argument("--models", nargs="+", required=True, help="saved model files")
    parser.add_argument("--labels", nargs="+", help="one per model (default: the file names)")
    parser.add_argument("--widths", nargs="+", type=int, default=[5, 9, 15, 23, 31])
    parser.add_argument("--edges", nargs="*", type=float, default=[], help="also map these edges (first model)")
    parser.add_argument("--name", default="postfilter")
    parser.add_argument(
        "--remove-lines",
        action="store_true",
        help="also score the U-Net models with remove_lines (before the smoothing)",
    )
    parser.add_argument("--out", default=str(HERE / "results"))
    parser.add_argument("--smoke", action="store_true", help="2-s clips: checks the script runs")
    args = parser.parse_args(argv)
    args.labels = args.labels or [Path(m).stem for m in args.models]
    if len(args.labels) != len(args.models):
        parser.error(f"--labels needs one label per model ({len(args.models)}), got {len(args.labels)}")
    missing = [m for m in args.models if not Path(m).exists()]
    if missing:
        parser.error(f"no such model file: {', '.join(missing)}")
    if any(w < 2 for w in args.widths):
        parser.error(f"--widths must be at least 2 bins (0 and 1 are no smoothing), got {args.widths}")
    if not (Path(args.data) / "MANIFEST.csv").exists():
        parser.error(f"no MANIFEST.csv in {args.data}; pass --data DIR or set AUDIOSR_DATA")
    import torch

    from architecture import score

    from audiosr import SincUpsampler

    torch.set_num_threads(1)
    start = time.perf_counter()
    _, test, names, _ = quality.load_dataset(DATASET, args.data, args.smoke)
    valid = validation_signals(args.data, args.smoke)
    sinc = score(SincUpsampler(rate=RATE), test, names)
    results = []
    for i, (path, label) in enumerate(zip(args.models, args.labels)):
        results.append(score_model(path, label, args, valid, test, names, map_edges=bool(args.edges) and i == 0))
        print(f"{label}: chosen {results[-1]['chosen']}", flush=True)
    report(results, sinc, args, time.perf_counter() - start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
