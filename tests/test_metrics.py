"""Tests for audiosr.metrics: each convention against an independent implementation or a hand value."""

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from audiosr import SplineUpsampler, metrics
from audiosr.metrics import align, hf_cutoff_bin, lsd, lsd_hf, lsd_lf, si_sdr, snr


@pytest.fixture
def noise():
    rng = np.random.default_rng(0)
    return rng.standard_normal((3, 6000))


# ------------------------------------------------------------ independent references
# Written from the formulas of published-systems.md section 6 with torch, not with
# the library's numpy code path, so that a shared mistake cannot hide.


def _torch_power(x, n_fft=2048, hop=512):
    spec = torch.stft(
        torch.as_tensor(x, dtype=torch.float64),
        n_fft=n_fft,
        hop_length=hop,
        win_length=n_fft,
        window=torch.hann_window(n_fft, periodic=True, dtype=torch.float64),
        center=True,
        pad_mode="reflect",
        return_complex=True,
    )
    return (spec.abs() ** 2).numpy()  # (bins, frames)


def _reference_lsd(y, y_hat, lo=0, hi=None):
    """NU-Wave / AERO / AP-BWE LSD of one clip (section 6.3)."""
    s1 = np.log10(np.clip(_torch_power(y), 1e-8, None))[lo:hi]
    s2 = np.log10(np.clip(_torch_power(y_hat), 1e-8, None))[lo:hi]
    per_frame = np.sqrt(np.mean((s1 - s2) ** 2, axis=0))
    return per_frame.mean()


def _reference_lsd_kuleshov(y, y_hat):
    s1 = np.log(_torch_power(y) + 1e-8)
    s2 = np.log(_torch_power(y_hat) + 1e-8)
    value = np.mean(np.sqrt(np.mean((s1 - s2) ** 2 + 1e-8, axis=1)), axis=0)
    return min(value, 10.0)


def _reference_lsd_tfnet(y, y_hat):
    p1 = torch.fft.fft(torch.as_tensor(y)).abs() ** 2
    p2 = torch.fft.fft(torch.as_tensor(y_hat)).abs() ** 2
    return float(torch.sqrt(torch.mean((torch.log10(p1) - torch.log10(p2)) ** 2)))


def _reference_snr(y, y_hat):
    return 20 * np.log10(np.linalg.norm(y) / max(np.linalg.norm(y - y_hat), 1e-8))


# ------------------------------------------------------------ agreement with references


def test_default_lsd_and_snr_match_independent_implementation(noise):
    rng = np.random.default_rng(1)
    y = noise
    y_hat = 0.7 * noise + 0.3 * rng.standard_normal(noise.shape)
    y_hat[:, 3000:] *= 0.01  # an estimate whose error varies over time
    expected_lsd = np.mean([_reference_lsd(a, b) for a, b in zip(y, y_hat)])
    expected_snr = np.mean([_reference_snr(a, b) for a, b in zip(y, y_hat)])
    assert abs(lsd(y, y_hat) - expected_lsd) < 1e-6
    assert abs(snr(y, y_hat) - expected_snr) < 1e-6


def test_band_lsd_match_independent_implementation(noise):
    y_hat = SplineUpsampler(rate=4).transform(noise[:, ::4])
    k = hf_cutoff_bin(4)
    assert k == 256
    for a, b in zip(noise, y_hat):
        assert abs(lsd_hf(a, b, rate=4) - _reference_lsd(a, b, lo=k)) < 1e-6
        assert abs(lsd_lf(a, b, rate=4) - _reference_lsd(a, b, hi=k)) < 1e-6


def test_kuleshov_convention_matches_reference(noise):
    y_hat = SplineUpsampler(rate=2).transform(noise[:, ::2])
    got = lsd(noise, y_hat, convention="kuleshov2017", reduce=None)
    expected = [_reference_lsd_kuleshov(a, b) for a, b in zip(noise, y_hat)]
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_tfnet_convention_matches_reference(noise):
    y_hat = SplineUpsampler(rate=2).transform(noise[:, ::2])
    got = lsd(noise, y_hat, convention="tfnet2018", reduce=None)
    expected = [_reference_lsd_tfnet(a, b) for a, b in zip(noise, y_hat)]
    np.testing.assert_allclose(got, expected, atol=1e-6)


