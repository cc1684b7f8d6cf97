"""Smoke runs of scripts/train_pretrained.py (the model zoo) on a tiny collection, so it cannot rot.

The figures mean nothing; the tests check what ships and what does not, what the cards
record, that a finished model is not trained again, that a checkpoint is resumed, and
that the README and docs tables are rendered from the index it writes.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pytest
import soundfile as sf
import torch
from conftest import harmonic_signals

from audiosr import load_model
from audiosr.evaluation import CALIBRATION_GAINS, INPUT_MAKERS, ship_rule
from audiosr.signal import MIX_METHODS

REPO = Path(__file__).resolve().parents[1]
RAVDESS = "CC-BY-NC-SA-4.0 (RAVDESS, Livingstone & Russo 2018)"


@pytest.fixture(scope="module")
def zoo_script():
    spec = importlib.util.spec_from_file_location("train_pretrained", REPO / "scripts" / "train_pretrained.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A MANIFEST.csv folder shaped like ../shared/data: speech at 48 and 16 kHz, piano; three splits."""
    root = tmp_path_factory.mktemp("data")
    files = [
        ("speech/a.flac", 48000, "train", "speech", "CC-BY-4.0 (VCTK)"),
        ("speech/b.flac", 48000, "train", "speech", RAVDESS),
        ("speech/c.flac", 48000, "valid", "speech", "CC-BY-4.0 (VCTK)"),
        ("speech/d.flac", 48000, "test", "speech", "CC-BY-4.0 (VCTK)"),
        ("speech/e.flac", 22050, "test", "speech", "Public domain"),  # below 48 kHz: left out there
        ("speech16k/f.flac", 16000, "train", "speech16k", "CC-BY-4.0 (VoiceBank)"),
        ("piano/g.flac", 44100, "train", "piano", "CC-BY-4.0"),
    ]
    rows = []
    for i, (rel, sr, split, kind, licence) in enumerate(files):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, harmonic_signals(1, int(2.5 * sr), sr=sr, seed=i)[0], sr, subtype="PCM_16")
        rows.append({"path": rel, "sample_rate": sr, "duration_s": "2.5", "license": licence,
                     "speaker_or_piece": f"s{i}", "split": split, "kind": kind})  # fmt: skip
    with open(root / "MANIFEST.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return root


def _run(script, corpus, out, work, *names, extra=()):
    argv = ["--data", str(corpus), "--smoke", "--minutes", "0.02", "--out", str(out), "--work", str(work)]
    return script.main([*argv, *extra, "--only", *names])


def test_specs_cover_the_zoo(zoo_script):
    rates = {(s["sr"] // s["rate"], s["sr"]) for s in zoo_script.SPECS.values()}
    assert rates == {(8000, 16000), (4000, 16000), (16000, 48000), (24000, 48000), (12000, 48000), (8000, 48000),
                     (22050, 44100), (11025, 44100)}  # fmt: skip
    assert {"speech-x4-16k", "speech-x4-48k", "piano-x4-44k"} <= set(zoo_script.SPECS)  # the first names stay
    for name, spec in zoo_script.SPECS.items():
        assert name == f"{spec['kinds'][0]}-x{spec['rate']}-{spec['sr'] // 1000}k"
    assert zoo_script.OVERRIDES == {}  # the library's defaults are the recipe


def test_smoke_run_ships_records_reuses_and_resumes(zoo_script, corpus, tmp_path, capsys):
    out, work = tmp_path / "out", tmp_path / "work"
    assert _run(zoo_script, corpus, out, work, "speech-x3-48k", "speech-x2-16k") == 0
    log = capsys.readouterr().out
    assert "[speech-x3-48k] " in log and "training from scratch" in log
    index = json.loads((out / "index.json").read_text())
    assert set(index) == {"speech-x3-48k", "speech-x2-16k"}
    for name, meta in index.items():
        # The verdict is the ship rule's on the recorded figures, and the weights follow it.
        assert meta["shipped"] == (not meta["ship_rule"]["failures"]) == (not ship_rule(meta["test"]["makers"]))
        assert (out / f"{name}.pt").exists() == meta["shipped"]
        assert list(meta["test"]["makers"]) == list(INPUT_MAKERS) == meta["ship_rule"]["makers"]
        assert list(meta["validation"]["makers"]) == list(INPUT_MAKERS)
        # The output settings were chosen on the validation split among the candidates, and are what ships.
        calibration = meta["validation"]["calibration"]
        tried = [(c["keep_low_band"], c["high_band_gain"]) for c in calibration["candidates"]]
        assert tried == [(c, g) for c in zoo_script.CROSSOVERS for g in CALIBRATION_GAINS]
        chosen = (calibration["keep_low_band"], calibration["high_band_gain"])
        assert chosen in tried and calibration["split"] == "valid"
        passing = [c["lsd"] for c in calibration["candidates"] if c["passes"]]
        if passing:
            assert calibration["candidates"][tried.index(chosen)]["lsd"] == min(passing)
        if meta["shipped"]:
            shipped = load_model(out / f"{name}.pt")
            assert (shipped.keep_low_band, shipped.high_band_gain) == chosen
        for row in meta["test"]["makers"].values():
            assert set(row) == {"model", "sinc"} and set(row["model"]) == {"snr", "lsd", "lsd_hf"}
        assert meta["test"]["scores"]["DualBranchSR"] == meta["test"]["makers"]["iir"]["model"]
        assert set(meta["test"]["scores"]) == {"DualBranchSR", "sinc", "spline"}
        assert meta["trained_on"]["input_makers"] == list(MIX_METHODS)
        assert meta["trained_on"]["cutoff"] == list(zoo_script.CUTOFF)
        training = meta["training"]
        assert training["command"].endswith(f"--minutes 0.02 --only {name} --smoke")
        assert training["budget_minutes"] == 0.02 and training["epochs"] > 0 and training["smoke"]
        assert training["weights_dtype"] == "float16"  # a tiny change: the smaller file ships
        assert max(training["float16"]["change"].values()) <= min(zoo_script.FLOAT16_TOLERANCE.values())
    x3, x2 = index["speech-x3-48k"], index["speech-x2-16k"]
    assert (x3["input_sr"], x3["output_sr"], x3["rate"]) == (16000, 48000, 3)
    # At 48 kHz only the 48 kHz files count: neither the 16 kHz folder nor the 22.05 kHz test file.
    assert x3["trained_on"]["kinds"] == ["speech"] and x3["trained_on"]["files"] == 2
    assert (x3["test"]["files"], x3["validation"]["files"]) == (1, 1)
    assert x2["trained_on"]["kinds"] == ["speech", "speech16k"] and x2["trained_on"]["files"] == 3
    assert x2["test"]["files"] == 2
    for meta in (x3, x2):  # RAVDESS is in both training sets
        assert RAVDESS in meta["trained_on"]["licences"] and meta["non_commercial"]
        assert "non-commercial" in meta["licence_note"]
    if x3["shipped"]:
        model = load_model(out / "speech-x3-48k.pt")
        assert model.metadata_ == x3 and model.rate_ == 3
        assert next(model.module_.parameters()).dtype == torch.float32

    # A finished model in the work folder is checked again, not trained again.
    first = load_model(work / "speech-x3-48k.pt")
    assert _run(zoo_script, corpus, out, work, "speech-x3-48k") == 0
    assert "finished model found" in capsys.readouterr().out
    # A run killed after its checkpoint resumes there (here: with nothing left of the budget).
    (work / "speech-x3-48k.pt").unlink()
    assert _run(zoo_script, corpus, out, work, "speech-x3-48k") == 0
    assert "training resuming after epoch" in capsys.readouterr().out
    again = load_model(work / "speech-x3-48k.pt")
    for key, value in first.module_.state_dict().items():
        torch.testing.assert_close(again.module_.state_dict()[key], value, rtol=0, atol=0)
    assert json.loads((out / "index.json").read_text()).keys() == index.keys()  # entries replaced, none lost


def test_a_finished_model_of_another_recipe_is_refused_and_the_others_go_on(
    zoo_script, corpus, tmp_path, monkeypatch, capsys
):
    out, work = tmp_path / "out", tmp_path / "work"
    assert _run(zoo_script, corpus, out, work, "speech-x2-16k") == 0
    before = (out / "index.json").read_text()
    monkeypatch.setattr(zoo_script, "OVERRIDES", {"dropout": 0.2})
    assert _run(zoo_script, corpus, out, work, "speech-x2-16k", "speech-x4-16k") == 1
    log = capsys.readouterr().out
    assert "[speech-x2-16k] ERROR, nothing written for it: ValueError:" in log
    assert "trained with other parameters (dropout): delete it and" in log
    assert "failed: speech-x2-16k" in log
    index = json.loads((out / "index.json").read_text())
    assert index["speech-x2-16k"] == json.loads(before)["speech-x2-16k"]  # untouched
    assert index["speech-x4-16k"]["training"]["overrides"] == {"dropout": 0.2}


def test_a_model_that_fails_the_rule_is_not_shipped(zoo_script, corpus, tmp_path, monkeypatch, capsys):
    out, work = tmp_path / "out", tmp_path / "work"
    out.mkdir()
    (out / "speech-x3-48k.pt").write_bytes(b"an older model")
    monkeypatch.setattr(zoo_script, "ship_rule", lambda scores: {"soxr_hq": "SNR 1.00 dB is 9.00 dB below sinc's"})
    monkeypatch.setattr(zoo_script, "FLOAT16_TOLERANCE", {"snr": -1.0, "lsd": -1.0, "lsd_hf": -1.0})
    assert _run(zoo_script, corpus, out, work, "speech-x3-48k") == 0
    assert "NOT SHIPPED: soxr_hq: SNR 1.00 dB is 9.00 dB below sinc's" in capsys.readouterr().out
    assert not (out / "speech-x3-48k.pt").exists()  # the older weights go too
    meta = json.loads((out / "index.json").read_text())["speech-x3-48k"]
    assert meta["shipped"] is False
    assert meta["ship_rule"]["failures"] == {"soxr_hq": "SNR 1.00 dB is 9.00 dB below sinc's"}
    assert meta["training"]["weights_dtype"] == "float32"  # float16 changed the figures too much
    # The README and docs tables say why, from the index.
    readme, page = tmp_path / "README.md", tmp_path / "pretrained.rst"
    shutil.copy(REPO / "README.md", readme)
    shutil.copy(REPO / "docs" / "user_guide" / "pretrained.rst", page)
    assert zoo_script.main(["--render", "--out", str(out), "--readme", str(readme), "--docs-page", str(page)]) == 0
    assert "rewrote" in capsys.readouterr().out
    row = next(line for line in readme.read_text().splitlines() if line.startswith("| `speech-x3-48k`"))
    assert "not shipped (`soxr_hq`: SNR 1.00 dB is 9.00 dB below sinc's)" in row
    assert "`piano-x4-44k`" not in readme.read_text()  # only what --out's index holds
    assert "fails: SNR 1.00 dB is 9.00 dB below sinc's" in page.read_text()


def test_bad_arguments(zoo_script, capsys):
    for argv, message in (
        (["--only", "speech-x5-48k"], "invalid choice"),
        (["--minutes", "0"], "--minutes must be a positive number"),
        (["--threads", "0"], "--threads must be >= 1"),
    ):
        with pytest.raises(SystemExit):
            zoo_script.main(argv)
        assert message in capsys.readouterr().err
