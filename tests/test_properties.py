"""Hypothesis properties of every public entry point over random shapes, rates and dtypes.

For every estimator's ``transform``, :func:`audiosr.upsample`, :func:`audiosr.decimate`,
:func:`audiosr.make_pairs` and every metric (each convention of ``snr`` and ``lsd``):

* nothing raises but the documented errors, and those are raised exactly when the
  documentation says (too-short clips, empty bands, ...);
* finite input gives finite output of the documented shape and dtype (the input's
  float dtype, float64 for integer input).

int16 input is PCM: whether it is scaled to [-1, 1) or read as plain numbers, the
properties below (shape, float64, finite) hold, so they do not look at the scale.

The neural estimators are fitted once per (estimator, rate), tiny and for one epoch;
hypothesis then only draws what goes through ``transform``. RuntimeWarnings (numpy's
overflow, divide-by-zero, invalid value) are errors inside every property.
"""

import functools
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from audiosr import BicubicUpsampler, SincUpsampler, SplineUpsampler, decimate, make_pairs, upsample
from audiosr.metrics import lsd, lsd_hf, lsd_lf, si_sdr, snr

DTYPES = (np.float32, np.float64, np.int16)
CLASSICAL = (BicubicUpsampler, SplineUpsampler, SincUpsampler)
RATES = st.one_of(st.integers(2, 8), st.sampled_from([16, 32]))
NEURAL_RATES = (2, 3, 4, 6, 8)


def out_dtype(dtype):
    """The documented output dtype: float32 and float64 kept, anything else float64."""
    dtype = np.dtype(dtype)
    return dtype if dtype.kind == "f" else np.dtype(np.float64)