# ------------------------------------------------------------ hand-computed values


@pytest.mark.parametrize("gain", [0.5, 2.0, 10.0])
def test_lsd_of_scaled_copy(noise, gain):
    # A gain c moves every log power by 2 log(c): RMS over bins is then exactly that.
    assert lsd(noise, gain * noise) == pytest.approx(2 * abs(np.log10(gain)), abs=1e-9)
    assert lsd(noise, gain * noise, convention="tfnet2018") == pytest.approx(2 * abs(np.log10(gain)), abs=1e-9)
    # Kuleshov: natural log, + 1e-8 inside the root.
    expected = np.sqrt((2 * np.log(gain)) ** 2 + 1e-8)
    assert lsd(noise, gain * noise, convention="kuleshov2017") == pytest.approx(expected, rel=1e-6)


def test_lsd_against_silence_hits_the_floor():
    # Estimate all zeros: its log power is the floor, log10(1e-8) = -8.
    y = np.random.default_rng(2).standard_normal(4096)
    power = _torch_power(y)
    expected = np.mean(np.sqrt(np.mean((np.log10(np.maximum(power, 1e-8)) + 8) ** 2, axis=0)))
    assert lsd(y, np.zeros_like(y)) == pytest.approx(expected, rel=1e-9)


def test_kuleshov_lsd_is_clipped_at_ten():
    y = np.random.default_rng(3).standard_normal(4096) * 1e3
    assert lsd(y, np.zeros_like(y), convention="kuleshov2017") == 10.0


@pytest.mark.parametrize("gain", [0.0, 0.5, 0.9, 1.5])
def test_snr_of_scaled_copy(noise, gain):
    # y - c y = (1 - c) y, so SNR = -20 log10 |1 - c| whatever y is.
    assert snr(noise, gain * noise) == pytest.approx(-20 * np.log10(abs(1 - gain)), abs=1e-9)


def test_snr_conventions_with_white_noise():
    rng = np.random.default_rng(4)
    y = rng.standard_normal(20000)
    e = 0.1 * rng.standard_normal(20000)
    expected_default = 20 * np.log10(np.linalg.norm(y) / np.linalg.norm(e))
    expected_code = 10 * np.log10(np.mean(y**2) / (np.mean(e**2) + 1e-6))
    assert snr(y, y + e) == pytest.approx(expected_default, abs=1e-9)
    assert snr(y, y + e, convention="kuleshov2017") == pytest.approx(expected_code, abs=1e-9)
    assert snr(y, y + e, convention="tfnet2018") == pytest.approx(expected_code, abs=1e-9)
    assert snr(y, y + e) == pytest.approx(20, abs=0.2)  # noise at -20 dB


def test_identical_signals(noise):
    assert lsd(noise, noise) == 0.0
    assert lsd_hf(noise, noise, rate=2) == 0.0
    assert snr(noise[0], noise[0]) == pytest.approx(20 * np.log10(np.linalg.norm(noise[0]) / 1e-8))
    assert si_sdr(noise, noise) > 100


def test_silent_reference_is_finite():
    assert np.isfinite(snr(np.zeros(100), np.zeros(100)))
    assert np.isfinite(snr(np.zeros(100), np.ones(100), convention="kuleshov2017"))


def test_si_sdr_hand_value():
    rng = np.random.default_rng(5)
    y = rng.standard_normal(8000)
    n = rng.standard_normal(8000)
    n -= n.mean()
    y -= y.mean()
    n -= (n @ y) / (y @ y) * y  # orthogonal noise: the projection keeps y exactly
    expected = 10 * np.log10((y @ y) / (n @ n))
    assert si_sdr(y, 3.0 * (y + n)) == pytest.approx(expected, abs=1e-9)


# ------------------------------------------------------------ batches and reduce


