"""ONNX export (audiosr.export_onnx) and the onnxruntime up-sampler (OnnxUpsampler): round trips per model kind."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pytest
import soundfile as sf
from sklearn.base import clone

pytest.importorskip("onnx")
pytest.importorskip("onnxscript")
ort = pytest.importorskip("onnxruntime")

import audiosr  # noqa: E402
from audiosr import (  # noqa: E402
    AudioUNet,
    DualBranchSR,
    OnnxUpsampler,
    SpectralDNN,
    export_onnx,
    load_model,
    save_model,
)
from audiosr.cli import main  # noqa: E402
from audiosr.processing import upsample_file  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TOL = 1e-4  # the bar: onnxruntime within 1e-4 (max abs) of torch
TINY = {
    DualBranchSR: dict(filters=(4, 8), kernel_sizes=(9, 5), patch_len=256),
    AudioUNet: dict(filters=(4, 8), kernel_sizes=(9, 5), patch_len=256),
    SpectralDNN: dict(n_fft=64, context=3, hidden_layer_sizes=(16,)),
}
KINDS = list(TINY)
META = {
    "input_sr": 4000,
    "output_sr": 16000,
    "name": "tiny",
    "licence": "CC0",
    "trained_on": {"licences": ["CC0", "MIT"]},
}


def _fit(cls, rate=4):
    y = 0.3 * np.random.default_rng(0).standard_normal((8, 1024))
    model = cls(rate=rate, max_epochs=2, learning_rate=1e-2, random_state=0, device="cpu", **TINY[cls])
    return model.fit(y[:, ::rate], y)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Per kind: the fitted torch model and its ONNX file (exported once for the module)."""
    folder = tmp_path_factory.mktemp("onnx")
    out = {}
    for cls in KINDS:
        model = _fit(cls)
        out[cls] = model, export_onnx(model, folder / f"{cls.__name__}.onnx", metadata=META)
    return out


