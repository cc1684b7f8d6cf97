"""Tests for the classical up-samplers and their estimator contract."""

import joblib
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from audiosr import BicubicUpsampler, SincUpsampler, SplineUpsampler, decimate
from audiosr.metrics import snr

ESTIMATORS = [BicubicUpsampler, SplineUpsampler, SincUpsampler]
RATES = [2, 3, 4, 6, 8]


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_length_and_dtype(Est, rate, dtype):
    X = np.random.default_rng(0).standard_normal((3, 50)).astype(dtype)
    out = Est(rate=rate).fit(X).transform(X)
    assert out.shape == (3, 50 * rate)
    assert out.dtype == dtype


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_integer_input_becomes_float64(Est):
    out = Est(rate=2).transform(np.arange(20).reshape(2, 10))
    assert out.dtype == np.float64


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("rate", RATES)
def test_input_samples_kept(Est, rate):
    X = np.random.default_rng(1).standard_normal((2, 40))
    np.testing.assert_allclose(Est(rate=rate).transform(X)[:, ::rate], X, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(ESTIMATORS),
    st.sampled_from(RATES),
    st.integers(2, 200),
    st.floats(-5, 5),
    st.floats(-1, 1),
)
def test_constant_and_linear_signals_reproduced(Est, rate, n, offset, slope):
    X = (offset + slope * np.arange(n))[None, :]
    expected = offset + slope * np.arange(n * rate) / rate
    np.testing.assert_allclose(Est(rate=rate).transform(X)[0], expected, atol=1e-9)


def test_bicubic_reproduces_quadratics_inside():
    x = np.arange(30.0) ** 2 / 10
    out = BicubicUpsampler(rate=4).transform(x[None])[0]
    t = np.arange(120) / 4
    np.testing.assert_allclose(out[4:-8], (t**2 / 10)[4:-8], atol=1e-9)


def test_spline_matches_scipy_not_a_knot():
    from scipy.interpolate import CubicSpline

    x = np.random.default_rng(2).standard_normal(25)
    expected = CubicSpline(np.arange(25), x, bc_type="not-a-knot")(np.arange(75) / 3)
    np.testing.assert_allclose(SplineUpsampler(rate=3).transform(x[None])[0], expected)


@pytest.mark.parametrize("rate", RATES)
def test_sinc_decimated_back_is_close_to_input(rate):
    # A band-limited input: sinc up-sampling adds nothing above the input's Nyquist,
    # so decimating its output gives the input back.
    rng = np.random.default_rng(rate)
    n = 4000
    t = np.arange(n)
    x = sum(rng.uniform(0.1, 1) * np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) for f in rng.uniform(0.01, 0.35, 5))
    back = decimate(SincUpsampler(rate=rate).transform(x[None])[0], rate)
    assert snr(x[200:-200], back[200:-200]) > 40


def test_sinc_is_close_to_ideal_band_limited_interpolation():
    t = np.arange(2000)
    x = np.sin(2 * np.pi * 0.11 * t)
    out = SincUpsampler(rate=4).transform(x[None])[0]
    ideal = np.sin(2 * np.pi * 0.11 * np.arange(8000) / 4)
    assert np.max(np.abs(out - ideal)[400:-400]) < 5e-3


def test_better_than_nothing_on_smooth_signal():
    t = np.arange(16000) / 16000
    y = np.sin(2 * np.pi * 200 * t) + 0.5 * np.sin(2 * np.pi * 700 * t)
    X = y[None, ::4]
    for Est in ESTIMATORS:
        assert Est(rate=4).score(X, y[None]) > 30


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_score_is_mean_snr(Est):
    rng = np.random.default_rng(3)
    y = rng.standard_normal((4, 400))
    X = y[:, ::4]
    est = Est(rate=4)
    assert est.score(X, y) == pytest.approx(np.mean([snr(a, b) for a, b in zip(y, est.transform(X))]))


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_fit_returns_self_and_transform_needs_no_fit(Est):
    X = np.zeros((2, 10))
    est = Est(rate=2)
    assert est.fit(X) is est
    assert est.n_features_in_ == 10
    np.testing.assert_array_equal(Est(rate=2).transform(X), est.transform(X))


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_clone_and_pickle(Est, tmp_path):
    X = np.random.default_rng(4).standard_normal((2, 30))
    est = Est(rate=3).fit(X)
    assert clone(est).get_params() == est.get_params()
    joblib.dump(est, tmp_path / "m.joblib")
    loaded = joblib.load(tmp_path / "m.joblib")
    np.testing.assert_array_equal(loaded.transform(X), est.transform(X))