def test_batch_equals_per_clip(noise):
    y_hat = noise + 0.1 * np.random.default_rng(6).standard_normal(noise.shape)
    for metric in (snr, si_sdr, lsd):
        per_clip = metric(noise, y_hat, reduce=None)
        assert per_clip.shape == (3,)
        np.testing.assert_allclose(per_clip, [metric(a, b) for a, b in zip(noise, y_hat)])
        assert metric(noise, y_hat) == pytest.approx(per_clip.mean())
    assert isinstance(lsd(noise[0], y_hat[0], reduce=None), float)


def test_float32_input_gives_same_value(noise):
    y_hat = 0.5 * noise
    assert lsd(noise.astype(np.float32), y_hat.astype(np.float32)) == pytest.approx(lsd(noise, y_hat), abs=1e-5)


def test_length_mismatch_truncates_and_warns(noise):
    y = noise[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert lsd(y, y[:-100]) == pytest.approx(lsd(y[:-100], y[:-100]))
    with pytest.warns(UserWarning, match="truncated"):
        lsd(y, y[:-3000])


@pytest.mark.parametrize("metric", [snr, si_sdr, lsd])
def test_length_tolerance_is_shared_with_length_mismatch(noise, metric):
    # One rule for the library (a warning) and `audiosr evaluate` (an error without --trim).
    y = np.tile(noise[0], 2)
    cut = y[: len(y) - metrics.LENGTH_TOLERANCE]
    assert metrics.length_mismatch(len(y), len(cut)) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metric(y, cut)
    cut = cut[:-1]
    described = metrics.length_mismatch(len(y), len(cut))
    assert described == f"y_true has {len(y)} samples and y_pred {len(cut)}, a difference of more than 2048 samples"
    with pytest.warns(UserWarning, match=f"^{described}; both are truncated to {len(cut)}"):
        metric(y, cut)


def test_length_mismatch_says_seconds_with_a_rate():
    said = metrics.length_mismatch(216000, 20000, sr=48000, names=("the reference", "the estimate"))
    assert said.startswith("the reference has 216000 samples (4.500 s) and the estimate 20000 (0.417 s)")
    assert metrics.length_mismatch(100, 90, tolerance=5) is not None
    assert metrics.length_mismatch(100, 95, tolerance=5) is None


# ------------------------------------------------------------ properties


signals = arrays(np.float64, st.integers(1100, 3000), elements=st.floats(-1, 1, allow_nan=False, width=64))


@settings(max_examples=25, deadline=None)
@given(signals, st.floats(0.01, 100))
def test_lsd_properties(y, gain):
    other = np.roll(y, 7) * gain
    d = lsd(y, other)
    assert d >= 0
    assert d == pytest.approx(lsd(other, y), abs=1e-9)  # symmetric
    assert lsd(y, y) == 0.0
    assert np.isfinite(lsd(y, other, convention="kuleshov2017"))


@settings(max_examples=25, deadline=None)
@given(signals, st.floats(0.01, 100))
def test_si_sdr_is_scale_invariant(y, gain):
    y_hat = np.roll(y, 3) + 0.1 * y
    # Clips that stay above the silence threshold once scaled (the example test below has the rest).
    if np.ptp(y) == 0 or np.max(np.abs(y)) < 1e-150:
        return
    assert si_sdr(y, gain * y_hat) == pytest.approx(si_sdr(y, y_hat), abs=1e-6)


@pytest.mark.parametrize("gain", [0.5, 0.01, 100.0])
def test_si_sdr_counts_subnormal_clips_as_silent(gain):
    # Hypothesis found it: 0.5 * 5e-324 is 0, so such a clip cannot be scaled; both
    # calls must agree that it is silence (0 dB), not -200 dB one time and 0 the other.
    y = np.zeros(2000)
    y[100] = 5e-324
    y_hat = np.roll(y, 3) + 0.1 * y
    assert si_sdr(y, y_hat) == 0.0
    assert si_sdr(y, gain * y_hat) == 0.0
    assert si_sdr(y * 1e150, y_hat * 1e150) == pytest.approx(0.0)


# ------------------------------------------------------------ align


@pytest.mark.parametrize("lag", [-12, 0, 10])
def test_align_recovers_lag(lag):
    rng = np.random.default_rng(7)
    y = rng.standard_normal(3000)
    delayed = np.concatenate([np.zeros(lag), y])[: y.size] if lag >= 0 else y[-lag:]
    yt, yp, found = align(y, delayed, max_lag=50)
    assert found == lag
    assert yt.shape == yp.shape
    assert snr(yt, yp) > 100


# ------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "y_true, y_pred, match",
    [
        (np.array([1.0, np.nan] * 1500), np.zeros(3000), "NaN or infinite"),
        (np.zeros(3000), np.array([np.inf] * 3000), "NaN or infinite"),
        (np.zeros(0), np.zeros(0), "minimum of 1"),
        (np.zeros((2, 2, 3000)), np.zeros((2, 2, 3000)), "3-D"),
        (np.zeros((2, 3000)), np.zeros((3, 3000)), "same number of clips"),
        (np.zeros(3000), np.zeros((1, 3000)), "must both be 1-D"),
    ],
)
def test_bad_input(y_true, y_pred, match):
    with pytest.raises(ValueError, match=match):
        lsd(y_true, y_pred)
    with pytest.raises(ValueError, match=match):
        snr(y_true, y_pred)


