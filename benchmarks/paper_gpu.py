"""The paper-size presets on a GPU: ``DualBranchSR.paper(4)`` and ``AudioUNet.paper(4)`` on speech-multi x4.

Both presets (28 M and 56 M parameters) are meant for a GPU; on the 2-core CPU they
see a fraction of an epoch in the table's budgets. This trains each for the same
wall-clock budget on a CUDA device, on the table's pairs (``quality.py``: speech-multi
training split at 16 kHz, Chebyshev decimation, 8192-sample segments), and scores
them on the whole test files (SNR, LSD, LSD-HF, default conventions) beside sinc.

The machine that has the GPU may not have the shared recordings: ``--pack DIR`` writes
the dataset's 16 kHz signals there as FLAC files (train/ and test/, about 30 MB), and
``--packed DIR`` reads them instead of ``--data``.

Usage::

    python benchmarks/paper_gpu.py --pack .gpu/speech-multi           # where the data is
    python benchmarks/paper_gpu.py --packed .gpu/speech-multi --budget-minutes 2.5 --out OUT   # on the GPU

Writes ``paper_gpu.json`` and ``paper_gpu.md`` to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

RATE = 4
ROWS = ("Sinc", "AudioUNet.paper(4)", "DualBranchSR.paper(4)")


def pack(args):
    import soundfile as sf

    import quality

    train, test, names, sr = quality.load_dataset("speech-multi", args.data, args.smoke)
    root = Path(args.pack)
    for split, signals, labels in (("train", train, None), ("test", test, names)):
        folder = root / split
        folder.mkdir(parents=True, exist_ok=True)
        for i, y in enumerate(signals):
            name = labels[i] if labels else f"{i:04d}.flac"
            peak = max(1.0, float(np.max(np.abs(y))))
            sf.write(folder / Path(name).with_suffix(".flac").name, y / peak, sr, subtype="PCM_16")
    print(f"packed {len(train)} training and {len(test)} test signals at {sr} Hz into {root}")


def load_packed(root):
    import soundfile as sf

    def read(split):
        paths = sorted((Path(root) / split).glob("*.flac"))
        return [sf.read(p, dtype="float64")[0] for p in paths], [p.name for p in paths]

    (train, _), (test, names) = read("train"), read("test")
    return train, test, names


def make(row, budget_s, device, smoke=False):
    from audiosr import AudioUNet, DualBranchSR, SincUpsampler

    if row == "Sinc":
        return SincUpsampler(rate=RATE)
    cls = AudioUNet if row.startswith("AudioUNet") else DualBranchSR
    tiny = dict(filters=(4, 8), kernel_sizes=(9, 5), patch_len=2048, batch_size=4) if smoke else {}
    return cls.paper(RATE, max_epochs=100_000, max_time=budget_s, random_state=0, device=device, **tiny)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=os.environ.get("AUDIOSR_DATA", str(HERE.parent.parent / "shared" / "data")))
    parser.add_argument("--pack", metavar="DIR", help="write the dataset as FLAC files to DIR and stop")
    parser.add_argument("--packed", metavar="DIR", help="read the dataset from a --pack folder")
    parser.add_argument("--budget-minutes", type=float, default=2.5)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--out", default=str(HERE / "results"))
    parser.add_argument("--smoke", action="store_true", help="tiny models and 2-s clips: checks the script runs")
    args = parser.parse_args(argv)
    if args.pack:
        return pack(args)
    import torch

    import quality
    from audiosr.evaluation import evaluate

    if args.packed:
        train, test, _ = load_packed(args.packed)
    else:
        train, test, _, _ = quality.load_dataset("speech-multi", args.data, args.smoke)
    X, y = quality.training_pairs(train, RATE, args.smoke)
    records = []
    for row in ROWS:
        model = make(row, args.budget_minutes * 60, args.device, args.smoke)
        record = {"row": row}
        if row != "Sinc":
            start = time.perf_counter()
            model.fit(X, y)
            record.update(
                train_seconds=round(time.perf_counter() - start, 1),
                epochs=round(quality.epochs_reached(model, X, y, RATE), 2),
                params=sum(p.numel() for p in model.module_.parameters()),
            )
        start = time.perf_counter()
        scores = evaluate(model, test, RATE)
        record.update({k: round(float(scores[k]), 4) for k in ("snr", "lsd", "lsd_hf")})
        record["eval_seconds"] = round(time.perf_counter() - start, 1)
        records.append(record)
        print(json.dumps(record), flush=True)
    env = {
        "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
        "torch": torch.__version__,
        "python": platform.python_version(),
        "budget_minutes": args.budget_minutes,
        "train_pairs": len(X),
        "command": "python benchmarks/paper_gpu.py " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "paper_gpu.json").write_text(json.dumps({"environment": env, "rows": records}, indent=1))
    lines = [
        "# The paper-size presets on a GPU (speech-multi x4)",
        "",
        f"Device: {env['device']}, torch {env['torch']}; every model trained for {args.budget_minutes:g} minutes of "
        f"wall-clock time on {len(X)} training pairs; whole test files, Chebyshev-decimated inputs. "
        f"Command: `{env['command']}`.",
        "",
        "| method | parameters | epochs | SNR dB | LSD | LSD-HF |",
        "|---|---|---|---|---|---|",
    ]
    for r in records:
        params = f"{r['params']:,}" if "params" in r else "—"
        lines.append(f"| {r['row']} | {params} | {r.get('epochs', '—')} | {r['snr']:.2f} | {r['lsd']:.3f} | {r['lsd_hf']:.3f} |")
    (out / "paper_gpu.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
