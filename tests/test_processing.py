"""Tests for audiosr.upsample on whole signals."""

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import audiosr
from audiosr import BicubicUpsampler, SincUpsampler


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 3000), st.sampled_from([2, 3, 4, 6, 8]), st.sampled_from(["sinc", "spline", "bicubic"]))
def test_any_length(n, rate, method):
    x = np.random.default_rng(n).standard_normal(n).astype(np.float32)
    y = audiosr.upsample(x, rate, method=method)
    assert y.shape == (n * rate,) and y.dtype == np.float32
    assert np.all(np.isfinite(y))


def test_channels_processed_independently():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 500))
    y = audiosr.upsample(x, 3)
    assert y.shape == (2, 1500)
    np.testing.assert_allclose(y[1], audiosr.upsample(x[1], 3))


def test_estimator_method_and_rate_from_estimator():
    x = np.random.default_rng(1).standard_normal(100)
    np.testing.assert_array_equal(
        audiosr.upsample(x, method=BicubicUpsampler(rate=4)), BicubicUpsampler(rate=4).transform(x[None])[0]
    )
    np.testing.assert_array_equal(audiosr.upsample(x, 4, method=SincUpsampler(rate=4)), audiosr.upsample(x, 4))


def test_errors():
    x = np.zeros(100)
    with pytest.raises(ValueError, match="rate=2 but the estimator up-samples by 4"):
        audiosr.upsample(x, 2, method=BicubicUpsampler(rate=4))
    with pytest.raises(ValueError, match="unknown method 'cubic'"):
        audiosr.upsample(x, 2, method="cubic")
    with pytest.raises(ValueError, match="rate is required"):
        audiosr.upsample(x)
    with pytest.raises(TypeError, match="transform"):
        audiosr.upsample(x, 2, method=object())
    with pytest.raises(ValueError, match="3-D"):
        audiosr.upsample(np.zeros((1, 2, 100)), 2)
    with pytest.raises(ValueError, match="NaN"):
        audiosr.upsample(np.array([0.0, np.nan]), 2)


def test_time_first_stereo_is_refused_with_a_hint():
    x = np.zeros((4000, 2))  # soundfile's layout
    with pytest.raises(ValueError, match=r"looks like \(time, channels\).*x\.T"):
        audiosr.upsample(x, 2)
    assert audiosr.upsample(x.T, 2).shape == (2, 8000)


@pytest.mark.parametrize("dtype, scale", [(np.int16, 2**15), (np.int32, 2**31), (np.int8, 2**7)])
def test_integer_pcm_is_scaled(dtype, scale):
    x = (np.sin(np.arange(400) / 10) * (scale - 1)).astype(dtype)
    y = audiosr.upsample(x, 2, method="spline")
    assert y.dtype == np.float64 and np.abs(y).max() < 1.01
    np.testing.assert_allclose(y[::2], x / scale)


# ------------------------------------------------------------------ long files, in blocks


def _tiny_patch_models():
    from audiosr import AudioUNet, DualBranchSR

    y = np.random.default_rng(0).standard_normal((6, 864)).astype(np.float32)
    kw = dict(filters=(4, 8), kernel_sizes=(9, 5), max_epochs=1, random_state=0, device="cpu")
    return {
        "DualBranchSR x4": DualBranchSR(rate=4, patch_len=256, **kw).fit(y[:, :768:4], y[:, :768]),
        "DualBranchSR x3": DualBranchSR(rate=3, patch_len=288, **kw).fit(y[:, ::3], y),
        "AudioUNet x3": AudioUNet(rate=3, patch_len=256, **kw).fit(y[:, ::3], y),
    }