def _signals(n_channels, length, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    t = np.arange(length) / 4000
    tone = 0.4 * np.sin(2 * np.pi * 300 * t + rng.uniform(0, 6, (n_channels, 1)))
    return (tone + 0.05 * rng.standard_normal((n_channels, length))).astype(dtype)


# ----------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("cls", KINDS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("length", [64, 333, 1000])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_transform_matches_torch(exported, cls, length, dtype):
    model, path = exported[cls]
    onnx_model = load_model(path)
    assert isinstance(onnx_model, OnnxUpsampler)
    X = _signals(3, length, seed=length, dtype=dtype)
    expected, got = model.transform(X), onnx_model.transform(X)
    assert got.shape == expected.shape == (3, 4 * length) and got.dtype == dtype
    assert np.abs(got - expected).max() < TOL
    assert np.abs(expected).max() > 0.1  # not a trivially silent comparison


@pytest.mark.parametrize("cls", KINDS, ids=lambda c: c.__name__)
def test_upsample_multichannel_matches_torch(exported, cls):
    model, path = exported[cls]
    x = _signals(2, 777, seed=3)
    expected = audiosr.upsample(x, method=model)
    got = audiosr.upsample(x, method=load_model(path))
    assert got.shape == (2, 4 * 777)
    assert np.abs(got - expected).max() < TOL
    mono = audiosr.upsample(x[0], method=load_model(path))
    assert np.abs(mono - expected[0]).max() < TOL


@pytest.mark.parametrize("cls", KINDS, ids=lambda c: c.__name__)
def test_keep_low_band_on_and_off(exported, cls):
    model, path = exported[cls]
    X = _signals(2, 500, seed=5)
    onnx_model = load_model(path)
    assert model.keep_low_band is True  # exported with the crossover on: the default
    on = onnx_model.transform(X)
    assert np.abs(on - model.transform(X)).max() < TOL
    model.set_params(keep_low_band=False)
    try:
        off = onnx_model.set_params(keep_low_band=False).transform(X)
        assert np.abs(off - model.transform(X)).max() < TOL
    finally:
        model.set_params(keep_low_band=True)
    assert np.abs(on - off).max() > 10 * TOL  # the setting did something
    assert np.abs(onnx_model.set_params(keep_low_band=0.5).transform(X) - off).max() > 10 * TOL


@pytest.mark.parametrize(
    "cls, name, value, off", [(DualBranchSR, "high_band_gain", 0.3, 1.0), (AudioUNet, "high_band_smoothing", 9, 0)]
)
def test_output_settings_are_exported_and_can_be_changed(tmp_path, cls, name, value, off):
    model = _fit(cls).set_params(**{name: value})
    onnx_model = load_model(export_onnx(model, tmp_path / "m.onnx"))
    X = _signals(1, 1200)
    assert np.abs(onnx_model.transform(X) - model.transform(X)).max() < TOL
    assert onnx_model._stream_geometry(4) == model._stream_geometry(4)
    model.set_params(**{name: off})
    assert np.abs(onnx_model.set_params(**{name: off}).transform(X) - model.transform(X)).max() < TOL
    with pytest.raises(ValueError, match=name):
        onnx_model.set_params(**{name: -2}).transform(X)


def test_the_lines_removal_is_exported_and_can_be_changed(tmp_path, exported):
    model = _fit(AudioUNet).set_params(remove_lines=True)
    onnx_model = load_model(export_onnx(model, tmp_path / "m.onnx"))
    X = _signals(1, 1200)
    assert np.abs(onnx_model.transform(X) - model.transform(X)).max() < TOL
    assert onnx_model._stream_geometry(4) == model._stream_geometry(4)
    model.set_params(remove_lines=False)
    assert np.abs(onnx_model.set_params(remove_lines=False).transform(X) - model.transform(X)).max() < TOL
    # Files that use the settings of format 3 say so (an older audiosr refuses them); others stay 2.
    import onnx

    def version(path):
        props = {p.key: p.value for p in onnx.load(path).metadata_props}
        return json.loads(props["audiosr"])["format_version"]

    assert version(tmp_path / "m.onnx") == 3 and version(exported[DualBranchSR][1]) == 2
    # A model exported without it can turn it on: the file keeps the U-Net's period.
    plain = load_model(exported[DualBranchSR][1])
    torch_model = exported[DualBranchSR][0]
    on = plain.set_params(remove_lines=True).transform(X)
    torch_model.set_params(remove_lines=True)
    try:
        assert np.abs(on - torch_model.transform(X)).max() < TOL
    finally:
        torch_model.set_params(remove_lines=False)
    with pytest.raises(TypeError, match="remove_lines"):
        plain.set_params(remove_lines="on").transform(X)
    with pytest.raises(ValueError, match="no U-Net lines to remove"):
        load_model(exported[SpectralDNN][1]).set_params(remove_lines=True).transform(_signals(1, 400))


def test_patches_of_other_lengths_than_powers_of_two(tmp_path):
    # Rate 3: patches of 288 samples, where onnxruntime's DFT operator alone drifts by ~1e-4.
    y = 0.3 * np.random.default_rng(0).standard_normal((6, 864))
    model = DualBranchSR(rate=3, max_epochs=1, random_state=0, device="cpu", **{**TINY[DualBranchSR], "patch_len": 288})
    model.fit(y[:, ::3], y)
    onnx_model = load_model(export_onnx(model, tmp_path / "m.onnx"))
    X = _signals(2, 1001, seed=2)
    assert np.abs(onnx_model.transform(X) - model.transform(X)).max() < TOL / 10


def test_exported_setting_is_kept(tmp_path):
    model = _fit(AudioUNet).set_params(keep_low_band=0.6)
    onnx_model = load_model(export_onnx(model, tmp_path / "m.onnx"))
    X = _signals(1, 400)
    assert np.abs(onnx_model.transform(X) - model.transform(X)).max() < TOL
    assert onnx_model._stream_geometry(4) == model._stream_geometry(4)
    assert onnx_model._min_input_length(4) == model._min_input_length(4) == 256 // 4  # one patch


def test_batch_size_and_threads_do_not_change_the_output(exported):
    model, path = exported[DualBranchSR]
    X = _signals(1, 1500, seed=7)
    onnx_model = load_model(path)
    reference = onnx_model.transform(X)
    first = onnx_model.session_
    for params in (dict(batch_size=1), dict(batch_size=5, n_threads=1), dict(n_threads=2)):
        assert np.abs(onnx_model.set_params(**params).transform(X) - reference).max() < 1e-5
    assert onnx_model.session_ is first  # n_threads splits batches over calls of the same one-thread session
    with pytest.raises(ValueError, match="batch_size"):
        onnx_model.set_params(batch_size=0).transform(X)
    with pytest.raises(ValueError, match="n_threads"):
        onnx_model.set_params(batch_size=None, n_threads=-1).transform(X)


def test_shipped_model_matches_torch_on_real_speech(tmp_path):
    y, sr = audiosr.datasets.load_sample("speech")
    y16 = audiosr.signal.resample(y[: int(1.5 * sr)], orig_sr=sr, target_sr=16000)
    x = audiosr.decimate(y16, 4)
    model = audiosr.pretrained.load("speech-x4-16k")
    path = tmp_path / "speech.onnx"
    assert main(["export", "speech-x4-16k", "-o", str(path)]) == 0
    onnx_model = load_model(path)
    expected, got = audiosr.upsample(x, method=model), audiosr.upsample(x, method=onnx_model)
    assert np.abs(got - expected).max() < TOL
    assert onnx_model.metadata_["name"] == "speech-x4-16k"
    assert onnx_model.metadata_["non_commercial"] is True
    assert (onnx_model.metadata_["input_sr"], onnx_model.metadata_["output_sr"], onnx_model.rate) == (4000, 16000, 4)


# ----------------------------------------------------------------------------- metadata and loading


def test_metadata_round_trip(exported):
    model, path = exported[DualBranchSR]
    onnx_model = load_model(path)
    assert onnx_model.metadata_ == {**META, "rate": 4}
    assert onnx_model.rate == onnx_model.rate_ == 4
    assert onnx_model.estimator_ == "DualBranchSR"
    assert onnx_model.params_["filters"] == [4, 8] and onnx_model.params_["branches"] == "both"
    assert onnx_model.pipeline_ == {
        "pipeline": "patches",
        "patch_len": 256,
        "hop": 224,  # an eighth of overlap
        "input_upsampler": "spline",
        "batch_size": 16,
    }
    assert onnx_model.audiosr_version_ == audiosr.__version__
    # Plain entries for generic ONNX tools, beside the JSON that audiosr reads.
    props = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).get_modelmeta().custom_metadata_map
    assert props["input_sr"] == "4000" and props["output_sr"] == "16000" and props["rate"] == "4"
    assert props["licence"] == "CC0" and props["licences"] == "CC0; MIT"
    assert json.loads(props["audiosr"])["fitted"]["patch_len_"] == 256


