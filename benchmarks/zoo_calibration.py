"""Where a zoo model loses SNR to sinc, and what its calibrated output settings do about it.

For models trained by ``scripts/train_pretrained.py`` (finished weights in its work
folder), on the first ``--files`` files of the ``valid`` split and the inputs of several
input makers, the error energy of each up-sampler per frequency band, as a share of the
reference's energy (bands in fractions of the input's Nyquist frequency; 1.0 is where the
input's content must stop):

* ``sinc``: the baseline of the ship rule;
* ``network``: the network's bare output (``keep_low_band=False``, ``high_band_gain=1``);
* ``crossover 0.75``: the default passthrough below 0.75 of the input's Nyquist frequency;
* ``calibrated``: the setting ``train_pretrained.py`` chose on the whole validation split
  (read from the index it wrote), when there is one.

A band where the network's error exceeds the reference's own energy there is filled with
content that is uncorrelated with the reference: the error adds up the two. Then the
calibration table per model (every crossover and gain tried, from the index: mean LSD over
the makers, the worst SNR margin to sinc, whether it passes the ship rule with the
calibration's reserve). Writes ``zoo_calibration.md``.

Usage::

    python benchmarks/zoo_calibration.py --data ../shared/data --models speech-x2-16k speech-x3-48k
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

from _common import run_environment  # noqa: E402

from audiosr import load_model, upsample  # noqa: E402
from audiosr.crossover import high_band_gain, low_band_passthrough  # noqa: E402
from audiosr.metrics import snr  # noqa: E402
from audiosr.signal import decimate  # noqa: E402

#: Band edges, fractions of the input's Nyquist frequency (the last one is the rate).
EDGES = (0.0, 0.75, 0.9, 0.95, 1.0, 1.05, 1.1, 1.3, 2.0)
MAKERS = ("iir", "poly", "fft", "soxr_hq")


def zoo_script():
    spec = importlib.util.spec_from_file_location("train_pretrained", REPO / "scripts" / "train_pretrained.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def band_errors(y, outputs, rate, edges=EDGES):
    """Per output: error energy per band of ``edges`` (plus the rest up to ``rate``), over the reference's energy.

    Band edges are fractions of the input's Nyquist frequency (``rate`` is the output's).
    """
    Y = np.fft.rfft(y)
    f = np.arange(Y.size) / (Y.size - 1) * rate
    total = np.sum(np.abs(Y) ** 2)
    edges = [e for e in edges if e < rate] + [rate]
    masks = [(f >= lo) & (f < hi) for lo, hi in zip(edges[:-1], edges[1:])]
    rows = {"reference": [np.sum(np.abs(Y[m]) ** 2) / total for m in masks]}
    for name, z in outputs.items():
        E = np.abs(np.fft.rfft(z) - Y) ** 2
        rows[name] = [E[m].sum() / total for m in masks]
    return edges, rows


def analyse(name, spec, setting, args, load_split):
    rate = spec["rate"]
    model = load_model(args.work / f"{name}.pt").set_params(keep_low_band=False, high_band_gain=1.0, n_threads=1)
    found = load_split(args.data, spec, "valid", False)
    refs = found.signals[: args.files]
    lines = [f"## {name} (x{rate}, {len(refs)} validation files)", ""]
    for maker in MAKERS:
        sums, snrs, edges = {}, {}, None
        for y in refs:
            y = y[: len(y) // rate * rate]
            x = decimate(y, rate, method=maker)
            bare = upsample(x, rate, method=model)
            outputs = {
                "sinc": upsample(x, rate, method="sinc"),
                "network": bare,
                "crossover 0.75": low_band_passthrough(bare[None], x[None], rate, crossover=0.75)[0],
            }
            if setting is not None:
                joined = low_band_passthrough(bare[None], x[None], rate, crossover=setting["keep_low_band"])
                outputs["calibrated"] = high_band_gain(joined, rate, setting["high_band_gain"])[0]
            edges, rows = band_errors(y, outputs, rate)
            for who, row in rows.items():
                sums.setdefault(who, []).append(row)
            for who, z in outputs.items():
                snrs.setdefault(who, []).append(snr(y, z))
        bands = [f"{lo:g}-{hi:g}" for lo, hi in zip(edges[:-1], edges[1:])]
        lines += [f"**{maker}** inputs: error energy per band, % of the reference's energy (mean over files)", ""]
        lines += ["| | " + " | ".join(bands) + " | all | SNR dB |", "|---" * (len(bands) + 3) + "|"]
        for who, rows in sums.items():
            mean = np.mean(rows, axis=0) * 100
            snr_cell = f"{np.mean(snrs[who]):.2f}" if who in snrs else ""
            label = "reference's own energy" if who == "reference" else who
            lines.append(f"| {label} | " + " | ".join(f"{v:.4f}" for v in mean) + f" | {mean.sum():.4f} | {snr_cell} |")
        lines.append("")
    return lines


def calibration_table(name, meta):
    calibration = ((meta or {}).get("validation") or {}).get("calibration")
    if not calibration:
        return [f"No calibration recorded for {name}.", ""]
    lines = [
        f"Calibration of {name} on the whole validation split ({calibration['files']} files, every input maker); "
        f"rule: {calibration['rule']}. Chosen: keep_low_band {calibration['keep_low_band']:g}, "
        f"high_band_gain {calibration['high_band_gain']:g}.",
        "",
        "| keep_low_band | high_band_gain | mean LSD | worst SNR - sinc, dB | passes |",
        "|---|---|---|---|---|",
    ]
    for c in calibration["candidates"]:
        mark = " **(chosen)**" if (c["keep_low_band"], c["high_band_gain"]) == (
            calibration["keep_low_band"], calibration["high_band_gain"]) else ""  # fmt: skip
        lines.append(
            f"| {c['keep_low_band']:g} | {c['high_band_gain']:g} | {c['lsd']:.3f} | {c['worst_snr_margin_db']:+.2f} | "
            f"{'yes' if c['passes'] else 'no'}{mark} |"
        )
    return lines + [""]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--models", nargs="+", required=True)
    parser.add_argument("--files", type=int, default=12, help="validation files per model for the band analysis")
    parser.add_argument("--work", type=Path, default=REPO / "benchmarks" / "work" / "zoo")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "zoo_calibration.md")
    args = parser.parse_args(argv)
    zoo = zoo_script()
    index_path = zoo.OUT / "index.json"
    index = json.loads(index_path.read_text()) if index_path.exists() else {}
    env = run_environment("zoo_calibration.py")
    lines = [
        "# Zoo models: where the SNR goes, and the calibrated output settings",
        "",
        __doc__.split("\n\n", 1)[1].split("Usage::")[0].strip(),
        "",
        f"Command: `{env['command']}`; {env['cpu']}, torch {env['torch']}, audiosr {env['audiosr']}.",
        "",
    ]
    for name in args.models:
        meta = index.get(name)
        calibration = ((meta or {}).get("validation") or {}).get("calibration")
        setting = None if not calibration else {k: calibration[k] for k in ("keep_low_band", "high_band_gain")}
        lines += analyse(name, zoo.SPECS[name], setting, args, zoo.load_split)
        lines += calibration_table(name, meta)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
