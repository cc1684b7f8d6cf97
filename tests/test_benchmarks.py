"""Smoke runs of the benchmark scripts on a tiny budget, so they cannot rot.

The figures they produce here mean nothing; the tests check that every cell runs,
that the outputs are written in the documented layout, and that a second run
resumes from the saved cells and models instead of training again.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import re
import shutil
import subprocess
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
    files += [("speech/spk9.flac", 16000, "spk9", "valid", "speech")]
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
    # The paper's figures and verdict beside each block it has, and a word where it has none.
    assert report.count("**Against the paper**") == 3 and quality.NO_PAPER["piano-44k"] in report
    assert all((out / f"quality_{d}.png").stat().st_size > 0 for d in quality.DATASETS)
    assert (out / "quality_env.json").exists()

    # A second run finds every cell and trains nothing; --reevaluate re-scores saved models.
    capsys.readouterr()
    models = {p: p.stat().st_mtime_ns for p in (work / "models").glob("*.pt")}
    assert quality.main(argv) == 0
    assert f"{len(expected)} cells done, 0 to run" in capsys.readouterr().out
    assert quality.main(argv + ["--datasets", "speech-single", "--rows", "DualBranchSR", "--reevaluate"]) == 0
    assert {p: p.stat().st_mtime_ns for p in models} == models

    # The cells go with the report (committed): without the work folder (a clean clone, another
    # session) the run trains nothing and writes the same table.
    assert (out / "quality_cells" / "run.json").exists() and not (work / "cells").exists()
    table = (out / "quality.csv").read_text()
    shutil.move(work, tmp_path / "work-elsewhere")
    capsys.readouterr()
    assert quality.main(argv) == 0
    assert f"{len(expected)} cells done, 0 to run" in capsys.readouterr().out
    assert (out / "quality.csv").read_text() == table
    shutil.move(tmp_path / "work-elsewhere", work)

    # The LSD investigation reads the saved models and trains its own variants.
    investigation = _script("lsd_investigation")
    investigation.main(["--data", str(tiny_corpus), "--work", str(work), "--out", str(out), "--diagnose",
                        "--weights", "0", "0.01", "--budget-minutes", "0.002", "--table-minutes", "0.003"])  # fmt: skip
    report = (out / "lsd_investigation.md").read_text()
    assert "| DualBranchSR time-only |" in report and "| DualBranchSR | True | 0.01 |" in report


def test_quality_scores_inputs_made_by_other_tools(tiny_corpus, tmp_path, capsys):
    quality = _script("quality")
    work, out = tmp_path / "work", tmp_path / "results"
    argv = ["--data", str(tiny_corpus), "--smoke", "--budget-minutes", "0.003", "--rates", "4",
            "--datasets", "speech-single", "--rows", "Spline", "DualBranchSR", "--work", str(work), "--out", str(out)]  # fmt: skip
    assert quality.main(argv) == 0
    assert not (out / "quality_inputs.csv").exists() and "Input made by" not in (out / "quality.md").read_text()
    with open(out / "quality.csv") as fh:
        main_table = [(c["row"], c["snr"], c["lsd"], c["lsd_hf"]) for c in csv.DictReader(fh)]

    # Asking for more input makers re-scores the saved cells without training them again.
    model = next((work / "models").glob("*.pt"))
    mtime = model.stat().st_mtime_ns
    capsys.readouterr()
    assert quality.main(argv + ["--input-methods", "iir", "poly", "soxr_hq", "fft"]) == 0
    assert "0 cells done, 2 to run" in capsys.readouterr().out
    assert model.stat().st_mtime_ns == mtime
    with open(out / "quality.csv") as fh:  # the main table keeps the protocol's input
        assert [(c["row"], c["snr"], c["lsd"], c["lsd_hf"]) for c in csv.DictReader(fh)] == main_table
    with open(out / "quality_inputs.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert {(r["row"], r["input"]) for r in rows} == {
        (row, m) for row in ("Spline", "DualBranchSR") for m in ("iir", "poly", "soxr_hq", "fft")
    }
    assert np.isfinite([float(r[k]) for r in rows for k in ("snr", "lsd", "lsd_hf")]).all()
    report = (out / "quality.md").read_text()
    assert "## Input made by other tools" in report and "| rate | method | iir | poly | soxr_hq | fft |" in report
    capsys.readouterr()
    assert quality.main(argv + ["--input-methods", "poly"]) == 0  # all scored already
    assert "2 cells done, 0 to run" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        quality.main(argv + ["--input-methods", "cheby"])


def test_quality_cells_carry_their_budget_and_reuse_the_learning_curves_models(tiny_corpus, tmp_path, capsys):
    quality, curves = _script("quality"), _script("learning_curves")
    work, out = tmp_path / "work", tmp_path / "results"
    common = ["--data", str(tiny_corpus), "--smoke", "--work", str(work), "--out", str(out), "--rates", "4",
              "--datasets", "speech-multi", "--rows", "AudioUNet", "DualBranchSR"]  # fmt: skip
    # The learning curves train the ablation cell's rows with the same pairs, seed and budget ...
    curves_argv = ["--data", str(tiny_corpus), "--smoke", "--minutes", "0.004", "--jobs", "1",
                   "--rows", "DualBranchSR.recipe both branches", "--work", str(work), "--out", str(out)]  # fmt: skip
    assert curves.main(curves_argv) == 0
    trained = next((work / "curves").glob("dualbranchsr.recipe-both-branches-0.004min-*.pt"))
    mtime = trained.stat().st_mtime_ns
    # ... so quality.py scores that model instead of training it again; AudioUNet has no curve cell yet.
    capsys.readouterr()
    assert quality.main(common + ["--budget-minutes", "0.003", "--ablation-minutes", "0.004"]) == 0
    printed = capsys.readouterr().out
    assert "0 cells done, 2 to run" in printed
    assert not quality.saved_models(work, "speech-multi", 4, "DualBranchSR", 0.004)
    assert len(quality.saved_models(work, "speech-multi", 4, "AudioUNet", 0.004)) == 1
    with open(out / "quality.csv") as fh:
        rows = {c["row"]: c for c in csv.DictReader(fh)}
    assert rows["DualBranchSR"]["trained_by"] == "learning_curves.py" and rows["AudioUNet"]["trained_by"] == ""
    assert rows["DualBranchSR"]["budget_minutes"] == rows["AudioUNet"]["budget_minutes"] == "0.004"
    assert trained.stat().st_mtime_ns == mtime
    report = (out / "quality.md").read_text()
    assert "**0.004** in the speech-multi ×4 cell" in report and "(trained by learning_curves.py)" in report

    # Another budget is another cell: nothing of the first run is taken for it.
    capsys.readouterr()
    assert quality.main(common + ["--budget-minutes", "0.003", "--ablation-minutes", "0.005"]) == 0
    assert "0 cells done, 2 to run" in capsys.readouterr().out
    # A curve model of other parameters is not taken either (here: another seed's row definition).
    assert quality.trained_by_curves("speech-multi", 4, "DualBranchSR time-only", 0.004,
                                     quality.argparse.Namespace(work=str(work), smoke=True)) is None  # fmt: skip
    assert quality.trained_by_curves("speech-multi", 4, "DualBranchSR", 0.004,
                                     quality.argparse.Namespace(work=str(work), smoke=False)) is None  # fmt: skip


def test_quality_sets_the_papers_figures_and_a_verdict_beside_each_block():
    quality = _script("quality")
    cells = {
        ("speech-multi", 4, "Bicubic"): {"snr": 13.0, "lsd": 2.4},
        ("speech-multi", 4, "SpectralDNN"): {"snr": 12.5, "lsd": 1.0},
        ("speech-multi", 4, "AudioUNet"): {"snr": 14.2, "lsd": 1.9},
        ("speech-multi", 4, "DualBranchSR"): {"snr": 14.0, "lsd": 1.05},
        ("speech-multi", 8, "Bicubic"): {"snr": 7.7, "lsd": 2.9},
        ("speech-multi", 8, "DualBranchSR"): {"snr": 8.0, "lsd": 1.4},
    }
    table = quality.paper_table("speech-multi", [4, 6, 8])
    assert table[0].startswith("| rate | Bicubic | Li et al. (SpectralDNN) | Kuleshov et al. (AudioUNet) |")
    assert table[2] == "| ×4 | 13 / 14.9 | 14.9 / 5.8 | 16.1 / 3.5 | 17.5 / 1.27 |"
    assert table[3] == "| ×6 | 9.1 / 10.1 | — | 10 / 3.7 | — |" and len(table) == 5
    (sentence,) = quality.agreement(cells, "speech-multi", [4, 6, 8])
    assert "×4 TFNet +4.5 → +1.00 dB" in sentence and "×4 Li et al. +1.9 → -0.50 dB" in sentence
    assert "×8 TFNet +3.3 → +0.30 dB" in sentence and "×6" not in sentence  # no ×6 cells were scored
    assert "SNR order, best first, is TFNet, Kuleshov et al., Li et al.: ours is Kuleshov et al., TFNet, Li et al." in sentence
    assert "LSD order, best first, is TFNet, Kuleshov et al., Li et al.: ours is Li et al., TFNet, Kuleshov et al." in sentence
    assert sentence.endswith("Kuleshov et al.")  # one full stop, not two
    cells[("speech-multi", 4, "SpectralDNN")]["lsd"] = 2.0
    cells[("speech-multi", 4, "AudioUNet")]["lsd"] = 1.5
    assert "Li et al.: ours too" in quality.agreement(cells, "speech-multi", [4])[0]
    assert quality.paper_table("piano-44k", [4]) == [] and quality.agreement(cells, "piano-44k", [4]) == []


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
    for name in speed.CLASSICAL + ("SpectralDNN", "AudioUNet", "DualBranchSR", "DualBranchSR.recipe(4)"):
        assert 10 < float(rows[name]["long_peak_mb"]) < 4000
    report = (out / "speed.md").read_text()
    assert "| Sinc |" in report and report.count(speed.CONTENTION_HEADING) == 1
    assert "| DualBranchSR() default | 16 kHz | audiosr: 2 workers x 1 thread |" in report
    assert "**Targets** (default DualBranchSR, 1 threads)" in report and "AP-BWE" in report
    assert report.count(speed.STREAMING_HEADING) == 1 and "| DualBranchSR() default | 4000 -> 16000 |" in report
    assert "| DualBranchSR() default | 16 kHz | audiosr: 2 workers x 1 thread |" in report
    assert "**Targets** (default DualBranchSR, 1 threads)" in report and "AP-BWE" in report
    assert report.count(speed.STREAMING_HEADING) == 1 and "| DualBranchSR() default | 4000 -> 16000 |" in report


def test_speed_contention_alone_replaces_its_section_and_ends_the_busy_process(tmp_path, monkeypatch):
    import os

    speed = _script("speed")
    out = tmp_path / "results"
    out.mkdir()
    old_section = f"{speed.CONTENTION_HEADING}\n\nfigures of an earlier run\n"
    (out / "speed.md").write_text(f"# Speed and memory on the CPU\n\n| table | kept |\n\n{old_section}")
    started = []

    class Watched(speed.BusyProcess):
        def __enter__(self):
            started.append(super().__enter__())
            assert started[-1].poll() is None  # spinning while timed
            return started[-1]

    monkeypatch.setattr(speed, "BusyProcess", Watched)
    speed.main(["--only", "contention", "--smoke", "--seconds", "0.25", "--repeats", "1", "--out", str(out)])
    report = (out / "speed.md").read_text()
    assert report.startswith("# Speed and memory on the CPU\n\n| table | kept |\n")
    assert report.count(speed.CONTENTION_HEADING) == 1 and "earlier run" not in report  # replaced, not added
    assert "Load average (1, 5, 15 min) before the run:" in report
    with open(out / "speed_contention.csv") as fh:
        rows = list(csv.DictReader(fh))
    policies = [policy for policy, _, _ in speed.POLICIES]
    assert [(r["output_sr"], r["policy"]) for r in rows] == [(sr, p) for sr in ("16000", "48000") for p in policies]
    assert all(float(r["rtf_idle"]) > 0 and float(r["rtf_busy"]) > 0 for r in rows)
    assert len(started) == len(rows) + 1  # busy once per row, and once for the command
    assert "**`audiosr upsample`**" in report
    for proc in started:
        assert proc.returncode is not None  # killed and reaped
        with pytest.raises(ProcessLookupError):
            os.kill(proc.pid, 0)


def test_speed_onnx_alone_replaces_its_section_and_keeps_the_others(tmp_path):
    pytest.importorskip("onnxscript")
    pytest.importorskip("onnxruntime")
    speed = _script("speed")
    out = tmp_path / "results"
    out.mkdir()
    contention = f"{speed.CONTENTION_HEADING}\n\ncontention figures\n"
    (out / "speed.md").write_text(
        f"# Speed and memory on the CPU\n\n| table | kept |\n\n{speed.ONNX_HEADING}\n\nold onnx figures\n\n{contention}"
    )
    speed.main(["--only", "onnx", "--smoke", "--seconds", "0.5", "--repeats", "1", "--out", str(out)])
    report = (out / "speed.md").read_text()
    assert report.startswith("# Speed and memory on the CPU\n\n| table | kept |\n")
    assert report.count(speed.ONNX_HEADING) == 1 and "old onnx figures" not in report  # replaced, not added
    assert report.endswith(contention)  # the section after it is kept
    with open(out / "speed_onnx.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["model"], int(r["threads"])) for r in rows] == [("speech-x4-16k", 1), ("speech-x4-16k", 2)]
    assert all(float(r["rtf_torch"]) > 0 and float(r["rtf_onnx"]) > 0 for r in rows)
    assert all(float(r["max_abs_diff"]) < 1e-4 for r in rows)
    assert "| speech-x4-16k | 2 |" in report


def test_input_makers_smoke_run(tiny_corpus, tmp_path):
    input_makers = _script("input_makers")
    out = tmp_path / "results"
    argv = ["--data", str(tiny_corpus), "--models", "speech-x4-16k", "--methods", "iir", "soxr_hq",
            "--max-files", "1", "--clip-seconds", "0.5", "--diagnose-files", "1", "--out", str(out)]  # fmt: skip
    assert input_makers.main(argv) == 0
    with open(out / "input_makers.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert {(r["input"], r["upsampler"]) for r in rows} == {
        (m, u) for m in ("iir", "soxr_hq") for u in ("model", "sinc", "spline")
    }
    assert np.isfinite([float(r[k]) for r in rows for k in ("snr", "lsd", "lsd_hf")]).all()
    report = (out / "input_makers.md").read_text()
    assert "python benchmarks/input_makers.py --data" in report
    assert "## speech-x4-16k (4000 Hz → 16000 Hz)" in report and "| `soxr_hq` |" in report
    assert "| input made by | model 0–0.8 | model 0.8–1 | model > 1 | sinc 0–0.8 |" in report


def test_low_band_smoke_run_writes_the_report(tiny_corpus, tmp_path):
    low_band = _script("low_band")
    out = tmp_path / "results"
    argv = ["--data", str(tiny_corpus), "--models", "speech-x4-16k", "--files", "1", "--decimations", "iir", "fir",
            "--out", str(out)]  # fmt: skip
    assert low_band.main(argv) == 0
    report = (out / "low_band.md").read_text()
    assert "## Decision" in report and "method='fir'" in report
    assert "| off (network output) |" in report and "| **0.75 (width 0.1)** |" in report


def test_streaming_smoke_run_writes_the_report(tmp_path):
    streaming = _script("streaming")
    streaming.main(["--seconds", "1.5", "--repeats", "1", "--block-seconds", "0.05", "--out", str(tmp_path)])
    report = (tmp_path / "streaming.md").read_text()
    rows = [line for line in report.splitlines() if line.startswith("| speech") or line.startswith("| sinc")]
    assert [row.split(" | ")[0] for row in rows] == ["| speech-x4-16k", "| speech-x4-48k", "| sinc"]
    # The 16 kHz model: 256-sample blocks and 768 of context at 4 kHz.
    # The block, context and latency of the shipped model (they follow its crossover and gain).
    assert re.search(r"\| speech-x4-16k \| 4000 -> 16000 \| \d+\.\d \| \d+\.\d \| \d+ \|", report)


def test_architecture_smoke_run_resumes_and_rescores(tiny_corpus, tmp_path):
    architecture = _script("architecture")
    work, out = tmp_path / "work", tmp_path / "results"
    argv = ["--data", str(tiny_corpus), "--smoke", "--budget-minutes", "0.003", "--spectral-loss", "0",
            "--configs", "sinc", "former", "fast", "--work", str(work), "--out", str(out)]  # fmt: skip
    architecture.main(argv)
    report = (out / "architecture_sl0.md").read_text()
    for name in ("sinc", "former", "fast"):
        assert f"| **{name}**" in report
    cells = sorted(p.name for p in (work / "arch").glob("*.json"))
    assert cells == ["fast-0.003min-sl0.json", "former-0.003min-sl0.json", "sinc-0.003min.json"]
    stamp = (work / "arch" / "fast-0.003min-sl0.pt").stat().st_mtime_ns
    architecture.main([*argv, "--rescore"])  # scores the saved models again, trains nothing
    assert (work / "arch" / "fast-0.003min-sl0.pt").stat().st_mtime_ns == stamp
    assert "Scored again (`--rescore`)" in (out / "architecture_sl0.md").read_text()


def test_paper_gpu_packs_and_runs_on_the_cpu(tiny_corpus, tmp_path):
    paper_gpu = _script("paper_gpu")
    packed, out = tmp_path / "packed", tmp_path / "results"
    paper_gpu.main(["--data", str(tiny_corpus), "--smoke", "--pack", str(packed)])
    assert sorted(p.name for p in (packed / "test").glob("*.flac")) == ["spk2.flac"]
    paper_gpu.main(["--packed", str(packed), "--smoke", "--budget-minutes", "0.003", "--device", "cpu", "--out", str(out)])
    report = (out / "paper_gpu.md").read_text()
    assert "| DualBranchSR.paper(4) |" in report and "| AudioUNet.paper(4) |" in report


def test_learning_curves_smoke_run_writes_tables_and_plots_and_resumes(tiny_corpus, tmp_path, capsys):
    curves = _script("learning_curves")
    work, out = tmp_path / "work", tmp_path / "results"
    argv = ["--data", str(tiny_corpus), "--smoke", "--minutes", "0.002", "0.004", "--leading-minutes", "0.006",
            "--jobs", "1", "--work", str(work), "--out", str(out)]  # fmt: skip
    assert curves.main(argv) == 0
    # The records go with the report (committed); the models and checkpoints stay in the work folder.
    assert not [p for p in (work / "curves").glob("*.json") if not p.name.endswith(".train.json")]
    cells = [json.loads(p.read_text()) for p in (out / "curves").glob("*.json")]
    expected = {("Sinc", 0.0)} | {(row, m) for row in curves.ROWS if row not in curves.CANDIDATES for m in (0.002, 0.004)}
    expected |= {(row, 0.006) for row in curves.LEADING}
    assert {(c["row"], c["minutes"]) for c in cells} == expected
    for c in cells:
        assert np.isfinite([c[k] for k in ("snr", "lsd", "lsd_hf", "lsd_active")]).all()
        if c["row"] != "Sinc":
            assert c["epochs"] > 0 and c["params"] > 0
        bands = c["bands"]
        assert len(bands["error"]) == len(bands["reference"]) == len(bands["edges"]) - 1
        assert bands["edges"][-1] == curves.RATE and abs(sum(bands["reference"]) - 100) < 1e-3
    # Sinc leaves the band above the input's Nyquist frequency empty: its error there is the reference itself.
    sinc = next(c["bands"] for c in cells if c["row"] == "Sinc")
    above = [i for i, lo in enumerate(sinc["edges"][:-1]) if lo >= 1.1]
    assert np.allclose([sinc["error"][i] for i in above], [sinc["reference"][i] for i in above], rtol=0.05)
    report = (out / "learning_curves.md").read_text()
    assert "## Where the error lies, at 0.006 minutes" in report  # the longest budget with two rows
    for row in (r for r in curves.ROWS if r not in curves.CANDIDATES):
        assert f"## {row}" in report
    assert "--minutes 0.002 0.004 --leading-minutes 0.006 --jobs 1 --threads 1" in report
    assert "Machine:" in report and "windowed-sinc" in report
    assert all((out / f"learning_curves_{m}.png").stat().st_size > 0 for m in curves.METRICS)
    assert len(list((work / "curves").glob("*.ckpt"))) == len(expected) - 1  # a checkpoint per trained cell

    # A second run finds every cell and trains nothing; a lost record is scored again from the saved model.
    models = {p: p.stat().st_mtime_ns for p in (work / "curves").glob("*.pt")}
    cell = next((out / "curves").glob("audiounet-0.002min-*.json"))
    before = json.loads(cell.read_text())
    cell.unlink()
    assert curves.main(argv) == 0
    assert {p: p.stat().st_mtime_ns for p in (work / "curves").glob("*.pt")} == models
    assert json.loads(cell.read_text())["epochs"] == before["epochs"]

    # A clean clone has the records and not the models: --no-train rewrites the same report from them.
    report = (out / "learning_curves.md").read_text()
    shutil.rmtree(work)
    assert curves.main(argv + ["--no-train"]) == 0
    assert not work.exists() or not list((work / "curves").glob("*.pt"))
    rewritten = (out / "learning_curves.md").read_text()
    assert "Not run yet" not in rewritten
    assert [line for line in rewritten.splitlines() if line.startswith("| ")] == [
        line for line in report.splitlines() if line.startswith("| ")
    ]

    # An edited recipe is a new row definition: its cells get new names.
    old = curves.stem("DualBranchSR recipe", 2)
    curves.ROWS["DualBranchSR recipe"] = ("DualBranchSR", {"stft_loss": 1.0}, "edited")
    try:
        assert curves.stem("DualBranchSR recipe", 2) != old
    finally:
        curves.ROWS["DualBranchSR recipe"] = ("DualBranchSR", curves.RECIPE, "restored")


def test_artifact_measures_find_a_line_the_reference_lacks():
    artifacts = _script("artifacts")
    sr, rate = 16000, 4  # input Nyquist 2 kHz: tile edges at 2, 4, 6 and 8 kHz
    rng = np.random.default_rng(0)
    refs = [rng.standard_normal(3 * sr) for _ in range(2)]
    t = np.arange(3 * sr) / sr
    outs = [y + 0.5 * np.sin(2 * np.pi * 6000 * t) for y in refs]  # a line at the third edge, ~20 dB up
    freqs, ref_power = artifacts.long_term_spectrum(refs, sr, n_fft=1024)
    _, out_power = artifacts.long_term_spectrum(outs, sr, n_fft=1024)
    ratio_ref, ratio_out = artifacts.peak_to_neighbourhood(ref_power), artifacts.peak_to_neighbourhood(out_power)
    (top, *_) = artifacts.excess_peaks(freqs, ratio_out, ratio_ref, min_freq=2000)
    assert top["freq"] == 6000.0 and top["excess_db"] > 10
    edges = artifacts.tile_edges(freqs, ratio_out, ratio_ref, 2000, rate)
    assert [e["k"] for e in edges] == [1, 2, 3, 4]
    assert edges[2]["freq"] == 6000.0 and edges[2]["excess_db"] > 10
    assert all(abs(e["excess_db"]) < 3 for e in edges if e["k"] not in (3, 4))  # noise is flat
    assert artifacts.nearest_multiple(6010.0, 2000) == (3, 10.0)
    with pytest.raises(ValueError, match="n_fft"):
        artifacts.long_term_spectrum([np.zeros(100)], sr, n_fft=1024)


def test_zoo_cross_domain_scores_models_on_the_kinds_they_did_not_see(tiny_corpus, tmp_path):
    cross = _script("zoo_cross_domain")
    assert cross.other_kinds(["speech", "speech16k"]) == ["piano", "music"]
    assert cross.other_kinds(["piano"]) == ["speech", "music"]
    out = tmp_path / "results"
    argv = ["--data", str(tiny_corpus), "--models", "speech-x4-16k", "piano-x4-44k", "--files", "1", "--out", str(out)]
    assert cross.main(argv) == 0
    report = (out / "zoo_cross_domain.md").read_text()
    # The speech model on the piano file (resampled to 16 kHz); the piano model has no
    # speech recorded at 44.1 kHz here, and no one has music: both skipped, not failed.
    rows = [line for line in report.splitlines() if line.startswith("| speech-") or line.startswith("| piano-")]
    assert len(rows) == 1 and rows[0].startswith("| speech-x4-16k | speech, speech16k | piano | 1 |")
    assert rows[0].endswith("passes |") or "fails on" in rows[0]


def test_tonal_excess_finds_lines_on_the_grid_and_nothing_in_noise():
    artifacts = _script("artifacts")
    sr, rate = 16000, 4  # input rate 4000 Hz: the grid is every 500 Hz, scored from 2120 Hz up
    rng = np.random.default_rng(0)
    t = np.arange(4 * sr) / sr
    refs = [rng.standard_normal(len(t)) for _ in range(3)]
    noise = [rng.standard_normal(len(t)) for _ in range(3)]
    tones = sum(0.3 * np.cos(2 * np.pi * f * t) for f in range(2500, 8000, 500))
    clean = artifacts.tonal_excess(refs, noise, sr, rate)
    lined = artifacts.tonal_excess(refs, [x + tones for x in noise], sr, rate)
    assert abs(clean["lines_grid"]) < 2 and lined["lines_grid"] > 10
    assert lined["lines_top"] > 10 and lined["lines_top"] > clean["lines_top"] + 5
    # Lines off the grid count in the top 10 only.
    off = sum(0.3 * np.cos(2 * np.pi * f * t) for f in range(2750, 8000, 500))
    shifted = artifacts.tonal_excess(refs, [x + off for x in noise], sr, rate)
    assert shifted["lines_grid"] < 2 and shifted["lines_top"] > 10


class _PeriodicUpsampler:
    """Zero-insertion up-sampling plus a pattern that repeats every ``period`` input samples."""

    def __init__(self, rate, period):
        self.rate, self.period = rate, period

    def transform(self, X):
        out = np.zeros((X.shape[0], X.shape[1] * self.rate))
        out[:, :: self.rate] = X
        steps = np.arange(out.shape[1]) // self.rate  # the input sample each output sample belongs to
        return out + (steps % self.period == 0)


def test_shift_averaging_cancels_a_periodic_pattern_and_keeps_a_time_invariant_upsampler():
    artifacts = _script("artifacts")
    from audiosr import SincUpsampler

    x = np.random.default_rng(0).standard_normal((1, 512))
    periodic = _PeriodicUpsampler(rate=4, period=8)
    pattern = periodic.transform(np.zeros_like(x))
    averaged = artifacts.ShiftAveraged(periodic, 4, 8).transform(np.zeros_like(x))
    assert pattern.std() > 0.3 and np.ptp(averaged[0, 64:-64]) < 1e-12  # 8 shifts: one level, no pattern
    sinc = SincUpsampler(rate=4)
    np.testing.assert_allclose(artifacts.ShiftAveraged(sinc, 4, 3).transform(x)[0, 200:-200],
                               sinc.transform(x)[0, 200:-200], atol=1e-6)  # fmt: skip


def test_artifacts_smoke_run_writes_the_report(tiny_corpus, tmp_path):
    artifacts = _script("artifacts")
    out = tmp_path / "results"
    argv = ["--data", str(tiny_corpus), "--models", "piano-x4-44k", "--files", "1", "--n-fft", "1024",
            "--shifts", "2", "--out", str(out)]  # fmt: skip
    assert artifacts.main(argv) == 0
    report = (out / "artifacts.md").read_text()
    assert "## piano-x4-44k" in report and "spline interpolation" in report and "overlap 0.3" in report
    assert "| piano-x4-44k, mean over 2 input shifts |" in report and "--shifts 2" in report
    assert "k=2: 11025 Hz" in report and "k=4: 22050 Hz" in report and "k=5" not in report
    assert "| lines: grid / top 10 |" in report


def test_learning_curves_candidates_have_their_own_report(tiny_corpus, tmp_path):
    curves = _script("learning_curves")
    work, out = tmp_path / "work", tmp_path / "results"
    rows = ["candidate MR-STFT", "DualBranchSR recipe"]
    argv = ["--data", str(tiny_corpus), "--smoke", "--minutes", "0.002", "--jobs", "1", "--rows", *rows,
            "--name", "recipes", "--work", str(work), "--out", str(out)]  # fmt: skip
    assert curves.main(argv) == 0
    report = (out / "recipes.md").read_text()
    assert "## candidate MR-STFT" in report and "## DualBranchSR recipe" in report and "## AudioUNet" not in report
    assert not (out / "recipes_lsd.png").exists()  # one budget: no curve to draw
    assert not (out / "learning_curves.md").exists()
    assert '--rows "candidate MR-STFT" "DualBranchSR recipe" --name recipes' in report

    # --no-train reports the trained cells and lists the others (other budgets, other seeds) without
    # training them; --makers scores the trained ones on inputs made by other tools, once.
    more = ["--data", str(tiny_corpus), "--smoke", "--minutes", "0.002", "0.004", "--jobs", "1", "--rows", *rows,
            "--name", "recipes", "--work", str(work), "--out", str(out), "--no-train", "--seed", "0", "1",
            "--makers", "iir", "poly"]  # fmt: skip
    before = sorted(p.name for p in (work / "curves").iterdir())
    assert curves.main(more) == 0
    assert sorted(p.name for p in (work / "curves").iterdir()) == before
    report = (out / "recipes.md").read_text()
    assert "Not run yet" in report and "* candidate MR-STFT: 0.004 min; 0.002, 0.004 min (seed 1)" in report
    assert "| 0.002 |" in report and "| 0.004 |" not in report
    assert "## All rows at 0.002 minutes" in report and "| candidate MR-STFT | " in report
    assert "| row | minutes | iir | poly |" in report and "--seed 0 1 --makers iir poly --no-train" in report
    cell = next((out / "curves").glob("candidate-mr-stft-0.002min-*.json"))
    makers = json.loads(cell.read_text())["makers"]
    assert set(makers) == {"iir", "poly"} and all(np.isfinite(list(m.values())).all() for m in makers.values())
    # The protocol's own maker is the cell's main score.
    assert makers["iir"]["snr"] == pytest.approx(json.loads(cell.read_text())["snr"], abs=1e-3)


def test_lsd_floor_smoke_run_writes_the_report(tiny_corpus, tmp_path):
    floor = _script("lsd_floor")
    out = tmp_path / "results"
    assert floor.main(["--data", str(tiny_corpus), "--smoke", "--out", str(out)]) == 0
    report = (out / "lsd_floor.md").read_text()
    rows = {line.split(" | ")[0][2:]: [float(v) for v in line.strip(" |").split(" | ")[1:]]
            for line in report.splitlines() if line.startswith("| ") and "SNR dB" not in line and "---" not in line}  # fmt: skip
    assert list(rows) == list(floor.ORACLES) and np.isfinite(list(rows.values())).all()


def test_band_levels_smoke_run_writes_the_report(tiny_corpus, tmp_path):
    levels = _script("band_levels")
    out = tmp_path / "results"
    argv = ["--data", str(tiny_corpus), "--smoke", "--model", "sinc", "--label", "sinc", "--out", str(out)]
    assert levels.main(argv) == 0
    report = (out / "band_levels.md").read_text()
    assert "# Where the LSD lies: sinc" in report and "| active: bias dB |" in report
    assert "| level-matched on the validation files (" in report and '--label sinc' in report
    # Sinc leaves the band above f_N empty: far too dark there, exact below.
    bias = [float(v) for v in next(l for l in report.splitlines() if l.startswith("| active: bias")).split("|")[2:-1]]
    assert abs(bias[0]) < 0.5 and max(bias[3:]) < -20


def test_postfilter_smoke_run_chooses_on_validation_and_writes_the_report(tiny_corpus, tmp_path):
    from audiosr import AudioUNet, save_model

    post = _script("postfilter")
    y = np.random.default_rng(0).standard_normal((8, 2048))
    model = AudioUNet(rate=4, filters=(4, 8), kernel_sizes=(9, 5), patch_len=256, max_epochs=1, random_state=0)
    save_model(model.fit(y[:, ::4], y), tmp_path / "m.pt")
    out = tmp_path / "results"
    argv = ["--data", str(tiny_corpus), "--smoke", "--models", str(tmp_path / "m.pt"), "--labels", "tiny",
            "--widths", "5", "15", "--edges", "1.0", "--out", str(out), "--name", "pf", "--remove-lines"]  # fmt: skip
    assert post.main(argv) == 0
    report = (out / "pf.md").read_text()
    result = json.loads((out / "pf.json").read_text())["models"][0]
    table = {int(w): v for w, v in result["validation"].items()}
    assert set(table) == {0, 5, 15} and result["chosen"] in table
    # The rule: the lowest LSD among the widths that keep the plain output's SNR.
    kept = [w for w, (s, _) in table.items() if s >= table[0][0]]
    assert result["chosen"] == min(kept, key=lambda w: table[w][1])
    assert "| Sinc |" in report and "| tiny |" in report and "## Validation files: the edge, for tiny" in report
    assert "--widths 5 15" in report and "--smoke" in report
    # --remove-lines: the U-Net's lines subtracted, on the validation files and the test files.
    assert "| tiny, lines removed |" in report and "## Validation files: with the U-Net's lines removed" in report
    assert set(result["lines"]["validation"]) >= {"0"} and "lsd" in result["lines"]["plain"]


def test_postfilter_choice_keeps_the_snr():
    post = _script("postfilter")
    table = {0: (10.0, 1.0), 5: (10.1, 0.95), 15: (9.9, 0.90), 31: (10.0, 0.97)}
    assert post.choose(table) == 5  # 15 has the lowest LSD but loses SNR
    assert post.choose({0: (10.0, 1.0), 5: (9.0, 0.5)}) == 0


@pytest.mark.parametrize("gain_db", [0.0, 6.0, -10.0])
def test_band_levels_gains_move_only_the_bands_above_the_input_nyquist(gain_db):
    levels = _script("band_levels")
    y = np.random.default_rng(0).standard_normal(4 * 16000)
    z = levels.with_band_gains(y, [gain_db] * 4)
    assert z.shape == y.shape
    table = levels.level_table([y], [z])
    bias = table["active"]["bias"]
    np.testing.assert_allclose(bias[:2], 0.0, atol=0.05)  # the band the input keeps, and its filter's edge
    np.testing.assert_allclose(bias[3:], gain_db, atol=0.3)  # well above f_N (the band at f_N mixes by leakage)
    assert abs(sum(table["energy"]) - 100) < 1e-6


def test_lsd_floor_oracles_rank_as_their_knowledge():
    from audiosr.metrics import lsd

    floor = _script("lsd_floor")
    rng = np.random.default_rng(0)
    t = np.arange(4 * 16000) / 16000
    y = rng.standard_normal(t.size) * (1.2 + np.sin(2 * np.pi * 1.5 * t))  # noise with a moving level
    scores = {o: lsd(y, floor.rebuild(y, 4, o, np.random.default_rng(1))) for o in floor.ORACLES}
    # Knowing the exact magnitudes beats knowing a smoothed envelope, which beats a wrong level.
    assert scores["exact envelope, random phase"] < scores["smoothed envelope, noise"] < scores["envelope off by 3 dB"]


def test_lsd_floor_keeps_the_low_band():
    floor = _script("lsd_floor")
    y = np.random.default_rng(0).standard_normal(16000)
    out = floor.rebuild(y, 4, "smoothed envelope, noise", np.random.default_rng(1))
    assert out.shape == y.shape and np.isfinite(out).all()
    low = lambda x: np.abs(np.fft.rfft(x))[200:1500]  # well below the input's Nyquist (bin 2000 of 8000)  # noqa: E731
    np.testing.assert_allclose(low(out), low(y), rtol=0.05, atol=1e-6 * len(y))


def test_lsd_floor_trade_keeps_the_band_it_is_told_and_noise_costs_snr(tiny_corpus, tmp_path):
    from audiosr.metrics import snr

    floor = _script("lsd_floor")
    y = np.random.default_rng(0).standard_normal(4 * 16000)
    energy = lambda x, lo, hi: np.sum(np.abs(np.fft.rfft(x)[lo * 4 : hi * 4]) ** 2)  # noqa: E731  (bins of 0.25 Hz)
    # Exact up to 2 f_N (4 kHz of 8), nothing above.
    cut = floor.rebuild(y, 4, "smoothed envelope, noise", np.random.default_rng(1), exact_to=2.0, gain_db=-np.inf)
    assert energy(cut, 500, 3500) == pytest.approx(energy(y, 500, 3500), rel=0.01)
    assert energy(cut, 4500, 8000) < 1e-4 * energy(y, 4500, 8000)
    snrs = [
        snr(y, floor.rebuild(y, 4, "smoothed envelope, noise", np.random.default_rng(1), exact_to=2.0, gain_db=g))
        for g in (-np.inf, -10.0, 0.0)
    ]
    assert snrs[0] > snrs[1] > snrs[2]  # uncorrelated content costs its own power
    out = tmp_path / "results"
    argv = ["--data", str(tiny_corpus), "--smoke", "--out", str(out), "--exact-to", "1.5", "--gains", "off", "0"]
    assert floor.main(argv) == 0
    report = (out / "lsd_floor.md").read_text()
    assert "| 1.5 f_N | off |" in report and "| 1.5 f_N | 0 |" in report and "--exact-to 1.5" in report


def test_artifacts_refuses_a_model_that_is_not_shipped(tiny_corpus, capsys):
    artifacts = _script("artifacts")
    with pytest.raises(SystemExit):
        artifacts.main(["--data", str(tiny_corpus), "--models", "speech-x9-99k"])
    assert "not shipped models: speech-x9-99k" in capsys.readouterr().err


def test_harmonic_task_runs_and_scores_the_spline_at_0_db_above_the_cutoff(tmp_path):
    task = _script("harmonic_task")
    tones = task.sawtooth_tones(3, seed=0)
    # The spline leaves the high band empty (0 dB there); the reference itself scores perfectly.
    assert task.scores(tones, tones)["high_band_snr"] > 100
    out = tmp_path / "results"
    assert task.main(["--epochs", "1", "--seeds", "0", "--out", str(out), "--name", "h"]) == 0
    report = (out / "h.md").read_text()
    rows = [line for line in report.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == 1 + 1 + len(task.ROWS)  # header, spline, one per model row
    spline = rows[1].split("|")
    assert abs(float(spline[3])) < 0.5  # the spline's high-band SNR is about 0 dB


def test_learning_curves_rows_that_differ_in_output_settings_share_one_training(tiny_corpus, tmp_path):
    curves = _script("learning_curves")
    work, out = tmp_path / "work", tmp_path / "results"
    source, twin = "candidate time-only at the high rate, RMSE + MR-STFT 0.006", "DualBranchSR.recipe time-only"
    argv = ["--data", str(tiny_corpus), "--smoke", "--minutes", "0.004", "--jobs", "1", "--work", str(work),
            "--out", str(out)]  # fmt: skip
    assert curves.trained_twin(twin, 0.004, 0, work / "curves") is None  # nothing trained yet
    assert curves.main(argv + ["--rows", source]) == 0
    trained = work / "curves" / f"{curves.stem(source, 0.004)}.pt"
    assert curves.trained_twin(twin, 0.004, 0, work / "curves") == trained
    assert curves.trained_twin("DualBranchSR.recipe both branches", 0.004, 0, work / "curves") is None
    mtime = trained.stat().st_mtime_ns
    assert curves.main(argv + ["--rows", twin]) == 0
    assert trained.stat().st_mtime_ns == mtime  # not trained again
    record = json.loads((out / "curves" / f"{curves.stem(twin, 0.004)}.json").read_text())
    assert record["twin"] == curves.stem(source, 0.004) and record["epochs"] > 0
    from audiosr import load_model

    model = load_model(work / "curves" / f"{curves.stem(twin, 0.004)}.pt")
    assert model.remove_lines is True and model.high_band_smoothing == 15  # the twin's output settings


def test_git_commit_counts_code_changes_not_the_reports_the_scripts_write(tmp_path, monkeypatch):
    common = _script("_common")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-C", str(tmp_path)]
    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    (tmp_path / "benchmarks" / "script.py").write_text("x = 1\n")
    (tmp_path / "benchmarks" / "results" / "report.md").write_text("old\n")
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "first"], check=True)
    monkeypatch.setattr(common, "HERE", tmp_path / "benchmarks")
    commit, dirty = common.git_commit()
    assert len(commit) == 40 and dirty is False
    (tmp_path / "benchmarks" / "results" / "report.md").write_text("new\n")
    (tmp_path / "benchmarks" / "results" / "figure.png").write_bytes(b"png")
    assert common.git_commit() == (commit, False)
    (tmp_path / "benchmarks" / "script.py").write_text("x = 2\n")
    assert common.git_commit() == (commit, True)
