"""Smoke runs of the benchmark scripts on a tiny budget, so they cannot rot.

The figures they produce here mean nothing; the tests check that every cell runs,
that the outputs are written in the documented layout, and that a second run
resumes from the saved cells and models instead of training again.
"""

from __future__ import annotations

import csv
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import harmonic_signals

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _script(name):
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # worker processes find their functions by module name
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def tiny_corpus(tmp_path):
    """A MANIFEST.csv folder shaped like ../shared/data: p225 and other speakers, piano pieces."""
    root = tmp_path / "data"
    files = [(f"speech/p225_{i}.flac", 16000, "p225", "train", "speech") for i in range(4)]
    files += [("speech16k/p225_4.flac", 16000, "p225", "train", "speech16k")]
    files += [
        (f"speech/spk{i}.flac", 16000, f"spk{i}", split, "speech") for i, split in enumerate(["train", "train", "test"])
    ]
    files += [(f"piano/piece{i}.flac", 44100, f"piece{i}", split, "piano") for i, split in enumerate(["train", "test"])]
    rows = []
    for i, (rel, sr, who, split, kind) in enumerate(files):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, harmonic_signals(1, 3 * sr, sr=sr, seed=i)[0], sr, subtype="PCM_16")
        rows.append({"path": rel, "sample_rate": sr, "duration_s": "3.0", "license": "CC0",
                     "speaker_or_piece": who, "split": split, "kind": kind})  # fmt: skip
    with open(root / "MANIFEST.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return root


def test_quality_smoke_run_writes_the_table_and_resumes(tiny_corpus, tmp_path, capsys):
    quality = _script("quality")
    work, out = tmp_path / "work", tmp_path / "results"
    argv = ["--data", str(tiny_corpus), "--smoke", "--budget-minutes", "0.003", "--rates", "4",
            "--work", str(work), "--out", str(out)]  # fmt: skip
    assert quality.main(argv) == 0
    expected = list(quality.tasks(quality.DATASETS, [4], quality.ROWS))
    assert len(expected) == 4 * 6 + 2  # every dataset and row, plus the speech-multi ablation
    with open(out / "quality.csv") as fh:
        cells = list(csv.DictReader(fh))
    assert {(c["dataset"], int(c["rate"]), c["row"]) for c in cells} == set(expected)
    for c in cells:
        assert np.isfinite([float(c[k]) for k in ("snr", "lsd", "lsd_hf", "lsd_kuleshov2017")]).all()
        if c["row"] not in quality.CLASSICAL:
            assert float(c["epochs"]) > 0 and int(c["params"]) > 0
    report = (out / "quality.md").read_text()
    for heading in ("## speech-single", "## speech-multi", "## piano", "## piano-44k", "## Ablation", "## Training"):
        assert heading in report
    assert "0.003 minutes" in report
    assert all((out / f"quality_{d}.png").stat().st_size > 0 for d in quality.DATASETS)
    assert (out / "quality_env.json").exists()

    # A second run finds every cell and trains nothing; --reevaluate re-scores saved models.
    capsys.readouterr()
    models = {p: p.stat().st_mtime_ns for p in (work / "models").glob("*.pt")}
    assert quality.main(argv) == 0
    assert f"{len(expected)} cells done, 0 to run" in capsys.readouterr().out
    assert quality.main(argv + ["--datasets", "speech-single", "--rows", "DualBranchSR", "--reevaluate"]) == 0
    assert {p: p.stat().st_mtime_ns for p in models} == models

    # The LSD investigation reads the saved models and trains its own variants.
    investigation = _script("lsd_investigation")
    investigation.main(["--data", str(tiny_corpus), "--work", str(work), "--out", str(out), "--diagnose",
                        "--weights", "0", "0.01", "--budget-minutes", "0.002"])  # fmt: skip
    report = (out / "lsd_investigation.md").read_text()
    assert "| DualBranchSR time-only |" in report and "| DualBranchSR | True | 0.01 |" in report


def test_quality_rejects_a_missing_dataset(tmp_path):
    with pytest.raises(SystemExit):
        _script("quality").main(["--data", str(tmp_path), "--smoke"])


def test_speed_smoke_run_writes_every_row(tmp_path):
    speed = _script("speed")
    out = tmp_path / "results"
    speed.main(
        ["--smoke", "--seconds", "1", "--repeats", "1", "--long-minutes", "0.05", "--threads", "1", "--out", str(out)]
    )
    with open(out / "speed.csv") as fh:
        rows = {r["method"]: r for r in csv.DictReader(fh)}
    assert set(speed.CLASSICAL + speed.NEURAL) | {"scipy resample_poly"} <= set(rows)
    for name in speed.CLASSICAL + speed.NEURAL:
        assert 0 < float(rows[name]["rtf_16k"]) and 0 < float(rows[name]["rtf_48k"])
    for name in speed.NEURAL:
        assert float(rows[name]["train_samples_per_s"]) > 0
    for name in speed.CLASSICAL + ("SpectralDNN", "AudioUNet", "DualBranchSR"):
        assert 10 < float(rows[name]["long_peak_mb"]) < 4000
    assert "| Sinc |" in (out / "speed.md").read_text()


def test_low_band_smoke_run_writes_the_report(tiny_corpus, tmp_path):
    low_band = _script("low_band")
    out = tmp_path / "results"
    argv = ["--data", str(tiny_corpus), "--models", "speech-x4-16k", "--files", "1", "--decimations", "iir", "fir",
            "--out", str(out)]  # fmt: skip
    assert low_band.main(argv) == 0
    report = (out / "low_band.md").read_text()
    assert "## Decision" in report and "method='fir'" in report
    assert "| off (network output) |" in report and "| **0.75 (width 0.1)** |" in report
