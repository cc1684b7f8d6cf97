"""Tests for audiosr.signal: decimation, resampling and training pairs."""

import numpy as np
import pytest
import scipy.signal
from hypothesis import given, settings
from hypothesis import strategies as st

from audiosr.signal import DECIMATION_METHODS, MIX_METHODS, decimate, make_pairs, resample


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


# ----------------------------------------------------------------------------- input makers

FILTERING = [m for m in DECIMATION_METHODS if m != "subsample"]
WITH_CUTOFF = ["iir", "fir", "poly", "fft", "butter"]


def band_limited_noise(n, top, seed=0):
    """White noise low-passed (brick wall) to ``top`` cycles per sample."""
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    spectrum[np.fft.rfftfreq(n) > top] = 0
    return np.fft.irfft(spectrum, n)


def level_db(x):
    """Level of a tone's samples relative to a full-scale sine."""
    return 20 * np.log10(np.sqrt(2 * np.mean(np.square(x))) + 1e-300)


def test_method_lists():
    assert set(MIX_METHODS) < set(DECIMATION_METHODS)
    assert len(set(DECIMATION_METHODS)) == len(DECIMATION_METHODS)


@pytest.mark.parametrize("method", DECIMATION_METHODS)
@pytest.mark.parametrize("rate", [2, 3, 4, 8])
@pytest.mark.parametrize("n", [1000, 1001, 1003])
def test_every_method_length_and_dtype(method, rate, n):
    for dtype in (np.float32, np.float64):
        out = decimate(tone(n, 100, 16000, dtype), rate, method=method)
        assert out.shape == (-(-n // rate),) and out.dtype == dtype
    assert decimate(np.arange(n, dtype=np.int16), rate, method=method).dtype == np.float64


@pytest.mark.parametrize("method", ["subsample", "poly", "soxr_hq", "soxr_vhq", "fft", "fir"])
@pytest.mark.parametrize("n", [1, 2, 5])
def test_very_short_signals(method, n):
    assert decimate(np.ones(n), 4, method=method).shape == (-(-n // 4),)


def test_zero_phase_iir_filters_refuse_short_signals():
    assert decimate(np.zeros(22), 2, method="butter").shape == (11,)
    with pytest.raises(ValueError, match="Butterworth filter needs at least 22"):
        decimate(np.zeros(21), 2, method="butter")
    with pytest.raises(ValueError, match="at least 28"):
        decimate(np.zeros(27), 2, method="iir", cutoff=0.9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_methods_are_the_tools_they_imitate(dtype):
    import soxr

    y = band_limited_noise(4000, 0.4, seed=3).astype(dtype)
    for rate in (2, 3, 4):
        expected = {
            "iir": scipy.signal.decimate(y, rate),
            "fir": scipy.signal.decimate(y, rate, ftype="fir"),
            "poly": scipy.signal.resample_poly(y, 1, rate),
            "fft": scipy.signal.resample(y[: 3996], 3996 // rate),
            "soxr_hq": soxr.resample(y[:3996], rate, 1, "HQ"),
            "soxr_vhq": soxr.resample(y[:3996], rate, 1, "VHQ"),
            "butter": scipy.signal.sosfiltfilt(scipy.signal.butter(6, 1 / rate, output="sos"), y)[::rate],
        }
        tol = 1e-5 if dtype == np.float32 else 1e-12
        for method, want in expected.items():
            got = decimate(y if method in ("iir", "fir", "poly", "butter") else y[:3996], rate, method=method)
            np.testing.assert_allclose(got, want, atol=tol, err_msg=f"{method} x{rate}")


@pytest.mark.parametrize("method", DECIMATION_METHODS)
@pytest.mark.parametrize("rate", [2, 3, 4, 6])
def test_output_sample_k_sits_at_input_sample_k_times_rate(method, rate):
    # In-band noise passes every filter unchanged, so the output must be y[::rate] itself:
    # the cross-correlation peaks at lag 0 to within a few hundredths of a low-rate sample.
    n = 6001
    y = band_limited_noise(n, 0.2 / rate, seed=rate)
    out, ref = decimate(y, rate, method=method), y[::rate]
    inner = slice(len(ref) // 8, -len(ref) // 8)
    xcorr = np.array([np.dot(out[inner], np.roll(ref, lag)[inner]) for lag in (-1, 0, 1)])
    assert np.argmax(xcorr) == 1
    lag = 0.5 * (xcorr[0] - xcorr[2]) / (xcorr[0] - 2 * xcorr[1] + xcorr[2])  # parabola through the peak
    assert abs(lag) < 0.03
    assert np.sqrt(np.mean((out - ref)[inner] ** 2)) < 0.02 * np.std(ref)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(FILTERING), st.sampled_from([2, 3, 4, 6, 8]), st.floats(0, 1), st.floats(0, 2 * np.pi))
def test_anti_alias_property(method, rate, where, phase):
    """A tone between 1.5x the new Nyquist and the old Nyquist comes out at least 40 dB down."""
    f = (1.5 + where * (0.95 * rate - 1.5)) * 0.5 / rate  # cycles per high-rate sample
    y = np.sin(2 * np.pi * f * np.arange(3000) + phase)
    out = decimate(y, rate, method=method)
    edge = len(out) // 10
    assert level_db(out[edge:-edge]) < -40


def test_subsample_aliases():
    y = tone(4000, 3000, 16000)
    assert level_db(decimate(y, 4, method="subsample")) > -1


@pytest.mark.parametrize("method", WITH_CUTOFF)
@pytest.mark.parametrize("rate", [2, 4])
def test_cutoff_is_honoured(method, rate):
    nyquist = 0.5 / rate  # of the new rate, in cycles per high-rate sample
    in_band = np.sin(2 * np.pi * 0.25 * nyquist * np.arange(8000))
    above_cutoff = np.sin(2 * np.pi * 0.95 * nyquist * np.arange(8000))
    trim = slice(200, -200)
    assert level_db(decimate(in_band, rate, method=method, cutoff=0.5)[trim]) > -1
    assert level_db(decimate(above_cutoff, rate, method=method, cutoff=0.5)[trim]) < -30
    if method != "iir":  # the others' default cutoff is the new Nyquist itself
        assert level_db(decimate(above_cutoff, rate, method=method)[trim]) > -6.5


def test_default_cutoff_is_the_same_as_passing_it():
    y = band_limited_noise(3000, 0.3)
    np.testing.assert_array_equal(decimate(y, 4), decimate(y, 4, cutoff=0.8))
    for method in ("fir", "poly", "fft", "butter"):
        np.testing.assert_allclose(decimate(y, 4, method=method), decimate(y, 4, method=method, cutoff=1.0))


@pytest.mark.parametrize("method", DECIMATION_METHODS)
def test_every_method_axis_and_batches(method):
    y = np.stack([band_limited_noise(801, 0.1, seed=s) for s in range(6)]).reshape(2, 3, 801)
    rows = np.stack([decimate(r, 3, method=method) for r in y.reshape(6, 801)]).reshape(2, 3, -1)
    np.testing.assert_allclose(decimate(y, 3, method=method), rows, atol=1e-12)
    np.testing.assert_allclose(decimate(np.moveaxis(y, -1, 0), 3, method=method, axis=0), np.moveaxis(rows, -1, 0))


@pytest.mark.parametrize("method", DECIMATION_METHODS)
def test_empty_batches(method):
    assert decimate(np.zeros((2, 0, 100)), 4, method=method).shape == (2, 0, 25)


@pytest.mark.parametrize("cutoff", [0, -0.5, 1.01, float("nan"), True, "0.9", [0.9]])
def test_bad_cutoffs(cutoff):
    with pytest.raises(ValueError, match=r"cutoff must be a number in \(0, 1\]"):
        decimate(np.zeros(100), 2, method="fir", cutoff=cutoff)


@pytest.mark.parametrize("method", ["subsample", "soxr_hq", "soxr_vhq"])
def test_methods_without_a_cutoff_refuse_one(method):
    with pytest.raises(ValueError, match=f"method='{method}' cannot honour cutoff=0.9.*cutoff=None"):
        decimate(np.zeros(100), 2, method=method, cutoff=0.9)
    with pytest.raises(ValueError, match="cannot honour"):
        make_pairs([np.ones(5000)], 4, segment=1024, method=method, cutoff=(0.8, 0.9))


def test_bad_method_names_list_the_choices():
    with pytest.raises(ValueError, match="method must be one of.*soxr_hq"):
        decimate(np.zeros(100), 2, method="soxr")
    with pytest.raises(ValueError, match="method must be one of.*mix"):
        make_pairs([np.ones(5000)], 4, method="mixed")
    with pytest.raises(ValueError, match="method must be one of"):
        make_pairs([np.ones(5000)], 4, method=["iir", "sinc"])
    with pytest.raises(ValueError, match="non-empty list"):
        make_pairs([np.ones(5000)], 4, method=[])


# ----------------------------------------------------------------------------- make_pairs: drawn input makers


def _methods_used(signals, X, rate, candidates):
    """Which method made each signal's (single) pair, by matching against every candidate."""
    used = []
    for sig, x in zip(signals, X):
        matches = [m for m in candidates if np.allclose(decimate(sig, rate, method=m), x)]
        assert len(matches) == 1
        used.append(matches[0])
    return used


def test_mix_draws_per_signal_reproducibly():
    signals = [band_limited_noise(1024, 0.45, seed=s) for s in range(12)]
    X1, y1 = make_pairs(signals, 4, segment=1024, method="mix", random_state=0)
    X2, _ = make_pairs(signals, 4, segment=1024, method="mix", random_state=np.random.RandomState(0))
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, np.stack(signals))
    used = _methods_used(signals, X1, 4, MIX_METHODS)
    assert len(set(used)) >= 3
    X3, _ = make_pairs(signals, 4, segment=1024, method="mix", random_state=1)
    assert not np.array_equal(X1, X3)


def test_a_list_of_methods_is_drawn_from():
    signals = [band_limited_noise(1024, 0.45, seed=s) for s in range(10)]
    X, _ = make_pairs(signals, 4, segment=1024, method=("subsample", "fft"), random_state=3)
    assert set(_methods_used(signals, X, 4, ("subsample", "fft"))) == {"subsample", "fft"}


def test_all_pairs_of_a_signal_share_its_method():
    sig = band_limited_noise(8192, 0.45)
    X, _ = make_pairs([sig], 4, segment=1024, hop=512, method="mix", random_state=5)
    full = np.concatenate([X[0], *[x[-128:] for x in X[1:]]])
    assert any(np.allclose(full, decimate(sig, 4, method=m)) for m in MIX_METHODS)


def test_cutoff_ranges_are_drawn_per_signal():
    signals = [band_limited_noise(1024, 0.45, seed=s) for s in range(4)]
    X, _ = make_pairs(signals, 4, segment=1024, method="butter", cutoff=(0.6, 0.9), random_state=0)
    rng = np.random.RandomState(0)
    for sig, x in zip(signals, X):
        np.testing.assert_allclose(x, decimate(sig, 4, method="butter", cutoff=rng.uniform(0.6, 0.9)))
    fixed, _ = make_pairs(signals, 4, segment=1024, method="butter", cutoff=0.7)
    np.testing.assert_allclose(fixed[0], decimate(signals[0], 4, method="butter", cutoff=0.7))


def test_drawn_cutoffs_skip_methods_without_one():
    signals = [band_limited_noise(1024, 0.45, seed=s) for s in range(10)]
    X, _ = make_pairs(signals, 4, segment=1024, method=["soxr_hq", "fft"], cutoff=0.5, random_state=0)
    with_cutoff = [np.allclose(x, decimate(s, 4, method="fft", cutoff=0.5)) for s, x in zip(signals, X)]
    kept = [np.allclose(x, decimate(s, 4, method="soxr_hq")) for s, x in zip(signals, X)]
    assert all(a != b for a, b in zip(with_cutoff, kept)) and any(with_cutoff) and any(kept)


@pytest.mark.parametrize("cutoff", [(0.9, 0.8), (0.5,), (0.5, 0.7, 0.9), (0, 0.9), (0.5, 2)])
def test_bad_cutoff_ranges(cutoff):
    with pytest.raises(ValueError, match="cutoff"):
        make_pairs([np.ones(5000)], 4, segment=1024, method="mix", cutoff=cutoff)
