"""Tests for audiosr.upsample on whole signals."""

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