def test_model_metadata_is_kept_and_can_be_overridden(tmp_path):
    model = _fit(AudioUNet)
    model.metadata_ = {"input_sr": 8000, "name": "mine"}
    onnx_model = load_model(export_onnx(model, tmp_path / "m.onnx", metadata={"name": "renamed"}))
    assert onnx_model.metadata_ == {"input_sr": 8000, "name": "renamed", "rate": 4}


def test_load_model_recognises_onnx_by_content(exported, tmp_path):
    _, path = exported[SpectralDNN]
    renamed = tmp_path / "model.bin"
    renamed.write_bytes(Path(path).read_bytes())
    assert isinstance(load_model(renamed), OnnxUpsampler)
    assert isinstance(load_model(str(path)), OnnxUpsampler)


@pytest.mark.parametrize("content", [b"", b"hello world", b"\x08\x07garbage"])
def test_bad_onnx_files_are_refused(tmp_path, content):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(content)
    with pytest.raises(ValueError, match="not a valid ONNX model"):
        load_model(bad)


def test_onnx_files_not_from_audiosr_are_refused(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 8])],
    )
    foreign = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    foreign.ir_version = 10
    onnx.save(foreign, tmp_path / "foreign.onnx")
    with pytest.raises(ValueError, match="not one exported by audiosr"):
        load_model(tmp_path / "foreign.onnx")
    entry = foreign.metadata_props.add()
    entry.key, entry.value = "audiosr", json.dumps({"format": "audiosr-onnx", "format_version": 99})
    onnx.save(foreign, tmp_path / "newer.onnx")
    with pytest.raises(ValueError, match="Upgrade audiosr"):
        load_model(tmp_path / "newer.onnx")