@pytest.mark.parametrize("method", ["sinc", "spline", "bicubic", "DualBranchSR x4", "DualBranchSR x3", "AudioUNet x3"])
def test_file_in_blocks_equals_whole_file(tmp_path, method):
    import soundfile as sf

    from audiosr.processing import upsample_file

    models = _tiny_patch_models() if " " in method else {}
    estimator = models.get(method, method)
    rate = int(method[-1]) if " " in method else 4
    x = 0.3 * np.random.default_rng(1).standard_normal((2, 5003))
    sf.write(tmp_path / "in.wav", x.T, 8000, subtype="DOUBLE")
    calls = []
    if not isinstance(estimator, str):
        original = estimator.transform

        def spy(X):
            calls.append(np.shape(X)[-1])
            return original(X)

        estimator.transform = spy
    sr = upsample_file(tmp_path / "in.wav", tmp_path / "out.wav", rate, method=estimator, block_seconds=0.04)
    if calls:  # memory is bounded by the block, not the file
        assert max(calls) < 5003 / 2 and len(calls) > 3
    out, sr_read = sf.read(tmp_path / "out.wav")
    assert sr == sr_read == 8000 * rate and out.shape == (5003 * rate, 2)
    whole = audiosr.upsample(x, rate, method=estimator)
    np.testing.assert_allclose(out.T, whole, atol=1e-6)


def test_file_in_blocks_errors(tmp_path):
    import soundfile as sf

    from audiosr.processing import upsample_file

    sf.write(tmp_path / "in.wav", np.zeros(100), 8000)
    with pytest.raises(ValueError, match="block_seconds"):
        upsample_file(tmp_path / "in.wav", tmp_path / "out.wav", 2, block_seconds=0)
    with pytest.raises(FileNotFoundError):
        upsample_file(tmp_path / "missing.wav", tmp_path / "out.wav", 2)
    assert not (tmp_path / "out.wav").exists()


# ----------------------------------------------------------------------------- rational rate chains

RATE_PAIRS = [(8000, 16000), (16000, 44100), (22050, 48000), (24000, 48000), (44100, 48000), (11025, 48000)]


@pytest.mark.parametrize(("sr", "target"), RATE_PAIRS)
@pytest.mark.parametrize("channels", [1, 2])
def test_any_rate_pair_through_the_api(sr, target, channels):
    n = sr // 10 + 7
    x = np.random.default_rng(sr).standard_normal((channels, n)).astype(np.float32)
    y = audiosr.upsample(x if channels > 1 else x[0], sr=sr, target_sr=target)
    assert y.shape == ((channels,) if channels > 1 else ()) + (audiosr.signal.resampled_length(n, sr, target),)
    assert y.dtype == np.float32 and np.all(np.isfinite(y))


def test_rational_chain_keeps_a_tone():
    sr, target = 16000, 44100
    x = np.sin(2 * np.pi * 1000 * np.arange(sr) / sr)
    y = audiosr.upsample(x, sr=sr, target_sr=target)
    ref = np.sin(2 * np.pi * 1000 * np.arange(y.size) / target)
    assert np.max(np.abs(y - ref)[500:-500]) < 5e-3  # no delay (one sample would be 0.14), no gain change


def test_method_sr_decimates_first():
    from audiosr.processing import build_chain

    chain = build_chain("sinc", sr=48000, target_sr=48000, method_sr=16000)
    assert chain.describe() == "soxr 48000 -> 16000 Hz, sinc x3 -> 48000 Hz"
    assert chain.length(48000) == 48000


@pytest.mark.parametrize(
    ("sr", "target", "method", "method_sr"),
    [(16000, 44100, "sinc", None), (22050, 48000, "spline", None), (44100, 48000, "sinc", 12000), (11025, 48000, "bicubic", None)],
)
def test_rational_streaming_equals_whole(tmp_path, sr, target, method, method_sr):
    import soundfile as sf

    from audiosr.processing import upsample_file

    x = np.random.default_rng(1).standard_normal((2, int(sr * 1.3) + 11)) * 0.1
    sf.write(tmp_path / "in.wav", x.T, sr, subtype="DOUBLE")
    out = upsample_file(
        tmp_path / "in.wav", tmp_path / "out.wav", target_sr=target, method=method, method_sr=method_sr, block_seconds=0.11
    )
    y, sr_out = sf.read(tmp_path / "out.wav")
    whole = audiosr.upsample(x, sr=sr, target_sr=target, method=method, method_sr=method_sr)
    assert out == sr_out == target
    assert y.T.shape == whole.shape
    np.testing.assert_allclose(y.T, whole, atol=1e-8)


