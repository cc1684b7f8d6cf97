"""Tests for audiosr.persistence: weights-only model files, joblib files, and their use on the command line."""

import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pytest
import soundfile as sf
import torch

import audiosr
from audiosr import AudioUNet, DualBranchSR, SpectralDNN, SplineUpsampler, load_model, save_model
from audiosr.cli import main

REPO = Path(__file__).resolve().parents[1]

TINY = {
    DualBranchSR: dict(filters=(4, 8), kernel_sizes=(9, 5), patch_len=256),
    AudioUNet: dict(filters=(4, 8), kernel_sizes=(9, 5), patch_len=256),
    SpectralDNN: dict(n_fft=64, context=3, hidden_layer_sizes=(16,)),
}


def fitted(cls, rate=4, **kw):
    y = np.random.default_rng(0).standard_normal((4, 512))
    model = cls(rate=rate, max_epochs=1, random_state=0, device="cpu", **{**TINY[cls], **kw})
    return model.fit(y[:, ::rate], y), y[:, ::rate]


@pytest.mark.parametrize(
    "cls, params",
    [
        (DualBranchSR, {}),
        (AudioUNet, {}),
        (SpectralDNN, {}),
        (DualBranchSR, dict(loss="rmse", spectral_band=1.5, stft_loss=0.001)),
        (AudioUNet, dict(loss="mse", spectral_band="high")),
    ],
)
def test_weights_round_trip_is_bit_exact(cls, params, tmp_path):
    model, X = fitted(cls, **params)
    save_model(model, tmp_path / "m.pt", metadata={"input_sr": 4000, "trained_on": "noise"})
    loaded = load_model(tmp_path / "m.pt")
    assert type(loaded) is cls
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))
    assert loaded.get_params() == model.get_params()
    assert loaded.loss_curve_ == model.loss_curve_ and loaded.rate_ == 4
    assert loaded.metadata_ == {"input_sr": 4000, "trained_on": "noise"}
    assert zipfile.is_zipfile(tmp_path / "m.pt")
    # Loadable by torch's safe loader alone: nothing but tensors and plain values.
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    assert payload["format"] == "audiosr-weights" and payload["estimator"] == cls.__name__


@pytest.mark.parametrize("cls", [DualBranchSR, AudioUNet, SpectralDNN])
def test_float16_weights_halve_the_file_and_load_as_float32(cls, tmp_path):
    model, X = fitted(cls, rate=2)
    save_model(model, tmp_path / "f32.pt")
    save_model(model, tmp_path / "f16.pt", metadata={"input_sr": 8000}, dtype="float16")
    payload = torch.load(tmp_path / "f16.pt", weights_only=True)  # still weights-only
    assert payload["weights_dtype"] == "float16"
    assert {v.dtype for v in payload["state_dict"].values() if v.is_floating_point()} == {torch.float16}
    loaded = load_model(tmp_path / "f16.pt")
    assert all(p.dtype == torch.float32 for p in loaded.module_.state_dict().values() if p.is_floating_point())
    for name, value in model.module_.state_dict().items():
        if value.is_floating_point():  # rounded to half precision, nothing else
            torch.testing.assert_close(loaded.module_.state_dict()[name], value.half().float(), rtol=0, atol=0)
    assert loaded.metadata_ == {"input_sr": 8000}
    y16, y32 = loaded.transform(X), model.transform(X)
    assert y16.dtype == y32.dtype and np.abs(y16 - y32).max() < 1e-2 * max(1e-3, np.abs(y32).max())
    weights = sum(v.numel() for v in model.module_.state_dict().values())
    assert (tmp_path / "f32.pt").stat().st_size - (tmp_path / "f16.pt").stat().st_size >= 2 * weights - 1024


def test_float32_files_without_a_dtype_entry_still_load(tmp_path):
    # Files written before the dtype option have no "weights_dtype" key.
    model, X = fitted(DualBranchSR)
    save_model(model, tmp_path / "m.pt")
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    del payload["weights_dtype"]
    torch.save(payload, tmp_path / "old.pt")
    np.testing.assert_array_equal(load_model(tmp_path / "old.pt").transform(X), model.transform(X))