def test_missing_onnxruntime_says_what_to_install(exported, monkeypatch):
    _, path = exported[AudioUNet]
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(ImportError, match=r"pip install 'audiosr-learn\[onnx\]'"):
        load_model(path)


def test_onnx_upsampler_cannot_be_trained_and_is_sklearn_friendly(exported, tmp_path):
    model, path = exported[AudioUNet]
    onnx_model = load_model(path)
    with pytest.raises(TypeError, match="cannot be trained.*AudioUNet"):
        onnx_model.fit(np.zeros((2, 100)), np.zeros((2, 400)))
    X = _signals(1, 300)
    expected = onnx_model.transform(X)
    copy = clone(onnx_model)  # unloaded: reads the file on first use
    assert not hasattr(copy, "session_")
    assert np.array_equal(copy.transform(X), expected)
    pickled = joblib.load(joblib.dump(onnx_model, tmp_path / "m.joblib")[0])  # the session is rebuilt
    assert np.array_equal(pickled.transform(X), expected)
    assert onnx_model.score(X, model.transform(X)) > 60  # dB: the same output


def test_export_refuses_what_it_cannot_export(tmp_path):
    with pytest.raises(TypeError, match="export_onnx exports trained neural models"):
        export_onnx(audiosr.SincUpsampler(rate=2), tmp_path / "m.onnx")
    with pytest.raises(Exception, match="not fitted"):
        export_onnx(AudioUNet(rate=2), tmp_path / "m.onnx")
    with pytest.raises(TypeError, match="metadata"):
        export_onnx(_fit(AudioUNet), tmp_path / "m.onnx", metadata={"x": object()})
    with pytest.raises(ValueError, match="opset"):
        export_onnx(_fit(AudioUNet), tmp_path / "m.onnx", opset=11)
    assert not (tmp_path / "m.onnx").exists()


