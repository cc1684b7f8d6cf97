"""Train the pretrained models shipped in ``audiosr/pretrained/``.

Each model is a DualBranchSR with the library's CPU-sized defaults, trained on the
training split of the project's data collection (MANIFEST.csv) for a wall-clock
budget, scored on the test split (whole files, default metric conventions) against
the sinc and spline interpolators, and saved as a weights-only file with its
metadata (rate, sample rates, training data and licences, test figures, command).
A model that does not beat sinc on LSD over its test split is not shipped.

Usage::

    python scripts/train_pretrained.py --data ../shared/data --minutes 10 [--only NAME ...]

Anyone can retrain: the budget and the command are stored in each model's metadata
and in ``audiosr/pretrained/index.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

import audiosr
from audiosr import DualBranchSR, make_pairs, save_model
from audiosr.datasets import load_manifest
from audiosr.evaluation import evaluate

OUT = Path(audiosr.__file__).parent / "pretrained"

#: name -> what to train on. Speech uses both speech folders; piano its own.
SPECS = {
    "speech-x4-16k": dict(kind=["speech", "speech16k"], sr=16000, rate=4, description="speech, 4 kHz -> 16 kHz"),
    "speech-x4-48k": dict(kind=["speech"], sr=48000, rate=4, description="speech, 12 kHz -> 48 kHz"),
    "piano-x4-44k": dict(kind=["piano"], sr=44100, rate=4, description="piano, 11.025 kHz -> 44.1 kHz"),
}


def licences(rows):
    return sorted({r.get("license", "unknown") for r in rows})


def scores_of(method, signals, rate):
    scores = evaluate(method, signals, rate)
    return {k: round(scores[k], 4) for k in ("snr", "lsd", "lsd_hf")}


def train_one(name, spec, data, minutes, command):
    sr, rate = spec["sr"], spec["rate"]
    train = load_manifest(data, kind=spec["kind"], split="train", sr=sr, min_sr=sr)
    test = load_manifest(data, kind=spec["kind"], split="test", sr=sr, min_sr=sr)
    X, y = make_pairs(train.signals, rate, segment=8192, hop=4096, min_rms=0.01)
    print(f"[{name}] {len(X)} pairs from {len(train.signals)} files; {len(test.signals)} test files", flush=True)
    model = DualBranchSR(rate=rate, lr_schedule="constant", max_epochs=1000, max_time=minutes * 60, random_state=0)
    start = time.perf_counter()
    model.fit(X, y)
    seconds = time.perf_counter() - start
    epochs = model.n_iter_
    scores = {"DualBranchSR": scores_of(model, test.signals, rate)}
    for method in ("sinc", "spline"):
        scores[method] = scores_of(method, test.signals, rate)
    print(f"[{name}] {epochs} epochs in {seconds:.0f} s; test: {json.dumps(scores)}", flush=True)
    beats_sinc = scores["DualBranchSR"]["lsd"] < scores["sinc"]["lsd"]
    metadata = {
        "name": name,
        "description": spec["description"],
        "rate": rate,
        "input_sr": sr // rate,
        "output_sr": sr,
        "trained_on": {
            "collection": "audiosr shared data (MANIFEST.csv), split 'train'",
            "kinds": spec["kind"],
            "files": len(train.signals),
            "pairs": int(len(X)),
            "licences": licences(train.rows),
        },
        "test": {
            "files": len(test.signals),
            "split": "test",
            "scores": scores,
            "metric": "default convention, mean over whole files",
        },
        "training": {
            "command": command,
            "budget_minutes": minutes,
            "seconds": round(seconds, 1),
            "epochs": epochs,
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads",
            "torch": torch.__version__,
            "audiosr": audiosr.__version__,
        },
        "non_commercial": any("NC" in lic or "non-commercial" in lic for lic in licences(train.rows)),
    }
    return model, metadata, beats_sinc


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=os.environ.get("AUDIOSR_DATA", "../shared/data"))
    parser.add_argument("--minutes", type=float, default=10.0, help="training budget per model")
    parser.add_argument("--only", nargs="*", choices=sorted(SPECS), help="train only these models")
    args = parser.parse_args(argv)
    command = "python scripts/train_pretrained.py " + " ".join(sys.argv[1:] if argv is None else argv)
    index_path = OUT / "index.json"
    index = json.loads(index_path.read_text()) if index_path.exists() else {}
    for name in args.only or SPECS:
        model, metadata, beats_sinc = train_one(name, SPECS[name], args.data, args.minutes, command)
        if not beats_sinc:
            print(f"[{name}] does not beat sinc on LSD: not shipped", flush=True)
            index.pop(name, None)
            (OUT / f"{name}.pt").unlink(missing_ok=True)
        else:
            save_model(model, OUT / f"{name}.pt", metadata=metadata)
            index[name] = metadata
            print(f"[{name}] saved {OUT / (name + '.pt')}", flush=True)
        index_path.write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