def test_rational_streaming_with_a_model(tmp_path):
    import soundfile as sf

    from audiosr.processing import upsample_file

    model = audiosr.AudioUNet(rate=2, filters=(2,), kernel_sizes=(3,), patch_len=64, max_epochs=1, random_state=0)
    y_train = np.random.default_rng(0).standard_normal((4, 256))
    model.fit(y_train[:, ::2], y_train)
    x = np.random.default_rng(2).standard_normal(8000 * 2) * 0.1
    sf.write(tmp_path / "in.wav", x, 22050, subtype="DOUBLE")
    upsample_file(tmp_path / "in.wav", tmp_path / "out.wav", target_sr=48000, method=model, method_sr=16000, block_seconds=0.2)
    y, _ = sf.read(tmp_path / "out.wav")
    whole = audiosr.upsample(x, sr=22050, target_sr=48000, method=model, method_sr=16000)
    np.testing.assert_allclose(y, whole, atol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sr": 16000, "target_sr": 8000}, "audiosr only up-samples: the input is already 16000 Hz"),
        ({"sr": 16000, "target_sr": 16000}, "nothing to up-sample"),
        ({"target_sr": 48000}, "sr .* is required"),
        ({"rate": 2, "method_sr": 8000}, "method_sr needs target_sr"),
        ({"sr": 16000, "target_sr": 48000, "method_sr": 48000}, "must be above the method's input rate"),
        ({"sr": -1, "target_sr": 48000}, "sr"),
    ],
)
def test_rate_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        audiosr.upsample(np.zeros(1000), **kwargs)


def test_clipping_warning_counts_and_peak(tmp_path):
    import soundfile as sf

    from audiosr.io import ClippingWarning
    from audiosr.processing import upsample_file

    x = np.full(4000, 0.5)
    x[::2] = 3.0
    sf.write(tmp_path / "in.wav", x, 4000, subtype="FLOAT")
    with pytest.warns(ClippingWarning, match=r"of 16000 samples were clipped writing PCM_16 .*peak 3\.\d*.*FLOAT"):
        upsample_file(tmp_path / "in.wav", tmp_path / "out.wav", 4, subtype="PCM_16")
    upsample_file(tmp_path / "in.wav", tmp_path / "float.wav", 4, subtype="FLOAT")  # no warning: floats keep them


def test_truncated_flac_is_a_clear_error_and_leaves_nothing(tmp_path):
    import soundfile as sf

    from audiosr.processing import upsample_file

    x = np.random.default_rng(0).standard_normal(48000) * 0.1
    sf.write(tmp_path / "full.flac", x, 12000)
    (tmp_path / "cut.flac").write_bytes((tmp_path / "full.flac").read_bytes()[:20000])
    with pytest.raises(ValueError, match="damaged or truncated|truncated"):
        upsample_file(tmp_path / "cut.flac", tmp_path / "out.flac", 4)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.flac", "full.flac"]


def _small_tmpfs(path):
    import subprocess

    path.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(path)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    return path


@pytest.mark.parametrize("fmt", ["wav", "flac"])
def test_disk_full_says_so(tmp_path, fmt):
    import errno
    import subprocess

    import soundfile as sf

    from audiosr.processing import upsample_file

    sf.write(tmp_path / "in.wav", np.random.default_rng(0).standard_normal(40000) * 0.1, 8000)
    small = _small_tmpfs(tmp_path / "small")
    try:
        with pytest.raises(OSError, match=r"no space left on device \(needed about \d+ MB") as info:
            upsample_file(tmp_path / "in.wav", small / f"out.{fmt}", 4, block_seconds=0.5)
        assert info.value.errno == errno.ENOSPC
        assert list(small.iterdir()) == []  # no partial output
    finally:
        subprocess.run(["umount", str(small)], check=False)