def test_pipeline_and_grid_search():
    rng = np.random.default_rng(5)
    t = np.arange(32000) / 16000
    sig = np.sin(2 * np.pi * 300 * t) + 0.5 * np.sin(2 * np.pi * 1100 * t + rng.uniform())
    from audiosr import make_pairs

    X, y = make_pairs([sig], 2, segment=2000, method="subsample")
    pipe = make_pipeline(FunctionTransformer(lambda a: 0.5 * a), BicubicUpsampler(rate=2))
    assert pipe.fit(X, y).transform(X).shape == y.shape
    assert pipe.score(X, 0.5 * y) == pytest.approx(BicubicUpsampler(rate=2).score(0.5 * X, 0.5 * y))
    search = GridSearchCV(BicubicUpsampler(rate=2), {"a": [-0.5, -0.75, -1.0]}, cv=3).fit(X, y)
    assert search.best_params_ == {"a": -0.5}  # Keys' optimum for smooth signals


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize(
    "X, exc, match",
    [
        (np.array([[1.0, np.nan, 2.0]]), ValueError, "NaN or infinite"),
        (np.array([[1.0, np.inf, 2.0]]), ValueError, "NaN or infinite"),
        (np.zeros((0, 10)), ValueError, "no clip"),
        (np.zeros((2, 0)), ValueError, "minimum of 1"),
        (np.zeros((2, 3, 10)), ValueError, "3-D"),
        (np.zeros(10), ValueError, r"reshape\(1, -1\)"),
        ("abc", TypeError, "array of audio samples"),
        (np.array([["a", "b"]]), TypeError, "numbers"),
    ],
)
def test_bad_input(Est, X, exc, match):
    with pytest.raises(exc, match=match):
        Est(rate=2).transform(X)
    with pytest.raises(exc, match=match):
        Est(rate=2).fit(X)


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize(
    "rate, exc, match",
    [
        (1, ValueError, ">= 2"),
        (0, ValueError, ">= 2"),
        (2.5, ValueError, "integer"),
        ("4", TypeError, "integer"),
        (10**6, ValueError, "maximum"),
        (True, TypeError, "integer"),
    ],
)
def test_bad_rate(Est, rate, exc, match):
    with pytest.raises(exc, match=match):
        Est(rate=rate).fit(np.zeros((1, 10)))
    with pytest.raises(exc, match=match):
        Est(rate=rate).transform(np.zeros((1, 10)))


def test_integral_float_rate_accepted():
    assert BicubicUpsampler(rate=4.0).transform(np.zeros((1, 5))).shape == (1, 20)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_score_rejects_y_of_wrong_length(Est):
    X = np.zeros((2, 10))
    with pytest.raises(ValueError, match=r"y has shape \(2, 30\).*\(2, 40\)"):
        Est(rate=4).score(X, np.zeros((2, 30)))
    with pytest.raises(ValueError, match="requires y to be passed"):
        Est(rate=4).score(X, None)


def test_bad_parameters():
    with pytest.raises(TypeError, match="a must be a number"):
        BicubicUpsampler(a="x").transform(np.zeros((1, 5)))
    with pytest.raises(ValueError, match="window"):
        SincUpsampler(window="nonsense").transform(np.zeros((1, 5)))


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_one_sample_clips(Est):
    np.testing.assert_array_equal(Est(rate=3).transform(np.array([[2.0], [-1.0]])), [[2.0] * 3, [-1.0] * 3])
