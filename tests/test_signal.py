"""Tests for audiosr.signal: decimation, resampling and training pairs."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audiosr.signal import decimate, make_pairs, resample


def tone(n, freq, sr, dtype=np.float64):
    return np.sin(2 * np.pi * freq * np.arange(n) / sr).astype(dtype)


@pytest.mark.parametrize("method", ["iir", "fir", "subsample"])
@pytest.mark.parametrize("rate", [2, 3, 4, 6, 8])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_decimate_length_and_dtype(method, rate, dtype):
    y = tone(1001, 100, 16000, dtype)
    out = decimate(y, rate, method=method)
    assert out.shape == (-(-1001 // rate),)
    assert out.dtype == dtype


def test_decimate_keeps_in_band_tone_and_removes_out_of_band():
    sr, rate = 16000, 4
    low = tone(16000, 500, sr)
    high = tone(16000, 3000, sr)  # above the new Nyquist (2 kHz)
    for method in ("iir", "fir"):
        out = decimate(low + high, rate, method=method)
        expected = tone(4000, 500, sr // rate)
        assert np.max(np.abs(out - expected)[100:-100]) < 0.02
    aliased = decimate(low + high, rate, method="subsample")
    np.testing.assert_array_equal(aliased, (low + high)[::rate])


def test_decimate_axis_and_batches():
    y = np.stack([tone(800, 100, 8000), tone(800, 200, 8000)])
    np.testing.assert_allclose(decimate(y, 2), np.stack([decimate(r, 2) for r in y]))
    np.testing.assert_allclose(decimate(y.T, 2, axis=0), decimate(y, 2).T)


def test_decimate_errors():
    with pytest.raises(ValueError, match="at least 28"):
        decimate(np.zeros(20), 2)
    assert decimate(np.zeros(20), 2, method="fir").shape == (10,)
    with pytest.raises(ValueError, match="method"):
        decimate(np.zeros(100), 2, method="cheby")
    with pytest.raises(ValueError, match="integer >= 2"):
        decimate(np.zeros(100), 1)
    with pytest.raises(ValueError, match="integer"):
        decimate(np.zeros(100), 2.5)
    with pytest.raises(ValueError, match="NaN"):
        decimate(np.full(100, np.nan), 2)


@pytest.mark.parametrize("orig, target", [(44100, 16000), (16000, 48000), (22050, 22050), (48000, 16000)])
def test_resample_length(orig, target):
    y = tone(orig // 2, 200, orig, np.float32)
    out = resample(y, orig_sr=orig, target_sr=target)
    assert out.shape == (-(-(orig // 2) * target // orig),)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[200:-200], tone(out.size, 200, target)[200:-200], atol=2e-3)


def test_resample_errors():
    with pytest.raises(ValueError, match="orig_sr"):
        resample(np.zeros(10), orig_sr=0, target_sr=16000)
    with pytest.raises(TypeError, match="target_sr"):
        resample(np.zeros(10), orig_sr=16000, target_sr="48k")


def test_make_pairs_shapes_and_alignment():
    rng = np.random.default_rng(0)
    sigs = [rng.standard_normal(10000), rng.standard_normal(5000), rng.standard_normal(1000)]
    X, y = make_pairs(sigs, 4, segment=2048, hop=1024)
    # 10000 -> starts 0..7952 step 1024 = 8 segments; 5000 -> 3; 1000 -> none
    assert X.shape == (11, 512) and y.shape == (11, 2048)
    full = decimate(sigs[0], 4)
    np.testing.assert_allclose(y[1], sigs[0][1024:3072])
    np.testing.assert_allclose(X[1], full[256:768])


def test_make_pairs_dtype_and_2d_input():
    y2d = np.random.default_rng(1).standard_normal((3, 4096)).astype(np.float32)
    X, y = make_pairs(y2d, 2, segment=4096)
    assert X.dtype == np.float32 and y.dtype == np.float32
    assert X.shape == (3, 2048)


def test_make_pairs_min_rms_drops_silence():
    sig = np.concatenate([np.zeros(4096), np.random.default_rng(2).standard_normal(4096)])
    X, y = make_pairs([sig], 2, segment=4096, min_rms=0.05)
    assert len(y) == 1 and np.sqrt(np.mean(y**2)) > 0.5


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"segment": 1001}, "not a multiple of rate"),
        ({"segment": 1024, "hop": 3}, "hop"),
        ({"segment": 2}, "segment"),
        ({"segment": 1 << 20}, "no segment"),
        ({"min_rms": -1}, "min_rms"),
    ],
)
def test_make_pairs_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_pairs([np.ones(5000)], 4, **kwargs)


def test_make_pairs_rejects_empty_and_bad_signals():
    with pytest.raises(ValueError, match="empty"):
        make_pairs([], 2)
    with pytest.raises(ValueError, match=r"signals\[1\].*NaN"):
        make_pairs([np.ones(5000), np.full(5000, np.nan)], 2, segment=1000)


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 8), st.integers(1, 6), st.integers(1, 4))
def test_make_pairs_property(rate, seg_units, hop_units):
    segment, hop = 64 * rate * seg_units, rate * 16 * hop_units
    sig = np.random.default_rng(rate).standard_normal(3000)
    if segment > 3000 // rate * rate:
        return
    X, y = make_pairs([sig], rate, segment=segment, hop=hop)
    assert y.shape[1] == segment and X.shape[1] == segment // rate and len(X) == len(y)
    assert len(y) == (3000 // rate * rate - segment) // hop + 1
