"""Tests for the shipped pretrained models and their use by the command line."""

import numpy as np
import pytest
import soundfile as sf

import audiosr
from audiosr import pretrained
from audiosr.cli import main

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
        assert pretrained.path(name).stat().st_size < 10 * 2**20


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


def test_package_data_stays_small():
    files = [p for p in pretrained.path("speech-x4-16k").parent.iterdir() if p.is_file()]
    data = [p for p in (pretrained.path("speech-x4-16k").parent.parent / "data").iterdir()]
    assert sum(p.stat().st_size for p in files + data) < 30 * 2**20


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