def test_inference_runs_without_torch(exported, tmp_path):
    _, path = exported[SpectralDNN]
    _, patch_path = exported[DualBranchSR]
    src = tmp_path / "in.wav"
    sf.write(src, _signals(1, 2000)[0], 4000, subtype="FLOAT")
    code = f"""
import sys

class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is blocked in this test")

sys.meta_path.insert(0, NoTorch())
import numpy as np
import audiosr
from audiosr.processing import upsample_file

x = np.random.default_rng(0).standard_normal((2, 400)) * 0.1
for path in ({str(path)!r}, {str(patch_path)!r}):
    assert audiosr.load_model(path).transform(x).shape == (2, 1600)
upsample_file({str(src)!r}, {str(tmp_path / "out.wav")!r}, method=audiosr.load_model({str(patch_path)!r}))
assert not [m for m in sys.modules if m.split(".")[0] == "torch"]
print("torch-free")
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "torch-free" in done.stdout


# ----------------------------------------------------------------------------- streaming


@pytest.mark.parametrize("cls", KINDS, ids=lambda c: c.__name__)
def test_streamed_file_matches_torch(exported, cls, tmp_path):
    model, path = exported[cls]
    onnx_model = load_model(path)
    x = _signals(2, 5003, seed=11)
    src = tmp_path / "in.wav"
    sf.write(src, x.T, 4000, subtype="DOUBLE")
    for name, method in (("onnx", onnx_model), ("torch", model)):
        upsample_file(src, tmp_path / f"{name}.wav", method=method, block_seconds=0.25)
    streamed = sf.read(tmp_path / "onnx.wav")[0].T
    assert np.abs(streamed - sf.read(tmp_path / "torch.wav")[0].T).max() < TOL
    if cls is not SpectralDNN:  # whose whole-block FFT makes streaming close, not exact (as in torch)
        assert np.abs(streamed - audiosr.upsample(x, method=onnx_model)).max() < 1e-9


# ----------------------------------------------------------------------------- command line


def test_command_line_export_and_upsample(tmp_path, capsys):
    model = _fit(DualBranchSR)
    save_model(model, tmp_path / "m.pt", metadata={"input_sr": 4000, "output_sr": 16000})
    out = tmp_path / "m.onnx"
    assert main(["export", str(tmp_path / "m.pt"), "-o", str(out)]) == 0
    said = capsys.readouterr().out
    assert "DualBranchSR x4, 4000 Hz -> 16000 Hz" in said and f"--model {out}" in said
    assert load_model(out).metadata_["name"] == "m"
    x = _signals(1, 3000)[0]
    sf.write(tmp_path / "lo.wav", x, 4000, subtype="FLOAT")
    upsample = ["upsample", str(tmp_path / "lo.wav"), "-o", str(tmp_path / "hi.wav"), "--model", str(out)]
    assert main([*upsample, "--quiet"]) == 0
    y, sr = sf.read(tmp_path / "hi.wav")
    assert sr == 16000
    assert np.abs(y - audiosr.upsample(x.astype(np.float32), method=model)).max() < TOL
    # Never overwritten without --force; with it, replaced.
    assert main(["export", str(tmp_path / "m.pt"), "-o", str(out)]) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "m.pt"), "-o", str(out), "--force"]) == 0


@pytest.mark.parametrize(
    "argv, message",
    [
        (["export", "no-such-model", "-o", "{tmp}/x.onnx"], "no such model file"),
        (["export", "{tmp}", "-o", "{tmp}/x.onnx"], "is a folder"),
        (["export", "{tmp}/text.pt", "-o", "{tmp}/x.onnx"], "not a model file"),
        (["export", "{tmp}/m.onnx", "-o", "{tmp}/x.onnx"], "already an ONNX model"),
        (["export", "speech-x4-16k", "-o", "{tmp}/x.pt"], "must name an .onnx file"),
        (["export", "speech-x4-16k", "-o", "{tmp}/missing/x.onnx"], "does not exist"),
    ],
)
def test_command_line_export_errors(exported, tmp_path, capsys, argv, message):
    (tmp_path / "text.pt").write_text("hello")
    (tmp_path / "m.onnx").write_bytes(Path(exported[AudioUNet][1]).read_bytes())
    assert main([a.format(tmp=tmp_path) for a in argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "x.onnx").exists()


def test_command_line_upsample_without_onnxruntime(exported, tmp_path, capsys, monkeypatch):
    sf.write(tmp_path / "lo.wav", _signals(1, 1000)[0], 4000)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    model = str(exported[AudioUNet][1])
    argv = ["upsample", str(tmp_path / "lo.wav"), "-o", str(tmp_path / "hi.wav"), "--model", model]
    assert main(argv) == 2
    assert "audiosr-learn[onnx]" in capsys.readouterr().err


@pytest.mark.parametrize("estimator", [DualBranchSR, AudioUNet])
def test_antialiased_unets_export(estimator, tmp_path):
    y = 0.3 * np.random.default_rng(0).standard_normal((6, 1024))
    model = estimator(rate=4, max_epochs=1, random_state=0, device="cpu", antialias=True, **TINY[estimator])
    model.fit(y[:, ::4], y)
    onnx_model = load_model(export_onnx(model, tmp_path / "m.onnx"))
    X = _signals(2, 700, seed=3)
    assert np.abs(onnx_model.transform(X) - model.transform(X)).max() < TOL


def test_log_frequency_branch_exports(tmp_path):
    y = 0.3 * np.random.default_rng(0).standard_normal((6, 1024))
    model = DualBranchSR(rate=4, max_epochs=1, random_state=0, device="cpu", frequency_scale="log", **TINY[DualBranchSR])
    model.fit(y[:, ::4], y)
    onnx_model = load_model(export_onnx(model, tmp_path / "m.onnx"))
    X = _signals(2, 700, seed=3)
    assert np.abs(onnx_model.transform(X) - model.transform(X)).max() < TOL