def strict(fn, *args, **kwargs):
    """Call ``fn`` with RuntimeWarnings turned into errors (UserWarnings are documented: let them be)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)
        return fn(*args, **kwargs)


def raises_documented(match, fn, *args, **kwargs):
    with pytest.raises(ValueError, match=match):
        strict(fn, *args, **kwargs)


# --------------------------------------------------------------------------- strategies


def _elements(dtype, max_abs):
    if np.dtype(dtype).kind == "i":
        info = np.iinfo(dtype)
        return st.integers(int(info.min), int(info.max))
    return st.one_of(
        st.floats(-1, 1, width=32),
        st.floats(-max_abs, max_abs, width=32),
        st.sampled_from([0.0, 1.0, -1.0, max_abs, -max_abs]),
    )


@st.composite
def signals(draw, shape, dtype, max_abs=1e3):
    """Arrays of ``shape``: sparse ones (a fill value, often 0, plus a few drawn samples,
    so silence and constant rows come up often), or dense noise of a drawn scale."""
    dtype = np.dtype(dtype)
    if draw(st.booleans()):
        return draw(hnp.arrays(dtype, shape, elements=_elements(dtype, max_abs)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if dtype.kind == "i":
        info = np.iinfo(dtype)
        return rng.integers(info.min, int(info.max) + 1, size=shape, dtype=dtype)
    scale = draw(st.sampled_from([1e-6, 1.0, max_abs]))
    return (scale * rng.standard_normal(shape)).astype(dtype)


def check_output(out, shape, dtype):
    assert isinstance(out, np.ndarray)
    assert out.shape == shape
    assert out.dtype == out_dtype(dtype)
    assert np.all(np.isfinite(out))


# --------------------------------------------------------------------------- classical estimators


@pytest.mark.parametrize("cls", CLASSICAL, ids=lambda c: c.__name__)
@settings(max_examples=30, deadline=None)
@given(data=st.data(), rate=RATES, n_clips=st.integers(1, 3), length=st.integers(1, 500), dtype=st.sampled_from(DTYPES))
def test_classical_transform_any_length(cls, data, rate, n_clips, length, dtype):
    X = data.draw(signals((n_clips, length), dtype), label="X")
    model = cls(rate=rate)
    out = strict(model.transform, X)
    check_output(out, (n_clips, length * rate), dtype)
    # Output sample k * rate is input sample k (the grids are aligned on the first sample).
    if np.dtype(dtype).kind == "f":
        Xf = np.asarray(X, dtype=np.float64)
        tol = (1e-5 if dtype == np.float32 else 1e-9) * max(1.0, float(np.max(np.abs(Xf))))
        np.testing.assert_allclose(out[:, ::rate], Xf, rtol=0, atol=tol)


@settings(max_examples=30, deadline=None)
@given(
    data=st.data(),
    method=st.sampled_from(["sinc", "spline", "bicubic"]),
    rate=RATES,
    ndim=st.sampled_from([1, 2]),
    n_channels=st.integers(0, 3),
    length=st.integers(0, 400),
    dtype=st.sampled_from(DTYPES),
)
def test_upsample_any_shape(data, method, rate, ndim, n_channels, length, dtype):
    shape = (length,) if ndim == 1 else (n_channels, length)
    x = data.draw(signals(shape, dtype), label="x")
    if ndim == 2 and n_channels == 0:
        raises_documented("holds no clip", upsample, x, rate, method=method)
    elif length == 0:
        raises_documented("at least 1 sample", upsample, x, rate, method=method)
    else:
        out = strict(upsample, x, rate, method=method)
        check_output(out, shape[:-1] + (length * rate,), dtype)


# --------------------------------------------------------------------------- neural estimators

_PATCH = {2: 256, 3: 288, 4: 256, 6: 288, 8: 256}  # smallest valid for depth 2: multiples of lcm(2r, 16)
_TINY = dict(filters=(4, 8), kernel_sizes=(9, 5), batch_size=8, max_epochs=1, random_state=0, device="cpu")


@functools.lru_cache(maxsize=None)
def fitted(name, rate):
    """A tiny model trained for one epoch on noise, and the shortest clip (low-rate samples) it accepts."""
    from audiosr import AudioUNet, DualBranchSR, SpectralDNN

    if name == "SpectralDNN":
        n_fft = 64
        model = SpectralDNN(
            rate=rate,
            n_fft=n_fft,
            context=3,
            hidden_layer_sizes=(16,),
            batch_size=32,
            max_epochs=1,
            random_state=0,
            device="cpu",
        )
        high = n_fft
    else:
        cls = DualBranchSR if name == "DualBranchSR" else AudioUNet
        model = cls(rate=rate, patch_len=_PATCH[rate], **_TINY)
        high = _PATCH[rate]
    n_low = 2 * math.ceil(high / rate)
    y = np.random.default_rng(0).standard_normal((4, n_low * rate))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        model.fit(y[:, ::rate].copy(), y)
    return model, math.ceil(high / rate)


@pytest.mark.parametrize("name", ["DualBranchSR", "AudioUNet", "SpectralDNN"])
@settings(max_examples=25, deadline=None)
@given(
    data=st.data(),
    rate=st.sampled_from(NEURAL_RATES),
    n_clips=st.integers(1, 3),
    dtype=st.sampled_from(DTYPES),
)
def test_neural_transform(name, data, rate, n_clips, dtype):
    model, shortest = fitted(name, rate)
    valid = st.integers(shortest, 3 * shortest + 5)
    length = data.draw(st.one_of(valid, st.just(shortest), st.integers(1, shortest - 1), valid), label="length")
    X = data.draw(signals((n_clips, length), dtype), label="X")
    if length < shortest:
        raises_documented(f"at least {shortest} low-rate samples", model.transform, X)
    else:
        check_output(strict(model.transform, X), (n_clips, length * rate), dtype)


# The networks compute in float32 (squared FFT magnitudes overflow near 1e19): samples far
# outside audio's range are refused with a clear error instead of turning into NaN.
@pytest.mark.parametrize(
    "name, amplitude, dtype",
    [("DualBranchSR", 1e19, np.float32), ("DualBranchSR", 1e19, np.float64), ("AudioUNet", 1e40, np.float64)],
)
def test_patch_models_on_huge_finite_input(name, amplitude, dtype):
    model, shortest = fitted(name, 4)
    X = (amplitude * np.random.default_rng(0).standard_normal((1, 2 * shortest))).astype(dtype)
    with pytest.raises(ValueError, match="expect audio"):
        strict(model.transform, X)


# --------------------------------------------------------------------------- metrics

AMPLITUDES = [1e-30, 1e-3, 1.0, 1e3, 1e30]
N_FFTS = [4, 16, 64, 256, 2048]


@st.composite
def metric_pairs(draw, max_length=3000):
    """(y_true, y_pred): 1-D or (n_clips, n_times), lengths equal or within 2048 samples of each other."""
    ndim = draw(st.sampled_from([1, 2]))
    n_clips = draw(st.integers(1, 3))
    n_true = draw(st.integers(1, max_length))
    n_pred = draw(st.one_of(st.just(n_true), st.integers(max(1, n_true - 2048), n_true + 2048)))
    lead = () if ndim == 1 else (n_clips,)
    pair = []
    for n in (n_true, n_pred):
        dtype = np.dtype(draw(st.sampled_from(DTYPES)))
        x = draw(signals(lead + (n,), dtype))
        if dtype.kind == "f":
            x = (x * draw(st.sampled_from(AMPLITUDES))).astype(dtype)
        pair.append(x)
    return tuple(pair)


def check_metric_value(value, y_true, reduce):
    if reduce == "mean" or y_true.ndim == 1:
        assert isinstance(value, float)
    else:
        assert isinstance(value, np.ndarray) and value.shape == (y_true.shape[0],) and value.dtype == np.float64
    assert np.all(np.isfinite(value))


@settings(max_examples=60, deadline=None)
@given(
    pair=metric_pairs(),
    convention=st.sampled_from(["default", "kuleshov2017", "tfnet2018"]),
    reduce=st.sampled_from(["mean", None]),
)
def test_snr_and_si_sdr(pair, convention, reduce):
    y_true, y_pred = pair
    value = strict(snr, y_true, y_pred, convention=convention, reduce=reduce)
    check_metric_value(value, y_true, reduce)
    # A silent reference gives a finite (very negative) SNR, whatever the estimate.
    silent = strict(snr, np.zeros_like(y_true), y_pred, convention=convention, reduce=reduce)
    check_metric_value(silent, y_true, reduce)
    value = strict(si_sdr, y_true, y_pred, reduce=reduce)
    check_metric_value(value, y_true, reduce)


@settings(max_examples=60, deadline=None)
@given(
    pair=metric_pairs(),
    convention=st.sampled_from(["default", "kuleshov2017", "tfnet2018"]),
    reduce=st.sampled_from(["mean", None]),
    n_fft=st.sampled_from(N_FFTS),
    data=st.data(),
)
def test_lsd(pair, convention, reduce, n_fft, data):
    y_true, y_pred = pair
    hop = data.draw(st.integers(1, n_fft), label="hop_length")
    kwargs = dict(convention=convention, n_fft=n_fft, hop_length=hop, reduce=reduce)
    n = min(y_true.shape[-1], y_pred.shape[-1])
    if convention != "tfnet2018" and n <= n_fft // 2:
        raises_documented("too short for an STFT", lsd, y_true, y_pred, **kwargs)
        return
    value = strict(lsd, y_true, y_pred, **kwargs)
    check_metric_value(value, y_true, reduce)
    assert np.all(np.asarray(value) >= 0)
    if convention == "kuleshov2017":
        assert np.all(np.asarray(value) <= 10.0)  # the code's clip
    # Identical signals: 0 (kuleshov2017 adds 1e-8 to each squared difference: sqrt(1e-8)).
    same = strict(lsd, y_true, y_true, **kwargs)
    assert np.all(np.asarray(same) <= (1e-4 * (1 + 1e-9) if convention == "kuleshov2017" else 0.0))
    if convention == "default":
        assert strict(lsd, y_pred, y_true, **kwargs) == pytest.approx(value, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("band", [lsd_hf, lsd_lf], ids=["lsd_hf", "lsd_lf"])
@settings(max_examples=40, deadline=None)
@given(
    pair=metric_pairs(),
    rate=st.integers(2, 8),
    reduce=st.sampled_from(["mean", None]),
    n_fft=st.sampled_from(N_FFTS),
    data=st.data(),
)
def test_band_lsd(band, pair, rate, reduce, n_fft, data):
    y_true, y_pred = pair
    hop = data.draw(st.integers(1, n_fft), label="hop_length")
    kwargs = dict(rate=rate, n_fft=n_fft, hop_length=hop, reduce=reduce)
    n = min(y_true.shape[-1], y_pred.shape[-1])
    k = int((1 + n_fft // 2) / rate)
    if band is lsd_lf and k < 1:
        raises_documented("leaves no bins in the low band", band, y_true, y_pred, **kwargs)
    elif n <= n_fft // 2:
        raises_documented("too short for an STFT", band, y_true, y_pred, **kwargs)
    else:
        value = strict(band, y_true, y_pred, **kwargs)
        check_metric_value(value, y_true, reduce)
        assert np.all(np.asarray(value) >= 0)
        assert np.all(np.asarray(strict(band, y_true, y_true, **kwargs)) == 0.0)


# Silent and extreme clips, which once made si_sdr divide by zero.
@pytest.mark.parametrize(
    "y_pred",
    [np.zeros(1000), np.full(1000, 0.25)],
    ids=["silent", "constant"],
)
def test_si_sdr_of_silent_estimate_is_finite(y_pred):
    y_true = np.random.default_rng(0).standard_normal(1000)
    assert np.isfinite(strict(si_sdr, y_true, y_pred))


def test_si_sdr_of_two_silent_clips_is_finite():
    assert np.isfinite(strict(si_sdr, np.zeros(1000), np.zeros(1000)))


def test_si_sdr_of_silent_reference_and_loud_estimate_is_finite():
    # tiny / 3e63 underflows to 0, then log10(0) = -inf.
    y_pred = 1e30 * np.random.default_rng(0).standard_normal(3000)
    assert np.isfinite(strict(si_sdr, np.zeros(3000), y_pred))


def test_si_sdr_of_very_quiet_clips_is_finite():
    # sum(y**2) underflows to 0 below ~1e-160: a perfect estimate scores +inf instead of 200 dB.
    y = 1e-170 * np.random.default_rng(0).standard_normal(1000)
    assert np.isfinite(strict(si_sdr, y, 0.5 * y))


# --------------------------------------------------------------------------- decimate and make_pairs


@settings(max_examples=40, deadline=None)
@given(
    data=st.data(),
    rate=RATES,
    method=st.sampled_from(["iir", "fir", "subsample"]),
    lead=st.sampled_from([(), (2,), (3, 2)]),
    length=st.integers(1, 300),
    dtype=st.sampled_from(DTYPES),
)
def test_decimate_any_shape(data, rate, method, lead, length, dtype):
    shape = lead + (length,)
    axis = data.draw(st.sampled_from([-1, 0]), label="axis")
    shape = shape if axis == -1 else shape[::-1]  # time on the chosen axis
    y = data.draw(signals(shape, dtype), label="y")
    expected = list(shape)
    expected[axis] = math.ceil(length / rate)
    if method == "iir" and length < 28:
        raises_documented("at least 28", decimate, y, rate, method=method, axis=axis)
    else:
        out = strict(decimate, y, rate, method=method, axis=axis)
        check_output(out, tuple(expected), dtype)


@settings(max_examples=40, deadline=None)
@given(
    data=st.data(),
    rate=st.integers(2, 8),
    n_signals=st.integers(1, 3),
    seg_factor=st.integers(1, 40),
    hop_factor=st.one_of(st.none(), st.integers(1, 40)),
    method=st.sampled_from(["iir", "fir", "subsample"]),
    min_rms=st.sampled_from([0.0, 0.0, 0.1]),
    dtype=st.sampled_from(DTYPES),
)
def test_make_pairs(data, rate, n_signals, seg_factor, hop_factor, method, min_rms, dtype):
    segment = rate * seg_factor
    hop = None if hop_factor is None else rate * hop_factor
    lengths = data.draw(st.lists(st.integers(1, 400), min_size=n_signals, max_size=n_signals), label="lengths")
    signals_ = [data.draw(signals((n,), dtype), label="signal") for n in lengths]
    usable = [n // rate * rate for n in lengths]
    step = segment if hop is None else hop
    count = sum(len(range(0, n - segment + 1, step)) for n in usable if n >= segment)
    kwargs = dict(segment=segment, hop=hop, method=method, min_rms=min_rms)
    if method == "iir" and any(segment <= n < 28 for n in usable):
        raises_documented("at least 28", make_pairs, signals_, rate, **kwargs)
    elif count == 0:
        raises_documented("no segment", make_pairs, signals_, rate, **kwargs)
    else:
        try:
            X, y = strict(make_pairs, signals_, rate, **kwargs)
        except ValueError as exc:
            assert min_rms > 0 and "no segment" in str(exc)  # every segment below min_rms
            return
        assert X.shape[0] == y.shape[0] and (X.shape[0] == count or min_rms > 0 and 1 <= X.shape[0] <= count)
        check_output(X, (X.shape[0], segment // rate), dtype)
        check_output(y, (X.shape[0], segment), dtype)