@pytest.mark.parametrize("dtype", ["float64", "bfloat16", "half", 16])
def test_bad_weights_dtype(tmp_path, dtype):
    model, _ = fitted(AudioUNet)
    with pytest.raises(ValueError, match=r"dtype must be one of \['float32', 'float16'\]"):
        save_model(model, tmp_path / "m.pt", dtype=dtype)
    assert list(tmp_path.iterdir()) == []


class _Touch:
    """Unpickles as a call that creates a file: proof that loading ran the file's code."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.mark.parametrize("allow_pickle", [False, True])
def test_weights_file_that_runs_code_is_refused(tmp_path, allow_pickle):
    # A zip .pt from torch.save of an object with __reduce__: torch's own refusal
    # advises weights_only=False, which would run the code; that advice must not pass on.
    torch.save({"format": "audiosr-weights", "payload": _Touch(tmp_path / "PWNED")}, tmp_path / "evil.pt")
    with pytest.raises(ValueError, match="not an audiosr weights file") as info:
        load_model(tmp_path / "evil.pt", allow_pickle=allow_pickle)
    message = str(info.value)
    assert "weights_only=False" not in message and "weights_only" not in message
    assert "pickled Python objects" in message and "audiosr refuses it" in message
    assert not (tmp_path / "PWNED").exists()


# The reproduction: a plain pickle named .pt whose loading runs a shell command.
_PWNED = (
    "import os, pickle; E = type('E', (), {'__reduce__': lambda s: (os.system, ('touch PWNED',))}); "
    "pickle.dump(E(), open('model.pt', 'wb'))"
)


def _make_pwned_pt(folder):
    subprocess.run([sys.executable, "-c", _PWNED], cwd=folder, check=True, timeout=60)
    return folder / "model.pt"


def test_pickle_named_pt_is_refused_by_default(tmp_path, monkeypatch):
    path = _make_pwned_pt(tmp_path)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="pickle.*Unpickling runs code.*allow_pickle=True.*--trust-pickle"):
        load_model(path)
    assert not (tmp_path / "PWNED").exists()


def test_pickle_named_pt_is_refused_on_the_command_line(tmp_path, monkeypatch, capsys):
    path = _make_pwned_pt(tmp_path)
    x = np.sin(np.arange(4000) / 5)
    sf.write(tmp_path / "in.wav", x, 4000, subtype="PCM_16")
    monkeypatch.chdir(tmp_path)
    assert main(["upsample", "in.wav", "-o", "o.wav", "--model", str(path)]) != 0
    assert "Unpickling runs code" in capsys.readouterr().err
    assert not (tmp_path / "PWNED").exists() and not (tmp_path / "o.wav").exists()
    # The same through a separate process of this checkout's audiosr.
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "audiosr", "upsample", "in.wav", "-o", "o.wav", "--model", "model.pt"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "Unpickling runs code" in done.stderr
    assert not (tmp_path / "PWNED").exists()


def test_newer_format_and_unknown_estimator_are_refused(tmp_path):
    model, _ = fitted(AudioUNet)
    save_model(model, tmp_path / "m.pt")
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    torch.save({**payload, "format_version": 99}, tmp_path / "new.pt")
    with pytest.raises(ValueError, match="format 99.*Upgrade audiosr"):
        load_model(tmp_path / "new.pt")
    torch.save({**payload, "estimator": "WaveNet"}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="unknown estimator 'WaveNet'"):
        load_model(tmp_path / "other.pt")
    torch.save({**payload, "state_dict": {}}, tmp_path / "empty.pt")
    with pytest.raises(ValueError, match="do not fit AudioUNet's network"):
        load_model(tmp_path / "empty.pt")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "plain.pt")
    with pytest.raises(ValueError, match="not an audiosr weights file"):
        load_model(tmp_path / "plain.pt")


def test_joblib_files(tmp_path):
    model, X = fitted(DualBranchSR)
    joblib.dump(model, tmp_path / "m.joblib")
    loaded = load_model(tmp_path / "m.joblib", allow_pickle=True)
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))
    joblib.dump({"not": "a model"}, tmp_path / "dict.joblib")
    with pytest.raises(TypeError, match="holds a builtins.dict, not an audiosr model"):
        load_model(tmp_path / "dict.joblib", allow_pickle=True)
    # Saved by another version: the version string in the pickle differs.
    blob = pickle.dumps(model).replace(audiosr.__version__.encode(), b"0.0.0")
    (tmp_path / "old.pkl").write_bytes(blob)
    with pytest.warns(UserWarning, match="saved by audiosr 0.0.0"):
        load_model(tmp_path / "old.pkl", allow_pickle=True)
    # A pickle of a class this installation does not have.
    (tmp_path / "foreign.pkl").write_bytes(b"cnot_a_module\nCls\n)\x81.")
    with pytest.raises(ValueError, match="another audiosr version"):
        load_model(tmp_path / "foreign.pkl", allow_pickle=True)


@pytest.mark.parametrize("compress", [0, 3, "gzip", "bz2", "xz", "lzma"])
def test_joblib_files_are_refused_without_allow_pickle(tmp_path, compress):
    model, _ = fitted(SpectralDNN)
    joblib.dump(model, tmp_path / "m.joblib", compress=compress)
    with pytest.raises(ValueError, match="is a pickle \\(joblib\\) file.*allow_pickle=True") as info:
        load_model(tmp_path / "m.joblib")
    assert "made yourself" in str(info.value)


@pytest.mark.parametrize("content", [b"", b"hello world", b"PK\x03\x04broken"])
def test_not_a_model_file(tmp_path, content):
    (tmp_path / "x.bin").write_bytes(content)
    with pytest.raises(ValueError, match="not a"):
        load_model(tmp_path / "x.bin")


def test_missing_and_bad_arguments(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such model file"):
        load_model(tmp_path / "nope.pt")
    with pytest.raises(TypeError, match="trained neural models"):
        save_model(SplineUpsampler(rate=2), tmp_path / "s.pt")
    with pytest.raises(Exception, match="not fitted"):
        save_model(AudioUNet(), tmp_path / "u.pt")
    model, _ = fitted(AudioUNet)
    with pytest.raises(TypeError, match="metadata"):
        save_model(model, tmp_path / "m.pt", metadata={"f": object()})
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_model(model, tmp_path / "missing" / "m.pt")
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_command_line_uses_model_files(tmp_path, capsys):
    model, _ = fitted(AudioUNet)
    save_model(model, tmp_path / "m.pt", metadata={"input_sr": 4000})
    x = np.random.default_rng(1).uniform(-0.5, 0.5, (3000, 2))
    sf.write(tmp_path / "in.wav", x, 4000, subtype="FLOAT")
    assert (
        main(["upsample", str(tmp_path / "in.wav"), "-o", str(tmp_path / "out.wav"), "--model", str(tmp_path / "m.pt")])
        == 0
    )
    out, sr = sf.read(tmp_path / "out.wav")
    assert sr == 16000 and out.shape == (12000, 2)
    np.testing.assert_allclose(out.T, audiosr.upsample(x.T, method=model), atol=1e-6)
    assert "m.pt" in capsys.readouterr().out
    # The model's own rate wins; a contradicting --rate, a wrong input rate are refused.
    assert (
        main(
            [
                "upsample",
                str(tmp_path / "in.wav"),
                "-o",
                str(tmp_path / "o2.wav"),
                "--model",
                str(tmp_path / "m.pt"),
                "--rate",
                "2",
            ]
        )
        == 2
    )
    assert "up-samples by 4" in capsys.readouterr().err
    # Another input rate is resampled to the model's (the plan says so).
    sf.write(tmp_path / "in8k.wav", x, 8000)
    argv = ["upsample", str(tmp_path / "in8k.wav"), "-o", str(tmp_path / "o3.wav"), "--model", str(tmp_path / "m.pt")]
    assert main(argv) == 0
    assert "soxr 8000 -> 4000 Hz, m.pt x4 -> 16000 Hz" in capsys.readouterr().err
    assert sf.info(str(tmp_path / "o3.wav")).samplerate == 16000
    assert (
        main(
            ["upsample", str(tmp_path / "in.wav"), "-o", str(tmp_path / "o4.wav"), "--model", str(tmp_path / "nope.pt")]
        )
        == 2
    )
    assert "no such model file" in capsys.readouterr().err
    assert (
        main(["upsample", str(tmp_path / "in.wav"), "-o", str(tmp_path / "o5.wav"), "--model", "spline", "--rate", "2"])
        == 0
    )
    assert not any((tmp_path / f).exists() for f in ("o2.wav", "o4.wav"))
