"""Tests for the shipped pretrained models and their use by the command line."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import torch
from conftest import TINY_ZOO

import audiosr
from audiosr import pretrained
from audiosr.cli import main
from audiosr.evaluation import INPUT_MAKERS, ship_rule
from audiosr.pretrained import _cards

REPO = Path(__file__).resolve().parents[1]

REQUIRED = {"name", "rate", "input_sr", "output_sr", "trained_on", "test", "training", "non_commercial"}


def test_registry_lists_loadable_models_with_metadata():
    names = pretrained.list()
    assert "speech-x4-16k" in names
    for name in names:
        meta = pretrained.info(name)
        assert REQUIRED <= set(meta)
        assert meta["output_sr"] == meta["input_sr"] * meta["rate"]
        assert meta["trained_on"]["licences"], "licences of the training data must be listed"
        scores = meta["test"]["scores"]
        assert scores["DualBranchSR"]["lsd"] < scores["sinc"]["lsd"]  # only models that beat sinc ship
        if "makers" in meta["test"]:  # the ship rule on every input maker
            assert meta["shipped"] and not ship_rule(meta["test"]["makers"])
            assert set(meta["test"]["makers"]) == set(INPUT_MAKERS) == set(meta["ship_rule"]["makers"])
        if any("RAVDESS" in text or "kernScores" in text for text in meta["trained_on"]["licences"]):
            assert meta["non_commercial"]
        assert pretrained.path(name).stat().st_size < 10 * 2**20


def test_cards_show_licences_training_and_figures():
    for name in pretrained.list():
        text = pretrained.card(name)
        meta = pretrained.info(name)
        assert text.startswith(f"# {name}: ")
        assert all(licence in text for licence in meta["trained_on"]["licences"])
        assert meta["training"]["command"] in text
        assert "**non-commercial**" in text if meta["non_commercial"] else "non-commercial" not in text
        assert f"{meta['test']['scores']['DualBranchSR']['lsd']:.3f}" in text


def test_load_and_use():
    model = pretrained.load("speech-x4-16k")
    assert model.rate_ == 4 and model.metadata_["input_sr"] == 4000
    x = np.sin(2 * np.pi * 440 * np.arange(4000) / 4000).astype(np.float32)
    y = audiosr.upsample(x, method=model)
    assert y.shape == (16000,) and np.all(np.isfinite(y))


def test_find_and_errors():
    assert pretrained.find(4000, 16000) == "speech-x4-16k"
    assert pretrained.find(4000, rate=4) == "speech-x4-16k"
    assert pretrained.find(7000, rate=4) is None
    with pytest.raises(ValueError, match="unknown pretrained model 'nope'"):
        pretrained.load("nope")


def test_package_data_stays_within_30_mb():
    # Everything the package carries besides code: weights, the index, the clips, the app's files.
    package = Path(audiosr.__file__).parent
    data = [p for p in package.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")]
    data = [p for p in data if "__pycache__" not in p.parts]
    assert {"index.json", "speech_p257_48k.flac"} <= {p.name for p in data}
    assert sum(p.stat().st_size for p in data) <= 30 * 2**20


def test_readme_and_docs_tables_are_what_the_index_renders():
    # Regenerate both with `python scripts/train_pretrained.py --render` after changing the index.
    index = pretrained._read_index()
    for path, fmt, block in (
        (REPO / "README.md", "markdown", _cards.markdown_table(index)),
        (REPO / "docs" / "user_guide" / "pretrained.rst", "rst", _cards.rst_block(index)),
    ):
        text = path.read_text()
        assert _cards.render_into(text, block, fmt) == text, f"{path.name} is out of date with index.json"


def test_rendering_of_a_zoo_with_a_failed_model(tiny_zoo):
    index = pretrained._read_index()
    assert set(index) - set(pretrained.list()) == {"speech-x8-48k", "speech-x3-24k"}
    table = _cards.markdown_table(index).splitlines()
    assert len(table) == 2 + len(index)
    rows = {line.split(" | ")[0].strip("| `"): line for line in table[2:]}
    assert "not shipped (`fft`: LSD 2.100 is not below sinc's 2.000)" in rows["speech-x8-48k"]
    assert rows["speech-x3-48k"].endswith("| shipped |") and "16 -> 48 kHz (x3)" in rows["speech-x3-48k"]
    assert "**non-commercial**: CC0" in rows["speech-x3-48k"] and "float16" in rows["speech-x3-48k"]
    # Grouped by data, then output rate and factor.
    assert list(rows)[:2] == ["piano-x2-44k", "piano-x4-44k"] and list(rows)[-1] == "speech-x8-48k"
    rst = _cards.rst_block(index)
    for name in index:
        assert f"``{name}``:" in rst
    assert rst.count("* - ``soxr_hq``") == len(index) and "valid: sinc" in rst
    assert "fails: LSD 2.100 is not below sinc's 2.000" in rst
    # Old index entries (the protocol's figures only) render too, and say so.
    legacy = {"old": {"rate": 4, "input_sr": 4000, "output_sr": 16000, "trained_on": {"kinds": ["speech"]},
                      "test": {"files": 2, "scores": {"DualBranchSR": {"snr": 1.0, "lsd": 1.0, "lsd_hf": 1.0},
                                                       "sinc": {"snr": 1.0, "lsd": 2.0, "lsd_hf": 2.0}}}}}  # fmt: skip
    assert "shipped under the first rule (`iir` inputs only)" in _cards.markdown_table(legacy)
    assert "Trained on inputs of the protocol's Chebyshev filter only" in _cards.rst_block(legacy)


@pytest.mark.parametrize("fmt", ["markdown", "rst"])
def test_render_into_replaces_only_the_marked_block(fmt):
    start, end = _cards.MARKERS[fmt]
    text = f"before\n{start}\nold\n{end}\nafter\n"
    assert _cards.render_into(text, "new", fmt) == f"before\n{start}\n\nnew\n\n{end}\nafter\n"
    for broken in ("no markers", f"{end}\n{start}", f"{start}\n{start}\n{end}"):
        with pytest.raises(ValueError, match="exactly one pair of markers"):
            _cards.render_into(broken, "new", fmt)


def test_shipped_models_of_a_zoo(tiny_zoo):
    assert pretrained.list() == sorted(TINY_ZOO)
    assert pretrained.find(16000, 48000) == "speech-x3-48k" and pretrained.find(8000, 48000) == "speech-x6-48k"
    assert pretrained.find(8000, rate=2) == "speech-x2-16k" and pretrained.find(6000, 48000) is None
    with pytest.raises(ValueError, match="unknown pretrained model 'speech-x3-24k'"):
        pretrained.load("speech-x3-24k")  # its index entry says it did not ship: the stale file is ignored
    model = pretrained.load("speech-x6-48k")
    assert model.rate_ == 6 and model.metadata_["input_sr"] == 8000
    assert next(model.module_.parameters()).dtype == torch.float32  # stored in float16


def test_upsample_uses_the_matching_pretrained_model_by_default(tmp_path, capsys):
    x = 0.3 * np.sin(2 * np.pi * 440 * np.arange(8000) / 4000)
    sf.write(tmp_path / "in.wav", x, 4000)
    assert main(["upsample", str(tmp_path / "in.wav"), "-o", str(tmp_path / "out.wav"), "--sr", "16000"]) == 0
    assert "pretrained speech-x4-16k" in capsys.readouterr().out
    out, sr = sf.read(tmp_path / "out.wav")
    np.testing.assert_allclose(out, audiosr.upsample(x, method=pretrained.load("speech-x4-16k")), atol=1e-4)
    assert main(["upsample", str(tmp_path / "in.wav"), "-o", str(tmp_path / "o2.wav"), "--model", "speech-x4-16k"]) == 0
    assert main(["upsample", str(tmp_path / "in.wav"), "-o", str(tmp_path / "o3.wav"), "--rate", "2"]) == 0
    # x2 from 4 kHz: the 4 kHz model, then soxr down to the target
    assert "pretrained speech-x4-16k x4 -> 16000 Hz, soxr 16000 -> 8000 Hz" in capsys.readouterr().err
    assert sf.info(str(tmp_path / "o3.wav")).samplerate == 8000


@pytest.fixture
def index_folder(tmp_path, monkeypatch):
    """Point the registry at an empty folder (as from a clone's parent folder); restore the cache after."""
    pretrained._index.cache_clear()
    monkeypatch.setattr(pretrained, "_folder", lambda: tmp_path)
    yield tmp_path
    pretrained._index.cache_clear()


def test_missing_index_is_an_error_not_an_empty_list(index_folder, tmp_path, capsys):
    for call in (pretrained.list, lambda: pretrained.find(4000, 16000), lambda: pretrained.info("speech-x4-16k")):
        with pytest.raises(FileNotFoundError, match="pretrained index is missing at .*index.json.*Work inside the clone"):
            call()
    # The command line says the same, without a traceback, instead of quietly using sinc.
    sf.write(tmp_path / "in.wav", np.zeros(4000), 4000)
    assert main(["upsample", str(tmp_path / "in.wav"), "-o", str(tmp_path / "out.wav"), "--rate", "4"]) != 0
    err = capsys.readouterr().err
    assert "pretrained index is missing" in err and "Traceback" not in err


def test_missing_index_names_a_namespace_package(index_folder, monkeypatch):
    import sys
    import types

    shadow = types.ModuleType("audiosr")
    shadow.__path__ = [str(index_folder)]  # a clone folder without __init__.py: no __file__
    monkeypatch.setitem(sys.modules, "audiosr", shadow)
    with pytest.raises(FileNotFoundError, match="imported as a namespace package"):
        pretrained.list()


def test_an_index_without_models_lists_nothing(index_folder):
    (index_folder / "index.json").write_text("{}")
    assert pretrained.list() == []
    assert pretrained.find(4000, 16000) is None
    with pytest.raises(ValueError, match="available: none"):
        pretrained.info("speech-x4-16k")