def test_bad_options(noise):
    with pytest.raises(ValueError, match="convention"):
        lsd(noise, noise, convention="nuwave")
    with pytest.raises(ValueError, match="reduce"):
        snr(noise, noise, reduce="sum")
    with pytest.raises(ValueError, match="too short"):
        lsd(np.zeros(500), np.zeros(500))
    with pytest.raises(ValueError, match="rate"):
        lsd_hf(noise, noise, rate=1)
    with pytest.raises(TypeError, match="rate"):
        lsd_hf(noise, noise, rate="4")
    with pytest.raises(ValueError, match="n_fft"):
        lsd(noise, noise, n_fft=1001)
    with pytest.raises(ValueError, match="real-valued"):
        snr(np.ones(10, complex), np.ones(10, complex))
    with pytest.raises(TypeError, match="numbers"):
        snr(np.array(["a", "b"]), np.array(["a", "b"]))


# ------------------------------------------------------------ scorers


def test_scorers_agree_with_metrics():
    from sklearn.model_selection import GridSearchCV, cross_val_score

    from audiosr import BicubicUpsampler, make_pairs

    rng = np.random.default_rng(8)
    t = np.arange(40000) / 16000
    sig = np.sin(2 * np.pi * 300 * t) + 0.3 * np.sin(2 * np.pi * 2500 * t) + 0.01 * rng.standard_normal(t.size)
    X, y = make_pairs([sig], rate=4, segment=4096)
    est = BicubicUpsampler(rate=4)
    y_hat = est.transform(X)
    assert metrics.snr_scorer(est, X, y) == pytest.approx(est.score(X, y))
    assert metrics.neg_lsd_scorer(est, X, y) == pytest.approx(-lsd(y, y_hat))
    assert metrics.neg_lsd_hf_scorer(est, X, y) == pytest.approx(-lsd_hf(y, y_hat, rate=4))
    assert metrics.neg_lsd_lf_scorer(est, X, y) == pytest.approx(-lsd_lf(y, y_hat, rate=4))
    assert metrics.si_sdr_scorer(est, X, y) == pytest.approx(si_sdr(y, y_hat))
    scores = cross_val_score(est, X, y, cv=3, scoring=metrics.neg_lsd_scorer)
    assert scores.shape == (3,) and np.all(scores < 0)
    search = GridSearchCV(
        est, {"a": [-0.5, -1.0]}, cv=2, scoring={"snr": metrics.snr_scorer, "lsd": metrics.neg_lsd_scorer}, refit="lsd"
    )
    search.fit(X, y)
    assert search.best_params_["a"] in (-0.5, -1.0)
    custom = metrics.make_transform_scorer(lsd, greater_is_better=False, convention="kuleshov2017")
    assert custom(est, X, y) == pytest.approx(-lsd(y, y_hat, convention="kuleshov2017"))
    assert "kuleshov2017" in repr(custom)
    with pytest.raises(TypeError, match="callable"):
        metrics.make_transform_scorer("lsd")
